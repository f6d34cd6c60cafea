"""Cost per ``update`` of fastcm's framework metrics against the frameworks' own, same batches.

Keras: ``model.evaluate`` of one model over the same batches with no metric, with
``fastcm.keras`` metrics and with ``keras.metrics``; the cost per update is the time over the
no-metric run, divided by the number of batches (graph mode, as Keras runs it). PyTorch: the
``update`` of ``fastcm.torch`` and ``torchmetrics`` metrics on the same CPU batches.
Every case warms up first (compiles, traces) and reports the median of repeats.

    python benchmarks/frameworks.py
"""

import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

REPEATS = 9


def _median(fn):
    fn()  # warm-up: numba compile, tf.function trace
    times = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def keras_rows(n=32768, batch=256, classes=10):
    import keras

    from fastcm import keras as fk

    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 64)).astype(np.float32)
    y = np.eye(classes, dtype=np.float32)[rng.integers(0, classes, n)]
    steps = n // batch
    cases = {
        "none": [],
        "fastcm.keras F1Score(macro)": [fk.F1Score(classes)],
        "keras.metrics.F1Score(macro)": [keras.metrics.F1Score(average="macro")],
        "fastcm.keras IoU(macro)": [fk.IoU(classes)],
        "keras.metrics.MeanIoU": [keras.metrics.MeanIoU(classes, sparse_y_true=False, sparse_y_pred=False)],
        "fastcm.keras ConfusionMatrix": [fk.ConfusionMatrix(classes)],
    }
    out = {}
    for name, metrics in cases.items():
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(classes)])
        model.compile(loss="categorical_crossentropy", metrics=metrics)
        out[name] = _median(lambda: model.evaluate(x, y, batch_size=batch, verbose=0))
    base = out.pop("none")
    return [(name, (t - base) / steps * 1e6) for name, t in out.items()], base / steps * 1e6


def torch_rows(classes=10, sizes=(256, 65536), batches=20):
    import torch
    from torchmetrics import classification as tmc

    from fastcm import torch as ft

    rows = []
    for size in sizes:
        g = torch.Generator().manual_seed(0)
        data = [(torch.randn(size, classes, generator=g), torch.randint(0, classes, (size,), generator=g)) for _ in range(batches)]
        for name, metric in (
            ("fastcm.torch F1Score", ft.F1Score(classes)),
            ("torchmetrics MulticlassF1Score", tmc.MulticlassF1Score(classes)),
            ("fastcm.torch ConfusionMatrix", ft.ConfusionMatrix(classes)),
            ("torchmetrics MulticlassConfusionMatrix", tmc.MulticlassConfusionMatrix(classes)),
        ):
            def run(metric=metric):
                for p, t in data:
                    metric.update(p, t)

            rows.append((f"{name}, batch {size}x{classes}", _median(run) / batches * 1e6))
    return rows


def main():
    import torch

    torch.set_num_threads(1)
    rows, base = keras_rows()
    print(f"Keras model.evaluate, batch 256x10 logits, one-hot labels (the model's step alone: {base:.0f} us)")
    for name, us in rows:
        print(f"  {name:40s} {us:8.0f} us per update")
    print("PyTorch update(), CPU tensors, logits (argmax fused for fastcm)")
    for name, us in torch_rows():
        print(f"  {name:56s} {us:8.0f} us per update")


if __name__ == "__main__":
    main()
