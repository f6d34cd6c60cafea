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
from .accumulate.confusion import ConfusionMatrix
from .accumulate.evaluate import evaluate
from .accumulate.thresholds import ThresholdConfusionMatrix
from .accumulate.calibration import CalibrationError
from .answers.calibration import calibration_error
from .answers.compare import Comparison, PairedComparison, compare
from .answers.diagnose import diagnose
from .answers.gates import check
from .answers.operating_points import OperatingPoint, threshold_for
from .core.exceptions import UndefinedMetricWarning
from .counts.confusion import confusion_matrix
from .counts.multilabel import multilabel_confusion_matrix
from .counts.thresholds import binary_confusion_matrix, threshold_confusion_matrices
from .warmup import warm_up
from .metrics import strict  # scikit-learn-exact drop-ins: from fastcm import strict as metrics
from .metrics.ranking import average_precision_score, precision_recall_curve, roc_auc_score, roc_curve
from .metrics.sklearn import (
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

#: module paths of the flat layout this package grew out of, kept importable as they were
#: (``import fastcm.stream``, ``from fastcm.plot import ...``, pickles naming them): each
#: name is the same module object as its home in the layered layout (see DESIGN.md, Layout)
MOVED_MODULES = {
    "array_types": "backends.arrays",
    "calibration": "answers.calibration",
    "compare": "answers.compare",
    "confusion": "counts.confusion",
    "curves": "metrics.ranking",
    "diagnose": "answers.diagnose",
    "evaluate": "accumulate.evaluate",
    "exceptions": "core.exceptions",
    "gates": "answers.gates",
    "inputs": "core.inputs",
    "intervals": "answers.intervals",
    "io": "cli.io",
    "multilabel": "counts.multilabel",
    "operating_points": "answers.operating_points",
    "overflow": "core.overflow",
    "persist": "accumulate.files",
    "plot": "present.plots",
    "report": "present.report",
    "scores": "core.scores",
    "sklearn_metrics": "metrics.sklearn",
    "stream": "accumulate.confusion",
    "stream_thresholds": "accumulate.thresholds",
    "strict": "metrics.strict",
    "thresholds": "counts.thresholds",
    "topk": "counts.topk",
}

#: submodules with heavy or optional dependencies, imported on first attribute access so
#: that ``fastcm.plot.per_class_bars`` works after a plain ``import fastcm``
_LAZY_SUBMODULES = frozenset({"dask", "cli", "backends"})


class _MovedModuleFinder:
    """Import ``fastcm.<old name>`` as the module it moved to (one object, two names)."""

    @staticmethod
    def find_spec(fullname, path=None, target=None):
        prefix, _, name = fullname.partition(".")
        if prefix != __name__ or name not in MOVED_MODULES:
            return None
        import importlib.util

        return importlib.util.spec_from_loader(fullname, _MovedModuleFinder)

    @staticmethod
    def create_module(spec):
        import importlib

        module = importlib.import_module(f"{__name__}.{MOVED_MODULES[spec.name.partition('.')[2]]}")
        spec.loader_state = module.__spec__  # importlib puts the alias's spec on the module
        return module

    @staticmethod
    def exec_module(module):
        module.__spec__ = module.__spec__.loader_state or module.__spec__  # already executed


import sys as _sys  # noqa: E402

_sys.meta_path.insert(0, _MovedModuleFinder)  # before an editable install's finder, which may map fastcm elsewhere
# the homes imported above are named under their old paths at once: importing a module
# the finder loads binds it on the package, which must not replace the function named
# like it (fastcm.compare, fastcm.diagnose, fastcm.evaluate)
for _old, _new in MOVED_MODULES.items():
    if f"{__name__}.{_new}" in _sys.modules:
        _sys.modules.setdefault(f"{__name__}.{_old}", _sys.modules[f"{__name__}.{_new}"])
del _sys, _old, _new


def __getattr__(name):
    if name in _LAZY_SUBMODULES or name in MOVED_MODULES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
