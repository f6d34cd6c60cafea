"""The mkdocs site documents every public name, and builds offline in strict mode."""

import importlib
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import fastcm

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

#: the modules a user imports from; each one's ``__all__`` is its public API
PUBLIC_MODULES = [
    "fastcm",
    "fastcm.answers.calibration",
    "fastcm.answers.compare",
    "fastcm.counts.confusion",
    "fastcm.metrics.ranking",
    "fastcm.dask",
    "fastcm.answers.diagnose",
    "fastcm.accumulate.evaluate",
    "fastcm.answers.gates",
    "fastcm.answers.intervals",
    "fastcm.cli.io",
    "fastcm.metrics",
    "fastcm.counts.multilabel",
    "fastcm.answers.operating_points",
    "fastcm.plot",
    "fastcm.metrics.sklearn",
    "fastcm.accumulate.confusion",
    "fastcm.accumulate.thresholds",
    "fastcm.strict",
    "fastcm.counts.thresholds",
    "fastcm.warmup",
]

#: documented, but importing them loads PyTorch / TensorFlow (seconds): checked by file, not imported
HEAVY_MODULES = ("fastcm.torch", "fastcm.keras")

_DIRECTIVE = re.compile(r"^:::\s*(\S+)\s*$")
_MEMBERS = re.compile(r"^\s+members:\s*\[(.*)\]\s*$")


def _resolve(path):
    """The object a dotted path names, or None."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for name in parts[cut:]:
                obj = getattr(obj, name)
        except AttributeError:
            return None
        return obj
    return None


def _public(module):
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in vars(module) if not n.startswith("_")]
    return [n for n in names if not n.startswith("__")]


def _directives():
    """(page, path, members or None) for every ``::: path`` block of the docs."""
    out = []
    for page in sorted(DOCS.rglob("*.md")):
        lines = page.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            m = _DIRECTIVE.match(line)
            if not m:
                continue
            members = None
            for follow in lines[i + 1 : i + 6]:
                if follow and not follow.startswith(" "):
                    break
                mm = _MEMBERS.match(follow)
                if mm:
                    members = [n.strip() for n in mm.group(1).split(",") if n.strip()]
            out.append((page.relative_to(DOCS).as_posix(), m.group(1), members))
    return out


def _documented_objects():
    """Every object rendered on some page: each directive's object, and a module's members."""
    found = []
    for page, path, members in _directives():
        if path.startswith(HEAVY_MODULES):
            assert importlib.util.find_spec(path) is not None, f"{page}: `::: {path}` names no module"
            continue
        obj = _resolve(path)
        assert obj is not None, f"{page}: `::: {path}` names nothing importable"
        found.append(obj)
        if isinstance(obj, type(fastcm)):
            for name in members if members is not None else _public(obj):
                found.append(getattr(obj, name))
    return found


def _public_names():
    for modname in PUBLIC_MODULES:
        module = importlib.import_module(modname)
        for name in _public(module):
            yield modname, name, getattr(module, name)


def test_every_public_name_is_on_a_docs_page():
    documented = _documented_objects()
    missing = [f"{m}.{n}" for m, n, obj in _public_names() if not any(obj is d for d in documented)]
    assert not missing, f"public names on no docs page (add them to a page under docs/api/): {missing}"


def test_every_docs_page_is_in_the_navigation():
    nav = set(re.findall(r":\s*(\S+\.md)\s*$", (ROOT / "mkdocs.yml").read_text(encoding="utf-8"), re.M))
    pages = [p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")]
    assert [p for p in pages if p not in nav] == []


def test_usage_lists_every_exit_code():
    from fastcm.cli import EXIT_REQUIREMENT_FAILED

    usage = (DOCS / "usage.md").read_text(encoding="utf-8")
    codes = usage[usage.index("Exit codes:"):].split("\n\n")[0]
    for code in (0, 1, 2, EXIT_REQUIREMENT_FAILED):
        assert f"`{code}`" in codes


def test_site_builds_offline_in_strict_mode(tmp_path):
    """``mkdocs build --strict`` with no network (a dead proxy): every page renders, every
    cross-reference resolves, and every public name has its anchor in the HTML."""
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings")
    pytest.importorskip("material")
    pytest.importorskip("mkdocstrings_handlers.python")
    dead = "http://127.0.0.1:9"
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1", HTTP_PROXY=dead, HTTPS_PROXY=dead, http_proxy=dead,
               https_proxy=dead, NO_PROXY="", no_proxy="")
    site = tmp_path / "site"
    run = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"),
                          "-d", str(site)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    log = run.stdout + run.stderr
    problems = [line for line in log.splitlines() if line.startswith(("WARNING", "ERROR", "Aborted"))]
    assert run.returncode == 0, "\n".join(problems) or log[-3000:]
    anchors = set()
    for html in site.rglob("*.html"):
        anchors.update(re.findall(r'id="(fastcm(?:\.[A-Za-z_][A-Za-z0-9_]*)*)"', html.read_text(encoding="utf-8")))
    rendered = [obj for obj in (_resolve(a) for a in anchors if not a.startswith(HEAVY_MODULES)) if obj is not None]
    missing = [f"{m}.{n}" for m, n, obj in _public_names() if not any(obj is r for r in rendered)]
    assert not missing, f"public names without an anchor in the built site: {missing}"
