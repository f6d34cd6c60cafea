"""Entry points of the numba backend for label and score counting (see ``numpy_ref``)."""

from __future__ import annotations

import numpy as np

from . import kernels
from ._jit import MIN_PARALLEL, jit, num_threads, run_parallel, split

_value_range = jit(kernels.value_range)
_label_presence = jit(kernels.label_presence)
_count_pairs = jit(kernels.count_pairs)
_count_pairs_weighted = jit(kernels.count_pairs_weighted)
_count_pairs_rows = jit(kernels.count_pairs_rows)
_count_lut = jit(kernels.count_lut)
_count_scores = jit(kernels.count_scores)
_count_score_rows = jit(kernels.count_score_rows)

_NO_LUT = np.empty(0, dtype=np.int64)
_NO_WEIGHTS = np.empty(0, dtype=np.float64)
#: the private-copy budget: past it, large-C matrices are split into row bands instead
_PRIVATE_BYTES = 64 << 20


def _accumulator_dtype(weights):
    return np.int64 if weights is None or weights.dtype.kind in "biu" else np.float64


def _ignore(ignore_index):
    return (ignore_index is not None), np.int64(0 if ignore_index is None else ignore_index)


def _ignore_as(dtype, ignore_index):
    """(has_ignore, the index as a value of ``dtype``): comparisons then stay in the input's
    width. No value of ``dtype`` equals an index it cannot represent, so that is no ignore."""
    if ignore_index is not None:
        try:
            value = np.array(ignore_index).astype(dtype, casting="unsafe")[()]
        except (OverflowError, ValueError):
            value = None
        if value is not None and int(value) == int(ignore_index):
            return True, value
    return False, np.zeros((), dtype=dtype)[()]


def _chunks(n: int) -> list[tuple[int, int]]:
    if n < 2 * MIN_PARALLEL:  # small batches: no thread hand-off, no thread-count lookup
        return [(0, n)]
    parts = min(num_threads(), max(1, n // MIN_PARALLEL))
    return split(n, parts)


def _combine(results):
    if len(results) == 1:
        return np.array(results[0], dtype=np.int64)
    n_bad = sum(int(r[0]) for r in results)
    firsts = [int(r[1]) for r in results if r[1] >= 0]
    return np.array([n_bad, min(firsts) if firsts else -1], dtype=np.int64)


def _private_sum(kernel, args, n, shape, dtype):
    """Each chunk counts into its own zeroed histogram; the histograms are summed after."""
    ranges = _chunks(n)
    outs = [np.zeros(shape, dtype=dtype) for _ in ranges]
    index = {r: k for k, r in enumerate(ranges)}
    results = run_parallel(lambda a, b: kernel(*args, outs[index[(a, b)]], a, b), ranges)
    total = outs[0]
    for o in outs[1:]:
        total += o
    return total, _combine(results)


def warm_up(dtypes=()) -> None:
    """Start numba and load the label kernels for these input dtypes (from the disk cache).

    Examples
    --------
    >>> import numpy as np
    >>> warm_up([np.dtype(np.int32)])
    """
    kinds = dict.fromkeys(np.dtype(d) for d in dtypes if np.dtype(d).kind in "iu")  # each once
    for dtype in kinds or [np.dtype(np.int64)]:
        z = np.zeros(2, dtype=dtype)
        count_pairs(z, z, 2)


def count_pairs(t, p, num_classes, *, weights=None, ignore_index=None, lut=None, lut_offset=0):
    C = int(num_classes)
    n = t.shape[0]
    has_ignore, ignore = _ignore(ignore_index)
    if weights is not None and weights.dtype == np.float16:
        weights = weights.astype(np.float32)  # numba has no half type; widening is exact
    if lut is not None or weights is not None:
        w = _NO_WEIGHTS if weights is None else weights
        lut_ = _NO_LUT if lut is None else lut
        if lut is None:
            counts, invalid = _private_sum(
                _count_pairs_weighted, (t, p, w, C, np.int64(lut_offset), has_ignore, ignore), n, C * C, _accumulator_dtype(weights)
            )
        else:
            counts, invalid = _private_sum(
                _count_lut, (t, p, w, lut_, np.int64(lut_offset), C, has_ignore, ignore), n, C * C, _accumulator_dtype(weights)
            )
        return counts.reshape(C, C), invalid
    lo = int(lut_offset)  # without a table: value v is class v - lut_offset
    threads = len(_chunks(n))
    # row bands when private copies would not fit, or bins would not fit the kernels' uint32
    if (threads > 1 and threads * C * C * 8 > _PRIVATE_BYTES) or C * C >= 2**32 - 1:
        out = np.zeros(C * C, dtype=np.int64)
        bands = split(C, threads)
        results = run_parallel(lambda a, b: _count_pairs_rows(t, p, C, np.int64(lo), has_ignore, ignore, out, a, b), bands)
        return out.reshape(C, C), _combine(results)
    has_ignore, ignore = _ignore_as(t.dtype, ignore_index)
    args = (t, p, C, np.int64(lo), has_ignore, ignore, _narrow(t.dtype, p.dtype, lo, C))
    counts, invalid = _private_sum(_count_pairs, args, n, C * C, np.int64)
    return counts.reshape(C, C), invalid


def _narrow(a, b, lo, C) -> bool:
    """Whether 32-bit arithmetic keeps every value apart: ``v - lo`` modulo 2**32 then lands
    in 0..C-1 only for valid values (negative ones wrap far above C)."""
    if a.itemsize > 4 or b.itemsize > 4:
        return False
    if lo == 0:
        return True
    small = abs(lo) < 2**30 and C < 2**30
    return small and ((a.itemsize <= 2 and b.itemsize <= 2) or (a.kind in "ib" and b.kind in "ib"))


def count_scores(t, s, num_classes, *, weights=None, ignore_index=None, lut=None, lut_offset=0):
    C = int(num_classes)
    if weights is not None and weights.dtype == np.float16:
        weights = weights.astype(np.float32)
    if s.dtype == np.float16:
        return _count_half_scores(t, s, C, weights, ignore_index, lut, lut_offset)
    has_ignore, ignore = _ignore(ignore_index)
    w = _NO_WEIGHTS if weights is None else weights
    lut_ = _NO_LUT if lut is None else lut
    n = t.shape[0] * t.shape[1]
    if t.shape[1] == 1:  # (N, C): one row per prediction, no pixel tiles
        kernel, s = _count_score_rows, s.reshape(s.shape[0], s.shape[1])
    else:
        kernel = _count_scores
    counts, invalid = _private_sum(
        kernel, (t, s, w, lut_, np.int64(lut_offset), C, has_ignore, ignore), n, C * C, _accumulator_dtype(weights)
    )
    return counts.reshape(C, C), invalid


def _count_half_scores(t, s, C, weights, ignore_index, lut, lut_offset):
    """numba has no half type: widen bounded blocks of rows to float32 (exact, order-preserving)."""
    n, pixels = t.shape
    rows = max(1, (1 << 22) // max(1, C * pixels))  # float32 blocks of about 16 MB
    total, n_bad, first = None, 0, -1
    for a in range(0, max(n, 1), rows):
        b = min(n, a + rows)
        w = None if weights is None else weights[a * pixels : b * pixels]
        counts, invalid = count_scores(
            t[a:b], s[a:b].astype(np.float32), C, weights=w, ignore_index=ignore_index, lut=lut, lut_offset=lut_offset
        )
        total = counts if total is None else total + counts
        n_bad += int(invalid[0])
        if first < 0 and invalid[1] >= 0:
            first = int(invalid[1]) + a * pixels
    return total, np.array([n_bad, first], dtype=np.int64)


def value_range(t, p):
    if t.size == 0 and p.size == 0:
        return 0, -1
    ranges = []
    for a in (t, p):
        if a.size:
            a = a.reshape(-1)
            ranges += run_parallel(lambda s, e, a=a: _value_range(a, s, e), _chunks(a.size))
    return min(int(r[0]) for r in ranges), max(int(r[1]) for r in ranges)


def label_presence(t, p, lo, size, ignore_index=None):
    has_ignore, ignore = _ignore(ignore_index)
    present = np.zeros(size, dtype=np.bool_)
    _label_presence(t, p, np.int64(lo), present, has_ignore, ignore)
    return present
