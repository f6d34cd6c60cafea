"""The runtime entries of the contract, for a backend with nothing to compile or thread.

:mod:`fastcm.backends.contract` hands these out for a backend that lacks its own: numpy
counts on the calling thread and compiles nothing, so each does nothing.

Examples
--------
>>> with threads(1), compile_synchronously():
...     warm_up()
>>> wait_for_compiles()
"""

from __future__ import annotations

import contextlib


def warm_up(dtypes=()) -> None:
    """Nothing to load or compile ahead of the first call."""


def threads(n: int):
    """A block in which the kernels use at most ``n`` threads: numpy uses one anyway."""
    return contextlib.nullcontext()


def compile_synchronously(enabled: bool = True):
    """A block whose compiles happen in the call: there are none."""
    return contextlib.nullcontext()


def wait_for_compiles() -> None:
    """Nothing compiles in the background."""
