"""``ConfusionMatrix``: the streaming accumulator (update / compute / merge / save / load).

It reuses exactly the counting core of :func:`fastcm.confusion_matrix`; an update counts
its batch into a fresh matrix first and only then adds it to the state, so a batch that
fails validation leaves the accumulator untouched.
"""

from __future__ import annotations

import copy as _copy
import os

import numpy as np

from . import metrics as _metrics
from .confusion import _as_labels, _host, count
from .inputs import array_module, check_num_classes
from .persist import read_npz, write_npz_atomic

__all__ = ["ConfusionMatrix"]

_FORMAT = "fastcm.ConfusionMatrix"
_FORMAT_VERSION = 1


def _embed(counts, labels, into_labels, size):
    """Place ``counts`` indexed by ``labels`` into a zero (size, size) matrix indexed by ``into_labels``."""
    xp = array_module(counts)
    out = xp.zeros((size, size), dtype=counts.dtype)
    if labels.size:
        idx = xp.asarray(np.searchsorted(into_labels, labels).astype(np.int64))
        out[idx[:, None], idx[None, :]] = counts
    return out


def _add(a, b):
    if a is None:
        return b.copy()
    xp = array_module(b)
    if array_module(a) is not xp:
        a = xp.asarray(a)
    dtype = np.float64 if (a.dtype.kind == "f" or b.dtype.kind == "f") else np.int64
    return a.astype(dtype) + b.astype(dtype)


class ConfusionMatrix:
    """A confusion matrix accumulated batch by batch.

    Three ways to fix the classes:

    * ``num_classes=C``: labels are ``0..C-1`` (fastest; a value outside is a ValueError);
    * ``labels=[...]``: those classes in that order; pairs with another value are dropped,
      as in scikit-learn;
    * neither: the class set *grows*. It is always the sorted union of every label seen so
      far; when a batch brings a new label, the matrix gains a row and a column at the
      label's sorted position and earlier counts move with their labels. Labels of one
      accumulator must all be numbers or all be strings.

    Parameters
    ----------
    num_classes : int, optional
    labels : array-like, optional
    ignore_index : int, optional
        Pairs whose true label equals it are skipped.
    backend : {"auto", "numba", "numpy", "cupy"}

    Attributes
    ----------
    n_samples : int
        Number of (y_true, y_pred) pairs passed to :meth:`update`, ignored ones included.

    Examples
    --------
    >>> cm = ConfusionMatrix(num_classes=3)
    >>> cm.update([0, 1, 2], [0, 2, 2]).update([1], [1]).compute().tolist()
    [[1, 0, 0], [0, 1, 1], [0, 0, 1]]
    """

    def __init__(self, num_classes=None, *, labels=None, ignore_index=None, backend="auto"):
        self.num_classes = check_num_classes(num_classes)
        self._fixed_labels = None if labels is None else _as_labels(labels)
        if self.num_classes is not None and self._fixed_labels is not None and self._fixed_labels.size != self.num_classes:
            raise ValueError(
                f"Expected {self.num_classes} labels for num_classes={self.num_classes}, but got {self._fixed_labels.size}"
            )
        if self._fixed_labels is not None:
            self.num_classes = int(self._fixed_labels.size)
        self.ignore_index = ignore_index
        self.backend = backend
        self.reset()

    # -- state ---------------------------------------------------------------------------
    @property
    def growing(self) -> bool:
        """True when neither ``num_classes`` nor ``labels`` fixed the classes."""
        return self.num_classes is None

    @property
    def labels(self) -> np.ndarray:
        """The class of each row/column (``0..C-1`` when declared by ``num_classes``)."""
        if self._fixed_labels is not None:
            return self._fixed_labels
        if self.growing:
            return self._labels
        return np.arange(self.num_classes)

    def reset(self) -> "ConfusionMatrix":
        """Forget every count (and, when growing, every label seen)."""
        self._counts = None
        self._labels = np.empty(0, dtype=np.int64)
        self.n_samples = 0
        return self

    def compute(self):
        """The (C, C) counts accumulated so far (int64, or float64 once float weights were seen)."""
        if self._counts is None:
            size = self.labels.size
            return np.zeros((size, size), dtype=np.int64)
        return self._counts

    @property
    def matrix(self):
        """Same as :meth:`compute`."""
        return self.compute()

    def update(self, y_true, y_pred, sample_weight=None) -> "ConfusionMatrix":
        """Count one batch (labels, or scores with a class axis 1) into the matrix; returns self.

        A batch that fails validation raises and leaves the state exactly as it was.
        """
        res = count(
            y_true,
            y_pred,
            labels=self._fixed_labels,
            sample_weight=sample_weight,
            num_classes=None if self._fixed_labels is not None else self.num_classes,
            ignore_index=self.ignore_index,
            backend=self.backend,
        )
        n_pairs = int(res.n_pairs)
        if not self.growing:
            new_counts, new_labels = _add(self._counts, res.counts), self._labels
        else:
            batch_labels = res.labels if res.labels is not None else np.arange(res.counts.shape[0])
            new_labels, new_counts = self._grow(batch_labels, res.counts)
        # commit: nothing above touched the state
        self._counts, self._labels = new_counts, new_labels
        self.n_samples += n_pairs
        return self

    def _grow(self, batch_labels, batch_counts):
        old = self._labels
        if old.size and batch_labels.size and (old.dtype.kind in "US") != (batch_labels.dtype.kind in "US"):
            raise TypeError(
                f"Labels of one ConfusionMatrix must all be numbers or all strings; seen {old.dtype}, got {batch_labels.dtype}"
            )
        labels = np.union1d(old, batch_labels) if old.size else np.asarray(batch_labels)
        size = labels.size
        counts = _embed(batch_counts, batch_labels, labels, size)
        if self._counts is not None:
            counts = _add(_embed(self._counts, old, labels, size), counts)
        return labels, counts

    # -- combination ---------------------------------------------------------------------
    def _check_compatible(self, other) -> None:
        if not isinstance(other, ConfusionMatrix):
            raise TypeError(f"Can only merge a ConfusionMatrix, but got {type(other).__name__}")
        if self.ignore_index != other.ignore_index:
            raise ValueError(f"Cannot merge: ignore_index {self.ignore_index!r} != {other.ignore_index!r}")
        if self.growing != other.growing or (not self.growing and not np.array_equal(self.labels, other.labels)):
            raise ValueError(
                f"Cannot merge accumulators with different classes: {self.labels.tolist()!r} and {other.labels.tolist()!r}"
            )

    def merge(self, other: "ConfusionMatrix") -> "ConfusionMatrix":
        """Add the counts of ``other`` (same classes, or both growing) into this one; returns self."""
        self._check_compatible(other)
        if other._counts is None:
            return self
        if self.growing:
            labels, counts = self._grow(other._labels, other._counts)
        else:
            labels, counts = self._labels, _add(self._counts, other._counts)
        self._counts, self._labels = counts, labels
        self.n_samples += other.n_samples
        return self

    def all_reduce(self, group=None) -> "ConfusionMatrix":
        """Sum the counts of every process of a ``torch.distributed`` group into each, in place.

        A small ``all_gather_object`` first agrees on the classes, ignore_index and count
        dtype (a growing accumulator takes the union of every process's labels; a mismatch
        raises the same ValueError on every process instead of hanging), then one
        ``all_reduce`` sums the (C, C) counts and ``n_samples`` as a single int64 tensor
        (exact), or float64 once any process saw float weights. Call it on every process
        of ``group``, e.g. after the last validation batch. NCCL groups reduce a CUDA copy.
        Returns self.
        """
        import torch  # deferred: only distributed training jobs need torch
        import torch.distributed as dist

        info = (self.growing, self.labels, self.ignore_index, self.compute().dtype.kind == "f")
        seen = [None] * dist.get_world_size(group)
        dist.all_gather_object(seen, info, group=group)
        for rank, (growing, labels, ignore, _) in enumerate(seen):
            if growing != self.growing or ignore != self.ignore_index or (not growing and not np.array_equal(labels, self.labels)):
                raise ValueError(
                    f"Cannot all_reduce: process {rank} has classes {labels.tolist()!r} (ignore_index={ignore!r}), "
                    f"this one {self.labels.tolist()!r} (ignore_index={self.ignore_index!r})"
                )
        if len({lab.dtype.kind in "US" for _, lab, _, _ in seen if lab.size}) > 1:
            raise TypeError(f"Cannot all_reduce: some processes saw string labels, others numbers: {[lab.dtype.str for _, lab, _, _ in seen]}")
        counts = _host(self.compute())
        labels = self.labels
        if self.growing:
            union = np.empty(0, dtype=labels.dtype)
            for _, other_labels, _, _ in seen:
                union = np.union1d(union, other_labels) if union.size else np.asarray(other_labels)
            counts = _host(_embed(counts, labels, union, union.size)) if labels.size else np.zeros((union.size,) * 2, counts.dtype)
            labels = union
        dtype = np.float64 if any(is_float for *_, is_float in seen) else np.int64
        flat = np.append(counts.astype(dtype).reshape(-1), dtype(self.n_samples))
        tensor = torch.from_numpy(flat)
        if dist.get_backend(group) == "nccl":
            tensor = tensor.cuda()  # NCCL reduces CUDA tensors only
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM, group=group)
        flat = tensor.cpu().numpy()
        xp = array_module(self.compute())
        self._counts = xp.asarray(flat[:-1].reshape(labels.size, labels.size))
        self._labels = labels if self.growing else self._labels
        self.n_samples = int(flat[-1])
        return self

    def __add__(self, other):
        if not isinstance(other, ConfusionMatrix):
            return NotImplemented
        return self.copy().merge(other)

    def __radd__(self, other):
        if other == 0:  # lets sum() start from 0
            return self.copy()
        return NotImplemented

    def copy(self) -> "ConfusionMatrix":
        """An independent copy."""
        return _copy.deepcopy(self)

    def __eq__(self, other):
        if not isinstance(other, ConfusionMatrix):
            return NotImplemented
        return (
            self.ignore_index == other.ignore_index
            and np.array_equal(self.labels, other.labels)
            and np.array_equal(_host(self.compute()), _host(other.compute()))
        )

    __hash__ = None

    def __repr__(self) -> str:
        classes = f"num_classes={self.num_classes}" if not self.growing else f"growing, {self.labels.size} labels"
        return f"ConfusionMatrix({classes}, n_samples={self.n_samples})"

    # -- persistence ---------------------------------------------------------------------
    def save(self, path) -> None:
        """Write the state to ``path`` as .npz, atomically (a temporary file, then a rename)."""
        path = os.fspath(path)
        fields = {
            "fastcm_format": np.array(_FORMAT),
            "format_version": np.array(_FORMAT_VERSION),
            "counts": _host(self.compute()),
            "labels": self.labels,
            "mode": np.array("growing" if self.growing else ("labels" if self._fixed_labels is not None else "classes")),
            "n_samples": np.array(self.n_samples, dtype=np.int64),
            "has_ignore": np.array(self.ignore_index is not None),
            "ignore_index": np.array(0 if self.ignore_index is None else self.ignore_index),
        }
        write_npz_atomic(path, fields)

    @classmethod
    def load(cls, path, *, backend="auto") -> "ConfusionMatrix":
        """Read an accumulator written by :meth:`save`; a corrupt or foreign file is a ValueError."""
        path = os.fspath(path)
        data = read_npz(path, "ConfusionMatrix")
        if str(data.get("fastcm_format", "")) != _FORMAT:
            raise ValueError(f"{path!r} is not a fastcm ConfusionMatrix file")
        try:
            version = int(data["format_version"])
            if version > _FORMAT_VERSION:
                raise ValueError(f"{path!r} has format version {version}, newer than this fastcm reads")
            counts, labels, mode = data["counts"], data["labels"], str(data["mode"])
            ignore = data["ignore_index"].item() if bool(data["has_ignore"]) else None
            n_samples = int(data["n_samples"])
        except KeyError as exc:
            raise ValueError(f"{path!r} is a damaged fastcm file: missing {exc}") from None
        if counts.ndim != 2 or counts.shape[0] != counts.shape[1] or counts.shape[0] != labels.size:
            raise ValueError(f"{path!r} is a damaged fastcm file: counts {counts.shape} for {labels.size} labels")
        if mode == "classes":
            cm = cls(labels.size, ignore_index=ignore, backend=backend)
        elif mode == "labels":
            cm = cls(labels=labels, ignore_index=ignore, backend=backend)
        elif mode == "growing":
            cm = cls(ignore_index=ignore, backend=backend)
            cm._labels = labels
        else:
            raise ValueError(f"{path!r} is a damaged fastcm file: unknown mode {mode!r}")
        cm._counts = counts if n_samples or counts.any() else None
        cm.n_samples = n_samples
        return cm

    # -- metrics ---------------------------------------------------------------------------
    # Each forwards to the function of the same name in fastcm.metrics on compute().

    def precision(self, average=None, zero_division="warn"):
        """Per-class (or averaged) precision; see :func:`fastcm.metrics.precision`."""
        return _metrics.precision(self.compute(), average, zero_division)

    def recall(self, average=None, zero_division="warn"):
        """Per-class (or averaged) recall; see :func:`fastcm.metrics.recall`."""
        return _metrics.recall(self.compute(), average, zero_division)

    def fbeta(self, beta, average=None, zero_division="warn"):
        """F-beta; see :func:`fastcm.metrics.fbeta`."""
        return _metrics.fbeta(self.compute(), beta, average, zero_division)

    def f1(self, average=None, zero_division="warn"):
        """F1; see :func:`fastcm.metrics.f1`."""
        return _metrics.f1(self.compute(), average, zero_division)

    def support(self):
        """True samples per class."""
        return _metrics.support(self.compute())

    def accuracy(self):
        """Fraction of samples on the diagonal."""
        return _metrics.accuracy(self.compute())

    def balanced_accuracy(self, adjusted=False):
        """Mean recall over the classes present in the truth."""
        return _metrics.balanced_accuracy(self.compute(), adjusted)

    def specificity(self, average=None, zero_division="warn"):
        """True negative rate, one-vs-rest."""
        return _metrics.specificity(self.compute(), average, zero_division)

    def npv(self, average=None, zero_division="warn"):
        """Negative predictive value, one-vs-rest."""
        return _metrics.npv(self.compute(), average, zero_division)

    def fpr(self, average=None, zero_division="warn"):
        """False positive rate, one-vs-rest."""
        return _metrics.fpr(self.compute(), average, zero_division)

    def fnr(self, average=None, zero_division="warn"):
        """False negative rate, one-vs-rest."""
        return _metrics.fnr(self.compute(), average, zero_division)

    def iou(self, average=None, zero_division="warn"):
        """Intersection over union (Jaccard) per class."""
        return _metrics.iou(self.compute(), average, zero_division)

    def mean_iou(self, *, ignore_absent=True):
        """Mean IoU, leaving out classes absent from truth and prediction by default."""
        return _metrics.mean_iou(self.compute(), ignore_absent=ignore_absent)

    def mcc(self):
        """Matthews correlation coefficient."""
        return _metrics.mcc(self.compute())

    def cohen_kappa(self, weights=None):
        """Cohen's kappa."""
        return _metrics.cohen_kappa(self.compute(), weights)

    def report(self, target_names=None, digits=2, output_dict=False, *, zero_division="warn"):
        """The classification report; rows named by ``target_names`` or the labels."""
        names = [str(v) for v in self.labels] if target_names is None else target_names
        return _metrics.report(self.compute(), names, digits, output_dict, zero_division=zero_division)

    def plot(self, **kwargs):
        """Draw the matrix (needs matplotlib); see :func:`fastcm.plot.confusion_matrix`."""
        from .plot import confusion_matrix

        return confusion_matrix(self, **kwargs)

    def diagnose(self, **kwargs):
        """Findings a person should act on; see :func:`fastcm.diagnose`."""
        from .diagnose import diagnose

        names = kwargs.pop("target_names", None) or [str(v) for v in self.labels]
        return diagnose(_host(self.compute()), target_names=names, **kwargs)
