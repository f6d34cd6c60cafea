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

    python tests/sklearn_suite/run.py [-j JOBS] [-k EXPR] [--keep DIR] [--files NAME ...]

scikit-learn's own outcomes depend only on its version and its test files (and pytest's,
which names parametrized tests): they are kept in ``baseline.json`` (next to this file;
``--update-baseline`` rewrites it) and the verbatim copy runs only when an installed
version or a file differs from what it records.

Exit status 0 when there is no unlisted regression, 1 otherwise.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
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
#: files run as two pytest processes, split by a ``-k`` expression and its negation (about
#: half of test_common's tests each), so one test of the suite stays well under 20 s
SPLIT = {"test_common.py": "invariance or multilabel"}
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


BASELINE = HERE / "baseline.json"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def recorded_outcomes(src: Path, files) -> dict[str, str] | None:
    """scikit-learn's outcomes of ``files`` from ``baseline.json``, or None when the installed
    scikit-learn, pytest (it names parametrized tests) or one of the test files is not the
    one recorded."""
    import pytest
    import sklearn

    try:
        base = json.loads(BASELINE.read_text())
    except (OSError, ValueError):
        return None
    if base.get("sklearn") != sklearn.__version__ or base.get("pytest") != pytest.__version__:
        return None
    if any(base.get("files", {}).get(name) != _digest(src / name) for name in files):
        return None
    return {t: o for t, o in base["outcomes"].items() if t.split("::")[0] in files}


def record_outcomes(src: Path, outcomes_: dict[str, str]) -> None:
    import pytest
    import sklearn

    doc = {"sklearn": sklearn.__version__, "pytest": pytest.__version__, "files": {name: _digest(src / name) for name in TEST_FILES},
           "outcomes": dict(sorted(outcomes_.items()))}
    BASELINE.write_text(json.dumps(doc, indent=0) + "\n")


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
    parser.add_argument("--files", nargs="+", choices=TEST_FILES, default=list(TEST_FILES), help="which test files to run")
    parser.add_argument("--update-baseline", action="store_true", help="run scikit-learn's copy and record its outcomes")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    src = sklearn_tests_dir()
    provided = strict_names()
    work = Path(args.keep or tempfile.mkdtemp(prefix="fastcm_sklearn_suite_"))
    extra = ["-k", args.k] if args.k else []
    files = list(TEST_FILES) if args.update_baseline else args.files
    recorded = None if args.update_baseline or args.k else recorded_outcomes(src, files)
    flavours = ("fastcm",) if recorded is not None else ("sklearn", "fastcm")
    jobs = []
    for flavour in flavours:
        d = work / flavour
        d.mkdir(parents=True, exist_ok=True)
        for name in files:
            text = (src / name).read_text()
            (d / name).write_text(text if flavour == "sklearn" else substitute(text, provided))
    # one run a file and flavour, so the runs spread over the cores
    for flavour in flavours:
        for name in files:
            if name in SPLIT and not args.k:  # the largest file in two processes, side by side
                jobs += [(flavour, name, ["-k", SPLIT[name]]), (flavour, name, ["-k", f"not ({SPLIT[name]})"])]
            else:
                jobs.append((flavour, name, extra))
    with ThreadPoolExecutor(args.jobs) as pool:
        futures = {
            job[:2] + (k,): pool.submit(run_pytest, work / job[0], [job[1]], work / f"{job[0]}-{job[1]}-{k}.xml", job[2])
            for k, job in enumerate(jobs)
        }
        res = {"sklearn": dict(recorded or {}), "fastcm": {}}
        for (flavour, _, _), fut in futures.items():
            res[flavour].update(fut.result())
    if args.update_baseline:
        record_outcomes(src, res["sklearn"])
    listed = {t: r for t, r in deviations().items() if t.split("::")[0] in files}
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
        "sklearn_outcomes": "recorded in baseline.json" if recorded is not None else "run",
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
