"""A Dask worker plugin that loads fastcm's kernels when a worker starts (``distributed``).

Registered by :func:`fastcm.dask.warm_up_workers`; kept apart from ``fastcm.dask`` so that
module imports ``distributed`` only when it is asked for.
"""

from __future__ import annotations

from distributed.diagnostics.plugin import WorkerPlugin

__all__ = ["WarmUp"]


class WarmUp(WorkerPlugin):
    """On each worker, now and when one (re)starts: import numba and load the label kernels
    of ``label_dtypes`` (from the disk cache, or compiled once), so a task's first count
    pays neither.

    Examples
    --------
    >>> WarmUp().label_dtypes
    ('uint8', 'int32', 'int64')
    """

    name = "fastcm-warm-up"

    def __init__(self, label_dtypes=("uint8", "int32", "int64")):
        self.label_dtypes = tuple(label_dtypes)

    def setup(self, worker):
        import numpy as np

        from fastcm import backends

        backends.get("numba").warm_up([np.dtype(d) for d in self.label_dtypes])
