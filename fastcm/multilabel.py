"""``multilabel_confusion_matrix``: one (2, 2) matrix per label, [[tn, fp], [fn, tp]]."""

from __future__ import annotations

import numbers

import numpy as np

from . import backends
from .confusion import _check_all_weights_finite, _host, count
from .inputs import as_array, check_weights, to_integer_labels

__all__ = ["multilabel_confusion_matrix", "is_indicator"]


def is_indicator(a) -> bool:
    """True for a 2-D array holding only 0 and 1 (a multilabel indicator matrix)."""
    a = np.asarray(_host(a))
    return a.ndim == 2 and a.shape[1] >= 1 and bool(((a == 0) | (a == 1)).all())


def _thresholds(threshold, n_labels):
    thr = np.asarray(threshold, dtype=np.float64)
    if thr.ndim == 0:
        thr = np.full(n_labels, float(thr))
    if thr.shape != (n_labels,) or not np.isfinite(thr).all():
        raise ValueError(f"Expected `threshold` to be a finite number or one per label ({n_labels}), but got {threshold!r}")
    return thr


def multilabel_confusion_matrix(y_true, y_pred, *, sample_weight=None, labels=None, samplewise=False, threshold=0.5,
                                backend="auto"):
    """Per-label (or per-sample) binary confusion matrices, as scikit-learn's.

    ``y_true`` and ``y_pred`` are 1-D multiclass labels (one-vs-rest per label) or (N, L)
    indicator matrices; ``y_pred`` may also hold (N, L) scores, predicted positive when
    ``score >= threshold`` (a number or one per label). Indicator inputs are counted by a
    kernel in one pass.

    Examples
    --------
    >>> multilabel_confusion_matrix([[1, 0], [0, 1]], [[1, 1], [0, 0]]).tolist()
    [[[1, 0], [0, 1]], [[0, 1], [1, 0]]]
    >>> multilabel_confusion_matrix([[1, 0]], [[0.7, 0.2]], threshold=[0.5, 0.1]).tolist()
    [[[0, 0], [0, 1]], [[0, 1], [0, 0]]]
    """
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
    _check_all_weights_finite(weights)  # the indicator kernel does not check weights
    if t.ndim == 1 and p.ndim == 1:
        return _multiclass(t, p, weights, labels, samplewise, backend)
    if t.ndim != 2 or p.shape != t.shape:
        raise ValueError(f"Expected 1-D labels or (N, L) indicators of one shape, but got {t.shape} and {p.shape}")
    n_labels = t.shape[1]
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
    be = backends.get(backends.select(backend, t, p))
    counts, invalid = be.multilabel_counts(t, p, thr, weights=weights, samplewise=samplewise)
    n_bad, pos = (int(v) for v in _host(invalid))
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
        raise ValueError("Samplewise metrics are not available outside of multilabel classification.")
    res = count(t, p, sample_weight=weights, backend=backend)
    cm = _host(res.counts)
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
