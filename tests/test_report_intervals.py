"""report(ci=): confidence intervals beside scikit-learn's report, from the counts alone."""

import numpy as np
import pytest

import fastcm
from fastcm import metrics
from fastcm.answers.intervals import confidence_interval

CM = np.array([[45, 5, 0], [10, 40, 3], [1, 2, 8]])


def test_report_dict_carries_intervals_that_bracket_each_value():
    rep = metrics.report(CM, ["cat", "dog", "eel"], output_dict=True, ci=0.95)
    for name in ("cat", "dog", "eel"):
        row = rep[name]
        for key in ("precision", "recall", "f1-score"):
            lo, hi = row[f"{key}_ci"]
            assert lo <= row[key] <= hi
    wilson = confidence_interval(CM, "recall", method="wilson")
    assert rep["dog"]["recall_ci"] == (wilson.low[1], wilson.high[1])
    lo, hi = rep["accuracy_ci"]
    assert lo < rep["accuracy"] < hi
    assert "f1-score_ci" in rep["macro avg"]


def test_report_text_keeps_scikit_learns_table_and_adds_the_intervals():
    plain = metrics.report(CM, ["cat", "dog", "eel"])
    text = metrics.report(CM, ["cat", "dog", "eel"], ci=0.9)
    assert text.startswith(plain)
    assert "90% confidence intervals" in text
    assert text.count("[") >= 3 * 3 + 1


def test_report_intervals_are_reproducible_and_narrow_with_more_data():
    a = metrics.report(CM, output_dict=True, ci=0.95, random_state=1)
    b = metrics.report(CM, output_dict=True, ci=0.95, random_state=1)
    assert a == b
    big = metrics.report(CM * 100, output_dict=True, ci=0.95)
    for key in ("precision_ci", "recall_ci", "f1-score_ci"):
        assert np.diff(big["0"][key]) < np.diff(a["0"][key])


def test_confusion_matrix_accumulator_forwards_intervals():
    cm = fastcm.ConfusionMatrix(num_classes=3)
    t = np.repeat(np.arange(3), CM.sum(axis=1))
    p = np.concatenate([np.repeat(np.arange(3), row) for row in CM])
    cm.update(t, p)
    np.testing.assert_array_equal(cm.compute(), CM)
    ci = cm.confidence_interval("precision", method="wilson")
    ref = confidence_interval(CM, "precision", method="wilson")
    np.testing.assert_array_equal(ci.low, ref.low)
    assert cm.report(ci=0.95) == metrics.report(CM, ["0", "1", "2"], ci=0.95)


def test_report_interval_level_must_be_a_probability():
    with pytest.raises(ValueError):
        metrics.report(CM, ci=1.5)
