"""Drop-in replacements for ``sklearn.metrics`` classification scores.

Same signatures, defaults, warnings and results as scikit-learn; each builds one
confusion matrix in one pass (:func:`fastcm.counts.confusion.count`) and derives the score from
it with :mod:`fastcm.metrics`. Multilabel indicator inputs go through
:func:`fastcm.multilabel_confusion_matrix`.

One rule for every drop-in here, ``multilabel_confusion_matrix`` and
``top_k_accuracy_score`` included: empty input raises scikit-learn's ValueError ("Found
empty input array ... a minimum of 1 sample is required."), and so do weights that are all
zero ("Sample weights must contain at least one non-zero number."). The counting entry
points built for streaming, :func:`fastcm.confusion_matrix` and the accumulators, count
both instead (an empty or all-zero matrix). :mod:`fastcm.strict` raises exactly what
scikit-learn raises, whose ``top_k_accuracy_score`` divides by the zero weights.
"""

from __future__ import annotations

import numbers
import reprlib
import warnings

import numpy as np

from ..backends.arrays import to_host
from . import matrix as M
from ..counts.confusion import confusion_matrix, count, warn_if_single_label
from ..core.inputs import InvalidInputError, as_array, common_integer_labels
from ..counts.multilabel import ALL_ZERO_WEIGHTS, at_or_above, confusion_from_scores, is_indicator
from ..core.scores import AS_GIVEN
from ..counts.sparse import SparseCounts

__all__ = [
    "accuracy_score",
    "balanced_accuracy_score",
    "classification_report",
    "cohen_kappa_score",
    "f1_score",
    "fbeta_score",
    "jaccard_score",
    "matthews_corrcoef",
    "precision_recall_fscore_support",
    "precision_score",
    "recall_score",
    "top_k_accuracy_score",
]

_AVERAGE_OPTIONS = (None, "micro", "macro", "weighted", "samples")


def _check_inputs(y_true, y_pred, sample_weight=None):
    """Arrays of ``y_true``, ``y_pred`` and the weights, checked as scikit-learn checks them.

    Lengths agree, at least one sample, not all weights zero; (N, 1) columns become 1-D.
    """
    t = as_array(y_true, "y_true")
    p = as_array(y_pred, "y_pred")
    w = None if sample_weight is None else np.asarray(to_host(as_array(sample_weight, "sample_weight")))
    if w is not None and w.ndim != 1:
        # scikit-learn refuses (N, 1) weights too; flattening them would hide a transposed (1, N)
        raise ValueError(f"Sample weights must be 1D array or scalar, got {w.ndim}D array.")
    if w is not None and w.dtype.kind not in "biuf":
        raise InvalidInputError(f"Expected `sample_weight` to be numeric, but got dtype {w.dtype}")
    if t.shape[0] != p.shape[0] or (w is not None and w.shape[0] != t.shape[0]):
        lengths = [t.shape[0], p.shape[0]] + ([] if w is None else [w.shape[0]])
        raise ValueError(f"Found input variables with inconsistent numbers of samples: {lengths}")
    if t.shape[0] == 0:
        raise ValueError(
            "Found empty input array (e.g., `y_true` or `y_pred`) while a minimum of 1 sample is required."
        )
    t = t.reshape(-1) if t.ndim == 2 and t.shape[1] == 1 else t
    p = p.reshape(-1) if p.ndim == 2 and p.shape[1] == 1 else p
    if w is not None and not w.any():
        raise ValueError(ALL_ZERO_WEIGHTS)
    return t, p, w


def _shown(values) -> str:
    """``values`` for a message: a list, its first few items when long."""
    return reprlib.repr(np.asarray(values).tolist())


def _mix_message(t, p):
    return (
        "Classification metrics can't handle a mix of multilabel and other targets: expected 1-D labels or (N, L) "
        f"0/1 indicators on both sides, but got y_true of shape {tuple(t.shape)} and y_pred of shape {tuple(p.shape)}"
    )


def _check_labels_1d(y_true, y_pred, sample_weight=None):
    """``_check_inputs`` for the scores of one multiclass matrix: 2-D targets are refused."""
    t, p, w = _check_inputs(y_true, y_pred, sample_weight)
    if t.ndim == 2 and p.ndim == 2 and is_indicator(t) and is_indicator(p):
        raise ValueError(f"multilabel-indicator is not supported, but got (N, L) indicators of shape {tuple(t.shape)}")
    if t.ndim != 1 or p.ndim != 1:
        raise ValueError(_mix_message(t, p))
    return t, p, w


def _all_in(labels, t, true_sums) -> bool:
    """Whether every one of ``labels`` (int64, from counting) occurs in ``y_true`` ``t``.

    A non-zero row sum of the counts shows its label is there; only the labels of zero rows
    (no sample, or samples that weigh zero in all) are looked up in ``t`` itself.
    """
    missing = true_sums == 0
    t = to_host(t)
    for label in labels[missing].tolist():
        # a label the float dtype cannot hold exactly is in no float y_true (numpy would
        # round it to that dtype before comparing)
        if t.dtype.kind == "f" and float(t.dtype.type(label)) != label:
            return False
        if not (t == label).any():
            return False
    return True


class _Targets:
    """What scikit-learn's ``_check_targets`` learns, plus the one counting pass.

    ``kind`` is "binary", "multiclass" or "multilabel-indicator"; ``labels`` the sorted
    union of present labels (column indices for multilabel); ``counts`` the full matrix
    over ``labels`` (binary/multiclass only).
    """

    def __init__(self, y_true, y_pred, sample_weight=None, threshold=None):
        t, p, self.sample_weight = _check_inputs(y_true, y_pred, sample_weight)
        self.threshold = threshold
        if threshold is not None:
            # fastcm's extension: (N, L) scores against (N, L) indicators, thresholded in the kernel
            if not (t.ndim == 2 and p.shape == t.shape and is_indicator(t)):
                raise ValueError(
                    "Expected `threshold` with (N, L) scores in `y_pred` and an (N, L) 0/1 indicator `y_true`, "
                    f"but got shapes {tuple(t.shape)} and {tuple(p.shape)}"
                )
            if p.dtype.kind not in "biuf":
                raise TypeError(f"Expected numeric scores in `y_pred`, but got dtype {p.dtype}")
        if t.ndim == 2 or p.ndim == 2:
            if not (t.ndim == 2 and p.ndim == 2 and is_indicator(t) and (threshold is not None or is_indicator(p))):
                raise ValueError(_mix_message(t, p))
            if t.shape != p.shape:
                raise ValueError(f"y_true and y_pred must have the same shape, got {t.shape} and {p.shape}")
            self.kind = "multilabel-indicator"
            self.t, self.p = t, p
            self.labels = np.arange(t.shape[1])
            self.counts = None
            return
        # past a thousand classes, per-class counts (true, predicted, correct) in O(C) memory:
        # every metric here but the full matrix needs only those
        res = count(t, p, sample_weight=sample_weight, per_class=True)
        self.per_class = to_host(res.counts) if res.per_class else None
        self.counts = None if res.per_class else res.counts
        self.labels = res.labels
        if t.dtype.kind in "bf" or p.dtype.kind in "bf":
            # counting turned bool and whole-number float labels into int64; scikit-learn
            # names them True/1.0 (reports, dict keys): its label set takes y_true's values
            # first, so y_true's dtype names them unless y_pred brings labels of its own
            dtype = t.dtype if _all_in(self.labels, t, self.true_sums()) else np.result_type(t.dtype, p.dtype)
            self.labels = self.labels.astype(dtype)
        self.kind = "binary" if self.labels.size <= 2 else "multiclass"
        self.t, self.p = t, p

    per_class = None

    def true_sums(self):
        """Pairs (or weights) of each true class."""
        return self.per_class[0] if self.per_class is not None else to_host(self.counts).sum(axis=1)

    def class_counts(self):
        """(correct, predicted, true) per class, host arrays, from the matrix or the per-class pass."""
        if self.per_class is not None:
            return self.per_class[2], self.per_class[1], self.per_class[0]
        cm = to_host(self.counts)
        return np.diagonal(cm).copy(), cm.sum(axis=0), cm.sum(axis=1)

    def _weighted_margins(self, cm, tp):
        """Column and row sums of float-weighted counts, rounded as scikit-learn rounds them.

        scikit-learn adds the weights one by one per class, then goes through
        ``tp + (sum - tp)``; summing the cells of a row rounds differently, and the report
        prints supports with every digit, so this extra pass keeps them identical.
        """
        w = self.sample_weight
        if w is None or w.dtype.kind != "f" or not self.labels.size:
            if cm is None:  # per-class counts
                return self.per_class[1].astype(tp.dtype), self.per_class[0].astype(tp.dtype)
            return cm.sum(axis=0), cm.sum(axis=1)
        size = self.labels.size
        t, p = to_host(self.t).reshape(-1), to_host(self.p).reshape(-1)

        def rows(values):  # compared in one integer type: int64 with uint64 goes through float64
            labels, values = common_integer_labels(self.labels, values)
            return np.searchsorted(labels, values)

        true_sum = np.bincount(rows(t), weights=w, minlength=size)
        pred_sum = np.bincount(rows(p), weights=w, minlength=size)
        return tp + (pred_sum - tp), tp + (true_sum - tp)

    def _weighted_label_sums(self, labels, thr):
        """tp, pred and true sums of weighted indicators, rounded and typed as scikit-learn's.

        scikit-learn adds each column's weights in row order (``np.bincount`` over the
        nonzero entries), then goes through ``tp + (sum - tp)``; as for
        :meth:`_weighted_margins`, the report prints supports with every digit.
        """
        t, p, w = to_host(self.t), to_host(self.p), self.sample_weight
        if labels is not None:
            cols = np.asarray(labels, dtype=np.intp)
            t, p = t[:, cols], p[:, cols]
        truth, hard = t == 1, at_or_above(p, thr)  # exact for integer scores beyond 2**53

        def column_sums(mask):
            rows, cols = np.nonzero(mask)
            return np.bincount(cols, weights=w[rows], minlength=mask.shape[1])  # float64, or int64 when empty

        tp, pred, true = column_sums(truth & hard), column_sums(hard), column_sums(truth)
        # scikit-learn's matrix is float64 with float weights (its tn is a float sum); with
        # integer weights it stays int64 when all three bincounts were empty (support prints 0)
        dtype = np.float64 if w.dtype.kind == "f" else np.result_type(tp, pred, true)
        tp, pred, true = (a.astype(dtype) for a in (tp, pred, true))
        return tp, tp + (pred - tp), tp + (true - tp)

    def stats(self, labels=None, samplewise=False):
        """tp, pred, true sums (float64, or int64 when unweighted) for ``labels`` (default: all)."""
        if self.kind == "multilabel-indicator":
            thr = 0.5 if self.threshold is None else np.asarray(self.threshold, dtype=np.float64)
            if np.ndim(thr) == 1 and labels is not None and thr.shape[0] == self.t.shape[1]:
                thr = thr[np.asarray(labels)]  # a threshold per column follows the chosen columns
            # the drop-ins' threshold= compares the scores as given (their weighted sums do too)
            mcm = confusion_from_scores(self.t, self.p, self.sample_weight, labels, samplewise, thr, AS_GIVEN, "auto")
            if not samplewise and self.sample_weight is not None:
                return self._weighted_label_sums(labels, thr)
            tp = mcm[:, 1, 1]
            return tp, tp + mcm[:, 0, 1], tp + mcm[:, 1, 0]
        if samplewise:
            raise ValueError(
                "Samplewise metrics are not available outside of multilabel classification. "
                f"Got average='samples' with {self.kind} targets."
            )
        cm = None if self.per_class is not None else to_host(self.counts)
        tp_all = self.per_class[2] if cm is None else np.diagonal(cm).copy()
        if not tp_all.sum() or self.sample_weight is not None:
            # scikit-learn builds float sums when weighted (integer weights too) or when no sample
            # is predicted right: its supports then print as 1.0
            cm = None if cm is None else cm.astype(np.float64)
            tp_all = tp_all.astype(np.float64)
        pred_all, true_all = self._weighted_margins(cm, tp_all)
        if labels is None:
            return tp_all, pred_all, true_all
        labels = np.asarray(labels)
        try:
            idx = np.searchsorted(self.labels, labels)
            idx_c = np.minimum(idx, max(self.labels.size - 1, 0))
            found = (self.labels[idx_c] == labels) if self.labels.size else np.zeros(labels.shape, bool)
        except TypeError:  # labels of another kind than the data: none present
            found, idx_c = np.zeros(labels.shape, bool), np.zeros(labels.shape, np.intp)
        pick = lambda a: np.where(found, a[idx_c] if a.size else 0, 0).astype(a.dtype)  # noqa: E731
        return pick(tp_all), pick(pred_all), pick(true_all)


def _set_wise_labels(targets, average, labels, pos_label):
    if average not in _AVERAGE_OPTIONS and average != "binary":
        raise ValueError(f"average has to be one of {_AVERAGE_OPTIONS + ('binary',)}, but got {average!r}")
    if average == "binary":
        if targets.kind == "binary":
            present = targets.labels
            if pos_label not in present.tolist() and len(present) >= 2:
                raise ValueError(f"pos_label={pos_label} is not a valid label. It should be one of {present}")
            return [pos_label]
        options = list(_AVERAGE_OPTIONS)
        if targets.kind == "multiclass":
            options.remove("samples")
        raise ValueError(
            f"Target is {targets.kind} but average='binary'. Please choose another average setting, one of {options!r}."
        )
    if pos_label not in (None, 1):
        warnings.warn(
            f"Note that pos_label (set to {pos_label!r}) is ignored when average != 'binary' (got {average!r}). "
            "You may use labels=[pos_label] to specify a single positive class.",
            UserWarning,
            stacklevel=3,
        )
    return labels


def _prf(targets, *, beta, labels, average, warn_for, zero_division):
    samplewise = average == "samples"
    tp, pred, true = targets.stats(labels, samplewise=samplewise)
    if average == "micro":
        tp, pred, true = tp.sum(keepdims=True), pred.sum(keepdims=True), true.sum(keepdims=True)
    tp_f, pred_f, true_f = (np.asarray(a, dtype=np.float64) for a in (tp, pred, true))
    p = M.divide(tp_f, pred_f, zero_division, "Precision", "predicted", average, warn="precision" in warn_for,
                 axis="sample" if samplewise else "label")
    r = M.divide(tp_f, true_f, zero_division, "Recall", "true", average, warn="recall" in warn_for,
                 axis="sample" if samplewise else "label")
    if np.isposinf(beta):
        f = r
    elif beta == 0:
        f = p
    else:
        b2 = beta**2
        f = M.divide((1 + b2) * tp_f, b2 * true_f + pred_f, zero_division, "F-score", "true nor predicted", average,
                     warn="f-score" in warn_for, axis="sample" if samplewise else "label")
    if average is None:
        return p, r, f, true
    weights = true_f if average == "weighted" else (targets.sample_weight if samplewise else None)
    return M.nanaverage(p, weights), M.nanaverage(r, weights), M.nanaverage(f, weights), None


def precision_recall_fscore_support(
    y_true,
    y_pred,
    *,
    beta=1.0,
    labels=None,
    pos_label=1,
    average=None,
    warn_for=("precision", "recall", "f-score"),
    sample_weight=None,
    zero_division="warn",
    threshold=None,
):
    """Precision, recall, F-beta and support per class or averaged; see scikit-learn's.

    Beyond scikit-learn, ``threshold`` (a number or one per label) lets ``y_pred`` be (N, L)
    multilabel scores against an (N, L) indicator ``y_true``: a label is predicted when its
    score is ``>= threshold``, decided inside the counting kernel. The same keyword works for
    ``precision_score``, ``recall_score``, ``fbeta_score``, ``f1_score``, ``jaccard_score``
    and ``classification_report``.

    Examples
    --------
    >>> y_true = ["cat", "dog", "pig", "cat", "dog", "pig"]
    >>> y_pred = ["cat", "pig", "dog", "cat", "cat", "dog"]
    >>> [round(v, 3) for v in precision_recall_fscore_support(y_true, y_pred, average="macro")[:3]]
    [0.222, 0.333, 0.267]
    """
    M.check_zero_division(zero_division)
    if not isinstance(beta, numbers.Real) or np.isnan(beta) or beta < 0:
        raise ValueError(f"Expected `beta` to be a non-negative number, but got {beta!r}")
    targets = _Targets(y_true, y_pred, sample_weight, threshold)
    labels = _set_wise_labels(targets, average, labels, pos_label)
    return _prf(targets, beta=beta, labels=labels, average=average, warn_for=warn_for, zero_division=zero_division)


def _one_score(y_true, y_pred, which, warn_for, *, beta=1.0, labels, pos_label, average, sample_weight, zero_division,
               threshold=None):
    return precision_recall_fscore_support(
        y_true, y_pred, beta=beta, labels=labels, pos_label=pos_label, average=average, warn_for=warn_for,
        sample_weight=sample_weight, zero_division=zero_division, threshold=threshold,
    )[which]


def precision_score(y_true, y_pred, *, labels=None, pos_label=1, average="binary", sample_weight=None, zero_division="warn",
                    threshold=None):
    """tp / (tp + fp); see :func:`sklearn.metrics.precision_score`.

    >>> precision_score([0, 1, 1, 0], [0, 1, 0, 1])
    0.5
    """
    return _one_score(y_true, y_pred, 0, ("precision",), labels=labels, pos_label=pos_label, average=average,
                      sample_weight=sample_weight, zero_division=zero_division, threshold=threshold)


def recall_score(y_true, y_pred, *, labels=None, pos_label=1, average="binary", sample_weight=None, zero_division="warn",
                 threshold=None):
    """tp / (tp + fn); see :func:`sklearn.metrics.recall_score`.

    >>> recall_score([0, 1, 1, 0], [0, 1, 0, 1])
    0.5
    """
    return _one_score(y_true, y_pred, 1, ("recall",), labels=labels, pos_label=pos_label, average=average,
                      sample_weight=sample_weight, zero_division=zero_division, threshold=threshold)


def fbeta_score(y_true, y_pred, *, beta, labels=None, pos_label=1, average="binary", sample_weight=None, zero_division="warn",
                threshold=None):
    """F-beta score; see :func:`sklearn.metrics.fbeta_score`.

    >>> round(fbeta_score([0, 1, 1, 0], [0, 1, 1, 1], beta=2), 4)
    0.9091
    """
    return _one_score(y_true, y_pred, 2, ("f-score",), beta=beta, labels=labels, pos_label=pos_label, average=average,
                      sample_weight=sample_weight, zero_division=zero_division, threshold=threshold)


def f1_score(y_true, y_pred, *, labels=None, pos_label=1, average="binary", sample_weight=None, zero_division="warn",
             threshold=None):
    """F1 score; see :func:`sklearn.metrics.f1_score`.

    >>> f1_score([0, 1, 2, 2], [0, 2, 2, 1], average="micro")
    0.5
    """
    return fbeta_score(y_true, y_pred, beta=1, labels=labels, pos_label=pos_label, average=average,
                       sample_weight=sample_weight, zero_division=zero_division, threshold=threshold)


def accuracy_score(y_true, y_pred, *, normalize=True, sample_weight=None):
    """Fraction (or, with ``normalize=False``, weighted number) of exact matches.

    >>> accuracy_score([0, 1, 2, 3], [0, 2, 1, 3])
    0.5
    """
    targets = _Targets(y_true, y_pred, sample_weight)
    if targets.kind == "multilabel-indicator":
        hits = (np.asarray(targets.t) == np.asarray(targets.p)).all(axis=1)
        w = targets.sample_weight
        if normalize:
            return float(np.average(hits, weights=w))
        return float(hits.sum() if w is None else np.dot(hits, w))
    if targets.per_class is not None:
        correct = float(targets.per_class[2].astype(np.float64).sum())
        return correct / float(targets.per_class[0].astype(np.float64).sum()) if normalize else correct
    cm = to_host(targets.counts).astype(np.float64)
    correct = float(np.trace(cm))
    return correct / float(cm.sum()) if normalize else correct


def balanced_accuracy_score(y_true, y_pred, *, sample_weight=None, adjusted=False):
    """Mean per-class recall; see :func:`sklearn.metrics.balanced_accuracy_score`.

    >>> balanced_accuracy_score([0, 1, 0, 0, 1, 0], [0, 1, 0, 0, 0, 1])
    0.625
    """
    t, p, _ = _check_labels_1d(y_true, y_pred, sample_weight)
    res = count(t, p, sample_weight=sample_weight, per_class=True)
    if res.per_class:  # many classes: (true, predicted, correct) per class, no matrix
        true, pred, correct = to_host(res.counts)
    else:
        cm = to_host(confusion_matrix(t, p, sample_weight=sample_weight, like="numpy"))
        true, pred, correct = cm.sum(axis=1), cm.sum(axis=0), None
    empty_rows, used_cols = true == 0, pred != 0
    if empty_rows.any() and not (empty_rows & used_cols).any():
        # every label here was seen in y_true or y_pred, so scikit-learn warns for an empty row
        # even when its samples all weigh zero; M.balanced_accuracy only warns for a used column
        warnings.warn("y_pred contains classes not in y_true", stacklevel=2)
    if correct is not None:
        return M.balanced_accuracy_of_class_counts(correct, pred, true, adjusted=adjusted)
    return M.balanced_accuracy(cm, adjusted=adjusted)


def matthews_corrcoef(y_true, y_pred, *, sample_weight=None):
    """Matthews correlation coefficient; see :func:`sklearn.metrics.matthews_corrcoef`.

    >>> round(matthews_corrcoef([1, 1, 1, 0], [1, 0, 1, 1]), 4)
    -0.3333
    """
    targets = _Targets(y_true, y_pred, sample_weight)
    if targets.kind not in ("binary", "multiclass"):
        raise ValueError(f"{targets.kind} is not supported")
    if targets.per_class is not None:
        return M.mcc_of_class_counts(*targets.class_counts())
    warn_if_single_label(targets.counts)
    return M.mcc(targets.counts)


def cohen_kappa_score(y1, y2, *, labels=None, weights=None, sample_weight=None, replace_undefined_by=np.nan):
    """Cohen's kappa between two raters; see :func:`sklearn.metrics.cohen_kappa_score`.

    >>> round(cohen_kappa_score(["a", "b", "b", "c"], ["a", "b", "c", "c"]), 4)
    0.6364
    """
    M.check_kappa_weights(weights)
    y1, y2, _ = _check_labels_1d(y1, y2, sample_weight)
    try:
        # past a thousand classes: per-class counts (unweighted kappa needs only the diagonal
        # and the margins), or the cells pairs touched (linear and quadratic weights)
        res = count(y1, y2, labels=labels, sample_weight=sample_weight, per_class=True)
        if res.per_class and weights is not None:
            res = count(y1, y2, labels=labels, sample_weight=sample_weight, sparse=True)
    except ValueError as exc:
        if "At least one label specified must be in y_true" in str(exc):
            raise ValueError(
                "At least one label in `labels` must be present in `y1` (even though `cohen_kappa_score` is "
                f"otherwise agnostic to the order of `y1` and `y2`). Got labels={_shown(labels)}."
            ) from exc
        raise
    if res.per_class:
        true, pred, correct = to_host(res.counts)
        return M.kappa_of_class_counts(correct, pred, true, replace_undefined_by)
    if isinstance(res.counts, SparseCounts):
        return M.cohen_kappa(res.counts.to_scipy(), weights=weights, replace_undefined_by=replace_undefined_by)
    warn_if_single_label(res.counts)  # as confusion_matrix, which scikit-learn's kappa calls
    return M.cohen_kappa(to_host(res.counts), weights=weights, replace_undefined_by=replace_undefined_by)


def jaccard_score(y_true, y_pred, *, labels=None, pos_label=1, average="binary", sample_weight=None, zero_division="warn",
                  threshold=None):
    """Jaccard index (IoU); see :func:`sklearn.metrics.jaccard_score`.

    >>> jaccard_score([0, 1, 1, 1], [1, 1, 1, 0])
    0.5
    """
    if not (isinstance(zero_division, str) and zero_division == "warn") and zero_division not in (0, 1):
        raise ValueError(f"Expected `zero_division` to be 'warn', 0 or 1, but got {zero_division!r}")
    targets = _Targets(y_true, y_pred, sample_weight, threshold)
    labels = _set_wise_labels(targets, average, labels, pos_label)
    samplewise = average == "samples"
    tp, pred, true = targets.stats(labels, samplewise=samplewise)
    num = np.asarray(tp, dtype=np.float64)
    den = np.asarray(pred + true - tp, dtype=np.float64)
    if average == "micro":
        num, den = num.sum(keepdims=True), den.sum(keepdims=True)
    score = M.divide(num, den, zero_division, "Jaccard", "true or predicted", average,
                     axis="sample" if samplewise else "label")
    if average is None:
        return score
    weights = None
    if average == "weighted":
        weights = np.asarray(true, dtype=np.float64)
        if not weights.any():
            weights = None
    elif samplewise and targets.sample_weight is not None:
        weights = targets.sample_weight
    return float(np.average(score, weights=weights))


def classification_report(
    y_true,
    y_pred,
    *,
    labels=None,
    target_names=None,
    sample_weight=None,
    digits=2,
    output_dict=False,
    zero_division="warn",
    threshold=None,
):
    """Text (or dict) report of precision, recall, F1 and support, byte-identical to scikit-learn's.

    >>> print(classification_report([0, 1, 2, 2, 2], [0, 0, 2, 2, 1], target_names=["a", "b", "c"]))
    ... # doctest: +NORMALIZE_WHITESPACE
                  precision    recall  f1-score   support
    <BLANKLINE>
               a       0.50      1.00      0.67         1
               b       0.00      0.00      0.00         1
               c       1.00      0.67      0.80         3
    <BLANKLINE>
        accuracy                           0.60         5
       macro avg       0.50      0.56      0.49         5
    weighted avg       0.70      0.60      0.61         5
    <BLANKLINE>
    """
    targets = _Targets(y_true, y_pred, sample_weight, threshold)
    labels_given = labels is not None
    labels = targets.labels if labels is None else np.asarray(labels)
    micro_is_accuracy = targets.kind in ("multiclass", "binary") and (
        not labels_given or set(labels.tolist()) >= set(targets.labels.tolist())
    )
    if target_names is not None and len(labels) != len(target_names):
        if labels_given:
            warnings.warn(f"labels size, {len(labels)}, does not match size of target_names, {len(target_names)}",
                          stacklevel=2)
        else:
            raise ValueError(
                f"Number of classes, {len(labels)}, does not match size of target_names, {len(target_names)}. "
                "Try specifying the labels parameter"
            )
    if target_names is None:
        target_names = [f"{label}" for label in labels]
    common = dict(beta=1.0, labels=labels, warn_for=("precision", "recall", "f-score"), zero_division=zero_division)
    p, r, f, s = _prf(targets, average=None, **common)
    names = list(target_names) if output_dict else [str(n) for n in target_names]  # dict keys: as given
    rows = list(zip(names, p, r, f, s))
    options = ("micro", "macro", "weighted") + (("samples",) if targets.kind == "multilabel-indicator" else ())
    averages = []
    for average in options:
        heading = "accuracy" if average == "micro" and micro_is_accuracy else f"{average} avg"
        ap, ar, af, _ = _prf(targets, average=average, **common)
        averages.append((heading, ap, ar, af, np.sum(s)))
    names, p, r, f, s = (list(col) for col in zip(*rows)) if rows else ([], [], [], [], [])
    from ..present.report import format_report  # the floor above: text, on demand


    return format_report(names, p, r, f, s, averages, digits=digits, output_dict=output_dict)


def top_k_accuracy_score(y_true, y_score, *, k=2, normalize=True, sample_weight=None, labels=None):
    """Fraction of samples whose true class is among the ``k`` highest scores.

    Counted by a kernel in one pass without sorting: the true class is a hit when fewer
    than ``k`` classes outrank it (ties ranked as scikit-learn's stable sort does). Empty
    input and weights that are all zero raise a ValueError, as for every drop-in.

    >>> top_k_accuracy_score([0, 1, 2, 2], [[0.5, 0.2, 0.2], [0.3, 0.4, 0.2], [0.2, 0.4, 0.3], [0.7, 0.2, 0.1]], k=2)
    0.75
    """
    from ..counts.topk import top_k_hits

    return top_k_hits(y_true, y_score, k=k, normalize=normalize, sample_weight=sample_weight, labels=labels)
