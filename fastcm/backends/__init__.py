"""The registry of counting engines.

A backend is a module keeping the contract of :mod:`fastcm.backends.contract`: the same
required entry points (``numpy_ref`` holds the reference signatures), and optional ones
looked up through :func:`fastcm.backends.contract.entry`. Backends are imported on first
use, so ``import fastcm`` loads neither numba nor CuPy.

Examples
--------
>>> from fastcm import backends
>>> "numpy" in backends.available()
True
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import logging
import os
import threading

from .arrays import is_device_array
from . import contract

__all__ = ["NAMES", "available", "get", "select", "threads", "wait_until_loaded"]

logger = logging.getLogger("fastcm")

#: name -> module implementing it
_MODULES = {
    "numba": "fastcm.backends.numba_cpu",
    "numpy": "fastcm.backends.numpy_ref",
    "cupy": "fastcm.backends.cupy_gpu",
}
NAMES = tuple(_MODULES)
_DEVICE_BACKENDS = frozenset({"cupy"})


@functools.cache
def _installed(name: str) -> bool:
    dep = {"numba": "numba", "numpy": "numpy", "cupy": "cupy"}[name]
    return importlib.util.find_spec(dep) is not None


#: backends already imported (and, for cupy, found a device): a lookup per call, not an import
_loaded: dict = {}


def available() -> list[str]:
    """Names of the backends whose dependencies are installed, e.g. ``['numba', 'numpy']``.

    ``cupy`` is listed when CuPy is installed and sees at least one CUDA device.
    """
    names = []
    for name in NAMES:
        if not _installed(name):
            continue
        if name == "cupy":
            try:
                if not get("cupy").device_count():
                    continue
            except Exception:  # broken CUDA install: treat as absent
                continue
        names.append(name)
    return names


def get(name: str):
    """The backend module called ``name``; a ValueError lists the valid names."""
    module = _loaded.get(name)
    if module is not None:
        return module
    if name not in _MODULES:
        raise ValueError(f"Unknown backend {name!r}; expected one of {list(NAMES)} or 'auto'")
    if not _installed(name):
        raise ValueError(f"Backend {name!r} needs the package {name!r}, which is not installed")
    module = importlib.import_module(_MODULES[name])
    if name == "cupy" and not module.device_count():
        raise ValueError("Backend 'cupy' needs a CUDA device, but CuPy sees none (no GPU or no usable driver)")
    _loaded[name] = module
    return module


def is_device_backend(name: str) -> bool:
    """Whether the backend ``name`` counts on an accelerator (``ON_DEVICE``), without importing it."""
    return name in _DEVICE_BACKENDS


def threads(n: int):
    """A block in which the host kernels use at most ``n`` threads on this thread (one task
    of a Dask worker, say): the ``threads`` entry of numba's backend where numba is
    installed, else the numpy reference's, which has none to limit.

    Examples
    --------
    >>> from fastcm import backends
    >>> with backends.threads(1):
    ...     pass
    """
    return contract.entry(get("numba" if _installed("numba") else "numpy"), "threads")(n)


#: host calls of at most this many elements (10^6 pairs) run on the numpy reference while
#: numba loads in the background (see ``select``): numpy counts them in 10-30 ms, with
#: temporaries of about 50 MB at the most, where numba's import and start-up take 0.3 s
SMALL_WHILE_LOADING = 1 << 21

_warm_lock = threading.Lock()
_warm_thread: threading.Thread | None = None
_numba_ready = threading.Event()


def _warm_numba(dtypes) -> None:
    try:
        get("numba").warm_up(dtypes)
    except Exception:  # noqa: BLE001 - the next call that needs numba raises it in its own thread
        logger.debug("loading numba in the background failed", exc_info=True)
    finally:
        _numba_ready.set()


def _start_warm_up(arrays) -> None:
    global _warm_thread
    with _warm_lock:
        if _warm_thread is None:
            # the load imports this, which registers fork hooks: registered while a fork
            # waits in ``wait_until_loaded``, its "after" hook would run without its "before"
            import concurrent.futures.thread  # noqa: F401

            dtypes = [a.dtype for a in arrays if a is not None and getattr(a, "dtype", None) is not None]
            # not a daemon: a script that ends at once waits for the import, as it would have
            # without the background load, instead of stopping it half-way
            _warm_thread = threading.Thread(target=_warm_numba, args=(dtypes,), name="fastcm-load-numba")
            _warm_thread.start()


def _numba_loaded() -> bool:
    return _numba_ready.is_set() or ("numba" in _loaded and _warm_thread is None)


def wait_until_loaded() -> None:
    """Block until a background load of numba (see :func:`select`) has finished.

    Examples
    --------
    >>> from fastcm import backends
    >>> backends.wait_until_loaded()  # returns at once when nothing is loading
    """
    thread = _warm_thread
    if thread is not None and thread is not threading.current_thread():
        thread.join()


# A child forked while the background thread imports would inherit import locks that no
# thread of its own releases: a fork waits for the load to end.
if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=wait_until_loaded)


def _elements(arrays) -> int | None:
    total = 0
    for a in arrays:
        if a is None:
            continue
        size = getattr(a, "size", None)
        if not isinstance(size, int):
            return None
        total += size
    return total


def select(backend: str, *arrays, small_on_numpy: bool = False) -> str:
    """Resolve ``backend`` ("auto" or a name) for the given arrays and return a backend name.

    "auto" picks ``cupy`` when any array lives on a CUDA device, else ``numba`` when numba
    is installed, else the numpy reference.

    Importing numba and starting it up takes ~0.3 s, paid by a new process's first call.
    ``small_on_numpy``: the caller's results are the same, to the last bit, on the numpy
    reference (label counts: integers, and weighted sums added in the same order). Then,
    until numba is loaded, "auto" sends a small host call (at most ``SMALL_WHILE_LOADING``
    elements) to the numpy reference and loads numba on a background thread; a larger
    call waits for the load. So a new process's first small confusion matrix takes
    milliseconds, and later calls run on numba once it is loaded.
    """
    if backend != "auto":
        get(backend)  # validates the name and the install
        return backend
    if any(a is not None and is_device_array(a) for a in arrays):
        reason, name = "a CUDA array was passed", "cupy"
    elif _installed("numba"):
        reason, name = "host arrays and numba is installed", "numba"
        if not _numba_loaded():
            size = _elements(arrays) if small_on_numpy else None
            if size is not None and size <= SMALL_WHILE_LOADING:
                _start_warm_up(arrays)
                if not _numba_ready.is_set():
                    reason, name = "a small call while numba loads in the background", "numpy"
            else:
                wait_until_loaded()
    else:
        reason, name = "numba is not installed", "numpy"
    logger.debug("backend=auto chose %r: %s", name, reason)
    return name
