"""Metrics as functions of a count matrix (``fastcm.metrics``): no metric touches the predictions.

The functions live in :mod:`fastcm.metrics.matrix`; this package also holds the exact
curves (:mod:`~fastcm.metrics.ranking`), scikit-learn's drop-ins
(:mod:`~fastcm.metrics.sklearn`) and their scikit-learn-exact twins (``fastcm.strict``).

Examples
--------
>>> import numpy as np
>>> from fastcm import metrics
>>> round(metrics.f1(np.array([[5, 1], [2, 2]]), average="macro"), 3)
0.67
"""

from . import matrix
from .matrix import *  # noqa: F403  the names of fastcm.metrics.matrix, listed in its __all__
from ..answers.intervals import confidence_interval  # noqa: E402  the face reaches the floors above:
from ..present.report import report  # noqa: E402  a metric's interval, the report's text

__all__ = [*matrix.__all__, "confidence_interval", "report"]
