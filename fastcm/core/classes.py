"""The classes a count is over: one check of ``num_classes`` and ``labels``, shared by the
function, the accumulators, the paired comparison and the Dask chunks.

Examples
--------
>>> spec = check_classes(3, [2, 0, 1])
>>> spec.num_classes, spec.labels.tolist()
(3, [2, 0, 1])
>>> check_classes(2, ["a", "b", "c"])
Traceback (most recent call last):
...
ValueError: Expected 2 labels for num_classes=2, but got 3
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from .inputs import check_num_classes
from .overflow import INT64_MAX

__all__ = ["ClassSpec", "as_labels", "check_classes"]

I64_MIN, UINT64_MAX = -INT64_MAX - 1, 2**64 - 1


@dataclass(frozen=True)
class ClassSpec:
    """``num_classes`` (None: not given) and ``labels`` (a 1-D array of distinct values, None:
    not given), checked against each other."""

    num_classes: int | None
    labels: np.ndarray | None


def check_classes(num_classes=None, labels=None, *, convert=None) -> ClassSpec:
    """The classes given, checked: ``num_classes`` a positive int, ``labels`` distinct and, with
    both, one label per class. ``convert`` reads ``labels`` (default :func:`as_labels`)."""
    num_classes = check_num_classes(num_classes)
    lab = None if labels is None else (convert or as_labels)(labels)
    if lab is not None and num_classes is not None and lab.size != num_classes:
        raise ValueError(f"Expected {num_classes} labels for num_classes={num_classes}, but got {lab.size}")
    return ClassSpec(num_classes, lab)


def _integer_labels(values) -> np.ndarray:
    """Python ints as int64, else uint64, exactly; a ValueError naming the values no one
    64-bit integer type holds (numpy would make them float64, or raise a bare OverflowError)."""
    lo, hi = min(values), max(values)
    if I64_MIN <= lo and hi <= INT64_MAX:
        return np.array(values, dtype=np.int64)
    if 0 <= lo and hi <= UINT64_MAX:
        return np.array(values, dtype=np.uint64)
    bad = next((v for v in values if not I64_MIN <= v <= UINT64_MAX), None)
    if bad is not None:
        raise ValueError(f"Expected integer `labels` within the 64-bit integer range, but got {bad!r}")
    raise ValueError(
        f"Expected integer `labels` that one 64-bit integer type holds, but got {lo!r} and {hi!r} "
        "(int64 holds no value above 2**63-1, uint64 no negative one)"
    )


def as_labels(labels) -> np.ndarray:
    """``labels`` as a 1-D array of distinct integers (int64, else uint64: exact) or strings."""
    lab = np.asarray(labels)
    if lab.ndim != 1:
        lab = lab.reshape(-1)
    if lab.size == 0:
        raise ValueError("'labels' should contain at least one label.")
    if lab.dtype.kind == "f" and not isinstance(labels, np.ndarray):
        # a list of ints numpy could not put in one integer dtype became float64, rounded
        items = np.asarray(labels, dtype=object).reshape(-1).tolist()
        if all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in items):
            lab = np.array(items, dtype=object)
    if lab.dtype.kind == "O":
        items = lab.tolist()
        if all(isinstance(v, str) for v in items):
            lab = lab.astype(str)
        elif all(isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_)) for v in items):
            lab = _integer_labels([int(v) for v in items])
        else:
            bad = next(v for v in items if not isinstance(v, (str, numbers.Integral)) or isinstance(v, (bool, np.bool_)))
            raise TypeError(f"Expected `labels` to be all integers or all strings, but got {bad!r} ({type(bad).__name__})")
    if np.unique(lab).size != lab.size:
        raise ValueError(f"Expected `labels` to hold distinct values, but got {lab.tolist()!r}")
    return lab
