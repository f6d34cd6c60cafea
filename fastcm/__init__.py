"""fastcm: confusion matrices and classification metrics over billions of predictions.

Counting runs in one pass in compiled kernels (numba on the CPU, CuPy on NVIDIA GPUs);
every metric is arithmetic on the resulting count matrix. ``import fastcm`` is cheap:
numba and CuPy load on first use.

Examples
--------
>>> import fastcm
>>> fastcm.confusion_matrix([0, 1, 1], [0, 1, 0]).tolist()
[[1, 0], [1, 1]]
"""

from . import metrics
from . import strict  # scikit-learn-exact drop-ins: from fastcm import strict as metrics
from .calibration import CalibrationError, calibration_error
from .compare import Comparison, PairedComparison, compare
from .confusion import confusion_matrix
from .curves import average_precision_score, precision_recall_curve, roc_auc_score, roc_curve
from .diagnose import diagnose
from .evaluate import evaluate
from .gates import check
from .exceptions import UndefinedMetricWarning
from .multilabel import multilabel_confusion_matrix
from .operating_points import OperatingPoint, threshold_for
from .sklearn_metrics import (
    accuracy_score,
    balanced_accuracy_score,
    classification_report,
    cohen_kappa_score,
    f1_score,
    fbeta_score,
    jaccard_score,
    matthews_corrcoef,
    precision_recall_fscore_support,
    precision_score,
    recall_score,
    top_k_accuracy_score,
)
from .stream import ConfusionMatrix
from .stream_thresholds import ThresholdConfusionMatrix
from .thresholds import binary_confusion_matrix, threshold_confusion_matrices
from .warmup import warm_up

__version__ = "0.1.0"

__all__ = [
    "CalibrationError",
    "Comparison",
    "ConfusionMatrix",
    "OperatingPoint",
    "PairedComparison",
    "ThresholdConfusionMatrix",
    "UndefinedMetricWarning",
    "accuracy_score",
    "average_precision_score",
    "balanced_accuracy_score",
    "binary_confusion_matrix",
    "calibration_error",
    "check",
    "classification_report",
    "cohen_kappa_score",
    "compare",
    "confusion_matrix",
    "diagnose",
    "evaluate",
    "f1_score",
    "fbeta_score",
    "jaccard_score",
    "matthews_corrcoef",
    "metrics",
    "multilabel_confusion_matrix",
    "precision_recall_curve",
    "precision_recall_fscore_support",
    "precision_score",
    "recall_score",
    "roc_auc_score",
    "roc_curve",
    "strict",
    "threshold_confusion_matrices",
    "threshold_for",
    "top_k_accuracy_score",
    "warm_up",
    "__version__",
]

#: submodules with heavy or optional dependencies, imported on first attribute access so
#: that ``fastcm.plot.per_class_bars`` works after a plain ``import fastcm``
_LAZY_SUBMODULES = frozenset({"plot", "dask", "io", "cli", "backends", "persist", "inputs"})


def __getattr__(name):
    if name in _LAZY_SUBMODULES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
