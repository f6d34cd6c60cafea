"""Process-level behaviour: cheap import, thread safety, the disk cache switch, backend registry."""

import importlib.util
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import fastcm
from fastcm import backends


def _run(code, **env):
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=300,
    )


def test_import_does_not_load_heavy_modules():
    out = _run(
        "import sys, fastcm; "
        "print([m for m in ('numba', 'cupy', 'sklearn', 'matplotlib', 'dask', 'torch', 'pandas') if m in sys.modules])"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


@pytest.mark.skipif(importlib.util.find_spec("scipy") is None, reason="needs scipy installed")
def test_first_call_leaves_scipy_linalg_for_later_and_numba_blas_still_works():
    # numba's start-up would import scipy.linalg (0.15-0.25 s) only to learn BLAS exists
    out = _run(
        "import sys, numpy as np, numba, fastcm\n"
        "print(fastcm.confusion_matrix([0, 1, 1], [0, 1, 0], num_classes=2).tolist())\n"
        "fastcm.backends.wait_until_loaded()\n"
        "print('scipy.linalg' in sys.modules)\n"
        "from numba.np import arraymath, linalg\n"
        "print(arraymath._HAVE_BLAS, arraymath.ensure_blas is linalg.ensure_blas)\n"
        "a = np.arange(6.0).reshape(2, 3)\n"
        "print(numba.njit(lambda x: np.dot(x, x.T))(a).tolist(), 'scipy.linalg' in sys.modules)\n"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:4] == [
        "[[1, 0], [1, 1]]",
        "False",
        "True True",
        "[[5.0, 14.0], [14.0, 50.0]] True",
    ]


def test_first_small_call_counts_on_numpy_while_numba_loads():
    pytest.importorskip("numba")
    code = (
        "import sys, numpy as np\n"
        "from fastcm import backends\n"
        "from fastcm.counts.confusion import count\n"
        "rng = np.random.default_rng(0)\n"
        "t, p, w = rng.integers(0, 5, 1000), rng.integers(0, 5, 1000), rng.random(1000)\n"
        "first = count(t, p, num_classes=5, sample_weight=w)\n"
        "loading = 'numba' not in sys.modules or not backends._numba_ready.is_set()\n"
        "backends.wait_until_loaded()\n"
        "after = count(t, p, num_classes=5, sample_weight=w)\n"
        "print(first.backend, loading, after.backend, bool((first.counts == after.counts).all()))\n"
    )
    out = _run(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "numpy True numba True"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_while_numba_loads_gives_a_working_child():
    # a child forked mid-import would inherit import locks held by a thread it does not have
    pytest.importorskip("numba")
    code = (
        "import os, numpy as np, fastcm\n"
        "fastcm.confusion_matrix([0, 1], [0, 1])\n"  # starts the background load
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    t = np.arange(100_000) % 3\n"
        "    print(int(fastcm.confusion_matrix(t, t).trace()), flush=True)\n"
        "    os._exit(0)\n"
        "os.waitpid(pid, 0)\n"
        "print('parent')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["100000", "parent"]
    assert "Exception ignored" not in out.stderr, out.stderr


def test_large_first_call_and_other_entry_points_wait_for_numba():
    pytest.importorskip("numba")
    code = (
        "import numpy as np\n"
        "from fastcm import backends\n"
        "from fastcm.counts.confusion import count\n"
        "print(backends.select('auto', np.zeros(3)))\n"  # curves, thresholds: no numpy detour
        "t = np.arange(backends.SMALL_WHILE_LOADING + 1) % 5\n"
        "print(count(t, t, num_classes=5).backend)\n"
    )
    out = _run(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["numba", "numba"]
    code = (
        "import numpy as np\n"
        "from fastcm.counts.confusion import count\n"
        "t = np.arange(1_100_000) % 5\n"  # above SMALL_WHILE_LOADING (two arrays) as a first call
        "print(count(t, t, num_classes=5).backend)\n"
    )
    out = _run(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "numba"


def test_registry():
    assert "numpy" in backends.available()
    assert backends.get("numpy").NAME == "numpy"
    with pytest.raises(ValueError, match=r"Unknown backend 'gpu'; expected one of \['numba', 'numpy', 'cupy'\]"):
        backends.get("gpu")
    assert backends.select("auto", np.zeros(3)) in ("numba", "numpy")


def test_cupy_backend_is_a_clear_error_without_gpu():
    if "cupy" in backends.available():
        pytest.skip("a GPU is present")
    with pytest.raises(ValueError, match="cupy"):
        fastcm.confusion_matrix([0, 1], [0, 1], backend="cupy")


def test_concurrent_calls_from_python_threads(backend):
    rng = np.random.default_rng(0)
    t = rng.integers(0, 7, 1_200_000)
    p = rng.integers(0, 7, 1_200_000)
    ref = np.bincount(t * 7 + p, minlength=49).reshape(7, 7)

    def call(i):
        return fastcm.confusion_matrix(t, p, num_classes=7, backend=backend)

    with ThreadPoolExecutor(8) as pool:
        for got in pool.map(call, range(24)):
            np.testing.assert_array_equal(got, ref)


def test_concurrent_calls_in_subprocess_do_not_abort():
    """numba's workqueue layer aborts on concurrent parallel launches: we never use it so."""
    pytest.importorskip("numba")
    code = (
        "import numpy as np, fastcm\n"
        "from concurrent.futures import ThreadPoolExecutor\n"
        "t = np.random.default_rng(0).integers(0, 5, 2_000_000)\n"
        "ref = fastcm.confusion_matrix(t, t, num_classes=5, backend='numpy')\n"
        "with ThreadPoolExecutor(6) as ex:\n"
        "    for cm in ex.map(lambda _: fastcm.confusion_matrix(t, t, num_classes=5), range(30)):\n"
        "        assert (cm == ref).all()\n"
        "print('ok')\n"
    )
    out = _run(code, NUMBA_THREADING_LAYER="workqueue")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_thread_count_follows_numba_setting():
    numba = pytest.importorskip("numba")
    from fastcm.backends.numba_cpu import _jit

    numba.set_num_threads(1)
    try:
        assert _jit.num_threads() == 1
        t = np.arange(2_000_000) % 3
        np.testing.assert_array_equal(
            fastcm.confusion_matrix(t, t, num_classes=3, backend="numba"), np.diag(np.bincount(t))
        )
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)


def test_cache_switch_turns_disk_cache_off():
    code = "from fastcm.backends.numba_cpu import _jit; print(_jit.cache_enabled())"
    assert _run(code, FASTCM_DISABLE_CACHE="1").stdout.strip() == "False"
    assert _run(code, FASTCM_DISABLE_CACHE="").stdout.strip() == "True"


def test_numpy_fallback_when_numba_missing():
    code = (
        "import sys; sys.modules['numba'] = None\n"
        "import importlib.util as u; real = u.find_spec\n"
        "u.find_spec = lambda name, *a: None if name == 'numba' else real(name, *a)\n"
        "import fastcm\n"
        "print(fastcm.backends.available(), fastcm.confusion_matrix([0, 1, 1], [0, 1, 0]).tolist())\n"
    )
    out = _run(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['numpy'] [[1, 0], [1, 1]]"


def test_submodules_are_reachable_after_a_plain_import():
    code = (
        "import sys, fastcm\n"
        "assert 'matplotlib' not in sys.modules\n"  # lazy: nothing heavy until asked
        "print(callable(fastcm.plot.per_class_bars), fastcm.dask.__name__)\n"
    )
    out = _run(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "fastcm.dask"]
