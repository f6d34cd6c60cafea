"""fastcm.dask against ``dask.array.bincount(t * C + p)`` on the same 2-worker LocalCluster.

The labels are generated and persisted on the workers, so both methods time only the
counting; the cluster closes when the methods dict is collected (``run_case`` deletes it).
"""

from __future__ import annotations

import weakref


class _Methods(dict):
    """A dict that can carry a finalizer (plain dicts cannot be weakly referenced)."""


def _close(client, cluster):
    client.close()
    cluster.close()


def methods(n, num_classes):
    import dask.array as da
    from distributed import Client, LocalCluster

    import fastcm.dask as fdask

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    chunks = max(1, n // 4)  # two chunks per worker: per-task overhead stays small next to the count
    rng = da.random.default_rng(0)
    t = rng.integers(0, num_classes, size=n, chunks=chunks, dtype="int32")
    p = da.where(rng.random(n, chunks=chunks) < 0.8, t, rng.integers(0, num_classes, size=n, chunks=chunks, dtype="int32"))
    t, p = client.persist([t, p])
    C = num_classes

    def fastcm_dask():
        return fdask.confusion_matrix(t, p, num_classes=C).compute()

    def dask_bincount():
        return da.bincount((t.astype("int64") * C + p).ravel(), minlength=C * C).reshape(C, C).compute()

    out = _Methods({"fastcm.dask": fastcm_dask, "dask.array.bincount": dask_bincount})
    weakref.finalize(out, _close, client, cluster)  # also runs at interpreter exit
    return out
