"""The methods fastcm is measured against, each built only where its package is installed.

Each ``*_methods`` function takes the arrays of a case and returns ``{name: callable}``.
"""

from __future__ import annotations

import importlib.util

import numpy as np

from fastcm.backends import numba_cpu


def installed(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def _read_kernel():
    import numba

    @numba.njit(nogil=True, cache=True)
    def read_both(t, p, start, stop):
        s = 0
        for i in range(np.uint64(start), np.uint64(stop)):
            s += np.int64(t[i]) + np.int64(p[i])
        return s

    return read_both


_READ = None


def memory_floor(t, p):
    """The physical floor: one multi-threaded pass that only reads both inputs."""
    global _READ
    if _READ is None:
        _READ = _read_kernel()
    t, p = t.reshape(-1), p.reshape(-1)
    ranges = numba_cpu.split(t.size, numba_cpu.num_threads())
    return sum(numba_cpu.run_parallel(lambda a, b: _READ(t, p, a, b), ranges))


def _with_threads(fn, threads):
    import numba

    def call():
        old = numba.get_num_threads()
        numba.set_num_threads(threads)
        try:
            return fn()
        finally:
            numba.set_num_threads(old)

    return call


def label_methods(t, p, c, *, sklearn_max=10**7, pycm_max=10**5, tf_max=10**8, ignore_index=None):
    """fastcm at 1 and all threads, the memory floor, and every installed anchor."""
    import numba

    import fastcm

    threads = numba.config.NUMBA_NUM_THREADS
    fc = lambda: fastcm.confusion_matrix(t, p, num_classes=c, ignore_index=ignore_index)  # noqa: E731
    methods = {f"fastcm ({threads} threads)": fc}
    if threads > 1:
        methods["fastcm (1 thread)"] = _with_threads(fc, 1)
    methods["memory floor"] = lambda: memory_floor(t, p)
    tf, pf = t.reshape(-1), p.reshape(-1)
    if ignore_index is None:
        methods["np.bincount(t*C+p)"] = lambda: np.bincount(tf.astype(np.intp) * c + pf, minlength=c * c)
    else:

        def masked_bincount():
            keep = tf != ignore_index
            return np.bincount(tf[keep].astype(np.intp) * c + pf[keep], minlength=c * c)

        methods["np.bincount(t*C+p)"] = masked_bincount
    if installed("sklearn") and tf.size <= sklearn_max:
        from sklearn.metrics import confusion_matrix

        labels = np.arange(c)
        if ignore_index is None:
            methods["sklearn"] = lambda: confusion_matrix(tf, pf, labels=labels)
    if installed("torch") and installed("torchmetrics"):
        import torch
        from torchmetrics.functional.classification import multiclass_confusion_matrix

        tt = torch.from_numpy(tf.astype(np.int64, copy=False))
        pt = torch.from_numpy(pf.astype(np.int64, copy=False))
        kw = {"num_classes": c, "ignore_index": ignore_index}
        methods["torchmetrics"] = lambda: multiclass_confusion_matrix(pt, tt, validate_args=False, **kw)
        if tf.size <= sklearn_max:
            methods["torchmetrics (validate_args)"] = lambda: multiclass_confusion_matrix(pt, tt, validate_args=True, **kw)
    if installed("tensorflow") and tf.size <= tf_max:
        import tensorflow as tf_

        with tf_.device("/CPU:0"):
            tt_tf = tf_.constant(tf.astype(np.int64, copy=False))
            pt_tf = tf_.constant(pf.astype(np.int64, copy=False))
        if ignore_index is None:
            methods["tf.math.confusion_matrix"] = lambda: tf_.math.confusion_matrix(tt_tf, pt_tf, num_classes=c).numpy()
    if installed("pycm") and tf.size <= pycm_max and ignore_index is None:
        from pycm import ConfusionMatrix as PyCM

        tl, pl = tf.tolist(), pf.tolist()
        methods["pycm"] = lambda: PyCM(actual_vector=tl, predict_vector=pl)
    return methods


def batched_label_methods(batches, c, count):
    """fastcm, the memory floor, ``np.bincount`` and torchmetrics over ``count`` batches of
    labels, cycling over ``batches`` (a list of ``(t, p)``), each method batch by batch."""
    import numba

    import fastcm

    order = [batches[i % len(batches)] for i in range(count)]

    def fastcm_batches():
        cm = fastcm.ConfusionMatrix(c)
        for t, p in order:
            cm.update(t, p)
        return cm.compute()

    def bincount_batches():
        total = np.zeros(c * c, np.int64)
        for t, p in order:
            total += np.bincount(t.astype(np.intp) * c + p, minlength=c * c)
        return total

    methods = {
        f"fastcm ({numba.config.NUMBA_NUM_THREADS} threads)": fastcm_batches,
        "memory floor": lambda: [memory_floor(t, p) for t, p in order],
        "np.bincount(t*C+p)": bincount_batches,
    }
    if installed("torch") and installed("torchmetrics"):
        import torch
        from torchmetrics.classification import MulticlassConfusionMatrix

        # int64 once per distinct batch, as ``label_methods`` converts before timing
        tensors = {id(b): (torch.from_numpy(b[1].astype(np.int64)), torch.from_numpy(b[0].astype(np.int64))) for b in batches}
        torch_order = [tensors[id(b)] for b in order]

        def torchmetrics_batches():
            m = MulticlassConfusionMatrix(num_classes=c, validate_args=False)
            for preds, target in torch_order:
                m.update(preds, target)
            return m.compute()

        methods["torchmetrics"] = torchmetrics_batches
    return methods


def logits_methods(t, s, c):
    import numba

    import fastcm

    threads = numba.config.NUMBA_NUM_THREADS
    methods = {f"fastcm ({threads} threads)": lambda: fastcm.confusion_matrix(t, s, num_classes=c)}
    methods["np.argmax + np.bincount"] = lambda: np.bincount(t.astype(np.intp) * c + np.argmax(s, axis=1), minlength=c * c)
    if installed("torch") and installed("torchmetrics"):
        import torch
        from torchmetrics.functional.classification import multiclass_confusion_matrix

        tt, st = torch.from_numpy(t.astype(np.int64, copy=False)), torch.from_numpy(s)
        methods["torchmetrics"] = lambda: multiclass_confusion_matrix(st, tt, num_classes=c, validate_args=False)
    return methods


def stream_methods(t, p, c, batch):
    import fastcm

    n = t.size

    def fastcm_stream():
        cm = fastcm.ConfusionMatrix(c)
        for i in range(0, n, batch):
            cm.update(t[i : i + batch], p[i : i + batch])
        return cm.compute()

    def bincount_stream():
        total = np.zeros(c * c, np.int64)
        for i in range(0, n, batch):
            total += np.bincount(t[i : i + batch].astype(np.intp) * c + p[i : i + batch], minlength=c * c)
        return total

    methods = {"fastcm ConfusionMatrix.update": fastcm_stream, "np.bincount per batch": bincount_stream}
    if installed("torch") and installed("torchmetrics"):
        import torch
        from torchmetrics.classification import MulticlassConfusionMatrix

        tt, pt = torch.from_numpy(t.astype(np.int64)), torch.from_numpy(p.astype(np.int64))

        def torchmetrics_stream():
            m = MulticlassConfusionMatrix(num_classes=c, validate_args=False)
            for i in range(0, n, batch):
                m.update(pt[i : i + batch], tt[i : i + batch])
            return m.compute()

        methods["torchmetrics MulticlassConfusionMatrix.update"] = torchmetrics_stream
    return methods
