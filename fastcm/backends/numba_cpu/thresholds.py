"""Entry points of the numba backend for threshold sweeps and exact curves (see ``numpy_ref``).

``threshold_counts`` fills one private histogram per thread and sums them. For 1-D scores
it runs ``binary_hist``: thresholds that are exactly ``np.linspace`` output (what an int
``thresholds`` means) find their bucket by arithmetic plus one exact comparison, any other
sorted set by a branch-free binary search; rows are handed out in chunks, so a thread on
a busy core does less of the work. 2-D layouts (one-vs-rest, multilabel) use
``threshold_hist``. ``score_groups`` splits the scores by truth, sorts both halves on two
threads (``np.sort`` releases the GIL) and merges them from the top in one compiled pass:
no argsort and no gathers for unweighted data.
"""

from __future__ import annotations

import itertools

import numpy as np

from ..arrays import count_dtype
from . import strategy
from . import thresholds_kernels as kernels
from ._jit import MIN_PARALLEL, jit, needs_compile, num_threads, pool, run_parallel, split, tuned

_threshold_hist, _binary_hist, _partition_scores, _rank_sum, _merge_groups, _drop_collinear = (
    jit(getattr(kernels, name))
    for name in ("threshold_hist", "binary_hist", "partition_scores", "rank_sum", "merge_groups", "drop_collinear")
)

_NO_WEIGHTS = np.empty(0, dtype=np.float64)


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


def _truth(t):
    """Integer truth in one of the compiled label dtypes (values kept: they are compared
    with 0, 1 or a class index); floats as they are (float16 widened)."""
    if t.dtype.kind in "biu":
        return strategy.labels_as(t, strategy.label_dtype(t.dtype))
    return _numeric(t)


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


def linspace_params(thr):
    """``(lo, hi, step, 1 / step)`` when ``thr`` is exactly ``np.linspace(lo, hi, T)``, else None.

    ``np.linspace`` computes ``j * step + lo`` with ``step = (hi - lo) / (T - 1)`` and sets
    the last value to ``hi``; the kernel recomputes the same expression, so the check is
    equality, not closeness. The range must also be wide enough against the magnitudes
    (``max(|lo|, |hi|) / step <= 2**40``) that rounding moves the arithmetic guess by far
    less than the half step the kernel allows for. One threshold always qualifies.

    Examples
    --------
    >>> linspace_params(np.linspace(0, 1, 5))
    (0.0, 1.0, 0.25, 4.0)
    >>> linspace_params(np.array([0.0, 0.3, 1.0])) is None
    True
    """
    T = thr.shape[0]
    if T == 1:
        return float(thr[0]), float(thr[0]), 1.0, 1.0
    lo, hi = thr[0], thr[-1]
    if T > 2**30 or not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
        return None
    step = (hi - lo) / (T - 1)
    if not (np.isfinite(step) and step > 0 and np.isfinite(1.0 / step)) or max(abs(lo), abs(hi)) / step > 2.0**40:
        return None
    expect = np.arange(T, dtype=np.float64) * step + lo
    expect[-1] = hi
    if not np.array_equal(expect, thr):
        return None
    return float(lo), float(hi), float(step), float(1.0 / step)


#: interleaved histogram copies in the unweighted binary sweep (see ``binary_hist``)
COPIES = 4
#: beyond this many thresholds the copies would not stay in cache: use one
MAX_COPIES_T = 4096
#: rows converted at a time for dtypes numba cannot read (float16)
_CONVERT = 1 << 16


def _chunked(n, workers):
    """Chunks of rows handed out on demand: ~8 per worker, at least ``MIN_PARALLEL`` rows each."""
    size = max(MIN_PARALLEL, -(-n // (8 * workers)))
    return [(a, min(n, a + size)) for a in range(0, n, size)] or [(0, 0)]


def _binary_counts(t, s, thr, weights):
    """(1, T + 1, 2) histogram and ``[n_invalid, first]`` for 1-D scores."""
    T = thr.shape[0]
    params = linspace_params(thr)
    linspace = params is not None
    lo, hi, step, inv_step = params if linspace else (0.0, 0.0, 0.0, 0.0)
    bias = lo * inv_step + 0.5 if linspace else 0.0
    t1 = _truth(t)
    w = _NO_WEIGHTS if weights is None else _numeric(weights)
    copies = COPIES if weights is None and T <= MAX_COPIES_T else 1
    width = (T + 2) * 2
    dtype = count_dtype(weights)
    N = s.shape[0]
    workers = 1 if N < 2 * MIN_PARALLEL else num_threads()
    chunks = _chunked(N, workers)
    outs = [np.zeros(copies * width, dtype=dtype) for _ in range(min(workers, len(chunks)))]
    half = s.dtype == np.float16 or t1.dtype == np.float16
    if weights is None and not half:
        args = (t1, s, w, thr, linspace, lo, hi, step, inv_step, bias, copies, np.zeros(1, dtype), 0, 0)
        if needs_compile(_binary_hist, args):
            # the first tier: numpy's exact counts (integers: the same to the last bit) in
            # bounded blocks, while another process compiles and caches the kernel
            compiler = (__name__, "compile_binary_hist", t1.dtype.str, s.dtype.str, np.dtype(dtype).str)
            tuned(_binary_hist, args, ("binary_hist", t1.dtype.str, s.dtype.str), compiler=compiler)
            return _binary_counts_numpy(t1, s, thr)

    def run(out, a, b):
        if not half:
            return _binary_hist(t1, s, w, thr, linspace, lo, hi, step, inv_step, bias, copies, out, a, b)
        n_bad, first = 0, -1
        for c in range(a, b, _CONVERT):
            d = min(b, c + _CONVERT)
            tc, sc = _numeric(t1[c:d]), _numeric(s[c:d])
            wc = w if w.size == 0 else w[c:d]
            nb, f = _binary_hist(tc, sc, wc, thr, linspace, lo, hi, step, inv_step, bias, copies, out, 0, d - c)
            if nb and first < 0:
                first = c + int(f)
            n_bad += int(nb)
        return n_bad, first

    next_chunk = itertools.count()  # next() is atomic under the GIL

    def worker(k):
        out, results = outs[k], []
        while True:
            i = next(next_chunk)
            if i >= len(chunks):
                return results
            results.append(run(out, *chunks[i]))

    per_worker = run_parallel(lambda k, _: worker(k), [(k, k + 1) for k in range(len(outs))])
    hist = outs[0]
    for o in outs[1:]:
        hist += o
    hist = hist.reshape(copies, T + 2, 2).sum(axis=0) if copies > 1 else hist.reshape(T + 2, 2)
    return hist[None, : T + 1].copy(), _combine([r for rs in per_worker for r in rs])


def compile_binary_hist(t_dtype, s_dtype, out_dtype) -> None:
    """Compile (and cache) the binary sweep for these dtypes: the compiling process's work."""
    _binary_hist(np.zeros(0, t_dtype), np.zeros(0, s_dtype), _NO_WEIGHTS, np.zeros(1), True, 0.0, 0.0, 0.0, 0.0, 0.0, 1,
                 np.zeros(1, out_dtype), 0, 0)


#: rows the numpy first tier counts at a time (bounded temporaries)
_NUMPY_BLOCK = 1 << 18


def _binary_counts_numpy(t, s, thr):
    """``_binary_counts`` of unweighted rows by the numpy reference, block by block."""
    from ..numpy_ref import thresholds as reference

    total, n_bad, first = None, 0, -1
    for a in range(0, max(s.shape[0], 1), _NUMPY_BLOCK):
        b = min(s.shape[0], a + _NUMPY_BLOCK)
        hist, invalid = reference.threshold_counts(t[a:b], s[a:b], thr)
        total = hist if total is None else total + hist
        n_bad += int(invalid[0])
        if first < 0 and invalid[1] >= 0:
            first = a + int(invalid[1])
    return total, np.array([n_bad, first], dtype=np.int64)


def threshold_counts(t, s, thresholds, *, weights=None):
    thr = np.ascontiguousarray(thresholds, dtype=np.float64)
    if s.ndim == 1:
        return _binary_counts(t, s, thr, weights)
    T = thr.shape[0]
    N, K = s.shape
    half = s.dtype == np.float16
    s = s if half else _numeric(s)  # float16 is widened block by block below
    ovr = t.ndim == 1
    t2 = _truth(t.reshape(N, 1) if t.ndim == 1 else t)
    w = _NO_WEIGHTS if weights is None else _numeric(weights)
    uniform, lo, inv_step = _uniform(thr)
    size = K * (T + 1) * 2
    dtype = count_dtype(weights)
    elements = N * K
    if elements < 2 * MIN_PARALLEL:
        ranges = [(0, N)]
    else:
        ranges = split(N, min(num_threads(), max(1, elements // MIN_PARALLEL)))
    outs = [np.zeros(size, dtype=dtype) for _ in ranges]
    index = {r: k for k, r in enumerate(ranges)}

    rows = max(1, _CONVERT // max(K, 1))

    def task(a, b):
        out = outs[index[(a, b)]]
        if not half:
            return _threshold_hist(t2, s, w, thr, uniform, lo, inv_step, ovr, out, a, b)
        # numba cannot read float16: widen (exactly) one bounded block of rows at a time
        n_bad, first = 0, -1
        for c in range(a, b, rows):
            d = min(b, c + rows)
            wc = w if w.size == 0 else w[c:d]
            nb, f = _threshold_hist(t2[c:d], s[c:d].astype(np.float32), wc, thr, uniform, lo, inv_step, ovr, out, 0, d - c)
            if nb and first < 0:
                first = c * K + int(f)
            n_bad += int(nb)
        return n_bad, first

    results = run_parallel(task, ranges)
    hist = outs[0]
    for o in outs[1:]:
        hist += o
    return hist.reshape(K, T + 1, 2), _combine(results)


def _buffer_dtype(s):
    return np.float32 if s.dtype in (np.float16, np.float32) else np.float64


def _partition(t, s, weights, positive):
    """Scores split by truth into one buffer (see ``partition_scores``), both halves sorted
    ascending: ``(pos, neg, wpos, wneg, invalid)``; weights empty when unweighted."""
    t1 = _numeric(t)
    use_positive = positive is not None
    pos_value = 0
    if use_positive:
        pos_value = float(positive) if t1.dtype.kind == "f" else int(positive)
    w = _NO_WEIGHTS if weights is None else _numeric(weights)
    N = s.shape[0]
    buf = np.empty(N, dtype=_buffer_dtype(s))
    wt = np.float64 if weights is None or weights.dtype.kind == "f" else np.int64
    wbuf = np.empty(N if weights is not None else 0, dtype=wt)
    if s.dtype == np.float16:
        n_pos, n_neg, n_bad, first = _partition_half(t1, s, w, pos_value, use_positive, buf, wbuf)
    else:
        n_pos, n_neg, n_bad, first = _partition_scores(t1, s, w, pos_value, use_positive, buf, wbuf)
    invalid = np.array([n_bad, first], dtype=np.int64)
    pos, neg = buf[:n_pos], buf[N - n_neg:]
    wpos, wneg = wbuf[:n_pos], wbuf[N - n_neg:]
    if n_bad:
        return pos, neg, wpos, wneg, invalid
    if weights is None:
        _sort_both(pos, neg)
    else:
        pos, neg, wpos, wneg = _sort_weighted(pos, neg, wpos, wneg)
    return pos, neg, wpos, wneg, invalid


def _partition_half(t, s, w, pos_value, use_positive, buf, wbuf):
    """``partition_scores`` for float16 scores, which numba cannot read: each bounded block
    of rows is widened to float32 (exactly) and partitioned into scratch buffers, whose two
    ends are copied to the fronts of ``buf``'s halves. Same outputs (the order within a
    half differs, and the halves are sorted next)."""
    N = s.shape[0]
    m_max = min(N, _CONVERT)
    scores, scratch = np.empty(m_max, dtype=np.float32), np.empty(m_max, dtype=buf.dtype)
    wscratch = np.empty(m_max if wbuf.size else 0, dtype=wbuf.dtype)
    p, q, n_bad, first = 0, N, 0, -1
    for a in range(0, N, _CONVERT):
        b = min(N, a + _CONVERT)
        m = b - a
        scores[:m] = s[a:b]
        wa = w if w.size == 0 else w[a:b]
        ws = wscratch[:m] if wbuf.size else wscratch
        n_pos, n_neg, nb, f = _partition_scores(t[a:b], scores[:m], wa, pos_value, use_positive, scratch[:m], ws)
        buf[p:p + n_pos], buf[q - n_neg:q] = scratch[:n_pos], scratch[m - n_neg:m]
        if wbuf.size:
            wbuf[p:p + n_pos], wbuf[q - n_neg:q] = ws[:n_pos], ws[m - n_neg:m]
        p, q = p + n_pos, q - n_neg
        if nb and first < 0:
            first = a + int(f)
        n_bad += int(nb)
    return p, N - q, n_bad, first


def score_groups(t, s, *, weights=None, positive=None):
    pos, neg, wpos, wneg, invalid = _partition(t, s, weights, positive)
    if invalid[0]:
        e = np.empty(0, dtype=np.float64)
        return e, e.copy(), e.copy(), invalid
    d = pos.size + neg.size
    fps, tps, thr = np.empty(d), np.empty(d), np.empty(d)
    if weights is None:
        wpos = wneg = _NO_WEIGHTS
    d = _merge_groups(pos, neg, wpos.astype(np.float64), wneg.astype(np.float64), fps, tps, thr)
    return _trim(fps, d), _trim(tps, d), _trim(thr, d), invalid


def _trim(a, d):
    """``a[:d]``; a copy when that frees most of ``a`` (pages never written cost nothing)."""
    return a[:d].copy() if d < a.size // 2 else a[:d]


def binary_auc(t, s, *, positive=None):
    """Exact ``2 * U`` (Mann-Whitney, ties half) and the class sizes, unweighted.

    Returns ``(twice_u, n_pos, n_neg, invalid)``; ``auc = twice_u / (2 * n_pos * n_neg)``.
    No curve is built: the halves are sorted and their ranks summed in one merge.

    Examples
    --------
    >>> binary_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))[:3]
    (6, 2, 2)
    """
    pos, neg, _, _, invalid = _partition(t, s, None, positive)
    if invalid[0]:
        return 0, 0, 0, invalid
    return int(_rank_sum(pos, neg)), pos.size, neg.size, invalid


def drop_intermediate(fps, tps, thr):
    """scikit-learn's ``drop_intermediate`` without temporaries: views of the kept points."""
    fps, tps, thr = (np.ascontiguousarray(a, dtype=np.float64) for a in (fps, tps, thr))
    d = _drop_collinear(fps, tps, thr)
    return _trim(fps, d), _trim(tps, d), _trim(thr, d)


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
