"""Keras 3 metrics (TensorFlow backend) counting through fastcm's kernels.

Install with ``pip install fastcm[keras]``. Each class subclasses ``keras.metrics.Metric``
and holds one (C, C) float64 count variable (counts are whole numbers, exact up to 2**53;
float because Keras passes ``sample_weight``). They work in ``model.compile(metrics=[...])``,
``model.fit(validation_data=...)`` and ``model.evaluate``, eager or in graph mode, and save
with the model (``get_config``/``from_config``; registered as ``fastcm>ClassName``).

Inputs, as Keras metrics take them:

* ``y_true``: integer class labels ``(N,)`` or ``(N, 1)`` (the sparse form), or one-hot
  ``(N, C)`` (argmax taken);
* ``y_pred``: scores ``(N, C)`` or ``(N, ..., C)``, logits or probabilities (the argmax is
  the same; class axis last, as in Keras), or labels shaped like ``y_true``. With
  ``num_classes=2`` a single score column ``(N,)``/``(N, 1)`` is a binary score compared with
  ``threshold`` (a probability; with ``from_logits=True`` the logit of ``threshold``).

``average`` is "micro", "macro" (the default), "weighted" or "none"/None (a per-class
vector). Undefined ratios are 0. ``ignore_index`` drops pairs whose label equals it.

Cost: the count runs on the host in ``tf.numpy_function`` (in graph mode too), which reads
the batch's tensors zero-copy on the CPU. It is one Python call per batch: the ratio
metrics compute their value from the new counts in the same call, so ``result()``, which
Keras 3 reads at every step, is a variable read (for a metric created under a
``tf.distribute`` strategy it computes from the replicas' summed counts on the host instead). Such a call cannot be compiled by XLA: Keras turns XLA on by itself (``jit_compile="auto"``) only on a GPU
without ``tf.distribute``; there, compile with ``jit_compile=False``. On a GPU each batch is
also copied to the host. The figures against ``keras.metrics`` are in docs/frameworks.md.

Under ``tf.distribute`` the count variable is created per replica with
``aggregation="sum"``: each replica counts its own share of the batch, and ``result()``
reads the sum over the replicas (as Keras' own confusion-matrix metrics do).

Examples
--------
>>> import numpy as np
>>> from fastcm.keras import F1Score
>>> m = F1Score(num_classes=3, average="micro")
>>> m.update_state(np.array([0, 2, 1]), np.array([[0.9, 0.05, 0.05], [0.1, 0.2, 0.7], [0.6, 0.3, 0.1]]))
>>> round(float(m.result()), 4)
0.6667
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

from . import _frameworks
from .counts.confusion import confusion_matrix
from .counts.thresholds import binary_confusion_matrix

__all__ = ["Accuracy", "ConfusionMatrix", "F1Score", "FBetaScore", "IoU", "Precision", "Recall"]


def _batch_counts(y_true, y_pred, sample_weight, num_classes, ignore_index, threshold, from_logits):
    """The (C, C) float64 counts of one batch (runs on the host, inside tf.numpy_function)."""
    t, p = np.asarray(y_true), np.asarray(y_pred)
    binary_score = num_classes == 2 and p.dtype.kind == "f" and (p.shape == t.shape or (p.ndim >= 1 and p.shape[-1] == 1))
    if t.ndim == p.ndim and t.ndim >= 2 and t.shape[-1] == 1:  # sparse labels (N, 1)
        t = t.reshape(t.shape[:-1])
    if binary_score:
        p = p.reshape(t.shape)
    elif p.ndim == t.ndim and t.ndim >= 2 and t.shape[-1] == num_classes and t.shape == p.shape:
        t = t.argmax(axis=-1)  # one-hot labels
    w = None
    if sample_weight is not None and sample_weight.size:
        w = sample_weight.reshape(-1) if sample_weight.size == t.size else np.broadcast_to(sample_weight, t.shape).reshape(-1)
    if binary_score:
        cut = math.log(threshold / (1 - threshold)) if from_logits else threshold
        keep = None if ignore_index is None else t.reshape(-1) != ignore_index
        tt, pp = t.reshape(-1), p.reshape(-1)
        if keep is not None:
            tt, pp, w = tt[keep], pp[keep], None if w is None else w[keep]
        counts = binary_confusion_matrix(tt, pp, threshold=cut, sample_weight=w)
    else:
        if p.ndim == t.ndim + 1:  # class axis last (Keras) -> axis 1 (fastcm)
            p = np.moveaxis(p, -1, 1) if p.ndim > 2 else p
        counts = confusion_matrix(t, p, num_classes=num_classes, ignore_index=ignore_index, sample_weight=w)
    return np.asarray(counts, dtype=np.float64)


@keras.saving.register_keras_serializable(package="fastcm")
class ConfusionMatrix(keras.metrics.Metric):
    """The (C, C) confusion matrix (rows = true class, columns = prediction), accumulated.

    Parameters
    ----------
    num_classes : int
    ignore_index : int, optional
        Pairs whose true label equals it are skipped.
    threshold : float
        With ``num_classes=2`` and one score column: the decision threshold (probability).
    from_logits : bool
        With ``num_classes=2`` and one score column: scores are logits.
    name, dtype : as ``keras.metrics.Metric``

    Examples
    --------
    >>> import numpy as np
    >>> m = ConfusionMatrix(num_classes=2)
    >>> m.update_state(np.array([0, 1, 1]), np.array([[0.8, 0.2], [0.3, 0.7], [0.9, 0.1]]))
    >>> m.result().numpy().tolist()
    [[1.0, 0.0], [1.0, 1.0]]
    """

    def __init__(self, num_classes, *, ignore_index=None, threshold=0.5, from_logits=False, name="confusion_matrix",
                 dtype=None, **kwargs):
        super().__init__(name=name, dtype=dtype, **kwargs)
        self.num_classes = _frameworks.check_num_classes(num_classes)
        if not 0 < float(threshold) < 1:
            raise ValueError(f"Expected `threshold` to be in (0, 1), but got {threshold!r}")
        self.ignore_index = ignore_index
        self.threshold = float(threshold)
        self.from_logits = bool(from_logits)
        C = self.num_classes
        self.counts = self.add_variable(shape=(C, C), initializer="zeros", dtype="float64", aggregation="sum", name="counts")

    def update_state(self, y_true, y_pred, sample_weight=None):
        C, ignore, threshold, logits = self.num_classes, self.ignore_index, self.threshold, self.from_logits
        weight = tf.zeros((0,), tf.float64) if sample_weight is None else tf.cast(sample_weight, tf.float64)
        batch = tf.numpy_function(
            lambda t, p, w: _batch_counts(t, p, w if w.size else None, C, ignore, threshold, logits),
            [y_true, y_pred, weight], tf.float64, stateful=False, name="fastcm_count",
        )
        batch.set_shape((C, C))
        self.counts.assign_add(batch)

    def reset_state(self):
        self.counts.assign(tf.zeros_like(self.counts))

    def result(self):
        return tf.convert_to_tensor(self.counts)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "ignore_index": self.ignore_index,
                "threshold": self.threshold, "from_logits": self.from_logits}


class _Ratio(ConfusionMatrix):
    """A number computed from the accumulated counts by :mod:`fastcm._frameworks` (on the host:
    the (C, C) counts only)."""

    _metric = ""

    @classmethod
    def _default_name(cls):
        return {"F1Score": "f1_score", "FBetaScore": "fbeta_score", "IoU": "iou"}.get(cls.__name__, cls.__name__.lower())

    def __init__(self, num_classes, *, average="macro", ignore_index=None, threshold=0.5, from_logits=False,
                 name=None, dtype=None, **kwargs):
        super().__init__(num_classes, ignore_index=ignore_index, threshold=threshold, from_logits=from_logits,
                         name=name or self._default_name(), dtype=dtype, **kwargs)
        self.average = average
        self._average = _frameworks.check_average(average)
        # the metric of the counts so far, computed in the update's own host call: Keras 3
        # reads result() at every step, and a host call there is a second round trip per step
        shape = () if self._average is not None else (self.num_classes,)
        # created under a strategy: per-replica counts, whose ratio only their sum gives
        self._per_replica = tf.distribute.has_strategy()
        self.value = self.add_variable(shape=shape, initializer="zeros", dtype="float32",
                                       aggregation="only_first_replica", name="value")

    def _compute(self, counts):
        return np.asarray(_frameworks.value(self._metric, counts, self._average, **self._extra()), dtype=np.float32)

    def _extra(self):
        return {}

    def update_state(self, y_true, y_pred, sample_weight=None):
        if self._per_replica:  # result() computes from the replicas' summed counts
            return super().update_state(y_true, y_pred, sample_weight)
        C, ignore, threshold, logits, compute = self.num_classes, self.ignore_index, self.threshold, self.from_logits, self._compute

        def count(t, p, w, before):
            batch = _batch_counts(t, p, w if w.size else None, C, ignore, threshold, logits)
            return batch, compute(before + batch)

        weight = tf.zeros((0,), tf.float64) if sample_weight is None else tf.cast(sample_weight, tf.float64)
        batch, value = tf.numpy_function(count, [y_true, y_pred, weight, tf.convert_to_tensor(self.counts)],
                                         [tf.float64, tf.float32], stateful=False, name="fastcm_count")
        batch.set_shape((C, C))
        value.set_shape(self.value.shape)
        self.counts.assign_add(batch)
        self.value.assign(value)

    def reset_state(self):
        super().reset_state()
        self.value.assign(tf.zeros_like(self.value))  # every ratio of no counts is 0 (zero_division=0)

    def result(self):
        if not self._per_replica:
            return tf.convert_to_tensor(self.value)
        value = tf.numpy_function(self._compute, [self.counts], tf.float32, stateful=False, name="fastcm_metric")
        value.set_shape(self.value.shape)
        return value

    def get_config(self):
        return {**super().get_config(), "average": self.average}


@keras.saving.register_keras_serializable(package="fastcm")
class Accuracy(_Ratio):
    """Accuracy: "micro" the fraction right, "macro" (default) the mean per-class recall."""

    def __init__(self, num_classes, *, average="macro", **kwargs):
        super().__init__(num_classes, average=average, **kwargs)
        self._metric = "accuracy" if self._average == "micro" else "recall"


@keras.saving.register_keras_serializable(package="fastcm")
class Precision(_Ratio):
    """Precision tp / (tp + fp), per class or averaged."""

    _metric = "precision"


@keras.saving.register_keras_serializable(package="fastcm")
class Recall(_Ratio):
    """Recall tp / (tp + fn), per class or averaged."""

    _metric = "recall"


@keras.saving.register_keras_serializable(package="fastcm")
class FBetaScore(_Ratio):
    """F-beta score, per class or averaged."""

    _metric = "fbeta"

    def __init__(self, num_classes, *, beta=1.0, average="macro", **kwargs):
        super().__init__(num_classes, average=average, **kwargs)
        self.beta = float(beta)

    def _extra(self):
        return {"beta": self.beta}

    def get_config(self):
        return {**super().get_config(), "beta": self.beta}


@keras.saving.register_keras_serializable(package="fastcm")
class F1Score(FBetaScore):
    """F1 score, per class or averaged."""

    def __init__(self, num_classes, *, average="macro", **kwargs):
        kwargs.pop("beta", None)  # from_config passes it back
        super().__init__(num_classes, beta=1.0, average=average, **kwargs)


@keras.saving.register_keras_serializable(package="fastcm")
class IoU(_Ratio):
    """Intersection over union tp / (tp + fp + fn), per class or averaged ("macro": mean IoU,
    as ``keras.metrics.MeanIoU``)."""

    _metric = "iou"
