"""Deferred validation of ConfusionMatrix.update, forced on the host backends.

On a GPU ``update`` does not read the kernel's invalid count back; the check waits for
``compute()``. The mechanism is written with array-module operations only, so forcing it
on numpy/numba (``cm._defer = True``) tests the same logic the CuPy path runs. The
reference is the eager accumulator: it raises in ``update`` and skips that batch.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fastcm
from fastcm import ConfusionMatrix
from fastcm.core import invalid as invalid_mod
from fastcm.counts import confusion as confusion_mod
from fastcm.accumulate import confusion as stream_mod

C = 4
KINDS = ["good", "scores", "weighted", "bad_true", "bad_pred", "nan_score", "bad_weight"]


def _batch(kind, m, seed):
    """(y_true, y_pred, sample_weight) of 2*m pairs; ``bad_*`` kinds corrupt 1 to 3 positions."""
    rng = np.random.default_rng(seed)
    n = 2 * m
    t = rng.integers(0, C, n)
    scores = kind in ("scores", "nan_score")
    p = rng.random((n, C)) if scores else rng.integers(0, C, n)
    w = rng.random(n) if kind in ("weighted", "bad_weight") else None
    for i in rng.integers(0, n, rng.integers(1, 4)) if kind.startswith(("bad", "nan")) else []:
        if kind == "bad_true":
            t[i] = rng.choice([-1, C, C + 7])
        elif kind == "bad_pred":
            p[i] = rng.choice([-2, C])
        elif kind == "nan_score":
            p[i, rng.integers(0, C)] = np.nan
        else:
            w[i] = rng.choice([np.nan, np.inf, -np.inf])
    if not scores and rng.random() < 0.5:  # N-D labels: the message names the index too
        t, p = t.reshape(m, 2), p.reshape(m, 2)
    return t, p, w


def _pair(backend, **kw):
    eager = ConfusionMatrix(C, backend=backend, **kw)
    eager._defer = False
    deferred = ConfusionMatrix(C, backend=backend, **kw)
    deferred._defer = True
    return eager, deferred


@given(
    batches=st.lists(st.tuples(st.sampled_from(KINDS), st.integers(1, 40), st.integers(0, 2**31)), min_size=1, max_size=6)
)
def test_deferred_equals_eager(backend, batches):
    eager, deferred = _pair(backend)
    errors = []
    for k, (kind, m, seed) in enumerate(batches):
        t, p, w = _batch(kind, m, seed)
        try:
            eager.update(t, p, sample_weight=w)
        except ValueError as exc:
            errors.append((k, str(exc)))
        deferred.update(t, p, sample_weight=w)  # never raises for bad values
    if errors:
        k, msg = errors[0]
        expected = f"{msg}, in batch {k} passed to update() (counting from 0 since reset). That batch was not counted"
        with pytest.raises(ValueError) as info:
            deferred.compute()
        assert str(info.value).startswith(expected)
        assert (f"; {len(errors) - 1} later invalid batch(es)" in str(info.value)) == (len(errors) > 1)
    # raised once; afterwards the state is the eager one: every valid batch, nothing else
    np.testing.assert_array_equal(deferred.compute(), eager.compute())
    assert deferred.compute().dtype == eager.compute().dtype
    assert deferred.n_samples == eager.n_samples
    assert deferred._deferred is None


def test_bad_batch_in_the_middle(backend):
    cm = ConfusionMatrix(3, backend=backend)
    cm._defer = True
    t1, p1 = [0, 1, 2, 2], [0, 2, 2, 1]
    t3, p3 = [1, 1], [1, 0]
    cm.update(t1, p1).update([[0, 1], [2, 9]], [[0, 1], [2, 1]]).update(t3, p3)
    assert "checks pending" in repr(cm) and "n_samples=10" in repr(cm)  # repr reads nothing
    with pytest.raises(ValueError, match=r"got 9 at position 3 \(index \(1, 1\)\), in batch 1 passed to update\(\)"):
        cm.compute()
    np.testing.assert_array_equal(cm.compute(), fastcm.confusion_matrix(t1 + t3, p1 + p3, num_classes=3))
    assert cm.n_samples == 6


@pytest.mark.parametrize(
    "t, p, w, message",
    [
        ([0, 5], [0, 1], None, r"Expected `y_true` labels in 0\.\.2 \(num_classes=3\), but got 5 at position 1$"),
        ([0, 1], [0, -1], None, r"Expected `y_pred` labels in 0\.\.2 \(num_classes=3\), but got -1 at position 1$"),
        ([0, 1, 1], [3, 1, 7], None, r"but got 3 at position 0 \(2 invalid pairs in total\)$"),
        (np.array([0, 1], np.uint64), np.array([0, 2**64 - 1], np.uint64), None, r"but got 18446744073709551615 at position 1$"),
        (np.array([2**63 - 1, 0], np.int64), np.array([0, 0], np.int64), None, r"but got 9223372036854775807 at position 0$"),
        ([0, 1], [0, 1], [1.0, np.nan], r"Expected finite `sample_weight`, but got nan at position 1$"),
        ([0, 1], [0, 1], [np.inf, 1.0], r"Expected finite `sample_weight`, but got inf at position 0$"),
        ([0, 1], [0, 1], np.array([1, -np.inf], np.float32), r"but got -inf at position 1$"),
        ([0, 1], [[0.1, 0.2, 0.3], [np.nan, 0, 0]], None, r"Expected finite scores in `y_pred`, but got NaN at position 1$"),
        ([0, 4], [[0.1, 0.2, 0.3], [0, 0, 1]], None, r"Expected `y_true` labels in 0\.\.2 \(num_classes=3\), but got 4 at position 1$"),
    ],
)
def test_messages_match_the_eager_ones(backend, t, p, w, message):
    eager = ConfusionMatrix(3, backend=backend)
    with pytest.raises(ValueError, match=message) as eager_info:
        eager.update(t, p, sample_weight=w)
    cm = ConfusionMatrix(3, backend=backend)
    cm._defer = True
    cm.update(t, p, sample_weight=w)
    with pytest.raises(ValueError) as info:
        cm.compute()
    assert str(info.value) == f"{eager_info.value}, in batch 0 passed to update() (counting from 0 since reset). That batch was not counted"


def test_segmentation_scores_name_the_pixel(backend):
    s = np.zeros((2, 3, 4, 5), np.float32)
    s[1, 2, 3, 1] = np.nan
    t = np.zeros((2, 4, 5), np.int64)
    t[0, 0, 0] = 255  # ignored: never invalid
    cm = ConfusionMatrix(3, ignore_index=255, backend=backend)
    cm._defer = True
    cm.update(t, s)
    with pytest.raises(ValueError, match=r"got NaN at position 36 \(index \(1, 3, 1\)\), in batch 0"):
        cm.compute()
    assert cm.n_samples == 0 and cm.compute().sum() == 0


def test_labels_mode_defers_weights_only(backend):
    cm = ConfusionMatrix(labels=[7, 3], backend=backend)
    cm._defer = True
    cm.update([7, 3, 5], [3, 3, 7])  # 5 is not a label: dropped, not invalid
    cm.update([7, 3], [7, 7], sample_weight=[1.0, np.nan])
    with pytest.raises(ValueError, match=r"Expected finite `sample_weight`, but got nan at position 1, in batch 1"):
        cm.compute()
    np.testing.assert_array_equal(cm.compute(), [[0, 1], [0, 1]])
    words = ConfusionMatrix(labels=["cat", "dog"], backend=backend)
    words._defer = True
    words.update(["cat", "dog"], ["dog", "dog"]).update(["cat"], ["cat"], sample_weight=[-np.inf])
    with pytest.raises(ValueError, match=r"but got -inf at position 0, in batch 1"):
        words.compute()
    np.testing.assert_array_equal(words.compute(), [[0, 1], [0, 1]])


def test_reset_forgets_the_record(backend):
    cm = ConfusionMatrix(2, backend=backend)
    cm._defer = True
    cm.update([0, 3], [0, 1])
    cm.reset()
    assert cm._deferred is None
    cm.update([1], [1]).update([0, 2], [0, 0]).update([0], [0])
    with pytest.raises(ValueError, match="but got 2 at position 1, in batch 1 passed"):  # batches count from reset
        cm.compute()
    np.testing.assert_array_equal(cm.compute(), [[1, 0], [0, 1]])


def test_merge_carries_the_record(backend):
    a, b, c = (ConfusionMatrix(2, backend=backend) for _ in range(3))
    for cm in (a, b, c):
        cm._defer = True
    a.update([0, 1], [0, 1])
    b.update([1], [1]).update([1], [1]).update([0, 1], [5, 1])
    c.update([0, 9], [0, 0]).update([0], [1])
    total = a + b  # b's error travels with its counts, unread
    assert total._deferred is not None and b._deferred is not None
    with pytest.raises(ValueError, match=r"got 5 at position 0, in batch 2 of an accumulator merged into this one"):
        total.compute()
    np.testing.assert_array_equal(total.compute(), [[1, 0], [0, 3]])
    assert total.n_samples == 4
    # the first record wins: the receiver's own, then the merged one's
    a.update([1, 1], [1, 3])
    a.merge(b).merge(c)
    with pytest.raises(ValueError, match=r"got 3 at position 1, in batch 1 passed to update\(\).*2 later invalid batch"):
        a.compute()
    np.testing.assert_array_equal(a.compute(), [[1, 1], [0, 3]])
    assert a.n_samples == 5
    with pytest.raises(ValueError, match="in batch 2 passed to update"):  # b still holds its own error
        b.n_samples
    good = ConfusionMatrix(2, backend=backend)
    good._defer = True
    good.update([0], [1])
    merged = sum([good, good.copy()])
    assert merged._deferred is not None  # merged pending checks that will pass...
    merged.update([1], [7])  # ...then its own 2nd batch is invalid: named as its own
    with pytest.raises(ValueError, match=r"got 7 at position 0, in batch 1 passed to update\(\)"):
        merged.compute()
    np.testing.assert_array_equal(merged.compute(), [[0, 2], [0, 0]])


def test_save_refuses_a_pending_error_then_saves(backend, tmp_path):
    cm = ConfusionMatrix(2, backend=backend)
    cm._defer = True
    cm.update([0, 1], [1, 1]).update([0, 1], [0, 2])
    path = tmp_path / "cm.npz"
    with pytest.raises(ValueError, match="in batch 1 passed to update"):
        cm.save(path)
    assert not path.exists()
    cm.save(path)  # the error was reported once; the valid batches remain
    back = ConfusionMatrix.load(path)
    np.testing.assert_array_equal(back.compute(), [[0, 1], [0, 1]])
    assert back.n_samples == 2 and back._deferred is None


def test_metrics_and_equality_read_the_record(backend):
    cm = ConfusionMatrix(2, backend=backend)
    cm._defer = True
    cm.update([0, 1], [0, 1]).update([0], [4])
    with pytest.raises(ValueError, match="got 4"):
        cm.precision()
    cm.update([0], [-1])
    with pytest.raises(ValueError, match="got -1"):
        cm == cm.copy()  # noqa: B015


def test_valid_batches_clear_the_record_with_one_read(backend, monkeypatch):
    cm = ConfusionMatrix(3, backend=backend)
    cm._defer = True
    reads = []
    real_host = stream_mod.to_host

    def counted_read(a):
        reads.append(a)
        return real_host(a)

    # update reads nothing back: no host transfer in confusion.count, its invalid check or the accumulator
    monkeypatch.setattr(confusion_mod, "to_host", lambda a: pytest.fail("update read a kernel result back"))
    monkeypatch.setattr(invalid_mod, "to_host", lambda a: pytest.fail("update read an invalid record back"))
    monkeypatch.setattr(stream_mod, "to_host", counted_read)
    for k in range(5):
        cm.update([k % 3, 2], [1, 2])
    assert reads == []
    expected = [[0, 2, 0], [0, 2, 0], [0, 1, 5]]
    np.testing.assert_array_equal(cm.compute(), expected)
    assert len(reads) == 1 and cm._deferred is None
    np.testing.assert_array_equal(cm.compute(), expected)
    assert len(reads) == 1  # nothing pending: no further read


def test_host_arrays_raise_in_update_by_default(backend):
    cm = ConfusionMatrix(3, backend=backend)  # _defer == "device": host backends check at once
    cm.update([0, 1], [0, 1])
    with pytest.raises(ValueError, match="got 3 at position 0$"):
        cm.update([3], [0])
    assert cm._deferred is None and cm.n_samples == 2


def test_growing_accumulators_never_defer(backend):
    cm = ConfusionMatrix(backend=backend)
    cm._defer = True
    cm.update([1, 2], [2, 2])
    with pytest.raises(ValueError, match="sample_weight"):
        cm.update([1, 5], [1, 1], sample_weight=[1.0, np.inf])
    assert cm.labels.tolist() == [1, 2] and cm._deferred is None


def test_count_defer_returns_the_record(backend):
    res = confusion_mod.count([0, 1, 7], [0, 1, 1], num_classes=2, backend=backend, defer=True)
    np.testing.assert_array_equal(res.counts, [[1, 0], [0, 1]])  # valid pairs counted; the caller drops them
    assert res.invalid.shape == (invalid_mod.RECORD_SIZE,)
    assert invalid_mod.invalid_message(res.invalid) == "Expected `y_true` labels in 0..1 (num_classes=2), but got 7 at position 2"
    assert confusion_mod.count([0], [0], num_classes=2, backend=backend, defer="device").invalid is None
    ok = confusion_mod.count(np.empty(0, int), np.empty(0, int), num_classes=2, backend=backend, defer=True)
    assert invalid_mod.invalid_message(ok.invalid) is None
