"""diagnose: small samples, overfitting and possible leakage, with the intervals behind them."""

import numpy as np
import pytest

import fastcm
from fastcm.answers.intervals import confidence_interval


def test_a_rare_class_with_few_samples_is_flagged_with_its_interval():
    cm = np.array([[900, 12], [2, 6]])
    found = fastcm.diagnose(cm)
    small = [f for f in found if f.kind == "small_sample"]
    assert len(small) == 1 and small[0].numbers["class"] == "1"
    ref = confidence_interval(cm, "recall", method="wilson")
    assert small[0].numbers["low"] == pytest.approx(ref.low[1])
    assert small[0].numbers["high"] == pytest.approx(ref.high[1])
    assert "8 true samples" in small[0].message
    assert "small_sample" not in fastcm.diagnose(cm * 100).kinds()  # enough data: no finding


def test_overfitting_needs_a_gap_beyond_the_intervals():
    test = np.array([[80, 5], [3, 5]])
    train = np.array([[900, 2], [1, 97]])
    found = fastcm.diagnose(test, train=train)
    over = [f for f in found if f.kind == "overfitting"]
    assert len(over) == 1
    n = over[0].numbers
    assert n["train_low"] > n["test_high"] and n["gap"] > 0.05
    # a perfect fit on a handful of training samples: the intervals overlap, no claim
    assert "overfitting" not in fastcm.diagnose(test, train=np.array([[18, 0], [0, 2]])).kinds()


def test_perfect_test_results_at_or_above_training_hint_at_leakage():
    test = np.array([[50000, 3], [2, 50000]])
    train = np.array([[5000, 3], [2, 5000]])
    assert "possible_leakage" in fastcm.diagnose(test, train=train).kinds()
    assert "possible_leakage" not in fastcm.diagnose(train, train=test).kinds()  # test below train
    assert "possible_leakage" not in fastcm.diagnose(test).kinds()  # needs the training matrix


def test_train_accepts_an_accumulator_and_checks_its_shape():
    train = fastcm.ConfusionMatrix(num_classes=2).update([0, 1, 1, 0] * 100, [0, 1, 1, 0] * 100)
    assert isinstance(fastcm.diagnose(np.array([[40, 10], [10, 40]]), train=train).kinds(), list)
    with pytest.raises(ValueError, match="shape"):
        fastcm.diagnose(np.eye(3, dtype=int) * 10, train=train)


def test_a_healthy_model_is_not_suspected_of_leakage():
    """Train 99.1%, test 99.2%: the test accuracy is within the training one's reach (the
    intervals overlap), so nothing is flagged; a point estimate above the training one was."""
    train = np.array([[49550, 450], [450, 49550]])  # 99.1%
    test = np.array([[24800, 200], [200, 24800]])  # 99.2%
    found = fastcm.diagnose(test, train=train)
    assert "possible_leakage" not in found.kinds(), str(found)
    leak = fastcm.diagnose(np.array([[25000, 2], [3, 25000]]), train=train)  # 99.99%: far above training
    f = [x for x in leak if x.kind == "possible_leakage"][0]
    assert f.numbers["test_low"] > f.numbers["train_high"]
