"""Cold start: a first call as a new user meets it, in fresh processes.

Each case runs in its own process with an empty ``NUMBA_CACHE_DIR`` (a fresh install):
``import fastcm`` plus the first call, wall and CPU seconds side by side, then the same in a
new process with the disk cache that run left (every later process). scikit-learn's import
plus the same call is the anchor. The whole ``fastcm demo`` command is timed as a user
runs it.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time

_SETUP = {
    "labels": "y = (np.arange(10**6) * 7919 % 10).astype(np.{dtype}); x = (np.arange(10**6) * 104729 % 10).astype(np.{dtype})",
    "segmentation": "y = (np.arange(10**6) % 21).astype(np.uint8).reshape(4, 500, 500); y[:, :10] = 255; x = (np.arange(10**6) % 19).astype(np.uint8).reshape(4, 500, 500)",
    "logits": "rng = np.random.default_rng(0); y = rng.integers(0, 10, 10**6); x = rng.standard_normal((10**6, 10), dtype=np.float32)",
    "scores": "rng = np.random.default_rng(0); y = rng.integers(0, 2, 10**6); x = rng.random(10**6)",
}

#: (case name, setup, fastcm call, scikit-learn call or None)
CASES = [
    ("confusion_matrix int32, num_classes=10", ("labels", "int32"), "fastcm.confusion_matrix(y, x, num_classes=10)", "confusion_matrix(y, x)"),
    ("confusion_matrix int64, num_classes=10", ("labels", "int64"), "fastcm.confusion_matrix(y, x, num_classes=10)", "confusion_matrix(y, x)"),
    ("confusion_matrix int16, num_classes=10", ("labels", "int16"), "fastcm.confusion_matrix(y, x, num_classes=10)", "confusion_matrix(y, x)"),
    ("confusion_matrix uint8, num_classes=10", ("labels", "uint8"), "fastcm.confusion_matrix(y, x, num_classes=10)", "confusion_matrix(y, x)"),
    ("confusion_matrix int64, labels inferred", ("labels", "int64"), "fastcm.confusion_matrix(y, x)", "confusion_matrix(y, x)"),
    ("segmentation uint8, ignore_index=255", ("segmentation", ""), "fastcm.confusion_matrix(y, x, ignore_index=255)", None),
    ("ConfusionMatrix.update int64", ("labels", "int64"), "fastcm.ConfusionMatrix(10).update(y, x).compute()", None),
    ("f1_score + classification_report", ("labels", "int64"), "fastcm.f1_score(y, x, average='macro'); fastcm.classification_report(y, x)",
     "f1_score(y, x, average='macro'); classification_report(y, x)"),
    ("logits (10^6, 10) float32", ("logits", ""), "fastcm.confusion_matrix(y, x)", "confusion_matrix(y, x.argmax(1))"),
    ("threshold_confusion_matrices", ("scores", ""), "fastcm.threshold_confusion_matrices(y, x)", None),
    ("roc_auc_score", ("scores", ""), "fastcm.roc_auc_score(y, x)", "roc_auc_score(y, x)"),
    ("next dtype: int64 after int32", ("labels", "int32"), "fastcm.confusion_matrix(y, x, num_classes=10); T0()\n"
     "fastcm.confusion_matrix(y.astype(np.int64), x.astype(np.int64), num_classes=10)", None),
]

_PROBE = r"""
import json, time
w0, c0 = time.perf_counter(), time.process_time()
def T0():
    global w0, c0
    w0, c0 = time.perf_counter(), time.process_time()
import numpy as np
{setup}
w0, c0 = time.perf_counter(), time.process_time()
{imports}
{call}
print(json.dumps({{"wall": time.perf_counter() - w0, "cpu": time.process_time() - c0}}))
"""


def _run(code: str, env: dict) -> dict:
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)
    process = time.perf_counter() - started
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    # the whole process too: it may go on after the answer (numba loading in the background)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]), process=process)


def _probe(setup, call, imports, env):
    kind, dtype = setup
    code = _PROBE.format(setup=_SETUP[kind].format(dtype=dtype), imports=imports, call=call)
    return _run(code, env)


def _compiling_processes() -> int:
    """fastcm's compiling processes still running (Linux /proc; 0 elsewhere)."""
    count = 0
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        count += b"fastcm.backends.numba_cpu" in cmdline and b"compile_" in cmdline
    return count


def _settle(limit: float = 60.0) -> None:
    """Wait for the compiling processes a case started, so the next case has the machine."""
    end = time.perf_counter() + limit
    while _compiling_processes() and time.perf_counter() < end:
        time.sleep(0.1)


def _demo(env) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter()
    subprocess.run([sys.executable, "-m", "fastcm", "demo"], capture_output=True, env=env, timeout=600, check=True)
    wall = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu}


def cold_start(best_of: int = 1, compile: bool = True, select=None) -> dict:
    """Seconds (wall, CPU) of each case's import and first call: with an empty numba cache
    (``compile``), in a new process with the cache warm, and scikit-learn's."""
    rows = {}
    base = dict(os.environ)
    base.pop("FASTCM_DISABLE_CACHE", None)
    sklearn_ok = True
    try:
        import sklearn  # noqa: F401
    except ImportError:
        sklearn_ok = False
    for name, setup, call, sk_call in CASES:
        if select and not select(name):
            continue
        with tempfile.TemporaryDirectory(prefix="fastcm-cold-", ignore_cleanup_errors=True) as cache:
            env = dict(base, NUMBA_CACHE_DIR=cache)
            row = {}
            if compile:
                row["cold"] = _probe(setup, call, "import fastcm", env)
            else:
                _probe(setup, call, "import fastcm", env)  # fills the cache
            _settle()  # the warm runs find what the compiling processes cached
            row["warm"] = min((_probe(setup, call, "import fastcm", env) for _ in range(best_of)), key=lambda d: d["wall"])
            _settle()
        if sk_call and sklearn_ok:
            names = sorted({part.split("(")[0].strip() for part in sk_call.split(";")})
            row["sklearn"] = _probe(setup, sk_call, f"from sklearn.metrics import {', '.join(names)}", base)
        rows[name] = row
    with tempfile.TemporaryDirectory(prefix="fastcm-cold-", ignore_cleanup_errors=True) as cache:
        env = dict(base, NUMBA_CACHE_DIR=cache)
        demo = {"cold": _demo(env)} if compile else {}
        _settle()
        demo["warm"] = _demo(env)
        _settle()
        rows["fastcm demo, the whole command"] = demo
    return rows


def table(rows: dict) -> list[str]:
    """Markdown lines: one row a case, wall and CPU seconds per column."""
    lines = [
        "| first call, 10^6 pairs (import included) | empty numba cache: wall / CPU s (whole process) | new process, warm cache | scikit-learn import + call |",
        "| --- | --- | --- | --- |",
    ]

    def cell(d):
        if not d:
            return "-"
        process = f" ({d['process']:.2f})" if "process" in d else ""
        return f"{d['wall']:.2f} / {d['cpu']:.2f}{process}"

    for name, row in rows.items():
        if not isinstance(row, dict):  # results written before the per-case table: one number a step
            lines.append(f"| {name} | {row:.3f} | | |")
            continue
        lines.append(f"| {name} | {cell(row.get('cold'))} | {cell(row.get('warm'))} | {cell(row.get('sklearn'))} |")
    return lines


if __name__ == "__main__":
    for line in table(cold_start(best_of=3)):
        print(line)
