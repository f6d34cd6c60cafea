"""Calibration: can the predicted probabilities be trusted?

Expected and maximum calibration error (ECE, MCE) over equal-width bins of the top-class
confidence, counted in the same pass that counts the confusion matrix from (N, C)
probabilities or logits, in constant memory: the state is ``n_bins + 1`` slots of
(count, sum of confidence, number correct), plus the (C, C) matrix, plus (with
``per_class=True``) the same slots for each class's one-vs-rest probability.

Binning is torchmetrics' (``MulticlassCalibrationError``): the edges are
``torch.linspace(0, 1, n_bins + 1)`` in the scores' dtype and a confidence ``c`` lands in
slot ``bucketize(c, edges, right=True) - 1``, so slot ``b < n_bins`` holds
``edges[b] <= c < edges[b + 1]`` and the extra last slot holds confidences of exactly 1
(saturated softmax outputs). With slot proportions ``w_b``, accuracies ``acc_b`` and mean
confidences ``conf_b``::

    ECE = sum_b w_b |acc_b - conf_b|      MCE = max over non-empty slots |acc_b - conf_b|
    RMSCE = sqrt(sum_b w_b (acc_b - conf_b)**2)

``scores="logits"`` applies a softmax inside the kernel (max-subtracted, in float64).
Probabilities must be a distribution over the classes: every column in [0, 1] and each row
summing to 1 within :data:`ROW_SUM_TOLERANCE` (0.01: float32 softmax outputs and values
rounded to a few decimals pass; logits that happen to lie in [0, 1], binary ``[0, z]``
logits, per-class sigmoids and rows summing to 0.5 do not). Both are checked in the same
pass that counts, and a row that fails is a ValueError naming it and saying to pass
``scores="logits"``: the top-class confidence of such a row is not a probability, and its
ECE would be a wrong number, not an approximate one. ``scores="probabilities"`` refuses
such rows; ``scores="auto"`` (the default) follows :mod:`fastcm.core.scores`: any value outside
[0, 1] means logits (softmaxed), decided on an accumulator's first batch, and scores that
all lie in [0, 1] are read as probabilities and so refused in the same way when a row is
not a distribution (never guessed to be logits: values in [0, 1] are as likely per-class
sigmoids, for which a softmax is just as wrong).

Examples
--------
>>> import numpy as np
>>> probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
>>> import fastcm
>>> res = fastcm.CalibrationError(n_bins=5).update([0, 1, 1, 1], probs).compute()
>>> round(res.ece, 4), round(res.mce, 4)
(0.15, 0.15)
>>> res.matrix.tolist()
[[1, 0], [1, 2]]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.inputs import check_num_classes
from ..core.scores import check_scores, read_scores
from ..counts.calibration import ROW_SUM_TOLERANCE, bin_edges, check_n_bins, count_bins, prepare

__all__ = ["CalibrationResult", "ROW_SUM_TOLERANCE", "bin_edges", "calibration_error", "calibration_errors"]

SCORE_KINDS = ("auto", "probabilities", "logits")
NORMS = ("l1", "max", "l2")


@dataclass(frozen=True)
class CalibrationResult:
    """What :meth:`CalibrationError.compute` returns (host numpy arrays).

    Attributes
    ----------
    ece, mce, rmsce : float
        Expected, maximum and root-mean-square calibration error of the top-class
        confidence; NaN when nothing was counted.
    bin_edges : (n_bins + 1,) float64
    bin_counts : (n_bins + 1,) int64
        Predictions per slot; the last slot holds confidences equal to 1.
    bin_confidence, bin_accuracy : (n_bins + 1,) float64
        Mean confidence and fraction correct per slot (NaN where empty).
    matrix : (C, C) int64
        The confusion matrix (rows true, columns argmax) counted in the same pass.
    n_samples : int
    classwise_ece, classwise_mce : (C,) float64 or None
        One-vs-rest calibration error of each class's probability (``per_class=True``).
    classwise_bin_counts, classwise_bin_confidence, classwise_bin_accuracy : (C, n_bins + 1) or None
    """

    ece: float
    mce: float
    rmsce: float
    bin_edges: np.ndarray
    bin_counts: np.ndarray
    bin_confidence: np.ndarray
    bin_accuracy: np.ndarray
    matrix: np.ndarray
    n_samples: int
    classwise_ece: np.ndarray | None = None
    classwise_mce: np.ndarray | None = None
    classwise_bin_counts: np.ndarray | None = None
    classwise_bin_confidence: np.ndarray | None = None
    classwise_bin_accuracy: np.ndarray | None = None

    def plot(self, ax=None):
        """The reliability diagram (see :func:`fastcm.plot.reliability_diagram`)."""
        from ..present.plots import reliability_diagram

        return reliability_diagram(self, ax=ax)


def calibration_errors(counts, conf_sum, correct):
    """(ece, mce, rmsce, mean confidence, accuracy) over the last axis of slot sums."""
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        conf = np.where(counts > 0, conf_sum / counts, np.nan)
        acc = np.where(counts > 0, correct / counts, np.nan)
        gap = np.where(counts > 0, np.abs(acc - conf), 0.0)
        w = counts / total[..., None]
        ece = np.where(total > 0, np.sum(w * gap, axis=-1), np.nan)
        rms = np.where(total > 0, np.sqrt(np.sum(w * gap * gap, axis=-1)), np.nan)
    mce = np.where(total > 0, gap.max(axis=-1, initial=0.0), np.nan)
    return ece, mce, rms, conf, acc


def calibration_error(y_true, y_score, n_bins=15, norm="l1", *, scores="auto", num_classes=None, backend="auto"):
    """Top-label calibration error of one set of (N, C) probabilities or logits.

    Parameters
    ----------
    y_true : array-like of shape (N,)
        Class indices ``0..C-1``.
    y_score : array-like of shape (N, C)
    n_bins : int, default=15
    norm : {"l1", "max", "l2"}
        "l1": expected calibration error (ECE); "max": maximum (MCE); "l2": root mean square.
    scores : {"auto", "probabilities", "logits"}, default="auto"
        See :class:`CalibrationError` and :mod:`fastcm.core.scores`.
    num_classes : int, optional
    backend : {"auto", "numba", "numpy", "cupy"}

    Returns
    -------
    float (NaN for empty input)

    Examples
    --------
    >>> y_score = [[0.9, 0.1], [0.4, 0.6], [0.7, 0.3]]
    >>> round(calibration_error([0, 1, 1], y_score, n_bins=10), 4)
    0.4
    >>> round(calibration_error([0, 1, 1], y_score, n_bins=10, norm="max"), 4)
    0.7
    """
    if norm not in NORMS:
        raise ValueError(f"Expected `norm` to be one of {NORMS}, but got {norm!r}")
    n_bins, scores = check_n_bins(n_bins), check_scores(scores)
    t, s = prepare(y_true, y_score, check_num_classes(num_classes), scores)
    reading = read_scores("auto", s) if scores == "auto" and s.size else scores
    _, counts, conf, correct, *_ = count_bins(t, s, n_bins, s.shape[1], reading == "logits", False, backend)
    ece, mce, rms, _, _ = calibration_errors(counts, conf, correct)
    return float({"l1": ece, "max": mce, "l2": rms}[norm])
