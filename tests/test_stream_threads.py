"""Accumulators shared by many threads count every pair exactly once.

``update``/``merge``/``reset``/``compute`` of one accumulator may run from many threads at
once: the counting runs outside its lock, the combining into the state under it. A tiny
switch interval makes the interpreter switch threads between almost every bytecode, so a
read-modify-write of the state without the lock loses updates here.
"""

import copy
import os
import pickle
import sys
import threading

import numpy as np
import pytest

import fastcm
from fastcm import ConfusionMatrix, ThresholdConfusionMatrix

THREADS = 16
ROUNDS = 200


@pytest.fixture
def fast_switching():
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def _run(n_threads, work):
    start = threading.Barrier(n_threads)
    errors = []

    def body(i):
        try:
            start.wait()
            work(i)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(n_threads)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors[0]


def _batches(seed, k=5):
    rng = np.random.default_rng(seed)
    return [(rng.integers(0, k, 3), rng.integers(0, k, 3)) for _ in range(ROUNDS)]


@pytest.mark.parametrize("growing", [False, True])
def test_threaded_updates_count_every_pair(backend, fast_switching, growing):
    data = [_batches(i) for i in range(THREADS)]
    # growing: each thread also brings labels of its own, so the label union races too
    data = [[(t + 10 * i * growing, p) for t, p in d] for i, d in enumerate(data)]
    cm = ConfusionMatrix(backend=backend) if growing else ConfusionMatrix(5 + 10 * THREADS, backend=backend)

    def work(i):
        for t, p in data[i]:
            cm.update(t, p)
            cm.compute()

    _run(THREADS, work)
    t = np.concatenate([t for d in data for t, _ in d])
    p = np.concatenate([p for d in data for _, p in d])
    expected = fastcm.confusion_matrix(t, p) if growing else fastcm.confusion_matrix(t, p, num_classes=5 + 10 * THREADS)
    np.testing.assert_array_equal(cm.compute(), expected)
    assert cm.n_samples == t.size == int(cm.compute().sum())
    if growing:
        np.testing.assert_array_equal(cm.labels, np.union1d(t, p))


def test_threaded_merges_and_resets(backend, fast_switching):
    parts = [ConfusionMatrix(5, backend=backend).update(*_batches(i)[0]) for i in range(THREADS)]
    total = ConfusionMatrix(5, backend=backend)
    scratch = ConfusionMatrix(5, backend=backend)

    def work(i):
        for _ in range(ROUNDS // 4):
            total.merge(parts[i])
            scratch.update([0], [1]).reset()  # reset racing update keeps the state whole
            assert 0 <= scratch.n_samples <= THREADS  # other threads update between reset and here

    _run(THREADS, work)
    one = sum(parts)
    np.testing.assert_array_equal(total.compute(), one.compute() * (ROUNDS // 4))
    assert total.n_samples == one.n_samples * (ROUNDS // 4)
    assert scratch.n_samples == 0


def test_threaded_threshold_updates_and_merges(backend, fast_switching):
    rng = np.random.default_rng(0)
    data = [[(rng.integers(0, 2, 3), rng.random(3)) for _ in range(ROUNDS)] for _ in range(THREADS)]
    m = ThresholdConfusionMatrix(11, backend=backend)
    merged = ThresholdConfusionMatrix(11, backend=backend)
    part = ThresholdConfusionMatrix(11, backend=backend).update([0, 1], [0.3, 0.8])

    def work(i):
        for t, s in data[i]:
            m.update(t, s)
            merged.merge(part)

    _run(THREADS, work)
    t = np.concatenate([t for d in data for t, _ in d])
    s = np.concatenate([s for d in data for _, s in d])
    np.testing.assert_array_equal(m.compute(), fastcm.threshold_confusion_matrices(t, s, thresholds=11))
    assert m.n_samples == t.size
    np.testing.assert_array_equal(merged.compute(), part.compute() * THREADS * ROUNDS)
    assert merged.n_samples == 2 * THREADS * ROUNDS


@pytest.mark.parametrize("make", [
    lambda: ConfusionMatrix(3).update([0, 1], [1, 1]),
    lambda: ConfusionMatrix().update(["a"], ["b"]),
    lambda: ThresholdConfusionMatrix(5).update([0, 1], [0.1, 0.9]),
])
def test_locks_survive_pickle_deepcopy_and_copy(make):
    acc = make()
    n = acc.n_samples
    for clone in (pickle.loads(pickle.dumps(acc)), copy.deepcopy(acc), acc.copy(), copy.copy(acc)):
        np.testing.assert_array_equal(clone.compute(), acc.compute())
        clone.reset()  # the clone has a lock of its own: using it leaves the original alone
        assert acc.n_samples == n
    assert "_lock" not in acc.__getstate__()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.parametrize("make", [lambda: ConfusionMatrix(3, backend="numpy"), lambda: ThresholdConfusionMatrix(5, backend="numpy")])
def test_a_forked_child_does_not_inherit_a_held_lock(make):
    acc = make()
    held, release = threading.Event(), threading.Event()

    def hold():
        with acc._lock:
            held.set()
            release.wait(5)

    th = threading.Thread(target=hold)
    th.start()
    held.wait()
    threading.Timer(0.3, release.set).start()  # fork waits for a held lock, or the child gets a free one
    pid = os.fork()
    if pid == 0:  # the child: updating must not hang on the parent's lock
        import signal

        signal.alarm(10)
        try:
            acc.update([0, 1], [0, 1] if isinstance(acc, ConfusionMatrix) else [0.2, 0.7])
            os._exit(0 if acc.n_samples == 2 else 3)
        except BaseException:
            os._exit(4)
    release.set()
    th.join()
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
