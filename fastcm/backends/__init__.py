"""The registry of counting engines.

A backend is a module exposing the same kernel entry points (see ``numpy_ref`` for the
reference signatures). Backends are imported on first use, so ``import fastcm`` loads
neither numba nor CuPy.

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

from ..inputs import is_device_array

__all__ = ["NAMES", "available", "get", "select"]

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
    return name in _DEVICE_BACKENDS


def select(backend: str, *arrays) -> str:
    """Resolve ``backend`` ("auto" or a name) for the given arrays and return a backend name.

    "auto" picks ``cupy`` when any array lives on a CUDA device, else ``numba`` when numba
    is installed, else the numpy reference.
    """
    if backend != "auto":
        get(backend)  # validates the name and the install
        return backend
    if any(a is not None and is_device_array(a) for a in arrays):
        reason, name = "a CUDA array was passed", "cupy"
    elif _installed("numba"):
        reason, name = "host arrays and numba is installed", "numba"
    else:
        reason, name = "numba is not installed", "numpy"
    logger.debug("backend=auto chose %r: %s", name, reason)
    return name
