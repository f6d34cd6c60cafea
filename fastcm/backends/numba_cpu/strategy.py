"""The one place that decides what the label kernels see and which of them runs.

Kernels are compiled for a handful of label dtypes (:data:`LABEL_DTYPES`); any other input
reaches them through :func:`stage`, converted a bounded block at a time, so a new dtype,
byte order or layout never compiles a kernel of its own. :func:`choose` picks the counting
strategy of ``kernels.py`` for a range, in Python, so each strategy compiles alone and
only when it is used.

Examples
--------
>>> import numpy as np
>>> label_dtype(np.dtype(np.int16), np.dtype(np.uint8))
dtype('int32')
>>> choose(10**7, 10, narrow=True)
'paired'
"""

from __future__ import annotations

import numpy as np

from . import kernels

#: the label dtypes kernels are compiled for: 8-bit masks, 32-bit and 64-bit labels, and
#: 16-bit labels of one signedness on both sides (converting them in blocks measured 2.3x
#: slower than counting them natively: docs/performance.md)
LABEL_DTYPES = tuple(np.dtype(d) for d in (np.uint8, np.int16, np.uint16, np.int32, np.int64))
#: elements converted at a time for an input of another dtype or layout (1 MiB at int64)
STAGE = 1 << 17

_WIDER = {d: k for k, d in enumerate([np.dtype(np.uint8), np.dtype(np.int32), np.dtype(np.int64)])}


def _compiled_for(dtype: np.dtype) -> np.dtype:
    if dtype.kind == "b" or dtype == np.uint8:
        return np.dtype(np.uint8)
    if dtype.itemsize == 2:
        return dtype.newbyteorder("=")
    if dtype.itemsize <= 4 and dtype != np.uint32:
        return np.dtype(np.int32)
    return np.dtype(np.int64)  # uint32, and the 64-bit ones (uint64 read as int64's bits)


def label_dtype(*dtypes) -> np.dtype:
    """The compiled dtype that holds the values of every integer ``dtypes``.

    uint64 maps to int64: kernels compare labels as the uint64 of their bits after taking
    the offset away, so a uint64 and its int64 view count alike. 16-bit labels stay 16-bit
    when every dtype maps to the same one; mixed with others they count as int32.
    """
    found = {_compiled_for(np.dtype(d)) for d in dtypes}
    if len(found) == 1:
        return found.pop()
    found = {np.dtype(np.int32) if d.itemsize == 2 else d for d in found}
    return max(found, key=_WIDER.__getitem__)


def kernel_view(a, dtype):
    """``a`` as a ``dtype`` array without a copy, or None when it must be staged."""
    if a.dtype != dtype:
        same_bits = a.dtype.itemsize == dtype.itemsize and (a.dtype.kind == "b" or (a.dtype.kind == "u" and dtype.kind == "i"))
        if not same_bits or not a.dtype.isnative:
            return None
        a = a.view(dtype)
    if a.ndim != 1 or not (a.flags.c_contiguous and a.flags.aligned and a.dtype.isnative):
        return None
    return a


def labels_as(a, dtype):
    """Labels in ``dtype`` for the kernels that read them whole: a view when the bits are
    the same (bool as uint8, uint64 as int64), else one converted copy."""
    if a.dtype == dtype:
        return a
    if a.dtype.itemsize == dtype.itemsize and a.dtype.kind in "bu" and a.dtype.isnative:
        return a.view(dtype)
    return a.astype(dtype)


def value_of(value, dtype):
    """``value`` (a scalar of an input's dtype) with the bits of ``dtype`` (see :func:`label_dtype`)."""
    return np.asarray(value).astype(dtype, casting="unsafe")[()]


def stage(kernel_call, arrays, dtypes, ranges, run_parallel):
    """Run ``kernel_call(arrays, start, stop) -> (n_invalid, first)`` over ``ranges``.

    Arrays already of their kernel dtype and layout go as they are; the others are
    converted :data:`STAGE` elements at a time on the thread counting them (positions
    then shifted back), so no N-sized copy is made. Returns the results per range.
    """
    views = [kernel_view(a, d) for a, d in zip(arrays, dtypes)]
    if all(v is not None for v in views):
        return run_parallel(lambda a, b: kernel_call(views, a, b), ranges)

    def task(a, b):
        n_bad, first = 0, -1
        buffers = [None if v is not None else np.empty(min(STAGE, b - a), dtype=d) for v, d in zip(views, dtypes)]
        for s in range(a, b, STAGE):
            e = min(b, s + STAGE)
            block = []
            for v, x, buf in zip(views, arrays, buffers):
                if v is not None:
                    block.append(v[s:e])
                else:  # converted into one buffer per range: no allocation a block
                    np.copyto(buf[: e - s], x[s:e], casting="unsafe")
                    block.append(buf[: e - s])
            bad, f = kernel_call(block, 0, e - s)
            if first < 0 and f >= 0:
                first = int(f) + s
            n_bad += int(bad)
        return n_bad, first

    return run_parallel(task, ranges)


def narrow(dtype: np.dtype, lo: int, C: int) -> bool:
    """Whether 32-bit arithmetic keeps every value apart: ``v - lo`` modulo 2**32 then lands
    in 0..C-1 only for valid values (negative ones wrap far above C)."""
    if dtype.itemsize > 4:
        return False
    return lo == 0 or (abs(lo) < 2**30 and C < 2**30)


def choose(n: int, C: int, narrow: bool) -> str:
    """The counting strategy of ``kernels.py`` for ranges of ``n`` pairs and ``C`` classes.

    Each strategy only where the range is long enough to repay its tables (see the notes
    above ``kernels.count_plain``).
    """
    K = C * C + 1
    if narrow and K * K <= kernels.PAIRED_BINS and n >= 8 * K * K:
        return "paired"
    if K <= kernels.SPLIT_BINS and n >= 16 * K:
        return "four32" if narrow else "four64"
    if n < 4 * K:
        return "plain"
    return "binned"
