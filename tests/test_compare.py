"""fastcm.answers.compare / PairedComparison against brute force, statsmodels and each other."""

import doctest
import importlib
import math
import pickle
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, strategies as st

import fastcm
from fastcm import backends
from fastcm.answers.compare import Comparison, PairedComparison, compare, mcnemar_exact

COMPARE = importlib.import_module("fastcm.answers.compare")


def brute(t, a, b, labels):
    """Pure-Python counts: matrices and per-class (both right, only A, only B, both wrong)."""
    pos = {v: i for i, v in enumerate(labels)}
    C = len(labels)
    ma = [[0] * C for _ in range(C)]
    mb = [[0] * C for _ in range(C)]
    cases = [[0] * 4 for _ in range(C)]
    for x, y, z in zip(t, a, b):
        i, j, k = pos[x], pos[y], pos[z]
        ma[i][j] += 1
        mb[i][k] += 1
        cases[i][2 * (y != x) + (z != x)] += 1
    return np.array(ma).reshape(C, C), np.array(mb).reshape(C, C), np.array(cases).reshape(C, 4)


def exact_p(b, c):
    n, k = b + c, min(b, c)
    if n == 0:
        return 1.0
    term = total = 1
    for i in range(1, k + 1):
        term = term * (n - i + 1) // i
        total += term
    tail = Fraction(total, 2**n)
    return float(min(Fraction(1), 2 * tail))


def check(res, t, a, b, labels):
    ma, mb, cases = brute(t, a, b, labels)
    assert res.labels.tolist() == list(labels)
    np.testing.assert_array_equal(res.matrix_a, ma)
    np.testing.assert_array_equal(res.matrix_b, mb)
    np.testing.assert_array_equal(res.cases, cases)
    only_a, only_b = int(cases[:, 1].sum()), int(cases[:, 2].sum())
    assert (res.only_a, res.only_b) == (only_a, only_b)
    assert res.p_value == pytest.approx(exact_p(only_a, only_b), rel=1e-12)
    n = len(t)
    if n:
        assert res.accuracy_a == sum(x == y for x, y in zip(t, a)) / n
        assert res.accuracy_b == sum(x == z for x, z in zip(t, b)) / n


triples = st.integers(0, 60).flatmap(
    lambda n: st.tuples(
        st.integers(1, 20),
        st.lists(st.tuples(st.integers(0, 19), st.integers(0, 19), st.integers(0, 19)), min_size=n, max_size=n),
    )
)


@given(triples, st.sampled_from([np.int8, np.int32, np.int64, np.uint16, np.uint64]))
def test_num_classes_matches_brute_force(backend, data, dtype):
    C, rows = data
    rows = [(x % C, y % C, z % C) for x, y, z in rows]
    t, a, b = (np.array([r[i] for r in rows], dtype=dtype) for i in range(3))
    res = compare(t, a, b, num_classes=C, backend=backend, n_resamples=0)
    check(res, t.tolist(), a.tolist(), b.tolist(), list(range(C)))


@pytest.mark.parametrize("C", [3, 16, 17, 40])  # both sides of the joint-histogram limit
@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint8, np.bool_])
def test_large_batches_on_threads(backend, C, dtype):
    if dtype == np.bool_:
        C = 2
    rng = np.random.default_rng(C)
    n = 700_003  # above the threads' split, odd: block and unroll tails
    t = rng.integers(0, C, n).astype(dtype)
    a = np.where(rng.random(n) < 0.8, t, rng.integers(0, C, n)).astype(dtype)
    b = np.where(rng.random(n) < 0.85, t, rng.integers(0, C, n)).astype(dtype)
    res = compare(t, a, b, num_classes=C, backend=backend, n_resamples=0)
    ref = backends.get("numpy").compare_counts(t, a, b, C)
    np.testing.assert_array_equal(res.matrix_a, ref[0])
    np.testing.assert_array_equal(res.matrix_b, ref[1])
    np.testing.assert_array_equal(res.cases[:, 0], ref[2])
    assert res.n == n


@given(st.lists(st.tuples(st.sampled_from("xyz"), st.sampled_from("xyzw"), st.sampled_from("xyz")), max_size=30))
def test_inferred_string_labels(backend, rows):
    t, a, b = ([r[i] for r in rows] for i in range(3))
    res = compare(t, a, b, backend=backend, n_resamples=0)
    check(res, t, a, b, sorted(set(t) | set(a) | set(b)))


@given(st.lists(st.tuples(st.integers(-3, 3), st.integers(-3, 3), st.integers(5000, 5002)), min_size=1, max_size=30))
def test_inferred_integer_labels(backend, rows):
    t, a, b = ([r[i] for r in rows] for i in range(3))
    res = compare(np.array(t), np.array(a), np.array(b), backend=backend, n_resamples=0)
    check(res, t, a, b, sorted(set(t) | set(a) | set(b)))


def test_dense_inferred_labels_cut_to_present(backend):
    res = compare([0, 7, 7], [3, 7, 0], [0, 7, 7], backend=backend, n_resamples=0)
    check(res, [0, 7, 7], [3, 7, 0], [0, 7, 7], [0, 3, 7])


def test_labels_order_and_subset_errors(backend):
    t, a, b = ["b", "a", "c"], ["b", "b", "c"], ["a", "a", "c"]
    res = compare(t, a, b, labels=["c", "b", "a"], backend=backend, n_resamples=0)
    check(res, t, a, b, ["c", "b", "a"])
    with pytest.raises(ValueError, match=r"Expected `y_true` values among `labels` \['b', 'a'\], but got 'c' at position 2"):
        compare(t, a, b, labels=["b", "a"], backend=backend)


@pytest.mark.parametrize("side", ["a", "b", "both"])
def test_logits_on_either_side(backend, side):
    rng = np.random.default_rng(3)
    n, C = 500, 5
    t = rng.integers(0, C, n)
    sa = rng.normal(size=(n, C)).astype(np.float32)
    sb = rng.normal(size=(n, C))
    sb[:7] = 0.0  # ties: the lowest class
    pa, pb = sa.argmax(1), sb.argmax(1)
    ya = sa if side in ("a", "both") else pa
    yb = sb if side in ("b", "both") else pb
    res = compare(t, ya, yb, backend=backend, n_resamples=0)
    check(res, t.tolist(), pa.tolist(), pb.tolist(), list(range(C)))
    with pytest.raises(ValueError, match="num_classes=4 columns"):
        compare(t, sa, pb, num_classes=4, backend=backend)


def test_logits_with_labels_name_columns(backend):
    s = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
    res = compare(["dog", "cat", "cat"], s, ["dog", "cat", "dog"], labels=["cat", "dog"], backend=backend, n_resamples=0)
    check(res, ["dog", "cat", "cat"], ["dog", "cat", "dog"], ["dog", "cat", "dog"], ["cat", "dog"])


@pytest.mark.parametrize(
    "args, message",
    [
        (([0, 1, 3], [0, 1, 1], [0, 1, 1]), r"`y_true` labels in 0\.\.2 \(num_classes=3\), but got 3 at position 2"),
        (([0, 1, 2], [0, -1, 1], [0, 1, 1]), r"`y_pred_a` labels in 0\.\.2 \(num_classes=3\), but got -1 at position 1"),
        (([0, 1, 2, 2], [0, 1, 1, 2], [0, 1, 9, 7]), r"`y_pred_b` .* got 9 at position 2 \(2 invalid triples in total\)"),
    ],
)
def test_invalid_labels_message(backend, args, message):
    with pytest.raises(ValueError, match=message):
        compare(*(np.array(x, dtype=np.int32) for x in args), num_classes=3, backend=backend)


def test_invalid_wide_values_never_alias(backend):
    big = np.array([0, 2**63 + 1], dtype=np.uint64)
    with pytest.raises(ValueError, match=f"got {2**63 + 1} at position 1"):
        compare(big, np.zeros(2, np.uint64), np.zeros(2, np.uint64), num_classes=2, backend=backend)
    with pytest.raises(ValueError, match=f"got {2**32} at position 0"):
        compare(np.array([2**32]), [0], [0], num_classes=2, backend=backend)


def test_nan_scores_message(backend):
    s = np.array([[0.1, 0.9], [np.nan, 0.2]])
    with pytest.raises(ValueError, match=r"finite scores in `y_pred_b`, but got NaN at position 1"):
        compare([0, 1], [0, 1], s, backend=backend)


def test_argument_errors():
    with pytest.raises(TypeError, match="sample_weight"):
        compare([0], [0], [0], sample_weight=[1.0])
    with pytest.raises(ValueError, match="same shape"):
        compare([0, 1], [0], [0, 1])
    with pytest.raises(ValueError, match="positive int"):
        compare([0], [0], [0], num_classes=0)
    with pytest.raises(TypeError, match="Mix of label input types"):
        compare([0], ["a"], [0])
    with pytest.raises(ValueError, match="confidence_level"):
        compare([0], [0], [0], confidence_level=1.5)


def test_empty_input(backend):
    res = compare(np.array([], np.int64), np.array([], np.int64), np.array([], np.int64), num_classes=2, backend=backend)
    assert res.n == 0 and res.p_value == 1.0 and math.isnan(res.accuracy_a)
    assert compare([], [], [], backend=backend).labels.size == 0


def test_statsmodels_mcnemar():
    sm = pytest.importorskip("statsmodels.stats.contingency_tables")
    rng = np.random.default_rng(0)
    for _ in range(30):
        n = int(rng.integers(1, 3000))
        t = rng.integers(0, 3, n)
        a = np.where(rng.random(n) < rng.random(), t, rng.integers(0, 3, n))
        b = np.where(rng.random(n) < rng.random(), t, rng.integers(0, 3, n))
        res = compare(t, a, b, num_classes=3, n_resamples=0)
        ra, rb = a == t, b == t
        table = [[int((ra & rb).sum()), int((ra & ~rb).sum())], [int((~ra & rb).sum()), int((~ra & ~rb).sum())]]
        ref = sm.mcnemar(table, exact=True)
        assert res.mcnemar_statistic == ref.statistic
        assert res.p_value == pytest.approx(ref.pvalue, rel=1e-10, abs=1e-300)


@pytest.mark.parametrize("b, c", [(0, 0), (0, 1), (3, 17), (400, 530), (1900, 2100), (4_800, 5_300), (9_000, 9_400)])
def test_exact_p_against_integer_sum(b, c):
    assert mcnemar_exact(b, c) == pytest.approx(exact_p(b, c), rel=1e-12, abs=1e-300)


def test_pure_python_tail_for_huge_counts():
    stats = pytest.importorskip("scipy.stats")
    for k, n in [(499_000_000, 10**9), (4_999_900_000, 10**10), (10**6, 3 * 10**6)]:
        assert 2 * COMPARE._cdf_half(k, n) == pytest.approx(2 * stats.binom.cdf(k, n, 0.5), rel=1e-9)
    assert mcnemar_exact(1, 10**12) == 0.0
    assert mcnemar_exact(0, 2, mid_p=True) == 0.25


def test_bootstrap_intervals():
    rng = np.random.default_rng(5)
    n = 4000
    t = rng.integers(0, 4, n)
    a = np.where(rng.random(n) < 0.7, t, rng.integers(0, 4, n))
    b = np.where(rng.random(n) < 0.8, t, rng.integers(0, 4, n))
    res = compare(t, a, b, n_resamples=2000, random_state=1)
    again = compare(t, a, b, n_resamples=2000, random_state=1)
    np.testing.assert_array_equal(res.recall_difference_interval, again.recall_difference_interval)
    lo, hi = res.recall_difference_interval.T
    assert (lo < res.recall_difference).all() and (res.recall_difference < hi).all()
    # about the normal interval of a paired difference of proportions
    for i in range(4):
        c = res.cases[i]
        m = c.sum()
        d = (c[2] - c[1]) / m
        se = math.sqrt(((c[1] + c[2]) / m - d * d) / m)
        assert hi[i] - lo[i] == pytest.approx(2 * 1.96 * se, rel=0.15)
    alo, ahi = res.accuracy_difference_interval
    assert alo < res.accuracy_difference < ahi
    assert res.accuracy_difference == pytest.approx(res.accuracy_b - res.accuracy_a)


def test_unseen_class_interval_is_nan():
    res = compare([0, 0, 1], [0, 1, 1], [0, 0, 1], num_classes=3, n_resamples=200, random_state=0)
    assert np.isnan(res.recall_difference[2]) and np.isnan(res.recall_difference_interval[2]).all()
    assert "n/a" in str(res)


def test_result_is_frozen_and_readable():
    res = compare([0, 1, 1], [0, 1, 0], [0, 1, 1], num_classes=2, n_resamples=50, random_state=0)
    assert isinstance(res, Comparison)
    with pytest.raises(Exception):
        res.p_value = 0.0
    with pytest.raises(ValueError):
        res.matrix_a[0, 0] = 5
    text = str(res)
    assert "McNemar" in text and "only B right 1" in text and "recall A" in text
    assert pickle.loads(pickle.dumps(res)).cases.tolist() == res.cases.tolist()


def test_streaming_equals_one_shot(backend):
    rng = np.random.default_rng(7)
    n, C = 3000, 6
    t = rng.integers(0, C, n)
    a = np.where(rng.random(n) < 0.7, t, rng.integers(0, C, n))
    sb = rng.normal(size=(n, C))
    whole = compare(t, a, sb, num_classes=C, random_state=2, n_resamples=300, backend=backend)
    acc = PairedComparison(num_classes=C, backend=backend)
    for s in np.array_split(np.arange(n), 7):
        acc.update(t[s], a[s], sb[s])
    got = acc.compute(random_state=2, n_resamples=300)
    for name in ("matrix_a", "matrix_b", "cases", "recall_difference_interval", "accuracy_difference_interval"):
        np.testing.assert_array_equal(getattr(got, name), getattr(whole, name))
    assert got.p_value == whole.p_value and acc.n == n


def test_streaming_grows_labels_and_merges(backend):
    t = ["cat", "dog", "cat", "emu", "dog", "cat"]
    a = ["cat", "cat", "cat", "emu", "dog", "dog"]
    b = ["dog", "dog", "cat", "emu", "emu", "cat"]
    one, two = PairedComparison(backend=backend), PairedComparison(backend=backend)
    one.update(t[:2], a[:2], b[:2])
    two.update(t[2:], a[2:], b[2:])
    merged = (one + two).compute(n_resamples=0)
    check(merged, t, a, b, ["cat", "dog", "emu"])
    assert one.n == 2  # ``+`` leaves both operands as they were
    one.merge(two)
    np.testing.assert_array_equal(one.compute(n_resamples=0).cases, merged.cases)
    assert one.reset().n == 0


def test_failed_update_changes_nothing():
    acc = PairedComparison(num_classes=2)
    acc.update([0, 1], [0, 1], [1, 1])
    with pytest.raises(ValueError, match="got 2 at position 1"):
        acc.update([0, 1], [0, 2], [0, 0])
    assert acc.n == 2
    with pytest.raises(ValueError, match="outside the declared classes"):
        acc.merge(PairedComparison().update([5], [5], [5]))
    with pytest.raises(TypeError, match="sample_weight"):
        acc.update([0], [0], [0], sample_weight=[2])


def test_backends_agree_on_scores():
    rng = np.random.default_rng(11)
    n, C = 20_000, 20  # above the joint-histogram limit: the direct layout
    t = rng.integers(0, C, n).astype(np.int16)
    s = rng.normal(size=(n, C)).astype(np.float16)
    b = rng.integers(0, C, n)
    res = [compare(t, s, b, backend=name, n_resamples=0) for name in backends.available() if not backends.is_device_backend(name)]
    for r in res[1:]:
        np.testing.assert_array_equal(r.cases, res[0].cases)
        np.testing.assert_array_equal(r.matrix_a, res[0].matrix_a)


def test_exported():
    assert fastcm.compare is compare


def test_docstring_examples():
    result = doctest.testmod(COMPARE, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_cupy_backend_matches_numpy():
    if "cupy" not in backends.available():
        pytest.skip("no CUDA device")
    import cupy

    rng = np.random.default_rng(13)
    n, C = 100_000, 10
    t = rng.integers(0, C, n).astype(np.int32)
    s = rng.normal(size=(n, C)).astype(np.float32)
    b = rng.integers(0, C, n).astype(np.int64)
    got = compare(cupy.asarray(t), cupy.asarray(s), cupy.asarray(b), num_classes=C, n_resamples=0)
    ref = compare(t, s, b, num_classes=C, backend="numpy", n_resamples=0)
    np.testing.assert_array_equal(got.cases, ref.cases)
    np.testing.assert_array_equal(got.matrix_a, ref.matrix_a)
    with pytest.raises(ValueError, match="got -1 at position 3"):
        bad = t.copy()
        bad[3] = -1
        compare(cupy.asarray(bad), cupy.asarray(t), cupy.asarray(t), num_classes=C)


# -- issue 32: McNemar's chi-square with continuity correction beside the exact test ---------------
@pytest.mark.parametrize("b, c", [(1, 0), (3, 9), (5, 5), (1, 2), (100, 130), (4_800, 5_300)])
def test_mcnemar_chi2_is_statsmodels_convention(b, c):
    """statsmodels' mcnemar(exact=False, correction=True): (|b - c| - 1)**2 / (b + c), chi2(1) tail."""
    from fastcm.answers.compare import mcnemar_chi2

    stat, p = mcnemar_chi2(b, c)
    assert stat == pytest.approx((abs(b - c) - 1) ** 2 / (b + c), rel=1e-15)
    assert p == pytest.approx(math.erfc(math.sqrt(stat / 2)), rel=1e-12)
    stats = pytest.importorskip("scipy.stats")
    assert p == pytest.approx(stats.chi2.sf(stat, 1), rel=1e-9, abs=1e-300)
    plain, _ = mcnemar_chi2(b, c, correction=False)
    assert plain == pytest.approx((b - c) ** 2 / (b + c))
    sm = pytest.importorskip("statsmodels.stats.contingency_tables")
    ref = sm.mcnemar([[10, b], [c, 10]], exact=False, correction=True)
    assert (stat, p) == pytest.approx((ref.statistic, ref.pvalue), rel=1e-10)


def test_compare_says_which_mcnemar_test_it_used():
    t = np.array([0, 1] * 60)
    a = t.copy()
    a[:30] = 1 - a[:30]  # A wrong on 30
    b = t.copy()
    b[:12] = 1 - b[:12]  # B wrong on 12 of those
    exact = compare(t, a, b, num_classes=2, n_resamples=0)
    chi2 = compare(t, a, b, num_classes=2, n_resamples=0, mcnemar="chi2")
    assert exact.mcnemar_test == "exact" and chi2.mcnemar_test == "chi2"
    assert exact.p_value == mcnemar_exact(0, 18)
    assert chi2.mcnemar_statistic == pytest.approx(17 ** 2 / 18) and chi2.p_value == pytest.approx(math.erfc(math.sqrt(17 ** 2 / 36)))
    assert "McNemar exact test" in str(exact) and "chi-square" in str(chi2)
    with pytest.raises(ValueError, match="mcnemar"):
        compare(t, a, b, num_classes=2, mcnemar="z")
