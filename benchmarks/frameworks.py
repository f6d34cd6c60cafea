"""Cost per ``update`` of fastcm's framework metrics against the frameworks' own, same batches.

One data set (64 features, 10 classes) cut into the same batches for every library, and
one linear model whose weights Keras and PyTorch share, so both see the same logits:

* **Keras** (TensorFlow backend, graph mode as Keras runs it): ``model.evaluate`` with no
  metric, with ``fastcm.keras`` metrics and with ``keras.metrics``. Keras 3 calls each
  metric's ``update_state`` and ``result()`` at every step, so a step's cost holds both;
  and the two alone, compiled into one ``tf.function`` as Keras compiles its test step, on
  the same logits, less a compiled call that only reads the batch (the part of the step
  that is the metric's, without the model's and Keras' own per-step work, whose noise on
  a loaded machine can hide it).
* **PyTorch**: the evaluation loop a Lightning ``validation_step`` runs, ``model(x)`` then
  ``metric.update(logits, target)`` under ``torch.no_grad()``, against the same loop without
  the metric; and ``update`` alone on the precomputed logits.

Every case is warmed up first (numba compiles, at once: ``FASTCM_COMPILE=sync`` unless set;
``tf.function`` traces), then run in interleaved rounds (each round runs every case once,
in an order rotated per round, so a machine that slows down or speeds up shifts all cases
alike). Each step is timed on its own (Keras: a callback at each test batch, the same in
every case), and the cost is the median step (and the 25th percentile) over every step of
every round less the same of the run without the metric: a step that another process
interrupts moves the median little, where a whole run's time would carry every interruption.

    python benchmarks/frameworks.py                   # batches of 32, 256 and 2048
    python benchmarks/frameworks.py --batch 256 --rounds 5
"""

from __future__ import annotations

import argparse
import os
import platform
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# the compiled kernels are measured: compiled in the warm-up, not served by the first tier
# (numpy) while another process compiles them
os.environ.setdefault("FASTCM_COMPILE", "sync")

import numpy as np

FEATURES, CLASSES = 64, 10


def _data(batch, steps, seed=0):
    rng = np.random.default_rng(seed)
    n = batch * steps
    x = rng.normal(size=(n, FEATURES)).astype(np.float32)
    y = rng.integers(0, CLASSES, n)
    w = (rng.normal(size=(FEATURES, CLASSES)) * 0.3).astype(np.float32)
    b = np.zeros(CLASSES, np.float32)
    return x, y, w, b


def _rounds(cases: dict, rounds: int) -> dict:
    """Every step's seconds for each case: each case is a pass over the batches that appends
    its steps' durations to the list it is given; warmed up by one pass, then ``rounds``
    passes each, interleaved, in an order rotated per round."""
    names = list(cases)
    for name in names:  # warm-up: compiles and traces
        cases[name]([])
    steps = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            cases[name](steps[name])
    return steps


def _q(values, q):
    return float(np.quantile(np.asarray(values), q))


def _extra(steps: dict, base: str) -> dict:
    """name -> (median, 25th percentile) of its steps less the same of ``base``'s."""
    return {name: (_q(t, 0.5) - _q(steps[base], 0.5), _q(t, 0.25) - _q(steps[base], 0.25))
            for name, t in steps.items() if name != base}


def keras_costs(batch, steps, rounds):
    """Per step of ``model.evaluate``: the model alone, and what each metric adds."""
    import keras

    from fastcm import keras as fk

    class StepTimes(keras.callbacks.Callback):
        """Each test step's wall time (the same callback in every case, so its cost cancels)."""

        def __init__(self):
            super().__init__()
            self.out = None

        def on_test_batch_begin(self, batch, logs=None):
            self.t0 = time.perf_counter()

        def on_test_batch_end(self, batch, logs=None):
            self.out.append(time.perf_counter() - self.t0)

    x, y, w, b = _data(batch, steps)
    onehot = np.eye(CLASSES, dtype=np.float32)[y]
    metrics = {
        "none": [],
        "fastcm.keras ConfusionMatrix": [fk.ConfusionMatrix(CLASSES)],
        "fastcm.keras F1Score(macro)": [fk.F1Score(CLASSES)],
        "keras.metrics.F1Score(macro)": [keras.metrics.F1Score(average="macro")],
        "fastcm.keras IoU(macro)": [fk.IoU(CLASSES)],
        "keras.metrics.MeanIoU": [keras.metrics.MeanIoU(CLASSES, sparse_y_true=False, sparse_y_pred=False)],
    }
    cases = {}
    for name, ms in metrics.items():
        model = keras.Sequential([keras.Input((FEATURES,)), keras.layers.Dense(CLASSES)])
        model.layers[0].set_weights([w, b])
        model.compile(loss="categorical_crossentropy", metrics=ms)

        def run(out, model=model, timer=StepTimes()):
            timer.out = out
            model.evaluate(x, onehot, batch_size=batch, verbose=0, callbacks=[timer])

        cases[name] = run
    times = _rounds(cases, rounds)

    # the metric's part of the step alone: update_state then result(), compiled into one
    # tf.function as Keras compiles its test step, on the model's logits for the same batches
    import tensorflow as tf

    logits = x @ w + b
    batches = [(tf.constant(onehot[i:i + batch]), tf.constant(logits[i:i + batch])) for i in range(0, len(y), batch)]

    def alone(metric):
        if metric is None:  # a compiled call that reads the batch and does nothing else
            step = tf.function(lambda t, p: tf.reduce_sum(p))
        else:
            step = tf.function(lambda t, p: (metric.update_state(t, p), metric.result())[1])

        def run(out):
            for t, p in batches:
                t0 = time.perf_counter()
                step(t, p)
                out.append(time.perf_counter() - t0)
            if metric is not None:
                metric.reset_state()
        return run

    fresh = {name: type(ms[0]).from_config(ms[0].get_config()) if ms else None for name, ms in metrics.items()}
    alone_steps = _extra(_rounds({name: alone(m) for name, m in fresh.items()}, rounds), "none")
    return _q(times["none"], 0.5), _extra(times, "none"), alone_steps


def torch_costs(batch, steps, rounds):
    """Per step of a no-grad evaluation loop, and of ``update`` alone, on the same batches."""
    import torch
    from torchmetrics import classification as tmc

    from fastcm import torch as ft

    x, y, w, b = _data(batch, steps)
    model = torch.nn.Linear(FEATURES, CLASSES)
    with torch.no_grad():
        model.weight.copy_(torch.from_numpy(w.T))
        model.bias.copy_(torch.from_numpy(b))
    data = [(torch.from_numpy(x[i:i + batch]), torch.from_numpy(y[i:i + batch])) for i in range(0, len(y), batch)]
    with torch.no_grad():
        logits = [(model(xb), t) for xb, t in data]
    metrics = {
        "fastcm.torch ConfusionMatrix": ft.ConfusionMatrix(CLASSES),
        "torchmetrics MulticlassConfusionMatrix": tmc.MulticlassConfusionMatrix(CLASSES),
        "fastcm.torch F1Score(macro)": ft.F1Score(CLASSES),
        "torchmetrics MulticlassF1Score(macro)": tmc.MulticlassF1Score(CLASSES),
        "torchmetrics MulticlassF1Score(macro), validate_args=False": tmc.MulticlassF1Score(CLASSES, validate_args=False),
    }

    def loop(metric=None):
        def run(out):
            with torch.no_grad():
                for xb, t in data:
                    t0 = time.perf_counter()
                    pred = model(xb)
                    if metric is not None:
                        metric.update(pred, t)
                    out.append(time.perf_counter() - t0)
            if metric is not None:
                metric.reset()  # as an epoch's end does
        return run

    def updates(metric):
        def run(out):
            for pred, t in logits:
                t0 = time.perf_counter()
                metric.update(pred, t)
                out.append(time.perf_counter() - t0)
            metric.reset()
        return run

    in_loop = _rounds({"none": loop(), **{n: loop(m) for n, m in metrics.items()}}, rounds)
    alone = _rounds({n: updates(m) for n, m in metrics.items()}, rounds)
    alone = {n: (_q(t, 0.5), _q(t, 0.25)) for n, t in alone.items()}
    return _q(in_loop["none"], 0.5), _extra(in_loop, "none"), alone


def _us(s):
    return f"{s * 1e6:8.0f} us"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, nargs="+", default=[32, 256, 2048])
    ap.add_argument("--steps", type=int, default=128, help="batches per evaluate/loop (default 128)")
    ap.add_argument("--rounds", type=int, default=7, help="interleaved timed rounds per case (default 7)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ap.add_argument("--only", choices=["keras", "torch"], help="one framework only")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    import fastcm

    # numba loaded and the kernels these batches use compiled before any timing (a process's
    # first calls are otherwise counted by numpy while numba loads in the background)
    fastcm.warm_up(label_dtypes=("int64",), score_dtypes=("float32",))
    versions = [f"fastcm {fastcm.__version__}", f"numpy {np.__version__}", f"torch {torch.__version__}"]
    if args.only != "torch":
        import keras
        import tensorflow as tf

        versions += [f"keras {keras.__version__}", f"tensorflow {tf.__version__}"]
    if args.only != "keras":
        import torchmetrics

        versions.append(f"torchmetrics {torchmetrics.__version__}")
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load average "
          f"{' '.join(f'{v:.1f}' for v in os.getloadavg())}; {', '.join(versions)}")
    print(f"{args.steps} batches of (batch, {CLASSES}) logits per run, {args.rounds} interleaved rounds; "
          "per step: median (25th percentile) over every step of every round")
    for batch in args.batch:
        if args.only != "torch":
            base, rows, alone = keras_costs(batch, args.steps, args.rounds)
            print(f"\nKeras model.evaluate, batch {batch}: the step without metrics {_us(base)}; each metric adds / "
                  "update_state + result() alone in a tf.function")
            for name, (med, low) in rows.items():
                print(f"  {name:58s} {_us(med)} ({_us(low).strip()}) / {_us(alone[name][0])} ({_us(alone[name][1]).strip()})")
        if args.only != "keras":
            base, rows, alone = torch_costs(batch, args.steps, args.rounds)
            print(f"\nPyTorch no-grad loop, batch {batch}: the step without metrics {_us(base)}; "
                  "each metric adds / update() alone")
            for name, (med, low) in rows.items():
                print(f"  {name:58s} {_us(med)} ({_us(low).strip()}) / {_us(alone[name][0])} ({_us(alone[name][1]).strip()})")
        print(f"  load average now {' '.join(f'{v:.1f}' for v in os.getloadavg())}", flush=True)


if __name__ == "__main__":
    main()
