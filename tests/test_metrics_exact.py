"""fastcm.metrics to float64 rounding on any int64 matrix, against Python ints and Fractions.

Entries reach 2**62, so row sums pass 2**63 - 1 (numpy's int64 sums wrap) and every
difference of products that MCC and kappa take cancels in float64. Single ratios must be
``float(Fraction)`` exactly (correctly rounded); means and square roots within a few ulps.
"""

import math
import warnings
from decimal import Decimal, localcontext
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastcm import metrics

AVERAGES = [None, "micro", "macro", "weighted"]
REL = 1e-15  # a few ulps: means of correctly rounded ratios, and a square root

entries = st.one_of(
    st.integers(0, 2**62),
    st.integers(0, 9),
    st.sampled_from([0, 1, 2**26, 2**52, 2**53 - 1, 2**53, 2**53 + 1, 2**62 - 1, 2**62]),
)


@st.composite
def count_matrices(draw, max_classes=6):
    """Square int64 matrices: tiny, huge and mixed entries, some rows and columns zeroed."""
    c = draw(st.integers(1, max_classes))
    cm = np.array(draw(st.lists(entries, min_size=c * c, max_size=c * c)), dtype=np.int64).reshape(c, c)
    for i in draw(st.lists(st.integers(0, c - 1), max_size=c)):
        cm[i, :] = 0
    for j in draw(st.lists(st.integers(0, c - 1), max_size=c)):
        cm[:, j] = 0
    return cm


def _counts(cm):
    """Per-class tp, fp, fn, tn as Python ints (no wrapping)."""
    m = [[int(x) for x in row] for row in cm]
    c = len(m)
    true = [sum(row) for row in m]
    pred = [sum(m[i][j] for i in range(c)) for j in range(c)]
    total = sum(true)
    tp = [m[i][i] for i in range(c)]
    fp = [pred[i] - tp[i] for i in range(c)]
    fn = [true[i] - tp[i] for i in range(c)]
    tn = [total - tp[i] - fp[i] - fn[i] for i in range(c)]
    return tp, fp, fn, tn


def _ratio(num, den, zero_division):
    return Fraction(num, den) if den else Fraction(zero_division) if zero_division in (0, 1) else None


def _mean(values, weights=None):
    """The exact average of exact ratios, scikit-learn's way (NaN, here None, left out)."""
    kept = [(v, 1 if weights is None else w) for v, w in zip(values, weights or values) if v is not None]
    if not kept:
        return float("nan")
    if weights is not None and sum(w for _, w in kept) == 0:
        kept = [(v, 1) for v, _ in kept]
    return sum(v * w for v, w in kept) / sum(w for _, w in kept)


PICKS = {  # metric -> (numerator, denominator) of its per-class ratio
    "precision": lambda tp, fp, fn, tn: (tp, tp + fp),
    "recall": lambda tp, fp, fn, tn: (tp, tp + fn),
    "specificity": lambda tp, fp, fn, tn: (tn, tn + fp),
    "npv": lambda tp, fp, fn, tn: (tn, tn + fn),
    "fpr": lambda tp, fp, fn, tn: (fp, fp + tn),
    "fnr": lambda tp, fp, fn, tn: (fn, fn + tp),
    "iou": lambda tp, fp, fn, tn: (tp, tp + fp + fn),
}


def _fbeta_pick(beta):
    b2 = Fraction(float(beta) ** 2)
    return lambda tp, fp, fn, tn: ((1 + b2) * tp, b2 * (tp + fn) + tp + fp)


def _reference(pick, cm, average, zero_division):
    tp, fp, fn, tn = _counts(cm)
    if average == "micro":
        num, den = pick(sum(tp), sum(fp), sum(fn), sum(tn))
        r = _ratio(num, den, zero_division)
        return float("nan") if r is None else r
    per_class = [_ratio(*pick(*k), zero_division) for k in zip(tp, fp, fn, tn)]
    if average is None:
        return per_class
    return _mean(per_class, [t + f for t, f in zip(tp, fn)] if average == "weighted" else None)


def _assert_matches(got, expected, exact):
    if isinstance(expected, list):
        got = np.asarray(got)
        assert got.dtype == np.float64 and got.shape == (len(expected),)
        for g, e in zip(got.tolist(), expected):
            _assert_matches(g, float("nan") if e is None else e, exact)
        return
    assert isinstance(got, float)
    if isinstance(expected, float) and math.isnan(expected):
        assert math.isnan(got)
    elif exact:
        assert got == float(expected), (got, expected, float(expected))
    else:
        assert got == pytest.approx(float(expected), rel=REL, abs=0), (got, expected)


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def _sqrt(x: Fraction) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 80
        return (Decimal(x.numerator) / Decimal(x.denominator)).sqrt()


def _mcc_reference(cm):
    m = [[int(x) for x in row] for row in cm]
    c = len(m)
    t = [sum(row) for row in m]
    p = [sum(m[i][j] for i in range(c)) for j in range(c)]
    n, correct = sum(t), sum(m[i][i] for i in range(c))
    cov_tp = correct * n - sum(a * b for a, b in zip(t, p))
    cov_pp = n * n - sum(b * b for b in p)
    cov_tt = n * n - sum(a * a for a in t)
    if cov_pp * cov_tt == 0:
        return 0.0
    return math.copysign(float(_sqrt(Fraction(cov_tp * cov_tp, cov_pp * cov_tt))), cov_tp)


def _kappa_reference(cm, weights):
    m = [[int(x) for x in row] for row in cm]
    c = len(m)
    s0 = [sum(m[i][j] for i in range(c)) for j in range(c)]
    s1 = [sum(row) for row in m]
    n = sum(s1)
    if n == 0:
        return None

    def w(i, j):
        return int(i != j) if weights is None else abs(i - j) if weights == "linear" else (i - j) ** 2

    observed = sum(w(i, j) * m[i][j] for i in range(c) for j in range(c))
    expected = sum(w(i, j) * s0[i] * s1[j] for i in range(c) for j in range(c))  # times n
    return None if expected == 0 else 1 - Fraction(observed * n, expected)


def test_issue_examples():
    assert metrics.mcc(np.array([[2**53, 0], [0, 1]])) == 1.0
    expected = _mcc_reference(np.array([[2**53, 1], [2, 3]]))
    assert expected == pytest.approx(0.6708203932499369, rel=1e-15)
    assert metrics.mcc(np.array([[2**53, 1], [2, 3]])) == pytest.approx(expected, rel=REL)


def test_sums_past_int64_do_not_wrap():
    cm = np.full((2, 2), 2**62, dtype=np.int64)
    assert [int(s) for s in metrics.support(cm)] == [2**63, 2**63]
    assert metrics.accuracy(cm) == 0.5
    assert metrics.precision(cm).tolist() == [0.5, 0.5]
    assert metrics.specificity(cm).tolist() == [0.5, 0.5]
    assert metrics.mcc(cm) == 0.0
    assert metrics.cohen_kappa(cm) == 0.0
    assert metrics.balanced_accuracy(cm) == 0.5


@given(cm=count_matrices(), average=st.sampled_from(AVERAGES), zero_division=st.sampled_from([0, 1, np.nan]))
def test_ratios_equal_fractions(cm, average, zero_division):
    exact = average in (None, "micro")
    for name, pick in PICKS.items():
        got = _quiet(getattr(metrics, name), cm, average=average, zero_division=zero_division)
        _assert_matches(got, _reference(pick, cm, average, zero_division), exact)
    got = _quiet(metrics.f1, cm, average, zero_division)
    _assert_matches(got, _reference(_fbeta_pick(1), cm, average, zero_division), exact)
    for beta in (2, 0.5, 0.7):
        got = _quiet(metrics.fbeta, cm, beta, average, zero_division)
        # b**2 = 4 is exact in float64; 0.25 and 0.49 are not integers, so (1 + b**2)·tp rounds
        _assert_matches(got, _reference(_fbeta_pick(beta), cm, average, zero_division), exact and beta == 2)


@given(cm=count_matrices(max_classes=2))
def test_binary_average_equals_fractions(cm):
    if cm.shape[0] != 2:
        return
    for name, pick in PICKS.items():
        got = _quiet(getattr(metrics, name), cm, average="binary", zero_division=1)
        _assert_matches(got, _reference(pick, cm, None, 1)[1], exact=True)


@given(cm=count_matrices())
def test_matrix_scores_equal_fractions(cm):
    tp, fp, fn, _ = _counts(cm)
    true = [t + f for t, f in zip(tp, fn)]
    assert [int(s) for s in metrics.support(cm)] == true
    total = sum(true)
    assert metrics.accuracy(cm) == (float(Fraction(sum(tp), total)) if total else 0.0)
    recalls = [Fraction(t, s) for t, s in zip(tp, true) if s]
    score = _quiet(metrics.balanced_accuracy, cm)
    if recalls:
        assert score == pytest.approx(float(sum(recalls) / len(recalls)), rel=REL, abs=0)
        adjusted = _quiet(metrics.balanced_accuracy, cm, adjusted=True)
        if len(recalls) > 1:
            # the adjustment (score - 1/k) / (1 - 1/k) is float arithmetic on the score, as
            # scikit-learn's: near chance level it is exact to the score's ulp, not its own
            k = len(recalls)
            assert adjusted == pytest.approx(float((sum(recalls) / k - Fraction(1, k)) / (1 - Fraction(1, k))), abs=1e-15)
    else:
        assert math.isnan(score)
    per_class = [Fraction(t, t + f + g) if t + f + g else None for t, f, g in zip(tp, fp, fn)]
    _assert_matches(metrics.mean_iou(cm), _mean(per_class), exact=False)
    _assert_matches(metrics.mean_iou(cm, ignore_absent=False), _mean([v or Fraction(0) for v in per_class]), exact=False)
    assert metrics.mcc(cm) == pytest.approx(_mcc_reference(cm), rel=REL, abs=0)
    for weights in (None, "linear", "quadratic"):
        expected = _kappa_reference(cm, weights)
        got = _quiet(metrics.cohen_kappa, cm, weights)
        if expected is None:
            assert math.isnan(got)
        else:
            assert got == float(expected), (weights, got, float(expected))


@settings(max_examples=30)
@given(cm=count_matrices())
def test_huge_counts_warn_as_their_pattern(cm):
    """Which classes are undefined depends only on which cells are non-zero, so a huge matrix
    warns exactly as the 0/1 matrix of its non-zero cells."""
    pattern = (cm != 0).astype(np.int64)
    for name in (*PICKS, "f1"):
        for average in ("macro", "micro"):
            messages = []
            for m in (cm, pattern):
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    getattr(metrics, name)(m, average=average)
                messages.append([(w.category, str(w.message)) for w in caught])
            assert messages[0] == messages[1]
    for m in (cm, pattern):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            metrics.cohen_kappa(m)
            metrics.balanced_accuracy(m)
        messages.append([(w.category, str(w.message)) for w in caught])
    assert messages[-2] == messages[-1]


def test_many_classes_with_huge_counts():
    rng = np.random.default_rng(0)
    cm = rng.integers(0, 2**62, size=(60, 60), dtype=np.int64)
    cm[:, 7] = 0
    tp, fp, fn, tn = _counts(cm)
    assert metrics.precision(cm, zero_division=0).tolist() == [float(Fraction(t, t + f)) if t + f else 0.0
                                                             for t, f in zip(tp, fp)]
    assert metrics.specificity(cm).tolist() == [float(Fraction(t, t + f)) for t, f in zip(tn, fp)]
    assert metrics.mcc(cm) == pytest.approx(_mcc_reference(cm), rel=REL, abs=0)
    for weights in (None, "linear", "quadratic"):
        assert metrics.cohen_kappa(cm, weights) == float(_kappa_reference(cm, weights))


def test_ordinary_matrices_keep_float_results():
    """Below 2**53 the float64 path is unchanged: per-class results are float64 arrays and
    the rounding is scikit-learn's (tests/test_metrics.py checks that to the last bit)."""
    cm = np.array([[5, 1, 0], [2, 2, 0], [0, 0, 0]])
    assert metrics.precision(cm, zero_division=0).dtype == np.float64
    assert metrics.support(cm).dtype == cm.dtype
    assert metrics.precision(cm.astype(np.float64), zero_division=0).tolist() == [5 / 7, 2 / 3, 0.0]
