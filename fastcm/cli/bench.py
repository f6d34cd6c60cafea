"""``fastcm bench``: the benchmark suite of a checkout, run as ``python -m benchmarks``.

The suite ships with the source, not the wheel. ``fastcm bench`` looks for the checkout
next to the installed package (an editable install: the folder holding ``fastcm/``,
``benchmarks/__main__.py`` and a ``pyproject.toml`` naming fastcm) and runs the suite in a
new Python process there; it never searches or changes ``sys.path``. Without a checkout
it says so on stderr and exits 2.

Examples
--------
>>> import tempfile
>>> checkout_root(tempfile.mkdtemp()) is None  # no benchmarks/ and no pyproject.toml there
True
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from .parse import PROG

__all__ = ["checkout_root", "bench_command"]

#: ``name = "fastcm"`` in pyproject.toml's [project] table
_PROJECT_NAME = re.compile(r"""^\s*name\s*=\s*["']fastcm["']\s*$""", re.M)


def checkout_root(folder=None) -> Path | None:
    """The checkout of the repository holding this package, or None (an installed wheel).

    ``folder``: where to look instead of the folder above the installed package.
    """
    root = Path(__file__).resolve().parents[2] if folder is None else Path(folder)
    if not (root / "benchmarks" / "__main__.py").is_file():
        return None
    try:
        project = (root / "pyproject.toml").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return root if _PROJECT_NAME.search(project) else None


def bench_command(argv) -> int:
    """Run ``python -m benchmarks ARGV`` in the checkout; its exit code, or 2 without one."""
    root = checkout_root()
    if root is None:
        print(f"{PROG} bench needs a checkout of the repository: the benchmark suite ships with the source, not "
              "the wheel; install fastcm from a checkout (pip install -e .) and run fastcm bench --quick there "
              "(or python -m benchmarks --quick)", file=sys.stderr)
        return 2
    try:
        code = subprocess.run([sys.executable, "-m", "benchmarks", *argv], cwd=root).returncode
    except KeyboardInterrupt:  # the suite got the signal too and has stopped
        print(f"{PROG} bench: interrupted", file=sys.stderr)
        return 130
    return code if code >= 0 else 128 - code  # killed by a signal: the shell's 128 + N
