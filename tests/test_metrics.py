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
    balanced = fastcm.diagnose([0, 1, 0, 1] * 100, [0, 1, 0, 1] * 100)  # (4 samples: too few, a finding)
    assert list(balanced) == [] and "No findings" in str(balanced)
    thresholds = fastcm.diagnose(cm, accuracy_threshold=0.99)
    assert "accuracy_paradox" not in thresholds.kinds()


def _expand(cm):
    """Label pairs whose confusion matrix (over labels 0..C-1) is ``cm``."""
    cm = np.asarray(cm)
    rows, cols = np.nonzero(cm)
    counts = cm[rows, cols]
    return np.repeat(rows, counts), np.repeat(cols, counts)


def test_rounding_bit_identical_to_sklearn():
    """Macro means over NaN (np.nanmean's summation order), pooled micro F-beta and the MCC
    square root round as scikit-learn's do, to the last bit."""
    cm = np.zeros((9, 9), dtype=np.int64)
    for (i, j), v in {(0, 0): 1, (0, 3): 1, (1, 2): 1, (1, 8): 2, (2, 0): 1, (5, 3): 1, (5, 5): 1, (7, 7): 1,
                      (7, 8): 1, (8, 0): 1, (8, 4): 1}.items():
        cm[i, j] = v
    t, p = _expand(cm)
    labels = np.arange(9)
    assert metrics.precision(cm, "macro", np.nan) == skm.precision_score(t, p, labels=labels, average="macro", zero_division=np.nan)
    assert metrics.precision(cm, "macro", np.nan) == 0.33333333333333337
    cm = np.array([[2, 1, 1], [0, 2, 0], [0, 3, 1]])
    t, p = _expand(cm)
    assert metrics.fbeta(cm, 0.7, "micro") == skm.fbeta_score(t, p, beta=0.7, average="micro") == 0.5000000000000001
    cm = np.array([[0, 1, 1], [0, 0, 0], [3, 3, 2]])
    t, p = _expand(cm)
    assert metrics.mcc(cm) == skm.matthews_corrcoef(t, p) == -0.2175970699446223


def test_fbeta_zero_and_infinite_beta_do_not_warn():
    """scikit-learn's F at beta=0 (inf) is precision (recall), divided without a warning."""
    cm = np.array([[2, 0, 0], [1, 0, 0], [0, 0, 0]])
    t, p = _expand(cm)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert metrics.fbeta(cm, 0).tolist() == [2 / 3, 0.0, 0.0]
        assert metrics.fbeta(cm, np.inf).tolist() == [1.0, 0.0, 0.0]
        assert metrics.fbeta(cm, 0, "macro") == skm.fbeta_score(t, p, beta=0, labels=[0, 1, 2], average="macro")
        assert metrics.fbeta(cm, np.inf, "micro", zero_division=1) == 2 / 3
    with pytest.warns(fastcm.UndefinedMetricWarning, match="F-score is ill-defined"):
        metrics.fbeta(cm, 0.5)


def test_balanced_accuracy_warns_only_for_predicted_classes_absent_from_truth():
    absent_from_both = np.array([[3, 1, 0], [1, 2, 0], [0, 0, 0]])  # num_classes=3, class 2 never seen
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert metrics.balanced_accuracy(absent_from_both) == skm.balanced_accuracy_score(*_expand(absent_from_both))
    predicted_only = np.array([[3, 1, 1], [1, 2, 0], [0, 0, 0]])
    with pytest.warns(UserWarning, match="y_pred contains classes not in y_true"):
        assert metrics.balanced_accuracy(predicted_only) == pytest.approx((3 / 5 + 2 / 3) / 2)
    assert np.isnan(metrics.balanced_accuracy(np.zeros((3, 3), dtype=np.int64), adjusted=True))  # was ZeroDivisionError


def test_report_prints_float_supports_without_true_positives():
    """scikit-learn's report: with no sample on the diagonal its supports are floats ("3.0")."""
    cm = np.array([[0, 2, 1], [1, 0, 0], [2, 1, 0]])
    t, p = _expand(cm)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        text = metrics.report(cm)
        assert text == skm.classification_report(t, p)
        assert metrics.report(cm, output_dict=True) == skm.classification_report(t, p, output_dict=True)
    assert "       3.0\n" in text and "       7.0\n" in text


def test_report_dict_keys_are_target_names_as_given():
    cm = np.array([[3, 1], [0, 2]])
    t, p = _expand(cm)
    got = metrics.report(cm, target_names=[10, 20], output_dict=True)
    assert list(got) == [10, 20, "accuracy", "macro avg", "weighted avg"]
    assert got == skm.classification_report(t, p, target_names=[10, 20], output_dict=True)


@pytest.mark.parametrize("zero_division", ["warn", 0, 1, np.nan])
def test_report_labels_subset_equals_sklearn(zero_division):
    """``labels`` lists rows: every sample still counts, and "micro avg" replaces "accuracy"."""
    t, p = _labels(11, n=300, c=5)
    cm = fastcm.confusion_matrix(t, p, labels=np.arange(7))  # classes 5 and 6 never occur
    for rows in ([3, 0], [6, 1, 2], [0, 1, 2, 3, 4], [4, 3, 2, 1, 0, 5]):
        names = [f"class {r}" for r in rows]
        for digits in (0, 3):
            with warnings.catch_warnings(record=True) as ours:
                warnings.simplefilter("always")
                text = metrics.report(cm, names, digits, zero_division=zero_division, labels=rows)
                d = metrics.report(cm, names, digits, True, zero_division=zero_division, labels=rows)
            with warnings.catch_warnings(record=True) as theirs:
                warnings.simplefilter("always")
                kw = dict(labels=rows, target_names=names, digits=digits, zero_division=zero_division)
                assert text == skm.classification_report(t, p, **kw)
                expected = skm.classification_report(t, p, output_dict=True, **kw)
            assert {str(w.message) for w in ours} == {str(w.message) for w in theirs}
            assert list(d) == list(expected)
            for key, value in expected.items():
                np.testing.assert_array_equal(
                    list(d[key].values()) if isinstance(value, dict) else d[key],
                    list(value.values()) if isinstance(value, dict) else value,
                )
    assert "micro avg" in metrics.report(cm, labels=[3, 0]) and "accuracy" in metrics.report(cm, labels=[4, 3, 2, 1, 0])
    with pytest.raises(ValueError, match="row indices in 0..6"):
        metrics.report(cm, labels=[7])
