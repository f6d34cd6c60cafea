"""Metrics as functions of a count matrix: no metric ever touches the N predictions.

Every function takes a (C, C) confusion matrix (rows = true class), numpy or CuPy, and
does array arithmetic in that array's namespace, so results stay on the device the counts
were built on. A matrix in another array type (torch, JAX, TensorFlow, as
:func:`fastcm.confusion_matrix` returns for such inputs) is read as numpy (a CPU torch
tensor without a copy, a GPU one copied to the host once), and the results are numpy: per
class a ``numpy.ndarray``, an average a Python ``float``, as scikit-learn. For tensors, the
metric classes of :mod:`fastcm.torch` and :mod:`fastcm.keras` answer in their framework's
type. Counts are taken in float64 while every sum a metric forms stays below 2**53,
where float64 is exact; an integer matrix whose sums reach 2**53 (or pass 2**63, where
numpy's int64 sums wrap) is computed on a host copy in Python integers instead, so every
ratio of counts is correctly rounded and MCC and kappa are right to float64 rounding for
any int64 matrix.

Averages follow scikit-learn: ``None`` (per class), ``"micro"`` (pool the counts),
``"macro"`` (unweighted mean over classes), ``"weighted"`` (mean weighted by support) and,
for a 2x2 matrix, ``"binary"`` (the class at index 1). ``zero_division`` is ``"warn"``
(0 and an :class:`~fastcm.core.exceptions.UndefinedMetricWarning`), 0, 1 or ``np.nan`` (left
out of averages).

Examples
--------
>>> import numpy as np
>>> from fastcm import metrics
>>> cm = np.array([[5, 1], [2, 2]])
>>> metrics.accuracy(cm)
0.7
>>> metrics.precision(cm).round(3).tolist()
[0.714, 0.667]
>>> round(metrics.f1(cm, average="macro"), 4)
0.6703
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..core.exceptions import warn_undefined
from ..backends.arrays import to_host
from ..core.inputs import array_module
from ..counts.sparse import as_sparse_counts, is_sparse

__all__ = [
    "accuracy",
    "balanced_accuracy",
    "cohen_kappa",
    "f1",
    "fbeta",
    "fnr",
    "fpr",
    "iou",
    "mcc",
    "mean_iou",
    "npv",
    "precision",
    "recall",
    "specificity",
    "support",
]

AVERAGES = (None, "micro", "macro", "weighted", "binary")


def check_zero_division(zero_division):
    if isinstance(zero_division, str) and zero_division == "warn":
        return 0.0
    if isinstance(zero_division, numbers.Real) and zero_division in (0, 1):  # True/False too, as scikit-learn
        return float(zero_division)
    if isinstance(zero_division, numbers.Real) and np.isnan(zero_division):
        return float("nan")
    raise ValueError(f"Expected `zero_division` to be 'warn', 0, 1 or np.nan, but got {zero_division!r}")


def _check_average(average, n_classes):
    if average not in AVERAGES:
        raise ValueError(f"Expected `average` to be one of {AVERAGES}, but got {average!r}")
    if average == "binary" and n_classes != 2:
        raise ValueError(f"average='binary' needs a 2x2 matrix, but got {n_classes} classes")


def counts_of(cm):
    """The counts a metric reads: an accumulator's (``ConfusionMatrix`` and the like: its
    :meth:`compute`), a scipy.sparse matrix as it is, else ``cm``."""
    if hasattr(cm, "compute") and hasattr(cm, "update") and hasattr(cm, "labels"):
        return cm.compute()
    return cm


def sparse_parts(cm):
    """(diagonal, row sums, column sums, sum of |counts|) of a scipy.sparse matrix, host
    arrays (int64, float64, or Python ints past int64): no dense matrix."""
    counts = as_sparse_counts(cm)
    diag, true, pred = counts.class_sums()
    return diag, true, pred, float(np.abs(counts.values.astype(np.float64)).sum())


def _sparse_numbers(cm, limit):
    """:func:`sparse_parts` as the dense path forms them: float64 while the sums stay exact
    below ``limit`` (or the counts are float), else Python ints (object arrays)."""
    diag, true, pred, total = sparse_parts(cm)
    if diag.dtype.kind == "f" or (diag.dtype != object and total < limit):
        return diag.astype(np.float64), true.astype(np.float64), pred.astype(np.float64)
    return diag.astype(object), true.astype(object), pred.astype(object)


def as_matrix(cm):
    if is_sparse(cm):
        if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
            raise ValueError(f"Expected a square (C, C) count matrix, but got shape {tuple(cm.shape)}")
        return cm, np
    xp = array_module(cm)
    cm = xp.asarray(cm) if xp is not np else to_host(cm)  # torch, JAX, TensorFlow: read as numpy
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"Expected a square (C, C) count matrix, but got shape {tuple(cm.shape)}")
    return cm, xp


# float64 holds every integer below 2**53; the ratios below add at most two totals' worth
# (2·tp + fp + fn in F1), so an integer matrix whose absolute total is under 2**52 gives
# exact float64 sums and each ratio rounds once
_RATIO_LIMIT = 2.0**52


def _float_counts(cm, xp, limit=_RATIO_LIMIT):
    """``cm`` in float64 when that is exact for the sums a metric forms, else None.

    Float (weighted) matrices are always float64. For an integer matrix the float64 sum of
    absolute values decides: it is exact below 2**53 and never rounds below the smaller of
    the true total and 2**53, so comparing it with ``limit`` is safe.
    """
    m = cm.astype(np.float64)
    if cm.dtype.kind in "biu" and float(xp.abs(m).sum()) >= limit:  # synchronize!
        return None
    return m


def _exact_sums(cm):
    """Host copy of an integer ``cm`` (int64 or uint64), its diagonal, row sums and column
    sums; the sums as Python ints (object arrays), never wrapping.

    The sums are vectorised: each entry splits into 32-bit halves whose sums over a row
    cannot wrap int64 (C < 2**31), recombined as Python ints.
    """
    m = host_counts(cm)
    if not (m.dtype.kind == "u" and m.dtype.itemsize == 8):
        m = m.astype(np.int64)
    if float(np.abs(m.astype(np.float64)).sum()) < 2.0**62:  # no sum of entries can wrap int64
        return m, np.diagonal(m).astype(object), m.sum(axis=1).astype(object), m.sum(axis=0).astype(object)
    hi, lo = m >> 32, m & 0xFFFFFFFF

    def exact(axis):
        return hi.sum(axis=axis).astype(object) * 2**32 + lo.sum(axis=axis).astype(object)

    return m, np.diagonal(m).astype(object), exact(1), exact(0)


def cell_sums(cm, limit=_RATIO_LIMIT):
    """Per-class tp, fp, fn, tn: float64 in ``cm``'s namespace, or, for an integer matrix
    whose sums reach ``limit``, host object arrays of Python ints (exact)."""
    cm, xp = as_matrix(counts_of(cm))
    if is_sparse(cm):
        tp, true, pred = _sparse_numbers(cm, limit)
        total = true.sum()
        fp, fn = pred - tp, true - tp
        return tp, fp, fn, total - tp - fp - fn, np
    m = _float_counts(cm, xp, limit)
    if m is None:
        _, tp, true, pred = _exact_sums(cm)
        total = true.sum()
        xp = np
    else:
        tp = xp.diagonal(m).copy()
        pred = m.sum(axis=0)
        true = m.sum(axis=1)
        total = true.sum()
    fp = pred - tp
    fn = true - tp
    return tp, fp, fn, total - tp - fp - fn, xp


def divide(num, den, zero_division, metric, modifier, average, *, warn=True, axis="label"):
    """``num / den`` with zero denominators set to ``zero_division`` (and warned about).

    The warning text is scikit-learn's: "Precision is ill-defined and being set to 0.0 in
    labels with no predicted samples. ..."
    """
    xp = array_module(den)
    value = check_zero_division(zero_division)
    mask = den == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        out = num / xp.where(mask, 1.0, den)
    if out.dtype == object:
        # Python ints from the exact path: int / int is correctly rounded
        out = out.astype(np.float64)
    if not bool(mask.any()):  # synchronize!
        return out
    out = xp.where(mask, value, out)
    if warn and isinstance(zero_division, str):
        other = "sample" if axis == "label" else "label"
        where = "due to" if out.shape[0] == 1 else f"in {axis}s with"
        warn_undefined(
            f"{metric} is ill-defined and being set to 0.0 {where} no {modifier} {other}s. "
            "Use `zero_division` parameter to control this behavior.",
            stacklevel=4,
        )
    return out


def nanaverage(values, weights=None):
    """Mean ignoring NaN (zero_division=np.nan); all-zero weights fall back to a plain mean."""
    xp = array_module(values)
    if values.shape[0] == 0:
        return float("nan")
    keep = ~xp.isnan(values)
    if not bool(keep.any()):
        return float("nan")
    v = values[keep]
    if weights is not None:
        w = weights[keep]
        if float(w.sum()) != 0:
            return float((v * w).sum() / w.sum())
        return float(v.mean())
    # np.nanmean's order (scikit-learn's): the sum runs over every class, NaN as 0, and
    # numpy's pairwise summation rounds differently when the NaNs are dropped first
    return float(xp.where(keep, values, 0.0).sum() / keep.sum())


def reduce_ratio(num, den, average, zero_division, metric, modifier, weights, warn=True):
    """Per-class ratios, or their average, the scikit-learn way."""
    if average == "micro":
        return float(
            divide(num.sum(keepdims=True), den.sum(keepdims=True), zero_division, metric, modifier, average, warn=warn)[0]
        )
    if average == "binary":
        num, den = num[1:], den[1:]
    per_class = divide(num, den, zero_division, metric, modifier, average, warn=warn)
    if average is None:
        return per_class
    if average == "binary":
        return float(per_class[0])
    if average == "weighted" and weights.dtype == object:
        weights = weights.astype(np.float64)  # each support rounds once; the mean is float anyway
    return nanaverage(per_class, weights if average == "weighted" else None)


def _ratio(cm, average, zero_division, pick, metric, modifier, warn=True, *, limit=_RATIO_LIMIT, exact_pick=None):
    """A per-class ratio ``pick(tp, fp, fn, tn)``, or its average.

    ``exact_pick`` (default ``pick``) forms it from Python ints when the counts' sums reach
    ``limit``: it must keep them integers.
    """
    cm = counts_of(cm)
    xp = array_module(cm)
    tp, fp, fn, tn, counts_xp = cell_sums(cm, limit)
    _check_average(average, tp.shape[0])
    if average == "micro":
        # scikit-learn pools the counts, then applies the formula: (1 + b²)·Σtp rounds once,
        # where Σ(1 + b²)·tp rounds once per class
        tp, fp, fn, tn = (a.sum(keepdims=True) for a in (tp, fp, fn, tn))
    exact = tp.dtype == object
    num, den = (exact_pick or pick)(tp, fp, fn, tn) if exact else pick(tp, fp, fn, tn)
    out = reduce_ratio(num, den, average, zero_division, metric, modifier, tp + fn, warn)
    if exact and average is None:
        out = xp.asarray(out)  # back to the device the counts came from
    return out


def precision(cm, average=None, zero_division="warn"):
    """tp / (tp + fp) per class (columns), or averaged.

    >>> precision(np.array([[3, 1], [0, 2]]), average="micro")
    0.8333333333333334
    """
    return _ratio(cm, average, zero_division, lambda tp, fp, fn, tn: (tp, tp + fp), "Precision", "predicted")


def recall(cm, average=None, zero_division="warn"):
    """tp / (tp + fn) per class (rows), or averaged; the true positive rate.

    >>> recall(np.array([[3, 1], [0, 2]])).tolist()
    [0.75, 1.0]
    """
    return _ratio(cm, average, zero_division, lambda tp, fp, fn, tn: (tp, tp + fn), "Recall", "true")


def fbeta(cm, beta, average=None, zero_division="warn"):
    """F-beta: (1 + b²) tp / ((1 + b²) tp + b² fn + fp), per class or averaged.

    >>> round(fbeta(np.array([[3, 1], [0, 2]]), beta=2, average="macro"), 4)
    0.8493
    """
    if not isinstance(beta, numbers.Real) or beta < 0:
        raise ValueError(f"Expected `beta` to be a non-negative number, but got {beta!r}")
    if np.isposinf(beta) or beta == 0:
        # scikit-learn's F is then plain recall (precision), divided without any warning:
        # it only warns for "f-score", and the zero there is recall's (precision's)
        pick = (lambda tp, fp, fn, tn: (tp, tp + fn)) if beta else (lambda tp, fp, fn, tn: (tp, tp + fp))
        return _ratio(cm, average, zero_division, pick, "F-score", "true nor predicted", warn=False)
    b2 = float(beta) ** 2
    if not math.isfinite(b2):
        # the float formula's inf/nan, as today; no integer form exists
        return _ratio(cm, average, zero_division, lambda tp, fp, fn, tn: ((1 + b2) * tp, b2 * (tp + fn) + (tp + fp)),
                      "F-score", "true nor predicted", limit=math.inf)
    # exactly b² = p/q: the integer form scales numerator and denominator by q
    p, q = b2.as_integer_ratio()
    return _ratio(
        cm,
        average,
        zero_division,
        lambda tp, fp, fn, tn: ((1 + b2) * tp, b2 * (tp + fn) + (tp + fp)),
        "F-score",
        "true nor predicted",
        limit=2.0**53 / max(2.0, 1 + b2),  # (1 + b²)·tp and b²·(tp + fn) + tp + fp stay exact
        exact_pick=lambda tp, fp, fn, tn: ((p + q) * tp, p * (tp + fn) + q * (tp + fp)),
    )


def f1(cm, average=None, zero_division="warn"):
    """F1: the harmonic mean of precision and recall.

    >>> f1(np.array([[3, 1], [0, 2]])).round(3).tolist()
    [0.857, 0.8]
    """
    return fbeta(cm, 1.0, average, zero_division)


def support(cm):
    """Number of true samples of each class (row sums).

    >>> support(np.array([[3, 1], [0, 2]])).tolist()
    [4, 2]
    """
    cm, xp = as_matrix(counts_of(cm))
    if is_sparse(cm):
        true = sparse_parts(cm)[1]
        if true.dtype == object and all(-2**63 <= r < 2**63 for r in true):
            return true.astype(np.int64)
        return true
    if _float_counts(cm, xp, 2.0**62) is not None:
        return cm.sum(axis=1)  # no row sum can reach 2**63: int64 does not wrap
    rows = _exact_sums(cm)[2]
    dtype = np.dtype(np.uint64 if cm.dtype.kind == "u" else np.int64)  # numpy's sum of cm
    info = np.iinfo(dtype)
    if all(info.min <= r <= info.max for r in rows):
        return xp.asarray(rows.astype(dtype))
    return rows  # sums past int64 stay exact, as Python ints on the host


def specificity(cm, average=None, zero_division="warn"):
    """True negative rate tn / (tn + fp), one-vs-rest per class.

    >>> specificity(np.array([[3, 1], [0, 2]])).tolist()
    [1.0, 0.75]
    """
    return _ratio(cm, average, zero_division, lambda tp, fp, fn, tn: (tn, tn + fp), "Specificity", "negative")


def npv(cm, average=None, zero_division="warn"):
    """Negative predictive value tn / (tn + fn), one-vs-rest per class.

    >>> npv(np.array([[3, 1], [0, 2]])).tolist()
    [0.6666666666666666, 1.0]
    """
    return _ratio(cm, average, zero_division, lambda tp, fp, fn, tn: (tn, tn + fn), "NPV", "predicted negative")


def fpr(cm, average=None, zero_division="warn"):
    """False positive rate fp / (fp + tn) = 1 - specificity.

    >>> fpr(np.array([[3, 1], [0, 2]])).tolist()
    [0.0, 0.25]
    """
    return _ratio(cm, average, zero_division, lambda tp, fp, fn, tn: (fp, fp + tn), "FPR", "negative")


def fnr(cm, average=None, zero_division="warn"):
    """False negative rate fn / (fn + tp) = 1 - recall.

    >>> fnr(np.array([[3, 1], [0, 2]])).tolist()
    [0.25, 0.0]
    """
    return _ratio(cm, average, zero_division, lambda tp, fp, fn, tn: (fn, fn + tp), "FNR", "true")


def iou(cm, average=None, zero_division="warn"):
    """Intersection over union (Jaccard) tp / (tp + fp + fn), per class or averaged.

    >>> iou(np.array([[3, 1], [0, 2]])).tolist()
    [0.75, 0.6666666666666666]
    """
    return _ratio(cm, average, zero_division, lambda tp, fp, fn, tn: (tp, tp + fp + fn), "Jaccard", "true or predicted")


def mean_iou(cm, *, ignore_absent=True):
    """Mean IoU over classes; with ``ignore_absent`` (segmentation benchmarks' convention),
    classes absent from both truth and prediction are left out instead of counting as 0.

    >>> mean_iou(np.array([[3, 1, 0], [0, 2, 0], [0, 0, 0]]))
    0.7083333333333333
    """
    per_class = iou(cm, zero_division=np.nan if ignore_absent else 0.0)
    return nanaverage(per_class)


def accuracy(cm):
    """Fraction of samples on the diagonal (0.0 for an empty matrix).

    >>> accuracy(np.array([[3, 1], [0, 2]]))
    0.8333333333333334
    """
    cm, xp = as_matrix(counts_of(cm))
    if is_sparse(cm):
        diag, true, _ = _sparse_numbers(cm, _RATIO_LIMIT)
        if diag.dtype == object:
            return diag.sum() / true.sum()
        total = float(true.sum())
        return float(diag.sum() / total) if total else 0.0
    m = _float_counts(cm, xp)
    if m is None:
        _, diag, true, _ = _exact_sums(cm)
        return diag.sum() / true.sum()  # Python ints: correctly rounded (the total is not 0 here)
    total = float(m.sum())
    return float(xp.trace(m) / total) if total else 0.0


def balanced_accuracy(cm, adjusted=False):
    """Mean recall over the classes present in the truth (scikit-learn's definition).

    >>> balanced_accuracy(np.array([[3, 1], [0, 2]]))
    0.875
    """
    cm, xp = as_matrix(counts_of(cm))
    if is_sparse(cm):
        return _balanced_accuracy(*_sparse_numbers(cm, _RATIO_LIMIT), adjusted)
    m = _float_counts(cm, xp)
    if m is None:
        _, diag, true, pred = _exact_sums(cm)
    else:
        diag, true, pred = xp.diagonal(m), m.sum(axis=1), m.sum(axis=0)
    return _balanced_accuracy(diag, true, pred, adjusted)


def balanced_accuracy_of_class_counts(correct, pred, true, adjusted=False):
    """:func:`balanced_accuracy` from per-class counts (correct, predicted, true; 1-D, host).

    >>> balanced_accuracy_of_class_counts(np.array([3, 2]), np.array([3, 3]), np.array([4, 2]))
    0.875
    """
    if correct.dtype.kind == "f" or float(np.abs(true.astype(np.float64)).sum()) < _RATIO_LIMIT:
        return _balanced_accuracy(correct.astype(np.float64), true.astype(np.float64), pred.astype(np.float64), adjusted)
    return _balanced_accuracy(correct.astype(object), true.astype(object), pred.astype(object), adjusted)


def _balanced_accuracy(diag, true, pred, adjusted):
    present = true != 0
    if bool(((~present) & (pred != 0)).any()):
        # scikit-learn's matrix has only the classes seen in y_true or y_pred: a class
        # absent from both (an all-zero row and column here) is no cause to warn
        import warnings

        warnings.warn("y_pred contains classes not in y_true", stacklevel=2)
    per_class = diag[present] / true[present]
    if per_class.dtype == object:
        per_class = per_class.astype(np.float64)  # each recall correctly rounded
    if not per_class.shape[0]:
        return float("nan")  # no true samples at all (an empty matrix): undefined, adjusted or not
    score = np.float64(per_class.mean())
    if adjusted:
        chance = 1 / per_class.shape[0]
        score -= chance
        score /= 1 - chance  # numpy semantics (inf/nan and a RuntimeWarning) for a single class, as scikit-learn
    return float(score)


def mcc(cm):
    """Matthews correlation coefficient (multiclass, Gorodkin's R_K); 0.0 when undefined.

    >>> round(mcc(np.array([[3, 1], [0, 2]])), 4)
    0.7071
    """
    cm, xp = as_matrix(counts_of(cm))
    if is_sparse(cm):
        diag, true, pred, _ = sparse_parts(cm)
        return mcc_of_class_counts(diag, pred, true)
    # the covariances are differences of products of sums: exact in float64 while n² < 2**52
    m = _float_counts(cm, xp, 2.0**26)
    if m is None:
        return _exact_mcc(cm)
    return _mcc_of_sums(float(xp.trace(m)), m.sum(axis=1), m.sum(axis=0))


def mcc_of_class_counts(correct, pred, true):
    """MCC from per-class counts (correct, predicted, true; 1-D, host), as :func:`mcc` of the
    matrix they come from, without it.

    >>> round(mcc_of_class_counts(np.array([3, 2]), np.array([3, 3]), np.array([4, 2])), 4)
    0.7071
    """
    if correct.dtype.kind == "f" or float(np.abs(true.astype(np.float64)).sum()) < 2.0**26:
        return _mcc_of_sums(float(correct.astype(np.float64).sum()), true.astype(np.float64), pred.astype(np.float64))
    t_sum, p_sum = true.astype(object), pred.astype(object)
    return _exact_mcc_of_sums(correct.astype(object).sum(), t_sum, p_sum)


def _mcc_of_sums(n_correct, t_sum, p_sum):
    n = float(p_sum.sum())
    cov_ytyp = n_correct * n - float(t_sum @ p_sum)
    cov_ypyp = n * n - float(p_sum @ p_sum)
    cov_ytyt = n * n - float(t_sum @ t_sum)
    denom = cov_ypyp * cov_ytyt
    if denom == 0:
        return 0.0
    if np.isfinite(denom):
        return float(cov_ytyp / np.sqrt(denom))  # scikit-learn's rounding, to the last bit
    # float weights near 1e77: the product overflows, the square root of each factor does not
    return float(cov_ytyp / (np.sqrt(cov_ypyp) * np.sqrt(cov_ytyt)))


def _exact_mcc(cm):
    """MCC of an integer matrix from Python-int covariances, to within an ulp."""
    _, diag, t_sum, p_sum = _exact_sums(cm)
    return _exact_mcc_of_sums(diag.sum(), t_sum, p_sum)


def _exact_mcc_of_sums(n_correct, t_sum, p_sum):
    n = t_sum.sum()
    cov_ytyp = n_correct * n - t_sum.dot(p_sum)
    cov_ypyp = n * n - p_sum.dot(p_sum)
    cov_ytyt = n * n - t_sum.dot(t_sum)
    denom = cov_ypyp * cov_ytyt
    if denom == 0:
        return 0.0
    if denom < 0:  # only negative "counts" get here: numpy's nan and warning, as the float path
        return float(cov_ytyp / np.sqrt(float(denom)))
    return math.copysign(_sqrt_ratio(cov_ytyp * cov_ytyp, denom), cov_ytyp)


def _sqrt_ratio(num, den):
    """sqrt(num / den) for Python ints num >= 0, den > 0, rounded once to float64.

    The integer square root of ``num / den`` scaled by 4**k, k chosen to keep ~110 bits,
    is off by less than 2**-100 relative, so only the final conversion rounds.
    """
    shift = 220 - (num.bit_length() - den.bit_length())
    shift += shift & 1  # even, so that its half scales the root
    q = math.isqrt((num << shift) // den if shift >= 0 else num // (den << -shift))
    half = shift // 2
    return q / (1 << half) if half >= 0 else float(q << -half)


def check_kappa_weights(weights):
    if weights not in (None, "linear", "quadratic"):
        raise ValueError(f"Expected `weights` to be None, 'linear' or 'quadratic', but got {weights!r}")


def cohen_kappa(cm, weights=None, replace_undefined_by=np.nan):
    """Cohen's kappa of the two raters in the matrix; ``weights`` None, "linear" or "quadratic".

    >>> round(cohen_kappa(np.array([[3, 1], [0, 2]])), 4)
    0.6667
    """
    check_kappa_weights(weights)
    cm, xp = as_matrix(counts_of(cm))
    if is_sparse(cm):
        return _sparse_kappa(as_sparse_counts(cm), weights, replace_undefined_by)
    c = cm.shape[0]
    if cm.dtype.kind in "biu":
        w_obs, w_exp, total = _kappa_integer_parts(cm, xp, weights)
    else:
        m = cm.astype(np.float64)
        sum0 = m.sum(axis=0)
        sum1 = m.sum(axis=1)
        total = float(sum0.sum())
    if total == 0:
        warn_undefined(
            "`y2` contains no labels that are present in both `y1` and `labels`.`cohen_kappa_score` is "
            "undefined and set to the value defined by the `replace_undefined_by` param, which is set to "
            f"{replace_undefined_by}.",
        )
        return replace_undefined_by
    if cm.dtype.kind in "biu":
        den = w_exp
    else:
        expected = xp.outer(sum0, sum1) / total
        w = _kappa_weight_matrix(xp, c, weights)
        den = float((w * expected).sum())
    if den == 0:
        warn_undefined(
            "`y1`, `y2` and `labels` have only one label in common. `cohen_kappa_score` is undefined and set "
            f"to the value defined by the the `replace_undefined_by` param, which is set to {replace_undefined_by}.",
        )
        return replace_undefined_by
    if cm.dtype.kind in "biu":
        # 1 - observed / (expected / n) as one ratio: kappa near 0 no longer cancels
        return float((w_exp - total * w_obs) / w_exp)
    return float(1 - float((w * m).sum()) / den)


def _kappa_undefined(kind, replace_undefined_by):
    if kind == "empty":
        message = ("`y2` contains no labels that are present in both `y1` and `labels`.`cohen_kappa_score` is "
                   "undefined and set to the value defined by the `replace_undefined_by` param, which is set to "
                   f"{replace_undefined_by}.")
    else:
        message = ("`y1`, `y2` and `labels` have only one label in common. `cohen_kappa_score` is undefined and set "
                   f"to the value defined by the the `replace_undefined_by` param, which is set to {replace_undefined_by}.")
    warn_undefined(message)
    return replace_undefined_by


def kappa_of_class_counts(correct, pred, true, replace_undefined_by=np.nan):
    """Unweighted Cohen's kappa from per-class counts (correct, predicted, true; 1-D, host),
    as :func:`cohen_kappa` of the matrix they come from, without it.

    >>> round(kappa_of_class_counts(np.array([3, 2]), np.array([3, 3]), np.array([4, 2])), 4)
    0.6667
    """
    if correct.dtype.kind == "f":
        return _kappa_float(float(correct.sum()), pred.astype(np.float64), true.astype(np.float64), None,
                            replace_undefined_by)
    total = float(np.abs(true.astype(np.float64)).sum())
    if total * total < 2.0**52:
        sum0, sum1 = pred.astype(np.float64), true.astype(np.float64)
        n = float(sum1.sum())
        w_obs, w_exp = n - float(correct.sum()), n * n - float(sum0 @ sum1)
    else:
        sum0, sum1 = pred.astype(object), true.astype(object)
        n = sum1.sum()
        w_obs, w_exp = n - correct.astype(object).sum(), n * n - sum0.dot(sum1)
    return _kappa_ratio(w_obs, w_exp, n, replace_undefined_by)


def _kappa_ratio(w_obs, w_exp, n, replace_undefined_by):
    if n == 0:
        return _kappa_undefined("empty", replace_undefined_by)
    if w_exp == 0:
        return _kappa_undefined("one", replace_undefined_by)
    return float((w_exp - n * w_obs) / w_exp)


def _kappa_float(observed_agree, sum0, sum1, weights, replace_undefined_by, w_obs=None):
    """Kappa of float (weighted) counts from the margins: ``1 - Σ w·m / Σ w·expected``."""
    total = float(sum0.sum())
    if total == 0:
        return _kappa_undefined("empty", replace_undefined_by)
    i = np.arange(sum0.size, dtype=np.float64)
    if weights is None:
        w_obs = total - observed_agree
        den = (total * total - float(sum0 @ sum1)) / total
    elif weights == "quadratic":
        a = [float((i**p * sum0).sum()) for p in range(3)]
        b = [float((i**p * sum1).sum()) for p in range(3)]
        den = (a[2] * b[0] - 2 * a[1] * b[1] + a[0] * b[2]) / total
    else:
        b_below = np.concatenate([[0.0], np.cumsum(sum1)[:-1]])
        jb_below = np.concatenate([[0.0], np.cumsum(i * sum1)[:-1]])
        b_above, jb_above = sum1.sum() - b_below - sum1, (i * sum1).sum() - jb_below - i * sum1
        den = float((sum0 * (i * b_below - jb_below + jb_above - i * b_above)).sum()) / total
    if den == 0:
        return _kappa_undefined("one", replace_undefined_by)
    return float(1 - w_obs / den)


def _sparse_kappa(counts, weights, replace_undefined_by):
    """Cohen's kappa of :class:`~fastcm.counts.sparse.SparseCounts`: the disagreement from the
    listed cells, the expected one from the margins (O(C + cells), no (C, C) temporary)."""
    diag, sum1, sum0 = counts.class_sums()  # row sums: rater 1; column sums: rater 2
    rows, cols = counts.rows_cols()
    if counts.values.dtype.kind == "f":
        dist = np.abs(rows - cols).astype(np.float64)
        w = None if weights is None else dist if weights == "linear" else dist**2
        w_obs = None if w is None else float((w * counts.values).sum())
        return _kappa_float(float(diag.sum()), sum0.astype(np.float64), sum1.astype(np.float64), weights,
                            replace_undefined_by, w_obs)
    if weights is None:
        return kappa_of_class_counts(diag, sum0, sum1, replace_undefined_by)
    dist = np.abs(rows - cols).astype(object)
    w = dist if weights == "linear" else dist * dist
    w_obs = (w * counts.values.astype(object)).sum() if counts.values.size else 0
    sum0, sum1 = sum0.astype(object), sum1.astype(object)
    n = sum1.sum()
    i = np.arange(counts.num_classes, dtype=object)
    if weights == "quadratic":
        a = [(i**p * sum0).sum() for p in range(3)]
        b = [(i**p * sum1).sum() for p in range(3)]
        w_exp = a[2] * b[0] - 2 * a[1] * b[1] + a[0] * b[2]
    else:
        b_below = np.concatenate([[0], np.cumsum(sum1)[:-1]]).astype(object)
        jb_below = np.concatenate([[0], np.cumsum(i * sum1)[:-1]]).astype(object)
        b_above, jb_above = sum1.sum() - b_below - sum1, (i * sum1).sum() - jb_below - i * sum1
        w_exp = (sum0 * (i * b_below - jb_below + jb_above - i * b_above)).sum()
    return _kappa_ratio(w_obs, w_exp, n, replace_undefined_by)


def _kappa_weight_matrix(xp, c, weights):
    if weights is None:
        return xp.ones((c, c)) - xp.eye(c)
    grid = xp.zeros((c, c)) + xp.arange(c)
    return xp.abs(grid - grid.T) if weights == "linear" else (grid - grid.T) ** 2


def _kappa_integer_parts(cm, xp, weights):
    """Kappa's weighted observed disagreement Σ w·m, its expected disagreement times n,
    Σ w·outer(col sums, row sums), and n, for an integer matrix: exact integers.

    Float64 holds them while max(w)·n² < 2**52 (then their difference is exact too and the
    final ratio rounds once); larger matrices use Python ints on a host copy.
    """
    c = cm.shape[0]
    max_w = 1 if weights is None else (c - 1) ** (1 if weights == "linear" else 2)
    m = cm.astype(np.float64)
    total = float(xp.abs(m).sum())  # synchronize!
    if total * total * max(max_w, 1) < 2.0**52:
        sum0, sum1 = m.sum(axis=0), m.sum(axis=1)
        n = float(sum1.sum())
        if weights is None:  # no C x C temporaries for the common case
            return n - float(xp.trace(m)), n * n - float(sum0 @ sum1), n
        w = _kappa_weight_matrix(xp, c, weights)
        return float((w * m).sum()), float((w * xp.outer(sum0, sum1)).sum()), n
    host, diag, sum1, sum0 = _exact_sums(cm)
    n = sum1.sum()
    if weights is None:
        return n - diag.sum(), n * n - sum0.dot(sum1), n
    # the weights depend on |i - j| only: observed disagreement from the diagonals' sums
    # (32-bit halves again, so a diagonal's int64 sum cannot wrap) ...
    hi, lo = host >> 32, host & 0xFFFFFFFF
    w_obs = 0
    for k in range(1, c):
        d = (int(np.trace(hi, k)) + int(np.trace(hi, -k))) * 2**32 + int(np.trace(lo, k)) + int(np.trace(lo, -k))
        w_obs += (k if weights == "linear" else k * k) * d
    # ... and the expected one from moments and prefix sums of the margins, O(C) Python ints
    i = np.arange(c, dtype=object)
    if weights == "quadratic":
        # Σ (i - j)² a_i b_j = A2·B0 - 2·A1·B1 + A0·B2, with Ap = Σ i^p a_i
        a = [(i**p * sum0).sum() for p in range(3)]
        b = [(i**p * sum1).sum() for p in range(3)]
        return w_obs, a[2] * b[0] - 2 * a[1] * b[1] + a[0] * b[2], n
    # Σ_i a_i Σ_j |i - j| b_j, splitting j < i and j > i with cumulative sums of b_j and j·b_j
    b_below = np.concatenate([[0], np.cumsum(sum1)[:-1]]).astype(object)
    jb_below = np.concatenate([[0], np.cumsum(i * sum1)[:-1]]).astype(object)
    b_above, jb_above = sum1.sum() - b_below - sum1, (i * sum1).sum() - jb_below - i * sum1
    return w_obs, (sum0 * (i * b_below - jb_below + jb_above - i * b_above)).sum(), n


def host_counts(a):
    return a if isinstance(a, np.ndarray) or is_sparse(a) else a.get()
