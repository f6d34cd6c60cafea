"""Evaluate a PyTorch classifier over a DataLoader with fastcm (CPU; CUDA when available).

The fastcm lines are marked ``# fastcm``: make the accumulator, update it with each batch's
targets and logits (the argmax is fused into counting; CUDA tensors are counted on the GPU
through CuPy), read the report. Run it: ``python examples/torch_loop.py``.
"""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, TensorDataset

import fastcm


def pick_device() -> str:
    # CUDA tensors are counted by fastcm's CuPy backend: use the GPU only when both are there
    if torch.cuda.is_available() and "cupy" in fastcm.backends.available():
        return "cuda"
    return "cpu"


def build(n=4096, features=32, num_classes=10, batch_size=256, seed=0):
    """A small synthetic problem and a linear model trained on it for a few steps."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, features, generator=g)
    w = torch.randn(features, num_classes, generator=g)
    y = (x @ w + 1.5 * torch.randn(n, num_classes, generator=g)).argmax(dim=1)
    model = torch.nn.Linear(features, num_classes)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(30):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    loader = DataLoader(TensorDataset(x, y), batch_size=batch_size)
    return model, loader


def evaluate(model, loader, num_classes=10, device="cpu") -> fastcm.ConfusionMatrix:
    model = model.to(device).eval()
    cm = fastcm.ConfusionMatrix(num_classes)  # fastcm
    with torch.no_grad():
        for inputs, targets in loader:
            logits = model(inputs.to(device))
            cm.update(targets.to(device), logits)  # fastcm: (N,) targets, (N, C) logits
    return cm


def main() -> fastcm.ConfusionMatrix:
    device = pick_device()
    model, loader = build()
    cm = evaluate(model, loader, device=device)
    print(f"device: {device}")
    print(cm.report(digits=3))  # fastcm
    print(cm.diagnose())  # fastcm
    return cm


if __name__ == "__main__":
    main()
