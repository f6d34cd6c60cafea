"""Evaluate a Keras model over a ``tf.data`` pipeline with fastcm.

Two ways, both with three or four fastcm lines: update an accumulator inside the loop
(TensorFlow tensors go in directly: fastcm reads them through NumPy, or DLPack), or count
``model.predict``'s logits at once. Run it: ``python examples/tensorflow_loop.py``.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

import fastcm


def build(n=4096, features=32, num_classes=10, batch_size=256, seed=0):
    """A small synthetic problem, a tf.data pipeline and a Keras model trained briefly."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype(np.float32)
    w = rng.normal(size=(features, num_classes)).astype(np.float32)
    y = (x @ w + 1.5 * rng.normal(size=(n, num_classes))).argmax(axis=1).astype(np.int32)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size)
    tf.keras.utils.set_random_seed(seed)
    model = tf.keras.Sequential([tf.keras.Input((features,)), tf.keras.layers.Dense(num_classes)])
    model.compile(optimizer=tf.keras.optimizers.Adam(0.05),
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(ds, epochs=3, verbose=0)
    return model, ds, y


def evaluate_loop(model, ds, num_classes=10) -> fastcm.ConfusionMatrix:
    cm = fastcm.ConfusionMatrix(num_classes)  # fastcm
    for inputs, targets in ds:
        logits = model(inputs, training=False)
        cm.update(targets, logits)  # fastcm: tf tensors, argmax fused
    return cm


def evaluate_predict(model, ds, y_true, num_classes=10):
    logits = model.predict(ds, verbose=0)  # (N, C) numpy
    return fastcm.confusion_matrix(y_true, logits, num_classes=num_classes)  # fastcm


def main() -> fastcm.ConfusionMatrix:
    model, ds, y = build()
    cm = evaluate_loop(model, ds)
    print(cm.report(digits=3))  # fastcm
    assert (evaluate_predict(model, ds, y) == cm.compute()).all()
    return cm


if __name__ == "__main__":
    main()
