"""Run scikit-learn's own metric tests against fastcm's strict drop-ins.

The installed scikit-learn's ``sklearn/metrics/tests/test_classification.py``,
``test_ranking.py`` and ``test_common.py`` are copied into a temporary directory twice:
once verbatim, once with one line added after their top-level imports,

    from fastcm.strict import accuracy_score, ...   # the names the file took from sklearn.metrics

so only the test code sees fastcm (scikit-learn's internals keep calling scikit-learn).
Both copies run under pytest with scikit-learn's conftest as a plugin; outcomes are
compared by test id. A test that passes with scikit-learn and not with fastcm is a
regression unless ``deviations.txt`` (next to this file) lists its id with a reason.

Usage::

    python tests/sklearn_suite/run.py [-j JOBS] [-k EXPR] [--keep DIR]

Exit status 0 when there is no unlisted regression, 1 otherwise.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
TEST_FILES = ("test_classification.py", "test_ranking.py", "test_common.py")
STRICT_MODULE = "fastcm.strict"


def sklearn_tests_dir() -> Path:
    import sklearn

    return Path(sklearn.__file__).resolve().parent / "metrics" / "tests"


def strict_names() -> list[str]:
    sys.path.insert(0, str(ROOT))
    import importlib

    return list(importlib.import_module(STRICT_MODULE).__all__)


def substitute(source: str, provided: list[str]) -> str:
    """``source`` with one import line after its top-level imports.

    The line imports, from the strict module, the names the file imports from
    ``sklearn.metrics`` that the strict module provides.
    """
    tree = ast.parse(source)
    last = 0
    wanted = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            last = node.end_lineno
            if isinstance(node, ast.ImportFrom) and node.module == "sklearn.metrics":
                wanted += [a.asname or a.name for a in node.names if a.name in provided]
        elif not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):
            break  # the imports end at the first statement that is not an import or docstring
    lines = source.splitlines(keepends=True)
    line = f"from {STRICT_MODULE} import {', '.join(wanted)}  # fastcm sklearn_suite\n"
    return "".join(lines[:last]) + line + "".join(lines[last:])


def outcomes(junit: Path) -> dict[str, str]:
    """``{test id: passed|failed|skipped}`` from a junit xml file."""
    result = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = f"{case.get('classname', '').split('.')[-1]}.py::{case.get('name')}"
        if case.find("failure") is not None or case.find("error") is not None:
            result[name] = "failed"
        elif case.find("skipped") is not None:
            result.setdefault(name, "skipped")
        else:
            result.setdefault(name, "passed")
    return result


def run_pytest(directory: Path, files: list[str], junit: Path, extra: list[str]) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    env.setdefault("SKLEARN_SKIP_NETWORK_TESTS", "1")
    cmd = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "sklearn.conftest",
        "-W", "ignore::DeprecationWarning", "--rootdir", str(directory), "-o", "addopts=",
        f"--junitxml={junit}", *extra, *files,
    ]  # fmt: skip
    subprocess.run(cmd, cwd=directory, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return outcomes(junit) if junit.exists() else {}


def deviations() -> dict[str, str]:
    """``{test id: reason}`` from deviations.txt (``id  # reason`` lines)."""
    listed = {}
    for raw in (HERE / "deviations.txt").read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            test_id, _, reason = line.partition("#")
            listed[test_id.strip()] = reason.strip()
    return listed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-j", "--jobs", type=int, default=min(6, os.cpu_count() or 1))
    parser.add_argument("-k", default=None, help="pytest -k expression")
    parser.add_argument("--keep", default=None, help="keep the copies and junit files in this directory")
    parser.add_argument("--json", default=None, help="write the summary here")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    src = sklearn_tests_dir()
    provided = strict_names()
    work = Path(args.keep or tempfile.mkdtemp(prefix="fastcm_sklearn_suite_"))
    extra = ["-k", args.k] if args.k else []
    jobs = []
    for flavour in ("sklearn", "fastcm"):
        d = work / flavour
        d.mkdir(parents=True, exist_ok=True)
        for name in TEST_FILES:
            text = (src / name).read_text()
            (d / name).write_text(text if flavour == "sklearn" else substitute(text, provided))
    # split test_common (the largest) so both flavours' runs spread over the cores
    for flavour in ("sklearn", "fastcm"):
        for name in TEST_FILES:
            jobs.append((flavour, name))
    with ThreadPoolExecutor(args.jobs) as pool:
        futures = {
            job: pool.submit(run_pytest, work / job[0], [job[1]], work / f"{job[0]}-{job[1]}.xml", extra)
            for job in jobs
        }
        res = {"sklearn": {}, "fastcm": {}}
        for (flavour, _), fut in futures.items():
            res[flavour].update(fut.result())
    listed = deviations()
    sk, fc = res["sklearn"], res["fastcm"]
    passing = sorted(t for t, o in sk.items() if o == "passed")
    failing = [t for t in passing if fc.get(t) != "passed"]
    unexpected = [t for t in failing if t not in listed]
    stale = sorted(t for t in listed if t not in failing)
    summary = {
        "sklearn_passed": len(passing),
        "fastcm_passed": len(passing) - len(failing),
        "deviations": len([t for t in failing if t in listed]),
        "unexpected": unexpected,
        "stale_deviations": stale,
        "seconds": round(time.perf_counter() - start, 1),
    }
    rate = summary["fastcm_passed"] / max(1, len(passing))
    print(
        f"scikit-learn {sk and __import__('sklearn').__version__}: {len(passing)} tests pass with scikit-learn, "
        f"{summary['fastcm_passed']} with {STRICT_MODULE} ({rate:.2%}); {summary['deviations']} listed deviations, "
        f"{len(unexpected)} unexpected failures; {summary['seconds']} s"
    )
    for t in unexpected:
        print("UNEXPECTED", t)
    for t in stale:
        print("STALE DEVIATION (passes now)", t)
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=1))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
