"""Strict drop-ins: ``from fastcm import strict as metrics`` behaves as ``sklearn.metrics``.

fastcm's top-level functions keep their extensions (scores with a class axis fused into an
argmax, any shape paired element-wise, empty input for streaming). The functions here take
the same arguments as scikit-learn's and refuse what scikit-learn refuses, with its
exception types and messages: each checks its parameters against scikit-learn's own
constraint table and its arrays with scikit-learn's own validation helpers
(``_check_targets``, ``type_of_target``, ``check_array``, ``_check_sample_weight``), then
computes the result with fastcm (one counting pass). scipy.sparse indicator matrices are
densified before counting.

scikit-learn must be importable to use this module (it is imported on the first call, never
by ``import fastcm``).

Cost: 1-D numpy integer or bool labels (the common case) skip scikit-learn's target checks,
which cannot refuse them, so the label scores cost what fastcm's top-level functions cost
(plus a check of the weights when given). Other inputs (lists, strings, floats, pandas,
sparse, 2-D) go through ``_check_targets``, whose ``type_of_target`` and ``unique_labels``
sort the labels: about 0.6 s on 10**7 labels, what scikit-learn itself pays. The curves
and ``roc_auc_score`` always run scikit-learn's checks (``type_of_target`` of ``y_true``,
finiteness of the scores): about 0.2-0.3 s on 10**7 samples over fastcm's own time, still
far below scikit-learn's.

Examples
--------
>>> from fastcm import strict as metrics
>>> metrics.accuracy_score([0, 1, 1], [0, 1, 0])
0.6666666666666666
"""

from __future__ import annotations

import functools
import inspect
import sys

from . import ranking as _curves
from ..counts import multilabel as _multilabel
from . import sklearn as _sk
from ..counts import topk as _topk
from ..counts.confusion import confusion_matrix as _confusion_matrix

def _top_k_accuracy_score(y_true, y_score, *, k=2, normalize=True, sample_weight=None, labels=None):
    # weights that are all zero: scikit-learn's ZeroDivisionError (0.0 with normalize=False),
    # where fastcm's top level raises the ValueError of its other drop-ins
    return _topk.top_k_hits(y_true, y_score, k=k, normalize=normalize, sample_weight=sample_weight, labels=labels,
                            zero_weights="sklearn")


_top_k_accuracy_score.__name__ = _top_k_accuracy_score.__qualname__ = "top_k_accuracy_score"


def _roc_auc_score(y_true, y_score, *, average="macro", sample_weight=None, max_fpr=None, multi_class="raise",
                   labels=None):
    # one class with weights that are all zero: scikit-learn's NaN and warning, where fastcm's
    # top level raises the ValueError of its other drop-ins
    return _curves.roc_auc(y_true, y_score, average=average, sample_weight=sample_weight, max_fpr=max_fpr,
                           multi_class=multi_class, labels=labels, zero_weights="sklearn")


_roc_auc_score.__name__ = _roc_auc_score.__qualname__ = "roc_auc_score"

_FAST = {
    "accuracy_score": _sk.accuracy_score,
    "average_precision_score": _curves.average_precision_score,
    "balanced_accuracy_score": _sk.balanced_accuracy_score,
    "classification_report": _sk.classification_report,
    "cohen_kappa_score": _sk.cohen_kappa_score,
    "confusion_matrix": _confusion_matrix,
    "f1_score": _sk.f1_score,
    "fbeta_score": _sk.fbeta_score,
    "jaccard_score": _sk.jaccard_score,
    "matthews_corrcoef": _sk.matthews_corrcoef,
    "multilabel_confusion_matrix": _multilabel.multilabel_confusion_matrix,
    "precision_recall_curve": _curves.precision_recall_curve,
    "precision_recall_fscore_support": _sk.precision_recall_fscore_support,
    "precision_score": _sk.precision_score,
    "recall_score": _sk.recall_score,
    "roc_auc_score": _roc_auc_score,
    "roc_curve": _curves.roc_curve,
    "top_k_accuracy_score": _top_k_accuracy_score,
}

__all__ = sorted(_FAST)


def _dense(a):
    """scipy.sparse → dense numpy; scipy is looked up in ``sys.modules``, never imported."""
    sparse = sys.modules.get("scipy.sparse")
    if sparse is not None and sparse.issparse(a):
        return a.toarray()
    return a


def _numeric_weights(w):
    """Object-dtype weights, which scikit-learn's checks let through, as float64 (fastcm refuses objects)."""
    if w is not None and getattr(w, "dtype", None) is not None and w.dtype.kind == "O":
        import numpy as np

        return np.asarray(w, dtype=np.float64)
    return w


def _plain_integer_labels(p, true, pred):
    """True when scikit-learn's target checks cannot refuse nor convert these labels.

    1-D numpy arrays of integers or bools, of one non-empty length, are always "binary" or
    "multiclass" targets that ``_check_targets`` returns unchanged; its ``type_of_target``
    and ``unique_labels`` (sorts of N labels) are skipped, as fastcm's counting pass
    already finds the labels. Only the weights, if any, still go through scikit-learn's
    ``_check_sample_weight``.
    """
    import numpy as np

    t, y = p[true], p[pred]
    if not (type(t) is np.ndarray and type(y) is np.ndarray):
        return False
    if not (t.ndim == 1 and y.ndim == 1 and t.dtype.kind in "biu" and y.dtype.kind in "biu"):
        return False
    if t.shape[0] != y.shape[0] or t.shape[0] == 0:
        return False
    w = p.get("sample_weight")
    if w is not None:
        if not (type(w) is np.ndarray and w.ndim == 1 and w.shape[0] == t.shape[0]):
            return False
        from sklearn.utils.validation import _check_sample_weight

        p["sample_weight"] = _check_sample_weight(w, t, force_float_dtype=False)
    return True


def _label_targets(p, true="y_true", pred="y_pred"):
    """scikit-learn's ``_check_targets`` on the labels and the weights."""
    from sklearn.metrics._classification import _check_targets

    if _plain_integer_labels(p, true, pred):
        return

    _, _, t, y, w = _check_targets(p[true], p[pred], p.get("sample_weight"))
    p[true], p[pred] = _dense(t), _dense(y)
    if "sample_weight" in p:
        p["sample_weight"] = _numeric_weights(w)


def _confusion_targets(p):
    """``confusion_matrix``'s checks: ``check_array`` first, weights only when not empty."""
    import numpy as np
    from sklearn.metrics._classification import _check_targets
    from sklearn.utils import check_array

    if _plain_integer_labels(p, "y_true", "y_pred"):
        return
    kw = dict(dtype=None, ensure_2d=False, ensure_all_finite=False, ensure_min_samples=0)
    t, y = check_array(p["y_true"], **kw), check_array(p["y_pred"], **kw)
    w = p["sample_weight"]
    if w is not None and len(w) == 0:
        w = None
        empty = True
    else:
        empty = False
    y_type, _, t, y, w = _check_targets(t, y, w)
    if y_type not in ("binary", "multiclass"):
        raise ValueError("%s is not supported" % y_type)
    p["y_true"], p["y_pred"] = t, y
    p["sample_weight"] = np.asarray(p["sample_weight"]) if empty else _numeric_weights(w)


def _curve_targets(p):
    """``confusion_matrix_at_thresholds``' checks (roc_curve, precision_recall_curve)."""
    from sklearn.utils import assert_all_finite, check_consistent_length, column_or_1d
    from sklearn.utils.multiclass import type_of_target
    from sklearn.utils.validation import _check_pos_label_consistency, _check_sample_weight

    y_true, y_score, w, pos_label = p["y_true"], p["y_score"], p["sample_weight"], p["pos_label"]
    y_type = type_of_target(y_true, input_name="y_true")
    if not (y_type == "binary" or (y_type == "multiclass" and pos_label is not None)):
        raise ValueError("{0} format is not supported".format(y_type))
    _check_pos_label_consistency(pos_label, y_true)
    check_consistent_length(y_true, y_score, w)
    y_true, y_score = column_or_1d(y_true), column_or_1d(y_score)
    assert_all_finite(y_true)
    assert_all_finite(y_score)
    if w is not None:
        w = _check_sample_weight(column_or_1d(w), y_true)
    p["y_true"], p["y_score"], p["sample_weight"] = y_true, y_score, w


def _roc_auc_targets(p):
    from sklearn.utils import check_array, column_or_1d
    from sklearn.utils.multiclass import type_of_target

    type_of_target(p["y_true"], input_name="y_true")
    p["y_true"] = check_array(p["y_true"], ensure_2d=False, dtype=None)
    p["y_score"] = check_array(p["y_score"], ensure_2d=False)
    if p["sample_weight"] is not None:
        p["sample_weight"] = column_or_1d(p["sample_weight"])


def _ap_targets(p):
    from sklearn.utils import column_or_1d

    p["y_true"] = _dense(p["y_true"])
    if p["sample_weight"] is not None:
        p["sample_weight"] = column_or_1d(p["sample_weight"])


def _top_k_targets(p):
    from sklearn.utils import check_array, column_or_1d

    from sklearn.utils import check_consistent_length

    p["y_true"] = column_or_1d(check_array(p["y_true"], ensure_2d=False, dtype=None))
    p["y_score"] = check_array(p["y_score"], ensure_2d=False)
    check_consistent_length(p["y_true"], p["y_score"], p["sample_weight"])


_CHECKS = {name: _label_targets for name in __all__}
_CHECKS.update(
    confusion_matrix=_confusion_targets,
    cohen_kappa_score=functools.partial(_label_targets, true="y1", pred="y2"),
    roc_curve=_curve_targets,
    precision_recall_curve=_curve_targets,
    roc_auc_score=_roc_auc_targets,
    average_precision_score=_ap_targets,
    top_k_accuracy_score=_top_k_targets,
)


def _make(name, fast):
    signature = inspect.signature(fast)
    check = _CHECKS[name]

    @functools.wraps(fast)
    def strict(*args, **kwargs):
        import sklearn.metrics
        from sklearn import get_config
        from sklearn.utils._param_validation import validate_parameter_constraints

        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        params = bound.arguments
        if not get_config()["skip_parameter_validation"]:
            constraints = getattr(getattr(sklearn.metrics, name), "_skl_parameter_constraints", {})
            validate_parameter_constraints(constraints, dict(params), caller_name=name)
        check(params)
        return fast(**params)

    strict.__module__ = __name__
    strict.__doc__ = (
        f"``sklearn.metrics.{name}``: its signature, defaults, errors, warnings and results; computed by "
        f"fastcm. :func:`fastcm.{name}` is the same computation with fastcm's extensions."
    )
    return strict


# one assignment a name, so that readers and static tools (the API docs, IDEs) see them
accuracy_score = _make("accuracy_score", _FAST["accuracy_score"])
average_precision_score = _make("average_precision_score", _FAST["average_precision_score"])
balanced_accuracy_score = _make("balanced_accuracy_score", _FAST["balanced_accuracy_score"])
classification_report = _make("classification_report", _FAST["classification_report"])
cohen_kappa_score = _make("cohen_kappa_score", _FAST["cohen_kappa_score"])
confusion_matrix = _make("confusion_matrix", _FAST["confusion_matrix"])
f1_score = _make("f1_score", _FAST["f1_score"])
fbeta_score = _make("fbeta_score", _FAST["fbeta_score"])
jaccard_score = _make("jaccard_score", _FAST["jaccard_score"])
matthews_corrcoef = _make("matthews_corrcoef", _FAST["matthews_corrcoef"])
multilabel_confusion_matrix = _make("multilabel_confusion_matrix", _FAST["multilabel_confusion_matrix"])
precision_recall_curve = _make("precision_recall_curve", _FAST["precision_recall_curve"])
precision_recall_fscore_support = _make("precision_recall_fscore_support", _FAST["precision_recall_fscore_support"])
precision_score = _make("precision_score", _FAST["precision_score"])
recall_score = _make("recall_score", _FAST["recall_score"])
roc_auc_score = _make("roc_auc_score", _FAST["roc_auc_score"])
roc_curve = _make("roc_curve", _FAST["roc_curve"])
top_k_accuracy_score = _make("top_k_accuracy_score", _FAST["top_k_accuracy_score"])
