"""PyTorch metric modules with torchmetrics' interface, counting through fastcm's kernels.

Install with ``pip install fastcm[torch]``. Each class holds one (C, C) int64 count tensor
as its state and has torchmetrics' interface: ``update(preds, target)``, ``compute()``,
``reset()``, ``forward(preds, target)`` (the batch's value, the batch also added to the
state), ``state_dict()``/``load_state_dict()`` (the counts are saved: a resumed run
continues counting), ``.to(device)`` and DDP synchronisation in ``compute()`` by one
``all_reduce`` of the counts. When torchmetrics is installed the classes subclass
``torchmetrics.Metric``, so they drop into a ``MetricCollection`` and Lightning's
``self.log(name, metric)``; without it they are plain ``torch.nn.Module``\\ s with the same
methods.

Arguments follow torchmetrics: ``update(preds, target)``, ``preds`` either labels shaped like
``target`` or scores (logits or probabilities: the argmax is the same) with the class axis
at position 1, ``(N, C)`` or ``(N, C, H, W)``; the argmax is fused into fastcm's counting
pass. ``average`` is "micro", "macro" (the default, as torchmetrics), "weighted" or
"none"/None (per class). Undefined ratios (a class never predicted, never true) are 0.

Where the batch lives decides how it is counted: CPU tensors are read zero-copy through
numpy by the numba kernels; CUDA tensors go zero-copy through DLPack to the CuPy backend
when CuPy is installed (the counts never leave the GPU), else they are copied to the host
once per batch.

Differences from torchmetrics: under ``average="macro"`` a class absent from both targets
and predictions counts as 0 in the mean (scikit-learn's rule), where torchmetrics leaves it
out of the mean; give the classes that occur, or use ``average="none"``, to compare.

Examples
--------
>>> import torch
>>> from fastcm.torch import ConfusionMatrix, F1Score
>>> cm = ConfusionMatrix(num_classes=3)
>>> cm.update(torch.tensor([0, 2, 2, 1]), torch.tensor([0, 1, 2, 1]))
>>> cm.compute().tolist()
[[1, 0, 0], [0, 1, 1], [0, 0, 1]]
>>> f1 = F1Score(num_classes=3)
>>> round(float(f1(torch.tensor([[2.0, 0.1, 0.3], [0.1, 3.0, 0.2]]), torch.tensor([0, 2]))), 4)
0.3333
"""

from __future__ import annotations

import importlib.util

import torch

from . import _frameworks
from .backends.arrays import to_caller
from .counts.confusion import confusion_matrix

__all__ = ["Accuracy", "ConfusionMatrix", "F1Score", "FBetaScore", "JaccardIndex", "Precision", "Recall", "USES_TORCHMETRICS"]

try:
    from torchmetrics import Metric as _Base

    USES_TORCHMETRICS = True
except ImportError:  # the same interface, without torchmetrics' machinery
    USES_TORCHMETRICS = False

    class _Base(torch.nn.Module):
        """The part of ``torchmetrics.Metric`` these classes use: states, reset, forward, sync."""

        is_differentiable = False
        higher_is_better = True
        full_state_update = False

        def __init__(self, process_group=None, **kwargs):
            if kwargs:
                raise TypeError(f"Unexpected keyword arguments {sorted(kwargs)} (torchmetrics is not installed)")
            super().__init__()
            self.process_group = process_group
            self._defaults = {}

        def add_state(self, name, default, dist_reduce_fx="sum", persistent=False):
            self.register_buffer(name, default.clone(), persistent=persistent)
            self._defaults[name] = default.clone()

        def reset(self):
            for name, default in self._defaults.items():
                setattr(self, name, default.clone().to(getattr(self, name).device))

        def forward(self, *args, **kwargs):
            saved = {name: getattr(self, name) for name in self._defaults}
            self.reset()
            self.update(*args, **kwargs)
            batch = self._value(self.confmat)  # the batch alone: no sync
            for name, state in saved.items():
                setattr(self, name, state + getattr(self, name))
            return batch

        def _compute_counts(self):
            """The counts summed over the processes (one all_reduce of a copy), or this one's."""
            dist = torch.distributed
            if dist.is_available() and dist.is_initialized() and dist.get_world_size(self.process_group) > 1:
                counts = self.confmat.clone()
                dist.all_reduce(counts, op=dist.ReduceOp.SUM, group=self.process_group)
                return counts
            return self.confmat


_HAS_CUPY = None


def _cupy_available() -> bool:
    global _HAS_CUPY
    if _HAS_CUPY is None:
        _HAS_CUPY = importlib.util.find_spec("cupy") is not None
    return _HAS_CUPY


def _as_fastcm(counts):
    """A numpy (CPU) or CuPy (CUDA) view of a count tensor, for :mod:`fastcm.metrics`."""
    if counts.is_cuda and _cupy_available():
        import cupy

        return cupy.from_dlpack(counts)
    return counts.detach().cpu().numpy()


class ConfusionMatrix(_Base):
    """The (C, C) confusion matrix (rows = target, columns = prediction), accumulated.

    Parameters
    ----------
    num_classes : int
        Classes ``0..C-1``; a target or predicted label outside is a ValueError.
    ignore_index : int, optional
        Pairs whose target equals it are skipped (segmentation's 255).
    normalize : {None, "true", "pred", "all"}
        As :func:`fastcm.confusion_matrix`: ``compute()`` then gives float64 ratios.
    **kwargs
        torchmetrics' ``Metric`` options (``process_group``, ``sync_on_compute``, ...).

    Examples
    --------
    >>> import torch
    >>> m = ConfusionMatrix(num_classes=2, ignore_index=255)
    >>> m(torch.tensor([1, 1, 0]), torch.tensor([1, 0, 255])).tolist()
    [[0, 1], [0, 1]]
    """

    is_differentiable = False
    higher_is_better = None
    full_state_update = False

    def __init__(self, num_classes, *, ignore_index=None, normalize=None, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = _frameworks.check_num_classes(num_classes)
        self.ignore_index = ignore_index
        self.normalize = normalize
        C = self.num_classes
        self.add_state("confmat", default=torch.zeros(C, C, dtype=torch.int64), dist_reduce_fx="sum", persistent=True)

    def update(self, preds, target) -> None:
        """Count one batch: ``preds`` labels like ``target``, or scores with the class axis 1."""
        if target.is_cuda and not _cupy_available():  # no CuPy: one host copy per batch
            preds, target = preds.detach().cpu(), target.detach().cpu()
        batch = to_caller(confusion_matrix(target, preds, num_classes=self.num_classes, ignore_index=self.ignore_index), "torch")
        self.confmat += batch.to(self.confmat.device)

    def _sync_dist(self, dist_sync_fn=None, process_group=None) -> None:
        """torchmetrics' sync, by one all_reduce of the counts in place of its all_gather."""
        counts = self.confmat.clone()
        torch.distributed.all_reduce(counts, op=torch.distributed.ReduceOp.SUM, group=process_group or self.process_group)
        self.confmat = counts

    def _compute_counts(self):
        # torchmetrics has already synchronised the state when compute() runs
        return super()._compute_counts() if not USES_TORCHMETRICS else self.confmat

    def _value(self, counts):
        if self.normalize is None:
            return counts.clone()
        from .counts.confusion import normalize_counts

        return torch.as_tensor(normalize_counts(_as_fastcm(counts), self.normalize), device=counts.device)

    def compute(self):
        """The accumulated counts (summed over processes under DDP), a (C, C) tensor."""
        return self._value(self._compute_counts())


class _Ratio(ConfusionMatrix):
    """A number computed from the accumulated counts by :mod:`fastcm._frameworks`."""

    higher_is_better = True
    _metric = ""

    def __init__(self, num_classes, *, average="macro", ignore_index=None, **kwargs):
        super().__init__(num_classes, ignore_index=ignore_index, **kwargs)
        self.average = average
        self._average = _frameworks.check_average(average)

    def _value(self, counts):
        value = _frameworks.value(self._metric, _as_fastcm(counts), self._average, **self._extra())
        return torch.as_tensor(value, device=counts.device).to(torch.get_default_dtype())

    def _extra(self):
        return {}


class Accuracy(_Ratio):
    """Accuracy; ``average="micro"`` is the fraction of pairs right, "macro" (torchmetrics'
    default) the mean per-class recall (balanced accuracy)."""

    def __init__(self, num_classes, *, average="macro", ignore_index=None, **kwargs):
        super().__init__(num_classes, average=average, ignore_index=ignore_index, **kwargs)
        self._metric = "accuracy" if self._average == "micro" else "recall"


class Precision(_Ratio):
    """Precision tp / (tp + fp), per class or averaged."""

    _metric = "precision"


class Recall(_Ratio):
    """Recall tp / (tp + fn), per class or averaged."""

    _metric = "recall"


class FBetaScore(_Ratio):
    """F-beta score, per class or averaged."""

    _metric = "fbeta"

    def __init__(self, num_classes, beta=1.0, *, average="macro", ignore_index=None, **kwargs):
        super().__init__(num_classes, average=average, ignore_index=ignore_index, **kwargs)
        self.beta = float(beta)

    def _extra(self):
        return {"beta": self.beta}


class F1Score(FBetaScore):
    """F1 score, per class or averaged."""

    def __init__(self, num_classes, *, average="macro", ignore_index=None, **kwargs):
        super().__init__(num_classes, 1.0, average=average, ignore_index=ignore_index, **kwargs)


class JaccardIndex(_Ratio):
    """Intersection over union tp / (tp + fp + fn), per class or averaged ("macro": mean IoU)."""

    _metric = "iou"
