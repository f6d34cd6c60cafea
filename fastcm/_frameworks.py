"""What the training-framework adapters (:mod:`fastcm.torch`, :mod:`fastcm.keras`) share:
argument checks and the table of metrics computed from the accumulated (C, C) counts.

The adapters only hold the counts in their framework's state and call these helpers, so a
value in PyTorch, in Keras and in :mod:`fastcm.metrics` is one computation.
"""

from __future__ import annotations

import numbers

from .metrics import matrix as _metrics

__all__ = ["AVERAGES", "check_average", "check_num_classes", "value"]

#: ``average=`` as the frameworks spell it ("none" is torchmetrics' per-class result)
AVERAGES = ("micro", "macro", "weighted", "none", None)


def check_num_classes(num_classes) -> int:
    if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral) or num_classes < 2:
        raise ValueError(f"Expected `num_classes` to be an int of at least 2, but got {num_classes!r}")
    return int(num_classes)


def check_average(average):
    """``average`` as :mod:`fastcm.metrics` takes it ("none" -> None)."""
    if average not in AVERAGES:
        raise ValueError(f"Expected `average` to be one of {AVERAGES}, but got {average!r}")
    return None if average == "none" else average


def value(metric: str, cm, average, beta=1.0):
    """``metric`` of the counts ``cm`` (numpy or CuPy), undefined ratios as 0 (the frameworks'
    convention: no warning from inside a training loop)."""
    if metric == "accuracy":
        return _metrics.accuracy(cm)
    if metric == "precision":
        return _metrics.precision(cm, average, zero_division=0)
    if metric == "recall":
        return _metrics.recall(cm, average, zero_division=0)
    if metric == "fbeta":
        return _metrics.fbeta(cm, beta, average, zero_division=0)
    if metric == "iou":
        return _metrics.iou(cm, average, zero_division=0)
    raise ValueError(f"Expected a metric among accuracy, precision, recall, fbeta, iou, but got {metric!r}")
