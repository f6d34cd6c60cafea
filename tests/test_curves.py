"""Exact curves and scores against scikit-learn on random and tied scores."""

import numpy as np
import pytest
import sklearn.metrics as skm
from hypothesis import given
from hypothesis import strategies as st

import fastcm.metrics.ranking as fc


def _close(a, b):
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-12)
        assert np.asarray(x).dtype == np.asarray(y).dtype


@given(n=st.integers(2, 80), decimals=st.integers(0, 3), weighted=st.booleans(), drop=st.booleans(),
       f32=st.booleans(), seed=st.integers(0, 2**31 - 1))
def test_binary_curves_match_sklearn(n, decimals, weighted, drop, f32, seed):
    rng = np.random.default_rng(seed)
    t = rng.integers(0, 2, n)
    t[0], t[1] = 0, 1
    s = np.round(rng.random(n), decimals).astype(np.float32 if f32 else np.float64)
    w = rng.random(n) if weighted else None
    _close(fc.roc_curve(t, s, sample_weight=w, drop_intermediate=drop), skm.roc_curve(t, s, sample_weight=w, drop_intermediate=drop))
    _close(fc.precision_recall_curve(t, s, sample_weight=w, drop_intermediate=drop),
           skm.precision_recall_curve(t, s, sample_weight=w, drop_intermediate=drop))
    assert fc.roc_auc_score(t, s, sample_weight=w) == pytest.approx(skm.roc_auc_score(t, s, sample_weight=w), abs=1e-12)
    assert fc.roc_auc_score(t, s, max_fpr=0.3) == pytest.approx(skm.roc_auc_score(t, s, max_fpr=0.3), abs=1e-12)
    assert fc.average_precision_score(t, s, sample_weight=w) == pytest.approx(
        skm.average_precision_score(t, s, sample_weight=w), abs=1e-12)


def test_pos_label_and_strings():
    t, s = np.array([1, 1, 2, 2]), np.array([0.1, 0.4, 0.35, 0.8])
    _close(fc.roc_curve(t, s, pos_label=2), skm.roc_curve(t, s, pos_label=2))
    with pytest.raises(ValueError, match="pos_label is not specified"):
        fc.roc_curve(t, s)


@pytest.mark.parametrize("average", [None, "macro", "weighted", "micro"])
def test_multiclass_and_multilabel(average):
    rng = np.random.default_rng(2)
    t = rng.integers(0, 3, 200)
    s = rng.random((200, 3))
    s /= s.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(fc.roc_auc_score(t, s, multi_class="ovr", average=average),
                               skm.roc_auc_score(t, s, multi_class="ovr", average=average))
    np.testing.assert_allclose(fc.average_precision_score(t, s, average=average), skm.average_precision_score(t, s, average=average))
    y = rng.integers(0, 2, (200, 4))
    sc = np.round(rng.random((200, 4)), 2)
    np.testing.assert_allclose(fc.roc_auc_score(y, sc, average=average), skm.roc_auc_score(y, sc, average=average))
    np.testing.assert_allclose(fc.average_precision_score(y, sc, average=average), skm.average_precision_score(y, sc, average=average))


def test_errors():
    with pytest.raises(ValueError, match="multi_class must be in"):
        fc.roc_auc_score([0, 1, 2], np.eye(3))
    with pytest.raises(ValueError, match="position 1"):
        fc.roc_curve([0, 1], [0.1, np.nan])
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        fc.roc_curve([0, 1], [0.1, 0.2, 0.3])


# --- exactness on adversarial floats, both backends ---------------------------------------

def _tricky(rng, n, dtype):
    fin = np.finfo(dtype)
    base = np.array([0.0, -0.0, 0.5, 0.25, 1.0, float(fin.smallest_subnormal), -float(fin.smallest_subnormal),
                     float(fin.tiny), float(fin.eps), 1.0 / 3.0], dtype=np.float64)
    pool = np.concatenate([base, np.nextafter(base.astype(dtype), dtype(np.inf)).astype(np.float64),
                           np.nextafter(base.astype(dtype), dtype(-np.inf)).astype(np.float64),
                           np.round(rng.random(8), 2), rng.normal(size=8)])
    return pool[rng.integers(0, pool.size, n)].astype(dtype)


def _exact_auc(t, s):
    """The AUC as a fraction, by comparing every positive with every negative."""
    from fractions import Fraction

    pos, neg = s[t == 1].astype(np.float64), s[t == 0].astype(np.float64)
    twice_u = int((pos[:, None] > neg[None, :]).sum()) * 2 + int((pos[:, None] == neg[None, :]).sum())
    return float(Fraction(twice_u, 2 * pos.size * neg.size))


@given(n=st.integers(2, 120), dtype=st.sampled_from([np.float16, np.float32, np.float64]),
       labels=st.sampled_from(["01", "-11", "bool", "12", "str"]), seed=st.integers(0, 2**32 - 1))
def test_tricky_scores_exact_on_both_backends(n, dtype, labels, seed):
    rng = np.random.default_rng(seed)
    t01 = rng.integers(0, 2, n)
    t01[0], t01[1] = 0, 1
    s = _tricky(rng, n, dtype)
    t = {"01": t01, "-11": 2 * t01 - 1, "bool": t01.astype(bool), "12": t01 + 1,
         "str": np.where(t01 == 1, "yes", "no")}[labels]
    expected = _exact_auc(t01, s)
    got = fc.roc_auc_score(t, s)
    assert got == expected  # exact: the rank statistic rounded once
    assert got == pytest.approx(skm.roc_auc_score(t, s), abs=1e-12)
    for backend in ("numba", "numpy"):
        assert fc._rank_auc(t01, s, 1, backend=backend) == expected
    kw = {} if labels in ("01", "-11", "bool") else {"pos_label": {"12": 2, "str": "yes"}[labels]}
    _close(fc.roc_curve(t, s, **kw), skm.roc_curve(t, s, **kw))
    _close(fc.roc_curve(t, s, drop_intermediate=False, **kw), skm.roc_curve(t, s, drop_intermediate=False, **kw))
    _close(fc.precision_recall_curve(t, s, **kw), skm.precision_recall_curve(t, s, **kw))


def test_pos_label_among_other_numeric_labels():
    """``pos_label=1`` with labels {1, 2}: 2 is a negative, not an invalid value."""
    t, s = np.array([1, 2, 2, 1, 2]), np.array([0.9, 0.2, 0.6, 0.4, 0.1])
    _close(fc.roc_curve(t, s, pos_label=1), skm.roc_curve(t, s, pos_label=1))
    _close(fc.precision_recall_curve(t, s, pos_label=1), skm.precision_recall_curve(t, s, pos_label=1))
    assert fc.average_precision_score(t, s, pos_label=2) == pytest.approx(skm.average_precision_score(t, s, pos_label=2))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_large_input_parallel_sort(dtype):
    """Both halves big enough to be sorted on two threads; curves and AUC as scikit-learn's."""
    rng = np.random.default_rng(11)
    n = 600_000
    t = rng.integers(0, 2, n)
    s = np.round(rng.normal(0.4 + 0.2 * t, 0.2), 4).astype(dtype)
    assert fc.roc_auc_score(t, s) == pytest.approx(skm.roc_auc_score(t, s), abs=1e-13)
    assert fc.roc_auc_score(t, s) == fc._rank_auc(t, s, 1, backend="numpy")
    _close(fc.roc_curve(t, s), skm.roc_curve(t, s))
    _close(fc.precision_recall_curve(t, s), skm.precision_recall_curve(t, s))
    s[456_789] = np.nan
    with pytest.raises(ValueError, match="position 456789"):
        fc.roc_auc_score(t, s)
