"""ROC and precision-recall points, AUROC and average precision of threshold matrices.

Threshold matrices are ``[[tn, fp], [fn, tp]]`` of shape (..., T, 2, 2), one per threshold
from the lowest up (matrix ``j`` predicts positive iff ``score >= thresholds[j]``), as
:func:`fastcm.threshold_confusion_matrices` and :class:`fastcm.ThresholdConfusionMatrix`
give them. The accumulator, the plots and the command line read their binned curves here,
so the three agree to the last bit.

Examples
--------
>>> import numpy as np
>>> m = np.array([[[0, 2], [0, 2]], [[1, 1], [0, 2]], [[2, 0], [1, 1]]])
>>> auroc(m), average_precision(m)
(0.875, 0.8333333333333333)
"""

from __future__ import annotations

import numpy as np

from ..backends.arrays import to_host

__all__ = ["auroc", "average_precision", "one_class", "pr_points", "prevalence", "rates", "roc_points"]


def _cells(counts):
    m = np.asarray(to_host(counts), dtype=np.float64)  # synchronize! (device counts)
    if m.ndim < 3 or m.shape[-2:] != (2, 2):
        raise ValueError(f"Expected threshold matrices of shape (..., T, 2, 2), but got shape {m.shape}")
    return m[..., 0, 0], m[..., 0, 1], m[..., 1, 0], m[..., 1, 1]


def rates(counts):
    """(precision, recall, fpr) at each threshold, each of shape (..., T).

    Precision is 1 where nothing is predicted positive (scikit-learn's end point); recall is
    0 without positives and the false positive rate 0 without negatives.

    Examples
    --------
    >>> import numpy as np
    >>> p, r, f = rates(np.array([[[0, 2], [0, 2]], [[2, 0], [1, 1]]]))
    >>> p.tolist(), r.tolist(), f.tolist()
    ([0.5, 1.0], [1.0, 0.5], [1.0, 0.0])
    """
    tn, fp, fn, tp = _cells(counts)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(tp + fp > 0, tp / np.where(tp + fp > 0, tp + fp, 1), 1.0)
        recall = np.where(tp + fn > 0, tp / np.where(tp + fn > 0, tp + fn, 1), 0.0)
        fpr = np.where(fp + tn > 0, fp / np.where(fp + tn > 0, fp + tn, 1), 0.0)
    return precision, recall, fpr


def roc_points(counts):
    """(fpr, tpr) from the lowest threshold up, closed by the end points (1, 1) first and (0, 0) last.

    Examples
    --------
    >>> import numpy as np
    >>> fpr, tpr = roc_points(np.array([[[0, 2], [0, 2]], [[1, 1], [0, 2]], [[2, 0], [1, 1]]]))
    >>> fpr.tolist(), tpr.tolist()
    ([1.0, 1.0, 0.5, 0.0, 0.0], [1.0, 1.0, 1.0, 0.5, 0.0])
    """
    _, tpr, fpr = rates(counts)
    ones, zeros = np.ones(fpr.shape[:-1] + (1,)), np.zeros(fpr.shape[:-1] + (1,))
    return np.concatenate([ones, fpr, zeros], axis=-1), np.concatenate([ones, tpr, zeros], axis=-1)


def pr_points(counts):
    """(precision, recall) at each threshold, from the lowest up.

    Examples
    --------
    >>> import numpy as np
    >>> p, r = pr_points(np.array([[[0, 2], [0, 2]], [[2, 0], [1, 1]]]))
    >>> p.tolist(), r.tolist()
    ([0.5, 1.0], [1.0, 0.5])
    """
    precision, recall, _ = rates(counts)
    return precision, recall


def auroc(counts):
    """Trapezoidal area under the ROC curve through :func:`roc_points`: a float for (T, 2, 2)
    matrices, an array for more leading axes. A curve whose truth holds one class gets the
    area of its degenerate points; :func:`one_class` tells which those are.

    Examples
    --------
    >>> import numpy as np
    >>> auroc(np.array([[[0, 2], [0, 2]], [[1, 1], [0, 2]], [[2, 0], [1, 1]]]))
    0.875
    """
    x, y = roc_points(counts)
    area = 0.0 - np.trapezoid(y, x, axis=-1)  # the points run from x = 1 down to 0; 0.0 - : no -0.0
    return area if np.ndim(area) else float(area)


def average_precision(counts):
    """Average precision as scikit-learn sums it: each drop in recall from one threshold to
    the next times the precision before the drop, the last threshold dropping to recall 0.

    Examples
    --------
    >>> import numpy as np
    >>> average_precision(np.array([[[0, 2], [0, 2]], [[2, 0], [1, 1]]]))
    0.75
    """
    precision, recall, _ = rates(counts)
    r = np.concatenate([recall, np.zeros(recall.shape[:-1] + (1,))], axis=-1)
    ap = 0.0 + np.sum((r[..., :-1] - r[..., 1:]) * precision, axis=-1)
    return ap if np.ndim(ap) else float(ap)


def one_class(counts):
    """Per curve: True where the truth holds only positives or only negatives (no ROC area).

    Examples
    --------
    >>> import numpy as np
    >>> bool(one_class(np.array([[[0, 0], [1, 1]]])))
    True
    """
    tn, fp, fn, tp = _cells(counts)
    positives, negatives = (fn + tp)[..., 0], (tn + fp)[..., 0]
    return (positives == 0) | (negatives == 0)


def prevalence(counts):
    """The share of positives in the truth of one curve's (T, 2, 2) matrices, None when empty.

    Examples
    --------
    >>> import numpy as np
    >>> prevalence(np.array([[[1, 1], [0, 2]]]))
    0.5
    """
    tn, fp, fn, tp = _cells(counts)
    if not tn.size:
        return None
    total = float(tn.reshape(-1)[0] + fp.reshape(-1)[0] + fn.reshape(-1)[0] + tp.reshape(-1)[0])
    return float(fn.reshape(-1)[0] + tp.reshape(-1)[0]) / total if total > 0 else None
