"""What every accumulator shares: a lock that pickling and ``os.fork`` leave usable, ``a + b``
(a merged copy), ``sum()`` over accumulators, and ``copy()``.

A subclass defines ``merge(other)``, which adds another accumulator's counts in place.

Examples
--------
>>> import fastcm
>>> parts = [fastcm.ConfusionMatrix(2).update([0, 1], [0, 1]) for _ in range(3)]
>>> sum(parts).compute().tolist()
[[3, 0], [0, 3]]
"""

from __future__ import annotations

import copy as _copy
import numbers
import os
import threading
import weakref

__all__ = ["Accumulator", "ThreadSafeState"]


# Every accumulator alive, so that a fork can hand the child free locks (see _before_fork);
# keyed by id: accumulators define __eq__ and are unhashable.
_LIVE = weakref.WeakValueDictionary()
_LIVE_LOCK = threading.Lock()
_HELD_AT_FORK: list = []


class ThreadSafeState:
    """Mix-in: a re-entrant ``_lock`` guarding an accumulator's state.

    The lock is not part of the state: pickling, :func:`copy.deepcopy` and ``copy()`` leave
    it out and the copy gets a lock of its own. Across ``os.fork`` every accumulator's lock
    is taken just before the fork (so no other thread is half-way through changing a state
    the child inherits) and the child gets new, free locks. Code holding ``_lock`` must not
    create or unpickle an accumulator (that takes the registry lock the fork takes first).
    """

    def _init_lock(self) -> None:
        self._lock = threading.RLock()
        with _LIVE_LOCK:
            _LIVE[id(self)] = self

    def __getstate__(self):
        with self._lock:  # a consistent snapshot; the arrays are replaced, never written in place
            state = self.__dict__.copy()
        del state["_lock"]
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._init_lock()


def _before_fork() -> None:
    _LIVE_LOCK.acquire()
    _HELD_AT_FORK[:] = list(_LIVE.values())
    for obj in _HELD_AT_FORK:
        obj._lock.acquire()


def _after_fork_in_parent() -> None:
    for obj in _HELD_AT_FORK:
        obj._lock.release()
    _HELD_AT_FORK.clear()
    _LIVE_LOCK.release()


def _after_fork_in_child() -> None:
    # the threads that held these locks do not exist in the child: new, free locks
    global _LIVE_LOCK
    for obj in _HELD_AT_FORK:
        obj._lock = threading.RLock()
    _HELD_AT_FORK.clear()
    _LIVE_LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent, after_in_child=_after_fork_in_child)


class Accumulator(ThreadSafeState):
    """An accumulator: ``a + b`` is a merged copy, ``sum(accumulators)`` merges them all, and
    ``copy()`` is independent of the original (its own lock, its own arrays)."""

    def __add__(self, other):
        if not isinstance(other, type(self)):
            return NotImplemented
        return self.copy().merge(other)

    def __radd__(self, other):
        if isinstance(other, numbers.Number) and other == 0:  # lets sum() start from 0
            return self.copy()
        return NotImplemented

    def copy(self):
        """An independent copy."""
        return _copy.deepcopy(self)
