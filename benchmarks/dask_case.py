"""fastcm.dask against ``dask.array.bincount(t * C + p)`` on the same 2-worker LocalCluster.

The data is laid out as a labelled dataset read from disk would be: uint8 labels (how
segmentation masks such as PASCAL VOC's 21 classes are stored), 80%-accurate predictions,
chunks of ``CHUNK`` = 2**22 labels (4 MiB, about two 1024x2048 masks), made on the workers
(nothing N-sized is ever on the client). Both methods count the very same dask arrays:

* N <= ``PERSIST_MAX``: the chunks are generated on the workers and persisted there, so
  both methods time counting only (plus dask's scheduling, which both pay alike);
* larger N (10**9 in ``--full``): streamed. Each chunk is a task that hands out one of a
  small pool of random blocks cached in each worker process (no copy), fused by dask with
  the counting task, so worker memory stays bounded by the pool whatever N is.

The cluster (2 worker processes x 1 thread, as ``tests/test_dask.py``) closes when the
methods dict is collected (``run_case`` deletes it).
"""

from __future__ import annotations

import functools
import weakref

import numpy as np

#: labels per chunk: 4 MiB of uint8, a typical Zarr/Parquet chunk of label data
CHUNK = 1 << 22
#: up to this many labels the data is persisted on the workers, past it streamed
PERSIST_MAX = 2 * 10**8
#: distinct random blocks per worker process in the streamed layout (2 x 4 MiB each)
POOL = 8
DTYPE = "uint8"


class _Methods(dict):
    """A dict that can carry a finalizer (plain dicts cannot be weakly referenced)."""


def _close(client, cluster):
    client.close()
    cluster.close()


@functools.lru_cache(maxsize=None)
def _pool(num_classes, dtype, seed=0):
    """POOL blocks of (truth, 80%-accurate prediction), made once per worker process."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(POOL):
        t = rng.integers(0, num_classes, CHUNK, dtype=dtype)
        p = np.where(rng.random(CHUNK, dtype=np.float32) < 0.8, t, rng.integers(0, num_classes, CHUNK, dtype=dtype))
        out.append((t, p.astype(dtype, copy=False)))
    return out


def _stream_block(which, num_classes, label_dtype, block_info=None):
    """Chunk ``i`` of the streamed layout: pool block ``i % POOL``, cut to the chunk's length."""
    info = block_info[None]
    (i,) = info["chunk-location"]
    (n,) = info["chunk-shape"]
    return _pool(num_classes, label_dtype)[i % POOL][which][:n]


def stream_arrays(n, num_classes, dtype=DTYPE, chunk=CHUNK):
    """Lazy (t, p) of length ``n``: every chunk made on a worker when a task needs it."""
    import dask.array as da

    chunks = ((chunk,) * (n // chunk) + ((n % chunk,) if n % chunk else ()),)
    kw = dict(chunks=chunks, dtype=dtype, meta=np.empty(0, dtype), num_classes=num_classes, label_dtype=dtype)
    t = da.map_blocks(_stream_block, 0, token="stream-t", **kw)
    p = da.map_blocks(_stream_block, 1, token="stream-p", **kw)
    return t, p


def persisted_arrays(client, n, num_classes, dtype=DTYPE, chunk=CHUNK):
    """(t, p) generated on the workers and persisted there (chunks of t and p side by side)."""
    import dask.array as da
    from distributed import wait

    rng = da.random.default_rng(0)
    t = rng.integers(0, num_classes, size=n, chunks=chunk, dtype=dtype)
    noise = rng.integers(0, num_classes, size=n, chunks=chunk, dtype=dtype)
    p = da.where(rng.random(n, chunks=chunk, dtype=np.float32) < 0.8, t, noise).astype(dtype)
    t, p = client.persist([t, p])
    wait([t, p])
    return t, p


def methods(n, num_classes, dtype=DTYPE, chunk=CHUNK):
    import dask.array as da
    from distributed import Client, LocalCluster

    import fastcm.dask as fdask

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    if n <= PERSIST_MAX:
        t, p = persisted_arrays(client, n, num_classes, dtype, chunk)
    else:
        t, p = stream_arrays(n, num_classes, dtype, chunk)
    C = num_classes

    def fastcm_dask():
        return fdask.confusion_matrix(t, p, num_classes=C).compute()

    def dask_bincount():
        # as a user would write it: widen (uint8 * 21 overflows), flatten, count C*C bins
        return da.bincount((t.astype("int64") * C + p).ravel(), minlength=C * C).reshape(C, C).compute()

    out = _Methods({"fastcm.dask": fastcm_dask, "dask.array.bincount": dask_bincount})
    weakref.finalize(out, _close, client, cluster)  # also runs at interpreter exit
    return out
