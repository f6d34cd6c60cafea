"""Quality gates: failures with their numbers, lower-bound judgements, requirement parsing."""

import numpy as np
import pytest

import fastcm
from fastcm import ConfusionMatrix, metrics
from fastcm.answers.gates import CheckResult, Failure, check, parse_requirement

CM = np.array([[45, 5, 0], [20, 30, 0], [1, 1, 8]])


def test_passes_and_fails_with_numbers():
    assert check(CM, min_accuracy=0.7).passed
    result = check(CM, min_accuracy=0.8, min_recall=0.7)
    assert not result and isinstance(result, CheckResult)
    assert [(f.metric, f.class_label) for f in result.failures] == [("accuracy", None), ("recall", 1)]
    f = result.failures[1]
    assert f == Failure("recall", 1, 0.6, 0.7, None)
    assert result.n_checked == 4
    assert "recall of class 1 = 0.6000 < 0.7" in str(result)
    assert str(check(CM)).startswith("PASSED")


def test_macro_and_classes():
    result = check(CM, min_f1=0.8, per_class=False)
    macro = metrics.f1(CM, average="macro")
    assert [(f.metric, f.value) for f in result.failures] == [("macro f1", pytest.approx(macro))]
    assert check(CM, min_recall=0.75, classes=[0, 2]).passed
    sub = check(CM, min_recall=0.99, classes=[0, 2], per_class=False).failures[0]
    assert sub.value == pytest.approx((0.9 + 0.8) / 2)
    with pytest.raises(ValueError, match="labels of the matrix"):
        check(CM, min_recall=0.5, classes=[7])


def test_lower_bound_stops_small_test_sets():
    small = np.array([[9, 1], [1, 9]])
    large = small * 100
    for kw in ({"min_recall": 0.8}, {"min_precision": 0.8}, {"min_accuracy": 0.8}, {"min_f1": 0.8},
               {"min_f1": 0.8, "per_class": False}, {"min_recall": 0.8, "per_class": False, "classes": [1]}):
        assert check(small, **kw).passed
        assert not check(small, use_lower_bound=True, **kw).passed, kw
        assert check(large, use_lower_bound=True, **kw).passed, kw
    f = check(small, min_recall=0.8, use_lower_bound=True).failures[0]
    low = fastcm.metrics.confidence_interval(small, "recall", method="wilson").low[0]
    assert f.lower_bound == pytest.approx(low) and f.value == 0.9
    assert "lower bound" in str(f)


def test_confusion_matrix_labels_and_undefined_classes():
    cm = ConfusionMatrix(labels=["cat", "dog", "eel"]).update(["cat", "dog", "cat", "dog"], ["cat", "dog", "dog", "dog"])
    result = check(cm, min_recall=0.9, min_precision=0.9)
    got = {(f.metric, f.class_label) for f in result.failures}
    # eel has no true sample and is never predicted: undefined values fail
    assert got == {("recall", "cat"), ("precision", "dog"), ("recall", "eel"), ("precision", "eel")}
    assert check(cm, min_recall=0.9, classes=["dog"]).passed


def test_threshold_checks():
    with pytest.raises(ValueError, match="min_recall"):
        check(CM, min_recall=85)
    with pytest.raises(ValueError, match="min_f1"):
        check(CM, min_f1="0.8")


@pytest.mark.parametrize("text,expected", [
    ("recall>=0.85", ("recall", ">=", 0.85)), ("f1 > .5", ("f1", ">", 0.5)), ("accuracy<1", ("accuracy", "<", 1.0)),
    ("macro_f1<=0.9", ("macro_f1", "<=", 0.9)), ("precision >= 1e-1", ("precision", ">=", 0.1)),
])
def test_parse_requirement(text, expected):
    assert parse_requirement(text) == expected


@pytest.mark.parametrize("text", ["recall=0.85", "recall>>0.8", ">=0.8", "recall>=", "recall>=abc", "recall >= 0.8 x"])
def test_parse_requirement_rejects(text):
    with pytest.raises(ValueError, match="requirement") as info:
        parse_requirement(text)
    assert repr(text) in str(info.value)


def test_docstring_examples():
    import doctest

    from fastcm.answers import gates

    result = doctest.testmod(gates, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_every_requirement_is_judged_and_strict_means_strict():
    """check(require=[...]) judges each requirement, several on one metric included; '>' is strict."""
    cm = np.array([[9, 1], [0, 10]])  # recall 0.9 and 1.0
    assert not check(cm, require=["recall>=0.95", "recall>=0.5"]).passed
    result = check(cm, require=["recall>0.9"])
    assert [(f.class_label, f.op) for f in result.failures] == [(0, ">")]
    assert str(result.failures[0]).endswith("<= 0.9")
    assert check(cm, require=["recall>=0.9"]).passed
    assert check(cm, require="macro recall>0.9").passed
    assert not check(cm, require=["accuracy>=0.9", "accuracy>0.95"]).passed
    assert check(cm, min_recall=0.9, require=["recall>0.85"]).n_checked == 4
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        check(cm, require=["recall>=1.5"])
    with pytest.raises(ValueError, match="never"):
        check(cm, require=["recall>1"])
    with pytest.raises(ValueError, match="accuracy, recall, precision or f1"):
        check(cm, require=["mcc>=0.5"])
