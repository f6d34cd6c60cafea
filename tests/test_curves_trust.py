"""Trust regressions for the curves, threshold sweeps and score-based drop-ins.

Integer scores beyond 2**53 are compared exactly (scikit-learn and Python's exact
int-against-float comparison are the references), and every bad input is a ValueError or
TypeError that names the problem, as scikit-learn's checks are.
"""

import warnings

import numpy as np
import pytest
import sklearn.metrics as skm
from hypothesis import given
from hypothesis import strategies as st

import fastcm
import fastcm.metrics.ranking as fc
from fastcm import backends

from conftest import HOST_BACKENDS

BIG = 2**53


@pytest.fixture(params=HOST_BACKENDS)
def curve_backend(request, monkeypatch):
    """Send the curves' "auto" choice to each host backend in turn."""
    name = request.param
    monkeypatch.setattr(fc.backends, "select", lambda backend, *arrays, **kw: name)
    return name


def _same(ours, theirs):
    for a, b in zip(ours, theirs):
        a, b = np.asarray(a), np.asarray(b)
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


# --- item 1: integer scores are compared in their own type -----------------------------


def test_roc_auc_of_adjacent_integers_beyond_2_53(curve_backend):
    assert skm.roc_auc_score([0, 1], [BIG + 1, BIG]) == 0.0
    assert fc.roc_auc_score([0, 1], [BIG + 1, BIG]) == 0.0
    assert fc.roc_auc_score([0, 1], np.array([BIG, BIG + 1], dtype=np.int64)) == 1.0


def test_precision_recall_threshold_of_the_largest_uint64(curve_backend):
    s = np.array([0, 2**64 - 1], dtype=np.uint64)
    ours, theirs = fc.precision_recall_curve([0, 1], s), skm.precision_recall_curve([0, 1], s)
    _same(ours, theirs)
    assert ours[2].tolist() == [0, 2**64 - 1]


@pytest.mark.parametrize("dtype", [np.int64, np.uint64])
def test_roc_curve_keeps_adjacent_big_integers_apart(curve_backend, dtype):
    t = [0, 1, 1, 0]
    s = np.array([BIG + 1, BIG, 5, BIG + 3], dtype=dtype)
    for drop in (True, False):
        _same(fc.roc_curve(t, s, drop_intermediate=drop), skm.roc_curve(t, s, drop_intermediate=drop))
    _same(fc.precision_recall_curve(t, s), skm.precision_recall_curve(t, s))
    w = [1.0, 2.0, 0.5, 3.0]
    _same(fc.roc_curve(t, s, sample_weight=w), skm.roc_curve(t, s, sample_weight=w))
    assert fc.roc_auc_score(t, s) == skm.roc_auc_score(t, s)
    assert fc.roc_auc_score(t, s, sample_weight=w) == pytest.approx(skm.roc_auc_score(t, s, sample_weight=w), abs=1e-15)
    assert fc.average_precision_score(t, s) == pytest.approx(skm.average_precision_score(t, s), abs=1e-15)


def test_multilabel_and_multiclass_areas_with_big_integers():
    t = np.array([[0, 1], [1, 0], [1, 1], [0, 0]])
    s = np.array([[BIG + 1, 3], [BIG, 2**62 + 1], [BIG + 2, 2**62 + 2], [BIG + 3, 2**62]], dtype=np.int64)
    for average in (None, "macro", "micro", "weighted", "samples"):
        ours = fc.roc_auc_score(t, s, average=average)
        np.testing.assert_allclose(ours, skm.roc_auc_score(t, s, average=average), atol=1e-15)
        ours = fc.average_precision_score(t, s, average=average)
        np.testing.assert_allclose(ours, skm.average_precision_score(t, s, average=average), atol=1e-15)


@given(n=st.integers(2, 60), spread=st.integers(1, 8), weighted=st.booleans(), unsigned=st.booleans(),
       seed=st.integers(0, 2**31 - 1))
def test_big_integer_curves_match_sklearn(n, spread, weighted, unsigned, seed):
    rng = np.random.default_rng(seed)
    t = rng.integers(0, 2, n)
    t[0], t[1] = 0, 1
    base = 2**63 + 2**62 if unsigned else -(2**62)
    s = (np.array([base], dtype=np.uint64 if unsigned else np.int64) + rng.integers(0, spread, n).astype(np.uint64 if unsigned else np.int64))
    w = rng.integers(1, 4, n).astype(np.float64) if weighted else None
    _same(fc.roc_curve(t, s, sample_weight=w), skm.roc_curve(t, s, sample_weight=w))
    _same(fc.precision_recall_curve(t, s, sample_weight=w), skm.precision_recall_curve(t, s, sample_weight=w))
    assert fc.roc_auc_score(t, s, sample_weight=w) == pytest.approx(skm.roc_auc_score(t, s, sample_weight=w), abs=1e-12)
    assert fc.average_precision_score(t, s, sample_weight=w) == pytest.approx(
        skm.average_precision_score(t, s, sample_weight=w), abs=1e-12)


def _exact_sweep(t, s, thresholds):
    """Reference matrices from Python's exact int-against-float comparison."""
    out = []
    for thr in thresholds:
        pred = [int(v) >= float(thr) for v in s]
        tp = sum(p and y == 1 for p, y in zip(pred, t))
        fp = sum(p and y == 0 for p, y in zip(pred, t))
        fn = sum((not p) and y == 1 for p, y in zip(pred, t))
        tn = sum((not p) and y == 0 for p, y in zip(pred, t))
        out.append([[tn, fp], [fn, tp]])
    return np.array(out)


@pytest.mark.parametrize("dtype", [np.int64, np.uint64])
def test_threshold_sweep_compares_big_integers_exactly(backend, dtype):
    s = np.array([BIG + 3, BIG + 1, BIG, 7, BIG + 5, 2**62 + 1], dtype=dtype)
    t = np.array([0, 1, 0, 1, 1, 0])
    thr = np.array([-1e30, -1.5, 0.0, 6.5, float(BIG), float(BIG + 2), float(BIG + 4), float(2**62), 2.0**63, 2.0**64, np.inf])
    ours = fastcm.threshold_confusion_matrices(t, s, thresholds=thr, backend=backend)
    np.testing.assert_array_equal(ours, _exact_sweep(t, s, thr))
    for j in (5, 6):  # float64(2**53 + 3) rounds up to the threshold 2**53 + 4
        got = fastcm.binary_confusion_matrix(t, s, threshold=float(thr[j]), backend=backend)
        np.testing.assert_array_equal(got, _exact_sweep(t, s, thr[j:j + 1])[0])


def test_threshold_sweep_big_integers_one_vs_rest_and_weights(backend):
    s = np.array([[BIG + 3, 0], [BIG + 1, BIG + 5], [-(2**60) - 1, BIG + 3]], dtype=np.int64)
    t = np.array([0, 1, 1])
    thr = np.array([float(-(2**60)), float(BIG + 4)])
    ours = fastcm.threshold_confusion_matrices(t, s, thresholds=thr, sample_weight=[1.0, 2.0, 0.5], backend=backend)
    for k in range(2):
        pred = np.array([[int(v) >= float(x) for v in s[:, k]] for x in thr])
        truth = t == k
        w = np.array([1.0, 2.0, 0.5])
        for j in range(2):
            tp = w[pred[j] & truth].sum()
            fp = w[pred[j] & ~truth].sum()
            np.testing.assert_array_equal(ours[k, j], [[w[~truth].sum() - fp, fp], [w[truth].sum() - tp, tp]])


# --- item 2: inputs rejected as scikit-learn rejects them -------------------------------


def test_average_precision_refuses_multiclass_multioutput():
    t, s = np.array([[0, 1], [2, 0], [1, 1]]), np.array([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]])
    with pytest.raises(ValueError, match="multiclass-multioutput"):
        skm.average_precision_score(t, s)
    with pytest.raises(ValueError, match="multiclass-multioutput format is not supported"):
        fc.average_precision_score(t, s)
    with pytest.raises(ValueError, match="continuous-multioutput format is not supported"):
        fc.average_precision_score(np.array([[0, 0.5], [1, 0]]), np.array([[0.1, 0.2], [0.3, 0.4]]))


@pytest.mark.parametrize("average", ["samples", "weighted", "micro", "macro", None])
@pytest.mark.parametrize("metric", ["roc_auc_score", "average_precision_score"])
def test_wrong_length_weights_are_inconsistent_samples(metric, average):
    t = np.array([[0, 1], [1, 0], [1, 1]])
    s = np.array([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]])
    with pytest.raises(ValueError, match=r"inconsistent numbers of samples: \[3, 3, 2\]"):
        getattr(skm, metric)(t, s, average=average, sample_weight=[1, 2])
    with pytest.raises(ValueError, match=r"inconsistent numbers of samples: \[3, 3, 2\]"):
        getattr(fc, metric)(t, s, average=average, sample_weight=[1, 2])


def test_wrong_length_weights_multiclass_ovr():
    t, s = [0, 1, 2], [[0.6, 0.2, 0.2], [0.2, 0.6, 0.2], [0.2, 0.2, 0.6]]
    with pytest.raises(ValueError, match=r"inconsistent numbers of samples"):
        fc.roc_auc_score(t, s, multi_class="ovr", average="weighted", sample_weight=[1, 2])
    with pytest.raises(ValueError, match=r"inconsistent numbers of samples"):
        fc.average_precision_score(t, s, average="weighted", sample_weight=[1, 2])


@pytest.mark.parametrize("t", [[1, 1], [0, 0], [0, 1]])
@pytest.mark.parametrize("bad, what", [(np.nan, "NaN"), (np.inf, "infinity"), (-np.inf, "infinity")])
def test_non_finite_scores_raise_before_the_class_check(t, bad, what):
    s = [bad, 0.5]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match=what):
            skm.roc_auc_score(t, s)
    for f in (fc.roc_auc_score, fc.average_precision_score, fc.roc_curve, fc.precision_recall_curve):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(ValueError, match=f"y_score contains {what}"):
                f(t, s)


def test_non_finite_scores_in_a_single_class_column():
    t = np.array([[1, 0], [1, 1]])
    s = np.array([[np.nan, 0.2], [0.5, 0.4]])
    with pytest.raises(ValueError, match="NaN"):
        fc.roc_auc_score(t, s)


@pytest.mark.parametrize("bad", [np.inf, np.nan, -np.inf])
def test_top_k_refuses_non_finite_weights(bad):
    s = [[0.5, 0.3, 0.2], [0.2, 0.5, 0.3], [0.3, 0.3, 0.4]]
    with pytest.raises(ValueError, match="sample_weight"):
        fastcm.top_k_accuracy_score([0, 1, 2], s, k=1, sample_weight=[1, bad, 1])
    with pytest.raises(ValueError, match="sample_weight"):
        fastcm.top_k_accuracy_score([0, 1], [0.2, 0.7], k=1, sample_weight=[1, bad])


@pytest.mark.parametrize("w", [["a", "b"], np.array([1, None], dtype=object), np.array([b"x", b"y"])])
@pytest.mark.parametrize("name", ["roc_curve", "precision_recall_curve", "roc_auc_score", "average_precision_score"])
def test_non_numeric_weights_are_named(name, w):
    with pytest.raises((ValueError, TypeError), match="sample_weight") as info:
        getattr(fc, name)([0, 1], [0.1, 0.5], sample_weight=w)
    assert type(info.value).__module__.split(".")[0] != "numba"


def test_top_k_float16_scores_match_float32():
    rng = np.random.default_rng(0)
    s = rng.random((200_003, 5)).astype(np.float16)
    t = rng.integers(0, 5, s.shape[0])
    w = rng.random(s.shape[0])
    for k in (1, 2, 4):
        assert fastcm.top_k_accuracy_score(t, s, k=k) == fastcm.top_k_accuracy_score(t, s.astype(np.float32), k=k)
        assert fastcm.top_k_accuracy_score(t, s, k=k, sample_weight=w) == pytest.approx(
            fastcm.top_k_accuracy_score(t, s.astype(np.float32), k=k, sample_weight=w), rel=1e-12)
    small = s[:50]
    assert fastcm.top_k_accuracy_score(t[:50], small, k=2) == skm.top_k_accuracy_score(t[:50], small, k=2)
    bad = s.copy()
    bad[150_000, 3] = np.nan
    with pytest.raises(ValueError, match="150000"):
        fastcm.top_k_accuracy_score(t, bad, k=2)


@pytest.mark.parametrize("samplewise", [False, True])
def test_multilabel_confusion_matrix_float16_scores(samplewise):
    rng = np.random.default_rng(1)
    p = rng.random((150_001, 3)).astype(np.float16)
    t = rng.integers(0, 2, p.shape)
    w = rng.random(p.shape[0])
    for weights in (None, w):
        ours = fastcm.multilabel_confusion_matrix(t, p, sample_weight=weights, samplewise=samplewise)
        ref = fastcm.multilabel_confusion_matrix(t, p.astype(np.float32), sample_weight=weights, samplewise=samplewise)
        np.testing.assert_allclose(ours, ref, rtol=1e-12)
        assert ours.dtype == ref.dtype
    bad = p.copy()
    bad[120_000, 2] = np.nan
    with pytest.raises(ValueError, match=r"index \(120000, 2\)"):
        fastcm.multilabel_confusion_matrix(t, bad, samplewise=samplewise)


def test_multilabel_confusion_matrix_big_integer_scores_exact():
    p = np.array([[BIG + 3, 1], [BIG + 5, 0], [BIG + 1, 2]], dtype=np.int64)
    t = np.array([[1, 0], [0, 1], [1, 1]])
    thr = [float(BIG + 4), 1.5]
    ours = fastcm.multilabel_confusion_matrix(t, p, threshold=thr)
    for j in range(2):
        pred = np.array([int(v) >= thr[j] for v in p[:, j]])
        truth = t[:, j] == 1
        ref = [[int((~pred & ~truth).sum()), int((pred & ~truth).sum())], [int((~pred & truth).sum()), int((pred & truth).sum())]]
        assert ours[j].tolist() == ref


def test_backend_score_groups_unchanged_for_floats(backend):
    """The rank-code path for big integers leaves the float contract of ``score_groups`` alone."""
    be = backends.get(backend)
    fps, tps, thr, invalid = be.score_groups(np.array([0, 1]), np.array([0.25, 0.75]))
    assert thr.dtype == np.float64 and thr.tolist() == [0.75, 0.25] and invalid.tolist() == [0, -1]


def test_float16_curves_and_sweeps_widen_in_blocks(backend, curve_backend):
    rng = np.random.default_rng(2)
    n = 150_001  # more rows than one widening block
    s, t, w = rng.random(n).astype(np.float16), rng.integers(0, 2, n), rng.random(n)
    for weights in (None, w):
        for ours, theirs in zip(fc.roc_curve(t, s, sample_weight=weights), skm.roc_curve(t, s, sample_weight=weights)):
            np.testing.assert_allclose(ours, theirs, rtol=1e-12)
        for ours, theirs in zip(fc.precision_recall_curve(t, s, sample_weight=weights),
                                skm.precision_recall_curve(t, s, sample_weight=weights)):
            np.testing.assert_allclose(ours, theirs, rtol=1e-12)
            assert ours.dtype == theirs.dtype
    assert fc.roc_auc_score(t, s) == pytest.approx(skm.roc_auc_score(t, s), abs=1e-12)
    bad = s.copy()
    bad[n - 2] = np.inf
    with pytest.raises(ValueError, match=f"infinity .* at position {n - 2}"):
        fc.roc_curve(t, bad)
    s2, t2 = rng.random((n, 3)).astype(np.float16), rng.integers(0, 3, n)
    ours = fastcm.threshold_confusion_matrices(t2, s2, thresholds=11, sample_weight=w, backend=backend)
    ref = fastcm.threshold_confusion_matrices(t2, s2.astype(np.float32), thresholds=11, sample_weight=w, backend="numpy")
    np.testing.assert_allclose(ours, ref, rtol=1e-12)
    s2[n - 3, 1] = np.nan
    with pytest.raises(ValueError, match=rf"index \({n - 3}, 1\)"):
        fastcm.threshold_confusion_matrices(t2, s2, thresholds=11, backend=backend)


def test_weighted_threshold_scores_compare_big_integers_exactly():
    p = np.array([[BIG + 3, 1], [BIG + 5, 0], [BIG + 1, 2]], dtype=np.int64)
    t = np.array([[1, 0], [0, 1], [1, 1]])
    thr = [float(BIG + 4), 1.5]
    hard = np.array([[int(v) >= x for v, x in zip(row, thr)] for row in p]).astype(int)
    w = [1.0, 2.0, 3.0]
    for average in ("micro", "macro", None):
        np.testing.assert_array_equal(
            fastcm.precision_recall_fscore_support(t, p, threshold=thr, sample_weight=w, average=average)[:3],
            skm.precision_recall_fscore_support(t, hard, sample_weight=w, average=average, zero_division=0)[:3])


@pytest.mark.parametrize("thr", [[BIG + 1], np.array([0, 2**63 - 1], dtype=np.int64), np.array([2**64 - 1], dtype=np.uint64)])
def test_integer_thresholds_float64_would_round_are_refused(thr):
    with pytest.raises(ValueError, match="float64 holds exactly"):
        fastcm.threshold_confusion_matrices([0, 1], np.array([BIG, BIG + 2]), thresholds=thr)
    with pytest.raises(ValueError, match="float64 holds exactly"):
        fastcm.binary_confusion_matrix([0, 1], np.array([BIG, BIG + 2]), threshold=int(np.asarray(thr)[-1]))
    fastcm.threshold_confusion_matrices([0, 1], [0.5, 0.7], thresholds=np.array([0, BIG], dtype=np.int64))  # exact ones pass
