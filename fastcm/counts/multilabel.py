"""``multilabel_confusion_matrix``: one (2, 2) matrix per label, [[tn, fp], [fn, tp]]."""

from __future__ import annotations

import numbers

import numpy as np

from .. import backends
from ..backends.arrays import to_caller, to_host
from .confusion import _check_all_weights_finite, count
from ..core.inputs import as_array, check_weights, to_integer_labels
from ..core.scores import AS_GIVEN, check_scores, logit
from .thresholds import score_reading

__all__ = ["multilabel_confusion_matrix", "is_indicator", "at_or_above"]

#: what every drop-in raises for weights that are all zero (scikit-learn's words)
ALL_ZERO_WEIGHTS = "Sample weights must contain at least one non-zero number."


def is_indicator(a) -> bool:
    """True for a 2-D array holding only 0 and 1 (a multilabel indicator matrix)."""
    a = np.asarray(to_host(a))
    return a.ndim == 2 and a.shape[1] >= 1 and bool(((a == 0) | (a == 1)).all())


def _thresholds(threshold, n_labels):
    thr = np.asarray(threshold, dtype=np.float64)
    if thr.ndim == 0:
        thr = np.full(n_labels, float(thr))
    if thr.shape != (n_labels,) or not np.isfinite(thr).all():
        raise ValueError(f"Expected `threshold` to be a finite number or one per label ({n_labels}), but got {threshold!r}")
    return thr


def multilabel_confusion_matrix(y_true, y_pred, *, sample_weight=None, labels=None, samplewise=False, threshold=0.5,
                                scores="auto", backend="auto", like=None):
    """Per-label (or per-sample) binary confusion matrices, as scikit-learn's.

    ``y_true`` and ``y_pred`` are 1-D multiclass labels (one-vs-rest per label) or (N, L)
    indicator matrices; ``y_pred`` may also hold (N, L) scores, predicted positive when
    ``score >= threshold`` (a number or one per label). Indicator inputs are counted by a
    kernel in one pass.

    (N, L) scores are probabilities or logits, read by the rule of :mod:`fastcm.core.scores`
    (``scores="auto" | "probabilities" | "logits"``, default "auto": any value of ``y_pred``
    outside [0, 1] means logits). Logits go through a sigmoid, never computed: each label's
    threshold is mapped to logit space instead (``sigmoid(x) >= t`` iff ``x >= log(t / (1 -
    t))``). "probabilities" refuses a value outside [0, 1], naming the first. A threshold
    outside [0, 1] is in the scores' own units: under "auto" the scores are then compared
    as given. 0/1 indicator predictions are probabilities, so they are counted as they are.

    Empty input and weights that are all zero are refused with scikit-learn's ValueErrors,
    as by every drop-in score (see :mod:`fastcm.metrics.sklearn`).

    The result is in the array type of ``y_true`` (else ``y_pred``): CPU torch tensors give
    a torch tensor sharing the counts' memory, TensorFlow a ``tf.Tensor``, JAX a
    ``jax.Array``; ``like=`` picks another (``"numpy"``, ...; see :mod:`fastcm.backends.arrays`).

    Examples
    --------
    >>> multilabel_confusion_matrix([[1, 0], [0, 1]], [[1, 1], [0, 0]]).tolist()
    [[[1, 0], [0, 1]], [[0, 1], [1, 0]]]
    >>> multilabel_confusion_matrix([[1, 0]], [[0.7, 0.2]], threshold=[0.5, 0.1]).tolist()
    [[[0, 0], [0, 1]], [[0, 1], [0, 0]]]
    >>> multilabel_confusion_matrix([[1, 0]], [[0.8, -1.4]]).tolist()  # logits: sigmoid 0.69, 0.20
    [[[0, 0], [0, 1]], [[1, 0], [0, 0]]]
    """
    counts = confusion_from_scores(y_true, y_pred, sample_weight, labels, samplewise, threshold, check_scores(scores),
                                   backend)
    return to_caller(counts, like, y_true, y_pred)


def confusion_from_scores(y_true, y_pred, sample_weight, labels, samplewise, threshold, scores, backend):
    """:func:`multilabel_confusion_matrix`, with ``scores`` one of :data:`~fastcm.core.scores.SCORE_KINDS`
    or :data:`~fastcm.core.scores.AS_GIVEN` (scores compared with ``threshold`` as they are)."""
    t = as_array(y_true, "y_true", allow_device=False)
    p = as_array(y_pred, "y_pred", allow_device=False)
    if (_is_column(t) and (_is_column(p) or p.ndim == 1)) or (t.ndim == 1 and _is_column(p)):
        t, p = t.reshape(-1), p.reshape(-1)  # (N, 1) columns are 1-D labels, as scikit-learn's column_or_1d
    if t.shape[0] != p.shape[0]:
        raise ValueError(f"Found input variables with inconsistent numbers of samples: {[t.shape[0], p.shape[0]]}")
    if t.shape[0] == 0:
        raise ValueError(
            "Found empty input array (e.g., `y_true` or `y_pred`) while a minimum of 1 sample is required."
        )
    weights = check_weights(sample_weight, t.shape[0], t)
    if weights is not None and not weights.any():
        raise ValueError(ALL_ZERO_WEIGHTS)  # as every drop-in, and scikit-learn
    _check_all_weights_finite(weights)  # the indicator kernel does not check weights
    if t.ndim == 1 and p.ndim == 1:
        return _multiclass(t, p, weights, labels, samplewise, backend)
    if t.ndim != 2 or p.shape != t.shape:
        raise ValueError(f"Expected 1-D labels or (N, L) indicators of one shape, but got {t.shape} and {p.shape}")
    n_labels, scored = t.shape[1], p
    if labels is not None:
        lab = _column_indices(labels)
        if lab.size and lab.max() >= n_labels:
            raise ValueError(f"All labels must be in [0, n labels) for multilabel targets. Got {lab.max()} > {n_labels - 1}")
        if lab.size and lab.min() < 0:
            raise ValueError(f"All labels must be in [0, n labels) for multilabel targets. Got {lab.min()} < 0")
        t, p = t[:, lab], p[:, lab]
    if t.dtype.kind not in "biuf" or p.dtype.kind not in "biuf":
        raise TypeError(f"Expected numeric indicator matrices, but got {t.dtype} and {p.dtype}")
    if t.dtype.kind == "f":
        t = to_integer_labels(t, "y_true")  # 0.0/1.0 indicators; 0.5 must not truncate to 0
    thr = _thresholds(threshold, t.shape[1])
    # the reading is decided on every column of y_pred, not only those `labels` picks
    if scores != AS_GIVEN and score_reading(scores, scored, thr, name="y_pred") == "logits":
        thr = logit(thr)  # sigmoid(p) >= thr iff p >= logit(thr): exact, and the sigmoid is never computed
    be = backends.get(backends.select(backend, t, p))
    convert, kernel_thr = _block_converter(p, thr)
    if convert is None:
        counts, invalid = be.multilabel_counts(t, p, thr, weights=weights, samplewise=samplewise)
    else:
        counts, invalid = _counts_in_blocks(be, t, p, kernel_thr, weights, samplewise, convert)
    n_bad, pos = (int(v) for v in to_host(invalid))
    if n_bad:
        i, j = divmod(pos, t.shape[1])
        raise ValueError(
            f"Expected 0/1 indicators in `y_true` and finite scores in `y_pred`, but got y_true={t[i, j].item()!r}, "
            f"y_pred={p[i, j].item()!r} at index ({i}, {j})"
        )
    # scikit-learn's per-label sums are float64 whenever there are weights, integer ones
    # included; its per-sample ones only with float weights
    floating = weights is not None and (weights.dtype.kind == "f" or not samplewise)
    counts = counts.astype(np.float64 if floating else np.int64)
    return counts.reshape(-1, 2, 2)


#: cells converted at a time where the kernels cannot read the scores as they are: the copy
#: stays bounded (a few MiB) however many rows there are
_BLOCK_CELLS = 1 << 20

#: every integer of magnitude up to this is a float64, so comparing its float64 value is exact
_FLOAT64_EXACT = 2**53


def _block_converter(p, thr):
    """``(convert, thresholds)`` for scores the kernels cannot compare as they are, else ``(None, thr)``.

    * float16 (numba has no half type): widened to float32, which holds every value exactly;
    * int64/uint64 beyond 2**53 (the kernels compare them as float64, which rounds
      ``2**53 + 3`` up to a threshold of ``2**53 + 4``): replaced by the 0/1 prediction
      ``p >= ceil(thr)``, compared in the scores' own dtype, against thresholds of 1.
      ``p >= x`` for an integer ``p`` holds exactly when ``p >= ceil(x)``; a ceiling above
      the dtype's largest value predicts nothing, one below its smallest everything.
    """
    if p.dtype == np.float16:
        return (lambda block: block.astype(np.float32)), thr
    if not _float_rounds(p):
        return None, thr
    return (lambda block: at_or_above(block, thr).view(np.uint8)), np.ones_like(thr)


def _float_rounds(p) -> bool:
    """Whether ``p`` holds integers that float64 would round (int64/uint64 beyond 2**53)."""
    if p.dtype.kind not in "iu" or p.dtype.itemsize < 8 or p.size == 0:
        return False
    return int(p.min()) < -_FLOAT64_EXACT or int(p.max()) > _FLOAT64_EXACT


def at_or_above(p, threshold):
    """``p >= threshold`` (one threshold per column of ``p``, or one for all), exactly.

    numpy compares int64/uint64 with a float as float64, which rounds values beyond 2**53
    (``2**53 + 3 >= float(2**53 + 4)`` comes out true). For integers ``p >= x`` holds
    exactly when ``p >= ceil(x)``, compared in ``p``'s own dtype; a ceiling above the
    dtype's largest value admits nothing, one below its smallest value everything.

    Examples
    --------
    >>> at_or_above(np.array([[2**53 + 3, 2]]), [float(2**53 + 4), 1.5]).tolist()
    [[False, True]]
    """
    thr = np.asarray(threshold, dtype=np.float64)
    if not _float_rounds(p):
        return p >= thr
    info = np.iinfo(p.dtype)
    c = np.maximum(np.ceil(thr), float(info.min))
    never = c >= float(info.max + 1)  # powers of two: exact as floats
    c = np.where(never, 0.0, c)
    return (p >= c.astype(p.dtype)) & ~never


def _counts_in_blocks(be, t, p, thr, weights, samplewise, convert):
    """The backend's ``multilabel_counts`` over row blocks of ``convert(p)``, put together.

    Per-label counts add up; per-sample ones follow each other. ``invalid`` positions are
    flat indices into the whole ``p``, as one call would give them.
    """
    N, L = t.shape
    rows = max(1, _BLOCK_CELLS // max(L, 1))
    total, parts, n_bad, first = None, [], 0, -1
    for a in range(0, N, rows):
        b = min(N, a + rows)
        w = None if weights is None else weights[a:b]
        counts, invalid = be.multilabel_counts(t[a:b], convert(p[a:b]), thr, weights=w, samplewise=samplewise)
        counts = to_host(counts)
        nb, f = (int(v) for v in to_host(invalid))
        if nb and first < 0:
            first = a * L + f
        n_bad += nb
        if samplewise:
            parts.append(counts)
        else:
            total = counts if total is None else total + counts
    counts = np.concatenate(parts) if samplewise else total
    return counts, np.array([n_bad, first], dtype=np.int64)


def _is_column(a) -> bool:
    return a.ndim == 2 and a.shape[1] == 1


def _column_indices(labels) -> np.ndarray:
    """``labels`` of an indicator matrix as column indices (whole floats accepted, as
    scikit-learn's indexing does); a ValueError for anything else."""
    lab = np.asarray(labels).reshape(-1)
    if lab.size == 0:
        return lab.astype(np.intp)
    if lab.dtype.kind == "f" and np.isfinite(lab).all() and (lab == np.floor(lab)).all():
        lab = lab.astype(np.intp)
    if lab.dtype.kind not in "iu":
        raise ValueError(f"Expected `labels` to be column indices of the indicator matrices, but got {lab.tolist()!r}")
    return lab


def _multiclass(t, p, weights, labels, samplewise, backend="auto"):
    if samplewise:
        raise ValueError(
            "Samplewise metrics are not available outside of multilabel classification. "
            f"Got samplewise=True with 1-D labels of shape {tuple(t.shape)}."
        )
    res = count(t, p, sample_weight=weights, backend=backend)
    cm = to_host(res.counts)
    if not np.trace(cm) or weights is not None:
        cm = cm.astype(np.float64)  # as scikit-learn, whose sums turn float when weighted or no sample is right
    present = res.labels
    tp_all, pred_all, true_all = np.diagonal(cm), cm.sum(axis=0), cm.sum(axis=1)
    wanted = present if labels is None else np.asarray(labels)
    idx = np.searchsorted(present, wanted) if present.size else np.zeros(wanted.shape, np.intp)
    idx_c = np.minimum(idx, max(present.size - 1, 0))
    found = present[idx_c] == wanted if present.size else np.zeros(wanted.shape, bool)
    pick = lambda a: np.where(found, a[idx_c] if a.size else 0, 0)  # noqa: E731
    tp, pred, true = pick(tp_all), pick(pred_all), pick(true_all)
    total = cm.sum()
    fp, fn = pred - tp, true - tp
    tn = total - tp - fp - fn
    out = np.stack([tn, fp, fn, tp], axis=1).reshape(-1, 2, 2)
    return out.astype(cm.dtype)


def _is_number(x) -> bool:
    return isinstance(x, numbers.Number)
