"""fastcm on Dask: every chunk counted by the fastcm kernel on its worker, partials tree-summed.

``confusion_matrix`` on dask arrays (numpy or CuPy chunks) returns a *lazy* (C, C) dask
array. Its graph has one counting task per chunk, each producing a (C, C) partial, and
a tree reduction of those partials (``split_every`` of them per task): no shuffle, no
N-sized intermediate, and only the final (C, C) matrix travels to the client.

Dask's parallelism is one task per worker thread, so each chunk is counted by the kernel
on ``OMP_NUM_THREADS`` threads (1 in a dask worker, whose nanny sets it so): numba's own
pool on top would oversubscribe the cores. The partials are small, so by default up to 64
are summed per task (one summing task for up to 64 chunks, two levels up to 4096): each
level of the tree costs a scheduler round trip and a transfer on the critical path.

Classes are fixed by ``num_classes`` or ``labels``, or by the width of a score array.
With none of these, the labels have to be known to shape the result, so they are
*discovered eagerly*: one extra pass over the data in which every chunk reports its
distinct labels (a handful of values) and those sets are merged by a tree of unions on
the workers; only the merged label set reaches the client. That pass reads the data a
second time, so declare ``num_classes``/``labels`` (or ``persist()`` the inputs) when
reading is expensive. :func:`unique_labels` runs the same pass on its own.

Dask is imported only inside this module (the ``dask`` extra); ``import fastcm`` does
not import it.

Examples
--------
>>> import dask, dask.array as da, numpy as np
>>> t = da.from_array(np.array([0, 1, 2, 2, 1]), chunks=2)
>>> p = da.from_array(np.array([0, 2, 2, 2, 1]), chunks=2)
>>> cm = confusion_matrix(t, p, num_classes=3)
>>> type(cm).__name__, cm.shape
('Array', (3, 3))
>>> with dask.config.set(scheduler="sync"):
...     cm.compute().tolist()
[[1, 0, 0], [0, 1, 1], [0, 0, 2]]
"""

from __future__ import annotations

import functools

import numpy as np

from .backends.arrays import to_host
from . import backends
from .core.classes import check_classes
from .counts.confusion import _check_label_kinds, _infer_labels, count, normalize_counts, warn_if_single_label
from .counts.confusion import normalize_sparse
from .counts.sparse import SparseCounts
from .core.inputs import InvalidInputError, array_module, as_array, check_normalize, check_num_classes, flatten, to_integer_labels
from .core.scores import AS_GIVEN, check_scores, read_scores
from .counts.thresholds import binary_threshold, check_thresholds, count_scores, in_unit_interval, matrices_from_hist, prepare

__all__ = [
    "binary_confusion_matrix",
    "confusion_matrix",
    "confusion_matrix_from_frame",
    "threshold_confusion_matrices",
    "unique_labels",
    "warm_up_workers",
]

#: partials merged per task of the label-union tree
_UNION_SPLIT = 16
#: most partials summed per task of the counting tree: small (C, C) partials are summed in
#: one or two levels, since every level is a scheduler round trip and a transfer on the
#: critical path, while adding a few KB of counts costs microseconds
_MAX_SPLIT = 64
#: and at most this many bytes of partials held by one summing task (large C)
_SPLIT_BYTES = 64 << 20


# -- inputs ------------------------------------------------------------------------------
def _da():
    import dask.array as da  # deferred: the `dask` extra is optional

    return da


def _is_frame_like(x) -> bool:
    """A dask DataFrame or Series (dask-expr or legacy), detected without importing dask.dataframe."""
    return type(x).__module__.startswith("dask.dataframe") or type(x).__module__.startswith("dask_expr")


def _as_dask(x, name: str):
    """``x`` as a dask array: dask arrays pass through, in-memory arrays become one chunk."""
    da = _da()
    if isinstance(x, da.Array):
        arr = x
    elif _is_frame_like(x):
        raise TypeError(
            f"`{name}` is a dask DataFrame/Series; use fastcm.dask.confusion_matrix_from_frame(df, true_col, pred_col)"
        )
    else:
        arr = da.from_array(as_array(x, name), chunks=-1)
    if any(np.isnan(s) for s in arr.shape):
        raise ValueError(
            f"Expected `{name}` with known chunk sizes, but got shape {arr.shape}; call `.compute_chunk_sizes()` first"
        )
    if arr.ndim == 0:
        raise TypeError(f"Expected `{name}` to be an array, but got a 0-d dask array")
    return arr


def _count_dtype(weights_dtype) -> np.dtype:
    """What the kernels return: float64 counts for float weights, int64 otherwise."""
    return np.dtype(np.float64) if weights_dtype is not None and weights_dtype.kind == "f" else np.dtype(np.int64)


def _meta(like, ndim: int, dtype):
    """An empty array of ``like``'s array type (numpy or CuPy), so dask knows the chunk type."""
    meta = getattr(like, "_meta", None)
    xp = array_module(meta) if meta is not None else np
    return xp.empty((0,) * ndim, dtype=dtype)


def _where(block_info, drop_class_axis: bool) -> str:
    """Where a block starts in `y_true`, for error messages raised inside a chunk."""
    if not block_info or 0 not in block_info:
        return ""
    starts = [lo for lo, _ in block_info[0]["array-location"]]
    if drop_class_axis:
        starts = starts[:1] + starts[2:]
    return f" (a position within the chunk of `y_true` that starts at index {tuple(starts)})"


def _split_every(split_every, partial_bytes: int) -> int:
    """Partials per summing task: the caller's choice, else as many as fit ``_SPLIT_BYTES``."""
    if split_every is not None:
        return split_every
    return int(max(2, min(_MAX_SPLIT, _SPLIT_BYTES // max(1, int(partial_bytes)))))


# -- per-chunk work (runs on the workers) ------------------------------------------------
def _task_threads() -> int:
    """Kernel threads for one chunk: dask runs one task per worker thread and sizes its workers
    to the cores, so a kernel spreading each task over every core again would oversubscribe
    them (2 workers x 1 thread on 2 cores would run 4 threads). Like BLAS under dask, the
    kernel takes ``OMP_NUM_THREADS`` threads (dask's nanny sets it to 1 in every worker),
    and 1 where it is unset."""
    import os

    try:
        return max(1, int(os.environ.get("OMP_NUM_THREADS", "1")))
    except ValueError:
        return 1


def _kernel_threads():
    """Limit the kernels' threads on this thread for one task (the host backend's
    ``threads`` entry; a numpy-only install threads nothing)."""
    return backends.threads(_task_threads())


def _no_label_in_truth(t, labels) -> bool:
    return not np.isin(labels, to_host(as_array(t, "y_true")).reshape(-1)).any()


def _count_block(t, p, *w, size, count_dtype, out_ndim, scores, labels, num_classes, ignore_index, backend, block_info=None):
    """One chunk's (C, C) partial, shaped (1, ..., 1, C, C) to sit in the grid of partials."""
    if scores:  # ``t`` carries a length-1 class axis so its chunks line up with the scores
        t = t.reshape(t.shape[:1] + t.shape[2:])
    dtype = count_dtype
    weights = None if not w else flatten(w[0].reshape(t.shape))
    xp = array_module(p)
    if t.size == 0:
        return xp.zeros((1,) * out_ndim + (size, size), dtype=dtype)
    try:
        with _kernel_threads():
            res = count(t, p, labels=labels, num_classes=num_classes, sample_weight=weights, ignore_index=ignore_index, backend=backend)
    except ValueError as exc:
        # scikit-learn's "no label in y_true" check is about the whole array, not a chunk:
        # a chunk without any of the labels simply contributes nothing
        if labels is not None and not scores and _no_label_in_truth(t, labels):
            return xp.zeros((1,) * out_ndim + (size, size), dtype=dtype)
        raise ValueError(f"{exc}{_where(block_info, scores)}") from None
    counts = res.counts.astype(dtype, copy=False)
    return counts.reshape((1,) * out_ndim + (size, size))


def _block_labels(t, p, ignore_index, backend):
    """The distinct labels of one chunk's kept pairs, as a small host array."""
    t, p = as_array(t, "y_true"), as_array(p, "y_pred")
    _check_label_kinds(t, p)
    be = backends.get(backends.select(backend, t, p))
    if array_module(t) is not be.xp:
        t, p = be.xp.asarray(t), be.xp.asarray(p)
    if t.dtype.kind in "biuf":
        t, p = to_integer_labels(t, "y_true"), to_integer_labels(p, "y_pred")
    with _kernel_threads():
        values, _, _ = _infer_labels(be, flatten(t), flatten(p), ignore_index)
    return to_host(values)


def _union(*parts):
    """Sorted union of label sets; numbers and strings never mix."""
    parts = [np.asarray(v) for v in parts if np.asarray(v).size]
    if not parts:
        return np.empty(0, dtype=np.int64)
    kinds = {v.dtype.kind in "US" for v in parts}
    if len(kinds) > 1:
        raise TypeError(f"Labels must all be numbers or all be strings, but chunks hold {sorted({str(v.dtype) for v in parts})}")
    out = parts[0]
    for v in parts[1:]:
        out = np.union1d(out, v)
    return np.unique(out)


def _add_as(shape, *parts):
    """Sum of partial counts, each reshaped to ``shape`` (a chunk's leading axes have size 1)."""
    out = parts[0].reshape(shape).copy()
    for part in parts[1:]:
        out += part.reshape(shape)
    return out


def _sum_blocks(partials, lead: int, split_every: int):
    """Sum every block of ``partials`` (``lead`` leading axes of one-element chunks, then the
    result's axes) into a one-chunk dask array, by a tree of ``split_every``-way tasks.

    ``Array.sum`` would first add up each block on its own (a task per chunk, doing
    nothing), then tree the sums: for a small graph that doubles the tasks, and dask's cost
    per task is what a compute of a few dozen chunks spends most of its time on.
    """
    from dask.array import Array
    from dask.base import tokenize
    from dask.core import flatten as flatten_keys
    from dask.highlevelgraph import HighLevelGraph

    shape = partials.shape[lead:]
    keys = list(flatten_keys(partials.__dask_keys__()))
    name = "fastcm-sum-" + tokenize(partials.name, split_every)
    split_every = max(2, int(split_every))
    layer, level = {}, 0
    while True:
        last = len(keys) <= split_every
        groups = [keys[i : i + split_every] for i in range(0, len(keys), split_every)]
        keys = [(name,) + (0,) * len(shape)] if last else [(f"{name}-{level}", j) for j in range(len(groups))]
        for key, group in zip(keys, groups):
            layer[key] = (_add_as, shape, *group)
        if last:
            break
        level += 1
    graph = HighLevelGraph.from_collections(name, layer, dependencies=[partials])
    return Array(graph, name, chunks=tuple((n,) for n in shape), meta=partials._meta.reshape((0,) * len(shape)))


def _tree(parts, combine, split_every):
    """Reduce a list of delayed values with ``combine`` in a tree of ``split_every``-way tasks."""
    from dask import delayed

    split_every = max(2, int(split_every or 8))
    parts = list(parts)
    while len(parts) > 1:
        parts = [delayed(combine, pure=True)(*parts[i : i + split_every]) for i in range(0, len(parts), split_every)]
    return parts[0]


def _discover(pairs, ignore_index, backend, split_every):
    """Eager label pass: per-chunk label sets, merged on the workers; only the union is returned."""
    import dask
    from dask import delayed

    parts = [delayed(_block_labels, pure=True)(t, p, ignore_index, backend) for t, p in pairs]
    if not parts:
        return np.empty(0, dtype=np.int64)
    (labels,) = dask.compute(_tree(parts, _union, split_every or _UNION_SPLIT))  # synchronize!
    return labels


# -- public functions ---------------------------------------------------------------------
def unique_labels(y_true, y_pred, *, ignore_index=None, backend="auto", split_every=None):
    """The sorted union of the labels in both dask arrays, computed now (one pass, small result).

    Every chunk reports the distinct labels of its pairs (pairs whose true label is
    ``ignore_index`` left out), the sets are merged by a tree of unions on the workers, and
    only the union is returned to the client. This is the label pass
    :func:`confusion_matrix` runs when neither ``num_classes`` nor ``labels`` is given.

    Returns
    -------
    numpy.ndarray
        int64 for integer (or whole-number float) labels, a string array for strings.

    Examples
    --------
    >>> import dask, dask.array as da, numpy as np
    >>> t = da.from_array(np.array(["b", "a", "b"]), chunks=2)
    >>> with dask.config.set(scheduler="sync"):
    ...     unique_labels(t, t).tolist()
    ['a', 'b']
    """
    t = _as_dask(y_true, "y_true")
    p = _as_dask(y_pred, "y_pred")
    if p.shape != t.shape:
        raise ValueError(f"Expected `y_true` and `y_pred` to have the same shape, but got {t.shape} and {p.shape}")
    p = p.rechunk(t.chunks)
    pairs = zip(t.to_delayed().ravel(), p.to_delayed().ravel())
    return _discover(pairs, ignore_index, backend, split_every)


def confusion_matrix(
    y_true,
    y_pred,
    *,
    num_classes=None,
    labels=None,
    sample_weight=None,
    ignore_index=None,
    normalize=None,
    backend="auto",
    split_every=None,
    sparse=False,
):
    """Lazy confusion matrix of dask arrays: fastcm counts each chunk, a tree sums the partials.

    Parameters
    ----------
    y_true : dask.array.Array
        True labels, any shape, numpy or CuPy chunks (in-memory arrays are wrapped as one chunk).
    y_pred : dask.array.Array
        Predicted labels shaped like ``y_true``, or scores/logits with an extra class axis 1
        ((N, C) or (N, C, H, W)), argmax fused into the count. The class axis is rechunked to
        a single chunk (a chunk needs every class score of its rows).
    num_classes, labels, ignore_index, backend
        As in :func:`fastcm.confusion_matrix`. With neither ``num_classes`` nor ``labels``
        (and label predictions), the labels are discovered first by one eager pass over
        the data (see :func:`unique_labels`); only that label set reaches the client.
        With ``labels``, a matrix whose labels never occur in ``y_true`` is all zeros
        (scikit-learn raises; a lazy graph cannot without another pass).
    sample_weight : dask.array.Array, optional
        Shaped like ``y_true``: float weights give float64 counts, integer weights int64.
    normalize : {"true", "pred", "all"}, optional
    split_every : int, optional
        Partials summed per task of the reduction tree. By default as many as hold 64 MiB,
        at most 64: one task sums every partial of up to 64 chunks.
    sparse : bool, default False
        Count each chunk as the cells its pairs touched (:class:`fastcm.counts.sparse.SparseCounts`,
        O(distinct pairs)) and merge those in a tree of ``split_every`` (default 16): for
        10^4-10^6 classes, where a (C, C) partial per chunk cannot be afforded. Returns a
        ``dask.delayed`` object whose ``compute()`` is a ``scipy.sparse.csr_array``.

    Returns
    -------
    dask.array.Array
        (C, C), one chunk, int64 (float64 with float weights or ``normalize``); nothing is
        computed until ``.compute()``. Invalid values raise at compute time, naming the
        position within the chunk and where that chunk starts. With ``sparse=True`` a
        ``dask.delayed.Delayed`` of a (C, C) ``scipy.sparse.csr_array``.

    Examples
    --------
    >>> import dask, dask.array as da, numpy as np
    >>> t = da.from_array(np.array([1, 1, 3, 255]), chunks=3)
    >>> p = da.from_array(np.array([1, 3, 3, 1]), chunks=3)
    >>> with dask.config.set(scheduler="sync"):
    ...     confusion_matrix(t, p, ignore_index=255).compute().tolist()
    [[1, 1], [0, 1]]
    >>> with dask.config.set(scheduler="sync"):
    ...     confusion_matrix(t, p, num_classes=10**6, ignore_index=255, sparse=True).compute().nnz
    3
    """
    if sparse not in (False, True):
        raise ValueError(f"Expected `sparse` to be True or False, but got {sparse!r}")
    check_normalize(normalize)
    num_classes = check_num_classes(num_classes)
    if _is_frame_like(y_true) or _is_frame_like(y_pred):
        return _series_confusion_matrix(
            y_true, y_pred, num_classes=num_classes, labels=labels, sample_weight=sample_weight,
            ignore_index=ignore_index, normalize=normalize, backend=backend, split_every=split_every,
        )  # fmt: skip
    da = _da()
    t = _as_dask(y_true, "y_true")
    p = _as_dask(y_pred, "y_pred")
    w = None if sample_weight is None else _as_dask(sample_weight, "sample_weight")
    if w is not None:
        if w.dtype.kind not in "biuf":
            raise TypeError(f"Expected `sample_weight` to be numeric, but got dtype {w.dtype}")
        if w.shape != t.shape:
            raise ValueError(f"Expected `sample_weight` of shape {t.shape} (one weight per pair), but got {w.shape}")
    lab = check_classes(num_classes, labels).labels

    scores = p.ndim == t.ndim + 1
    if scores:
        if p.shape[:1] + p.shape[2:] != t.shape:
            raise ValueError(
                f"Expected scores of shape (N, C, ...) matching `y_true` {t.shape} apart from the class axis 1, but got {p.shape}"
            )
        width = p.shape[1]
        if num_classes is not None and num_classes != width:
            raise ValueError(f"Expected scores with num_classes={num_classes} columns on axis 1, but got {width}")
        size = width if lab is None else lab.size
        p = p.rechunk({1: -1})  # argmax needs every class of a row in one chunk
        # a length-1 class axis lines the chunks of y_true up with the scores
        like_scores = (p.chunks[0], (1,)) + p.chunks[2:]
        t = t[:, None].rechunk(like_scores)
        w = None if w is None else w[:, None].rechunk(like_scores)
        per_chunk = {"labels": lab, "num_classes": None}
    else:
        if p.shape != t.shape:
            raise ValueError(f"Expected `y_true` and `y_pred` to have the same shape, but got {t.shape} and {p.shape}")
        if "O" not in (t.dtype.kind, p.dtype.kind) and (t.dtype.kind in "US") != (p.dtype.kind in "US"):
            raise InvalidInputError(
                "Mix of label input types (string and number): labels in y_true and y_pred should be of the "
                f"same type, but got {t.dtype} and {p.dtype}"
            )
        if num_classes is not None and lab is None and t.dtype.kind in "US":
            raise TypeError(f"`num_classes` needs integer labels, but got dtype {t.dtype}")
        p = p.rechunk(t.chunks)
        w = None if w is None else w.rechunk(t.chunks)
        if lab is None and num_classes is None:
            pairs = zip(t.to_delayed().ravel(), p.to_delayed().ravel())
            lab = _discover(pairs, ignore_index, backend, split_every)
            if lab.size == 0 and not sparse:
                return da.zeros((0, 0), dtype=np.float64 if normalize else _count_dtype(None if w is None else w.dtype))
            warn_if_single_label(np.empty((lab.size, lab.size)), stacklevel=2)
        size = num_classes if lab is None else lab.size
        per_chunk = {"labels": lab, "num_classes": num_classes if lab is None else None}

    dtype = _count_dtype(None if w is None else w.dtype)
    ndim = p.ndim
    arrays = (t, p) if w is None else (t, p, w)
    if sparse:
        return _sparse_confusion_matrix(arrays, size, dtype, scores, ignore_index, backend, split_every, normalize,
                                        per_chunk)
    partials = da.map_blocks(
        _count_block,
        *arrays,
        new_axis=[ndim, ndim + 1],
        chunks=(1,) * ndim + (size, size),
        meta=_meta(p, ndim + 2, dtype),
        token="fastcm-count",
        size=size,
        count_dtype=dtype,
        out_ndim=ndim,
        scores=scores,
        ignore_index=ignore_index,
        backend=backend,
        **per_chunk,
    )
    out = _sum_blocks(partials, ndim, _split_every(split_every, size * size * dtype.itemsize))
    return _normalize(out, normalize)


def _sparse_block(t, p, *w, size, count_dtype, scores, labels, num_classes, ignore_index, backend):
    """One chunk's cells (:class:`~fastcm.counts.sparse.SparseCounts`)."""
    if scores:
        t = t.reshape(t.shape[:1] + t.shape[2:])
    weights = None if not w else flatten(w[0].reshape(t.shape))
    if t.size == 0:
        return SparseCounts.empty(size, count_dtype)
    try:
        with _kernel_threads():
            res = count(t, p, labels=labels, num_classes=num_classes, sample_weight=weights, ignore_index=ignore_index,
                        backend=backend, sparse=True)
    except ValueError:
        if labels is not None and not scores and _no_label_in_truth(t, labels):
            return SparseCounts.empty(size, count_dtype)
        raise
    return res.counts.astype(np.result_type(res.counts.dtype, count_dtype))


def _add_sparse(*parts):
    total = parts[0]
    for part in parts[1:]:
        total = total.add(part)
    return total


def _sparse_result(total, normalize):
    return normalize_sparse(total, normalize).to_scipy()


def _sparse_confusion_matrix(arrays, size, dtype, scores, ignore_index, backend, split_every, normalize, per_chunk):
    """The delayed csr_array of ``confusion_matrix(..., sparse=True)``: cells per chunk, tree-merged."""
    from dask import delayed

    blocks = [a.to_delayed().ravel() for a in arrays]
    parts = [
        delayed(_sparse_block, pure=True)(*chunk, size=size, count_dtype=dtype, scores=scores, ignore_index=ignore_index,
                                          backend=backend, **per_chunk)
        for chunk in zip(*blocks)
    ]
    if not parts:
        parts = [delayed(SparseCounts.empty)(size, dtype)]
    return delayed(_sparse_result, pure=True)(_tree(parts, _add_sparse, split_every or 16), normalize)


def _normalize(out, normalize):
    if normalize is None:
        return out
    return out.map_blocks(normalize_counts, normalize, dtype=np.float64, meta=_meta(out, 2, np.float64))


# -- data frames ---------------------------------------------------------------------------
def _frame_labels(part, true_col, pred_col, ignore_index, backend):
    return _block_labels(part[true_col].to_numpy(), part[pred_col].to_numpy(), ignore_index, backend)


def _count_frame(part, true_col, pred_col, weight_col, *, size, dtype, labels, num_classes, ignore_index, backend):
    t, p = part[true_col].to_numpy(), part[pred_col].to_numpy()
    w = None if weight_col is None else part[weight_col].to_numpy()
    if t.size == 0:
        return np.zeros((size, size), dtype=dtype)
    try:
        with _kernel_threads():
            res = count(t, p, labels=labels, num_classes=num_classes, sample_weight=w, ignore_index=ignore_index, backend=backend)
    except ValueError as exc:
        if labels is not None and _no_label_in_truth(t, labels):
            return np.zeros((size, size), dtype=dtype)
        raise ValueError(f"{exc} (a position within one partition of the frame)") from None
    return to_host(res.counts).astype(dtype, copy=False)


def confusion_matrix_from_frame(
    df,
    true_col,
    pred_col,
    *,
    weight_col=None,
    num_classes=None,
    labels=None,
    ignore_index=None,
    normalize=None,
    backend="auto",
    split_every=None,
):
    """Lazy confusion matrix of two columns of a dask DataFrame (e.g. from ``read_parquet``).

    Each partition is counted by fastcm where it lives (only the two or three columns are
    read), the (C, C) partials are summed by a tree of tasks, and the result is a lazy
    (C, C) dask array. Without ``num_classes``/``labels`` the labels are discovered by one
    eager pass first, as in :func:`confusion_matrix`.

    Parameters
    ----------
    df : dask.dataframe.DataFrame
    true_col, pred_col : str
        Columns of true and predicted labels (integers or strings).
    weight_col : str, optional
        Column of per-row weights.
    num_classes, labels, ignore_index, normalize, backend, split_every
        As in :func:`confusion_matrix`.

    Examples
    --------
    >>> import dask, dask.dataframe as dd, pandas as pd
    >>> df = dd.from_pandas(pd.DataFrame({"t": ["cat", "dog", "dog"], "p": ["cat", "cat", "dog"]}), npartitions=2)
    >>> with dask.config.set(scheduler="sync"):
    ...     confusion_matrix_from_frame(df, "t", "p").compute().tolist()
    [[1, 0], [1, 1]]
    """
    check_normalize(normalize)
    num_classes = check_num_classes(num_classes)
    from dask import delayed

    cols = [true_col, pred_col] + ([] if weight_col is None else [weight_col])
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(f"Expected columns {missing!r} in the frame, but it has {list(df.columns)!r}")
    sub = df[cols]
    parts = sub.to_delayed()  # one per partition, reading only these columns
    lab = check_classes(num_classes, labels).labels
    wdtype = None if weight_col is None else np.dtype(sub.dtypes[weight_col])
    if wdtype is not None and wdtype.kind not in "biuf":
        raise TypeError(f"Expected a numeric `weight_col`, but column {weight_col!r} has dtype {wdtype}")
    dtype = _count_dtype(wdtype)
    if lab is None and num_classes is None:
        label_parts = [delayed(_frame_labels, pure=True)(part, true_col, pred_col, ignore_index, backend) for part in parts]
        import dask

        (lab,) = dask.compute(_tree(label_parts, _union, split_every or _UNION_SPLIT))  # synchronize!
        if lab.size == 0:
            return _da().zeros((0, 0), dtype=np.float64 if normalize else dtype)
        warn_if_single_label(np.empty((lab.size, lab.size)), stacklevel=2)
    size = num_classes if lab is None else lab.size
    partials = [
        delayed(_count_frame, pure=True)(
            part, true_col, pred_col, weight_col, size=size, dtype=dtype, labels=lab,
            num_classes=num_classes if lab is None else None, ignore_index=ignore_index, backend=backend,
        )  # fmt: skip
        for part in parts
    ]
    total = _tree(partials, functools.partial(_add_as, (size, size)), _split_every(split_every, size * size * dtype.itemsize))
    out = _da().from_delayed(total, shape=(size, size), dtype=dtype, meta=np.empty((0, 0), dtype=dtype))
    return _normalize(out, normalize)


def _series_confusion_matrix(y_true, y_pred, *, sample_weight, **kwargs):
    """Two (or three) dask Series from one frame: joined into a frame, then counted by partition."""
    if not (_is_frame_like(y_true) and _is_frame_like(y_pred)):
        raise TypeError("Pass both `y_true` and `y_pred` as dask Series (or use confusion_matrix_from_frame)")
    frame = y_true.to_frame(name="y_true")
    frame["y_pred"] = y_pred
    weight_col = None
    if sample_weight is not None:
        if not _is_frame_like(sample_weight):
            raise TypeError("With dask Series labels, `sample_weight` must be a dask Series too")
        frame["sample_weight"] = sample_weight
        weight_col = "sample_weight"
    return confusion_matrix_from_frame(frame, "y_true", "y_pred", weight_col=weight_col, **kwargs)


# -- scores ----------------------------------------------------------------------------------
def _hist_block(t, s, *w, thr, reading, refuse_outside, out_ndim, expand_truth, backend, block_info=None):
    """One chunk's (K, T + 1, 2) threshold histogram, shaped (1, ..., 1, K, T + 1, 2)."""
    if expand_truth:
        t = t.reshape(t.shape[:1])
    weights = None if not w else w[0].reshape(t.shape[:1])
    K = 1 if s.ndim == 1 else s.shape[1]
    if t.shape[0] == 0:
        dtype = _count_dtype(None if weights is None else weights.dtype)
        return array_module(s).zeros((1,) * out_ndim + (K, thr.size + 1, 2), dtype=dtype)
    tt, ss, ww = prepare(t, s, weights, num_classes=K)
    try:
        if refuse_outside:  # scores="probabilities": checked chunk by chunk, no extra pass
            read_scores("probabilities", ss)
        with _kernel_threads():
            hist = count_scores(tt, ss, ww, thr, reading, backend)
    except ValueError as exc:
        start = block_info[1]["array-location"][0][0] if block_info and 1 in block_info else "?"
        raise ValueError(f"{exc} (a position within the chunk that starts at row {start})") from None
    return hist.reshape((1,) * out_ndim + hist.shape)


def _score_reading(scores, s, thr):
    """How the dask scores ``s`` are compared with ``thr`` (:mod:`fastcm.core.scores`).

    Explicit ``scores`` and "auto" with thresholds outside [0, 1] decide without reading
    anything. Otherwise "auto" needs to know whether *any* score lies outside [0, 1]: one
    extra pass over the scores, a global reduction computed before the counting graph is
    built (``# synchronize!``: one boolean reaches the client).
    """
    scores = check_scores(scores)
    if scores == "auto" and not in_unit_interval(thr):
        return AS_GIVEN
    if scores != "auto":
        return scores
    if s.dtype.kind == "b":
        return "probabilities"
    outside = ((s < 0) | (s > 1)).any()  # NaN compares False both ways, as in fastcm.core.scores
    return "logits" if bool(outside.compute()) else "probabilities"  # synchronize!


def threshold_confusion_matrices(y_true, y_score, *, thresholds=101, sample_weight=None, scores="auto", backend="auto",
                                 split_every=None):
    """Lazy :func:`fastcm.threshold_confusion_matrices` of dask arrays: per-chunk histograms, summed.

    Each chunk is binned into the (K, T + 1, 2) histogram of its scores between the sorted
    thresholds; the histograms are tree-summed and turned into matrices at the end, so
    the result is exactly what one pass over all the data gives.

    Parameters
    ----------
    y_true, y_score : dask.array.Array
        (N,) 0/1 truth with (N,) scores; (N,) class indices with (N, C) scores; or (N, L)
        indicators with (N, L) scores. Score columns are rechunked to one chunk.
    thresholds, sample_weight, backend
        As in :func:`fastcm.threshold_confusion_matrices`.
    scores : {"auto", "probabilities", "logits"}, default="auto"
        How the scores are read, as in :func:`fastcm.threshold_confusion_matrices`: logits
        through a sigmoid (thresholds mapped to logit space) or, for (N, C) scores with class
        indices, a softmax over the classes in each chunk. "auto" with thresholds in [0, 1]
        decides over *all* the scores, so it costs **one extra pass** over them: a global
        reduction (any score outside [0, 1]?) computed when this function is called, before
        the lazy counting graph is built. Pass ``scores="probabilities"`` or ``"logits"``
        (or ``persist()`` the scores) to skip it; "probabilities" is then checked chunk by
        chunk as the chunks are counted.
    split_every : int, optional
        Histograms summed per task of the reduction tree.

    Returns
    -------
    dask.array.Array
        (T, 2, 2) for 1-D scores, (C, T, 2, 2) for (N, C) scores, ``[[tn, fp], [fn, tp]]``.

    Examples
    --------
    >>> import dask, dask.array as da, numpy as np
    >>> t = da.from_array(np.array([0, 1, 1]), chunks=2)
    >>> s = da.from_array(np.array([0.2, 0.6, 0.9]), chunks=2)
    >>> with dask.config.set(scheduler="sync"):
    ...     threshold_confusion_matrices(t, s, thresholds=[0.5, 0.7]).compute().tolist()
    [[[1, 0], [0, 2]], [[1, 0], [1, 1]]]
    >>> logits = da.from_array(np.array([-1.4, 0.4, 2.2]), chunks=2)
    >>> with dask.config.set(scheduler="sync"):
    ...     threshold_confusion_matrices(t, logits, thresholds=[0.5, 0.7], scores="logits").compute().tolist()
    [[[1, 0], [0, 2]], [[1, 0], [1, 1]]]
    """
    thr = check_thresholds(thresholds)
    check_scores(scores)
    return _threshold_matrices(y_true, y_score, thr, sample_weight, scores, backend, split_every)


def _threshold_matrices(y_true, y_score, thr, sample_weight, scores, backend, split_every):
    da = _da()
    t = _as_dask(y_true, "y_true")
    s = _as_dask(y_score, "y_score")
    w = None if sample_weight is None else _as_dask(sample_weight, "sample_weight")
    if s.dtype.kind not in "biuf":
        raise TypeError(f"Expected `y_score` to hold numbers, but got dtype {s.dtype}")
    if s.ndim == 2 and s.shape[1] == 1:
        s = s[:, 0]
    if t.ndim == 2 and t.shape[1] == 1 and s.ndim == 1:
        t = t[:, 0]
    if s.ndim not in (1, 2) or t.ndim not in (1, 2) or (s.ndim == 1 and t.ndim == 2):
        raise ValueError(
            f"Expected `y_score` of shape (N,) or (N, C) and `y_true` of shape (N,) or (N, C), but got {s.shape} and {t.shape}"
        )
    if t.shape[0] != s.shape[0] or (t.ndim == 2 and t.shape != s.shape):
        raise ValueError(f"Expected `y_true` and `y_score` to have matching shapes, but got {t.shape} and {s.shape}")
    if w is not None and w.shape != (t.shape[0],):
        raise ValueError(f"Expected `sample_weight` of shape {(t.shape[0],)}, but got {w.shape}")
    K = 1 if s.ndim == 1 else s.shape[1]
    expand_truth = s.ndim == 2 and t.ndim == 1
    if s.ndim == 2:
        s = s.rechunk({1: -1})
        t = t[:, None].rechunk((s.chunks[0], (1,))) if expand_truth else t.rechunk(s.chunks)
        w = None if w is None else w[:, None].rechunk((s.chunks[0], (1,)))
    else:
        t = t.rechunk(s.chunks)
        w = None if w is None else w.rechunk(s.chunks)
    reading = _score_reading(scores, s, thr)  # the extra pass, under "auto" only
    dtype = _count_dtype(None if w is None else w.dtype)
    ndim = s.ndim
    arrays = (t, s) if w is None else (t, s, w)
    partials = da.map_blocks(
        _hist_block,
        *arrays,
        new_axis=list(range(ndim, ndim + 3)),
        chunks=(1,) * ndim + (K, thr.size + 1, 2),
        meta=_meta(s, ndim + 3, dtype),
        token="fastcm-thresholds",
        thr=thr,
        reading=reading,
        refuse_outside=scores == "probabilities",
        out_ndim=ndim,
        expand_truth=expand_truth,
        backend=backend,
    )
    hist = _sum_blocks(partials, ndim, _split_every(split_every, K * (thr.size + 1) * 2 * dtype.itemsize))
    out = hist.map_blocks(
        matrices_from_hist, chunks=(K, thr.size, 2, 2), dtype=dtype, meta=_meta(s, 4, dtype), new_axis=3
    )
    return out[0] if s.ndim == 1 else out


def binary_confusion_matrix(y_true, y_score, *, threshold=0.5, sample_weight=None, scores="auto", logits=False,
                            backend="auto", split_every=None):
    """Lazy :func:`fastcm.binary_confusion_matrix` of dask arrays: (2, 2) ``[[tn, fp], [fn, tp]]``.

    ``scores`` (and ``logits=True``, the same as ``scores="logits"``) as in
    :func:`threshold_confusion_matrices`: "auto" with a threshold in [0, 1] costs one extra
    pass over the scores when called, which an explicit ``scores`` skips.

    Examples
    --------
    >>> import dask, dask.array as da, numpy as np
    >>> t = da.from_array(np.array([0, 1, 1, 0]), chunks=3)
    >>> s = da.from_array(np.array([0.1, 0.8, 0.4, 0.5]), chunks=3)
    >>> with dask.config.set(scheduler="sync"):
    ...     binary_confusion_matrix(t, s).compute().tolist()
    [[1, 1], [1, 1]]
    """
    scores, thr = binary_threshold(threshold, scores, logits)
    s = _as_dask(y_score, "y_score")
    if not (s.ndim == 1 or (s.ndim == 2 and s.shape[1] == 1)):
        raise ValueError(f"Expected 1-D scores in `y_score`, but got shape {s.shape}")
    return _threshold_matrices(y_true, s, thr, sample_weight, scores, backend, split_every)[0]


def warm_up_workers(client=None, *, label_dtypes=("uint8", "int32", "int64")) -> None:
    """Load fastcm's kernels on every worker of ``client`` now, and on workers that join or
    restart later (a worker plugin).

    A fresh worker otherwise pays numba's import and start-up and the kernels' load (from
    the disk cache, or a compile) inside its first task. Call it once after making the
    client; ``fastcm warm-up`` on the workers' machines beforehand fills the disk cache.

    Parameters
    ----------
    client : distributed.Client, optional
        Default: the current client.
    label_dtypes : sequence of str
        Label dtypes whose kernels to load (others are converted to these on the way in).

    Examples
    --------
    >>> import distributed
    >>> with distributed.Client(processes=False, dashboard_address=None) as client:  # doctest: +SKIP
    ...     warm_up_workers(client)
    """
    import distributed

    from .dask_workers import WarmUp

    client = client or distributed.get_client()
    client.register_plugin(WarmUp(label_dtypes), name=WarmUp.name)
