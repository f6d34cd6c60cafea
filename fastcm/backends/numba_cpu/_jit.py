"""Compile machinery for the numba backend: one place for options, caching and threads.

Kernels are compiled lazily, once per input dtype, with the GIL released and the result
cached on disk (``FASTCM_DISABLE_CACHE=1`` turns the cache off). Work is spread over a
private thread pool instead of numba's ``parallel=True``: each thread fills a private
histogram with a serial ``nogil`` kernel, so several Python threads may call fastcm at
once under any numba threading layer (the default ``workqueue`` layer aborts the process
on concurrent parallel launches). The thread count follows ``numba.set_num_threads`` /
``NUMBA_NUM_THREADS``.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numba


def _scipy_blas_on_disk() -> bool:
    """Whether scipy ships ``scipy.linalg.cython_blas``, found without importing scipy.linalg."""
    spec = importlib.util.find_spec("scipy")
    if spec is None or not spec.submodule_search_locations:
        return False
    names = ["cython_blas" + suffix for suffix in importlib.machinery.EXTENSION_SUFFIXES]
    return any(os.path.exists(os.path.join(d, "linalg", n)) for d in spec.submodule_search_locations for n in names)


def _defer_scipy_linalg():
    """Keep numba's start-up from importing scipy.linalg before any jitted code needs BLAS.

    numba's start-up imports ``numba.np.arraymath``, whose import-time BLAS check imports
    scipy.linalg: 0.15-0.25 s, most of a new process's first call (measured). When scipy is
    installed but scipy.linalg is not yet imported, that check is answered from the file
    system instead; numba's own ``ensure_blas`` is restored at once, so jitted code that
    uses BLAS still imports (and checks) scipy.linalg when it is first compiled.
    """
    if "numba.np.arraymath" in sys.modules or "scipy.linalg" in sys.modules:
        return
    try:
        from numba.np import linalg
    except ImportError:  # a numba without this module: nothing to defer
        return
    original = getattr(linalg, "ensure_blas", None)
    if original is None or not _scipy_blas_on_disk():
        return
    linalg.ensure_blas = lambda: None
    try:
        from numba.np import arraymath
    finally:
        linalg.ensure_blas = original
    if getattr(arraymath, "ensure_blas", None) is not None:
        arraymath.ensure_blas = original


_defer_scipy_linalg()

#: pairs below which a call stays on the calling thread (thread hand-off costs ~20 us)
MIN_PARALLEL = 1 << 18


def cache_enabled() -> bool:
    return os.environ.get("FASTCM_DISABLE_CACHE", "").strip().lower() not in ("1", "true", "yes")


def jit(fn):
    """Compile a plain-loop kernel: nogil, disk-cached, specialised lazily per dtype."""
    return numba.njit(nogil=True, cache=cache_enabled(), error_model="numpy")(fn)


def helper(fn):
    """A loop called from kernels (compiled, and cached, with its caller)."""
    return numba.njit(nogil=True, cache=cache_enabled(), error_model="numpy")(fn)


_pool = None
_pool_lock = threading.Lock()


#: set when numba's threading layer cannot load (e.g. ``NUMBA_THREADING_LAYER=tbb`` without
#: TBB): fastcm runs its own pool, so it needs the layer only to read ``set_num_threads``
_layer_broken = False


def num_threads() -> int:
    """Threads a call may use: numba's current setting (``set_num_threads``).

    When numba's threading layer cannot be loaded, ``get_num_threads`` raises on every
    call; fastcm never runs numba's parallel code, so it falls back to
    ``NUMBA_NUM_THREADS`` instead of failing.
    """
    global _layer_broken
    if not _layer_broken:
        try:
            return max(1, int(numba.get_num_threads()))
        except (ValueError, ImportError, RuntimeError):
            _layer_broken = True
    return max(1, int(numba.config.NUMBA_NUM_THREADS))


def pool() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                _pool = ThreadPoolExecutor(
                    max_workers=max(1, int(numba.config.NUMBA_NUM_THREADS)), thread_name_prefix="fastcm"
                )
    return _pool


def _forget_pool_in_child() -> None:
    """A forked child has copies of the parent's pool objects but none of its threads: a
    task submitted there would wait forever. The child starts a pool of its own."""
    global _pool, _pool_lock
    _pool = None
    _pool_lock = threading.Lock()  # may have been held by a parent thread at the fork


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_in_child)


def split(n: int, parts: int) -> list[tuple[int, int]]:
    """``parts`` contiguous ranges covering ``0..n``."""
    if n <= 0:
        return [(0, 0)]
    step = -(-n // max(1, parts))
    return [(i, min(n, i + step)) for i in range(0, n, step)]


def run_parallel(task, ranges):
    """Run ``task(start, stop)`` over ``ranges``: the first on this thread, the rest on the pool."""
    if len(ranges) == 1:
        return [task(*ranges[0])]
    futures = [pool().submit(task, a, b) for a, b in ranges[1:]]
    first = task(*ranges[0])
    return [first] + [f.result() for f in futures]
