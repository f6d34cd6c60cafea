"""``evaluate``: count a whole data loader into a :class:`~fastcm.ConfusionMatrix`.

A data loader, a ``tf.data`` pipeline or a generator yields batches; ``evaluate`` feeds each
``(y_true, y_pred)`` pair (labels, or scores/logits with a class axis 1) to
:meth:`ConfusionMatrix.update <fastcm.ConfusionMatrix.update>`, with a progress bar.
tqdm is optional and imported only when a bar is shown.
"""

from __future__ import annotations

import sys

from .stream import ConfusionMatrix

__all__ = ["evaluate"]


def progress_bar(total=None, *, enabled=True, unit="it", desc=None, file=None, auto=False, leave=False, unit_scale=True):
    """A tqdm bar writing to stderr, or None when disabled or tqdm is not installed.

    ``auto=False`` uses the terminal bar (shown only on a terminal, as a command line
    tool should); ``auto=True`` picks the notebook widget in Jupyter.
    """
    if not enabled:
        return None
    try:
        if auto:
            from tqdm.auto import tqdm
        else:
            from tqdm import tqdm
    except ImportError:
        return None
    stream = sys.stderr if file is None else file
    return tqdm(total=total, unit=unit, unit_scale=unit_scale, desc=desc, file=stream, leave=leave, dynamic_ncols=True)


def _unpack(batch, position):
    if isinstance(batch, dict):
        try:
            return batch["y_true"], batch["y_pred"], batch.get("sample_weight")
        except KeyError:
            raise TypeError(
                f"Expected batch {position} to hold 'y_true' and 'y_pred' keys, but got {sorted(batch)!r}"
            ) from None
    try:
        items = tuple(batch)
    except TypeError:
        raise TypeError(
            f"Expected batch {position} to be a (y_true, y_pred) pair, but got {type(batch).__name__}"
        ) from None
    if len(items) == 2:
        return items[0], items[1], None
    if len(items) == 3:
        return items
    raise TypeError(
        f"Expected batch {position} to be (y_true, y_pred) or (y_true, y_pred, sample_weight), "
        f"but got {len(items)} items"
    )


def evaluate(
    batches,
    *,
    num_classes=None,
    labels=None,
    ignore_index=None,
    progress=True,
    backend="auto",
    into=None,
    desc="fastcm",
    total=None,
):
    """Count every ``(y_true, y_pred)`` batch of an iterable into a ConfusionMatrix.

    Parameters
    ----------
    batches : iterable
        Yields ``(y_true, y_pred)``, ``(y_true, y_pred, sample_weight)`` or dicts with those
        keys. Each array may be numpy, a list, torch (CPU or CUDA; tensors that require
        grad are detached), CuPy, JAX, TensorFlow or pandas; ``y_pred`` may be labels or
        scores/logits with the class axis 1 (``(N, C)``, or ``(N, C, H, W)`` for
        segmentation), whose argmax is fused into counting.
    num_classes, labels, ignore_index, backend
        As for :class:`fastcm.ConfusionMatrix`.
    progress : bool
        Show a tqdm progress bar on stderr (total from ``len(batches)`` when it has one).
        Nothing is shown when tqdm is not installed.
    into : ConfusionMatrix, optional
        Accumulate into this matrix instead of a new one (its classes are used).
    desc : str
        Label of the progress bar.
    total : int, optional
        Number of batches the bar counts to, for iterables without a length (generators).

    Returns
    -------
    ConfusionMatrix

    Examples
    --------
    >>> import numpy as np
    >>> batches = [(np.array([0, 1]), np.array([0, 1])), (np.array([2, 2]), np.array([[0.1, 0.2, 0.7], [0.8, 0.1, 0.1]]))]
    >>> cm = evaluate(batches, num_classes=3, progress=False)
    >>> cm.compute().tolist()
    [[1, 0, 0], [0, 1, 0], [1, 0, 1]]
    """
    cm = into if into is not None else ConfusionMatrix(num_classes, labels=labels, ignore_index=ignore_index, backend=backend)
    if not isinstance(cm, ConfusionMatrix):
        raise TypeError(f"Expected `into` to be a ConfusionMatrix, but got {type(cm).__name__}")
    if total is None:
        try:
            total = len(batches)
        except TypeError:
            total = None
    bar = progress_bar(total, enabled=progress, unit="batch", desc=desc, auto=True, leave=True, unit_scale=False)
    try:
        for i, batch in enumerate(batches):
            y_true, y_pred, weight = _unpack(batch, i)
            cm.update(_detach(y_true), _detach(y_pred), sample_weight=None if weight is None else _detach(weight))
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return cm


def _detach(x):
    # torch tensors that require grad refuse zero-copy export; evaluation never needs the graph
    if type(x).__module__.split(".", 1)[0] == "torch" and getattr(x, "requires_grad", False):
        return x.detach()
    return x
