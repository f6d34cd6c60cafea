"""Sparse confusion matrices: confusion_matrix(sparse=True), metrics on scipy.sparse input,
the sparse accumulator (update/compute/merge/save/load), report, diagnose, check, dask."""

import pickle
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastcm
from fastcm import ConfusionMatrix
from fastcm import metrics as M
from fastcm.sparse import SparseCounts, class_sums, is_sparse

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
            if kind == "float":
                np.testing.assert_allclose(a, b, rtol=1e-12)
            else:
                np.testing.assert_array_equal(a, b)
        assert M.report(s, digits=4) == M.report(m, digits=4)
        assert M.report(s, output_dict=True) == M.report(m, output_dict=True)
        if C > 1:
            assert M.report(s, labels=[1, 0]) == M.report(m, labels=[1, 0])


def test_class_sums_of_huge_counts_are_exact():
    m = sparse.csr_array(np.array([[2**62, 2**62], [0, 2**62]], dtype=np.int64))
    diag, rows, cols = class_sums(m)
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
