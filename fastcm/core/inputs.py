"""Coercion and validation of everything a user passes in.

Every public function sends its arrays through :func:`as_array` and its options through
the ``check_*`` helpers here, so messages read the same everywhere and no other module
second-guesses input types. Nothing here copies a contiguous integer array.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..backends.arrays import array_module, is_device_array, module_name

__all__ = [
    "InvalidInputError",
    "as_array",
    "is_device_array",
    "array_module",
    "check_num_classes",
    "check_normalize",
    "check_ignore_index",
    "check_same_length",
    "check_weights",
    "flatten",
    "to_integer_labels",
]


class InvalidInputError(ValueError, TypeError):
    """An input of the wrong kind (None, a scalar, strings mixed with numbers).

    Both a ValueError and a TypeError, as scikit-learn's ``InvalidParameterError``, so
    handlers written for either library catch it.
    """


def _widen_bfloat16(x):
    """A float32 copy of a torch bfloat16 tensor (numpy and CuPy have no bfloat16), else ``x``.

    float32 holds every bfloat16 value exactly, so an argmax over the copy is the same.
    """
    return x.float() if str(x.dtype) == "torch.bfloat16" else x


def _to_device_array(x):
    import cupy  # deferred: only CUDA data pays for importing CuPy

    if module_name(x) == "cupy":
        return x
    if module_name(x) == "torch":
        x = _widen_bfloat16(x)
    if hasattr(x, "__cuda_array_interface__"):
        return cupy.asarray(x)
    return cupy.from_dlpack(x)


#: codes of the element kinds an object array may hold; one kind per array
_OBJ_STR, _OBJ_INT, _OBJ_BOOL, _OBJ_BYTES, _OBJ_OTHER = range(5)


def _object_kind(v) -> int:
    if isinstance(v, str):
        return _OBJ_STR
    if isinstance(v, (bool, np.bool_)):  # before Integral: bool is one
        return _OBJ_BOOL
    if isinstance(v, numbers.Integral):
        return _OBJ_INT
    if isinstance(v, bytes):  # TensorFlow string tensors arrive as bytes objects
        return _OBJ_BYTES
    return _OBJ_OTHER


def _object_ints(a: np.ndarray, name: str) -> np.ndarray:
    """An object array of Python ints as int64 (uint64 when every value needs it), or a
    ValueError naming the first value no 64-bit integer dtype holds (astype would raise a
    bare OverflowError)."""
    try:
        return a.astype(np.int64)
    except OverflowError:
        pass
    flat = a.reshape(-1)
    if all(v >= 0 for v in flat):
        try:
            return a.astype(np.uint64)
        except OverflowError:
            pass
    pos = next(i for i, v in enumerate(flat) if not -(2**63) <= v < 2**63)
    raise ValueError(
        f"Expected `{name}` to hold integer labels within the int64 (or uint64) range, but got "
        f"{flat[pos]!r} at position {pos}"
    )


def _object_to_array(a: np.ndarray, name: str) -> np.ndarray:
    flat = a.reshape(-1)
    if flat.size == 0:
        return flat.astype(np.int64).reshape(a.shape)
    kinds = np.frompyfunc(_object_kind, 1, 1)(flat).astype(np.int8)
    if (kinds == kinds[0]).all() and kinds[0] != _OBJ_OTHER:
        if kinds[0] == _OBJ_INT:
            return _object_ints(a, name)
        if kinds[0] == _OBJ_BYTES:  # text (TensorFlow strings): compares with str labels
            return np.char.decode(a.astype(bytes), "utf-8")
        return a.astype(str if kinds[0] == _OBJ_STR else np.bool_)
    pos = int(np.argmax(kinds != kinds[0])) if (kinds != kinds[0]).any() else int(np.argmax(kinds == _OBJ_OTHER))
    raise TypeError(
        f"Expected `{name}` to hold only integers or only strings, but got an object array "
        f"with {flat[pos]!r} ({type(flat[pos]).__name__}) at position {pos}"
    )


#: dtypes NumPy's DLPack import takes; JAX and TensorFlow tensors of any other dtype
#: (bfloat16, strings) go through ``__array__`` (TensorFlow aborts the process when asked to
#: export a string tensor through DLPack)
_DLPACK_DTYPES = frozenset(
    ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16", "float32", "float64"]
)


def _dtype_name(x) -> str:
    dtype = getattr(x, "dtype", None)
    return str(getattr(dtype, "name", dtype))


def _from_host_tensor(x):
    """A numpy view of a host JAX/TensorFlow tensor through DLPack, or a copy through
    ``__array__`` for dtypes DLPack cannot carry."""
    return np.from_dlpack(x) if _dtype_name(x) in _DLPACK_DTYPES else np.asarray(x)


def as_array(x, name: str, *, allow_device: bool = True):
    """Return ``x`` as a numpy or CuPy array without copying when it can.

    Accepts numpy arrays, Python sequences, pandas/polars/pyarrow columns, anything with
    ``__array__``, CPU torch tensors (zero-copy view) and, with ``allow_device``, CUDA
    arrays through ``__cuda_array_interface__`` or DLPack (zero-copy CuPy view).

    Examples
    --------
    >>> as_array([1, 2, 3], "y_true").dtype.kind
    'i'
    """
    if x is None:
        raise InvalidInputError(f"Expected `{name}` to be an array-like, but got None")
    if isinstance(x, (str, bytes)) or (np.isscalar(x) and not isinstance(x, memoryview)):  # numpy counts buffers as scalars
        raise InvalidInputError(f"Expected `{name}` to be an array-like, but got the scalar {x!r}")
    if isinstance(x, np.ndarray):
        a = x
    elif is_device_array(x):
        if not allow_device:
            raise TypeError(f"`{name}` is on a CUDA device; this function needs host data")
        a = _to_device_array(x)
    elif module_name(x) == "torch":
        a = _widen_bfloat16(x).detach().numpy()  # CPU tensor: shares memory (bfloat16: a float32 copy)
    elif hasattr(x, "__dlpack__") and hasattr(x, "__dlpack_device__") and module_name(x) in ("jax", "jaxlib", "tensorflow"):
        a = _from_host_tensor(x)
    else:
        try:
            a = np.asarray(x)
        except ValueError as exc:  # ragged nested sequences
            raise ValueError(f"Could not turn `{name}` into an array: {exc}") from None
    if a.ndim == 0:
        raise InvalidInputError(f"Expected `{name}` to be an array-like, but got the scalar {a.item()!r}")
    # ml_dtypes' bfloat16 (JAX, TensorFlow), kind "V": float32 holds it exactly. The kind
    # test first: ``dtype.name`` costs microseconds, which small streamed batches feel
    if a.dtype.kind == "V" and a.dtype.name == "bfloat16":
        a = a.astype(np.float32)
    if a.dtype.kind == "O":
        a = _object_to_array(a, name)
    if a.dtype.kind not in "biufUS":
        raise TypeError(f"Expected `{name}` to hold integers, floats, bools or strings, but got dtype {a.dtype}")
    if a.dtype.kind == "f" and a.dtype.itemsize > 8:
        # no kernel counts extended precision, and rounding to float64 could merge two
        # scores an argmax or a threshold tells apart
        raise TypeError(
            f"Expected `{name}` to hold float16, float32 or float64 values, but got dtype {a.dtype} "
            "(extended precision); convert it with .astype(numpy.float64) if rounding is acceptable"
        )
    if not a.dtype.isnative and a.dtype.kind in "biuf":
        # kernels read native byte order only (numba's argument cache does not tell the two
        # apart): one native copy, the values unchanged
        a = a.astype(a.dtype.newbyteorder("="))
    return a


def flatten(a):
    """A 1-D view of ``a`` (a copy only when ``a`` is N-D and not contiguous)."""
    return a if a.ndim == 1 else a.reshape(-1)


#: whole floats at or beyond these bounds have no int64 value (astype would wrap them)
_INT64_LOW, _INT64_HIGH = -(2.0**63), 2.0**63


def to_integer_labels(a, name: str):
    """Integer labels from a float array whose values are whole numbers.

    Floats are not a fast path: they are checked for NaN, infinities, fractional parts and
    values outside the int64 range (naming the first offending position) and converted to
    int64.
    """
    if a.dtype.kind != "f":
        return a
    xp = array_module(a)
    flat = flatten(a)
    with np.errstate(over="ignore"):  # the bounds overflow float16 to inf, which compares right
        bad = ~xp.isfinite(flat) | (flat != xp.floor(flat)) | (flat < _INT64_LOW) | (flat >= _INT64_HIGH)
    if bool(bad.any()):  # synchronize!
        pos = int(xp.argmax(bad))
        value = float(flat[pos])
        why = " (outside the int64 range)" if np.isfinite(value) and value == np.floor(value) else ""
        raise ValueError(f"Expected `{name}` to hold integer class labels, but got {value!r}{why} at position {pos}")
    return a.astype(np.int64)


def check_ignore_index(ignore_index):
    """``ignore_index`` as an int (a whole float becomes one) or a string label; None stays.

    Examples
    --------
    >>> check_ignore_index(255.0)
    255
    """
    if ignore_index is None or isinstance(ignore_index, (str, bytes)):
        return ignore_index
    if isinstance(ignore_index, (numbers.Integral, np.bool_)):
        return int(ignore_index)
    if isinstance(ignore_index, numbers.Real) and float(ignore_index).is_integer():  # NaN, inf: not
        return int(ignore_index)
    raise ValueError(f"Expected `ignore_index` to be an integer label (or a string label), but got {ignore_index!r}")


def check_num_classes(num_classes, name: str = "num_classes"):
    if num_classes is None:
        return None
    if isinstance(num_classes, (bool, np.bool_)) or not isinstance(num_classes, numbers.Integral) or num_classes < 1:
        raise ValueError(f"Expected `{name}` to be a positive int, but got {num_classes!r}")
    return int(num_classes)


NORMALIZE_CHOICES = ("true", "pred", "all")


def check_normalize(normalize):
    if normalize is not None and normalize not in NORMALIZE_CHOICES:
        raise ValueError(f"Expected `normalize` to be one of {NORMALIZE_CHOICES} or None, but got {normalize!r}")
    return normalize


def check_same_length(a, b, names=("y_true", "y_pred")) -> None:
    if a.shape[:1] != b.shape[:1] or (a.ndim == b.ndim and a.shape != b.shape):
        raise ValueError(
            f"Expected `{names[0]}` and `{names[1]}` to have the same shape, but got {tuple(a.shape)} and {tuple(b.shape)}"
        )


def check_weights(sample_weight, n: int, like):
    """Return sample weights as a 1-D array of length ``n`` on ``like``'s device, or None."""
    if sample_weight is None:
        return None
    w = as_array(sample_weight, "sample_weight")
    if array_module(w) is not array_module(like):
        w = array_module(like).asarray(w)
    if w.dtype.kind not in "biuf":
        raise TypeError(f"Expected `sample_weight` to be numeric, but got dtype {w.dtype}")
    w = flatten(w)
    if w.shape[0] != n:
        raise ValueError(f"Expected `sample_weight` to have length {n} (one weight per pair), but got {w.shape[0]}")
    return w


def _unsigned_bound(a):
    return int(a.max()) if a.size else 0  # synchronize!


def common_integer_labels(a, b, names=("y_true", "y_pred")):
    """``a`` and ``b`` in one integer dtype that holds every value of both, exactly.

    numpy promotes int64 with uint64 to float64, which rounds values above 2**53 and merges
    distinct labels. Here uint64 values below 2**63 become int64, or non-negative signed
    values become uint64; when neither holds (a negative value and one at or above 2**63)
    it is a TypeError naming both. Other dtypes are returned as they are.

    Examples
    --------
    >>> a, b = common_integer_labels(np.array([2**63], np.uint64), np.array([1], np.int64))
    >>> a.dtype, b.dtype
    (dtype('uint64'), dtype('uint64'))
    """
    kinds = (a.dtype.kind, b.dtype.kind)
    if not (set(kinds) <= set("biu")) or np.result_type(a.dtype, b.dtype).kind in "biu":
        return a, b
    # one is uint64, the other signed: numpy's promotion would be float64
    (u, s), swap = ((a, b), False) if a.dtype == np.uint64 else ((b, a), True)
    # same bits for values in both ranges: views, no copies of 64-bit data
    if _unsigned_bound(u) <= np.iinfo(np.int64).max:
        u = u.view(np.int64)
        s = s.astype(np.int64, copy=False)
    elif s.size == 0 or int(s.min()) >= 0:  # synchronize!
        s = s.view(np.uint64) if s.dtype == np.int64 else s.astype(np.uint64)
    else:
        uname, sname = (names[1], names[0]) if swap else names
        raise TypeError(
            f"Cannot count `{uname}` (uint64, with {int(u.max())}) with `{sname}` ({s.dtype}, with {int(s.min())}): "
            "no 64-bit integer type holds both values; convert the labels to one type"
        )
    return (s, u) if swap else (u, s)
