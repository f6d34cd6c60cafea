"""Threshold sweeps against brute-force thresholding and scikit-learn; errors name the position."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.metrics import confusion_matrix

from fastcm.backends.numpy_ref import thresholds as ref
from fastcm.thresholds import binary_confusion_matrix, threshold_confusion_matrices


def brute(t, s, thr, w=None):
    return np.array([confusion_matrix(t, (s >= th).astype(int), labels=[0, 1], sample_weight=w) for th in thr])


@given(
    n=st.integers(1, 60),
    decimals=st.integers(0, 3),
    T=st.integers(1, 25),
    evenly=st.booleans(),
    weighted=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)
def test_binary_sweep_matches_brute_force(backend, n, decimals, T, evenly, weighted, seed):
    rng = np.random.default_rng(seed)
    t = rng.integers(0, 2, n)
    s = np.round(rng.random(n), decimals)  # ties and scores exactly on thresholds
    thr = np.linspace(0, 1, T) if evenly else np.sort(np.round(rng.random(T), 2))
    w = rng.random(n) if weighted else None
    got = threshold_confusion_matrices(t, s, thresholds=T if evenly else thr, sample_weight=w, backend=backend)
    np.testing.assert_allclose(got, brute(t, s, thr, w))
    assert got.dtype == (np.float64 if weighted else np.int64)


def test_scores_on_float32_threshold_boundaries(backend):
    thr = np.linspace(0, 1, 1001)
    s = np.concatenate([thr, np.nextafter(thr, 2), np.nextafter(thr, -2), thr.astype(np.float32)])
    t = np.arange(s.size) % 2
    np.testing.assert_array_equal(threshold_confusion_matrices(t, s, thresholds=1001, backend=backend), brute(t, s, thr))


@pytest.mark.parametrize("layout", ["ovr", "multilabel"])
def test_multiclass_and_multilabel(backend, layout):
    rng = np.random.default_rng(3)
    n, C = 80, 4
    s = np.round(rng.random((n, C)), 1).astype(np.float32)
    t = rng.integers(0, C, n) if layout == "ovr" else rng.integers(0, 2, (n, C))
    got = threshold_confusion_matrices(t, s, thresholds=11, backend=backend)
    assert got.shape == (C, 11, 2, 2)
    for c in range(C):
        tc = (t == c).astype(int) if layout == "ovr" else t[:, c]
        np.testing.assert_array_equal(got[c], brute(tc, s[:, c], np.linspace(0, 1, 11)))


def test_numba_kernel_equals_reference():
    from fastcm.backends.numba_cpu import thresholds as nb

    rng = np.random.default_rng(0)
    for trial in range(30):
        n = int(rng.integers(1, 200))
        s = np.round(rng.random(n), 2)
        t = rng.integers(0, 2, n)
        w = rng.random(n) if trial % 2 else None
        for a, b in zip(nb.score_groups(t, s, weights=w), ref.score_groups(t, s, weights=w)):
            np.testing.assert_allclose(a, b)


def test_binary_confusion_matrix(backend):
    t, s = [0, 1, 1, 0, 1], [0.1, 0.8, 0.4, 0.5, 0.5]
    expected = confusion_matrix(t, (np.array(s) >= 0.5).astype(int))
    np.testing.assert_array_equal(binary_confusion_matrix(t, s, backend=backend), expected)
    logits = np.log(np.array(s) / (1 - np.array(s)))
    np.testing.assert_array_equal(binary_confusion_matrix(t, logits, logits=True, threshold=0.3, backend=backend),
                                  confusion_matrix(t, (np.array(s) >= 0.3).astype(int)))


@pytest.mark.parametrize(
    "y_true, y_score, match",
    [
        ([0, 2], [0.1, 0.2], "0/1 values in `y_true`, but got 2 at position 1"),
        ([0, 1], [0.1, np.nan], "finite scores in `y_score`, but got nan at position 1"),
        ([0, 1], [np.inf, 0.2], "finite scores in `y_score`, but got inf at position 0"),
        ([0, 3], [[0.1, 0.2], [0.3, 0.4]], "class indices 0..1 in `y_true`.*3 at position 1"),
    ],
)
def test_errors(backend, y_true, y_score, match):
    with pytest.raises(ValueError, match=match):
        threshold_confusion_matrices(y_true, y_score, backend=backend)


def test_unsorted_thresholds():
    with pytest.raises(ValueError, match="sorted in increasing order, but got 0.5 at position 0"):
        threshold_confusion_matrices([0, 1], [0.1, 0.2], thresholds=[0.5, 0.2])
