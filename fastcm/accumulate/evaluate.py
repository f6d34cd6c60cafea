"""``evaluate``: count a whole data loader into a :class:`~fastcm.ConfusionMatrix`.

A data loader, a ``tf.data`` pipeline or a generator yields batches; ``evaluate`` feeds each
``(y_true, y_pred)`` pair (labels, or scores/logits with a class axis 1) to
:meth:`ConfusionMatrix.update <fastcm.ConfusionMatrix.update>`, with a progress bar on a
terminal or in a notebook (never into a redirected log: the rule of ``fastcm report``).
tqdm draws it when installed, imported only then; without it, fastcm draws its own.
"""

from __future__ import annotations

import sys
import time

from .confusion import ConfusionMatrix

__all__ = ["evaluate"]


def shows_progress(stream=None) -> bool:
    """The one rule for progress bars, in ``fastcm report`` and :func:`evaluate` alike: a bar is
    drawn on a terminal or in a Jupyter notebook, never into a file or a pipe (a redirected
    log gets no bar frames).

    >>> import io
    >>> shows_progress(io.StringIO())
    False
    """
    stream = sys.stderr if stream is None else stream
    try:
        if stream.isatty():
            return True
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False
    return type(stream).__module__.split(".", 1)[0] == "ipykernel"  # a notebook's output area


def progress_bar(total=None, *, enabled=True, unit="it", desc=None, file=None, auto=False, leave=True, unit_scale=True):
    """A progress bar on stderr (or ``file``) under the rule of :func:`shows_progress`, or None.

    tqdm draws it when installed (its notebook widget in Jupyter with ``auto=True``);
    without tqdm, fastcm draws a one-line bar of its own: ``desc: 42% 420/1000 row [2.1 s, 200 row/s]``.
    """
    stream = sys.stderr if file is None else file
    if not enabled or not shows_progress(stream):
        return None
    try:
        if auto:
            from tqdm.auto import tqdm
        else:
            from tqdm import tqdm
    except ImportError:
        return TextBar(total, unit=unit, desc=desc, file=stream, leave=leave)
    return tqdm(total=total, unit=unit, unit_scale=unit_scale, desc=desc, file=stream, leave=leave, dynamic_ncols=True)


class TextBar:
    """A one-line progress bar redrawn in place with ``\\r``, at most ten times a second: what
    fastcm shows when tqdm is not installed (``update``/``close`` as tqdm's)."""

    def __init__(self, total=None, *, unit="it", desc=None, file=None, leave=True, interval=0.1):
        self.total, self.unit, self.desc, self.leave = total, unit, desc, leave
        self.file = sys.stderr if file is None else file
        self.n, self._interval, self._width = 0, interval, 0
        self._start = self._drawn = time.perf_counter()
        self._draw()

    def update(self, n=1) -> None:
        self.n += n
        now = time.perf_counter()
        if now - self._drawn >= self._interval or (self.total is not None and self.n >= self.total):
            self._drawn = now
            self._draw()

    def _draw(self) -> None:
        seconds = time.perf_counter() - self._start
        rate = f", {self.n / seconds:,.0f} {self.unit}/s" if seconds > 0 and self.n else ""
        head = f"{self.desc}: " if self.desc else ""
        if self.total:
            line = f"{head}{100 * self.n / self.total:3.0f}% {self.n:,}/{self.total:,} {self.unit} [{seconds:.1f} s{rate}]"
        else:
            line = f"{head}{self.n:,} {self.unit} [{seconds:.1f} s{rate}]"
        self.file.write("\r" + line + " " * max(0, self._width - len(line)))  # cover a longer previous line
        self._width = len(line)
        self.file.flush()

    def close(self) -> None:
        self._draw()
        self.file.write("\n" if self.leave else "\r" + " " * self._width + "\r")
        self.file.flush()


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
        Show a progress bar on stderr (total from ``len(batches)`` when it has one), under
        the rule ``fastcm report`` follows too: only on a terminal or in a notebook, never
        into a redirected log. tqdm draws it when installed, else fastcm's own one-line bar.
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
