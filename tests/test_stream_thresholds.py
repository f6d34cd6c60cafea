"""Streaming threshold sweeps equal the one-shot result; persistence and failed updates."""

import pickle

import numpy as np
import pytest

from fastcm.accumulate.thresholds import ThresholdConfusionMatrix
from fastcm.counts.thresholds import threshold_confusion_matrices


def test_streaming_equals_one_shot(backend, tmp_path):
    rng = np.random.default_rng(0)
    t, s, w = rng.integers(0, 2, 300), np.round(rng.random(300), 2), rng.random(300)
    m = ThresholdConfusionMatrix(21, backend=backend)
    for a in range(0, 300, 70):
        m.update(t[a:a + 70], s[a:a + 70], sample_weight=w[a:a + 70])
    np.testing.assert_allclose(m.compute(), threshold_confusion_matrices(t, s, thresholds=21, sample_weight=w))
    assert m.n_samples == 300
    with pytest.raises(ValueError):
        m.update([0, 5], [0.1, 0.2])
    assert m.n_samples == 300
    np.testing.assert_allclose(pickle.loads(pickle.dumps(m)).compute(), m.compute())
    m.save(tmp_path / "m.npz")
    np.testing.assert_allclose(ThresholdConfusionMatrix.load(tmp_path / "m.npz").compute(), m.compute())
    half = ThresholdConfusionMatrix(21).update(t[:100], s[:100], w[:100]) + ThresholdConfusionMatrix(21).update(t[100:], s[100:], w[100:])
    np.testing.assert_allclose(half.compute(), m.compute())
    thr, f1 = m.best_threshold("f1")
    assert 0 <= thr <= 1 and 0 <= f1 <= 1
    assert 0 <= m.auroc() <= 1 and 0 <= m.average_precision() <= 1


def test_multiclass_stream():
    rng = np.random.default_rng(1)
    t, s = rng.integers(0, 3, 100), rng.random((100, 3))
    m = ThresholdConfusionMatrix(11, num_classes=3).update(t[:50], s[:50]).update(t[50:], s[50:])
    np.testing.assert_array_equal(m.compute(), threshold_confusion_matrices(t, s, thresholds=11))
    assert m.auroc().shape == (3,)


def test_auroc_of_one_class_is_nan_with_a_warning():
    from fastcm import UndefinedMetricWarning

    tcm = ThresholdConfusionMatrix(thresholds=11)
    tcm.update(np.zeros(5, dtype=int), np.linspace(0, 1, 5))
    with pytest.warns(UndefinedMetricWarning, match="Only one class present"):
        assert np.isnan(tcm.auroc())
    with pytest.warns(UserWarning, match="No positive class"):
        assert tcm.average_precision() == 0.0
    tcm.update(np.ones(5, dtype=int), np.linspace(0, 1, 5))
    assert not np.signbit(tcm.auroc()) and 0.0 <= tcm.auroc() <= 1.0


def test_counts_past_int64_raise_and_change_nothing(backend):
    m = ThresholdConfusionMatrix(3, backend=backend).update([1, 0], [0.9, 0.1], sample_weight=[2**62, 1])
    before, n = m.compute().copy(), m.n_samples
    with pytest.raises(OverflowError, match=r"cell \(0, 2, 1\)"):
        m.update([1], [0.9], sample_weight=[2**62])
    np.testing.assert_array_equal(m.compute(), before)
    assert m.n_samples == n
    with pytest.raises(OverflowError, match=r"cell \(0, 2, 1\)"):
        m.merge(m.copy())
    with pytest.raises(OverflowError):
        m + m
    np.testing.assert_array_equal(m.compute(), before)
    m.n_samples = 2**63 - 1
    with pytest.raises(OverflowError, match="n_samples"):
        m.update([0], [0.5])
    with pytest.raises(OverflowError, match="n_samples"):
        m.merge(ThresholdConfusionMatrix(3).update([0], [0.5]))
    np.testing.assert_array_equal(m.compute(), before)
    assert m.n_samples == 2**63 - 1


def test_threshold_for_reaches_the_asked_recall_per_class():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, 2000)
    scores = rng.random((2000, 3))
    scores[np.arange(2000), y] += 0.3
    scores /= 1.3  # probabilities: beyond [0, 1] they would be read as logits
    tcm = ThresholdConfusionMatrix(thresholds=201, num_classes=3).update(y, scores)
    point = tcm.threshold_for(recall=0.9)
    for k in range(3):
        pos = scores[y == k, k]
        thr = point.threshold[k]
        assert (pos >= thr).mean() >= 0.9  # reached at the chosen threshold...
        above = tcm.thresholds[tcm.thresholds > thr]
        if above.size:  # ...and not at the next higher one
            assert (pos >= above[0]).mean() < 0.9
