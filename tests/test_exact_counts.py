"""Counts are exact int64 on every backend: 64-bit labels at their extremes, integer weights
summed without rounding, and an OverflowError instead of a wrapped count."""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fastcm

U64_MAX = 2**64 - 1
I64_MAX = 2**63 - 1


def _exact(t, p, labels, weights=None):
    """Pure-Python reference: scikit-learn's labels semantics, Python ints throughout."""
    index = {v: k for k, v in enumerate(labels)}
    out = [[0] * len(labels) for _ in labels]
    for k, (a, b) in enumerate(zip(t, p)):
        if a in index and b in index:
            out[index[a]][index[b]] += 1 if weights is None else int(weights[k])
    return out


def _cm(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fastcm.confusion_matrix(*args, **kwargs)


def test_uint64_above_int64_does_not_alias_negative_labels(backend):
    t = np.array([U64_MAX, 0], np.uint64)
    p = np.array([0, 0], np.uint64)
    assert _cm(t, p, labels=[-1, 0], backend=backend).tolist() == [[0, 0], [0, 1]]


def test_labels_beyond_2_53_are_matched_exactly_across_int64_and_uint64(backend):
    t = np.array([2**53 + 1, 2**53, 2**63], np.uint64)
    p = np.array([2**53 + 1, 2**53, 0], np.uint64)
    labels = np.array([2**53 + 1, 2**53, -1])
    assert _cm(t, p, labels=labels, backend=backend).tolist() == _exact(t.tolist(), p.tolist(), labels.tolist())
    s = np.array([2**53 + 1, 2**53, -1])
    lab = np.array([2**53 + 1, 2**53, U64_MAX], np.uint64)
    assert _cm(s, s, labels=lab, backend=backend).tolist() == _exact(s.tolist(), s.tolist(), lab.tolist())


def test_mixed_int64_and_uint64_labels_are_inferred_exactly(backend):
    t = np.array([2**53 + 1, 2**53, 5])
    p = np.array([2**53, 2**53 + 1, 5], np.uint64)
    got = _cm(t, p, backend=backend)
    labels = sorted(set(t.tolist()) | set(p.tolist()))
    assert got.tolist() == _exact(t.tolist(), p.tolist(), labels)
    t2 = np.array([2**63, 7], np.uint64)
    p2 = np.array([7, 7], np.int64)
    assert _cm(t2, p2, backend=backend).tolist() == [[1, 0], [1, 0]]  # labels 7, 2**63
    with pytest.raises(TypeError, match="no 64-bit integer type"):
        _cm(np.array([-1, 0]), np.array([U64_MAX, 0], np.uint64), backend=backend)


@pytest.mark.parametrize(
    "weights",
    [
        [2**60 + 1, 2**60 + 3],  # float64 sums round these (...952 instead of ...956)
        [2**62, 2**62 - 1],
        [-(2**62), -(2**62)],  # exactly int64's lowest
        [2**62, 2**62, -5],  # partial sums pass the range, the total does not
        [2**53 + 1, 1, 1, 1],
    ],
)
def test_integer_weights_sum_exactly_and_the_same_on_every_backend(backend, weights):
    w = np.array(weights, dtype=np.int64)
    t = np.zeros(w.size, np.int64)
    got = _cm(t, t, sample_weight=w, num_classes=1, backend=backend)
    assert got.dtype == np.int64
    assert int(got[0, 0]) == sum(weights)
    got = _cm(t, t, sample_weight=w, backend=backend)  # inferred labels
    assert int(got[0, 0]) == sum(weights)


@pytest.mark.parametrize(
    "weights,dtype",
    [([2**62, 2**62], np.int64), ([-(2**62), -(2**62), -1], np.int64), ([2**63, 5], np.uint64), ([U64_MAX], np.uint64)],
)
def test_weighted_counts_beyond_int64_raise_overflow_error(backend, weights, dtype):
    w = np.array(weights, dtype=dtype)
    t = np.zeros(w.size, np.int64)
    with pytest.raises(OverflowError, match=r"cell \(0, 0\)"):
        fastcm.confusion_matrix(t, t, sample_weight=w, num_classes=1, backend=backend)
    cm = fastcm.ConfusionMatrix(num_classes=1, backend=backend)
    with pytest.raises(OverflowError):
        cm.update(t, t, sample_weight=w)
    assert cm.n_samples == 0 and cm.compute().tolist() == [[0]]  # the failed update changed nothing


def test_uint64_weights_within_int64_count_exactly(backend):
    w = np.array([2**62, 2**62 - 1], np.uint64)
    t = np.array([0, 1])
    assert _cm(t, t, sample_weight=w, backend=backend).tolist() == [[2**62, 0], [0, 2**62 - 1]]


@given(
    st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2), st.integers(-(2**61), 2**61)), min_size=1, max_size=60)
)
def test_large_integer_weights_match_the_exact_count(backend, rows):
    t, p, w = (list(c) for c in zip(*rows))
    labels = [0, 1, 2]
    expected = _exact(t, p, labels, w)
    if any(not -(2**63) <= v <= I64_MAX for row in expected for v in row):
        with pytest.raises(OverflowError):
            _cm(np.array(t), np.array(p), sample_weight=np.array(w), num_classes=3, backend=backend)
        return
    got = _cm(np.array(t), np.array(p), sample_weight=np.array(w), num_classes=3, backend=backend)
    assert got.tolist() == expected
    got = _cm(np.array(t), np.array(p), sample_weight=np.array(w), labels=[2, 0, 1], backend=backend)
    assert got.tolist() == _exact(t, p, [2, 0, 1], w)


def test_one_invalid_prediction_on_the_large_class_row_band_path_is_one_pair():
    C, n = 3000, 600_000  # past the private-copy budget: row bands on several threads
    rng = np.random.default_rng(0)
    t = rng.integers(0, C, n)
    p = t.copy()
    t[5], p[5] = C - 1, C + 1  # its true row lies in the last band
    with pytest.raises(ValueError) as info:
        fastcm.confusion_matrix(t, p, num_classes=C, backend="numba")
    assert "invalid pairs in total" not in str(info.value)
    assert "got 3001 at position 5" in str(info.value)


def test_a_streamed_batch_that_is_all_ignored_counts_nothing(backend):
    cm = fastcm.ConfusionMatrix(labels=range(19), ignore_index=255, backend=backend)
    cm.update(np.full(10, 255), np.zeros(10, np.int64))
    assert int(cm.compute().sum()) == 0
    cm.update(np.array([3, 255]), np.array([3, 3]))
    assert int(cm.compute()[3, 3]) == 1
    with pytest.raises(ValueError, match="At least one label specified must be in y_true"):
        fastcm.confusion_matrix([20, 21], [20, 21], labels=range(19))  # scikit-learn's rule, one-shot
