"""Exact int64 counts: additions that raise ``OverflowError`` instead of wrapping.

Counts are int64 and must stay exact. Every place that adds counts (an ``update`` adding
its batch, ``merge``, integer weights summed by a kernel) goes through
:func:`add_counts`, so a total past 2**63-1 is reported, naming the cell, and never
returned wrapped.

Examples
--------
>>> import numpy as np
>>> add_counts(np.array([1, 2]), np.array([3, 4])).tolist()
[4, 6]
>>> add_counts(np.array([2**62]), np.array([2**62]))
Traceback (most recent call last):
...
OverflowError: count at cell (0,) would pass the int64 range: 4611686018427387904 + 4611686018427387904
"""

from __future__ import annotations

import numpy as np

__all__ = ["INT64_MAX", "add_counts", "wrapped_cells", "raise_wrapped"]

INT64_MAX = int(np.iinfo(np.int64).max)


def wrapped_cells(a, b, total):
    """Boolean mask of the cells where the int64 sum ``total = a + b`` wrapped around."""
    return ((a > 0) & (b > 0) & (total < 0)) | ((a < 0) & (b < 0) & (total >= 0))


def raise_wrapped(mask, a, b, what: str = "count") -> None:
    """Raise the OverflowError for the first ``True`` cell of ``mask`` (host or device)."""
    flat = mask.reshape(-1)
    pos = int(flat.argmax())  # synchronize!
    cell = tuple(int(i) for i in np.unravel_index(pos, mask.shape))
    av, bv = int(a.reshape(-1)[pos]), int(b.reshape(-1)[pos])  # synchronize!
    raise OverflowError(f"{what} at cell {cell} would pass the int64 range: {av} + {bv}")


def add_counts(a, b, what: str = "count"):
    """``a + b`` for two count arrays of one shape and module; int64 sums are checked.

    A float64 operand makes the sum float64 (weighted counts); two integer operands give
    int64, and an ``OverflowError`` naming the first cell whose sum would pass the int64
    range. Reads one boolean from a device (``# synchronize!``) only for int64 counts.
    """
    if a.dtype.kind == "f" or b.dtype.kind == "f":
        return a.astype(np.float64) + b.astype(np.float64)
    a = a.astype(np.int64, copy=False)
    b = b.astype(np.int64, copy=False)
    with np.errstate(over="ignore"):
        total = a + b
    mask = wrapped_cells(a, b, total)
    if bool(mask.any()):  # synchronize!
        raise_wrapped(mask, a, b, what)
    return total
