"""Sparse confusion matrices: confusion_matrix(sparse=True), metrics on scipy.sparse input,
the sparse accumulator (update/compute/merge/save/load), report, diagnose, check, dask."""

import pickle
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fastcm
from fastcm import ConfusionMatrix
from fastcm import metrics as M
from fastcm.counts.sparse import SparseCounts, class_sums, is_sparse

sparse = pytest.importorskip("scipy.sparse")
skm = pytest.importorskip("sklearn.metrics")


def _pairs(rng, n, C):
    t = rng.integers(0, C, n)
    p = np.where(rng.random(n) < 0.5, t, rng.integers(0, C, n))
    return t, p


# -- confusion_matrix(sparse=True) -------------------------------------------------------


@given(
    n=st.integers(0, 200),
    C=st.integers(1, 30),
    how=st.sampled_from(["infer", "num_classes", "labels", "subset", "strings", "scores"]),
    weights=st.sampled_from([None, "int", "float"]),
    ignore=st.sampled_from([None, 1]),
    seed=st.integers(0, 2**31),
)
def test_sparse_equals_dense(n, C, how, weights, ignore, seed):
    rng = np.random.default_rng(seed)
    t, p = _pairs(rng, n, C)
    w = None if weights is None else rng.integers(0, 5, n) if weights == "int" else rng.random(n)
    kw = {"sample_weight": w, "ignore_index": ignore}
    if how == "num_classes":
        kw["num_classes"] = C
    elif how == "labels":
        kw["labels"] = np.arange(C)[::-1]
    elif how == "subset":
        kw["labels"] = [0, C + 3]
    elif how == "strings":
        t, p = t.astype(str), p.astype(str)
        kw["ignore_index"] = None
    elif how == "scores":
        p = rng.random((n, C))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            dense = fastcm.confusion_matrix(t, p, **kw)
        except ValueError as exc:
            with pytest.raises(ValueError, match=str(exc)[:30]):
                fastcm.confusion_matrix(t, p, sparse=True, **kw)
            return
        got = fastcm.confusion_matrix(t, p, sparse=True, **kw)
    assert is_sparse(got) and got.format == "csr" and got.shape == dense.shape
    assert got.dtype == dense.dtype
    np.testing.assert_array_equal(got.toarray(), dense)
    assert (got.data != 0).all()  # canonical: no stored zeros


@pytest.mark.parametrize("normalize", ["true", "pred", "all"])
def test_sparse_normalize_equals_sklearn(normalize):
    rng = np.random.default_rng(3)
    t, p = _pairs(rng, 500, 20)
    got = fastcm.confusion_matrix(t, p, normalize=normalize, sparse=True).toarray()
    np.testing.assert_allclose(got, skm.confusion_matrix(t, p, normalize=normalize), rtol=1e-15)


def test_sparse_at_a_million_classes_holds_only_the_cells():
    C = 1_000_000
    t = np.array([0, 5, 999_999, 5])
    p = np.array([1, 5, 999_999, 5])
    cm = fastcm.confusion_matrix(t, p, num_classes=C, sparse=True)
    assert cm.shape == (C, C) and cm.nnz == 3
    assert cm.dtype == np.int64
    assert int(cm[5, 5]) == 2 and int(cm[0, 1]) == 1 and int(cm[999_999, 999_999]) == 1
    assert M.accuracy(cm) == 0.75


def test_sparse_errors_name_value_and_position():
    with pytest.raises(ValueError, match=r"got 7 at position 2"):
        fastcm.confusion_matrix([0, 1, 7], [0, 1, 1], num_classes=3, sparse=True)
    with pytest.raises(ValueError, match="sparse"):
        fastcm.confusion_matrix([0], [0], sparse="yes")
    with pytest.raises(ValueError, match="finite"):
        fastcm.confusion_matrix([0, 1], [0, 1], num_classes=3, sparse=True, sample_weight=[1.0, np.nan])


def test_integer_weights_never_wrap():
    with pytest.raises(OverflowError, match=r"cell \(0, 1\)"):
        fastcm.confusion_matrix([0, 0], [1, 1], num_classes=2, sparse=True, sample_weight=[2**62, 2**62])
    cm = fastcm.confusion_matrix([0, 0], [1, 1], num_classes=2, sparse=True, sample_weight=[2**62, 2**62 - 1])
    assert int(cm[0, 1]) == 2**63 - 1


# -- metrics on scipy.sparse ---------------------------------------------------------------


@given(C=st.integers(1, 12), seed=st.integers(0, 2**31), kind=st.sampled_from(["int", "float", "csc", "coo"]))
def test_metrics_of_sparse_equal_dense(C, seed, kind):
    rng = np.random.default_rng(seed)
    m = rng.integers(0, 6, (C, C)) * (rng.random((C, C)) < 0.5)
    if kind == "float":
        m = m * 0.25
    s = {"csc": sparse.csc_array, "coo": sparse.coo_array}.get(kind, sparse.csr_array)(m)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in ("precision", "recall", "f1", "iou", "specificity", "npv", "fpr", "fnr"):
            for average in (None, "micro", "macro", "weighted"):
                np.testing.assert_array_equal(getattr(M, name)(s, average=average), getattr(M, name)(m, average=average))
        for name in ("support", "accuracy", "balanced_accuracy", "mcc", "mean_iou"):
            np.testing.assert_array_equal(getattr(M, name)(s), getattr(M, name)(m))
        for weights in (None, "linear", "quadratic"):
            a, b = M.cohen_kappa(s, weights), M.cohen_kappa(m, weights)
            if kind == "float":  # float64 sums taken in another order: near 0 only an absolute bound holds
                np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
            else:
                np.testing.assert_array_equal(a, b)
        assert M.report(s, digits=4) == M.report(m, digits=4)
        assert M.report(s, output_dict=True) == M.report(m, output_dict=True)
        if C > 1:
            assert M.report(s, labels=[1, 0]) == M.report(m, labels=[1, 0])


def test_class_sums_of_huge_counts_are_exact():
    m = sparse.csr_array(np.array([[2**62, 2**62], [0, 2**62]], dtype=np.int64))
    diag, rows, _ = class_sums(m)
    assert rows.tolist() == [2**63, 2**62] and diag.tolist() == [2**62, 2**62]
    assert M.accuracy(m) == M.accuracy(m.toarray())
    assert M.mcc(m) == M.mcc(m.toarray())


def test_sparse_counts_add_checks_overflow_and_keeps_order():
    a = SparseCounts(np.array([1, 5], np.int64), np.array([2**63 - 1, 1], np.int64), 3)
    b = SparseCounts(np.array([0, 5, 7], np.int64), np.array([1, 2, 3], np.int64), 3)
    s = a.add(b)
    assert s.codes.tolist() == [0, 1, 5, 7] and s.values.tolist() == [1, 2**63 - 1, 3, 3]
    with pytest.raises(OverflowError, match=r"cell \(0, 1\)"):
        a.add(SparseCounts(np.array([1], np.int64), np.array([1], np.int64), 3))
    assert a.values.tolist() == [2**63 - 1, 1]  # unchanged


# -- the sparse accumulator ------------------------------------------------------------------


def _batches(rng, C, k=5, n=60):
    out = []
    for i in range(k):
        t, p = _pairs(rng, n, C)
        out.append((t, p, None if i % 2 else rng.integers(0, 3, n)))
    return out


@pytest.mark.parametrize("classes", ["num_classes", "labels", "growing", "strings"])
@pytest.mark.parametrize("mode", [True, "auto"])
def test_sparse_accumulator_equals_dense(classes, mode, monkeypatch, tmp_path):
    monkeypatch.setattr("fastcm.accumulate.confusion.SPARSE_MIN_CLASSES", 8)  # "auto" turns sparse from 8 classes
    rng = np.random.default_rng(5)
    C = 20
    kw = {"num_classes": {"num_classes": C}, "labels": {"labels": np.arange(C)[::-1]}}.get(classes, {})
    acc, ref = ConfusionMatrix(sparse=mode, **kw), ConfusionMatrix(**kw)
    for t, p, w in _batches(rng, C):
        if classes == "strings":
            t, p = t.astype(str), p.astype(str)
        acc.update(t, p, sample_weight=w)
        ref.update(t, p, sample_weight=w)
    got = acc.compute()
    assert acc.is_sparse and is_sparse(got) and got.dtype == np.int64
    np.testing.assert_array_equal(got.toarray(), ref.compute())
    np.testing.assert_array_equal(acc.labels, ref.labels)
    assert acc == ref and acc.n_samples == ref.n_samples
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert acc.f1(average="macro") == ref.f1(average="macro")
        np.testing.assert_array_equal(acc.recall(), ref.recall())
        assert acc.mcc() == ref.mcc() and acc.cohen_kappa() == ref.cohen_kappa()
        assert acc.report(digits=4) == ref.report(digits=4)
        assert M.f1(acc, average="weighted") == M.f1(ref, average="weighted")  # metrics take an accumulator
    # copy, pickle, merge, +, save/load
    assert pickle.loads(pickle.dumps(acc)) == acc and acc.copy() == acc
    doubled = acc + acc
    np.testing.assert_array_equal(doubled.compute().toarray(), 2 * ref.compute())
    assert sum([acc, acc]) == doubled
    merged_dense = ref.copy().merge(acc)  # a dense accumulator takes sparse counts in
    np.testing.assert_array_equal(merged_dense.compute(), 2 * ref.compute())
    path = tmp_path / "acc.npz"
    acc.save(path)
    back = ConfusionMatrix.load(path)
    assert back == acc and back.is_sparse and back.sparse == mode and back.n_samples == acc.n_samples


def test_auto_switch_point(monkeypatch):
    from fastcm.counts.sparse import SPARSE_MIN_CLASSES

    assert not ConfusionMatrix(SPARSE_MIN_CLASSES - 1, sparse="auto").is_sparse
    assert ConfusionMatrix(SPARSE_MIN_CLASSES, sparse="auto").is_sparse
    monkeypatch.setattr("fastcm.accumulate.confusion.SPARSE_MIN_CLASSES", 8)
    grow = ConfusionMatrix(sparse="auto").update([0, 1, 2], [0, 1, 1])
    assert not grow.is_sparse and isinstance(grow.compute(), np.ndarray)  # 3 labels: dense
    grow.update(np.arange(10), np.arange(10))
    assert grow.is_sparse and grow.compute().shape == (10, 10) and grow.compute().sum() == 13


def test_sparse_accumulator_memory_is_the_cells():
    C = 1_000_000
    acc = ConfusionMatrix(C, sparse=True)
    rng = np.random.default_rng(0)
    for _ in range(3):
        acc.update(rng.integers(0, C, 10_000), rng.integers(0, C, 10_000))
    cells = acc._sparse_counts()
    assert cells.nbytes <= 16 * 30_000
    assert acc.n_samples == 30_000 and acc.compute().sum() == 30_000


def test_sparse_failed_update_and_overflow_change_nothing():
    acc = ConfusionMatrix(100, sparse=True).update([1, 2], [1, 3])
    before = acc.compute().toarray()
    with pytest.raises(ValueError, match="100"):
        acc.update([4, 5], [4, 100])
    with pytest.raises(ValueError, match="finite"):
        acc.update([4, 5], [4, 5], sample_weight=[1.0, np.inf])
    acc.update([7], [8], sample_weight=[2**63 - 1])
    with pytest.raises(OverflowError, match=r"cell \(7, 8\)"):
        acc.update([7, 1], [8, 1])
    with pytest.raises(OverflowError, match=r"cell \(7, 8\)"):
        acc + acc
    after = acc.compute().toarray()
    before[7, 8] = 2**63 - 1
    np.testing.assert_array_equal(after, before)
    assert acc.n_samples == 3


def test_a_sparse_matrix_handed_out_never_changes():
    acc = ConfusionMatrix(1000, sparse=True).update([1, 2], [1, 3])
    first = acc.compute()
    kept = first.toarray().copy()
    acc.update([1, 2], [1, 3])  # the same cells: added in place, but not into what was handed out
    np.testing.assert_array_equal(first.toarray(), kept)
    assert int(acc.compute()[1, 1]) == 2


def test_old_dense_files_still_load(tmp_path):
    dense = ConfusionMatrix(3).update([0, 1, 2], [0, 2, 2])
    dense.save(tmp_path / "d.npz")
    with np.load(tmp_path / "d.npz") as f:
        assert int(f["format_version"]) == 1 and "codes" not in f.files
    assert ConfusionMatrix.load(tmp_path / "d.npz") == dense


def test_damaged_sparse_file_is_refused(tmp_path):
    acc = ConfusionMatrix(5, sparse=True).update([0, 1, 4], [0, 2, 4])
    acc.save(tmp_path / "s.npz")
    with np.load(tmp_path / "s.npz") as f:
        fields = dict(f)
    assert int(fields["format_version"]) == 2
    fields["codes"] = fields["codes"][::-1].copy()
    np.savez(tmp_path / "bad.npz", **fields)
    with pytest.raises(ValueError, match="sorted distinct cells"):
        ConfusionMatrix.load(tmp_path / "bad.npz")


# -- check and diagnose --------------------------------------------------------------------


def test_check_reads_sparse_matrices():
    m = np.array([[9, 1, 0], [2, 8, 0], [0, 5, 5]])
    for kw in ({"min_recall": 0.6}, {"min_f1": 0.7, "per_class": False}, {"min_accuracy": 0.8},
               {"min_recall": 0.6, "use_lower_bound": True}, {"min_f1": 0.7, "per_class": False, "use_lower_bound": True}):
        dense, got = fastcm.check(m, **kw), fastcm.check(sparse.csr_array(m), **kw)
        assert got.passed == dense.passed and got.failures == dense.failures and got.n_checked == dense.n_checked
    acc = ConfusionMatrix(3, sparse=True).update(np.repeat([0, 1, 2], 10), np.repeat([0, 1, 1], 10))
    result = fastcm.check(acc, min_recall=0.5)
    assert [(f.metric, f.class_label, f.value) for f in result.failures] == [("recall", 2, 0.0)]


# -- fastcm.dask ----------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["num_classes", "labels", "discover", "scores", "weights"])
def test_dask_sparse_equals_the_dense_matrix(how):
    dask = pytest.importorskip("dask")
    da = pytest.importorskip("dask.array")
    import fastcm.dask as fd

    rng = np.random.default_rng(8)
    C, n = 40, 2000
    t, p = _pairs(rng, n, C)
    kw = {"num_classes": {"num_classes": C}, "labels": {"labels": np.arange(C)[::-1]}}.get(how, {})
    w = rng.random(n) if how == "weights" else None
    if how == "scores":
        p = rng.random((n, C))
    dt = da.from_array(t, chunks=300)
    dp = da.from_array(p, chunks=(300, C) if p.ndim == 2 else 300)
    dw = None if w is None else da.from_array(w, chunks=300)
    lazy = fd.confusion_matrix(dt, dp, sample_weight=dw, sparse=True, **kw)
    with dask.config.set(scheduler="sync"):
        got = lazy.compute()
    expected = fastcm.confusion_matrix(t, p, sample_weight=w, **kw)
    assert is_sparse(got) and got.dtype == expected.dtype
    if w is None:
        np.testing.assert_array_equal(got.toarray(), expected)
    else:  # chunk sums added in another order
        np.testing.assert_allclose(got.toarray(), expected, rtol=1e-12)


def test_dask_sparse_at_a_million_classes():
    dask = pytest.importorskip("dask")
    da = pytest.importorskip("dask.array")
    import fastcm.dask as fd

    C = 1_000_000
    rng = np.random.default_rng(9)
    t, p = _pairs(rng, 50_000, C)
    lazy = fd.confusion_matrix(da.from_array(t, chunks=10_000), da.from_array(p, chunks=10_000), num_classes=C, sparse=True)
    with dask.config.set(scheduler="sync"):
        got = lazy.compute()
    assert got.shape == (C, C) and got.sum() == 50_000
    assert M.f1(got, average="macro") == skm.f1_score(t, p, labels=np.arange(C), average="macro")


def test_pending_batches_read_as_added(tmp_path):
    """Unweighted batches are kept as cells and added together later: every reader sees them."""
    rng = np.random.default_rng(11)
    C = 3000
    acc, ref = ConfusionMatrix(C, sparse=True), ConfusionMatrix(C)
    for _ in range(6):
        t, p = _pairs(rng, 500, C)
        acc.update(t, p)
        ref.update(t, p)
    assert acc._pending  # kept, not yet sorted in
    twin = acc.copy()
    assert pickle.loads(pickle.dumps(acc)) == ref
    acc.save(tmp_path / "p.npz")
    assert ConfusionMatrix.load(tmp_path / "p.npz") == ref
    both = ConfusionMatrix(C, sparse=True).merge(twin).merge(acc)
    np.testing.assert_array_equal(both.compute().toarray(), 2 * ref.compute())
    np.testing.assert_array_equal(acc.compute().toarray(), ref.compute())
    assert acc.n_samples == 3000 and twin == ref
    acc.update([1], [2], sample_weight=[3])  # weighted: added at once, after the pending cells
    assert int(acc.compute()[1, 2]) == ref.compute()[1, 2] + 3


def test_diagnose_reads_sparse_matrices_and_accumulators():
    """The same findings from a sparse matrix, a sparse accumulator and the dense matrix;
    the most confused pairs come from the listed cells."""
    cm = np.array([[970, 10, 3], [18, 2, 0], [5, 0, 40]])
    names = ["ok", "fraud", "x"]
    dense = [f.message for f in fastcm.diagnose(cm, target_names=names)]
    assert [f.message for f in fastcm.diagnose(sparse.csr_array(cm), target_names=names)] == dense
    rows, cols = np.nonzero(cm)
    t, p = np.repeat(rows, cm[rows, cols]), np.repeat(cols, cm[rows, cols])
    acc = ConfusionMatrix(3, sparse=True).update(t, p)
    assert [f.message for f in acc.diagnose(target_names=names)] == dense
    assert "Most confused: 'fraud' predicted as 'ok' 18 times (90.0% of 'fraud')." in dense


def test_diagnose_labels_at_many_classes_counts_cells():
    rng = np.random.default_rng(12)
    C = 200_000  # a dense matrix would be 320 GB
    t = rng.integers(0, C, 30_000)
    p = t.copy()
    p[:500] = 7  # 500 samples of many classes predicted as class 7
    found = fastcm.diagnose(np.append(t, [5] * 50), np.append(p, [6] * 50))
    pairs = [f for f in found if f.kind == "confused_pair"]
    assert pairs and pairs[0].numbers["true"] == "5" and pairs[0].numbers["predicted"] == "6"
    assert pairs[0].numbers["count"] == 50.0
