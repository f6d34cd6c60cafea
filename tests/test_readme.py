"""Every Python block of the README runs as written, in a fresh namespace.

A block whose first line reads ``# needs: a, b`` is skipped where one of those modules is
missing (or, for CuPy, where no CUDA device is).
"""

import pathlib
import re

import pytest

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_the_readme_has_python_blocks():
    assert len(BLOCKS) >= 6


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_block_runs(code, tmp_path, monkeypatch):
    first = code.splitlines()[0]
    if first.startswith("# needs:"):
        for name in re.findall(r"[A-Za-z_][\w.]*", first.split(":", 1)[1].split("(")[0]):
            pytest.importorskip(name)
            if name == "cupy":
                from fastcm import backends

                if "cupy" not in backends.available():
                    pytest.skip("no CUDA device")
    monkeypatch.chdir(tmp_path)  # files a block writes land in a temporary folder
    pytest.importorskip("matplotlib") if "plot" in code else None
    exec(compile(code, str(README), "exec"), {"__name__": "__readme__"})
