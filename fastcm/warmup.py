"""Compile fastcm's CPU kernels ahead of their first use: for images, CI and Dask workers.

A first call compiles (or loads from numba's disk cache) the kernels it needs; large label
streams then compile a tuned strategy in the background. :func:`warm_up` runs each entry
point once on a few values of every compiled dtype, tuned strategies included, so that
the first real call of a process only loads them from the cache
(``fastcm warm-up`` on the command line).
"""

from __future__ import annotations

import time

import numpy as np

from . import backends
from .accumulate.confusion import ConfusionMatrix
from .answers.calibration import calibration_error
from .answers.compare import compare
from .answers.intervals import confidence_interval
from .counts.confusion import confusion_matrix
from .counts.multilabel import multilabel_confusion_matrix
from .counts.thresholds import threshold_confusion_matrices
from .metrics.ranking import average_precision_score, roc_auc_score, roc_curve
from .metrics.sklearn import f1_score, top_k_accuracy_score

__all__ = ["warm_up"]

#: (classes, pairs) that select each counting strategy: paired tables, four histograms,
#: 32-bit counters, and the plain loop
_STRATEGY_CASES = ((3, 4000), (20, 10_000), (100, 50_000), (3, 10))


def _label_calls(cm, dtype):
    rng = np.random.default_rng(0)
    for classes, n in _STRATEGY_CASES:
        t = rng.integers(0, classes, n).astype(dtype)
        p = rng.integers(0, classes, n).astype(dtype)
        cm(t, p, num_classes=classes)
        cm(t, p, num_classes=classes, ignore_index=1)
    t = rng.integers(0, 3, 64).astype(dtype)
    cm(t, t)  # labels inferred
    cm(t, t, labels=[2, 0])
    cm(t, t, num_classes=3, sample_weight=np.ones(64))
    cm(t, t, num_classes=3, sample_weight=np.ones(64, dtype=np.int64))
    # thousands of classes over several threads: row bands of one shared matrix (72 MB here)
    big = (np.arange(2 * (1 << 18)) % 3000).astype(dtype) if np.iinfo(dtype).max >= 3000 else None
    if big is not None:
        cm(big, big, num_classes=3000)


def _score_calls(dtype):
    rng = np.random.default_rng(1)
    t = rng.integers(0, 3, 64)
    probs = rng.random((64, 3)).astype(dtype)
    probs /= probs.sum(axis=1, keepdims=True)
    confusion_matrix(t, probs)
    confusion_matrix(t.reshape(4, 4, 4), probs.T.reshape(3, 4, 4, 4).transpose(1, 0, 2, 3).copy())
    top_k_accuracy_score(t, probs, k=2, labels=[0, 1, 2])
    calibration_error(t, probs, n_bins=10)
    binary = (t == 1).astype(np.int64)
    threshold_confusion_matrices(binary, probs[:, 1])
    threshold_confusion_matrices(t, probs)
    roc_auc_score(binary, probs[:, 1])
    average_precision_score(binary, probs[:, 1])
    compare(t, probs, rng.integers(0, 3, 64))
    compare(t, rng.integers(0, 3, 64), rng.integers(0, 3, 64))
    compare(t, rng.integers(0, 20, 64), rng.integers(0, 20, 64), num_classes=20)
    roc_curve(binary, probs[:, 1])
    wide = rng.random((8, 300)).astype(dtype)  # the argmax of wide rows has a kernel of its own
    confusion_matrix(rng.integers(0, 300, 8), wide)


def warm_up(*, label_dtypes=("uint8", "int16", "uint16", "int32", "int64"), score_dtypes=("float32", "float64")) -> dict:
    """Compile (or load from the disk cache) the CPU kernels of every entry point.

    Runs each counting entry point on a few values of each label and score dtype, tuned
    strategies compiled at once rather than in the background. Other label dtypes are
    converted to these on the way in, so they need nothing of their own. The first run on
    a machine compiles (tens of seconds); later ones, in any process, load from numba's
    disk cache (``FASTCM_DISABLE_CACHE=1`` turns it off, and warming up then only helps
    the running process).

    Returns
    -------
    dict
        ``{"seconds": wall seconds, "cpu_seconds": this process's CPU seconds}``.

    Examples
    --------
    >>> import fastcm
    >>> stats = fastcm.warm_up(label_dtypes=("int64",), score_dtypes=())
    >>> sorted(stats)
    ['cpu_seconds', 'seconds']
    """
    wall, cpu = time.perf_counter(), time.process_time()
    numba_backend = backends.get("numba")
    with numba_backend.compile_synchronously():
        for dtype in label_dtypes:
            _label_calls(lambda *a, **k: confusion_matrix(*a, backend="numba", **k), np.dtype(dtype))
        for dtype in score_dtypes:
            _score_calls(np.dtype(dtype))
        many = np.arange(2000) % 1500  # many classes: per-class counts, and pairs added in place
        f1_score(many, many[::-1].copy(), average="macro")
        ConfusionMatrix(num_classes=1500).update(many[:64], many[:64])
        multilabel_confusion_matrix(np.eye(3, dtype=np.int64), np.eye(3, dtype=np.int64))
        # a bootstrap past 2**20 resamples x cells draws in numba's kernel (smaller ones in numpy)
        confidence_interval(np.eye(10, dtype=np.int64) * 50 + 1, "f1", average="macro", n_resamples=11_000, random_state=0)
    numba_backend.wait_for_compiles()
    return {"seconds": time.perf_counter() - wall, "cpu_seconds": time.process_time() - cpu}
