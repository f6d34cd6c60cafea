"""Many classes: streaming updates in O(batch) (cells, not a (C, C) matrix per batch)."""

import tracemalloc
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fastcm
from fastcm import ConfusionMatrix, backends
from fastcm.counts.confusion import Cells, count

HOST = [b for b in backends.available() if not backends.is_device_backend(b)]


@given(
    C=st.integers(2, 120),
    sizes=st.lists(st.integers(0, 40), min_size=1, max_size=5),
    ignore=st.sampled_from([None, 0, 3]),
    dtype=st.sampled_from([np.int64, np.int32, np.uint8, np.int16, np.uint16, np.uint64, np.int8]),
    seed=st.integers(0, 2**31),
)
def test_small_batches_at_many_classes_equal_one_shot(backend, C, sizes, ignore, dtype, seed):
    rng = np.random.default_rng(seed)
    hi = min(C, np.iinfo(dtype).max + 1)
    batches = [(rng.integers(0, hi, n).astype(dtype), rng.integers(0, hi, n).astype(dtype)) for n in sizes]
    cm = ConfusionMatrix(C, ignore_index=ignore, backend=backend)
    for t, p in batches:
        cm.update(t, p)
    t, p = np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches])
    np.testing.assert_array_equal(cm.compute(), fastcm.confusion_matrix(t, p, num_classes=C, ignore_index=ignore))
    assert cm.compute().dtype == np.int64
    assert cm.n_samples == t.size


@given(C=st.integers(5, 60), n=st.integers(0, 30), seed=st.integers(0, 2**31), ignore=st.sampled_from([None, 2]))
def test_cells_are_the_same_on_every_backend(C, n, seed, ignore):
    """numba's pair_codes and the numpy reference give the same codes, in the same order."""
    rng = np.random.default_rng(seed)
    t, p = rng.integers(-1, C + 1, n), rng.integers(0, C, n)
    lut = np.array([-1, 0, 1, -1, 2], dtype=np.int64)
    for kw in ({"ignore_index": ignore}, {"ignore_index": ignore, "lut": lut, "lut_offset": 1}):
        got = [backends.get(b).pair_codes(t, p, C, **kw) for b in HOST]
        for codes, invalid in got[1:]:
            np.testing.assert_array_equal(codes, got[0][0])
            np.testing.assert_array_equal(invalid, got[0][1])


@given(
    labels=st.lists(st.integers(-5, 200), min_size=1, max_size=30, unique=True),
    n=st.integers(1, 30),
    seed=st.integers(0, 2**31),
)
def test_labels_subset_batches(backend, labels, n, seed):
    rng = np.random.default_rng(seed)
    t, p = rng.integers(-5, 200, n), rng.integers(-5, 200, n)
    t[: n // 2] = rng.choice(labels, n // 2)
    cm = ConfusionMatrix(labels=labels, backend=backend)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a single label seen
            expected = fastcm.confusion_matrix(t, p, labels=labels)
    except ValueError:  # no label in y_true: the update raises too and counts nothing
        with pytest.raises(ValueError, match="At least one label"):
            cm.update(t, p)
        assert cm.n_samples == 0
        return
    np.testing.assert_array_equal(cm.update(t, p).compute(), expected)


def test_string_labels_batches(backend):
    names = [f"c{i}" for i in range(50)]
    t, p = np.array(["c3", "c7", "x", "c49"]), np.array(["c3", "c8", "c1", "c0"])
    cm = ConfusionMatrix(labels=names, backend=backend).update(t, p).update(t[:2], p[:2])
    expected = fastcm.confusion_matrix(t, p, labels=names) + fastcm.confusion_matrix(t[:2], p[:2], labels=names)
    np.testing.assert_array_equal(cm.compute(), expected)


def test_update_counts_cells_not_a_matrix():
    res = count(np.array([1, 2]), np.array([2, 2]), num_classes=1000, backend="numpy", compact=True)
    assert isinstance(res.counts, Cells)
    np.testing.assert_array_equal(res.counts.compact()[0], [1002, 2002])
    dense = count(np.arange(100) % 3, np.arange(100) % 3, num_classes=3, compact=True)
    assert not isinstance(dense.counts, Cells)  # small C: the matrix is cheaper


def test_update_memory_is_the_batch_not_the_matrix(backend):
    C = 3000  # a 72 MB matrix
    rng = np.random.default_rng(0)
    cm = ConfusionMatrix(C, backend=backend).update([0], [0])
    t, p = rng.integers(0, C, 1000), rng.integers(0, C, 1000)
    cm.update(t, p)  # compiles (numba) outside the measurement
    tracemalloc.start()
    for _ in range(3):
        cm.update(t, p)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 2 << 20, peak
    assert cm.n_samples == 1 + 1000 + 3000


def test_a_matrix_handed_out_never_changes(backend):
    cm = ConfusionMatrix(100, backend=backend).update([1, 2], [1, 3])
    before = cm.compute()
    kept = before.copy()
    cm.update([1], [1])
    np.testing.assert_array_equal(before, kept)
    assert cm.compute()[1, 1] == 2


def test_failed_update_changes_nothing(backend):
    cm = ConfusionMatrix(100, backend=backend).update([1, 2], [1, 3])
    with pytest.raises(ValueError, match="100"):
        cm.update([4, 5, 6], [4, 100, 6])
    assert cm.n_samples == 2
    assert cm.compute().sum() == 2 and cm.compute()[5].sum() == 0


def test_overflow_names_the_cell_and_changes_nothing(backend):
    cm = ConfusionMatrix(100, backend=backend).update([7], [8])
    cm._counts = cm._counts.copy()
    cm._counts[7, 8] = 2**63 - 2
    cm._bound = None  # unknown: every add is checked
    cm.n_samples = 2**63 - 1
    with pytest.raises(OverflowError, match="n_samples"):
        cm.update([7], [8])
    cm.n_samples = 5
    cm.update([7], [8])  # 2**63 - 1 fits
    assert cm.compute()[7, 8] == 2**63 - 1
    with pytest.raises(OverflowError, match=r"cell \(7, 8\)"):
        cm.update([7, 1], [8, 1])
    assert cm.compute()[7, 8] == 2**63 - 1 and cm.compute()[1, 1] == 0 and cm.n_samples == 6


def test_after_float_weights_cells_add_as_floats(backend):
    cm = ConfusionMatrix(100, backend=backend).update([1], [2], sample_weight=[0.5])
    cm.update([1, 3], [2, 3])
    assert cm.compute().dtype == np.float64
    assert cm.compute()[1, 2] == 1.5 and cm.compute()[3, 3] == 1.0


# -- per-class counts: the drop-ins at many classes never build a (C, C) matrix ------------


@given(
    C=st.integers(1, 80),
    n=st.integers(0, 300),
    ignore=st.sampled_from([None, 0, 5]),
    weights=st.sampled_from([None, "int", "float"]),
    lut=st.booleans(),
    seed=st.integers(0, 2**31),
)
def test_class_counts_equal_the_reference_and_the_matrix(C, n, ignore, weights, lut, seed):
    """numba against numpy, bit for bit (one thread: the order of float sums is the same),
    and both against the margins and diagonal of the matrix."""
    rng = np.random.default_rng(seed)
    t, p = rng.integers(-1, C + 1, n), rng.integers(0, C + 1, n)
    w = None if weights is None else rng.integers(-3, 9, n) if weights == "int" else rng.random(n)
    kw = {"weights": w, "ignore_index": ignore}
    if lut:
        table = rng.integers(-1, C, C + 3)
        kw.update(lut=table, lut_offset=-1)
    ref, ref_invalid = backends.get("numpy").class_counts(t, p, C, **kw)
    cm, _ = backends.get("numpy").count_pairs(t, p, C, **kw)
    margins = np.stack([cm.sum(axis=1), cm.sum(axis=0), np.diagonal(cm)])
    if weights == "float":  # a row of the matrix adds its cells, not the pairs in order
        np.testing.assert_allclose(ref, margins, rtol=1e-12)
    else:
        np.testing.assert_array_equal(ref, margins)
    for b in HOST:
        got, invalid = backends.get(b).class_counts(t, p, C, **kw)
        assert got.dtype == ref.dtype
        np.testing.assert_array_equal(got, ref)
        np.testing.assert_array_equal(invalid, ref_invalid)


@pytest.fixture(scope="module")
def few_classes_count_per_class():
    """The per-class pass from 3 classes on, so that small random inputs exercise it."""
    from fastcm.counts import confusion

    saved, confusion._PER_CLASS_MIN = confusion._PER_CLASS_MIN, 2
    yield
    confusion._PER_CLASS_MIN = saved


@given(
    n=st.integers(1, 200),
    C=st.integers(3, 40),
    weighted=st.booleans(),
    strings=st.booleans(),
    seed=st.integers(0, 2**31),
)
def test_drop_ins_on_per_class_counts_equal_sklearn(few_classes_count_per_class, n, C, weighted, strings, seed):
    skm = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(seed)
    t = rng.integers(0, C, n) * 7 - 3
    p = np.where(rng.random(n) < 0.5, t, rng.integers(0, C, n) * 7 - 3)
    if strings:
        t, p = t.astype(str), p.astype(str)
    w = rng.integers(0, 4, n).astype(np.float64) if weighted else None
    if np.union1d(t, p).size <= 2:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for average in ("macro", "micro", "weighted", None):
            for name in ("f1_score", "precision_score", "recall_score", "jaccard_score"):
                np.testing.assert_array_equal(
                    getattr(fastcm, name)(t, p, average=average, sample_weight=w),
                    getattr(skm, name)(t, p, average=average, sample_weight=w),
                )
        for name in ("accuracy_score", "matthews_corrcoef", "balanced_accuracy_score"):
            np.testing.assert_allclose(
                getattr(fastcm, name)(t, p, sample_weight=w), getattr(skm, name)(t, p, sample_weight=w), rtol=1e-15
            )
        assert fastcm.classification_report(t, p, digits=4, sample_weight=w) == skm.classification_report(
            t, p, digits=4, sample_weight=w
        )


def test_many_classes_metrics_do_not_build_the_matrix(monkeypatch):
    from fastcm.counts import confusion

    monkeypatch.setattr(confusion, "_PER_CLASS_MIN", 1024)

    def refuse(*a, **k):
        raise AssertionError("a (C, C) matrix was counted")

    for b in HOST:
        monkeypatch.setattr(backends.get(b), "count_pairs", refuse)
    rng = np.random.default_rng(1)
    C = confusion._PER_CLASS_MIN * 4
    t = rng.integers(0, C, 20000)
    p = np.where(rng.random(20000) < 0.6, t, rng.integers(0, C, 20000))
    skm = pytest.importorskip("sklearn.metrics")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert fastcm.f1_score(t, p, average="macro") == skm.f1_score(t, p, average="macro")
        assert fastcm.matthews_corrcoef(t, p) == skm.matthews_corrcoef(t, p)
        assert fastcm.balanced_accuracy_score(t, p) == skm.balanced_accuracy_score(t, p)
        assert fastcm.classification_report(t, p) == skm.classification_report(t, p)


@given(
    n=st.integers(0, 200),
    C=st.integers(3, 40),
    how=st.sampled_from(["num_classes", "labels", "subset", "strings"]),
    weights=st.sampled_from([None, "int", "float"]),
    ignore=st.sampled_from([None, 1]),
    seed=st.integers(0, 2**31),
)
def test_per_class_pass_serves_labels_and_num_classes(few_classes_count_per_class, n, C, how, weights, ignore, seed):
    """Explicit classes are counted per class too: the margins and diagonal of the matrix."""
    rng = np.random.default_rng(seed)
    t = rng.integers(0, C, n)
    p = np.where(rng.random(n) < 0.5, t, rng.integers(0, C, n))
    w = None if weights is None else rng.integers(0, 4, n) if weights == "int" else rng.integers(0, 8, n) / 4
    kw = {"sample_weight": w, "ignore_index": ignore}
    if how == "num_classes":
        kw["num_classes"] = C
    elif how == "labels":
        kw["labels"] = np.arange(C)[::-1]
    elif how == "subset":
        kw["labels"] = [2, 0, C + 5, 1]
    else:
        t, p, kw["ignore_index"] = t.astype(str), p.astype(str), None
        kw["labels"] = np.array([str(v) for v in range(C)])
    try:
        cm = count(t, p, **kw).counts
    except ValueError as exc:
        with pytest.raises(ValueError, match=str(exc)[:25]):
            count(t, p, per_class=True, **kw)
        return
    res = count(t, p, per_class=True, **kw)
    assert res.per_class
    np.testing.assert_array_equal(res.counts, np.stack([cm.sum(axis=1), cm.sum(axis=0), np.diagonal(cm)]))
    assert res.counts.dtype == cm.dtype


@given(
    n=st.integers(1, 200),
    C=st.integers(3, 30),
    weighted=st.booleans(),
    with_labels=st.booleans(),
    seed=st.integers(0, 2**31),
)
def test_kappa_on_per_class_counts_equals_sklearn(few_classes_count_per_class, n, C, weighted, with_labels, seed):
    skm = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(seed)
    t = rng.integers(0, C, n)
    p = np.where(rng.random(n) < 0.6, t, rng.integers(0, C, n))
    w = rng.integers(1, 4, n) if weighted else None
    labels = np.arange(C + 2)[::-1] if with_labels else None
    from fastcm.counts import confusion

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for weights in (None, "linear", "quadratic"):
            got = fastcm.cohen_kappa_score(t, p, weights=weights, sample_weight=w, labels=labels)
            expected = skm.cohen_kappa_score(t, p, weights=weights, sample_weight=w, labels=labels)
            # the matrix path (per-class pass off) gives the same float, bit for bit
            saved, confusion._PER_CLASS_MIN = confusion._PER_CLASS_MIN, 10**9
            try:
                dense = fastcm.cohen_kappa_score(t, p, weights=weights, sample_weight=w, labels=labels)
            finally:
                confusion._PER_CLASS_MIN = saved
            np.testing.assert_array_equal(got, dense)
            np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-15)


def test_kappa_and_report_at_many_classes_build_no_matrix(monkeypatch):
    from fastcm.counts import confusion

    monkeypatch.setattr(confusion, "_PER_CLASS_MIN", 1024)

    def refuse(*a, **k):
        raise AssertionError("a (C, C) matrix was counted")

    for b in HOST:
        monkeypatch.setattr(backends.get(b), "count_pairs", refuse)
    skm = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(2)
    C = 5000
    t = rng.integers(0, C, 30000)
    p = np.where(rng.random(30000) < 0.6, t, rng.integers(0, C, 30000))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for weights in (None, "linear", "quadratic"):
            np.testing.assert_allclose(
                fastcm.cohen_kappa_score(t, p, weights=weights), skm.cohen_kappa_score(t, p, weights=weights), rtol=1e-13
            )
        labels = np.arange(C)
        assert fastcm.f1_score(t, p, labels=labels, average="macro") == skm.f1_score(t, p, labels=labels, average="macro")
        assert fastcm.classification_report(t, p, labels=labels[:50]) == skm.classification_report(t, p, labels=labels[:50])
        res = count(t, p, num_classes=C, per_class=True)
        assert res.per_class and res.counts.shape == (3, C)


def test_metrics_on_a_sparse_accumulator_at_many_classes(monkeypatch):
    """fastcm.metrics take an accumulator; a sparse one is read through its margins."""
    skm = pytest.importorskip("sklearn.metrics")
    from fastcm import metrics

    C = 20000  # a dense int64 matrix would be 3.2 GB
    rng = np.random.default_rng(4)
    acc = ConfusionMatrix(C, sparse="auto")
    ts, ps = [], []
    for _ in range(4):
        t = rng.integers(0, C, 5000)
        p = np.where(rng.random(5000) < 0.7, t, rng.integers(0, C, 5000))
        acc.update(t, p)
        ts.append(t)
        ps.append(p)
    assert acc.is_sparse
    t, p = np.concatenate(ts), np.concatenate(ps)
    labels = np.arange(C)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert metrics.f1(acc, average="macro") == skm.f1_score(t, p, labels=labels, average="macro")
        np.testing.assert_array_equal(metrics.recall(acc), skm.recall_score(t, p, labels=labels, average=None))
        assert metrics.accuracy(acc) == skm.accuracy_score(t, p)
        assert acc.precision(average="weighted") == skm.precision_score(t, p, labels=labels, average="weighted")
        np.testing.assert_allclose(metrics.mcc(acc), skm.matthews_corrcoef(t, p), rtol=1e-14)
