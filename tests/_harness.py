"""One table of fastcm functions and their references, and the checks every entry gets.

After numbagg's ``COMPARISONS`` table and torchmetrics' ``MetricTester``: each :class:`Case`
names a fastcm function, the reference it must match (scikit-learn, or a few lines of
numpy where scikit-learn has no counterpart) and, where fastcm accumulates it, how to feed
an accumulator. The checks:

* :func:`check_one_shot`: the value, its dtype and the warnings raised match the reference;
* :func:`check_error`: inputs the reference refuses, fastcm refuses with the same error type;
* :func:`check_stream`: one-shot equals accumulated over random batch splits, equals two
  accumulators merged (``merge`` and ``+``), equals the accumulator pickled and unpickled,
  equals it saved and loaded.

Every check takes a host backend name ("numpy", "numba"): functions with a ``backend=``
argument and the accumulators run on it; scikit-learn's drop-ins, which choose their own
backend, run as they are. Values are compared exactly (``np.array_equal``, NaN equal to
NaN): fastcm matches its references to the last digit.
"""

from __future__ import annotations

import pickle
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
import sklearn.metrics as skm

import fastcm

#: classes of the label cases; batches are small so a batch often lacks some of them
NUM_CLASSES = 4


@dataclass(frozen=True)
class Data:
    """The inputs of one case: truth, predictions or scores, and weights (or None)."""

    y_true: np.ndarray
    y_pred: np.ndarray
    sample_weight: np.ndarray | None = None

    def rows(self, a, b) -> "Data":
        w = None if self.sample_weight is None else self.sample_weight[a:b]
        return Data(self.y_true[a:b], self.y_pred[a:b], w)


def _labels(rng, n, weighted):
    t = rng.integers(0, NUM_CLASSES, n)
    p = np.where(rng.random(n) < 0.6, t, rng.integers(0, NUM_CLASSES, n))
    # integer-valued float weights: sums are exact in any order, so the comparison is too
    return Data(t, p, rng.integers(0, 4, n).astype(np.float64) if weighted else None)


def _binary_scores(rng, n, weighted):
    t = rng.integers(0, 2, n)
    s = np.round(np.clip(0.3 * t + rng.random(n) * 0.7, 0, 1), 2)  # rounded: ties
    return Data(t, s, rng.integers(0, 4, n).astype(np.float64) if weighted else None)


def _class_scores(rng, n, weighted):
    t = rng.integers(0, NUM_CLASSES, n)
    s = rng.random((n, NUM_CLASSES))
    s[np.arange(n), t] += 0.3
    return Data(t, s / s.sum(axis=1, keepdims=True), None)


def _multilabel(rng, n, weighted):
    t = rng.integers(0, 2, (n, 3))
    p = np.where(rng.random((n, 3)) < 0.7, t, 1 - t)
    return Data(t, p, rng.integers(0, 4, n).astype(np.float64) if weighted else None)


INPUTS = {"labels": _labels, "binary_scores": _binary_scores, "class_scores": _class_scores, "multilabel": _multilabel}


@dataclass(frozen=True)
class Stream:
    """How to accumulate a case: ``new(backend)`` makes an empty accumulator,
    ``update(acc, data)`` feeds it a batch, ``read(acc)`` gives the case's value."""

    new: Callable
    read: Callable
    update: Callable = lambda acc, d: acc.update(d.y_true, d.y_pred, sample_weight=d.sample_weight)


@dataclass(frozen=True)
class Case:
    """One row of the table: ``fastcm(data, backend)`` must equal ``reference(data)``."""

    name: str
    inputs: str  # a key of INPUTS
    fastcm: Callable
    reference: Callable
    weighted: bool = False
    stream: Stream | None = None
    #: 0: equal to the last digit; else the relative difference allowed, with its reason
    rtol: float = 0.0

    def data(self, rng, n=240) -> Data:
        return INPUTS[self.inputs](rng, n, self.weighted)


def _cm_stream(read):
    return Stream(new=lambda backend: fastcm.ConfusionMatrix(backend=backend), read=read)


def _threshold_reference(d, thresholds):
    """(T, 2, 2): scikit-learn's binary matrix at each threshold (``score >= threshold``)."""
    return np.stack([skm.confusion_matrix(d.y_true, d.y_pred >= thr, labels=[0, 1], sample_weight=d.sample_weight)
                     for thr in thresholds])


_THRESHOLDS = np.linspace(0, 1, 11)


def _w(d):
    return {"sample_weight": d.sample_weight}


#: fastcm function -> reference; every entry gets every check that applies
CASES = [
    Case("confusion_matrix", "labels",
         lambda d, b: fastcm.confusion_matrix(d.y_true, d.y_pred, backend=b, **_w(d)),
         lambda d: skm.confusion_matrix(d.y_true, d.y_pred, **_w(d)),
         stream=_cm_stream(lambda acc: acc.compute())),
    Case("confusion_matrix weighted", "labels",
         lambda d, b: fastcm.confusion_matrix(d.y_true, d.y_pred, backend=b, **_w(d)),
         lambda d: skm.confusion_matrix(d.y_true, d.y_pred, **_w(d)),
         weighted=True, stream=_cm_stream(lambda acc: acc.compute())),
    Case("confusion_matrix labels", "labels",
         lambda d, b: fastcm.confusion_matrix(d.y_true, d.y_pred, labels=[3, 1, 7], backend=b),
         lambda d: skm.confusion_matrix(d.y_true, d.y_pred, labels=[3, 1, 7]),
         stream=Stream(new=lambda b: fastcm.ConfusionMatrix(labels=[3, 1, 7], backend=b), read=lambda acc: acc.compute())),
    Case("accuracy_score", "labels",
         lambda d, b: fastcm.accuracy_score(d.y_true, d.y_pred, **_w(d)),
         lambda d: skm.accuracy_score(d.y_true, d.y_pred, **_w(d)),
         stream=_cm_stream(lambda acc: acc.accuracy())),
    Case("f1_score macro", "labels",
         lambda d, b: fastcm.f1_score(d.y_true, d.y_pred, average="macro", **_w(d)),
         lambda d: skm.f1_score(d.y_true, d.y_pred, average="macro", **_w(d)),
         weighted=True, stream=_cm_stream(lambda acc: acc.f1(average="macro"))),
    Case("precision_score weighted", "labels",
         lambda d, b: fastcm.precision_score(d.y_true, d.y_pred, average="weighted", **_w(d)),
         lambda d: skm.precision_score(d.y_true, d.y_pred, average="weighted", **_w(d)),
         stream=_cm_stream(lambda acc: acc.precision(average="weighted"))),
    Case("recall_score per class", "labels",
         lambda d, b: fastcm.recall_score(d.y_true, d.y_pred, average=None, **_w(d)),
         lambda d: skm.recall_score(d.y_true, d.y_pred, average=None, **_w(d)),
         stream=_cm_stream(lambda acc: acc.recall())),
    Case("balanced_accuracy_score", "labels",
         lambda d, b: fastcm.balanced_accuracy_score(d.y_true, d.y_pred, **_w(d)),
         lambda d: skm.balanced_accuracy_score(d.y_true, d.y_pred, **_w(d)),
         stream=_cm_stream(lambda acc: acc.balanced_accuracy())),
    Case("matthews_corrcoef", "labels",
         lambda d, b: fastcm.matthews_corrcoef(d.y_true, d.y_pred, **_w(d)),
         lambda d: skm.matthews_corrcoef(d.y_true, d.y_pred, **_w(d)),
         stream=_cm_stream(lambda acc: acc.mcc())),
    Case("cohen_kappa_score", "labels",
         lambda d, b: fastcm.cohen_kappa_score(d.y_true, d.y_pred, **_w(d)),
         lambda d: skm.cohen_kappa_score(d.y_true, d.y_pred, **_w(d)),
         stream=_cm_stream(lambda acc: acc.cohen_kappa()),
         # fastcm divides integers once (1 - observed / expected as one ratio, so a kappa near
         # 0 does not cancel); scikit-learn rounds each float step: the last bit can differ
         rtol=4 * np.finfo(np.float64).eps),
    Case("jaccard_score macro", "labels",
         lambda d, b: fastcm.jaccard_score(d.y_true, d.y_pred, average="macro", **_w(d)),
         lambda d: skm.jaccard_score(d.y_true, d.y_pred, average="macro", **_w(d)),
         stream=_cm_stream(lambda acc: acc.iou(average="macro"))),
    Case("multilabel_confusion_matrix", "multilabel",
         lambda d, b: fastcm.multilabel_confusion_matrix(d.y_true, d.y_pred, backend=b, **_w(d)),
         lambda d: skm.multilabel_confusion_matrix(d.y_true, d.y_pred, **_w(d)),
         weighted=True),
    Case("roc_auc_score", "binary_scores",
         lambda d, b: fastcm.roc_auc_score(d.y_true, d.y_pred, **_w(d)),
         lambda d: skm.roc_auc_score(d.y_true, d.y_pred, **_w(d)),
         # unweighted: the exact rank statistic rounded once (curves._rank_auc); scikit-learn
         # adds float trapezoids: the last bit can differ
         rtol=4 * np.finfo(np.float64).eps),
    Case("average_precision_score", "binary_scores",
         lambda d, b: fastcm.average_precision_score(d.y_true, d.y_pred, **_w(d)),
         lambda d: skm.average_precision_score(d.y_true, d.y_pred, **_w(d)),
         weighted=True),
    Case("roc_curve", "binary_scores",
         lambda d, b: fastcm.roc_curve(d.y_true, d.y_pred, **_w(d)),
         lambda d: skm.roc_curve(d.y_true, d.y_pred, **_w(d))),
    Case("precision_recall_curve", "binary_scores",
         lambda d, b: fastcm.precision_recall_curve(d.y_true, d.y_pred, **_w(d)),
         lambda d: skm.precision_recall_curve(d.y_true, d.y_pred, **_w(d))),
    Case("top_k_accuracy_score", "class_scores",
         lambda d, b: fastcm.top_k_accuracy_score(d.y_true, d.y_pred, k=2),
         lambda d: skm.top_k_accuracy_score(d.y_true, d.y_pred, k=2)),
    Case("threshold_confusion_matrices", "binary_scores",
         lambda d, b: fastcm.threshold_confusion_matrices(d.y_true, d.y_pred, thresholds=_THRESHOLDS, backend=b, **_w(d)),
         lambda d: _threshold_reference(d, _THRESHOLDS),
         weighted=True,
         stream=Stream(new=lambda b: fastcm.ThresholdConfusionMatrix(thresholds=_THRESHOLDS, backend=b),
                       read=lambda acc: acc.compute())),
]

BY_NAME = {case.name: case for case in CASES}


def _calls(fn, *args):
    """``(value or the exception raised, warning class names)`` of one call."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value = fn(*args)
        except Exception as exc:  # noqa: BLE001 - compared with the reference's
            value = exc
    return value, sorted({w.category.__name__ for w in caught})


def assert_same(got, want, where="", rtol=0.0):
    """Equal in the same dtype (NaN equals NaN), exactly or within ``rtol``; tuples element
    by element."""
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == len(want), f"{where}: {type(got)} of {len(got)}"
        for i, (g, w) in enumerate(zip(got, want)):
            assert_same(g, w, f"{where}[{i}]", rtol)
        return
    g, w = np.asarray(got), np.asarray(want)
    assert g.dtype == w.dtype, f"{where}: dtype {g.dtype}, reference {w.dtype}"
    assert g.shape == w.shape, f"{where}: shape {g.shape}, reference {w.shape}"
    nan = g.dtype.kind in "fc"
    same = np.array_equal(g, w, equal_nan=nan) if not rtol else np.allclose(g, w, rtol=rtol, atol=0, equal_nan=nan)
    assert same, f"{where}: {g.tolist()} != {w.tolist()}"


def check_one_shot(case: Case, data: Data, backend: str) -> None:
    """The value (or the error type), its dtype and the warnings of the reference."""
    got, got_warnings = _calls(case.fastcm, data, backend)
    want, want_warnings = _calls(case.reference, data)
    if isinstance(want, Exception):
        assert isinstance(got, type(want)), f"{case.name}: {got!r}, reference raised {want!r}"
        return
    if isinstance(got, Exception):
        raise AssertionError(f"{case.name}: raised {got!r}, the reference gave {want!r}")
    assert_same(got, want, case.name, case.rtol)
    assert got_warnings == want_warnings, f"{case.name}: warnings {got_warnings}, reference {want_warnings}"


def check_error(case: Case, data: Data, backend: str) -> type:
    """Inputs of different lengths: both refuse them, fastcm with the reference's error type
    (or a subclass). Returns the reference's type."""
    bad = Data(data.y_true[:-1], data.y_pred, None)
    try:
        case.reference(bad)
    except Exception as exc:  # noqa: BLE001 - the type is what is compared
        want = type(exc)
    else:
        raise AssertionError(f"{case.name}: the reference accepts inputs of different lengths")
    try:
        case.fastcm(bad, backend)
    except Exception as exc:  # noqa: BLE001
        assert isinstance(exc, want), f"{case.name}: {type(exc).__name__}, reference {want.__name__}: {exc}"
    else:
        raise AssertionError(f"{case.name}: fastcm accepts inputs of different lengths")
    return want


def random_batches(n: int, rng, max_batches: int = 6) -> list:
    """``(start, stop)`` ranges covering ``0..n`` in order, at random cuts (empty ones included)."""
    cuts = np.sort(rng.integers(0, n + 1, rng.integers(1, max_batches)))
    edges = [0, *cuts.tolist(), n]
    return list(zip(edges[:-1], edges[1:]))


def check_stream(case: Case, data: Data, backend: str, rng, folder) -> None:
    """One-shot == accumulated == merged (merge and +) == pickled == saved and loaded."""
    stream = case.stream
    want = case.fastcm(data, backend)
    batches = random_batches(len(data.y_true), rng)

    acc = stream.new(backend)
    for a, b in batches:
        stream.update(acc, data.rows(a, b))
    assert_same(stream.read(acc), want, f"{case.name} accumulated over {batches}")

    half = len(batches) // 2
    first, second = stream.new(backend), stream.new(backend)
    for a, b in batches[:half]:
        stream.update(first, data.rows(a, b))
    for a, b in batches[half:]:
        stream.update(second, data.rows(a, b))
    assert_same(stream.read(first + second), want, f"{case.name} first + second")
    assert_same(stream.read(first.merge(second)), want, f"{case.name} merged")

    assert_same(stream.read(pickle.loads(pickle.dumps(acc))), want, f"{case.name} unpickled")

    path = folder / f"{case.name.replace(' ', '_')}-{backend}.npz"
    acc.save(path)
    assert_same(stream.read(type(acc).load(path, backend=backend)), want, f"{case.name} saved and loaded")
