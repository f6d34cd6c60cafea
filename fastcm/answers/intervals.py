"""Confidence intervals for the metrics of a confusion matrix, from the counts alone.

Drawing N i.i.d. (true, predicted) pairs with replacement from the evaluated pairs is the
same as drawing the matrix from a multinomial over its cells with probabilities
``cm / N``: the bootstrap never touches the predictions again, and each resample costs
work in the number of groups it draws, not in N.

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

Sparse matrices: a 2-D scipy.sparse array or matrix, as ``confusion_matrix(..., sparse=True)``
returns, is read through its diagonal, row and column sums and its non-zero cells, never
densified; only a callable metric or a weighted kappa, which need whole matrices, densify
one, up to 4096 classes, and refuse beyond. Estimates of named metrics on a sparse matrix
come from those sums: the same formulas as on a dense one, to rounding.

Speed: a resample draws only what the metric reads, each draw exact (a multinomial, never
an approximation), by the host backend's ``multinomial_sums`` (numba: Poisson draws of the
heavy groups topped up sample by sample, or conditional binomials; numpy's multinomial
without numba, and for small draws, up to 2**20 resamples x groups, so that a first small
interval compiles nothing):

* macro/weighted recall, fnr and balanced accuracy read each class's diagonal and row sum,
    macro precision its diagonal and column sum: one multinomial over 2C groups;
* a per-class value that is not a proportion (``fbeta``, ``beta`` other than 0, 1, inf)
    reads each class's own (tp, fp, fn, rest): a multinomial over 4 groups per class, exact
    for each class's interval;
* what combines classes through both sums (macro F1, IoU, specificity, weighted
    precision, MCC, kappa, mean IoU) needs the joint (diagonal, row, column) sums, which
    only a draw of every non-zero cell gives;
* :func:`confidence_intervals` evaluates several metrics on one draw (``report(ci=)``);
* a callable, or a weighted kappa, gets each resampled matrix in turn (slow for large C).

Timings at 10 to 1,000 classes: ``python -m benchmarks --select "confidence intervals"``,
and docs/performance.md.

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

import inspect
import math
import numbers
import sys
import warnings
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from .. import backends
from ..metrics import matrix as _metrics
from ..backends.arrays import to_host

__all__ = ["METHODS", "Interval", "confidence_interval", "confidence_intervals", "percentile_interval",
           "resampled_values"]

METHODS = ("bootstrap", "wilson", "clopper-pearson")

#: resampled blocks are drawn and evaluated this many (resample, column) elements at a
#: time (bounded temporaries: ~16 MB of int64 draws)
_BLOCK = 1 << 21

#: a sparse matrix is densified (for a callable metric, a weighted kappa) up to this many classes
_DENSIFY_MAX_CLASSES = 4096


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
def _checked_counts(values) -> np.ndarray:
    """Host count values (a dense matrix, or a sparse one's stored values) as int64, or the
    ValueError / TypeError saying why they are not counts."""
    if values.dtype.kind == "b":
        return values.astype(np.int64)
    if values.dtype.kind in "iu":
        if values.size and values.min() < 0:
            raise ValueError(f"Expected non-negative counts, but the matrix holds {values.min()}")
        if values.dtype == np.uint64 and values.size and values.max() > np.iinfo(np.int64).max:
            raise ValueError("Expected counts below 2**63, but the matrix holds larger ones")
        top = int(values.max()) if values.size else 0
        # an int64 sum cannot overflow below this; past it Python's integers add exactly
        total = int(values.sum(dtype=np.int64)) if top * values.size < 2**62 else int(values.sum(dtype=object))
        if total >= 2**62:
            raise ValueError(f"Expected a total count below 2**62, but the matrix holds {total}")
        return values.astype(np.int64, copy=False)
    if values.dtype.kind == "f":
        whole = (np.isfinite(values).all() and (values >= 0).all() and (values == np.floor(values)).all()
                 and (values < 2.0**53).all())
        if not whole:
            raise ValueError(
                "Confidence intervals need counts: this float (weighted) matrix holds values that are not "
                "non-negative whole numbers, and the individual sample weights an interval would need are not "
                "in the matrix. Whole-number float matrices are read as frequency weights."
            )
        return _checked_counts(values.astype(np.int64))
    raise TypeError(f"Expected a numeric count matrix, but got dtype {values.dtype}")


def _is_scipy_sparse(a) -> bool:
    sparse = sys.modules.get("scipy.sparse")  # asked without importing scipy
    return sparse is not None and sparse.issparse(a)


class _Counts:
    """What an interval reads of a (C, C) count matrix: each class's diagonal, row and
    column sums (int64), the total, the non-zero cells, and the dense matrix when the
    caller passed one (a scipy.sparse matrix stays sparse)."""

    def __init__(self, cm):
        if hasattr(cm, "compute") and hasattr(cm, "labels"):
            cm = cm.compute()
        if _is_scipy_sparse(cm):
            if len(cm.shape) != 2 or cm.shape[0] != cm.shape[1]:
                raise ValueError(f"Expected a square (C, C) count matrix, but got shape {tuple(cm.shape)}")
            coo = cm.tocoo(copy=True)
            coo.sum_duplicates()
            values = _checked_counts(np.asarray(coo.data))
            keep = values != 0
            self._cells = (np.asarray(coo.row, dtype=np.int64)[keep], np.asarray(coo.col, dtype=np.int64)[keep],
                           values[keep])
            self.c = int(cm.shape[0])
            self.dense = None
            rows, cols, values = self._cells
            self.tp, self.true, self.pred = (np.zeros(self.c, dtype=np.int64) for _ in range(3))
            diagonal = rows == cols
            self.tp[rows[diagonal]] = values[diagonal]  # cells are unique after sum_duplicates
            np.add.at(self.true, rows, values)
            np.add.at(self.pred, cols, values)
        else:
            m = to_host(cm)  # synchronize! (a GPU matrix)
            if m.ndim != 2 or m.shape[0] != m.shape[1]:
                raise ValueError(f"Expected a square (C, C) count matrix, but got shape {tuple(m.shape)}")
            m = _checked_counts(m)
            self.c = int(m.shape[0])
            self.dense = m
            self._cells = None
            self.tp = np.diagonal(m).astype(np.int64)
            self.true, self.pred = m.sum(axis=1, dtype=np.int64), m.sum(axis=0, dtype=np.int64)
        self.n = int(self.true.sum())

    def cells(self):
        """(rows, columns, counts) of the non-zero cells."""
        if self._cells is None:
            rows, cols = np.nonzero(self.dense)
            self._cells = (rows.astype(np.int64), cols.astype(np.int64), self.dense[rows, cols])
        return self._cells

    def sums(self):
        """(tp, fp, fn, tn) as (1, C) float64 arrays, and N: the metrics' evaluators' input."""
        tp = self.tp.astype(np.float64)
        fp, fn = self.pred - self.tp, self.true - self.tp
        tn = self.n - self.tp - fp - fn
        return tp[None], fp.astype(np.float64)[None], fn.astype(np.float64)[None], tn.astype(np.float64)[None], \
            float(self.n)

    def matrix(self):
        """The dense matrix (a sparse one densified up to ``_DENSIFY_MAX_CLASSES`` classes)."""
        if self.dense is None:
            if self.c > _DENSIFY_MAX_CLASSES:
                raise ValueError(
                    f"This metric needs whole resampled matrices, and this sparse matrix has {self.c} classes "
                    f"(densified up to {_DENSIFY_MAX_CLASSES}): use a named metric, which reads only the per-class "
                    "sums and the non-zero cells"
                )
            rows, cols, values = self.cells()
            self.dense = np.zeros((self.c, self.c), dtype=np.int64)
            self.dense[rows, cols] = values
        return self.dense


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
    return _metrics.check_zero_division(zero_division)


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


# -- drawing what a metric reads ----------------------------------------------------------------
def _reads(name, average, joint):
    """What a metric reads of a resample, so that only that is drawn.

    ``"rows"``: each class's diagonal and row sum (recall, fnr, balanced accuracy, and
    their averages), a multinomial over 2C groups; ``"cols"``: diagonal and column sum
    (precision, and its macro average); ``"classes"``: each class's own (tp, fp, fn, rest),
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


def _covering(reads):
    """One draw that serves every metric of ``reads``: the common one, else every cell."""
    reads = set(reads)
    return reads.pop() if len(reads) == 1 else "cells"


def _groups(counts, reads):
    """The multinomial a ``reads`` draw makes: (group counts, segments, targets, width).

    Columns of a draw: ``[tp | fn]`` (rows), ``[tp | fp]`` (cols), ``[tp | fp | fn]``
    (classes, cells); C each.
    """
    c = counts.c
    every = np.arange(c)
    if reads in ("rows", "cols"):
        other = (counts.true if reads == "rows" else counts.pred) - counts.tp
        return np.concatenate([counts.tp, other]), np.array([0, 2 * c]), np.arange(2 * c)[:, None], 2 * c
    if reads == "classes":  # class i: (tp, fp, fn, rest) of its own multinomial over N
        fp, fn = counts.pred - counts.tp, counts.true - counts.tp
        groups = np.stack([counts.tp, fp, fn, counts.n - counts.tp - fp - fn], axis=1).ravel()
        targets = np.stack([every, c + every, 2 * c + every, np.full(c, -1)], axis=1).reshape(-1, 1)
        return groups, np.arange(0, 4 * c + 1, 4), targets, 3 * c
    rows, cols, values = counts.cells()
    diagonal = rows == cols
    # a diagonal cell is its class's tp; any other adds to its column's fp and its row's fn
    targets = np.stack([np.where(diagonal, rows, c + cols), np.where(diagonal, -1, 2 * c + rows)], axis=1)
    return values, np.array([0, values.size]), targets, 3 * c


def _work(groups):
    """A draw's cost in samples: a group costs its counts up to 16, then one binomial (the
    numba kernel's split, where a binomial costs about as much as 16 single samples)."""
    return int(np.minimum(groups, 16).sum())


def _cheaper(counts, reads):
    """``"classes"`` or ``"cells"`` for a per-class metric, whichever draws less: both give
    each class's exact (tp, fp, fn), but 4 heavy groups per class can cost more than the
    cells (a large C with few confusions, where most cells hold a count or two)."""
    if reads != "classes":
        return reads
    return min(("classes", "cells"), key=lambda r: _work(_groups(counts, r)[0]))


#: draws of at most this many resamples x groups take the numpy reference's multinomial
#: (~50-100 ms at most, and a first small interval never imports numba); larger ones the
#: host backend's kernel
_NUMPY_WORK = 1 << 20


def _sampler(work=_NUMPY_WORK + 1):
    """The ``multinomial_sums`` for ``work`` resamples x groups: the numpy reference's for
    small work, else the host backend's (numba's kernel where numba is installed). The
    choice is by size alone, so a seed gives the same draw in every process."""
    name = "numpy" if work <= _NUMPY_WORK else backends.select("auto")
    return backends.contract.entry(backends.get(name), "multinomial_sums")


def _seeds(n_resamples, rng):
    """One seed per resample, drawn up front: resample b depends on ``seeds[b]`` alone, not
    on the blocks or threads that draw it."""
    return rng.integers(0, 2**63, size=n_resamples, dtype=np.int64).astype(np.uint64)


def _resampled_blocks(counts, reads, n_resamples, rng):
    """Blocks of (tp, fp, fn, tn) float64 (b, C) arrays of resamples; what ``reads`` does
    not draw is NaN (the metric does not read it)."""
    c, n = counts.c, counts.n
    groups, segments, targets, width = _groups(counts, reads)
    seeds = _seeds(n_resamples, rng)
    draw = _sampler(n_resamples * groups.size)
    step = max(1, _BLOCK // max(1, width))
    for a in range(0, n_resamples, step):
        out = draw(groups, segments, targets, width, seeds[a:a + step]).astype(np.float64)
        tp, second = out[:, :c], out[:, c:2 * c]
        if reads in ("rows", "cols"):
            nan = np.full((out.shape[0], c), np.nan)
            yield (tp, nan, second, nan) if reads == "rows" else (tp, second, nan, nan)
        else:
            fn = out[:, 2 * c:]
            yield tp, second, fn, n - tp - second - fn


def _evaluated(counts, evaluators, n_resamples, rng, reads):
    """Each ``(values_fn, kwargs)`` of ``evaluators`` on every resample of one draw that
    reads ``reads``: a list of (B,) or (B, C) arrays."""
    n = float(counts.n)
    outs = [None] * len(evaluators)
    a = 0
    for tp, fp, fn, tn in _resampled_blocks(counts, reads, n_resamples, rng):
        for k, (values_fn, kwargs) in enumerate(evaluators):
            v = values_fn(tp, fp, fn, tn, n, **kwargs)
            if outs[k] is None:
                outs[k] = np.empty((n_resamples,) + v.shape[1:])
            outs[k][a:a + tp.shape[0]] = v
        a += tp.shape[0]
    return outs


def _matrix_values(counts, fn, n_resamples, rng, kwargs):
    """The metric on every resampled matrix, one call each (callables, weighted kappa)."""
    m = counts.matrix()
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


# -- quantiles ------------------------------------------------------------------------------------
def percentile_interval(values, level):
    """The percentile interval of resampled ``values`` at ``level``, NaN values left out.

    Parameters
    ----------
    values : array of shape (B,) or (B, C)
        Resampled values of a metric (as :func:`resampled_values` returns them).
    level : float
        Nominal coverage, strictly between 0 and 1.

    Returns
    -------
    (low, high)
        The ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles over axis 0 (numpy's
        ``"linear"``): floats for (B,), arrays of C for (B, C); NaN where every value is.

    Examples
    --------
    >>> percentile_interval(np.arange(101.0), 0.5)
    (25.0, 75.0)
    """
    values = np.asarray(values, dtype=np.float64)
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
        rows = np.ascontiguousarray(values.T[clean])  # a copy of ours: partitioned in place
        low[clean], high[clean] = np.quantile(rows, q, axis=1, overwrite_input=True)
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


def _estimate(counts, fn, fast, kwargs):
    """The metric on the observed matrix: the metric itself on a dense one; on a sparse one
    the fast evaluator on its per-class sums (no dense matrix)."""
    if counts.dense is None and fast is not None:
        try:
            with np.errstate(all="ignore"):
                return fast[0](*counts.sums(), **kwargs)[0]
        except _NeedsMatrices:
            pass
    return fn(counts.matrix(), **kwargs)


def _as_estimate(value):
    return np.asarray(value, dtype=np.float64) if np.ndim(value) else float(value)


def _fast_plan(counts, name, fast, kwargs, joint):
    """(reads, values_fn) of a named metric, or None when it needs whole matrices."""
    if fast is None:
        return None
    try:
        with np.errstate(all="ignore"):
            fast[0](*counts.sums(), **kwargs)  # a weighted kappa raises _NeedsMatrices here, before any draw
    except _NeedsMatrices:
        return None
    return _reads(name, kwargs.get("average"), joint=joint), fast[0]


def _bounded(counts, estimate, values, level, fast, kwargs, method="bootstrap"):
    """The Interval of ``estimate`` from resampled ``values``: NaN where the observed matrix
    leaves the metric undefined."""
    low, high = percentile_interval(values, level)
    undefined = None
    if fast is not None and fast[1] is not None:
        undefined = fast[1](*counts.sums(), **kwargs)
        undefined = None if undefined is None else undefined[0]
    if np.ndim(estimate):
        low, high = np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
        bad = np.isnan(estimate) if undefined is None else (undefined | np.isnan(estimate))
        low, high = np.where(bad, np.nan, low), np.where(bad, np.nan, high)
    elif math.isnan(estimate) or (undefined is not None and bool(undefined)):
        low, high = math.nan, math.nan
    return Interval(estimate, low, high, float(level), method)


def _bootstrap(counts, name, fn, fast, level, n_resamples, rng, kwargs):
    estimate = _as_estimate(_estimate(counts, fn, fast, kwargs))
    plan = _fast_plan(counts, name, fast, kwargs, joint=False)
    if plan is None:
        return _bounded(counts, estimate, _matrix_values(counts, fn, n_resamples, rng, kwargs), level, None, kwargs)
    reads, values_fn = plan
    values = _evaluated(counts, [(values_fn, kwargs)], n_resamples, rng, _cheaper(counts, reads))[0]
    return _bounded(counts, estimate, values, level, fast, kwargs)


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


def _proportion_counts(counts, name, kwargs):
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
        trace, n = float(counts.tp.sum()), float(counts.n)
        k, den = np.array([trace]), np.array([n])
        if closed == "accuracy":
            return k, den, True, None
        values_fn = _FAST[name][0]
        c = counts.c

        def micro(p):  # the micro average at accuracy p: every class's sums are functions of the trace
            t = (p * n)[:, None]
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return values_fn(t, n - t, n - t, (c - 2) * n + t, n, **kwargs)

        return k, den, True, micro
    tp, fp, fn, tn, _ = counts.sums()
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


def _closed_form(counts, name, fn, fast, level, method, kwargs):
    estimate = _estimate(counts, fn, fast, kwargs)
    k, den, scalar, to_metric = _proportion_counts(counts, name, kwargs)
    low, high = (_wilson if method == "wilson" else _clopper_pearson)(k, den, level)
    if to_metric is not None:
        low, high = to_metric(low), to_metric(high)
        low, high = np.minimum(low, high), np.maximum(low, high)
    undefined = den == 0
    low, high = np.where(undefined, np.nan, low), np.where(undefined, np.nan, high)
    if scalar:
        return Interval(float(estimate), float(low[0]), float(high[0]), float(level), method)
    return Interval(np.asarray(estimate, dtype=np.float64), low, high, float(level), method)


def _interval(counts, name, fn, fast, level, method, n_resamples, rng, kwargs):
    if method == "bootstrap" and fast is not None and _closed_name(name, kwargs) is not None:
        # a proportion: the percentile bootstrap collapses to a point at 0 or 1 and under-covers
        # at small counts; the Wilson score interval keeps its level there (no draw needed)
        return _closed_form(counts, name, fn, fast, level, "wilson", kwargs)
    if method == "bootstrap":
        return _bootstrap(counts, name, fn, fast, level, n_resamples, rng, kwargs)
    if fast is None:
        raise ValueError(f"method={method!r} needs a named proportion metric, not a callable: use method='bootstrap'")
    return _closed_form(counts, name, fn, fast, level, method, kwargs)


def confidence_interval(cm, metric, *, level=0.95, method="bootstrap", n_resamples=10_000, random_state=None,
                        **metric_kwargs):
    """A metric of a confusion matrix with its confidence interval, from the counts alone.

    Parameters
    ----------
    cm : array_like of shape (C, C), scipy.sparse matrix, or ConfusionMatrix
        Counts, rows = true class (numpy, CuPy, scipy.sparse, or anything with
        ``.compute()``). Integer; a float matrix only when it holds whole numbers (read as
        frequency weights).
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
        Seeds the bootstrap; the same seed gives the same interval (on the same backend:
        numba's kernel and numpy's multinomial draw the same distribution from different
        streams).
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
    counts = _Counts(cm)
    if fast is not None:
        _split_kwargs(fn, metric_kwargs)
    rng = np.random.default_rng(random_state) if method == "bootstrap" else None
    return _interval(counts, name, fn, fast, level, method, n_resamples, rng, metric_kwargs)


def _requests(metrics):
    """``{key: (metric, kwargs)}`` of :func:`confidence_intervals`' ``metrics``."""
    if not isinstance(metrics, dict):
        raise TypeError(f"Expected `metrics` to be a dict of key -> metric or (metric, kwargs), but got {metrics!r}")
    out = {}
    for key, spec in metrics.items():
        metric, kwargs = (spec, {}) if isinstance(spec, str) or callable(spec) else spec
        if not isinstance(kwargs, dict):
            raise TypeError(f"Expected `metrics[{key!r}]` to be a metric or (metric, kwargs dict), but got {spec!r}")
        out[key] = (metric, kwargs)
    return out


def confidence_intervals(cm, metrics, *, level=0.95, n_resamples=10_000, random_state=None):
    """Several metrics' intervals from one set of resamples of ``cm``.

    Each is what :func:`confidence_interval` gives with ``method="bootstrap"`` (Wilson for a
    proportion), but every bootstrapped metric reads the same resamples: one draw of what
    they read together (every non-zero cell as soon as two of them read different sums), so
    ``report(ci=)`` pays for one draw, not one per metric.

    Parameters
    ----------
    cm : array_like of shape (C, C), scipy.sparse matrix, or ConfusionMatrix
        Counts, as :func:`confidence_interval` takes them.
    metrics : dict
        ``key -> metric`` or ``key -> (metric, kwargs)``, metrics as
        :func:`confidence_interval` names them.
    level, n_resamples, random_state
        As :func:`confidence_interval`.

    Returns
    -------
    dict
        ``key -> Interval``.

    Examples
    --------
    >>> cm = np.array([[45, 5], [10, 40]])
    >>> cis = confidence_intervals(cm, {"p": ("precision", {"average": "macro"}), "r": ("recall", {"average": "macro"}),
    ...                                 "acc": "accuracy"}, random_state=0)
    >>> cis["acc"].method, cis["p"].method
    ('wilson', 'bootstrap')
    >>> bool(cis["r"].low < cis["r"].estimate < cis["r"].high)
    True
    """
    _check_options(level, "bootstrap", n_resamples)
    requests = _requests(metrics)
    counts = _Counts(cm)
    rng = np.random.default_rng(random_state)
    out, shared = {}, {}
    for key, (metric, kwargs) in requests.items():
        name, fn, fast = _resolve(metric)
        if fast is not None:
            _split_kwargs(fn, kwargs)
        plan = _fast_plan(counts, name, fast, kwargs, joint=True)
        if plan is None or _closed_name(name, kwargs) is not None:
            out[key] = _interval(counts, name, fn, fast, level, "bootstrap", n_resamples, rng, kwargs)
        else:
            shared[key] = (name, fn, fast, kwargs, plan)
    if shared:
        reads = _covering(plan[0] for *_, plan in shared.values())
        values = _evaluated(counts, [(plan[1], kwargs) for *_, kwargs, plan in shared.values()], n_resamples, rng,
                            reads)
        for (key, (name, fn, fast, kwargs, _)), v in zip(shared.items(), values):
            estimate = _as_estimate(_estimate(counts, fn, fast, kwargs))
            out[key] = _bounded(counts, estimate, v, level, fast, kwargs)
    return {key: out[key] for key in requests}


def resampled_values(cm, metric, *, n_resamples=10_000, random_state=None, **metric_kwargs):
    """A named metric on each of ``n_resamples`` multinomial resamples of ``cm``.

    A per-class metric's values of one resample come from one resampled matrix (drawn
    jointly across classes, as the metric reads them), so any function of them (say a macro
    average over some of the classes) has its bootstrap distribution; feed it to
    :func:`percentile_interval`.

    Parameters
    ----------
    cm : array_like of shape (C, C), scipy.sparse matrix, or ConfusionMatrix
        Counts, as :func:`confidence_interval` takes them.
    metric : str
        A named metric of :func:`confidence_interval` (not a callable, not a weighted kappa).
    n_resamples, random_state, **metric_kwargs
        As :func:`confidence_interval`.

    Returns
    -------
    numpy.ndarray
        (B,) for a scalar metric, (B, C) for a per-class one.

    Examples
    --------
    >>> cm = np.array([[45, 5], [10, 40]])
    >>> v = resampled_values(cm, "recall", n_resamples=1000, random_state=0, zero_division=np.nan)
    >>> v.shape
    (1000, 2)
    >>> low, high = percentile_interval(v.mean(axis=1), 0.95)  # macro recall's interval
    >>> bool(low < 0.85 < high)
    True
    """
    _check_options(0.5, "bootstrap", n_resamples)
    name, fn, fast = _resolve(metric)
    counts = _Counts(cm)
    if fast is not None:
        _split_kwargs(fn, metric_kwargs)
    plan = _fast_plan(counts, name, fast, metric_kwargs, joint=True)
    if plan is None:
        raise ValueError(f"resampled_values() reads named metrics of the per-class sums, not {metric!r} with "
                         f"{metric_kwargs}: use confidence_interval()")
    reads, values_fn = plan
    return _evaluated(counts, [(values_fn, metric_kwargs)], n_resamples, np.random.default_rng(random_state), reads)[0]
