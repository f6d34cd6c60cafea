"""Results in the caller's array type.

fastcm counts in numpy (CPU) or CuPy (GPU). At the public entry points that return
counts (:func:`fastcm.confusion_matrix`, :func:`fastcm.binary_confusion_matrix`,
:func:`fastcm.threshold_confusion_matrices`, :func:`fastcm.multilabel_confusion_matrix`,
``compute()`` of :class:`fastcm.ConfusionMatrix` and :class:`fastcm.ThresholdConfusionMatrix`)
the counts go back in the array type the labels came in:

================================  =================================  ==================
input (``y_true``, else ``y_pred``)  result                            copy?
================================  =================================  ==================
numpy, lists, pandas, polars, ...  ``numpy.ndarray``                  --
CuPy                               ``cupy.ndarray`` (same device)     --
torch, CPU                         ``torch.Tensor`` (CPU)             no (shares memory)
torch, CUDA                        ``torch.Tensor`` (same device)     no (DLPack)
JAX                                ``jax.Array``                      one small copy
TensorFlow                         ``tf.Tensor``                      one small copy
================================  =================================  ==================

``like=`` overrides it: ``"numpy"`` (or ``numpy``), ``"cupy"``, ``"torch"``, ``"jax"``,
``"tensorflow"``, or an array whose type to follow. The small (C, C) result is all that is
converted: no N-sized data is ever copied here. Type detection goes through the type's
module name, so asking never imports a framework; a framework is imported only to build a
result of its type, which means the caller already has it loaded.

JAX without ``jax_enable_x64`` holds no int64: counts come back as int32 (and float64 as
float32), JAX's own default, and an OverflowError is raised rather than wrapping a count
past 2**31 - 1 (pass ``like="numpy"`` or enable x64).
"""

from __future__ import annotations

import sys

import numpy as np

__all__ = ["KINDS", "kind_of", "resolve", "convert", "to_caller", "to_host"]

#: the array types a result can be returned in
KINDS = ("numpy", "cupy", "torch", "jax", "tensorflow")

_ROOTS = {"numpy": "numpy", "cupy": "cupy", "torch": "torch", "jax": "jax", "jaxlib": "jax", "tensorflow": "tensorflow",
          "keras": "tensorflow"}


def module_name(x) -> str:
    """The top-level package an array's type comes from (``"numpy"``, ``"cupy"``, ``"torch"``...)."""
    return type(x).__module__.split(".", 1)[0]


def is_device_array(x) -> bool:
    """True when ``x`` lives on a CUDA device (CuPy, or anything exposing the CUDA interfaces).

    Type detection goes through ``sys.modules`` so asking never imports CuPy or torch.
    """
    mod = module_name(x)
    if mod == "cupy":
        return True
    if mod == "torch" and "torch" in sys.modules:
        return bool(getattr(x, "is_cuda", False))
    if hasattr(x, "__cuda_array_interface__"):
        return True
    if hasattr(x, "__dlpack_device__") and not isinstance(x, np.ndarray):
        try:
            dev_type, _ = x.__dlpack_device__()
        except Exception:
            return False
        return int(dev_type) in (2, 13)  # kDLCUDA, kDLCUDAManaged
    return False


def array_module(x):
    """``numpy`` or ``cupy``: the namespace an already-coerced array belongs to."""
    if module_name(x) == "cupy":
        return sys.modules["cupy"]
    return np


def count_dtype(weights):
    """The dtype counts are kept in: exact int64 without weights or with integer ones, float64
    with float weights (every backend counts into it).

    Examples
    --------
    >>> count_dtype(None).__name__, count_dtype(np.ones(2)).__name__
    ('int64', 'float64')
    """
    return np.int64 if weights is None or weights.dtype.kind in "biu" else np.float64


def kind_of(x) -> str:
    """The array type of ``x`` as one of :data:`KINDS` (anything else reads as "numpy").

    Examples
    --------
    >>> kind_of([1, 2]), kind_of(np.zeros(2))
    ('numpy', 'numpy')
    """
    return _ROOTS.get(type(x).__module__.split(".", 1)[0], "numpy")


def resolve(like, *inputs) -> str:
    """The kind a result takes: ``like`` when given, else that of the first input that is
    not numpy-like (``y_true``, then ``y_pred``), else "numpy".

    Examples
    --------
    >>> resolve(None, [0, 1], np.array([1, 0])), resolve("numpy", None), resolve(np, None)
    ('numpy', 'numpy', 'numpy')
    """
    if like is None or (isinstance(like, str) and like == "auto"):
        for x in inputs:
            kind = kind_of(x)
            if kind != "numpy":
                return kind
        return "numpy"
    if isinstance(like, str):
        if like in KINDS:
            return like
        raise ValueError(f"Expected `like` to be one of {', '.join(map(repr, KINDS))}, an array or a module, but got {like!r}")
    if isinstance(like, type(np)):  # a module: numpy, torch, jax.numpy, tensorflow, cupy
        kind = _ROOTS.get(like.__name__.split(".", 1)[0])
        if kind is None:
            raise ValueError(f"Expected `like` to be one of {', '.join(map(repr, KINDS))}, an array or a module, but got the module {like.__name__}")
        return kind
    return kind_of(like)


def _int32_for_jax(a):
    """int64 counts as JAX holds them without x64: int32, or an OverflowError, never a wrap."""
    if a.dtype == np.int64 and a.size and (int(a.max()) > np.iinfo(np.int32).max or int(a.min()) < np.iinfo(np.int32).min):
        raise OverflowError(
            "A count passes the int32 range, which is all JAX holds without jax_enable_x64: pass like='numpy' "
            "or enable x64 (jax.config.update('jax_enable_x64', True))"
        )
    return a


def convert(result, kind: str):
    """``result`` (a numpy or CuPy array) as an array of ``kind`` (see the module's table)."""
    on_gpu = type(result).__module__.split(".", 1)[0] == "cupy"
    if kind == "numpy":
        return result.get() if on_gpu else result  # synchronize! (a GPU result asked for as numpy)
    if kind == "cupy":
        return result if on_gpu else _import("cupy").asarray(result)
    if kind == "torch":
        torch = _import("torch")
        if on_gpu:
            return torch.from_dlpack(result)  # same device, no copy
        if not result.flags.writeable:  # torch wants a writeable buffer: one small copy
            result = result.copy()
        return torch.from_numpy(result)  # shares memory
    if kind == "jax":
        jax = _import("jax")
        host = result.get() if on_gpu else result  # synchronize! JAX takes host or its own device data
        if not jax.config.jax_enable_x64:
            host = _int32_for_jax(host)
        return jax.numpy.asarray(host)
    if kind == "tensorflow":
        tf = _import("tensorflow")
        host = result.get() if on_gpu else result  # synchronize!
        return tf.convert_to_tensor(host)
    raise ValueError(f"Expected an array kind among {KINDS}, but got {kind!r}")


def _import(name):
    import importlib

    return importlib.import_module(name)


def to_caller(result, like, *inputs):
    """``result`` in the type :func:`resolve` picks for ``like`` and ``inputs``.

    Examples
    --------
    >>> to_caller(np.eye(2, dtype=np.int64), None, [0, 1]).tolist()
    [[1, 0], [0, 1]]
    """
    kind = resolve(like, *inputs)
    if kind == "numpy" and type(result) is np.ndarray:  # the common case: nothing to do
        return result
    if kind != "numpy" and kind_of(result) == kind:
        return result
    return convert(result, kind)


def to_host(a) -> np.ndarray:
    """``a`` (numpy, CuPy, torch, JAX or TensorFlow) as a numpy array: how code that works on
    the host reads a result of :func:`to_caller` back. A CPU torch tensor is read without a
    copy; device data is copied to the host once.

    Examples
    --------
    >>> to_host(np.eye(2, dtype=np.int64)).tolist()
    [[1, 0], [0, 1]]
    """
    kind = kind_of(a)
    if kind == "cupy":
        return a.get()  # synchronize!
    if kind == "torch":
        return a.detach().cpu().numpy()  # synchronize! (a CUDA tensor; a CPU one is shared)
    if kind == "tensorflow":
        return a.numpy()  # synchronize!
    return np.asarray(a)  # numpy, JAX (synchronize! on a GPU), anything with __array__
