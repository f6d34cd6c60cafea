"""Strategies, layout transforms and exact pure-Python references for tests/test_fuzz.py.

The references count with Python ints (weights too) and compare numbers exactly (Python
compares an int with a float exactly), so they stay right where float64 rounds: labels,
weights and scores beyond 2**53.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

INT_DTYPES = [np.dtype(d) for d in (np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64)]
FLOAT_DTYPES = [np.dtype(d) for d in (np.float16, np.float32, np.float64)]
#: layout transforms that keep every value; "fortran" only changes arrays of 2 or more dimensions
LAYOUTS = ["contiguous", "bigendian", "readonly", "unaligned", "strided", "fortran"]

I64_MIN, I64_MAX, U64_MAX = -(2**63), 2**63 - 1, 2**64 - 1


def bounds(dtype):
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return 0, 1
    info = np.iinfo(dtype)
    return int(info.min), int(info.max)


def extremes(dtype):
    """The values of an integer dtype where wrapping, sign and float64 rounding bugs live."""
    lo, hi = bounds(dtype)
    near = [lo, lo + 1, -1, 0, 1, 2, hi - 1, hi, 2**31, 2**32, 2**53, 2**53 + 1, 2**62, 2**63 - 1, 2**63, 2**63 + 1]
    return sorted({v for v in near if lo <= v <= hi})


def int_values(dtype, pool_size=4):
    """A strategy for a short list of values of ``dtype`` to draw labels from (extremes and any)."""
    lo, hi = bounds(dtype)
    value = st.sampled_from(extremes(dtype)) | st.integers(lo, hi)
    return st.lists(value, min_size=1, max_size=pool_size, unique=True)


def float_extremes(dtype):
    info = np.finfo(dtype)
    return [0.0, -0.0, 1.0, -1.0, float(info.max), -float(info.max), float(info.tiny), float(info.smallest_subnormal), 0.5]


def layout(a: np.ndarray, kind: str) -> np.ndarray:
    """``a`` with the same values in another memory layout."""
    a = np.asarray(a)
    if kind == "contiguous":
        return np.ascontiguousarray(a)
    if kind == "bigendian":
        return a.astype(a.dtype.newbyteorder(">")) if a.dtype.kind in "iuf" else a
    if kind == "readonly":
        b = a.copy()
        b.flags.writeable = False
        return b
    if kind == "unaligned":
        buf = bytearray(a.nbytes + 1)
        b = np.frombuffer(buf, dtype=a.dtype, offset=1, count=a.size).reshape(a.shape)
        b[...] = a
        return b
    if kind == "strided":
        return np.repeat(a, 2, axis=0)[::2] if a.ndim else a
    if kind == "fortran":
        return np.asfortranarray(a)
    raise AssertionError(kind)


def py(a) -> list:
    """Flat Python values of ``a`` (ints stay exact, float16/32 become exact Python floats)."""
    a = np.asarray(a).reshape(-1)
    return (a.astype(np.int64) if a.dtype.kind == "b" else a).tolist()  # bools are named as 0/1


def is_finite(w) -> bool:
    return not isinstance(w, float) or math.isfinite(w)


# -- exact references ------------------------------------------------------------------------


def ref_counts(t, p, labels, weights=None, ignore_index=None):
    """(C, C) counts over ``labels`` (Python values, that order): a pair counts when it is
    not ignored and both values are labels. Weights are summed exactly (math.fsum for floats)."""
    index = {v: k for k, v in enumerate(labels)}
    cells = {}
    for k, (a, b) in enumerate(zip(t, p)):
        if ignore_index is not None and a == ignore_index:
            continue
        if a in index and b in index:
            cells.setdefault((index[a], index[b]), []).append(1 if weights is None else weights[k])
    C = len(labels)
    out = [[0] * C for _ in range(C)]
    for (i, j), ws in cells.items():
        out[i][j] = math.fsum(ws) if any(isinstance(w, float) for w in ws) else sum(int(w) for w in ws)
    return out


def kept_values(t, p, ignore_index=None):
    """Sorted union of the values of the pairs that are not ignored."""
    return sorted({v for a, b in zip(t, p) if ignore_index is None or a != ignore_index for v in (a, b)})


def argmax_first(row):
    """Index of the first maximum; None when the row holds a NaN (invalid)."""
    if any(isinstance(v, float) and math.isnan(v) for v in row):
        return None
    best = 0
    for k, v in enumerate(row):
        if v > row[best]:
            best = k
    return best


def ref_binary(t, s, thr, weights=None):
    """[[tn, fp], [fn, tp]] predicting positive iff ``s >= thr`` (exact comparisons)."""
    out = [[0, 0], [0, 0]]
    for k, (a, v) in enumerate(zip(t, s)):
        out[int(a)][int(v >= thr)] += 1 if weights is None else weights[k]
    return out


def assert_close(got, want, scale, n):
    """Float counts: within ``n`` float64 roundings of the exact (fsum) reference, where
    ``scale`` bounds the magnitudes summed (the sum of the absolute weights)."""
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if want.size == 0 == got.size:  # [] stands for the (0, 0) matrix
        want = want.reshape(got.shape)
    assert got.shape == want.shape, (got.shape, want.shape)
    tol = (n + 1) * 2.0**-52 * scale
    assert np.all(np.abs(got - want) <= tol), (got, want, tol)
