"""The benchmark cases: what data each builds and which methods it times on it.

A case is a name, a group, the number of predictions it counts, and a ``setup`` returning
``{method: callable}`` over freshly generated arrays. Every method of a case runs on the
same arrays in the same process, so ratios are like for like.
"""

from __future__ import annotations

import importlib.util
import numpy as np

from . import anchors, gpu_cases
from .case import Case


def _labels(n, c, dtype, seed=0):
    """True labels and 80%-accurate predictions (realistic, not uniform noise)."""
    rng = np.random.default_rng(seed)
    t = rng.integers(0, c, n, dtype=np.int64)
    p = np.where(rng.random(n) < 0.8, t, rng.integers(0, c, n))
    return t.astype(dtype), p.astype(dtype)


def label_cases(sizes, classes, dtypes, *, sklearn_max=10**7):
    out = []
    for n in sizes:
        for c in classes:
            for dtype in dtypes:
                if np.iinfo(dtype).max < c - 1:
                    continue

                def setup(n=n, c=c, dtype=dtype):
                    t, p = _labels(n, c, dtype)
                    return anchors.label_methods(t, p, c, sklearn_max=sklearn_max)

                name = f"labels N={n:.0e} C={c} {np.dtype(dtype).name}"
                out.append(Case("labels", name, n, setup, {"N": n, "C": c, "dtype": np.dtype(dtype).name}))
    return out


def streamed_label_case(n, c, dtype, *, batch=10**8, distinct=2):
    """N labels counted batch by batch, for N too large to hold with the anchors'
    temporaries (``np.bincount`` alone allocates 16 bytes a pair): ``n // batch`` batches
    cycling over ``distinct`` generated ones, fastcm through ``ConfusionMatrix.update``."""

    def setup():
        batches = [_labels(batch, c, dtype, seed=seed) for seed in range(distinct)]
        return anchors.batched_label_methods(batches, c, n // batch)

    name = f"labels N={n:.0e} C={c} {np.dtype(dtype).name} (batches of {batch:.0e})"
    return Case("labels", name, n // batch * batch, setup, {"N": n // batch * batch, "C": c, "dtype": np.dtype(dtype).name, "batch": batch})


def segmentation_case(images):
    n = images * 1024 * 2048

    def setup():
        rng = np.random.default_rng(1)
        t = rng.integers(0, 19, (images, 1024, 2048), dtype=np.uint8)
        t[:, :64] = 255  # an ignored border, as in Cityscapes
        p = np.where(rng.random(t.shape, dtype=np.float32) < 0.8, t, rng.integers(0, 19, t.shape, dtype=np.uint8))
        p = p.astype(np.uint8)
        p[t == 255] = 0
        return anchors.label_methods(t, p, 19, ignore_index=255, sklearn_max=0)

    return Case("segmentation", f"segmentation {images}x1024x2048 uint8 C=19 ignore=255", n, setup, {"N": n, "C": 19})


def logits_read(s):
    """One multi-threaded read of the logits (their bits, as the label floor reads labels):
    the memory floor a fused argmax can reach."""
    flat = s.reshape(-1).view(np.int16 if s.itemsize == 2 else np.int32 if s.itemsize == 4 else np.int64)
    half = flat.size // 2
    return anchors.memory_floor(flat[:half], flat[half : 2 * half])


def logits_cases(n, classes, dtype=np.float32):
    """(N, C) logits of ``dtype``: fastcm's fused argmax against ``np.argmax`` + ``np.bincount``
    and torchmetrics, and the memory floor (one read of the logits)."""
    out = []
    for c in classes:

        def setup(n=n, c=c):
            rng = np.random.default_rng(2)
            t = rng.integers(0, c, n)
            s = rng.random((n, c), dtype=np.float32).astype(dtype, copy=False)
            methods = anchors.logits_methods(t, s, c)
            methods["memory floor"] = lambda: logits_read(s)
            return methods

        name = f"logits ({n:.0e}, {c}) {np.dtype(dtype).name}"
        out.append(Case("logits", name, n, setup, {"N": n, "C": c, "dtype": np.dtype(dtype).name}))
    return out


def stream_cases(n, batches, c=10):
    out = []
    for b in batches:

        def setup(b=b):
            t, p = _labels(n, c, np.int64)
            return anchors.stream_methods(t, p, c, b)

        out.append(Case("streaming", f"stream batch={b} C={c}", n, setup, {"N": n, "C": c, "batch": b}))
    return out


def stream_many_classes_case(n, c, batch, *, dense=True):
    """Streaming at many classes (issue 35): ``ConfusionMatrix.update`` in batches against the
    one-shot ``confusion_matrix`` of the same pairs (target: at most 1.5x its time), dense
    (``dense``: the (C, C) matrix fits) and sparse (``sparse=True``)."""

    def setup():
        import fastcm

        t, p = _labels(n, c, np.int64, seed=7)

        def stream(sparse):
            def run():
                cm = fastcm.ConfusionMatrix(c, sparse=sparse)
                for i in range(0, n, batch):
                    cm.update(t[i : i + batch], p[i : i + batch])
                return cm.compute()

            return run

        methods = {}
        if dense:
            methods["fastcm ConfusionMatrix.update"] = stream(False)
            methods["fastcm confusion_matrix (one shot)"] = lambda: fastcm.confusion_matrix(t, p, num_classes=c)
        methods["fastcm ConfusionMatrix(sparse=True).update"] = stream(True)
        methods["fastcm confusion_matrix(sparse=True) (one shot)"] = lambda: fastcm.confusion_matrix(
            t, p, num_classes=c, sparse=True
        )
        return methods

    name = f"stream batch={batch} C={c} N={n:.0e}"
    return [Case("streaming", name, n, setup, {"N": n, "C": c, "batch": batch, "target_ratio": 1.5})]


def sparse_labels_case(n, c):
    """Labels at 10^4-10^6 classes (issue 35): ``confusion_matrix(sparse=True)`` against
    scipy.sparse's own counting (``coo_array((ones, (t, p))).tocsr()``, duplicates summed),
    and the per-class pass the drop-ins use (``count(per_class=True)``)."""

    def setup():
        import fastcm
        from fastcm.counts.confusion import count

        t, p = _labels(n, c, np.int64, seed=9)
        methods = {
            "fastcm confusion_matrix(sparse=True)": lambda: fastcm.confusion_matrix(t, p, num_classes=c, sparse=True),
            "fastcm per-class counts": lambda: count(t, p, num_classes=c, per_class=True),
        }
        if anchors.installed("scipy"):
            from scipy import sparse

            ones = np.ones(n, dtype=np.int64)
            methods["scipy coo_array((1, (t, p))).tocsr()"] = lambda: sparse.coo_array((ones, (t, p)), shape=(c, c)).tocsr()
        return methods

    return [Case("labels", f"sparse labels N={n:.0e} C={c}", n, setup, {"N": n, "C": c})]


def many_classes_metrics_case(n, c, *, report=True):
    """Drop-ins at many classes (issue 35): ``f1_score(average="macro")`` and
    ``classification_report`` from per-class counts (no (C, C) matrix) against scikit-learn
    (targets: 15,000 classes >= 10x; 10^6 classes, 10^7 pairs >= 3x with < 1 GB extra)."""

    def setup():
        import warnings

        import fastcm

        t, p = _labels(n, c, np.int64, seed=8)

        def quiet(fn):
            def call():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    return fn()

            return call

        methods = {"fastcm f1_score macro": quiet(lambda: fastcm.f1_score(t, p, average="macro"))}
        if report:
            methods["fastcm classification_report"] = quiet(lambda: fastcm.classification_report(t, p))
        if anchors.installed("sklearn"):
            from sklearn import metrics

            methods["sklearn f1_score macro"] = quiet(lambda: metrics.f1_score(t, p, average="macro"))
            if report:
                methods["sklearn classification_report"] = quiet(lambda: metrics.classification_report(t, p))
        return methods

    return [Case("metrics", f"drop-ins N={n:.0e} C={c}", n, setup, {"N": n, "C": c})]


def _per_prediction(fn, n):
    """Mark a method that runs on the first ``n`` predictions only: its rate is ``n / time``."""
    fn.n = n
    return fn


def threshold_cases(n, thresholds, *, anchor_max=10**6):
    """fastcm's one-pass sweep on N scores against torchmetrics on the first ``anchor_max``.

    torchmetrics loops over the thresholds when ``N * T > 5e7`` (one pass over the scores
    per threshold, ~1 M scores/s here), so it never finished at N = 1e8; its rate is
    measured on a prefix, in the same regime, and compared per prediction.
    """
    import fastcm

    if not hasattr(fastcm, "threshold_confusion_matrices"):
        return []
    m = min(n, anchor_max)

    def setup():
        rng = np.random.default_rng(3)
        y = rng.integers(0, 2, n)
        s = np.clip(rng.normal(0.35 + 0.3 * y, 0.2), 0, 1).astype(np.float32)
        methods = {"fastcm threshold_confusion_matrices": lambda: fastcm.threshold_confusion_matrices(y, s, thresholds=thresholds)}
        if anchors.installed("torch") and anchors.installed("torchmetrics"):
            import torch
            from torchmetrics.functional.classification import binary_precision_recall_curve

            st, yt = torch.from_numpy(s[:m]), torch.from_numpy(y[:m])
            name = "torchmetrics binary_precision_recall_curve" + (f" (first {m:.0e})" if m < n else "")
            methods[name] = _per_prediction(
                lambda: binary_precision_recall_curve(st, yt, thresholds=thresholds, validate_args=False), m
            )
        return methods

    params = {"N": n, "T": thresholds, "anchor_N": m}
    return [Case("thresholds", f"threshold sweep N={n:.0e} T={thresholds}", n, setup, params)]


def roc_auc_cases(n, dtypes=(np.float32,)):
    """Exact ``roc_auc_score`` (binary) against scikit-learn on the same scores."""
    out = []
    for dtype in dtypes:

        def setup(dtype=dtype):
            import fastcm

            rng = np.random.default_rng(6)
            y = rng.integers(0, 2, n)
            s = rng.normal(0.35 + 0.3 * y, 0.2).astype(dtype)
            methods = {"fastcm.roc_auc_score": lambda: fastcm.roc_auc_score(y, s)}
            if anchors.installed("sklearn"):
                from sklearn.metrics import roc_auc_score

                methods["sklearn roc_auc_score"] = lambda: roc_auc_score(y, s)
            return methods

        name = f"roc_auc_score N={n:.0e} {np.dtype(dtype).name}"
        out.append(Case("curves", name, n, setup, {"N": n, "dtype": np.dtype(dtype).name}))
    return out


def metrics_case(c=100):
    import fastcm

    if importlib.util.find_spec("fastcm.metrics") is None:
        return []

    def setup():
        from fastcm import metrics

        rng = np.random.default_rng(4)
        cm = rng.integers(0, 10**6, (c, c))
        return {
            "fastcm.metrics (precision, recall, f1, mcc, kappa)": lambda: (
                metrics.precision(cm),
                metrics.recall(cm),
                metrics.f1(cm),
                metrics.mcc(cm),
                metrics.cohen_kappa(cm),
            ),
            "fastcm.metrics.report": lambda: metrics.report(cm),
        }

    del fastcm
    return [Case("metrics", f"metrics on a ready ({c}, {c}) matrix", 1, setup, {"C": c})]


def interval_cases(classes, n_resamples=10_000):
    """Confidence intervals on a ready (C, C) matrix against issue 32's targets: every metric of
    a 1000-class matrix with B = 10,000 resamples under 2 s, ``report(ci=)`` under 5 s (2 cores).

    The matrix: 20-60 correct predictions per class and 8C scattered confusions of 1-3 counts
    (a C-class classifier at about 70% accuracy). Each method's name carries its target; the
    methods span what a resample draws: nothing (Wilson: proportions, micro averages),
    2C groups (macro recall and precision, balanced accuracy), every non-zero cell (macro F1,
    MCC, kappa, weighted averages), and one shared draw for the whole report."""
    if importlib.util.find_spec("fastcm.answers.intervals") is None:
        return []
    out = []
    for c in classes:

        def setup(c=c):
            from fastcm import metrics
            from fastcm.answers.intervals import confidence_interval

            rng = np.random.default_rng(6)
            cm = np.diag(rng.integers(20, 60, size=c))
            rows, cols = rng.integers(0, c, size=(2, 8 * c))
            np.add.at(cm, (rows, cols), rng.integers(1, 4, size=8 * c))

            def ci(metric, **kw):
                return lambda: confidence_interval(cm, metric, n_resamples=n_resamples, random_state=0, **kw)

            def wilson():
                return [confidence_interval(cm, m, random_state=0, **kw) for m, kw in [
                    ("accuracy", {}), ("precision", {}), ("recall", {}), ("f1", {}), ("jaccard", {}),
                    ("precision", {"average": "micro"}), ("f1", {"average": "micro"})]]

            bootstrapped = {
                "macro recall": ci("recall", average="macro"),
                "weighted recall": ci("recall", average="weighted"),
                "balanced accuracy": ci("balanced_accuracy"),
                "macro precision": ci("precision", average="macro"),
                "weighted precision": ci("precision", average="weighted"),
                "macro F1": ci("f1", average="macro"),
                "weighted F1": ci("f1", average="weighted"),
                "macro jaccard": ci("jaccard", average="macro"),
                "per-class F2": ci("fbeta", beta=2.0),
                "MCC": ci("mcc"),
                "kappa": ci("cohen_kappa"),
            }
            methods = {"fastcm Wilson: accuracy, per-class P/R/F1/IoU, micro [<= 2 s]": wilson}
            methods.update({f"fastcm {name} B={n_resamples} [<= 2 s]": fn for name, fn in bootstrapped.items()})
            methods[f"fastcm report(ci=0.95) B={n_resamples} [<= 5 s]"] = lambda: metrics.report(cm, ci=0.95)
            return methods

        params = {"C": c, "B": n_resamples, "target_s": 2.0, "report_target_s": 5.0}
        out.append(Case("intervals", f"confidence intervals C={c} B={n_resamples}", 1, setup, params))
    return out


def report_case(n, c=10):
    """The whole classification report from labels: fastcm against scikit-learn."""

    def setup():
        import fastcm

        t, p = _labels(n, c, np.int64, seed=5)
        methods = {"fastcm.classification_report": lambda: fastcm.classification_report(t, p, digits=4)}
        if anchors.installed("sklearn"):
            from sklearn.metrics import classification_report

            methods["sklearn classification_report"] = lambda: classification_report(t, p, digits=4)
        return methods

    return [Case("report", f"classification_report N={n:.0e} C={c}", n, setup, {"N": n, "C": c})]


def dask_case(n):
    if not (anchors.installed("dask") and anchors.installed("distributed") and importlib.util.find_spec("fastcm.dask")):
        return []

    def setup():
        from .dask_case import methods

        return methods(n=n, num_classes=21)

    return [Case("dask", f"dask LocalCluster(2 workers) N={n:.0e} C=21", n, setup, {"N": n, "C": 21})]


def suite(mode: str) -> list[Case]:
    """Every case of a mode, then the GPU cases of that mode where CuPy sees a CUDA device."""
    return _host_suite(mode) + gpu_cases.suite(mode)


def _host_suite(mode: str) -> list[Case]:
    """Every case of a mode: ``tiny`` (the test), ``quick`` (under a minute) or ``full``."""
    if mode == "tiny":
        return (
            label_cases([2000], [3], [np.int32])
            + [segmentation_case(1)]
            + logits_cases(2000, [4])
            + logits_cases(500, [1000])  # the wide-row argmax (C >= kernels.WIDE_MIN_C)
            + logits_cases(500, [4, 300], np.float16)  # float16 compared as its bits
            + stream_cases(4096, [1024])
            + threshold_cases(2000, 11)
            + roc_auc_cases(2000)
            + metrics_case(5)
            + report_case(2000)
            + [streamed_label_case(4000, 3, np.uint8, batch=1000)]
            + interval_cases([10], n_resamples=200)
            + stream_many_classes_case(4000, 300, 512)
            + many_classes_metrics_case(6000, 2000)
            + sparse_labels_case(4000, 3000)
        )
    if mode == "readme":
        # the README's headline table: N = 10**8, every anchor on the same arrays
        return (
            label_cases([10**8], [10], [np.int32], sklearn_max=10**8)
            + label_cases([10**8], [10], [np.int64, np.uint8])
            + label_cases([10**5, 10**6, 10**7], [10], [np.int32])  # smaller N (PyCM at 10**5), the plot against N
            + label_cases([10**8], [1000], [np.int32])
            + [segmentation_case(4)]
            + logits_cases(10**7, [10, 100])
            + logits_cases(10**6, [1000])
            + stream_cases(10**7, [1024, 65536])
            + threshold_cases(10**8, 1000)
            + roc_auc_cases(10**7)
            + report_case(10**6)
            + metrics_case()
            + dask_case(4 * 10**7)
        )
    if mode == "quick":
        # under a minute on 2 cores: scikit-learn and torchmetrics' validation (0.6 and 1 s a
        # call at 10**7) timed with PyCM at 10**5 only
        return (
            label_cases([10**5], [10], [np.int32])
            + label_cases([10**7], [10], [np.int32, np.uint8], sklearn_max=10**5)
            + label_cases([10**7], [1000], [np.int32], sklearn_max=10**5)
            + [segmentation_case(1)]
            + logits_cases(10**6, [10, 100])
            + logits_cases(10**5, [1000])
            + logits_cases(10**6, [10, 100], np.float16)
            + logits_cases(10**5, [1000], np.float16)
            + stream_cases(10**6, [1024, 65536])
            + threshold_cases(10**7, 1000, anchor_max=10**5)
            + roc_auc_cases(10**6)
            + metrics_case()
            + report_case(10**5)
            + interval_cases([10, 100, 1000])
            + stream_many_classes_case(2 * 10**6, 15000, 65536)
            + many_classes_metrics_case(2 * 10**6, 15000, report=False)
        )
    return (
        label_cases([10**5], [10], [np.int64])
        + label_cases([10**6, 10**7, 10**8], [10, 100, 1000], [np.int64, np.int32, np.uint8])
        + label_cases([10**8], [2, 10000], [np.int32])
        + [streamed_label_case(10**9, 10, np.uint8)]
        + [segmentation_case(8)]
        + logits_cases(10**7, [10, 100])
        + logits_cases(10**6, [1000])
        + logits_cases(10**7, [10, 100], np.float16)
        + logits_cases(10**6, [1000], np.float16)
        + logits_cases(5000, [21843])  # ImageNet-21k: the (C, C) matrix alone is 3.8 GB
        + logits_cases(5000, [21843], np.float16)
        + stream_cases(10**7, [256, 1024, 4096, 65536])
        + threshold_cases(10**8, 1000)
        + roc_auc_cases(10**7, (np.float32, np.float64))
        + metrics_case()
        + report_case(10**6)
        + interval_cases([10, 100, 1000])
        + dask_case(4 * 10**7)
        + dask_case(10**9)
        + stream_many_classes_case(2 * 10**6, 15000, 65536)
        + many_classes_metrics_case(2 * 10**6, 15000)
        + many_classes_metrics_case(10**7, 10**6)
        + many_classes_cases()
    )


def many_classes_cases() -> list[Case]:
    """Labels, drop-ins and streaming at 10^4, 10^5 and 10^6 classes (issue 35; in ``--full``,
    alone with ``--select "C=1e+0[456]|C=15000"``)."""
    out = []
    for c in (10**4, 10**5, 10**6):
        out += sparse_labels_case(10**7, c)
        out += stream_many_classes_case(10**7, c, 65536, dense=c <= 10**4)
        if c < 10**6:  # 10^6 classes: many_classes_metrics_case(10**7, 10**6) above
            out += many_classes_metrics_case(10**7, c)
    for case in out:  # the class count as the selection pattern writes it
        case.name = case.name.replace(f"C={case.params['C']}", f"C={case.params['C']:.0e}")
    return out
