"""Entry points of the numba backend for threshold sweeps and exact curves (see ``numpy_ref``).

``threshold_counts`` fills one private histogram per thread (rows split evenly) and sums
them; evenly spaced thresholds find their bucket by arithmetic plus an exact correction
step, any other sorted set by binary search. ``score_groups`` splits the scores by truth,
sorts both halves on two threads (``np.sort`` releases the GIL) and merges them from the
top in one compiled pass: no argsort and no gathers for unweighted data.
"""

from __future__ import annotations

import numpy as np

from . import thresholds_kernels as kernels
from ._jit import MIN_PARALLEL, jit, num_threads, pool, run_parallel, split

_threshold_hist = jit(kernels.threshold_hist)
_split_scores = jit(kernels.split_scores)
_merge_groups = jit(kernels.merge_groups)

_NO_WEIGHTS = np.empty(0, dtype=np.float64)


def _accumulator_dtype(weights):
    return np.int64 if weights is None or weights.dtype.kind in "biu" else np.float64


def _combine(results):
    n_bad = sum(int(r[0]) for r in results)
    firsts = [int(r[1]) for r in results if r[1] >= 0]
    return np.array([n_bad, min(firsts) if firsts else -1], dtype=np.int64)


def _numeric(a):
    """numba has no half or bool arithmetic: widen float16 (exactly) and view bool as uint8."""
    if a.dtype == np.float16:
        return a.astype(np.float32)
    if a.dtype == np.bool_:
        return a.view(np.uint8)
    return a


def _uniform(thr):
    """(is_uniform, lo, 1 / step): close enough to ``linspace`` that the guessed bucket is off by at most ~1."""
    T = thr.shape[0]
    if T < 2 or not thr[-1] > thr[0]:
        return False, 0.0, 0.0
    lo, hi = float(thr[0]), float(thr[-1])
    step = (hi - lo) / (T - 1)
    if not np.isfinite(step) or step <= 0:
        return False, 0.0, 0.0
    if np.max(np.abs(thr - np.linspace(lo, hi, T))) > 0.25 * step:
        return False, 0.0, 0.0
    return True, lo, 1.0 / step


def threshold_counts(t, s, thresholds, *, weights=None):
    thr = np.ascontiguousarray(thresholds, dtype=np.float64)
    T = thr.shape[0]
    s2 = _numeric(s.reshape(s.shape[0], 1) if s.ndim == 1 else s)
    N, K = s2.shape
    ovr = s.ndim == 2 and t.ndim == 1
    t2 = _numeric(t.reshape(N, 1) if t.ndim == 1 else t)
    w = _NO_WEIGHTS if weights is None else _numeric(weights)
    uniform, lo, inv_step = _uniform(thr)
    size = K * (T + 1) * 2
    dtype = _accumulator_dtype(weights)
    elements = N * K
    if elements < 2 * MIN_PARALLEL:
        ranges = [(0, N)]
    else:
        ranges = split(N, min(num_threads(), max(1, elements // MIN_PARALLEL)))
    outs = [np.zeros(size, dtype=dtype) for _ in ranges]
    index = {r: k for k, r in enumerate(ranges)}

    def task(a, b):
        return _threshold_hist(t2, s2, w, thr, uniform, lo, inv_step, ovr, outs[index[(a, b)]], a, b)

    results = run_parallel(task, ranges)
    hist = outs[0]
    for o in outs[1:]:
        hist += o
    return hist.reshape(K, T + 1, 2), _combine(results)


def _buffer_dtype(s):
    return np.float32 if s.dtype in (np.float16, np.float32) else np.float64


def score_groups(t, s, *, weights=None, positive=None):
    s1 = _numeric(s)
    t1 = _numeric(t)
    use_positive = positive is not None
    pos_value = positive if use_positive else 0
    if use_positive and t1.dtype.kind == "f":
        pos_value = float(positive)
    elif use_positive:
        pos_value = int(positive)
    w = _NO_WEIGHTS if weights is None else _numeric(weights)
    dt = _buffer_dtype(s)
    empty, wempty = np.empty(0, dtype=dt), _NO_WEIGHTS
    n_pos, n_neg, n_bad, first = _split_scores(t1, s1, w, pos_value, use_positive, empty, empty, wempty, wempty)
    invalid = np.array([n_bad, first], dtype=np.int64)
    if n_bad:
        e = np.empty(0, dtype=np.float64)
        return e, e.copy(), e.copy(), invalid
    pos, neg = np.empty(n_pos, dtype=dt), np.empty(n_neg, dtype=dt)
    wt = np.float64 if weights is None or weights.dtype.kind == "f" else np.int64
    wpos = np.empty(n_pos if weights is not None else 0, dtype=wt)
    wneg = np.empty(n_neg if weights is not None else 0, dtype=wt)
    _split_scores(t1, s1, w, pos_value, use_positive, pos, neg, wpos, wneg)
    if weights is None:
        _sort_both(pos, neg)
    else:
        pos, neg, wpos, wneg = _sort_weighted(pos, neg, wpos, wneg)
    d = n_pos + n_neg
    fps, tps, thr = np.empty(d), np.empty(d), np.empty(d)
    d = _merge_groups(pos, neg, wpos.astype(np.float64), wneg.astype(np.float64), fps, tps, thr)
    return fps[:d].copy(), tps[:d].copy(), thr[:d].copy(), invalid


def _sort_both(pos, neg):
    """Sort both halves in place, the smaller on a pool thread when there is enough work."""
    if pos.size + neg.size < 2 * MIN_PARALLEL or min(pos.size, neg.size) < MIN_PARALLEL or num_threads() < 2:
        pos.sort()
        neg.sort()
        return
    future = pool().submit(pos.sort)
    neg.sort()
    future.result()


def _sort_weighted(pos, neg, wpos, wneg):
    out = []
    for v, w in ((pos, wpos), (neg, wneg)):
        order = np.argsort(v, kind="stable")
        out.append((v[order], w[order]))
    return out[0][0], out[1][0], out[0][1], out[1][1]
