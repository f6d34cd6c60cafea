"""Segmentation evaluation: per-class IoU and mIoU over batches of masks, void = 255.

Each batch holds true masks ``(N, H, W)`` with 255 on unlabelled pixels and a model's
logits ``(N, C, H, W)``; fastcm takes the argmax over the class axis inside the counting
pass and skips the 255 pixels. The "model" here is synthetic (noisy logits around the
truth) so the script runs without a framework; with PyTorch, pass the tensors as they come.
Run it: ``python examples/segmentation_miou.py``.
"""

from __future__ import annotations

import numpy as np

import fastcm

CLASSES = ["road", "sidewalk", "building", "vegetation", "sky", "car"]
VOID = 255


def batches(n_batches=4, batch_size=4, height=64, width=96, seed=0):
    """Yield (masks, logits) like a segmentation data loader and model would."""
    rng = np.random.default_rng(seed)
    c = len(CLASSES)
    rows = np.linspace(0, c - 1, height).astype(np.int64)[:, None]  # horizontal bands of classes
    for _ in range(n_batches):
        masks = np.broadcast_to(rows, (batch_size, height, width)).copy().astype(np.uint8)
        masks[rng.random(masks.shape) < 0.03] = rng.integers(0, c)  # speckle
        masks[:, :, :4] = VOID  # an unlabelled border
        onehot = np.eye(c, dtype=np.float32)[np.minimum(masks, c - 1)]  # (N, H, W, C)
        logits = (2.0 * onehot + rng.normal(scale=0.9, size=onehot.shape)).astype(np.float32)
        yield masks, np.moveaxis(logits, -1, 1)  # (N, C, H, W), as models emit


def evaluate(loader) -> fastcm.ConfusionMatrix:
    cm = fastcm.ConfusionMatrix(num_classes=len(CLASSES), ignore_index=VOID)  # fastcm
    for masks, logits in loader:
        cm.update(masks, logits)  # fastcm: argmax over axis 1 fused, 255 skipped
    return cm


def main() -> fastcm.ConfusionMatrix:
    cm = evaluate(batches())
    for name, iou in zip(CLASSES, cm.iou()):  # fastcm
        print(f"{name:>12}  IoU {iou:.3f}")
    print(f"{'mIoU':>12}      {cm.mean_iou():.3f}  over {int(cm.compute().sum()):,} labelled pixels")
    return cm


if __name__ == "__main__":
    main()
