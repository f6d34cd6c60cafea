"""``ThresholdConfusionMatrix``: a streaming threshold sweep in constant memory.

The state is the (K, T + 1, 2) bucket histogram of :func:`fastcm.threshold_confusion_matrices`;
an update counts its batch into a fresh histogram first, so a failed batch changes nothing.
Curves come from the binned matrices, however many batches arrived.
"""

from __future__ import annotations

import os
import warnings

import numpy as np

from .. import backends
from ..backends.arrays import resolve, to_caller, to_host
from ..core.exceptions import UndefinedMetricWarning
from ..core.inputs import check_num_classes
from ..core.overflow import INT64_MAX, add_counts
from ..metrics import threshold_curves
from .base import Accumulator
from .files import ArraysInMemory, check_finite_counts, check_unweighted_counts, counts_array, field
from .files import field_shape, format_version, read_npz, scalar_bool, scalar_int, write_npz_atomic
from ..core.scores import AS_GIVEN, check_scores, contradiction, outside_unit
from ..counts.thresholds import check_thresholds, count_scores, in_unit_interval, matrices_from_hist, prepare, score_reading

__all__ = ["ThresholdConfusionMatrix"]

_FORMAT = "fastcm.ThresholdConfusionMatrix"
_FORMAT_VERSION = 2  # 2: the scores' reading ("scores", "scores_read_as")
_READINGS = ("", "probabilities", "logits", AS_GIVEN)  # "": undecided


def _check_n_samples(total: int) -> int:
    """``total`` samples, which must stay within int64: it is saved as one."""
    if total > INT64_MAX:
        raise OverflowError(f"n_samples would pass the int64 range: {total} > {INT64_MAX}")
    return total


class ThresholdConfusionMatrix(Accumulator):
    """(T, 2, 2) confusion matrices, one per threshold, accumulated batch by batch.

    Parameters
    ----------
    thresholds : int or sorted array-like, default=101
        ``T`` evenly spaced thresholds in [0, 1], or any sorted set.
    num_classes : int, optional
        Score columns: (N, C) scores with class indices or (N, C) indicators give
        (C, T, 2, 2). None: 1-D binary scores. 1: (N,) or (N, 1) binary scores with 0/1
        truth, as for None but giving (1, T, 2, 2); not one-vs-rest of class 0 (a class
        index 2 in ``y_true`` is refused; logits go through a sigmoid).
    scores : {"auto", "probabilities", "logits"}, default="auto"
        How scores are read (:mod:`fastcm.core.scores`): logits go through a sigmoid, or a softmax
        over the classes for (N, C) scores with class indices. Under "auto" the first
        non-empty batch decides (any value outside [0, 1]: logits), :attr:`scores_read_as`
        says what was decided, and a later batch of logits after probabilities is refused
        with a ValueError naming it (a batch inside [0, 1] after logits is read as logits).
        The thresholds stay probabilities.
    backend : {"auto", "numba", "numpy", "cupy"}
    like : {None, "numpy", "cupy", "torch", "jax", "tensorflow"} or array or module, optional
        The array type :meth:`compute` returns. None: the type of the arrays fed, decided by
        the first :meth:`update` as the scores' reading is (``y_true``'s type, else
        ``y_score``'s): a CPU torch tensor in gives a torch tensor out, TensorFlow a
        ``tf.Tensor``, JAX a ``jax.Array``, CuPy a ``cupy.ndarray``. Until a batch decides,
        and after :meth:`reset` or :meth:`load`, that is numpy; an accumulator that has seen
        no batch takes the type of one merged into it. The curves, areas and operating
        points are numpy whatever the type. See :mod:`fastcm.backends.arrays`.

    Notes
    -----
    The curves and areas are those of the binned matrices (``T`` thresholds), within about
    ``1 / T`` of the exact values :func:`fastcm.roc_auc_score` computes from scores in memory.

    One accumulator may be shared by many threads: :meth:`update`, :meth:`merge`,
    :meth:`reset`, :meth:`compute` and :meth:`save` are safe to call at once. A batch is
    counted outside the accumulator's lock; only adding it into the state holds it.

    Examples
    --------
    >>> m = ThresholdConfusionMatrix(thresholds=[0.5])
    >>> m.update([0, 1], [0.2, 0.7]).update([1], [0.4]).compute().tolist()
    [[[1, 0], [1, 1]]]
    >>> m = ThresholdConfusionMatrix(thresholds=[0.5]).update([0, 1], [-1.2, 0.4])  # logits
    >>> m.scores_read_as, m.compute().tolist()
    ('logits', [[[1, 0], [0, 1]]])
    """

    #: whether sample weights may have been counted (True when unknown: pickles of an
    #: older fastcm); without them a saved file's counts must be what counting gives
    _weighted = True

    #: how the scores were read: None until an "auto" accumulator saw a non-empty batch
    _reading = None
    #: batches counted (updates and merged ones), for naming a refused batch
    n_batches = 0
    #: the array type asked for (a name among fastcm.backends.arrays.KINDS), None: the inputs'
    like = None
    #: the array type compute() returns: None until the first update decides (numpy)
    _kind = None

    def __init__(self, thresholds=101, *, num_classes=None, scores="auto", backend="auto", like=None):
        self.thresholds = check_thresholds(thresholds)
        self.num_classes = check_num_classes(num_classes)
        self.scores = check_scores(scores)
        if backend != "auto" and backend not in backends.NAMES:
            backends.get(backend)  # the ValueError listing the valid names now, not at the first update
        self.backend = backend
        self.like = None if like is None else resolve(like)  # a name: modules do not pickle
        self._init_lock()
        self.reset()

    def reset(self) -> "ThresholdConfusionMatrix":
        """Forget every count."""
        with self._lock:
            self._hist = np.zeros((self.num_classes or 1, self.thresholds.size + 1, 2), dtype=np.int64)
            self.n_samples = 0
            self.n_batches = 0
            self._weighted = False  # whether a batch with sample weights was counted
            self._reading = self._fixed_reading()
            self._kind = self.like  # None: the next update's inputs decide
        return self

    def _fixed_reading(self):
        """The reading known before any batch: the explicit one, or "as given" for thresholds
        outside [0, 1] under "auto"; None when the first batch decides."""
        if self.scores != "auto":
            return self.scores
        return None if in_unit_interval(self.thresholds) else AS_GIVEN

    @property
    def scores_read_as(self):
        """"probabilities", "logits", "as given" (thresholds outside [0, 1]), or None before
        an "auto" accumulator has seen a score."""
        return self._reading

    def _batch_reading(self, s, decided, batch):
        """The reading of one batch given the accumulator's decision so far (may raise)."""
        if decided is None:
            return score_reading(self.scores, s, self.thresholds) if s.size else None
        if decided == "probabilities" and self.scores == "auto" and outside_unit(s):
            raise contradiction(batch, decided)
        if decided == "probabilities" and self.scores == "probabilities":
            score_reading("probabilities", s, self.thresholds)  # the ValueError naming the position
        return decided

    def update(self, y_true, y_score, sample_weight=None) -> "ThresholdConfusionMatrix":
        """Count one batch; returns self. A batch that fails validation leaves the state as it was.

        So does one whose counts (or ``n_samples``) would pass the int64 range: an
        OverflowError naming the cell, never a wrapped count.
        """
        kind = resolve(self.like, y_true, y_score)  # before prepare: the caller's types
        t, s, w = prepare(y_true, y_score, sample_weight, num_classes=self.num_classes or 1)
        while True:
            with self._lock:
                decided, batch = self._reading, self.n_batches + 1
            reading = self._batch_reading(s, decided, batch)
            hist = to_host(count_scores(t, s, w, self.thresholds, reading or "probabilities", self.backend))
            with self._lock:  # counted outside the lock; only the read-modify-write holds it
                if self._reading != decided:  # another thread's first batch decided meanwhile
                    continue
                n_seen = _check_n_samples(self.n_samples + int(t.shape[0]))
                self._hist = add_counts(self._hist, hist, "histogram count")  # raises before the commit
                self.n_samples = n_seen
                self.n_batches += 1
                self._weighted = self._weighted or w is not None
                self._reading = reading or decided
                self._kind = self._kind or kind
            return self

    def compute(self):
        """(T, 2, 2) matrices ``[[tn, fp], [fn, tp]]`` (or (C, T, 2, 2) with ``num_classes``),
        in the array type of the arrays fed (or ``like``; see the class parameters)."""
        with self._lock:
            kind = self._kind
        return to_caller(self._matrices(), kind or "numpy")

    def _matrices(self):
        """The matrices as a numpy array: what the curves and the other internal code read."""
        with self._lock:
            hist = self._hist  # replaced, never written in place
        out = matrices_from_hist(hist)
        return out if self.num_classes else out[0]

    def merge(self, other) -> "ThresholdConfusionMatrix":
        """Add the counts of ``other`` (same thresholds and classes) into this one; returns self.

        Counts past the int64 range raise OverflowError naming the cell, and change nothing.
        """
        if not isinstance(other, ThresholdConfusionMatrix):
            raise TypeError(f"Can only merge a ThresholdConfusionMatrix, but got {type(other).__name__}")
        if other.num_classes != self.num_classes or not np.array_equal(other.thresholds, self.thresholds):
            raise ValueError("Cannot merge accumulators with different thresholds or num_classes")
        with other._lock:  # never both locks at once: a.merge(b) with b.merge(a) cannot deadlock
            o_hist, o_seen, o_weighted = other._hist, other.n_samples, other._weighted
            o_reading, o_batches, o_kind = other._reading, other.n_batches, other._kind
        with self._lock:
            reading = self._reading if o_reading is None or not o_seen else o_reading
            if self._reading is not None and self.n_samples and reading != self._reading:
                raise ValueError(
                    f"Cannot merge an accumulator whose scores were read as {o_reading} into one that read "
                    f"them as {self._reading}: pass the same scores= to both"
                )
            n_seen = _check_n_samples(self.n_samples + o_seen)
            self._hist = add_counts(self._hist, o_hist, "histogram count")
            self.n_samples = n_seen
            self.n_batches += o_batches
            self._weighted = self._weighted or o_weighted
            self._reading = reading
            self._kind = self._kind or (o_kind if o_batches else None)  # none seen: take the other's type
        return self

    def __repr__(self) -> str:
        return (f"ThresholdConfusionMatrix(T={self.thresholds.size}, num_classes={self.num_classes}, "
                f"scores_read_as={self._reading!r}, n_samples={self.n_samples})")

    # -- curves on the binned matrices -------------------------------------------------
    def precision_recall_curve(self):
        """(precision, recall, thresholds) per threshold; precision is 1 where nothing is predicted positive."""
        precision, recall, _ = threshold_curves.rates(self._matrices())
        return precision, recall, self.thresholds

    def roc_curve(self):
        """(fpr, tpr, thresholds) per threshold."""
        _, tpr, fpr = threshold_curves.rates(self._matrices())
        return fpr, tpr, self.thresholds

    def auroc(self):
        """Trapezoidal area under the binned ROC curve, closed by the points (0, 0) and (1, 1).

        NaN, with an :class:`UndefinedMetricWarning`, for a curve whose truth holds only one
        class (scikit-learn's ``roc_auc_score`` raises there).
        """
        m = self._matrices()
        area = threshold_curves.auroc(m)
        undefined = threshold_curves.one_class(m)
        if np.any(undefined):
            warnings.warn(
                "Only one class present in y_true. ROC AUC score is not defined in that case.",
                UndefinedMetricWarning,
                stacklevel=2,
            )
            area = np.where(undefined, np.nan, area)
        return area if np.ndim(area) else float(area)

    def average_precision(self):
        """Step-function AP over the binned PR curve: sum of (recall drop) * precision.

        0.0 with a warning for a curve without positives, as scikit-learn.
        """
        m = np.asarray(self._matrices())
        if np.any(m[..., 0, 1, 0] + m[..., 0, 1, 1] == 0):  # the positives, the same at every threshold
            warnings.warn("No positive class found in y_true, recall is set to one for all thresholds.", UserWarning, stacklevel=2)
        return threshold_curves.average_precision(m)

    def threshold_for(self, *, recall=None, precision=None, fpr=None):
        """The operating point reaching ``recall``, ``precision`` or ``fpr`` (exactly one), per
        class with ``num_classes``; see :func:`fastcm.answers.operating_points.threshold_for`.

        ``recall=r``: the highest threshold whose recall is at least ``r``;
        ``precision=p``: the lowest threshold whose precision is at least ``p``;
        ``fpr=f``: the lowest threshold whose false positive rate is at most ``f``.

        Examples
        --------
        >>> m = ThresholdConfusionMatrix(thresholds=[0.25, 0.5, 0.75]).update([0, 1, 1, 0], [0.3, 0.6, 0.8, 0.7])
        >>> p = m.threshold_for(recall=1.0)
        >>> p.threshold, p.precision
        (0.5, 0.6666666666666666)
        """
        from ..answers.operating_points import threshold_for

        return threshold_for(self._matrices(), self.thresholds, recall=recall, precision=precision, fpr=fpr)

    def best_threshold(self, metric="f1"):
        """(threshold, value) maximising ``metric`` ("f1", "accuracy", "youden"); per class with num_classes."""
        m = np.asarray(self._matrices(), dtype=np.float64)
        tn, fp, fn, tp = m[..., 0, 0], m[..., 0, 1], m[..., 1, 0], m[..., 1, 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            if metric == "f1":
                v = np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), 0.0)
            elif metric == "accuracy":
                v = (tp + tn) / np.maximum(tp + tn + fp + fn, 1e-300)
            elif metric == "youden":
                v = np.nan_to_num(tp / (tp + fn)) - np.nan_to_num(fp / (fp + tn))
            else:
                raise ValueError(f"Expected `metric` to be one of ('f1', 'accuracy', 'youden'), but got {metric!r}")
        j = np.argmax(v, axis=-1)
        if v.ndim == 1:
            return float(self.thresholds[j]), float(v[j])
        return self.thresholds[j], np.take_along_axis(v, j[:, None], axis=-1)[:, 0]

    def plot(self, kind="roc", **kwargs):
        """Draw the ROC (``kind="roc"``) or precision-recall (``kind="pr"``) curves; needs matplotlib.

        See :func:`fastcm.plot.roc_curve` and :func:`fastcm.plot.pr_curve`.
        """
        from ..present import plots as _plot

        if kind not in ("roc", "pr"):
            raise ValueError(f"Expected `kind` to be 'roc' or 'pr', but got {kind!r}")
        return (_plot.roc_curve if kind == "roc" else _plot.pr_curve)(self, **kwargs)

    # -- persistence -----------------------------------------------------------------------
    def save(self, path) -> None:
        """Write the state to ``path`` as .npz, atomically (a temporary file, then a rename).

        A state :meth:`load` would refuse (float counts summed to inf, ``n_samples`` set
        below the samples counted) is a ValueError and nothing is written. The file's mode
        is 0o666 less the umask.
        """
        path = os.fspath(path)
        with self._lock:
            fields = {
                "fastcm_format": np.array(_FORMAT),
                "format_version": np.array(_FORMAT_VERSION),
                "hist": self._hist,
                "thresholds": self.thresholds,
                "num_classes": np.array(self.num_classes or 0),
                "n_samples": np.array(min(self.n_samples, INT64_MAX), dtype=np.int64),
                "weighted": np.array(bool(self._weighted)),
                "scores": np.array(self.scores),
                "scores_read_as": np.array(self._reading or ""),
                "n_batches": np.array(self.n_batches, dtype=np.int64),
            }
            n_samples = self.n_samples
        check_finite_counts(fields["hist"], "histogram counts")
        try:
            _check_n_samples(n_samples)
            self._from_fields(ArraysInMemory(fields, path), self.backend)  # load's own checks
        except (ValueError, OverflowError) as exc:
            raise ValueError(f"Cannot save a state that could not be loaded back: {exc}") from None
        write_npz_atomic(path, fields)

    @classmethod
    def load(cls, path, *, backend="auto", like=None) -> "ThresholdConfusionMatrix":
        """Read an accumulator written by :meth:`save`; a foreign or damaged file is a ValueError.

        The file holds no array type: the loaded accumulator's :meth:`compute` returns numpy
        until an update decides the type, or the type ``like`` names (see the class).

        Only the fields fastcm writes are read, each after its header shows it fits in the
        file; the histogram's declared shape must match ``num_classes`` and the thresholds
        before anything is allocated for it. Refused as damage, besides malformed fields:
        counts or ``n_samples`` beyond int64 and non-finite counts; and, in a file that
        records that no sample weights were counted, float or negative counts, or a class
        counting more than ``n_samples``. Weighted files (weights may be negative) and files
        of an older fastcm, which record nothing about weights, take any finite counts.
        """
        with read_npz(path, "ThresholdConfusionMatrix") as data:
            return cls._from_fields(data, backend, like)

    @classmethod
    def _from_fields(cls, data, backend, like=None) -> "ThresholdConfusionMatrix":
        """The accumulator a file's (or a save's) fields describe; ValueError for damage."""
        path = data.path
        format_version(data, "ThresholdConfusionMatrix", _FORMAT_VERSION)
        k = field(data, "num_classes", path, scalar_int)
        thresholds = field(data, "thresholds", path, check_thresholds)
        expected = (k or 1, thresholds.size + 1, 2)
        declared = field_shape(data, "hist", path)
        if declared != expected:  # before allocating a state of num_classes rows
            raise ValueError(f"{path!r} is a damaged fastcm file: histogram {declared}, expected {expected}")
        hist = field(data, "hist", path, lambda a: counts_array(a, 3))
        n_samples = field(data, "n_samples", path, scalar_int)
        weighted = field(data, "weighted", path, scalar_bool) if "weighted" in data else None  # None: older file
        if weighted is False:
            try:
                check_unweighted_counts(hist, n_samples, axes=(1, 2))  # each sample once per class
            except ValueError as exc:
                raise ValueError(f"{path!r} is a damaged fastcm file: bad field 'hist' ({exc})") from None
        scores, reading, n_batches = "auto", None, 0  # files before version 2 record no reading
        if "scores" in data:
            scores = field(data, "scores", path, _scores_field)
            reading = field(data, "scores_read_as", path, _reading_field) or None
            n_batches = field(data, "n_batches", path, scalar_int)
        m = cls(thresholds, num_classes=k or None, scores=scores, backend=backend, like=like)
        if scores != "auto" and reading != scores:
            raise ValueError(f"{path!r} is a damaged fastcm file: scores {scores!r} read as {reading!r}")
        m._hist, m.n_samples = hist, n_samples
        m._weighted = weighted is not False
        m._reading = reading if reading is not None else m._fixed_reading()
        m.n_batches = n_batches
        return m


def _scores_field(a):
    v = str(a[()]) if a.ndim == 0 and a.dtype.kind == "U" else None
    return check_scores(v)


def _reading_field(a):
    v = str(a[()]) if a.ndim == 0 and a.dtype.kind == "U" else None
    if v not in _READINGS:
        raise ValueError(f"expected one of {_READINGS}, got {v!r}")
    return v
