"""Compile machinery for the numba backend: one place for options, caching, tiers and threads.

Kernels are compiled lazily, once per input dtype, with the GIL released and the result
cached on disk (``FASTCM_DISABLE_CACHE=1`` turns the cache off). Arrays reach a kernel in
one numba type per dtype (:func:`kernel_arg`): a read-only array does not compile a
second copy of the kernel. A tuned kernel that takes seconds to compile is compiled on a
background thread while a plain loop serves (:func:`tuned`); ``FASTCM_COMPILE=sync`` (or
:func:`compile_synchronously`) compiles it at once instead, as the tests of the tuned
kernels do. Work is spread over a
private thread pool instead of numba's ``parallel=True``: each thread fills a private
histogram with a serial ``nogil`` kernel, so several Python threads may call fastcm at
once under any numba threading layer (the default ``workqueue`` layer aborts the process
on concurrent parallel launches). The thread count follows ``numba.set_num_threads`` /
``NUMBA_NUM_THREADS``.
"""

from __future__ import annotations

import atexit
import contextlib
import contextvars
import importlib.machinery
import importlib.util
import logging
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
from numba.core import event


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


class _Alias:
    """Holds the array interface of a read-only array, writeable, and the array itself."""

    __slots__ = ("__array_interface__", "base")


def kernel_arg(a):
    """``a`` as the kernels take it: one numba type per dtype and number of dimensions.

    numba types a read-only array apart from a writeable one, and compiles a kernel once
    for each; kernels never write their inputs, so a read-only array is passed as a
    writeable alias of the same memory (no copy). A read-only array that is also strided
    or unaligned is copied. Anything else is returned as it is.

    Examples
    --------
    >>> a = np.arange(3)
    >>> a.flags.writeable = False
    >>> b = kernel_arg(a)
    >>> bool(b.flags.writeable), bool(np.shares_memory(a, b))
    (True, True)
    """
    if not isinstance(a, np.ndarray) or a.flags.writeable:  # memory maps included
        return a
    if not (a.flags.c_contiguous and a.flags.aligned):
        return np.ascontiguousarray(a)
    alias = _Alias()
    interface = dict(a.__array_interface__)
    interface["data"] = (interface["data"][0], False)
    alias.__array_interface__ = interface
    alias.base = a  # keeps the memory alive as long as the alias
    return np.asarray(alias)


class Kernel:
    """A compiled plain-loop kernel: called like the function, arguments through :func:`kernel_arg`."""

    #: every kernel made, for the tests that count what compiled
    made: list = []

    def __init__(self, fn):
        self.dispatcher = numba.njit(nogil=True, cache=cache_enabled(), error_model="numpy")(fn)
        self.__name__ = fn.__name__
        self.__doc__ = fn.__doc__
        self.__wrapped__ = fn
        Kernel.made.append(self)

    def __call__(self, *args):
        for a in args:  # the usual case, every array writeable, costs one look at each
            if isinstance(a, np.ndarray) and not a.flags.writeable:
                return self.dispatcher(*[kernel_arg(a) for a in args])
        return self.dispatcher(*args)

    def __repr__(self):
        return f"<fastcm kernel {self.__name__}>"


def jit(fn):
    """Compile a plain-loop kernel: nogil, disk-cached, specialised lazily per dtype."""
    return Kernel(fn)


def _compile_mode() -> str:
    mode = os.environ.get("FASTCM_COMPILE", "").strip().lower()
    return mode if mode in ("sync", "never") else "background"


#: compile tuned kernels at once instead of in the background (tests, warm-up)
_sync = contextvars.ContextVar("fastcm_compile_sync", default=_compile_mode() == "sync")
#: keys of tuned kernels compiled (or loaded) in this process, and what brings the others:
#: a compiling process, then a thread loading its result from the disk cache
_ready: set = set()
_compiling: dict = {}
_tier_lock = threading.Lock()


def synchronous() -> bool:
    """Whether tuned kernels compile at once here (see :func:`compile_synchronously`)."""
    return _sync.get()


def tiers_enabled() -> bool:
    """False under ``FASTCM_COMPILE=never``: the plain tier serves every call (a test suite
    that does not measure speed need not compile the tuned kernels)."""
    return _compile_mode() != "never" or _sync.get()


@contextlib.contextmanager
def compile_synchronously(enabled: bool = True):
    """Within the block, a call that needs a tuned kernel compiles it first (no plain tier).

    Examples
    --------
    >>> with compile_synchronously():
    ...     pass
    """
    token = _sync.set(enabled)
    try:
        yield
    finally:
        _sync.reset(token)


#: keys whose tuned kernel failed to compile: the plain tier serves them from then on
_failed: set = set()


def _load(kernel, args, key) -> None:
    """Compile ``kernel`` here, or load it from the disk cache that a compiling process filled."""
    try:
        kernel(*args)
        _ready.add(key)
    except Exception:  # noqa: BLE001 - a tuned kernel is an optimisation: never retried, never raised
        _failed.add(key)
        logging.getLogger("fastcm").debug("compiling the tuned kernel %r failed", key, exc_info=True)
    finally:
        with _tier_lock:
            _compiling.pop(key, None)


def _start_loading(kernel, args, key) -> None:
    thread = threading.Thread(target=_load, args=(kernel, args, key), name="fastcm-load-kernel", daemon=True)
    _compiling[key] = thread
    thread.start()


_COMPILER = "import importlib, sys; m, f, *a = sys.argv[1:]; getattr(importlib.import_module(m), f)(*a)"


def tuned(kernel, args, key, *, compiler):
    """``kernel`` when it is ready for ``key`` (a hashable naming its signature), else None.

    Until it is ready the caller runs its plain tier. The first time a key is asked for,
    with the disk cache on, a separate Python process runs ``compiler`` (a module, a
    function and its string arguments, which compile the same signature and cache it): it
    compiles on another core, holds neither this process's GIL nor numba's compiler lock,
    and if this process ends first it still finishes for the next one. When it has exited,
    a thread loads the kernel from the cache (``kernel(*args)``, a call on empty ranges)
    and later calls get it. Without the disk cache that thread compiles it instead. Under
    :func:`compile_synchronously` it compiles here and is returned.
    """
    if key in _ready:
        return kernel
    if _sync.get():
        kernel(*args)  # compiles here, raising what fails
        _ready.add(key)
        return kernel
    if not tiers_enabled() or key in _failed:
        return None
    with _tier_lock:
        if key in _ready:
            return kernel
        pending = _compiling.get(key)
        if pending is None:
            if cache_enabled():
                try:
                    _compiling[key] = subprocess.Popen(
                        [sys.executable, "-c", _COMPILER, *compiler], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL, start_new_session=True, env=dict(os.environ, FASTCM_COMPILE="sync"),
                    )
                    return None
                except OSError:  # no process to spare: compile on a thread here
                    pass
            _start_loading(kernel, args, key)
        elif isinstance(pending, subprocess.Popen) and pending.poll() is not None:
            _start_loading(kernel, args, key)
    return None


def needs_compile(kernel, args) -> bool:
    """Whether calling ``kernel(*args)`` would compile it: with the disk cache on, no
    compiled or cached version for these argument types, and tiers in the background mode
    (under ``FASTCM_COMPILE=sync|never`` a kernel compiles where it is called, as before).

    Reads numba's cache index (a private part of numba): when that cannot be read, the
    answer is False and the kernel is called as before.
    """
    if _compile_mode() != "background" or _sync.get() or not cache_enabled():
        return False
    dispatcher = kernel.dispatcher
    try:
        sig = tuple(numba.typeof(kernel_arg(a)) for a in args)
        if sig in dispatcher.overloads:
            return False
        # reading the index costs ~0.7 ms: while a compile is pending, a miss is trusted
        # for a quarter of a second rather than read again on every call
        seen = (id(dispatcher), sig)
        now = time.monotonic()
        if now - _index_misses.get(seen, -1.0) < 0.25:
            return True
        cache = dispatcher._cache
        key = cache._index_key(sig, dispatcher.targetctx.codegen())
        missing = key not in cache._cache_file._load_index()
    except Exception:  # noqa: BLE001 - another numba's internals: behave as before
        return False
    if missing:
        _index_misses[seen] = now
    else:
        _index_misses.pop(seen, None)
    return missing


#: (dispatcher id, signature) -> when numba's cache index last lacked it (see needs_compile)
_index_misses: dict = {}


def wait_for_compiles() -> None:
    """Block until no thread of this process compiles or loads a tuned kernel.

    Run before a fork (a child would inherit numba's compiler lock held by a thread it does
    not have) and at exit (a compile on a thread of this process is finished rather than
    stopped half-way; compiling processes are not waited for).

    Examples
    --------
    >>> wait_for_compiles()  # returns at once when nothing compiles
    """
    while True:
        with _tier_lock:
            threads = [t for t in _compiling.values() if isinstance(t, threading.Thread) and t is not threading.current_thread()]
        if not threads:
            return
        for thread in threads:
            thread.join()


atexit.register(wait_for_compiles)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=wait_for_compiles)

_announced = False


def _announce_compiles() -> None:
    """Say once on a terminal's stderr that a first use compiles (what a user waits for)."""

    class Listener(event.Listener):
        def on_start(self, event):
            global _announced
            if _announced:
                return
            fn = getattr((event.data or {}).get("dispatcher"), "py_func", None)
            if not getattr(fn, "__module__", "").startswith("fastcm."):
                return
            _announced = True
            try:
                sys.stderr.write(
                    "fastcm: compiling kernels for this input type (first use only; `fastcm warm-up` compiles them ahead)\n"
                )
            except (OSError, ValueError):
                pass

        def on_end(self, event):
            pass

    try:
        if sys.stderr is not None and sys.stderr.isatty():
            event.register("numba:compile", Listener())
    except (AttributeError, OSError, ValueError):  # stderr closed or replaced
        pass


_announce_compiles()


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


@contextlib.contextmanager
def threads(n: int):
    """At most ``n`` kernel threads on this thread for the block (numba's setting is
    thread-local), restored after: one task of a Dask worker, say.

    Examples
    --------
    >>> with threads(1):
    ...     num_threads()
    1
    """
    saved = numba.get_num_threads()
    numba.set_num_threads(max(1, min(int(n), int(numba.config.NUMBA_NUM_THREADS))))
    try:
        yield
    finally:
        numba.set_num_threads(saved)


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
