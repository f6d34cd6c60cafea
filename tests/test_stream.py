"""ConfusionMatrix: batches equal one shot; merge, pickle, save/load; failed updates change nothing."""

import pickle
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fastcm
from fastcm import ConfusionMatrix


def _one_shot(t, p, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fastcm.confusion_matrix(t, p, **kw)


@given(
    n=st.integers(1, 300),
    cuts=st.lists(st.integers(0, 300), max_size=6),
    seed=st.integers(0, 2**31),
)
def test_random_batch_splits_equal_one_shot(backend, n, cuts, seed):
    rng = np.random.default_rng(seed)
    t = rng.integers(0, 5, n)
    p = rng.integers(0, 5, n)
    edges = [0, *sorted(c % (n + 1) for c in cuts), n]
    fixed = ConfusionMatrix(5, backend=backend)
    growing = ConfusionMatrix(backend=backend)
    for a, b in zip(edges[:-1], edges[1:]):
        fixed.update(t[a:b], p[a:b])
        growing.update(t[a:b], p[a:b])
    np.testing.assert_array_equal(fixed.compute(), _one_shot(t, p, num_classes=5))
    np.testing.assert_array_equal(growing.compute(), _one_shot(t, p))
    np.testing.assert_array_equal(growing.labels, np.union1d(t, p))
    assert fixed.n_samples == growing.n_samples == n


def test_growing_labels_reindex_old_counts(backend):
    cm = ConfusionMatrix(backend=backend)
    cm.update(["b", "d"], ["b", "b"])
    cm.update(["a"], ["c"])
    assert cm.labels.tolist() == ["a", "b", "c", "d"]
    np.testing.assert_array_equal(cm.matrix, _one_shot(["b", "d", "a"], ["b", "b", "c"]))
    with pytest.raises(TypeError, match="all be numbers or all strings"):
        cm.update([1], [2])


@pytest.mark.parametrize(
    "t, p, names",
    [
        ([True, False, True], [True, True, False], ["False", "True"]),
        ([1.0, 2.0, 2.0], [2.0, 2.0, 1.0], ["1.0", "2.0"]),
        (np.array([1, 2, 2], np.float32), [1, 1, 2], ["1.0", "2.0"]),
        ([1, 2, 2], [1, 1, 2], ["1", "2"]),
    ],
)
def test_growing_labels_keep_the_inputs_dtype(backend, t, p, names):
    """Bools and whole-number floats are counted as integers, but named as scikit-learn
    names them: its report's rows read True and 1.0."""
    from sklearn.metrics import classification_report

    cm = ConfusionMatrix(backend=backend)
    cm.update(t[:2], p[:2]).update(t[2:], p[2:])
    assert [str(v) for v in cm.labels] == names
    assert cm.report(zero_division=0) == classification_report(np.asarray(t), np.asarray(p), zero_division=0)


def test_growing_labels_of_scores_are_class_indices(backend):
    cm = ConfusionMatrix(backend=backend)
    cm.update([0, 1, 1], np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]], np.float32))
    assert cm.labels.dtype.kind == "i" and cm.labels.tolist() == [0, 1]
    np.testing.assert_array_equal(cm.compute(), [[1, 0], [1, 1]])


def test_fixed_labels_drop_other_pairs(backend):
    cm = ConfusionMatrix(labels=[2, 0], backend=backend)
    cm.update([0, 1, 2, 2], [0, 2, 2, 0])
    np.testing.assert_array_equal(cm.compute(), [[1, 1], [0, 1]])


def test_failed_update_changes_nothing(backend):
    cm = ConfusionMatrix(3, backend=backend)
    cm.update([0, 1, 2], [0, 1, 1])
    before, n = cm.compute().copy(), cm.n_samples
    for bad in (([0, 7], [0, 1]), ([0, 1], [0]), ([0.5], [0]), ([0, 1], [0, 1], [1.0, np.nan])):
        with pytest.raises((ValueError, TypeError)):
            cm.update(*bad)
        np.testing.assert_array_equal(cm.compute(), before)
        assert cm.n_samples == n
    grow = ConfusionMatrix(backend=backend).update([1, 2], [1, 1])
    with pytest.raises(TypeError):
        grow.update(["x"], ["y"])
    assert grow.labels.tolist() == [1, 2]


def test_merge_add_copy_and_sum(backend):
    rng = np.random.default_rng(0)
    t, p = rng.integers(0, 4, 100), rng.integers(0, 4, 100)
    a = ConfusionMatrix(4, backend=backend).update(t[:60], p[:60])
    b = ConfusionMatrix(4, backend=backend).update(t[60:], p[60:])
    total = a + b
    np.testing.assert_array_equal(total.compute(), _one_shot(t, p, num_classes=4))
    assert total.n_samples == 100
    np.testing.assert_array_equal(a.compute(), _one_shot(t[:60], p[:60], num_classes=4))  # + does not mutate
    np.testing.assert_array_equal(sum([a, b]).compute(), total.compute())
    c = a.copy().merge(b)
    assert c == total
    with pytest.raises(ValueError, match="different classes"):
        a.merge(ConfusionMatrix(5))
    with pytest.raises(TypeError):
        a.merge(np.zeros((4, 4)))
    g1 = ConfusionMatrix(backend=backend).update([1, 5], [1, 1])
    g2 = ConfusionMatrix(backend=backend).update([3], [9])
    np.testing.assert_array_equal(g1.merge(g2).compute(), _one_shot([1, 5, 3], [1, 1, 9]))


def test_weights_switch_to_float(backend):
    cm = ConfusionMatrix(2, backend=backend).update([0, 1], [0, 1])
    cm.update([1], [0], sample_weight=[0.5])
    np.testing.assert_allclose(cm.compute(), [[1, 0], [0.5, 1]])


def test_pickle_and_save_load_round_trip(backend, tmp_path):
    cm = ConfusionMatrix(ignore_index=255, backend=backend).update(["x", "y", "y"], ["y", "y", "x"])
    clone = pickle.loads(pickle.dumps(cm))
    assert clone == cm and clone.n_samples == 3
    path = tmp_path / "cm.npz"
    cm.save(path)
    loaded = ConfusionMatrix.load(path)
    assert loaded == cm and loaded.n_samples == 3 and loaded.ignore_index == 255
    assert [f.name for f in tmp_path.iterdir()] == ["cm.npz"]  # no temporary left behind
    loaded.update(["z"], ["x"])  # a loaded growing accumulator keeps growing
    assert loaded.labels.tolist() == ["x", "y", "z"]
    fixed = ConfusionMatrix(labels=[3, 1]).update([1, 3], [3, 3])
    fixed.save(path)
    assert ConfusionMatrix.load(path) == fixed


def test_load_rejects_corrupt_and_foreign_files(tmp_path):
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip file at all")
    with pytest.raises(ValueError, match="not a readable fastcm"):
        ConfusionMatrix.load(junk)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, a=np.arange(3))
    with pytest.raises(ValueError, match="not a fastcm ConfusionMatrix"):
        ConfusionMatrix.load(foreign)
    from fastcm import ThresholdConfusionMatrix

    other = tmp_path / "thresholds.npz"
    ThresholdConfusionMatrix(thresholds=3).update([0, 1], [0.2, 0.9]).save(other)
    with pytest.raises(ValueError, match="not a fastcm ConfusionMatrix"):
        ConfusionMatrix.load(other)
    ConfusionMatrix(2).update([0, 1], [1, 1]).save(other)
    with pytest.raises(ValueError, match="not a fastcm ThresholdConfusionMatrix"):
        ThresholdConfusionMatrix.load(other)


def test_reset_and_empty_state(backend):
    cm = ConfusionMatrix(3, backend=backend)
    np.testing.assert_array_equal(cm.compute(), np.zeros((3, 3)))
    cm.update([0], [1]).reset()
    assert cm.n_samples == 0 and not cm.compute().any()
    assert ConfusionMatrix().compute().shape == (0, 0)


def test_scores_batches(backend):
    rng = np.random.default_rng(1)
    t = rng.integers(0, 3, 50)
    s = rng.random((50, 3))
    cm = ConfusionMatrix(3, backend=backend).update(t[:20], s[:20]).update(t[20:], s[20:])
    np.testing.assert_array_equal(cm.compute(), _one_shot(t, s.argmax(1), num_classes=3))


def test_constructor_validation():
    with pytest.raises(ValueError, match="positive int"):
        ConfusionMatrix(0)
    with pytest.raises(ValueError, match="Expected 3 labels"):
        ConfusionMatrix(3, labels=[0, 1])


def _rewrite(path, **fields):
    """Copy of the .npz at ``path`` with some fields replaced (a hand-edited or damaged file)."""
    with np.load(path) as z:
        data = {k: z[k] for k in z.files}
    data.update(fields)
    out = path.with_name("edited.npz")
    np.savez(out, **data)
    return out


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"counts": np.full((3, 3), "a")}, "bad field 'counts'"),
        ({"counts": np.full((3, 3), np.nan)}, "bad field 'counts'"),
        ({"labels": np.array([["a", "b", "c"]])}, "bad field 'labels'"),
        ({"labels": np.array(["c", "a", "b"])}, "not sorted and distinct"),
        ({"labels": np.array(["a", "a", "b"])}, "not sorted and distinct"),
        ({"n_samples": np.array("x")}, "bad field 'n_samples'"),
        ({"n_samples": np.array(-4)}, "bad field 'n_samples'"),
        ({"format_version": np.array([1, 2])}, "bad field 'format_version'"),
        ({"mode": np.array(3)}, "bad field 'mode'"),
        ({"has_ignore": np.array(True), "ignore_index": np.array([1, 2])}, "bad field 'ignore_index'"),
    ],
)
def test_load_rejects_damaged_fields(tmp_path, fields, match):
    # these loaded without complaint (string counts, unsorted growing labels) or raised
    # TypeError / bare int() errors
    path = tmp_path / "cm.npz"
    ConfusionMatrix().update(["a", "b", "c"], ["b", "b", "a"]).save(path)
    with pytest.raises(ValueError, match=match):
        ConfusionMatrix.load(_rewrite(path, **fields))


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"hist": np.full((1, 4, 2), "a")}, "bad field 'hist'"),
        ({"num_classes": np.array([1, 2])}, "bad field 'num_classes'"),
        ({"n_samples": np.array("a")}, "bad field 'n_samples'"),
        ({"thresholds": np.array([0.5, 0.1, 0.9])}, "bad field 'thresholds'"),
        ({"format_version": np.array(99)}, "format version 99, newer"),
    ],
)
def test_threshold_load_rejects_damaged_fields(tmp_path, fields, match):
    from fastcm import ThresholdConfusionMatrix

    path = tmp_path / "t.npz"
    ThresholdConfusionMatrix(thresholds=3).update([0, 1], [0.2, 0.9]).save(path)
    with pytest.raises(ValueError, match=match):
        ThresholdConfusionMatrix.load(_rewrite(path, **fields))


def test_ignore_index_is_checked_and_normalised_by_the_constructor(backend):
    with pytest.raises(ValueError, match=r"ignore_index.*1\.5"):
        ConfusionMatrix(3, ignore_index=1.5, backend=backend)
    a = ConfusionMatrix(3, ignore_index=255.0, backend=backend).update([0, 255, 1], [0, 2, 1])
    b = ConfusionMatrix(3, ignore_index=255, backend=backend).update([2], [2])
    assert a.ignore_index == 255
    np.testing.assert_array_equal(a.merge(b).compute(), [[1, 0, 0], [0, 1, 0], [0, 0, 1]])


def test_failed_update_with_dropped_nan_weight_changes_nothing(backend):
    cm = ConfusionMatrix(labels=[0, 1], backend=backend).update([0, 1], [0, 1], sample_weight=[1, 2])
    before = cm.compute().copy()
    with pytest.raises(ValueError, match="finite `sample_weight`, but got nan at position 1"):
        cm.update([0, 7], [0, 0], sample_weight=[1.0, np.nan])  # 7 is dropped, its NaN weight is still bad
    np.testing.assert_array_equal(cm.compute(), before)
    assert cm.compute().dtype == np.int64 and cm.n_samples == 2


def test_threshold_accumulator_rejects_an_unknown_backend_at_construction():
    from fastcm import ThresholdConfusionMatrix

    with pytest.raises(ValueError, match=r"Unknown backend 'spark'.*numba.*numpy"):
        ThresholdConfusionMatrix(thresholds=3, backend="spark")


# -- counts past int64 raise instead of wrapping ------------------------------------------

BIG = 2**62


def _state(acc):
    return acc.compute().copy(), acc.compute().dtype, acc.n_samples, acc.labels.copy()


def _assert_state(acc, before):
    counts, dtype, n, labels = before
    np.testing.assert_array_equal(acc.compute(), counts)
    assert acc.compute().dtype == dtype and acc.n_samples == n
    np.testing.assert_array_equal(acc.labels, labels)


@pytest.mark.parametrize("growing", [False, True])
def test_merge_past_int64_raises_naming_the_cell(backend, growing):
    make = (lambda: ConfusionMatrix(backend=backend)) if growing else (lambda: ConfusionMatrix(3, backend=backend))
    a = make().update([1, 2], [1, 0], sample_weight=[BIG, 1])
    b = make().update([1], [1], sample_weight=[BIG])
    before = _state(a)
    cell = r"\(1, 1\)"  # the labels seen are 0, 1, 2 in both cases
    with pytest.raises(OverflowError, match=cell):
        a.merge(b)
    _assert_state(a, before)
    with pytest.raises(OverflowError, match=cell):
        a + b
    with pytest.raises(OverflowError, match=cell):
        sum([a, b])
    _assert_state(a, before)


@pytest.mark.parametrize("growing", [False, True])
def test_update_past_int64_raises_and_changes_nothing(backend, growing):
    cm = ConfusionMatrix(backend=backend) if growing else ConfusionMatrix(3, backend=backend)
    cm.update([2], [2], sample_weight=[2**63 - 1])
    before = _state(cm)
    with pytest.raises(OverflowError, match=r"cell \(\d, \d\).*9223372036854775807 \+ 1"):
        cm.update([2], [2])
    _assert_state(cm, before)
    with pytest.raises(OverflowError):
        cm.update([0, 2], [0, 2], sample_weight=[1, 1])  # a new label first moves the counts
    _assert_state(cm, before)
    cm.update([2], [2], sample_weight=[-1])  # within range: still counted
    assert cm.compute().max() == 2**63 - 2


def test_deferred_update_past_int64_raises(backend):
    cm = ConfusionMatrix(3, backend=backend)
    cm._defer = True  # the GPU path, forced on the host
    cm.update([1], [1], sample_weight=[2**63 - 1])
    with pytest.raises(OverflowError):
        cm.update([1], [1], sample_weight=[1])
    assert cm.compute()[1, 1] == 2**63 - 1


def test_n_samples_past_int64_raises_at_update(backend, tmp_path):
    cm = ConfusionMatrix(3, backend=backend).update([0], [0])
    cm.n_samples = 2**63 - 2
    before = _state(cm)
    with pytest.raises(OverflowError, match="n_samples"):
        cm.update([0, 1], [0, 1])
    _assert_state(cm, before)
    other = ConfusionMatrix(3, backend=backend).update([0, 1], [0, 1])
    with pytest.raises(OverflowError, match="n_samples"):
        cm.merge(other)
    _assert_state(cm, before)
    cm.update([1], [1])  # exactly int64's largest value still saves and loads
    cm.save(tmp_path / "cm.npz")
    assert ConfusionMatrix.load(tmp_path / "cm.npz").n_samples == 2**63 - 1


# -- 64-bit labels stay exact when a growing accumulator mixes int64 and uint64 -------------

def test_growing_labels_mixing_int64_and_uint64_stay_exact(backend):
    lo = np.array([2**53, 2**53 + 1], np.int64)  # one float64 value for both
    hi = np.array([2**63, 2**63 + 1], np.uint64)  # beyond int64
    cm = ConfusionMatrix(backend=backend).update(lo, lo[::-1]).update(hi, hi)
    assert cm.labels.dtype == np.uint64
    assert [int(v) for v in cm.labels] == [2**53, 2**53 + 1, 2**63, 2**63 + 1]
    np.testing.assert_array_equal(cm.compute(), [[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
    merged = ConfusionMatrix(backend=backend).update(hi, hi).merge(ConfusionMatrix(backend=backend).update(lo, lo[::-1]))
    assert merged == cm
    small = ConfusionMatrix(backend=backend).update(np.array([2**53 + 1], np.uint64), np.array([2**53 + 1], np.uint64))
    small.update(lo, lo)  # uint64 values below 2**63 with int64 ones: int64
    assert small.labels.dtype == np.int64 and small.labels.tolist() == [2**53, 2**53 + 1]
    np.testing.assert_array_equal(small.compute(), [[1, 0], [0, 2]])


def test_growing_labels_no_64_bit_type_holds_is_a_type_error(backend):
    cm = ConfusionMatrix(backend=backend).update(np.array([2**63], np.uint64), np.array([2**63], np.uint64))
    before = _state(cm)
    with pytest.raises(TypeError, match="no 64-bit integer type holds both"):
        cm.update(np.array([-1]), np.array([-1]))
    _assert_state(cm, before)
    with pytest.raises(TypeError, match="no 64-bit integer type holds both"):
        cm.merge(ConfusionMatrix(backend=backend).update([-1], [-1]))
    _assert_state(cm, before)
