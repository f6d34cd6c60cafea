"""fastcm.metrics on count matrices: against scikit-learn and PyCM, at huge counts, via the accumulator."""

import warnings

import numpy as np
import pytest
import sklearn.metrics as skm
from hypothesis import given
from hypothesis import strategies as st

import fastcm
from fastcm import metrics


def _labels(seed, n=400, c=5):
    rng = np.random.default_rng(seed)
    t = rng.choice(c, n, p=np.r_[0.7, np.full(c - 1, 0.3 / (c - 1))])
    p = np.where(rng.random(n) < 0.7, t, rng.integers(0, c, n))
    return t, p


@given(seed=st.integers(0, 2**31), average=st.sampled_from([None, "micro", "macro", "weighted"]))
def test_matrix_metrics_equal_sklearn(seed, average):
    t, p = _labels(seed)
    labels = np.arange(5)
    cm = fastcm.confusion_matrix(t, p, num_classes=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_allclose(metrics.precision(cm, average, 0), skm.precision_score(t, p, labels=labels, average=average, zero_division=0))
        np.testing.assert_allclose(metrics.recall(cm, average, 0), skm.recall_score(t, p, labels=labels, average=average, zero_division=0))
        np.testing.assert_allclose(metrics.f1(cm, average, 0), skm.f1_score(t, p, labels=labels, average=average, zero_division=0))
        np.testing.assert_allclose(metrics.fbeta(cm, 2.0, average, 0), skm.fbeta_score(t, p, beta=2.0, labels=labels, average=average, zero_division=0))
        np.testing.assert_allclose(metrics.iou(cm, average, 0), skm.jaccard_score(t, p, labels=labels, average=average, zero_division=0))
    assert metrics.accuracy(cm) == pytest.approx(skm.accuracy_score(t, p))
    assert metrics.mcc(cm) == pytest.approx(skm.matthews_corrcoef(t, p))
    for w in (None, "linear", "quadratic"):
        assert metrics.cohen_kappa(cm, w) == pytest.approx(skm.cohen_kappa_score(t, p, weights=w))
    np.testing.assert_array_equal(metrics.support(cm), np.bincount(t, minlength=5))


def test_one_vs_rest_rates_equal_pycm():
    pycm = pytest.importorskip("pycm")
    t, p = _labels(3, n=300, c=4)
    cm = fastcm.confusion_matrix(t, p, num_classes=4)
    ref = pycm.ConfusionMatrix(actual_vector=t.tolist(), predict_vector=p.tolist())
    for ours, key in ((metrics.specificity, "TNR"), (metrics.npv, "NPV"), (metrics.fpr, "FPR"), (metrics.fnr, "FNR"),
                      (metrics.precision, "PPV"), (metrics.recall, "TPR"), (metrics.iou, "J")):
        expected = [ref.class_stat[key][k] for k in range(4)]
        np.testing.assert_allclose(ours(cm), expected, rtol=1e-12)


def test_binary_average_and_zero_division():
    cm = np.array([[4, 0], [0, 0]])
    assert metrics.precision(cm, "binary", zero_division=1) == 1.0
    with pytest.warns(fastcm.UndefinedMetricWarning, match="Precision is ill-defined"):
        assert metrics.precision(cm, "binary") == 0.0
    assert np.isnan(metrics.recall(cm, "binary", zero_division=np.nan))
    assert metrics.recall(cm, "macro", zero_division=np.nan) == 1.0  # nan left out of the mean
    with pytest.raises(ValueError, match="average"):
        metrics.precision(cm, "sideways")
    with pytest.raises(ValueError, match="zero_division"):
        metrics.precision(cm, zero_division="ignore")


def test_exact_at_huge_counts():
    """Counts up to 2**62: products are taken in float64, never int64."""
    big = 2**62
    cm = np.array([[big, 2**40], [2**41, big]], dtype=np.int64)
    exact_acc = (2 * big) / (2 * big + 2**40 + 2**41)
    assert metrics.accuracy(cm) == pytest.approx(exact_acc, rel=1e-15)
    t_sum = np.array([big + 2**40, big + 2**41], dtype=float)
    p_sum = np.array([big + 2**41, big + 2**40], dtype=float)
    n = float(2 * big + 2**40 + 2**41)
    ref_mcc = (2.0 * big * n - t_sum @ p_sum) / np.sqrt((n * n - p_sum @ p_sum) * (n * n - t_sum @ t_sum))
    assert metrics.mcc(cm) == pytest.approx(ref_mcc, rel=1e-9)
    assert 0.99 < metrics.mcc(cm) < 1.0
    assert 0.99 < metrics.cohen_kappa(cm) < 1.0
    assert metrics.precision(cm).min() > 0.99
    assert metrics.support(cm).tolist() == [big + 2**40, big + 2**41]
    huge = np.full((3, 3), 2**61, dtype=np.int64)
    assert metrics.mcc(huge) == 0.0 and metrics.cohen_kappa(huge) == pytest.approx(0.0, abs=1e-12)


def test_mean_iou_skips_absent_classes():
    cm = np.array([[3, 1, 0], [0, 2, 0], [0, 0, 0]])
    assert metrics.mean_iou(cm) == pytest.approx((0.75 + 2 / 3) / 2)
    assert metrics.mean_iou(cm, ignore_absent=False) == pytest.approx((0.75 + 2 / 3) / 3)


def test_accumulator_methods_equal_functions():
    t, p = _labels(7)
    acc = fastcm.ConfusionMatrix(5).update(t[:200], p[:200]).update(t[200:], p[200:])
    cm = fastcm.confusion_matrix(t, p, num_classes=5)
    for name in ("precision", "recall", "f1", "specificity", "npv", "fpr", "fnr", "iou"):
        for average in (None, "macro", "weighted", "micro"):
            np.testing.assert_allclose(getattr(acc, name)(average=average), getattr(metrics, name)(cm, average=average))
    assert acc.fbeta(0.5, "macro") == metrics.fbeta(cm, 0.5, "macro")
    assert acc.accuracy() == metrics.accuracy(cm) and acc.mcc() == metrics.mcc(cm)
    assert acc.cohen_kappa("quadratic") == metrics.cohen_kappa(cm, "quadratic")
    assert acc.balanced_accuracy() == metrics.balanced_accuracy(cm) and acc.mean_iou() == metrics.mean_iou(cm)
    assert acc.report() == skm.classification_report(t, p)
    assert acc.report(output_dict=True)["macro avg"] == pytest.approx(skm.classification_report(t, p, output_dict=True)["macro avg"])


def test_metrics_reject_non_square():
    with pytest.raises(ValueError, match=r"square \(C, C\)"):
        metrics.precision(np.zeros((2, 3)))


def test_diagnose_accuracy_paradox_and_friends():
    cm = np.array([[9700, 150, 0], [220, 30, 0], [0, 0, 0]])
    found = fastcm.diagnose(cm, target_names=["ok", "fraud", "other"])
    assert found.kinds()[0] == "accuracy_paradox"
    paradox = found[0]
    assert paradox.numbers["class"] == "fraud" and paradox.numbers["recall"] == pytest.approx(30 / 250)
    assert "recall 12.0%" in paradox.message and "accuracy is 96.3%" in paradox.message
    assert "imbalance" in found.kinds() and "absent_from_truth" in found.kinds()
    imbalance = found[found.kinds().index("imbalance")]
    assert imbalance.numbers["ratio"] == pytest.approx(9850 / 250)
    pairs = [f for f in found if f.kind == "confused_pair"]
    assert pairs[0].numbers == {"true": "fraud", "predicted": "ok", "count": 220.0, "share": 0.88}
    never = fastcm.diagnose(np.array([[50, 0], [10, 0]]))
    assert "never_predicted" in never.kinds()
    balanced = fastcm.diagnose([0, 1, 0, 1], [0, 1, 0, 1])
    assert list(balanced) == [] and "No findings" in str(balanced)
    thresholds = fastcm.diagnose(cm, accuracy_threshold=0.99)
    assert "accuracy_paradox" not in thresholds.kinds()
