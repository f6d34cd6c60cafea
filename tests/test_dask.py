"""fastcm.dask on a real LocalCluster with worker processes: exact counts, retries, laziness."""

import doctest
import os
import pickle
import signal
import tracemalloc

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

import dask  # noqa: E402
import fastcm  # noqa: E402
import fastcm.dask as fdask  # noqa: E402
from sklearn.metrics import confusion_matrix as sk_cm  # noqa: E402


@pytest.fixture(scope="module")
def client():
    import cloudpickle

    import sys

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers need not import tests/
    with dask.config.set({"distributed.scheduler.allowed-failures": 5}):
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
        with distributed.Client(cluster) as c:
            yield c
        cluster.close()


def _pairs(n=1000, c=6, seed=0):
    rng = np.random.default_rng(seed)
    t = rng.integers(0, c, n)
    return t, np.where(rng.random(n) < 0.7, t, rng.integers(0, c, n))


UNEVEN = ((100, 0, 333, 1, 0, 566),)


@pytest.mark.parametrize("num_classes", [None, 6])
def test_uneven_and_empty_chunks_exact(client, num_classes):
    t, p = _pairs()
    got = fdask.confusion_matrix(da.from_array(t, chunks=UNEVEN), da.from_array(p, chunks=77), num_classes=num_classes)
    assert isinstance(got, da.Array)
    np.testing.assert_array_equal(got.compute(), sk_cm(t, p))


def test_strings_labels_ignore_index_weights(client):
    t, p = _pairs()
    names = np.array(["ant", "bee", "cat", "dog", "eel", "fox"])
    st, sp = names[t], names[p]
    got = fdask.confusion_matrix(da.from_array(st, chunks=UNEVEN), da.from_array(sp, chunks=UNEVEN))
    np.testing.assert_array_equal(got.compute(), sk_cm(st, sp))
    got = fdask.confusion_matrix(da.from_array(st, chunks=UNEVEN), da.from_array(sp, chunks=UNEVEN), labels=["fox", "ant"])
    np.testing.assert_array_equal(got.compute(), sk_cm(st, sp, labels=["fox", "ant"]))
    t2 = np.where(t == 5, 255, t)
    keep = t2 != 255
    got = fdask.confusion_matrix(da.from_array(t2, chunks=UNEVEN), da.from_array(p, chunks=UNEVEN), ignore_index=255)
    np.testing.assert_array_equal(got.compute(), sk_cm(t[keep], p[keep]))
    w = np.random.default_rng(1).random(t.size)
    got = fdask.confusion_matrix(da.from_array(t, chunks=UNEVEN), da.from_array(p, chunks=50), sample_weight=da.from_array(w, chunks=99), num_classes=6)
    np.testing.assert_allclose(got.compute(), sk_cm(t, p, sample_weight=w))
    wi = np.arange(t.size) % 4
    got = fdask.confusion_matrix(da.from_array(t, chunks=UNEVEN), da.from_array(p, chunks=50), sample_weight=da.from_array(wi, chunks=99), num_classes=6)
    np.testing.assert_array_equal(got.compute(), sk_cm(t, p, sample_weight=wi))


def test_logits_with_class_axis(client):
    rng = np.random.default_rng(2)
    t = rng.integers(0, 4, (6, 5, 7))
    s = rng.random((6, 4, 5, 7))
    got = fdask.confusion_matrix(da.from_array(t, chunks=(4, 2, 3)), da.from_array(s, chunks=(1, 2, 5, 4)))
    np.testing.assert_array_equal(got.compute(), sk_cm(t.ravel(), s.argmax(1).ravel(), labels=range(4)))


def test_frame_from_parquet_and_series(client, tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    dd = pytest.importorskip("dask.dataframe")
    t, p = _pairs()
    pd.DataFrame({"t": t, "p": p, "w": np.arange(t.size) % 3}).to_parquet(tmp_path / "x.parquet", row_group_size=100)
    df = dd.read_parquet(tmp_path / "x.parquet", split_row_groups=True)
    np.testing.assert_array_equal(fdask.confusion_matrix_from_frame(df, "t", "p").compute(), sk_cm(t, p))
    got = fdask.confusion_matrix_from_frame(df, "t", "p", weight_col="w", num_classes=6).compute()
    np.testing.assert_array_equal(got, sk_cm(t, p, sample_weight=np.arange(t.size) % 3))
    np.testing.assert_array_equal(fdask.confusion_matrix(df.t, df.p).compute(), sk_cm(t, p))


def test_threshold_matrices(client):
    rng = np.random.default_rng(3)
    t = rng.integers(0, 2, 500)
    s = rng.random(500)
    got = fdask.threshold_confusion_matrices(da.from_array(t, chunks=UNEVEN[0][:3] + (67,)), da.from_array(s, chunks=90), thresholds=21)
    np.testing.assert_array_equal(got.compute(), fastcm.threshold_confusion_matrices(t, s, thresholds=21))


def _scored(kind, n=600, c=3, seed=4):
    """(truth, scores) for a layout: binary (N,), one-vs-rest (N, C) with class indices,
    multilabel (N, C) with indicators; logits spread well beyond [0, 1]."""
    rng = np.random.default_rng(seed)
    if kind == "binary":
        return rng.integers(0, 2, n), rng.normal(0, 2, n)
    if kind == "one_vs_rest":
        return rng.integers(0, c, n), rng.normal(0, 2, (n, c))
    return rng.integers(0, 2, (n, c)), rng.normal(0, 2, (n, c))


@pytest.mark.parametrize("kind", ["binary", "one_vs_rest", "multilabel"])
@pytest.mark.parametrize("reading", ["logits", "probabilities"])
def test_threshold_matrices_read_scores_as_the_one_shot_function(client, kind, reading):
    t, s = _scored(kind)
    if reading == "probabilities":
        s = 1.0 / (1.0 + np.exp(-s))
    ds = da.from_array(s, chunks=(97,) + s.shape[1:])
    dt = da.from_array(t, chunks=(150,) + t.shape[1:])
    want = fastcm.threshold_confusion_matrices(t, s, thresholds=21)
    np.testing.assert_array_equal(fdask.threshold_confusion_matrices(dt, ds, thresholds=21).compute(), want)
    explicit = fdask.threshold_confusion_matrices(dt, ds, thresholds=21, scores=reading).compute()
    np.testing.assert_array_equal(explicit, want)


def test_binary_confusion_matrix_reads_logits(client):
    t, s = _scored("binary")
    ds, dt = da.from_array(s, chunks=97), da.from_array(t, chunks=150)
    for kw in ({}, {"scores": "logits"}, {"logits": True}, {"threshold": 0.8}):
        want = fastcm.binary_confusion_matrix(t, s, **kw)
        np.testing.assert_array_equal(fdask.binary_confusion_matrix(dt, ds, **kw).compute(), want)
    p = 1.0 / (1.0 + np.exp(-s))
    want = fastcm.binary_confusion_matrix(t, p)
    np.testing.assert_array_equal(fdask.binary_confusion_matrix(dt, da.from_array(p, chunks=97)).compute(), want)
    np.testing.assert_array_equal(fastcm.binary_confusion_matrix(t, s), want)  # sigmoid(x) >= 0.5 iff x >= 0


def test_thresholds_outside_the_unit_interval_compare_scores_as_given(client):
    t, s = _scored("binary")
    thr = [-1.0, 0.0, 0.5, 2.0]
    got = fdask.threshold_confusion_matrices(da.from_array(t, chunks=150), da.from_array(s, chunks=97), thresholds=thr)
    np.testing.assert_array_equal(got.compute(), fastcm.threshold_confusion_matrices(t, s, thresholds=thr))


def _never_computed(block):
    raise RuntimeError("the scores were read")


def test_explicit_scores_skip_the_pass_that_decides_auto():
    s = da.from_array(np.linspace(-3, 3, 40), chunks=10).map_blocks(_never_computed, dtype=np.float64)
    t = da.from_array(np.arange(40) % 2, chunks=10)
    for scores in ("logits", "probabilities"):
        fdask.threshold_confusion_matrices(t, s, scores=scores)  # lazy: nothing read
        fdask.binary_confusion_matrix(t, s, scores=scores)
    with pytest.raises(RuntimeError, match="the scores were read"):  # "auto": one reduction first
        fdask.threshold_confusion_matrices(t, s)


def test_probabilities_refuse_a_value_outside_the_unit_interval(client):
    s = np.array([0.1, 0.2, 0.3, 0.4, 1.5, 0.6])
    t = da.from_array(np.array([0, 1, 0, 1, 0, 1]), chunks=3)
    with pytest.raises(ValueError, match=r"got 1\.5 at position 1.*scores='logits'.*starts at row 3"):
        fdask.threshold_confusion_matrices(t, da.from_array(s, chunks=3), scores="probabilities").compute()
    with pytest.raises(ValueError, match="Expected `scores` to be one of"):
        fdask.threshold_confusion_matrices(t, da.from_array(s, chunks=3), scores="logit")


def _kill_once(block, marker):
    if block.size and not os.path.exists(marker):
        open(marker, "w").close()
        os.kill(os.getpid(), signal.SIGKILL)  # the worker process dies mid-computation
    return block


def test_worker_killed_midway_gives_exact_counts(client, tmp_path):
    t, p = _pairs(2000)
    marker = str(tmp_path / "killed")
    dt = da.from_array(t, chunks=300).map_blocks(_kill_once, marker, meta=np.empty(0, t.dtype))
    got = fdask.confusion_matrix(dt, da.from_array(p, chunks=300), num_classes=6).compute()
    assert os.path.exists(marker)
    np.testing.assert_array_equal(got, sk_cm(t, p))


def _touch(block, marker):
    if block.size:
        open(marker, "a").close()
    return block


def test_result_is_lazy_and_client_gets_only_c_by_c(client, tmp_path):
    marker = str(tmp_path / "ran")
    n, C = 2_000_000, 5
    rng = da.random.default_rng(4)
    t = rng.integers(0, C, size=n, chunks=n // 8).map_blocks(_touch, marker, meta=np.empty(0, np.int64))
    p = rng.integers(0, C, size=n, chunks=n // 8)
    cm = fdask.confusion_matrix(t, p, num_classes=C)
    assert not os.path.exists(marker) and cm.shape == (C, C) and cm.numblocks == (1, 1)
    tracemalloc.start()
    fut = client.compute(cm)
    result = fut.result()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert os.path.exists(marker) and result.sum() == n
    assert peak < n  # an N-sized array would be >= 8 * n bytes on the client
    nbytes = client.run_on_scheduler(lambda dask_scheduler, key=fut.key: dask_scheduler.tasks[key].nbytes)
    assert nbytes <= C * C * 8 + 1024


def test_accumulators_built_on_workers_pickle_small_and_merge(client):
    t, p = _pairs(3000)
    cm = fastcm.ConfusionMatrix(num_classes=6).update(t, p)
    assert len(pickle.dumps(cm)) < 6 * 6 * 8 + 1024

    def build(i):
        return fastcm.ConfusionMatrix(num_classes=6).update(t[i::3], p[i::3])

    merged = sum(client.gather(client.map(build, range(3))))
    np.testing.assert_array_equal(merged.compute(), sk_cm(t, p))
    s = np.random.default_rng(5).random(t.size)
    parts = client.gather(client.map(lambda i: fastcm.ThresholdConfusionMatrix(11).update(t[i::3] % 2, s[i::3]), range(3)))
    total = parts[0] + parts[1] + parts[2]
    np.testing.assert_array_equal(total.compute(), fastcm.threshold_confusion_matrices(t % 2, s, thresholds=11))


def test_errors_name_the_chunk(client):
    t = da.from_array(np.array([0, 1, 2, 1, 7, 0]), chunks=3)
    with pytest.raises(ValueError, match="got 7 at position 1.*starts at index \\(3,\\)"):
        fdask.confusion_matrix(t, t, num_classes=3).compute()


def test_docstring_examples():
    result = doctest.testmod(fdask, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_graphs_with_different_arguments_never_share_keys():
    # a distributed client caches results by key: a fixed key name would hand the second
    # call the first call's matrix
    t, p = _pairs()
    a = fdask.confusion_matrix(da.from_array(t, chunks=UNEVEN), da.from_array(p, chunks=UNEVEN))
    b = fdask.confusion_matrix(da.from_array(t, chunks=UNEVEN), da.from_array(p, chunks=UNEVEN), labels=[2, 0])
    assert a.name != b.name
    count_a = {k for k in a.dask.layers if k.startswith("fastcm-count")}
    count_b = {k for k in b.dask.layers if k.startswith("fastcm-count")}
    assert count_a and count_a.isdisjoint(count_b)


def _threads_seen_by_count():
    """On a worker: numba's thread count while a chunk is counted, and after."""
    import numba

    seen, original = [], fdask.count

    def spy(*args, **kwargs):
        seen.append(numba.get_num_threads())
        return original(*args, **kwargs)

    fdask.count = spy
    try:
        t = np.arange(1000) % 3
        fdask._count_block(t, t, size=3, count_dtype=np.dtype(np.int64), out_ndim=1, scores=False, labels=None,
                           num_classes=3, ignore_index=None, backend="numba")  # fmt: skip
    finally:
        fdask.count = original
    return seen, numba.get_num_threads(), int(numba.config.NUMBA_NUM_THREADS)


def test_kernel_uses_one_thread_per_task_in_workers(client):
    # 2 workers x 1 thread: a kernel spreading each task over every core would oversubscribe
    seen, after, pool = client.submit(_threads_seen_by_count, pure=False).result()
    assert seen == [1]
    assert after == pool  # numba's (thread-local) setting is restored after the task


def test_kernel_threads_follow_omp_num_threads(monkeypatch):
    numba = pytest.importorskip("numba")
    before = numba.get_num_threads()
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    with fdask._kernel_threads():
        assert numba.get_num_threads() == min(2, numba.config.NUMBA_NUM_THREADS)
    monkeypatch.setenv("OMP_NUM_THREADS", "not a number")
    with fdask._kernel_threads():
        assert numba.get_num_threads() == 1
    assert numba.get_num_threads() == before


def _sum_levels(arr):
    """{name of a level of the summing tree: its task count}."""
    names = [k[0] for k in dict(arr.__dask_graph__()) if isinstance(k, tuple) and str(k[0]).startswith("fastcm-sum")]
    return {n: names.count(n) for n in set(names)}


def test_partials_summed_in_one_level_when_small():
    t, p = _pairs(3000)
    dt, dp = da.from_array(t, chunks=50), da.from_array(p, chunks=50)  # 60 chunks
    flat = fdask.confusion_matrix(dt, dp, num_classes=6)
    assert list(_sum_levels(flat).values()) == [1]  # counts, then one sum, no per-chunk sums
    assert len(dict(flat.__dask_graph__())) == 60 * 3 + 1  # t, p, count per chunk; the sum
    deep = fdask.confusion_matrix(dt, dp, num_classes=6, split_every=4)
    assert sorted(_sum_levels(deep).values()) == [1, 4, 15]
    more = fdask.confusion_matrix(da.from_array(t, chunks=20), da.from_array(p, chunks=20), num_classes=6)  # 150
    assert sorted(_sum_levels(more).values()) == [1, 3]
    with dask.config.set(scheduler="sync"):
        for got in (flat, deep, more):
            np.testing.assert_array_equal(got.compute(), sk_cm(t, p))
    assert fdask._split_every(None, 6 * 6 * 8) == 64
    assert fdask._split_every(None, 1000 * 1000 * 8) == 8  # 8 MB partials: 64 MiB per task
    assert fdask._split_every(None, 10**4 * 10**4 * 8) == 2
    assert fdask._split_every(3, 8) == 3


def test_benchmark_stream_layout_counts_exactly():
    bench = pytest.importorskip("benchmarks.dask_case")
    n, chunk = 9 * 4096 + 17, 4096
    t, p = bench.stream_arrays(n, 21, chunk=chunk)
    assert t.dtype == np.uint8 and t.numblocks == (10,)
    with dask.config.set(scheduler="sync"):
        tt, pp = dask.compute(t, p)
        got = fdask.confusion_matrix(t, p, num_classes=21).compute()
    np.testing.assert_array_equal(got, sk_cm(tt, pp, labels=range(21)))
    np.testing.assert_array_equal(tt[:chunk], tt[8 * chunk : 9 * chunk])  # a pool of 8 blocks
    assert not np.array_equal(tt[:chunk], tt[chunk : 2 * chunk])


def test_no_chunk_moves_between_workers(client):
    # chunk i of both arrays lives on worker i % 2: counting must happen where the chunks
    # are, and only (C, C) partials may travel (to the one task that sums them)
    workers = sorted(client.scheduler_info()["workers"])
    C, rows, k = 7, 200_000, 6
    rng = np.random.default_rng(6)
    t_parts, p_parts = [], []
    for i in range(k):
        t = rng.integers(0, C, rows)
        t_parts.append(t)
        p_parts.append(np.where(rng.random(rows) < 0.7, t, rng.integers(0, C, rows)))
    futs = [client.scatter([t, p], workers=[workers[i % 2]]) for i, (t, p) in enumerate(zip(t_parts, p_parts))]
    dt = da.concatenate([da.from_delayed(ft, (rows,), np.int64) for ft, _ in futs])
    dp = da.concatenate([da.from_delayed(fp, (rows,), np.int64) for _, fp in futs])
    seen = client.run(lambda dask_worker: len(dask_worker.transfer_incoming_log))
    got = fdask.confusion_matrix(dt, dp, num_classes=C).compute()
    np.testing.assert_array_equal(got, sk_cm(np.concatenate(t_parts), np.concatenate(p_parts)))
    moved = client.run(lambda dask_worker: [e["total"] for e in dask_worker.transfer_incoming_log])
    total = sum(sum(v[seen[w]:]) for w, v in moved.items())
    assert total <= k * (C * C * 8 + 512)  # partials only; one chunk is rows * 8 = 1.6 MB


def test_mixed_string_and_number_labels_raise_like_the_core():
    t = da.from_array(np.array(["a", "b"]), chunks=1)
    p = da.from_array(np.array([0, 1]), chunks=1)
    for exc in (ValueError, TypeError):
        with pytest.raises(exc, match="Mix of label input types"):
            fdask.confusion_matrix(t, p)


def test_warm_up_workers_loads_the_kernels_on_every_worker(client):
    """After ``warm_up_workers`` each worker has numba imported and the plain label kernel
    loaded for the three compiled dtypes, before any task counted there."""
    import fastcm.dask

    fastcm.dask.warm_up_workers(client)

    def loaded():
        from fastcm.backends.numba_cpu import _jit

        return sorted(
            str(sig[0].dtype) for k in _jit.Kernel.made if k.__name__ == "count_plain" for sig in k.dispatcher.signatures
        )

    assert all(v == ["int32", "int64", "uint8"] for v in client.run(loaded).values()), client.run(loaded)
