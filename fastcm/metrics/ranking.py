"""Exact scikit-learn drop-ins for ranking curves: ``roc_curve``, ``precision_recall_curve``,
``roc_auc_score``, ``average_precision_score``.

Every curve comes from the backend's ``score_groups`` (scores split by truth, both halves
sorted, merged from the top in one compiled pass), then scikit-learn's arithmetic, written
into the output arrays without concatenated copies. The unweighted full ``roc_auc_score``
builds no curve: it is the exact rank statistic ``U / (n_pos * n_neg)`` (see ``_rank_auc``).
"""

from __future__ import annotations

import numbers
import warnings
from fractions import Fraction

import numpy as np

from .. import backends
from ..core.exceptions import warn_undefined
from ..core.inputs import InvalidInputError, as_array
from ..counts.multilabel import ALL_ZERO_WEIGHTS

__all__ = ["precision_recall_curve", "roc_curve", "roc_auc_score", "average_precision_score"]


def _classes(t):
    if t.dtype.kind in "biu":
        lo, hi = t.min(), t.max()
        if int(hi) - int(lo) <= 1:
            return np.unique(np.array([lo, hi], dtype=t.dtype))
    if t.dtype.kind == "f":
        if not np.isfinite(t).all():
            raise ValueError("Input y_true contains NaN or infinity.")
        if (t != np.floor(t)).any():
            raise ValueError("continuous format is not supported")
    return np.unique(t)


def _column(a, name):
    if a.ndim == 2 and a.shape[1] == 1:
        return a.reshape(-1)
    if a.ndim != 1:
        raise ValueError(f"y should be a 1d array, got an array of shape {a.shape} instead.")
    return a


def _weights(sample_weight):
    """``sample_weight`` as a 1-D numeric host array (a column is flattened), or None.

    Checked here, not in the kernels: strings or objects would otherwise reach numba and
    fail there with a typing error.
    """
    if sample_weight is None:
        return None
    w = as_array(sample_weight, "sample_weight", allow_device=False)
    if w.dtype.kind not in "biuf":
        raise InvalidInputError(f"Expected `sample_weight` to be numeric, but got dtype {w.dtype}")
    return _column(w, "sample_weight")


def _non_finite(a, name):
    """Raise scikit-learn's "Input contains NaN" ValueError, naming the array and the first
    position, when float ``a`` holds NaN or infinity. Two reductions when it does not."""
    if a.dtype.kind != "f" or a.size == 0 or (np.isfinite(a.min()) and np.isfinite(a.max())):
        return
    flat = a.reshape(-1)
    pos = int(np.argmax(~np.isfinite(flat)))
    where = f"position {pos}" if a.ndim == 1 else f"index {np.unravel_index(pos, a.shape)}"
    what = "NaN" if np.isnan(flat[pos]) else f"infinity ({float(flat[pos])!r})"
    raise ValueError(f"Input {name} contains {what} at {where}.")


def _check_scores(s, w):
    """What scikit-learn checks before sorting: samples, numeric scores, a non-zero weight."""
    if s.shape[0] == 0:
        raise ValueError(f"Found array with 0 sample(s) (shape={s.shape}) while a minimum of 1 is required.")
    if s.dtype.kind not in "biuf":
        # the compiled kernels would fail on strings with a typing error
        raise InvalidInputError(f"Expected numeric scores in `y_score`, but got dtype {s.dtype}")
    if w is not None and not w.any():
        raise ValueError(ALL_ZERO_WEIGHTS)


def _binary_inputs(y_true, y_score, pos_label, sample_weight, classes=None):
    """Validated 1-D ``(t, s, w, positive)``: a row is positive iff ``t == positive``.

    Numeric truth is passed on as it is with the positive value (no N-sized boolean copy);
    anything else (strings, a ``pos_label`` the dtype cannot hold) is compared first.
    """
    t = _column(as_array(y_true, "y_true", allow_device=False), "y_true")
    s = _column(as_array(y_score, "y_score", allow_device=False), "y_score")
    w = _weights(sample_weight)
    lengths = [t.shape[0], s.shape[0]] + ([] if w is None else [w.shape[0]])
    if len(set(lengths)) > 1:
        raise ValueError(f"Found input variables with inconsistent numbers of samples: {lengths}")
    _check_scores(s, w)
    classes = _classes(t) if classes is None else classes
    if classes.size > 2 and pos_label is None:
        raise ValueError("multiclass format is not supported")
    if pos_label is None:
        ok = classes.dtype.kind not in "OUS" and any(
            classes.size == len(c) and (classes == np.array(c)).all() for c in ([0, 1], [-1, 1], [0], [-1], [1])
        )
        if not ok:
            shown = ", ".join(repr(c) for c in classes.tolist())
            raise ValueError(
                f"y_true takes value in {{{shown}}} and pos_label is not specified: either make y_true take value "
                "in {0, 1} or {-1, 1} or pass pos_label explicitly."
            )
        pos_label = 1
    numeric = isinstance(pos_label, (numbers.Real, np.bool_)) and t.dtype.kind in "biuf"
    if numeric and (t.dtype.kind == "f" or float(pos_label) == int(pos_label)):
        return t, s, w, pos_label
    return np.asarray(t == pos_label), s, w, True


def _raise_invalid(invalid, t, s, w):
    """Turn what a kernel reported invalid into scikit-learn's "Input ... contains NaN" error."""
    n_bad, pos = (int(v) for v in invalid)
    if not n_bad:
        return
    for a, name in ((s, "y_score"), (w, "sample_weight")):
        if a is not None and not np.isfinite(float(a[pos])):
            what = "NaN" if np.isnan(float(a[pos])) else f"infinity ({float(a[pos])!r})"
            raise ValueError(f"Input {name} contains {what} at position {pos}.")
    raise ValueError(f"Expected 0/1 values in `y_true`, but got {t[pos]!r} at position {pos}.")


#: every integer of magnitude up to this is a float64, so comparing its float64 value is exact
_FLOAT64_EXACT = 2**53


def _exact_order(s):
    """Scores the backends can compare exactly, and the values to map their thresholds back by.

    The backends compare scores as float64, which merges int64/uint64 values beyond 2**53
    (``2**53 + 1`` becomes ``2**53``). Those scores are replaced by their rank among the
    distinct values (``np.unique`` sorts in the scores' own integer type), which orders and
    ties them exactly as the values do; the thresholds that come back are ranks, and
    ``values[rank]`` is the score itself, in its dtype. Returns ``(s, None)`` when the
    float64 comparison is already exact (floats, integers within 2**53).
    """
    if s.dtype.kind not in "iu" or s.dtype.itemsize < 8 or s.size == 0:
        return s, None
    if int(s.min()) >= -_FLOAT64_EXACT and int(s.max()) <= _FLOAT64_EXACT:
        return s, None
    values, ranks = np.unique(s, return_inverse=True)
    return ranks.reshape(s.shape).astype(np.int64, copy=False), values


def _groups(y_true, y_score, pos_label, sample_weight, backend="auto"):
    """fps, tps, thresholds (scikit-learn's ``confusion_matrix_at_thresholds`` core), score dtype.

    The thresholds are float64 for float scores and exactly the scores (in their dtype) for
    integer ones beyond 2**53 (see ``_exact_order``).
    """
    t, s, w, positive = _binary_inputs(y_true, y_score, pos_label, sample_weight)
    ranked, values = _exact_order(s)
    be = backends.get(backends.select(backend, t, ranked))
    fps, tps, thr, invalid = be.score_groups(t, ranked, weights=w, positive=positive)
    _raise_invalid(invalid, t, s, w)
    thr = np.asarray(thr)
    if values is not None:
        thr = values[thr.astype(np.intp)]
    return np.asarray(fps), np.asarray(tps), thr, s.dtype, be


def _drop_intermediate(fps, tps, thr, be):
    """Keep the ends and the corners, as scikit-learn's ``drop_intermediate`` (an optional
    backend entry: numba's takes one pass and no temporaries)."""
    return backends.contract.entry(be, "drop_intermediate")(fps, tps, thr)


def roc_curve(y_true, y_score, *, pos_label=None, sample_weight=None, drop_intermediate=True):
    """Receiver operating characteristic, as :func:`sklearn.metrics.roc_curve`.

    Examples
    --------
    >>> fpr, tpr, thr = roc_curve([1, 1, 2, 2], [0.1, 0.4, 0.35, 0.8], pos_label=2)
    >>> fpr.tolist(), tpr.tolist()
    ([0.0, 0.0, 0.5, 0.5, 1.0], [0.0, 0.5, 0.5, 1.0, 1.0])
    """
    fps, tps, thr, _, be = _groups(y_true, y_score, pos_label, sample_weight)
    if drop_intermediate and fps.shape[0] > 2:
        fps, tps, thr = _drop_intermediate(fps, tps, thr, be)
    # outputs written once, into arrays with the leading (0, 0, inf) point: no concatenations
    d = fps.shape[0]
    fpr, tpr, thresholds = np.zeros(d + 1), np.zeros(d + 1), np.empty(d + 1)
    thresholds[0], thresholds[1:] = np.inf, thr
    if d == 0 or fps[-1] <= 0:
        warn_undefined("No negative samples in y_true, false positive value should be meaningless", stacklevel=3)
        fpr[:] = np.nan
    else:
        np.divide(fps, fps[-1], out=fpr[1:])
    if d == 0 or tps[-1] <= 0:
        warn_undefined("No positive samples in y_true, true positive value should be meaningless", stacklevel=3)
        tpr[:] = np.nan
    else:
        np.divide(tps, tps[-1], out=tpr[1:])
    return fpr, tpr, thresholds


def precision_recall_curve(y_true, y_score, *, pos_label=None, sample_weight=None, drop_intermediate=False):
    """Precision-recall pairs, as :func:`sklearn.metrics.precision_recall_curve`.

    Examples
    --------
    >>> p, r, thr = precision_recall_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> p.round(3).tolist(), r.tolist(), thr.tolist()
    ([0.5, 0.667, 0.5, 1.0, 1.0], [1.0, 1.0, 0.5, 0.5, 0.0], [0.1, 0.35, 0.4, 0.8])
    """
    fps, tps, thr, dtype, _ = _groups(y_true, y_score, pos_label, sample_weight)
    if drop_intermediate and fps.shape[0] > 2:
        keep = np.r_[True, np.logical_or(np.diff(tps[:-1]), np.diff(tps[1:])), True]
        fps, tps, thr = fps[keep], tps[keep], thr[keep]
    # scikit-learn reverses the curves and appends (1, 0): written straight into reversed views
    d = tps.shape[0]
    precision, recall = np.zeros(d + 1), np.zeros(d + 1)
    precision[d] = 1.0
    ps = tps + fps
    np.divide(tps, ps, out=precision[d - 1 :: -1] if d else precision[:0], where=ps != 0)
    if tps[-1] == 0:
        warnings.warn("No positive class found in y_true, recall is set to one for all thresholds.", stacklevel=2)
        recall[:d] = 1.0
    else:
        np.divide(tps, tps[-1], out=recall[d - 1 :: -1])
    return precision, recall, thr[::-1].astype(dtype)


def _auc(x, y):
    if x.shape[0] < 2:  # e.g. max_fpr on a curve whose fpr is all NaN (no weighted negative)
        raise ValueError(f"At least 2 points are needed to compute area under curve, but x.shape = {x.shape[0]}")
    dx = np.diff(x)
    direction = 1
    if np.any(dx < 0):
        if np.all(dx <= 0):
            direction = -1
        else:
            raise ValueError(f"x is neither increasing nor decreasing : {x}.")
    return float(direction * np.trapezoid(y, x))


def _rank_auc(t, s, positive, backend="auto"):
    """Unweighted full AUC as the exact rank statistic ``U / (n_pos * n_neg)``, rounded once.

    The trapezoids under the tie-grouped ROC curve add up to exactly this fraction (a tie
    between a positive and a negative counts half), so no curve is built: the backend's
    optional ``binary_auc`` entry (numba sums ranks over the two sorted halves; the numpy
    reference adds ``score_groups``' counts, in integers). scikit-learn's float sum of
    trapezoids can differ from it in the last bits.
    """
    be = backends.get(backends.select(backend, t, s))
    twice_u, n_pos, n_neg, invalid = backends.contract.entry(be, "binary_auc")(t, s, positive=positive)
    _raise_invalid(invalid, t, s, None)
    return float(Fraction(twice_u, 2 * n_pos * n_neg))


def _binary_roc_auc(y_true, y_score, sample_weight=None, max_fpr=None, pos_label=None, classes=None):
    classes = _classes(np.asarray(y_true)) if classes is None else classes
    if classes.size != 2:
        warn_undefined("Only one class is present in y_true. ROC AUC score is not defined in that case.", stacklevel=5)
        return np.nan
    if sample_weight is None and (max_fpr is None or max_fpr == 1):
        t, s, _, positive = _binary_inputs(y_true, y_score, classes[-1], None, classes)
        return _rank_auc(t, _exact_order(s)[0], positive)
    fpr, tpr, _ = roc_curve(y_true, y_score, pos_label=pos_label, sample_weight=sample_weight)
    if max_fpr is None or max_fpr == 1:
        return _auc(fpr, tpr)
    stop = np.searchsorted(fpr, max_fpr, "right")
    tpr = np.append(tpr[:stop], np.interp(max_fpr, [fpr[stop - 1], fpr[stop]], [tpr[stop - 1], tpr[stop]]))
    fpr = np.append(fpr[:stop], max_fpr)
    partial = _auc(fpr, tpr)
    min_area, max_area = 0.5 * max_fpr**2, max_fpr
    return 0.5 * (1 + (partial - min_area) / (max_area - min_area))


_AVERAGES = (None, "micro", "macro", "weighted", "samples")


def _score_inputs(y_true, y_score, sample_weight, average):
    """Host ``(t, s, w)`` for the area scores, checked as scikit-learn checks them first.

    ``average`` is validated even where it is unused (binary targets), ``w`` must be 1-D
    (or a column) and there must be at least one sample.
    """
    if average not in _AVERAGES:
        raise ValueError(f"average has to be one of {_AVERAGES}")
    t = as_array(y_true, "y_true", allow_device=False)
    s = as_array(y_score, "y_score", allow_device=False)
    w = _weights(sample_weight)
    if t.shape[0] == 0:
        raise ValueError(f"Found array with 0 sample(s) (shape={t.shape}) while a minimum of 1 is required.")
    t = t.reshape(-1) if t.ndim == 2 and t.shape[1] == 1 else t
    if t.ndim == 2:
        _check_indicator(t)
    lengths = [t.shape[0], s.shape[0]] + ([] if w is None else [w.shape[0]])
    if len(set(lengths)) > 1:
        # before any per-label or per-sample loop, which would index with the wrong length
        raise ValueError(f"Found input variables with inconsistent numbers of samples: {lengths}")
    # scikit-learn checks the scores before looking at the classes (a constant y_true too)
    _non_finite(s, "y_score")
    return t, s, w


def _check_indicator(t):
    """2-D ``y_true`` must be a 0/1 indicator, as scikit-learn's ``type_of_target`` says."""
    if t.dtype.kind in "biu" or t.dtype.kind == "f":
        if t.dtype.kind == "f" and not (np.isfinite(t).all() and (t == np.floor(t)).all()):
            raise ValueError("continuous-multioutput format is not supported")
        if ((t == 0) | (t == 1)).all():
            return
    raise ValueError("multiclass-multioutput format is not supported")


def _average_binary(metric, t, s, average, sample_weight):
    """scikit-learn's ``_average_binary_score`` for (N, L) indicators and scores."""
    if t.shape != s.shape:
        raise ValueError(f"y_true and y_score must have the same shape, got {t.shape} and {s.shape}")
    axis, score_weight, average_weight = 1, sample_weight, None
    if average == "micro":
        score_weight = None if sample_weight is None else np.repeat(sample_weight, t.shape[1])
        t, s = t.reshape(-1, 1), s.reshape(-1, 1)
    elif average == "weighted":
        average_weight = t.sum(axis=0) if sample_weight is None else (t * np.reshape(sample_weight, (-1, 1))).sum(axis=0)
        if np.isclose(average_weight.sum(), 0):
            return 0
    elif average == "samples":
        average_weight, score_weight, axis = sample_weight, None, 0
    n = t.shape[axis]
    score = np.zeros(n)
    for c in range(n):
        tc, sc = (t[:, c], s[:, c]) if axis == 1 else (t[c], s[c])
        score[c] = metric(tc, sc, sample_weight=score_weight)
    if average is None:
        return score
    if average_weight is not None:
        score[average_weight == 0] = 0
    return float(np.average(score, weights=average_weight))


def _ovo_roc_auc(codes, s, average):
    """Hand & Till (2001): the mean over class pairs of the two one-vs-one AUCs.

    ``codes`` are y_true's class indices (the columns of ``s``); "weighted" weighs each
    pair by the fraction of samples in it, as scikit-learn's ``_average_multiclass_ovo_score``.
    """
    present = np.unique(codes)
    pair_scores, prevalence = [], []
    for i, a in enumerate(present):
        for b in present[i + 1:]:
            a_mask, b_mask = codes == a, codes == b
            ab = a_mask | b_mask
            prevalence.append(np.average(ab))
            a_auc = _binary_roc_auc(a_mask[ab], s[ab, a])
            b_auc = _binary_roc_auc(b_mask[ab], s[ab, b])
            pair_scores.append((a_auc + b_auc) / 2)
    return float(np.average(pair_scores, weights=prevalence if average == "weighted" else None))


def roc_auc_score(y_true, y_score, *, average="macro", sample_weight=None, max_fpr=None, multi_class="raise", labels=None):
    """Area under the ROC curve, as :func:`sklearn.metrics.roc_auc_score` (binary, multiclass ovr and ovo, multilabel).

    Weights that are all zero are refused with the ValueError of every drop-in, also where
    ``y_true`` holds one class (for which scikit-learn, and :mod:`fastcm.strict`, return
    NaN with a warning before looking at the weights).

    Examples
    --------
    >>> roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    return roc_auc(y_true, y_score, average=average, sample_weight=sample_weight, max_fpr=max_fpr,
                   multi_class=multi_class, labels=labels, zero_weights="refuse")


def roc_auc(y_true, y_score, *, average, sample_weight, max_fpr, multi_class, labels, zero_weights):
    """:func:`roc_auc_score`; ``zero_weights="sklearn"`` keeps scikit-learn's NaN for one class
    with weights that are all zero (:mod:`fastcm.strict`), ``"refuse"`` refuses them first."""
    if max_fpr is not None and not (isinstance(max_fpr, numbers.Real) and 0 < max_fpr <= 1):
        raise ValueError(f"The 'max_fpr' parameter of roc_auc_score must be a float in the range (0.0, 1.0] or None. Got {max_fpr!r} instead.")
    if multi_class not in ("raise", "ovr", "ovo"):
        raise ValueError(f"The 'multi_class' parameter of roc_auc_score must be one of ('raise', 'ovr', 'ovo'). Got {multi_class!r} instead.")
    ovo_weights = multi_class == "ovo" and sample_weight is not None
    t, s, w = _score_inputs(y_true, y_score, None if ovo_weights else sample_weight, average)
    classes = None if t.ndim == 2 else _classes(t)
    if ovo_weights and not (t.ndim == 1 and (classes.size > 2 or (s.ndim == 2 and s.shape[1] > 2))):
        t, s, w = _score_inputs(y_true, y_score, sample_weight, average)  # not the one-vs-one path
    elif ovo_weights:
        w = sample_weight
    if zero_weights == "refuse" and sample_weight is not None and not _weights(sample_weight).any():
        raise ValueError(ALL_ZERO_WEIGHTS)  # as every drop-in, before one class gives NaN
    if t.ndim == 2:
        return _average_binary(lambda a, b, sample_weight: _binary_roc_auc(a, b, sample_weight, max_fpr), t, s, average, w)
    if classes.size > 2 or (s.ndim == 2 and s.shape[1] > 2):
        if max_fpr is not None and max_fpr != 1.0:
            raise ValueError(f"Partial AUC computation not available in multiclass setting, 'max_fpr' must be set to `None`, received `max_fpr={max_fpr}` instead")
        if multi_class == "raise":
            raise ValueError("multi_class must be in ('ovo', 'ovr')")
        if s.ndim != 2:
            raise ValueError(f"`y_score` needs to be of shape `(n_samples, n_classes)`, since `y_true` contains multiple classes. Got `y_score.shape={s.shape}`.")
        if not np.allclose(1, s.sum(axis=1)):
            raise ValueError("Target scores need to be probabilities for multiclass roc_auc, i.e. they should sum up to 1.0 over classes")
        options = ("micro", "macro", "weighted", None) if multi_class == "ovr" else ("macro", "weighted", None)
        if average not in options:
            raise ValueError(f"average must be one of {options} for multiclass problems")
        if average is None and multi_class == "ovo":
            raise NotImplementedError("average=None is not implemented for multi_class='ovo'.")
        if labels is not None:
            classes = np.asarray(labels).reshape(-1)
            if np.unique(classes).size != classes.size:
                raise ValueError("Parameter 'labels' must be unique")
            if not np.array_equal(np.unique(classes), classes):
                raise ValueError("Parameter 'labels' must be ordered")
            if classes.size != s.shape[1]:
                raise ValueError(f"Number of given labels, {classes.size}, not equal to the number of columns in 'y_score', {s.shape[1]}")
            if np.setdiff1d(t, classes).size:
                raise ValueError("'y_true' contains labels not in parameter 'labels'")
        elif classes.size != s.shape[1]:
            raise ValueError("Number of classes in y_true not equal to the number of columns in 'y_score'")
        if multi_class == "ovo":
            if w is not None:
                raise ValueError("sample_weight is not supported for multiclass one-vs-one ROC AUC, "
                                 "'sample_weight' must be None in this case.")
            return _ovo_roc_auc(np.searchsorted(classes, t), s, average)
        indicator = (t[:, None] == classes[None, :]).astype(np.int8)
        return _average_binary(lambda a, b, sample_weight: _binary_roc_auc(a, b, sample_weight), indicator, s, average, w)
    # the scores' shape is checked after the classes: one class is NaN and a warning, as scikit-learn
    return _binary_roc_auc(t, s, w, max_fpr, pos_label=classes[-1] if classes.size else None, classes=classes)


def _binary_ap(y_true, y_score, pos_label=1, sample_weight=None):
    precision, recall, _ = precision_recall_curve(y_true, y_score, pos_label=pos_label, sample_weight=sample_weight)
    return float(max(0.0, -np.sum(np.diff(recall) * precision[:-1])))


def average_precision_score(y_true, y_score, *, average="macro", pos_label=1, sample_weight=None):
    """Average precision, as :func:`sklearn.metrics.average_precision_score`.

    Examples
    --------
    >>> round(average_precision_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 4)
    0.8333
    """
    t, s, w = _score_inputs(y_true, y_score, sample_weight, average)
    if t.ndim == 2:
        if pos_label != 1:
            raise ValueError("Parameter pos_label is fixed to 1 for multilabel-indicator y_true. Do not set pos_label or set pos_label to 1.")
        return _average_binary(_binary_ap, t, s, average, w)
    present = _classes(t)
    if present.size <= 2:
        if present.size == 2 and pos_label not in present:
            raise ValueError(f"pos_label={pos_label} is not a valid label. It should be one of {present}")
        return _binary_ap(t, _column(s, "y_score"), pos_label, w)
    if pos_label != 1:
        raise ValueError("Parameter pos_label is fixed to 1 for multiclass y_true. Do not set pos_label or set pos_label to 1.")
    indicator = (t[:, None] == present[None, :]).astype(np.int8)
    if s.shape != indicator.shape:
        raise ValueError(f"`y_score` needs to be of shape `(n_samples, n_classes)`, since `y_true` contains multiple classes. Got `y_score.shape={s.shape}`.")
    return _average_binary(_binary_ap, indicator, s, average, w)
