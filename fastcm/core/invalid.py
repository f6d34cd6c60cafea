"""Invalid values: the record a counting pass keeps of them, its message, and deferred checks.

A kernel counts what is valid and reports ``[n_invalid, first_position]``. From that the
pass builds one int64 **invalid record** on the kernel's device, without reading anything
back, so a GPU pass can defer its check:

==========  =====================================================================
field       meaning
==========  =====================================================================
0 bad       the number of invalid pairs (0: nothing was invalid)
1 pos       the flat position of the first
2 t         ``y_true`` there, as int64 bits (uint64 labels: see flags)
3 p         ``y_pred`` there, likewise (unused for scores)
4 weight    the weight there: 0 finite, 1 NaN, 2 +inf, 3 -inf
5 flags     1: ``t`` holds uint64 bits; 2: ``p`` holds uint64 bits; 4: ``p`` were scores
6 classes   the number of classes the labels had to lie below
7 ndim      the rank of the input's shape (1 for shapes deeper than 32 axes)
8..39 shape the input's shape, for a message naming the index, not only the position
==========  =====================================================================

An accumulator whose batches live on a GPU keeps a **deferred state** instead of reading
each record back: one int64 array on the counts' device, read once by ``compute()``:

==========  =====================================================================
field       meaning
==========  =====================================================================
0 batches   invalid batches seen (0: every batch was valid)
1 pairs     the pairs of those batches (taken off the accumulator's count)
2 float     1 once a *valid* batch or merge made the counts float64, so that an invalid
            float-weighted batch does not leave int64 counts float64
3 first     the index of the first invalid batch
4 merged    1 when that batch came in through ``merge``
5..         that batch's invalid record
==========  =====================================================================

Fields from "first" on mean something only while "batches" is non-zero. The checks run in a
fixed order (weights, then ``y_true``, then scores or ``y_pred``), so a message names the
same problem whichever backend counted.

Examples
--------
>>> import numpy as np
>>> t, p = np.array([0, 1, 7]), np.array([0, 1, 1])
>>> invalid_message(invalid_record(np.array([1, 2]), t, p, None, num_classes=3))
'Expected `y_true` labels in 0..2 (num_classes=3), but got 7 at position 2'
"""

from __future__ import annotations

import numpy as np

from ..backends.arrays import to_host
from .inputs import array_module

__all__ = [
    "RECORD_SIZE",
    "deferred_error",
    "deferred_float_earned",
    "deferred_pairs",
    "invalid_message",
    "invalid_record",
    "merge_deferred",
    "note_batch",
    "report_invalid",
]

_R_BAD, _R_POS, _R_T, _R_P, _R_WEIGHT, _R_FLAGS, _R_CLASSES, _R_NDIM, _R_SHAPE = range(9)
_R_MAXDIM = 32  # deeper shapes are named by flat position only
RECORD_SIZE = _R_SHAPE + _R_MAXDIM
_T_U64, _P_U64, _SCORES = 1, 2, 4  # flags: uint64 values stored as their int64 bits; scores
_WEIGHT_VALUES = {1: float("nan"), 2: float("inf"), 3: float("-inf")}


def _gather_int64(xp, a, pos):
    """``a[pos]`` as int64 bits on the device; zeros for arrays that are never invalid (strings)."""
    if a is None or a.dtype.kind not in "biu":
        return xp.zeros(1, np.int64)
    v = xp.take(a, pos)
    return v.view(np.int64) if v.dtype == np.uint64 else v.astype(np.int64)


def invalid_record(invalid, t, p, weights, num_classes, scores=False, shape=None):
    """The first invalid element a kernel reported, as a (RECORD_SIZE,) int64 array on its device.

    ``invalid`` is a kernel's ``[n_invalid, first_position]``. The values at that position
    are gathered by device-side indexing and the host-known facts (number of classes,
    shape, whether ``p`` holds scores) are appended, so building the record reads nothing
    back from a GPU; :func:`invalid_message` turns a host copy of it into the error text.
    """
    xp = array_module(invalid)
    n = int(t.shape[0])
    if n:
        pos = xp.clip(invalid[1:2], 0, n - 1)  # -1 (nothing invalid) gathers element 0, unused
        tv, pv = _gather_int64(xp, t, pos), _gather_int64(xp, p, pos)
        if weights is not None and weights.dtype.kind == "f":
            w = xp.take(weights, pos).astype(np.float64)
            wcode = (w != w) + 2 * (w == np.inf) + 3 * (w == -np.inf)
        else:
            wcode = xp.zeros(1, np.int64)
        dynamic = [invalid, tv, pv, wcode.astype(np.int64, copy=False)]
    else:
        dynamic = [invalid, xp.zeros(3, np.int64)]
    shape = (n,) if shape is None else tuple(int(d) for d in shape)
    ndim = len(shape) if len(shape) <= _R_MAXDIM else 1
    static = np.zeros(RECORD_SIZE - _R_FLAGS, np.int64)
    static[0] = (_T_U64 if t.dtype == np.uint64 else 0) | (_P_U64 if p is not None and p.dtype == np.uint64 else 0)
    static[0] |= _SCORES if scores else 0
    static[1], static[2] = num_classes, ndim
    static[3 : 3 + ndim] = shape[:ndim]
    return xp.concatenate(dynamic + [xp.asarray(static)])


def invalid_message(record) -> str | None:
    """The ValueError text for a host copy of an :func:`invalid_record`; None if nothing was invalid.

    The checks run in a fixed order (weights, then ``y_true``, then scores or ``y_pred``),
    so a message names the same problem whichever backend counted.
    """
    rec = np.asarray(record, dtype=np.int64)
    n_bad, pos, flags = int(rec[_R_BAD]), int(rec[_R_POS]), int(rec[_R_FLAGS])
    if n_bad == 0:
        return None
    ndim = int(rec[_R_NDIM])
    where = f"position {pos}"
    if ndim > 1:
        index = np.unravel_index(pos, tuple(int(d) for d in rec[_R_SHAPE : _R_SHAPE + ndim]))
        where += f" (index {tuple(int(i) for i in index)})"
    more = f" ({n_bad} invalid pairs in total)" if n_bad > 1 else ""
    if int(rec[_R_WEIGHT]):
        return f"Expected finite `sample_weight`, but got {_WEIGHT_VALUES[int(rec[_R_WEIGHT])]!r} at {where}{more}"
    num_classes = int(rec[_R_CLASSES])
    tv = int(rec[_R_T : _R_T + 1].view(np.uint64)[0]) if flags & _T_U64 else int(rec[_R_T])
    rng = f"0..{num_classes - 1} (num_classes={num_classes})"
    if not 0 <= tv < num_classes:
        return f"Expected `y_true` labels in {rng}, but got {tv} at {where}{more}"
    if flags & _SCORES:
        return f"Expected finite scores in `y_pred`, but got NaN at {where}{more}"
    pv = int(rec[_R_P : _R_P + 1].view(np.uint64)[0]) if flags & _P_U64 else int(rec[_R_P])
    return f"Expected `y_pred` labels in {rng}, but got {pv} at {where}{more}"


def report_invalid(invalid, t, p, weights, num_classes, scores=False, shape=None, defer=False):
    """Raise the ValueError for the first invalid pair a kernel reported.

    With ``defer``, read nothing and return the device :func:`invalid_record` instead.
    """
    if defer:
        return invalid_record(invalid, t, p, weights, num_classes, scores, shape)
    if int(to_host(invalid)[0]) == 0:  # synchronize!
        return None
    raise ValueError(invalid_message(to_host(invalid_record(invalid, t, p, weights, num_classes, scores, shape))))  # synchronize!


_D_BATCHES, _D_PAIRS, _D_FLOAT, _D_FIRST, _D_MERGED, _D_RECORD = range(6)


def note_batch(state, record, batch, n_pairs, *, counts_float, batch_float):
    """The deferred-check state after one more batch; device operations only, no host read.

    ``counts_float`` and ``batch_float`` are host facts: the accumulated counts and the
    batch's counts are float64.
    """
    xp = array_module(record)
    bad = (record[:1] > 0).astype(np.int64)
    earned = (1 - bad) if batch_float else xp.zeros(1, np.int64)
    if state is None:
        earned = earned | int(counts_float)
        return xp.concatenate([bad, bad * n_pairs, earned, xp.full(1, batch, np.int64), xp.zeros(1, np.int64), record])
    seen = state[:1] > 0  # an earlier batch was invalid: keep its record
    return xp.concatenate([
        state[_D_BATCHES : _D_BATCHES + 1] + bad,
        state[_D_PAIRS : _D_PAIRS + 1] + bad * n_pairs,
        state[_D_FLOAT : _D_FLOAT + 1] | earned,
        xp.where(seen, state[_D_FIRST : _D_FIRST + 1], batch),
        state[_D_MERGED : _D_MERGED + 1] * seen,
        xp.where(seen, state[_D_RECORD:], record),
    ])


def merge_deferred(mine, mine_float, theirs, theirs_float):
    """Combine two deferred-check states (None: nothing pending); ``theirs`` is marked merged.

    ``*_float``: whether each side's counts are float64 (a host fact; earned when that
    side has nothing pending).
    """
    if theirs is None and (mine is None or not theirs_float):
        return mine
    if theirs is None:  # checked float counts join: the float dtype is earned
        xp = array_module(mine)
        return xp.concatenate([mine[:_D_FLOAT], xp.ones(1, np.int64), mine[_D_FLOAT + 1 :]])
    xp = array_module(theirs)
    theirs = xp.concatenate([theirs[:_D_MERGED], xp.ones(1, np.int64), theirs[_D_RECORD:]])
    if mine is None:
        if mine_float:
            theirs[_D_FLOAT] = 1
        return theirs
    mine = xp.asarray(mine)
    seen = mine[:1] > 0
    return xp.concatenate([
        mine[:_D_FLOAT] + theirs[:_D_FLOAT],
        mine[_D_FLOAT : _D_FLOAT + 1] | theirs[_D_FLOAT : _D_FLOAT + 1],
        xp.where(seen, mine[_D_FIRST:], theirs[_D_FIRST:]),
    ])


def deferred_error(state) -> ValueError | None:
    """The ValueError for a host copy of a deferred-check state, or None if every batch was valid."""
    batches = int(state[_D_BATCHES])
    if not batches:
        return None
    source = "of an accumulator merged into this one" if state[_D_MERGED] else "passed to update()"
    later = f"; {batches - 1} later invalid batch(es) were not counted either" if batches > 1 else ""
    return ValueError(
        f"{invalid_message(state[_D_RECORD:])}, in batch {int(state[_D_FIRST])} {source} "
        f"(counting from 0 since reset). That batch was not counted{later}"
    )


def deferred_pairs(state) -> int:
    """The pairs of the invalid batches of a host copy of a deferred state."""
    return int(state[_D_PAIRS])


def deferred_float_earned(state) -> bool:
    """Whether a valid batch or merge made the counts float64 (a host copy of a deferred state)."""
    return bool(state[_D_FLOAT])
