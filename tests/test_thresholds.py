"""Threshold sweeps against brute-force thresholding and scikit-learn; errors name the position."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.metrics import confusion_matrix

from fastcm.backends.numpy_ref import thresholds as ref
from fastcm.core.scores import logit_thresholds
from fastcm.counts.thresholds import binary_confusion_matrix, matrices_from_hist, threshold_confusion_matrices


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
    s = np.clip(s, 0.0, 1.0)  # probabilities: a value beyond [0, 1] would mean logits (fastcm.core.scores)
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


# --- the 1-D sweep kernel: exact on adversarial floats, every score dtype ------------------

def _tricky_scores(rng, thr, dtype, n):
    """Scores on, just above and just below thresholds (in float64 and in ``dtype``), signed
    zeros, subnormals, out-of-range and huge values, plus random ones."""
    fin = np.finfo(dtype)
    pick = thr[rng.integers(0, thr.size, n)]
    with np.errstate(over="ignore"):
        cands = [
            pick,
            np.nextafter(pick, np.inf),
            np.nextafter(pick, -np.inf),
            pick.astype(dtype).astype(np.float64),
            np.nextafter(pick.astype(dtype), dtype(np.inf)).astype(np.float64),
            np.nextafter(pick.astype(dtype), dtype(-np.inf)).astype(np.float64),
            np.array([0.0, -0.0, float(fin.smallest_subnormal), -float(fin.smallest_subnormal), float(fin.tiny),
                      1.0, -1.0, float(fin.max), -float(fin.max), float(fin.eps)]),
            rng.uniform(thr[0] - 1, thr[-1] + 1, n) if np.isfinite(thr[[0, -1]]).all() else rng.normal(size=n),
        ]
    pool = np.concatenate(cands)
    with np.errstate(over="ignore"):
        s = pool[rng.integers(0, pool.size, n)].astype(dtype)
    return s[np.isfinite(s)]


def _brute_hist(t, s, thr):
    pred = s.astype(np.float64)[:, None] >= thr[None, :]  # what thresholding one by one gives
    y = t.astype(bool)[:, None]
    tp, fp = (pred & y).sum(0), (pred & ~y).sum(0)
    P, Nn = int(y.sum()), int((~y).sum())
    return np.stack([np.stack([Nn - fp, fp], -1), np.stack([P - tp, tp], -1)], -2)


@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 300),
    kind=st.sampled_from(["int", "linspace", "sorted", "ties", "one"]),
    T=st.integers(1, 1200),
    dtype=st.sampled_from([np.float16, np.float32, np.float64]),
    label=st.sampled_from([np.bool_, np.int8, np.uint64, np.int64, np.float32]),
)
def test_sweep_exact_on_tricky_floats(backend, seed, n, kind, T, dtype, label):
    rng = np.random.default_rng(seed)
    if kind == "int":
        thresholds, thr = T, np.linspace(0, 1, T)
    elif kind == "linspace":  # any range np.linspace produces, including negative and large
        lo = float(rng.choice([0.0, -1.0, -3.5, 1e-3, 250.0, -1e6])) * rng.random()
        thr = np.linspace(lo, lo + float(rng.choice([1e-6, 0.5, 1.0, 7.0, 1e4])), T)
        thresholds = thr
    elif kind == "sorted":
        thr = np.sort(rng.normal(size=T))
        thresholds = thr
    elif kind == "ties":
        thr = np.sort(np.round(rng.random(T), 1))
        thresholds = thr
    else:
        thr = np.array([float(rng.choice([0.5, -0.0, 0.0, 1.0 / 3.0, np.inf, -np.inf, 1e-310]))])
        thresholds = thr
    s = _tricky_scores(rng, thr[np.isfinite(thr)] if np.isfinite(thr).any() else np.zeros(1), dtype, n)
    t = rng.integers(0, 2, s.size).astype(label)
    got = threshold_confusion_matrices(t, s, thresholds=thresholds, backend=backend)
    # probability thresholds read scores beyond [0, 1] as logits: compared with logit(thr) (fastcm.core.scores)
    logits = np.all((thr >= 0) & (thr <= 1)) and np.any((s < 0) | (s > 1))
    np.testing.assert_array_equal(got, _brute_hist(t, s, logit_thresholds(thr) if logits else thr))


def test_linspace_params():
    from fastcm.backends.numba_cpu.thresholds import linspace_params

    for lo, hi, T in [(0, 1, 1000), (-3, 2, 7), (0.1, 0.9, 2), (5, 5, 1), (1e6, 1e6 + 1, 101)]:
        thr = np.linspace(lo, hi, T)
        assert linspace_params(thr) is not None, (lo, hi, T)
    bent = np.linspace(0, 1, 11)
    bent[3] = np.nextafter(bent[3], 1)  # one ulp off: not np.linspace output, searched instead
    assert linspace_params(bent) is None
    assert linspace_params(np.array([0.0, 0.0, 1.0])) is None
    assert linspace_params(np.array([-np.inf, 0.0])) is None
    assert linspace_params(np.linspace(1e12, 1e12 + 1e-3, 5)) is None  # too narrow for its magnitude


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("thresholds", [1000, 5000, [0.1, 0.25, 0.7]])
def test_sweep_parallel_chunks_and_first_invalid(dtype, thresholds):
    """Several chunks on every thread (and float16 converted in pieces) add up to the
    reference; an invalid row deep in the data is the one reported, with its position."""
    rng = np.random.default_rng(7)
    n = 700_001
    t = rng.integers(0, 2, n).astype(np.uint8)
    s = rng.random(n).astype(dtype)
    thr = np.linspace(0, 1, thresholds) if isinstance(thresholds, int) else np.array(thresholds)
    hist, invalid = ref.threshold_counts(t, s, thr)
    got = threshold_confusion_matrices(t, s, thresholds=thresholds, backend="numba")
    np.testing.assert_array_equal(got, matrices_from_hist(hist)[0])
    assert got[0].sum() == n and invalid.tolist() == [0, -1]
    s[654_321], t[600_000] = np.nan, 3
    with pytest.raises(ValueError, match="0/1 values in `y_true`, but got 3 at position 600000"):
        threshold_confusion_matrices(t, s, thresholds=thresholds, backend="numba")
    t[600_000] = 1
    with pytest.raises(ValueError, match="finite scores in `y_score`, but got nan at position 654321"):
        threshold_confusion_matrices(t, s, thresholds=thresholds, backend="numba")


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_sweep_weighted_invalid_weight(backend, bad):
    w = np.ones(5)
    w[3] = bad
    with pytest.raises(ValueError, match=f"finite `sample_weight`, but got {bad} at position 3"):
        threshold_confusion_matrices([0, 1, 0, 1, 1], [0.1, 0.5, 0.2, 0.9, 0.3], thresholds=11, sample_weight=w,
                                     backend=backend)
    w[3] = 2.5
    got = threshold_confusion_matrices([0, 1, 0, 1, 1], [0.1, 0.5, 0.2, 0.9, 0.3], thresholds=11, sample_weight=w,
                                       backend=backend)
    np.testing.assert_allclose(got, brute(np.array([0, 1, 0, 1, 1]), np.array([0.1, 0.5, 0.2, 0.9, 0.3]),
                                          np.linspace(0, 1, 11), w))


def test_sweep_strided_columns(backend):
    """A column of ``predict_proba`` output (strided) counts like its contiguous copy."""
    rng = np.random.default_rng(5)
    proba = np.round(rng.random((3000, 2)), 3).astype(np.float32)
    t = rng.integers(0, 2, (3000, 3))[:, 1]
    got = threshold_confusion_matrices(t, proba[:, 1], thresholds=101, backend=backend)
    np.testing.assert_array_equal(got, _brute_hist(t, proba[:, 1], np.linspace(0, 1, 101)))
