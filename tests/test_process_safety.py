"""Forked children and a threading layer numba cannot load: counting still works.

Each case runs in a fresh interpreter with a timeout, so a deadlock fails the test
instead of hanging the suite.
"""

import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("numba")
pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


def _run(code, timeout=120, **env):
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **env},
    )


#: above the multi-threaded size, so each call in the child hands work to the pool
_LARGE = 1 << 21


@pytest.mark.parametrize("busy_parent", [False, True], ids=["pool idle", "another thread counting"])
def test_forked_children_count_after_the_parent_used_the_pool(busy_parent):
    code = f"""
        import multiprocessing as mp, threading, numpy as np, fastcm

        def child(q):
            t = np.arange({_LARGE}) % 7
            q.put(int(fastcm.confusion_matrix(t, t, num_classes=7).trace()))

        t = np.arange({_LARGE}) % 7
        assert int(fastcm.confusion_matrix(t, t, num_classes=7).trace()) == {_LARGE}  # the pool has run
        stop = threading.Event()
        def spin():
            while not stop.is_set():
                fastcm.confusion_matrix(t, t, num_classes=7)
        worker = threading.Thread(target=spin)
        if {busy_parent}:
            worker.start()
        ctx = mp.get_context("fork")
        q = ctx.Queue()
        procs = [ctx.Process(target=child, args=(q,)) for _ in range(6)]
        for p in procs:
            p.start()
        results = [q.get(timeout=60) for _ in procs]
        for p in procs:
            p.join(timeout=60)
        stop.set()
        if {busy_parent}:
            worker.join()
        print(results, [p.exitcode for p in procs])
    """
    out = _run(code)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == f"{[_LARGE] * 6} {[0] * 6}"


def test_large_calls_work_when_numbas_threading_layer_cannot_load():
    # fastcm runs its own pool; numba's layer is needed only to read set_num_threads
    code = f"""
        import numpy as np, fastcm
        t = np.arange({_LARGE}) % 5
        print(int(fastcm.confusion_matrix(t, t, num_classes=5, backend="numba").trace()))
    """
    import importlib.util

    if importlib.util.find_spec("tbb") is not None:
        pytest.skip("TBB is installed: the layer loads")
    out = _run(code, NUMBA_THREADING_LAYER="tbb")
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == str(_LARGE)
