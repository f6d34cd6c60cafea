"""Exact curves and scores against scikit-learn on random and tied scores."""

import numpy as np
import pytest
import sklearn.metrics as skm
from hypothesis import given
from hypothesis import strategies as st

import fastcm.curves as fc


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
