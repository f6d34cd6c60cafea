"""Confidence intervals for the metrics of a confusion matrix, from the counts alone.

Drawing N i.i.d. (true, predicted) pairs with replacement from the evaluated pairs is the
same as drawing the matrix from a multinomial over its cells with probabilities
``cm / N``: the bootstrap never touches the predictions again, and each resample costs
work in the number of non-zero cells, not in N.

Methods
-------
``"bootstrap"`` (the default; any metric)
    For a *proportion* (below) the Wilson score interval is returned instead, and
    ``Interval.method`` says ``"wilson"``: the percentile bootstrap of a proportion
    collapses to a point when the observed value is 0 or 1 (20 positives all found gives
    [1, 1]) and covers a true recall of 0.9 with 20 positives in only 87% of test sets at
    95%; Wilson keeps its level there (tests/test_intervals.py checks it by simulation).
    Every other metric gets the percentile bootstrap: ``n_resamples`` resamples are drawn
    from ``Multinomial(N, cm / N)``; the metric (exactly as :mod:`fastcm.metrics` defines
    it, ``zero_division`` included) is evaluated on each, and the interval runs from the
    ``(1 - level) / 2`` to the ``(1 + level) / 2`` quantile of those values (numpy's
    ``"linear"`` quantile). Resampled values that are NaN (``zero_division=np.nan``) are
    left out of the quantiles. A composite metric (a macro average, MCC, kappa) can still
    collapse when every class it reads is perfect: the interval is then a point.
``"wilson"``, ``"clopper-pearson"`` (proportions)
    Closed-form binomial intervals for ``k / m``: the Wilson score interval, and the exact
    (conservative) Clopper-Pearson interval from beta quantiles (needs scipy, imported
    only then). The proportions: per class (``average=None`` or ``"binary"``) precision,
    recall, specificity, npv, fpr, fnr and IoU (``tp / (tp + fp + fn)``); per-class F1 (and
    ``fbeta`` with ``beta=1``) as ``2 J / (1 + J)`` of the IoU ``J``'s interval (F1 is an
    increasing function of IoU); accuracy; and the ``average="micro"`` value of any of
    these, an increasing or decreasing function of the accuracy (every class's sums
    are functions of the trace), mapped from the accuracy's interval. For precision, npv
    and IoU the denominator is itself random: the interval is conditional on it, as is usual.

Undefined values: a class whose denominator is zero in the observed matrix (recall of a
class with no true sample, precision of one never predicted) gets a NaN interval; its
estimate is whatever the metric returns (``zero_division``). A NaN estimate (e.g. kappa
of an empty matrix) has a NaN interval too.

Weighted matrices: the multinomial model needs counts. A float matrix is accepted when
every entry is a non-negative whole number and is then read as frequency weights (a weight
of 3 is three i.i.d. samples); any other float matrix raises a ValueError, since the
individual weights an interval would need are not in the matrix.

Speed: a resample draws only what the metric reads (``_reads``), each exactly:

* macro/weighted recall, fnr and balanced accuracy read each class's diagonal and row sum,
    macro precision its diagonal and column sum: one multinomial over 2C groups per
    resample, vectorised in numpy (O(B * C), no compiled kernel);
* a per-class value that is not a proportion (``fbeta``, ``beta`` other than 0, 1, inf)
    reads each class's own (tp, fp, fn, tn): a multinomial over 4 groups per class, exact
    for each class's interval (numpy, O(B * C));
* what combines classes through both sums (macro F1, IoU, specificity, weighted
    precision, MCC, kappa, mean IoU) needs the joint (diagonal, row, column) sums, which
    only a draw of every non-zero cell gives: numpy's multinomial up to 2**24 resamples x
    cells (no compiled kernel), beyond it a compiled kernel on the host (a CuPy matrix
    is copied there, ``# synchronize!``) draws cells holding at least 16 counts by
    sequential binomials and the others sample by sample from an alias table, so a
    resample costs at most ~16 draws per non-zero cell however large N is;
* a callable, or a weighted kappa, gets each resampled matrix in turn (slow for large C).

Examples
--------
>>> import numpy as np
>>> from fastcm.answers.intervals import confidence_interval
>>> cm = np.array([[45, 5], [10, 40]])
>>> ci = confidence_interval(cm, "recall", method="wilson")
>>> ci.estimate.tolist()
[0.9, 0.8]
>>> ci.low.round(3).tolist(), ci.high.round(3).tolist()
([0.786, 0.67], [0.957, 0.888])
>>> ci = confidence_interval(cm, "accuracy")  # a proportion: Wilson, whatever the method
>>> bool(ci.low < 0.85 < ci.high), ci.method
(True, 'wilson')
>>> ci = confidence_interval(cm, "f1", average="macro", n_resamples=2000, random_state=0)
>>> bool(ci.low < ci.estimate < ci.high), ci.method
(True, 'bootstrap')
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
import warnings
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from ..metrics import matrix as _metrics
from ..backends.arrays import to_host

__all__ = ["METHODS", "Interval", "confidence_interval"]

METHODS = ("bootstrap", "wilson", "clopper-pearson")

#: cells with at least this many counts are drawn by one binomial each (numba's takes
#: ~70 ns, ~20 single samples from the alias table); lighter cells sample by sample
_HEAVY = 16

#: resampled (B, C) blocks are evaluated this many elements at a time (bounded temporaries)
_BLOCK = 1 << 20


@dataclass(frozen=True, eq=False)
class Interval:
    """A point estimate and its confidence interval.

    ``estimate``, ``low`` and ``high`` are floats for a scalar metric (accuracy, MCC, an
    average) and float64 arrays of one value per class for a per-class metric.

    Attributes
    ----------
    estimate : float or numpy.ndarray
        The metric on the observed matrix (as :mod:`fastcm.metrics` computes it).
    low, high : float or numpy.ndarray
        The interval's bounds; NaN where the metric is undefined (see the module notes).
    level : float
        The nominal coverage, e.g. 0.95.
    method : str
        ``"bootstrap"``, ``"wilson"`` or ``"clopper-pearson"``.

    Examples
    --------
    >>> Interval(0.8, 0.7, 0.9, 0.95, "wilson")
    Interval(estimate=0.8, low=0.7, high=0.9, level=0.95, method='wilson')
    >>> est, low, high = Interval(0.8, 0.7, 0.9, 0.95, "wilson")
    >>> high
    0.9
    """

    estimate: object
    low: object
    high: object
    level: float
    method: str

    def __iter__(self):
        """``estimate, low, high = interval``."""
        return iter((self.estimate, self.low, self.high))

    def width(self):
        """``high - low``."""
        return self.high - self.low


# -- inputs ------------------------------------------------------------------------------
def _counts_matrix(cm) -> np.ndarray:
    """``cm`` (numpy, CuPy, torch, JAX, TensorFlow, or anything with ``.compute()``) as a
    host int64 count matrix."""
    if hasattr(cm, "compute") and hasattr(cm, "labels"):
        cm = cm.compute()
    m = to_host(cm)  # synchronize! (a GPU matrix)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"Expected a square (C, C) count matrix, but got shape {tuple(m.shape)}")
    if m.dtype.kind == "b":
        return m.astype(np.int64)
    if m.dtype.kind in "iu":
        if m.size and m.min() < 0:
            raise ValueError(f"Expected non-negative counts, but the matrix holds {m.min()}")
        if m.dtype == np.uint64 and m.size and m.max() > np.iinfo(np.int64).max:
            raise ValueError("Expected counts below 2**63, but the matrix holds larger ones")
        total = int(m.sum(dtype=object)) if m.size else 0
        if total >= 2**62:
            raise ValueError(f"Expected a total count below 2**62, but the matrix holds {total}")
        return m.astype(np.int64, copy=False)
    if m.dtype.kind == "f":
        whole = np.isfinite(m).all() and (m >= 0).all() and (m == np.floor(m)).all() and (m < 2.0**53).all()
        if not whole:
            raise ValueError(
                "Confidence intervals need counts: this float (weighted) matrix holds values that are not "
                "non-negative whole numbers, and the individual sample weights an interval would need are not "
                "in the matrix. Whole-number float matrices are read as frequency weights."
            )
        return m.astype(np.int64)
    raise TypeError(f"Expected a numeric count matrix, but got dtype {m.dtype}")


def _check_options(level, method, n_resamples):
    if not isinstance(level, numbers.Real) or isinstance(level, bool) or not 0 < level < 1:
        raise ValueError(f"Expected `level` to be a number strictly between 0 and 1, but got {level!r}")
    if method not in METHODS:
        raise ValueError(f"Expected `method` to be one of {list(METHODS)}, but got {method!r}")
    if not isinstance(n_resamples, numbers.Integral) or isinstance(n_resamples, bool) or n_resamples < 1:
        raise ValueError(f"Expected `n_resamples` to be a positive int, but got {n_resamples!r}")


# -- metrics as functions of (tp, fp, fn, tn) over resamples ---------------------------------
# each takes (b, C) float64 arrays and returns (numerator, denominator), as metrics._ratio
def _fbeta_pick(beta):
    if not isinstance(beta, numbers.Real) or beta < 0:
        raise ValueError(f"Expected `beta` to be a non-negative number, but got {beta!r}")
    if beta == 0:
        return _RATES["precision"]
    if np.isposinf(beta):
        return _RATES["recall"]
    b2 = float(beta) ** 2
    return lambda tp, fp, fn, tn: ((1 + b2) * tp, b2 * (tp + fn) + (tp + fp))


_RATES = {
    "precision": lambda tp, fp, fn, tn: (tp, tp + fp),
    "recall": lambda tp, fp, fn, tn: (tp, tp + fn),
    "specificity": lambda tp, fp, fn, tn: (tn, tn + fp),
    "npv": lambda tp, fp, fn, tn: (tn, tn + fn),
    "fpr": lambda tp, fp, fn, tn: (fp, fp + tn),
    "fnr": lambda tp, fp, fn, tn: (fn, fn + tp),
    "iou": lambda tp, fp, fn, tn: (tp, tp + fp + fn),
}
#: per-class proportions k / m with a binomial k: the closed-form methods' metrics
_PROPORTIONS = ("precision", "recall", "specificity", "npv", "fpr", "fnr")
_ALIASES = {"jaccard": "iou", "tpr": "recall", "sensitivity": "recall", "tnr": "specificity", "ppv": "precision",
            "kappa": "cohen_kappa", "matthews_corrcoef": "mcc"}
_NAMES = ("accuracy", "balanced_accuracy", "cohen_kappa", "f1", "fbeta", "fnr", "fpr", "iou", "mcc", "mean_iou",
          "npv", "precision", "recall", "specificity")


def _zero_value(zero_division):
    return _metrics._check_zero_division(zero_division)


def _rate_values(num, den, average, zero_division, support):
    """Per-resample values of a ratio metric: ``num``, ``den``, ``support`` are (b, C)."""
    zd = _zero_value(zero_division)
    with np.errstate(divide="ignore", invalid="ignore"):
        if average == "micro":
            n, d = num.sum(axis=1), den.sum(axis=1)
            return np.where(d == 0, zd, n / np.where(d == 0, 1, d))
        if average == "binary":
            num, den = num[:, 1], den[:, 1]
        per_class = np.where(den == 0, zd, num / np.where(den == 0, 1, den))
        if average in (None, "binary"):
            return per_class
        keep = ~np.isnan(per_class)
        if average == "weighted":
            w = np.where(keep, support, 0.0)
            wsum = w.sum(axis=1)
            weighted = (np.where(keep, per_class, 0.0) * w).sum(axis=1)
            count = keep.sum(axis=1)
            plain = np.where(keep, per_class, 0.0).sum(axis=1) / np.where(count == 0, 1, count)
            out = np.where(wsum != 0, weighted / np.where(wsum == 0, 1, wsum), plain)
        else:
            count = keep.sum(axis=1)
            out = np.where(keep, per_class, 0.0).sum(axis=1) / np.where(count == 0, 1, count)
        return np.where(keep.any(axis=1), out, np.nan)


def _rate(pick):
    def values(tp, fp, fn, tn, n, average=None, zero_division="warn"):
        num, den = pick(tp, fp, fn, tn)
        return _rate_values(num, den, average, zero_division, tp + fn)

    def undefined(tp, fp, fn, tn, n, average=None, zero_division="warn"):
        num, den = pick(tp, fp, fn, tn)
        if average == "micro":
            return den.sum(axis=1) == 0
        if average == "binary":
            return den[:, 1] == 0
        return den == 0 if average is None else None

    return values, undefined


def _accuracy(tp, fp, fn, tn, n):
    return tp.sum(axis=1) / n if n else np.zeros(tp.shape[0])


def _balanced_accuracy(tp, fp, fn, tn, n, adjusted=False):
    true = tp + fn
    present = true != 0
    count = present.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.where(present, tp / np.where(present, true, 1), 0.0).sum(axis=1) / count
        if adjusted:
            chance = 1 / count
            score = (score - chance) / (1 - chance)
    return score


def _mean_iou(tp, fp, fn, tn, n, ignore_absent=True):
    return _rate_values(tp, tp + fp + fn, "macro", np.nan if ignore_absent else 0.0, None)


def _mcc(tp, fp, fn, tn, n):
    t_sum, p_sum = tp + fn, tp + fp
    cov_ytyp = tp.sum(axis=1) * n - (t_sum * p_sum).sum(axis=1)
    cov_ypyp = n * n - (p_sum * p_sum).sum(axis=1)
    cov_ytyt = n * n - (t_sum * t_sum).sum(axis=1)
    denom = cov_ypyp * cov_ytyt
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denom == 0, 0.0, cov_ytyp / np.sqrt(np.where(denom == 0, 1, denom)))


def _kappa(tp, fp, fn, tn, n, weights=None, replace_undefined_by=np.nan):
    if weights is not None:
        raise _NeedsMatrices
    w_obs = n - tp.sum(axis=1)
    w_exp = n * n - ((tp + fp) * (tp + fn)).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (w_exp - n * w_obs) / np.where(w_exp == 0, 1, w_exp)
    return np.where((w_exp == 0) | (n == 0), replace_undefined_by, out)


class _NeedsMatrices(Exception):
    """This metric (with these options) is not a function of the per-class sums."""


def _fbeta(tp, fp, fn, tn, n, beta, average=None, zero_division="warn"):
    return _rate(_fbeta_pick(beta))[0](tp, fp, fn, tn, n, average, zero_division)


def _fbeta_undefined(tp, fp, fn, tn, n, beta, average=None, zero_division="warn"):
    return _rate(_fbeta_pick(beta))[1](tp, fp, fn, tn, n, average, zero_division)


_FAST = {name: _rate(pick) for name, pick in _RATES.items()}
_FAST["fbeta"] = (_fbeta, _fbeta_undefined)
_FAST["f1"] = (lambda *a, **k: _fbeta(*a, beta=1.0, **k), lambda *a, **k: _fbeta_undefined(*a, beta=1.0, **k))
_FAST["accuracy"] = (_accuracy, None)
_FAST["balanced_accuracy"] = (_balanced_accuracy, None)
_FAST["mean_iou"] = (_mean_iou, None)
_FAST["mcc"] = (_mcc, None)
_FAST["cohen_kappa"] = (_kappa, None)


def _resolve(metric):
    """``(name, metric function, fast evaluators or None)`` for a name or a callable."""
    if callable(metric):
        return getattr(metric, "__name__", "metric"), metric, None
    if isinstance(metric, str):
        name = _ALIASES.get(metric, metric)
        if name in _NAMES:
            return name, getattr(_metrics, name), _FAST[name]
    raise ValueError(
        f"Expected `metric` to be a callable of a count matrix or one of {sorted(_NAMES + tuple(_ALIASES))}, "
        f"but got {metric!r}"
    )


# -- the resampling kernel ----------------------------------------------------------------------
def _draw_loop(seeds, n, h_row, h_col, h_cond, l_row, l_col, l_diag, l_prob, l_alias, d, R, S):
    """Per resample b: diagonal, row and column sums of a Multinomial(n, cells) draw.

    Heavy cells by sequential conditional binomials (numba's generator, reseeded with the
    resample's seed), what is left sample by sample from the light cells' alias table
    (splitmix64 from the same seed), so a resample does not depend on the thread that drew it.
    """
    k_light = l_row.shape[0]
    golden = np.uint64(0x9E3779B97F4A7C15)
    m1 = np.uint64(0xBF58476D1CE4E5B9)
    m2 = np.uint64(0x94D049BB133111EB)
    for b in range(seeds.shape[0]):
        left = n
        if h_row.shape[0]:
            np.random.seed(seeds[b])
        for h in range(h_row.shape[0]):
            if left == 0:
                break
            p = h_cond[h]
            x = left if p >= 1.0 else np.random.binomial(left, p)
            left -= x
            i = h_row[h]
            j = h_col[h]
            R[b, i] += x
            S[b, j] += x
            if i == j:
                d[b, i] += x
        if k_light == 0:
            continue
        state = np.uint64(seeds[b]) * m2
        for _ in range(left):
            state += golden
            z = state
            z = (z ^ (z >> np.uint64(30))) * m1
            z = (z ^ (z >> np.uint64(27))) * m2
            z = z ^ (z >> np.uint64(31))
            u = (z >> np.uint64(11)) * (k_light / 9007199254740992.0)  # uniform in [0, k_light)
            k = min(int(u), k_light - 1)
            k = l_alias[k] if u - k >= l_prob[k] else k  # a select, not a branch: the test is a coin flip
            i = l_row[k]
            R[b, i] += 1
            S[b, l_col[k]] += 1
            d[b, i] += l_diag[k]


def _alias_loop(p, prob, alias, small, large):
    """Vose's alias table for probabilities ``p`` (summing to 1)."""
    k = p.shape[0]
    ns = 0
    nl = 0
    scaled = p * k
    for i in range(k):
        if scaled[i] < 1.0:
            small[ns] = i
            ns += 1
        else:
            large[nl] = i
            nl += 1
    while ns > 0 and nl > 0:
        ns -= 1
        s = small[ns]
        nl -= 1
        g = large[nl]
        prob[s] = scaled[s]
        alias[s] = g
        scaled[g] = scaled[g] + scaled[s] - 1.0
        if scaled[g] < 1.0:
            small[ns] = g
            ns += 1
        else:
            large[nl] = g
            nl += 1
    for i in range(nl):
        prob[large[i]] = 1.0
        alias[large[i]] = large[i]
    for i in range(ns):  # rounding leftovers
        prob[small[i]] = 1.0
        alias[small[i]] = small[i]


@functools.cache
def _kernels():
    from ..backends.numba_cpu import _jit

    return _jit, _jit.jit(_draw_loop), _jit.jit(_alias_loop)


#: at most this many resamples x non-zero cells are drawn by numpy's multinomial (no
#: compiled kernel, so a first call compiles nothing); more by the numba kernel below
_NUMPY_CELLS = 1 << 24


def _resample_sums_numpy(m, rows, cols, counts, n, n_resamples, rng):
    """:func:`_resample_sums` by numpy's multinomial over the non-zero cells, summed by row,
    column and diagonal with ``reduceat`` (cells grouped by row, then by column)."""
    c = m.shape[0]
    dtype = np.int32 if n < 2**31 else np.int64
    draws = rng.multinomial(n, counts / n, size=n_resamples).astype(dtype, copy=False)  # (B, k)
    d, R, S = (np.zeros((n_resamples, c), dtype) for _ in range(3))
    for index, out in ((rows, R), (cols, S)):
        order = np.argsort(index, kind="stable")
        keys = index[order]
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        out[:, keys[starts]] = np.add.reduceat(draws[:, order], starts, axis=1)
    diagonal = np.flatnonzero(rows == cols)
    d[:, rows[diagonal]] = draws[:, diagonal]
    return d, R, S


def _resample_sums(m, n_resamples, rng):
    """(d, R, S): (B, C) diagonal, row sums and column sums of B multinomial resamples of ``m``."""
    c = m.shape[0]
    n = int(m.sum())
    rows, cols = np.nonzero(m)
    counts = m[rows, cols]
    if n and n_resamples * counts.size <= _NUMPY_CELLS and n < 2**62:
        return _resample_sums_numpy(m, rows, cols, counts, n, n_resamples, rng)
    jit, draw, alias_table = _kernels()
    heavy = counts >= _HEAVY
    order = np.argsort(-counts[heavy], kind="stable")
    h_row, h_col, h_count = rows[heavy][order], cols[heavy][order], counts[heavy][order]
    before = np.concatenate([[0], np.cumsum(h_count)[:-1]])
    h_cond = h_count / np.maximum(n - before, 1).astype(np.float64)  # exact counts, one rounding each
    l_row, l_col, l_count = rows[~heavy], cols[~heavy], counts[~heavy]
    if l_count.size == 0 and h_cond.size:
        h_cond[-1] = 1.0
    k = l_count.size
    prob, alias = np.ones(k), np.arange(k, dtype=np.int64)
    if k:
        alias_table(l_count / l_count.sum(), prob, alias, np.empty(k, np.int64), np.empty(k, np.int64))
    dtype = np.int32 if n < 2**31 else np.int64
    d, R, S = (np.zeros((n_resamples, c), dtype) for _ in range(3))
    seeds = rng.integers(0, 2**32, size=n_resamples, dtype=np.int64)
    args = (np.int64(n), h_row.astype(np.int64), h_col.astype(np.int64), h_cond, l_row.astype(np.int64),
            l_col.astype(np.int64), (l_row == l_col).astype(d.dtype), prob, alias)

    def task(a, b):
        if b > a:
            draw(seeds[a:b], *args, d[a:b], R[a:b], S[a:b])

    parts = max(1, min(jit.num_threads(), n_resamples // 64))
    jit.run_parallel(task, jit.split(n_resamples, parts))
    return d, R, S


# -- quantiles ------------------------------------------------------------------------------------
def _percentiles(values, level):
    """The percentile interval of ``values`` (B,) or (B, C) over axis 0, NaN values left out."""
    q = [(1 - level) / 2, (1 + level) / 2]
    nan = np.isnan(values)
    if values.ndim == 1:
        v = values[~nan]
        if v.size == 0:
            return np.nan, np.nan
        low, high = np.quantile(v, q)
        return float(low), float(high)
    low, high = np.full(values.shape[1], np.nan), np.full(values.shape[1], np.nan)
    with_nan = nan.any(axis=0)
    clean = ~with_nan
    if clean.any():
        # one contiguous row per class: partitioning along a strided axis is ~3x slower
        rows = np.ascontiguousarray(values.T[clean])
        low[clean], high[clean] = np.quantile(rows, q, axis=1)
    for j in np.flatnonzero(with_nan):
        v = values[~nan[:, j], j]
        if v.size:
            low[j], high[j] = np.quantile(v, q)
    return low, high


# -- methods ----------------------------------------------------------------------------------------
def _split_kwargs(fn, kwargs):
    """Keyword arguments ``fn`` accepts; a TypeError names any other."""
    params = inspect.signature(fn).parameters
    bad = [k for k in kwargs if k not in params]
    if bad:
        raise TypeError(f"{fn.__name__}() got unexpected keyword argument(s) {bad}")
    return kwargs


def _bootstrap(m, name, fn, fast, level, n_resamples, rng, kwargs):
    estimate = fn(m, **kwargs)
    estimate = np.asarray(estimate, dtype=np.float64) if np.ndim(estimate) else float(estimate)
    values = None
    if fast is not None:
        values_fn, undefined_fn = fast
        try:
            reads = _reads(name, kwargs.get("average"), joint=False)
            values = _fast_values(m, values_fn, n_resamples, rng, kwargs, reads)
        except _NeedsMatrices:
            values = None
    if values is None:
        values = _matrix_values(m, fn, n_resamples, rng, kwargs)
        undefined = None
    else:
        obs = _observed_sums(m)
        undefined = undefined_fn(*obs, **kwargs) if undefined_fn is not None else None
        if undefined is not None:
            undefined = undefined[0]
    low, high = _percentiles(values, level)
    if np.ndim(estimate):
        low, high = np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
        bad = np.isnan(estimate) if undefined is None else (undefined | np.isnan(estimate))
        low, high = np.where(bad, np.nan, low), np.where(bad, np.nan, high)
    elif math.isnan(estimate) or (undefined is not None and bool(undefined)):
        low, high = math.nan, math.nan
    return Interval(estimate, low, high, float(level), "bootstrap")


def _observed_sums(m):
    x = m.astype(np.float64)
    tp = np.diagonal(x).copy()
    pred, true = x.sum(axis=0), x.sum(axis=1)
    fp, fn = pred - tp, true - tp
    n = float(true.sum())
    return tp[None], fp[None], fn[None], (n - tp - fp - fn)[None], n


def _reads(name, average, joint):
    """What a metric reads of a resample, so that only that is drawn.

    ``"rows"``: each class's diagonal and row sum (recall, fnr, balanced accuracy, and
    their averages), a multinomial over 2C groups; ``"cols"``: diagonal and column sum
    (precision, and its macro average); ``"classes"``: each class's own (tp, fp, fn, tn),
    a multinomial over 4 groups per class, exact for per-class values but not for a
    combination across classes (``joint``); ``"cells"``: the joint (diagonal, row, column)
    sums of the whole matrix, which only a draw of every non-zero cell gives.
    """
    if name in ("recall", "fnr", "balanced_accuracy") and average != "micro":
        return "rows"
    if name == "precision" and average in (None, "binary", "macro"):
        return "cols"
    if average in (None, "binary") and not joint and name in _FAST and _FAST[name][1] is not None:
        return "classes"
    return "cells"


def _draw_groups(counts, n, size, rng):
    """(size, G) draws of Multinomial(n, counts / n) over G groups; empty groups stay 0."""
    out = np.zeros((size, counts.size), dtype=np.int64)
    nz = np.flatnonzero(counts)
    if nz.size and n:
        out[:, nz] = rng.multinomial(n, counts[nz] / n, size=size)
    return out


def _resampled_blocks(m, reads, n_resamples, rng):
    """Blocks of (tp, fp, fn, tn) float64 (b, C) arrays of resamples; what ``reads`` does not
    draw is NaN (the metric does not read it)."""
    c = m.shape[0]
    n = int(m.sum())
    tp0 = np.diagonal(m).astype(np.int64)
    true0, pred0 = m.sum(axis=1, dtype=np.int64), m.sum(axis=0, dtype=np.int64)
    step = max(1, _BLOCK // max(1, 4 * c))
    if reads == "cells":
        d, R, S = _resample_sums(m, n_resamples, rng)
    for a in range(0, n_resamples, step):
        b = min(step, n_resamples - a)
        nan = np.full((b, c), np.nan)
        if reads == "cells":
            tp, true, pred = (x[a:a + b].astype(np.float64) for x in (d, R, S))
            yield tp, pred - tp, true - tp, n - true - pred + tp
        elif reads in ("rows", "cols"):
            other = (true0 if reads == "rows" else pred0) - tp0
            g = _draw_groups(np.concatenate([tp0, other]), n, b, rng).astype(np.float64)
            tp, off = g[:, :c], g[:, c:]
            yield (tp, nan, off, nan) if reads == "rows" else (tp, off, nan, nan)
        else:  # each class's (tp, fp, fn, tn) on its own: the marginal of every class is exact
            fp0, fn0 = pred0 - tp0, true0 - tp0
            groups = np.stack([tp0, fp0, fn0, n - tp0 - fp0 - fn0], axis=1) / max(n, 1)
            g = rng.multinomial(n, groups, size=(b, c)).astype(np.float64) if n else np.zeros((b, c, 4))
            yield g[..., 0], g[..., 1], g[..., 2], g[..., 3]


def _fast_values(m, values_fn, n_resamples, rng, kwargs, reads="cells"):
    """The metric on every resample, from the per-class sums ``reads`` draws; (B,) or (B, C)."""
    n = float(m.sum())
    # a weighted kappa raises _NeedsMatrices here, before anything is drawn
    values_fn(*_observed_sums(m)[:4], n, **kwargs)
    out = None
    a = 0
    for tp, fp, fn, tn in _resampled_blocks(m, reads, n_resamples, rng):
        v = values_fn(tp, fp, fn, tn, n, **kwargs)
        if out is None:
            out = np.empty((n_resamples,) + v.shape[1:])
        out[a:a + tp.shape[0]] = v
        a += tp.shape[0]
    return out


def _matrix_values(m, fn, n_resamples, rng, kwargs):
    """The metric on every resampled matrix, one call each (callables, weighted kappa)."""
    n = int(m.sum())
    flat = m.ravel()
    cells = np.flatnonzero(flat)
    out = []
    if n == 0:
        draws = np.zeros((n_resamples, 0), dtype=np.int64)
    else:
        draws = rng.multinomial(n, flat[cells] / n, size=n_resamples)
    resampled = np.zeros(flat.size, dtype=np.int64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zero_division warnings of single resamples
        for row in draws:
            resampled[cells] = row
            out.append(np.asarray(fn(resampled.reshape(m.shape), **kwargs), dtype=np.float64))
    return np.stack(out)


def _closed_name(name, kwargs):
    """The proportion a closed-form interval is built on, or None: per-class proportions,
    F1 (a monotone function of IoU, itself a proportion), and accuracy; ``average="micro"``
    of any of them is a monotone function of the accuracy."""
    if name == "fbeta":
        beta = kwargs.get("beta")
        if isinstance(beta, numbers.Real) and not isinstance(beta, bool):
            name = {0: "precision", 1: "f1"}.get(beta, "recall" if np.isposinf(beta) else None)
        else:
            name = None
    if name == "accuracy":
        return name
    if name in _PROPORTIONS + ("iou", "f1") and kwargs.get("average") in (None, "binary", "micro"):
        return name
    return None


def _proportion_counts(m, name, kwargs):
    """(k, m, scalar, to_metric) of a closed-form interval: per class, class 1
    (``average="binary"``) or scalar; ``to_metric`` maps bounds of the proportion ``k / m``
    to bounds of the metric (an increasing or decreasing function)."""
    closed = _closed_name(name, kwargs)
    if closed is None:
        raise ValueError(
            f"Closed-form intervals exist for {list(_PROPORTIONS) + ['iou', 'f1', 'accuracy']} (proportions k / m, "
            f"and F1 through IoU) per class or micro-averaged, not for {name!r} with {kwargs}: use method='bootstrap'"
        )
    average = kwargs.get("average")
    if closed == "accuracy" or average == "micro":
        trace, n = float(np.trace(m)), float(m.sum())
        k, den = np.array([trace]), np.array([n])
        if closed == "accuracy":
            return k, den, True, None
        values_fn = _FAST[name][0]
        c = m.shape[0]

        def micro(p):  # the micro average at accuracy p: every class's sums are functions of the trace
            t = (p * n)[:, None]
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return values_fn(t, n - t, n - t, (c - 2) * n + t, n, **kwargs)

        return k, den, True, micro
    tp, fp, fn, tn, _ = _observed_sums(m)
    pick = _RATES["iou" if closed == "f1" else closed]
    k, den = (a[0] for a in pick(tp, fp, fn, tn))
    to_metric = (lambda j: 2 * j / (1 + j)) if closed == "f1" else None
    if average == "binary":
        return k[1:], den[1:], True, to_metric
    return k, den, False, to_metric


def _z(level):
    return NormalDist().inv_cdf((1 + level) / 2)


def _wilson(k, m, level):
    z = _z(level)
    z2 = z * z
    with np.errstate(divide="ignore", invalid="ignore"):
        center = (k + z2 / 2) / (m + z2)
        half = z / (m + z2) * np.sqrt(k * (m - k) / m + z2 / 4)
    return np.clip(center - half, 0, 1), np.clip(center + half, 0, 1)


def _clopper_pearson(k, m, level):
    try:
        from scipy.stats import beta
    except ImportError:
        raise ImportError("method='clopper-pearson' needs scipy (its beta quantiles): pip install scipy, "
                          "or use method='wilson'") from None
    alpha = 1 - level
    with np.errstate(divide="ignore", invalid="ignore"):
        low = np.where(k == 0, 0.0, beta.ppf(alpha / 2, k, m - k + 1))
        high = np.where(k == m, 1.0, beta.ppf(1 - alpha / 2, k + 1, m - k))
    return low, high


def _closed_form(m, name, fn, level, method, kwargs):
    estimate = fn(m, **kwargs)
    k, den, scalar, to_metric = _proportion_counts(m, name, kwargs)
    low, high = (_wilson if method == "wilson" else _clopper_pearson)(k, den, level)
    if to_metric is not None:
        low, high = to_metric(low), to_metric(high)
        low, high = np.minimum(low, high), np.maximum(low, high)
    undefined = den == 0
    low, high = np.where(undefined, np.nan, low), np.where(undefined, np.nan, high)
    if scalar:
        return Interval(float(estimate), float(low[0]), float(high[0]), float(level), method)
    return Interval(np.asarray(estimate, dtype=np.float64), low, high, float(level), method)


def confidence_interval(cm, metric, *, level=0.95, method="bootstrap", n_resamples=10_000, random_state=None,
                        **metric_kwargs):
    """A metric of a confusion matrix with its confidence interval, from the counts alone.

    Parameters
    ----------
    cm : array_like of shape (C, C) or ConfusionMatrix
        Counts, rows = true class (numpy, CuPy, or anything with ``.compute()``). Integer;
        a float matrix only when it holds whole numbers (read as frequency weights).
    metric : str or callable
        A name of a :mod:`fastcm.metrics` function ("accuracy", "precision", "recall",
        "f1", "fbeta" (``beta=``), "specificity", "npv", "fpr", "fnr", "iou"/"jaccard",
        "mean_iou", "balanced_accuracy", "mcc", "cohen_kappa"), or a function of a count
        matrix (bootstrap only; called once per resample).
    level : float, default 0.95
        Nominal coverage, strictly between 0 and 1.
    method : {"bootstrap", "wilson", "clopper-pearson"}
        Percentile bootstrap over multinomial resamples of the matrix (a proportion gets
        the Wilson interval instead, and ``method`` of the result says so), or a
        closed-form binomial interval (proportions only); see the module notes.
    n_resamples : int, default 10_000
        Bootstrap resamples B.
    random_state : None, int, numpy.random.SeedSequence or numpy.random.Generator
        Seeds the bootstrap; the same seed gives the same interval.
    **metric_kwargs
        Passed to the metric (``average=``, ``zero_division=``, ``beta=``, ``weights=``).

    Returns
    -------
    Interval
        ``estimate``, ``low``, ``high`` (arrays of one value per class for a per-class
        metric), ``level``, ``method`` (the method used). NaN bounds where the metric is
        undefined.

    Raises
    ------
    ValueError
        An unknown metric or method, a closed-form method for a metric that is not a
        proportion, or a weighted matrix that does not hold whole numbers.
    ImportError
        ``method="clopper-pearson"`` without scipy.

    Examples
    --------
    >>> import numpy as np
    >>> cm = np.array([[45, 5], [10, 40]])
    >>> ci = confidence_interval(cm, "f1", average="macro", random_state=0)
    >>> round(ci.estimate, 4), bool(ci.low < ci.estimate < ci.high)
    (0.8496, True)
    >>> ci = confidence_interval(cm, "precision", method="clopper-pearson")
    >>> ci.low.round(3).tolist()
    [0.691, 0.759]
    """
    _check_options(level, method, n_resamples)
    name, fn, fast = _resolve(metric)
    m = _counts_matrix(cm)
    if fast is not None:
        _split_kwargs(fn, metric_kwargs)
    if method == "bootstrap" and fast is not None and _closed_name(name, metric_kwargs) is not None:
        # a proportion: the percentile bootstrap collapses to a point at 0 or 1 and under-covers
        # at small counts; the Wilson score interval keeps its level there (no draw needed)
        return _closed_form(m, name, fn, level, "wilson", metric_kwargs)
    if method == "bootstrap":
        rng = np.random.default_rng(random_state)
        return _bootstrap(m, name, fn, fast, level, n_resamples, rng, metric_kwargs)
    if fast is None:
        raise ValueError(f"method={method!r} needs a named proportion metric, not a callable: use method='bootstrap'")
    return _closed_form(m, name, fn, level, method, metric_kwargs)
