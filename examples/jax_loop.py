"""Evaluate a JAX model batch by batch with fastcm.

JAX arrays go straight into ``ConfusionMatrix.update`` (through DLPack, no copy on the
CPU); logits are reduced by the argmax fused into counting. Run it:
``python examples/jax_loop.py``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import fastcm


def build(n=4096, features=32, num_classes=10, seed=0):
    """A small synthetic problem and a linear model trained by gradient descent."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype(np.float32)
    w_true = rng.normal(size=(features, num_classes)).astype(np.float32)
    y = (x @ w_true + 1.5 * rng.normal(size=(n, num_classes))).argmax(axis=1).astype(np.int32)
    x, y = jnp.asarray(x), jnp.asarray(y)

    def loss(params, xb, yb):
        logits = xb @ params["w"] + params["b"]
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), yb[:, None], axis=1))

    params = {"w": jnp.zeros((features, num_classes)), "b": jnp.zeros(num_classes)}
    step = jax.jit(lambda p, xb, yb: jax.tree_util.tree_map(lambda a, g: a - 0.5 * g, p, jax.grad(loss)(p, xb, yb)))
    for _ in range(50):
        params = step(params, x, y)
    return params, x, y


def batches(x, y, batch_size=256):
    for lo in range(0, x.shape[0], batch_size):
        yield x[lo : lo + batch_size], y[lo : lo + batch_size]


def evaluate(params, x, y, num_classes=10) -> fastcm.ConfusionMatrix:
    predict = jax.jit(lambda p, xb: xb @ p["w"] + p["b"])
    cm = fastcm.ConfusionMatrix(num_classes)  # fastcm
    for xb, yb in batches(x, y):
        cm.update(yb, predict(params, xb))  # fastcm: jax arrays, logits
    return cm


def main() -> fastcm.ConfusionMatrix:
    params, x, y = build()
    cm = evaluate(params, x, y)
    print(cm.report(digits=3))  # fastcm
    return cm


if __name__ == "__main__":
    main()
