"""Confidence intervals from the counts: closed forms against scipy, the multinomial
bootstrap against a brute-force bootstrap over the pairs, nominal coverage on simulated
classifiers, reproducibility."""

import numpy as np
import pytest
from conftest import HOST_BACKENDS

from fastcm import ConfusionMatrix, metrics
from fastcm.metrics import matrix
from fastcm.answers.intervals import Interval, confidence_interval

CM3 = np.array([[30, 4, 2], [3, 25, 6], [1, 5, 24]])


@pytest.mark.parametrize("method,scipy_method", [("wilson", "wilson"), ("clopper-pearson", "exact")])
@pytest.mark.parametrize("metric", ["recall", "precision", "specificity", "npv", "fpr", "fnr"])
def test_closed_form_matches_scipy(method, scipy_method, metric):
    stats = pytest.importorskip("scipy.stats")
    ci = confidence_interval(CM3, metric, method=method, level=0.9)
    tp, fp, fn, tn, _ = matrix.cell_sums(CM3)
    num, den = {"recall": (tp, tp + fn), "precision": (tp, tp + fp), "specificity": (tn, tn + fp),
                "npv": (tn, tn + fn), "fpr": (fp, fp + tn), "fnr": (fn, fn + tp)}[metric]
    for c in range(3):
        ref = stats.binomtest(int(num[c]), int(den[c])).proportion_ci(0.9, scipy_method)
        assert ci.low[c] == pytest.approx(ref.low, abs=1e-9)
        assert ci.high[c] == pytest.approx(ref.high, abs=1e-9)
    np.testing.assert_array_equal(ci.estimate, getattr(metrics, metric)(CM3))
    assert ci.method == method and ci.level == 0.9


def test_closed_form_accuracy_and_binary():
    stats = pytest.importorskip("scipy.stats")
    ci = confidence_interval(CM3, "accuracy", method="wilson")
    ref = stats.binomtest(79, 100).proportion_ci(0.95, "wilson")
    assert isinstance(ci.estimate, float) and ci.estimate == 0.79
    assert (ci.low, ci.high) == pytest.approx((ref.low, ref.high))
    cm2 = np.array([[50, 10], [5, 35]])
    ci = confidence_interval(cm2, "recall", method="clopper-pearson", average="binary")
    ref = stats.binomtest(35, 40).proportion_ci(0.95, "exact")
    assert (ci.estimate, ci.low, ci.high) == pytest.approx((35 / 40, ref.low, ref.high))


def test_zero_denominator_is_nan():
    cm = np.array([[5, 0, 1], [0, 0, 0], [2, 0, 7]])  # class 1: no true sample, never predicted
    for method in ("wilson", "clopper-pearson", "bootstrap"):
        ci = confidence_interval(cm, "recall", method=method, zero_division=0, random_state=0, n_resamples=500)
        assert np.isnan(ci.low[1]) and np.isnan(ci.high[1]) and ci.estimate[1] == 0.0
        assert not np.isnan(ci.low[[0, 2]]).any()
    ci = confidence_interval(np.zeros((2, 2), int), "cohen_kappa", n_resamples=100)
    assert np.isnan(ci.estimate) and np.isnan(ci.low)


def test_reproducible_with_random_state():
    a = confidence_interval(CM3, "fbeta", beta=2, random_state=7, n_resamples=2000)
    b = confidence_interval(CM3, "fbeta", beta=2, random_state=7, n_resamples=2000)
    c = confidence_interval(CM3, "fbeta", beta=2, random_state=8, n_resamples=2000)
    np.testing.assert_array_equal(a.low, b.low)
    np.testing.assert_array_equal(a.high, b.high)
    assert not np.array_equal(a.low, c.low)
    g = confidence_interval(CM3, "fbeta", beta=2, random_state=np.random.default_rng(7), n_resamples=2000)
    np.testing.assert_array_equal(a.low, g.low)


def test_thread_count_does_not_change_the_draw(cell_draw):
    numba = pytest.importorskip("numba")
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = confidence_interval(CM3, "mcc", random_state=3, n_resamples=3000)
        numba.set_num_threads(max(1, numba.config.NUMBA_NUM_THREADS))
        many = confidence_interval(CM3, "mcc", random_state=3, n_resamples=3000)
    finally:
        numba.set_num_threads(before)
    assert (one.low, one.high) == (many.low, many.high)
    other = confidence_interval(CM3, "mcc", random_state=4, n_resamples=3000)
    assert (other.low, other.high) != (one.low, one.high)  # the assertion above can fail


@pytest.fixture(params=HOST_BACKENDS)
def cell_draw(request, monkeypatch):
    """Every host backend's multinomial_sums: numba's kernel (conditional binomials, light
    groups sample by sample) and numpy's multinomial."""
    from fastcm import backends, intervals

    monkeypatch.setattr(intervals, "_sampler", lambda work=0: backends.get(request.param).multinomial_sums)
    return request.param


def _pairs_bootstrap(cm, fn, n_resamples, seed):
    """Brute force: resample the N pairs with replacement, count, evaluate."""
    c = cm.shape[0]
    t, p = np.nonzero(cm)
    codes = np.repeat(t * c + p, cm[t, p])
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, codes.size, size=(n_resamples, codes.size))
    flat = (codes[idx] + (np.arange(n_resamples) * c * c)[:, None]).ravel()
    mats = np.bincount(flat, minlength=n_resamples * c * c).reshape(n_resamples, c, c)
    return np.array([fn(m) for m in mats])


@pytest.mark.parametrize("metric,kwargs", [
    ("recall", {"average": "weighted"}), ("precision", {"average": "macro", "zero_division": 0}), ("f1", {"average": "macro"}),
    ("fbeta", {"beta": 2, "average": "weighted"}), ("specificity", {"average": "micro"}), ("iou", {}),
    ("mcc", {}), ("cohen_kappa", {}), ("balanced_accuracy", {}), ("accuracy", {}), ("mean_iou", {}),
])
def test_bootstrap_agrees_with_brute_force_over_pairs(metric, kwargs, cell_draw):
    cm = np.array([[14, 3, 1], [2, 9, 3], [0, 4, 12]])  # N = 48: some cells heavy, some light
    fn = getattr(metrics, metric)
    ci = confidence_interval(cm, metric, level=0.9, n_resamples=20_000, random_state=1, **kwargs)
    with np.errstate(all="ignore"):
        ref = _pairs_bootstrap(cm, lambda m: fn(m, **kwargs), 4000, seed=2)
    low, high = np.quantile(ref, [0.05, 0.95], axis=0)
    # same distribution, different draws: quantiles agree to the Monte-Carlo error
    np.testing.assert_allclose(ci.low, low, atol=0.035)
    np.testing.assert_allclose(ci.high, high, atol=0.035)


def test_fast_path_matches_the_resampled_matrices():
    """The per-class-sums evaluation equals calling the metric on each resampled matrix."""
    cm = np.array([[40, 20, 1], [3, 30, 18], [0, 2, 0]])
    for metric, kwargs in [("f1", {"average": "macro", "zero_division": 0}), ("mcc", {}),
                           ("precision", {"average": "weighted", "zero_division": 1})]:
        fn = getattr(metrics, metric)
        fast = confidence_interval(cm, metric, n_resamples=20_000, random_state=0, **kwargs)
        slow = confidence_interval(cm, lambda m: fn(m, **kwargs), n_resamples=4000, random_state=0)
        assert fast.estimate == pytest.approx(slow.estimate)
        assert (fast.low, fast.high) == pytest.approx((slow.low, slow.high), abs=0.02)


def test_weighted_kappa_and_callables_use_matrices():
    ci = confidence_interval(CM3, "cohen_kappa", weights="quadratic", n_resamples=500, random_state=0)
    assert ci.low < metrics.cohen_kappa(CM3, weights="quadratic") < ci.high
    ci = confidence_interval(CM3, lambda m: np.diag(m) / m.sum(), n_resamples=500, random_state=0)
    assert ci.estimate.shape == (3,) and (ci.low <= ci.estimate).all()


def test_coverage_of_closed_forms():
    """Wilson and Clopper-Pearson 95% intervals cover the true recall in 2,000 simulations."""
    rng = np.random.default_rng(0)
    true_recall, support = 0.83, 120
    hits = rng.binomial(support, true_recall, size=2000)
    for method, lo, hi in [("wilson", 0.93, 0.97), ("clopper-pearson", 0.94, 0.99)]:
        covered = 0
        for k in hits:
            ci = confidence_interval(np.array([[k, support - k], [10, 90]]), "recall", method=method)
            covered += ci.low[0] <= true_recall <= ci.high[0]
        assert lo <= covered / 2000 <= hi, (method, covered / 2000)


def test_coverage_of_bootstrap():
    """95% percentile-bootstrap intervals of macro F1, MCC and accuracy cover the population
    value in 93-97% of 2,000 simulated test sets of 400 pairs.

    One draw of 1,000 resamples per test set serves the three metrics (the machinery of
    ``confidence_interval``, without its per-call checks, to keep this test short).
    """
    from fastcm.answers import intervals

    p = np.array([[0.30, 0.04, 0.02], [0.03, 0.25, 0.05], [0.01, 0.05, 0.25]])
    truth = {"f1": metrics.f1(p, average="macro"), "mcc": metrics.mcc(p), "accuracy": metrics.accuracy(p)}
    kwargs = {"f1": {"average": "macro"}, "mcc": {}, "accuracy": {}}
    evaluators = [(intervals._FAST[name][0], kwargs[name]) for name in truth]
    rng = np.random.default_rng(1)
    draws = rng.multinomial(400, p.ravel(), size=2000).reshape(-1, 3, 3)
    covered = dict.fromkeys(truth, 0)
    for i, cm in enumerate(draws):
        values = intervals._evaluated(intervals._Counts(cm), evaluators, 1000, np.random.default_rng(i), "cells")
        for (name, value), v in zip(truth.items(), values):
            low, high = intervals.percentile_interval(v, 0.95)
            covered[name] += low <= value <= high
    for name, hits in covered.items():
        assert 0.93 <= hits / 2000 <= 0.97, (name, hits / 2000)
    # and the public function on one of them gives the same interval from the same seed
    ci = confidence_interval(draws[5], "mcc", n_resamples=1000, random_state=5)
    v = intervals.resampled_values(draws[5], "mcc", n_resamples=1000, random_state=5)
    assert (ci.low, ci.high) == intervals.percentile_interval(v, 0.95)


def test_inputs():
    cm = ConfusionMatrix(labels=["a", "b"]).update(["a", "b", "a", "a"], ["a", "b", "b", "a"])
    ci = confidence_interval(cm, "recall", method="wilson")
    assert ci.estimate.tolist() == [2 / 3, 1.0]
    ci = confidence_interval(CM3.astype(np.float64), "jaccard", n_resamples=100, random_state=0)
    assert ci.estimate.shape == (3,)
    with pytest.raises(ValueError, match="whole numbers"):
        confidence_interval(CM3 * 0.5, "recall")
    with pytest.raises(ValueError, match="non-negative"):
        confidence_interval(-CM3, "recall")
    with pytest.raises(ValueError, match="`metric`"):
        confidence_interval(CM3, "roc_auc")
    with pytest.raises(ValueError, match="`method`"):
        confidence_interval(CM3, "recall", method="normal")
    with pytest.raises(ValueError, match="bootstrap"):
        confidence_interval(CM3, "mcc", method="wilson")
    with pytest.raises(ValueError, match="per class"):
        confidence_interval(CM3, "recall", method="wilson", average="macro")
    with pytest.raises(ValueError, match="`level`"):
        confidence_interval(CM3, "recall", level=95)
    with pytest.raises(ValueError, match="`n_resamples`"):
        confidence_interval(CM3, "recall", n_resamples=0)
    with pytest.raises(TypeError, match="averge"):
        confidence_interval(CM3, "recall", averge="macro")


def test_interval_unpacks_and_forwards_from_metrics():
    est, low, high = metrics.confidence_interval(CM3, "accuracy", method="wilson")
    assert low < est < high
    assert isinstance(metrics.confidence_interval(CM3, "accuracy", method="wilson"), Interval)


def test_large_matrix_is_consistent(cell_draw):
    """1000 classes: every resample keeps N pairs and the sums' means match the counts."""
    from fastcm.answers import intervals

    rng = np.random.default_rng(0)
    c = 1000
    cm = np.diag(rng.integers(20, 60, size=c))
    rows, cols = rng.integers(0, c, size=(2, 8000))
    np.add.at(cm, (rows, cols), rng.integers(1, 4, size=8000))
    tp, fp, fn, tn = (np.concatenate(x) for x in zip(*intervals._resampled_blocks(
        intervals._Counts(cm), "cells", 400, np.random.default_rng(1))))
    R, S = tp + fn, tp + fp
    assert (R.sum(axis=1) == cm.sum()).all() and (S.sum(axis=1) == cm.sum()).all()
    assert (tn >= 0).all() and (tp >= 0).all() and (fp >= 0).all() and (fn >= 0).all()
    assert (np.abs(S.mean(axis=0) - cm.sum(axis=0)) <= 6 * np.sqrt(cm.sum(axis=0) / 400) + 0.1).all()
    assert (np.abs(tp.mean(axis=0) - np.diag(cm)) <= 6 * np.sqrt(np.diag(cm) / 400) + 0.1).all()
    # the variance of a class's diagonal is the multinomial's N p (1 - p), within 25%
    expected = np.diag(cm) * (1 - np.diag(cm) / cm.sum())
    ratio = tp.var(axis=0).mean() / expected.mean()
    assert 0.9 < ratio < 1.1, ratio


def test_docstring_examples():
    import doctest

    from fastcm.answers import intervals

    result = doctest.testmod(intervals, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


# -- issue 32: draw only what a metric reads; intervals that keep their level at the edge ---------
def _big_matrix(c=1000, seed=0):
    rng = np.random.default_rng(seed)
    cm = np.diag(rng.integers(20, 60, size=c))
    rows, cols = rng.integers(0, c, size=(2, 8 * c))
    np.add.at(cm, (rows, cols), rng.integers(1, 4, size=8 * c))
    return cm


@pytest.mark.parametrize("metric,kwargs", [("recall", {"average": "macro"}), ("precision", {"average": "macro"}),
                                           ("balanced_accuracy", {}), ("recall", {"average": "weighted"})])
def test_one_sided_metrics_draw_per_class_groups_not_cells(monkeypatch, metric, kwargs):
    """Macro recall and precision read each class's diagonal and its row (or column) sum:
    a multinomial over 2C groups, O(B * C), never the O(B * cells) matrix draw."""
    from fastcm.answers import intervals

    groups = intervals._groups

    def not_cells(counts, reads):
        assert reads != "cells", "drew every cell"
        return groups(counts, reads)

    monkeypatch.setattr(intervals, "_groups", not_cells)
    cm = _big_matrix()
    ci = confidence_interval(cm, metric, n_resamples=2000, random_state=0, **kwargs)
    assert ci.method == "bootstrap" and ci.low < ci.estimate < ci.high


@pytest.mark.parametrize("metric", ["recall", "precision", "f1", "iou", "specificity", "accuracy"])
def test_proportions_need_no_resampling(monkeypatch, metric):
    """Per-class proportions (and F1 through IoU) get the Wilson score interval: no draws."""
    from fastcm.answers import intervals

    monkeypatch.setattr(intervals, "_sampler", None)
    ci = confidence_interval(_big_matrix(), metric, random_state=0)
    assert ci.method == "wilson"
    assert np.all(ci.low <= ci.estimate) and np.all(ci.estimate <= ci.high)


def test_grouped_draws_agree_with_brute_force_over_pairs():
    cm = np.array([[14, 3, 1], [2, 9, 3], [0, 4, 12]])
    for metric, kwargs in [("recall", {"average": "macro"}), ("precision", {"average": "macro"}),
                           ("balanced_accuracy", {}), ("fbeta", {"beta": 2})]:
        fn = getattr(metrics, metric)
        ci = confidence_interval(cm, metric, level=0.9, n_resamples=20_000, random_state=1, **kwargs)
        with np.errstate(all="ignore"):
            ref = _pairs_bootstrap(cm, lambda m: fn(m, **kwargs), 4000, seed=2)
        low, high = np.quantile(ref, [0.05, 0.95], axis=0)
        np.testing.assert_allclose(ci.low, low, atol=0.035)
        np.testing.assert_allclose(ci.high, high, atol=0.035)
    cm2 = np.array([[30, 6], [4, 12]])
    ci = confidence_interval(cm2, "fbeta", beta=0.5, average="binary", level=0.9, n_resamples=20_000, random_state=1)
    ref = _pairs_bootstrap(cm2, lambda m: metrics.fbeta(m, beta=0.5, average="binary"), 4000, seed=2)
    assert (ci.low, ci.high) == pytest.approx(tuple(np.quantile(ref, [0.05, 0.95])), abs=0.035)


def test_all_found_is_not_a_point():
    """20 of 20 found: the percentile bootstrap said [1, 1]; Wilson says [0.839, 1]."""
    cm = np.array([[20, 0], [3, 77]])
    ci = confidence_interval(cm, "recall", random_state=0)
    assert ci.high[0] == 1.0 and ci.low[0] == pytest.approx(0.8389, abs=1e-4)
    f1 = confidence_interval(np.array([[20, 0], [0, 80]]), "f1", random_state=0)
    assert f1.low[0] < 1.0 and f1.high[0] == 1.0


@pytest.mark.parametrize("metric,truth", [("recall", 0.9), ("precision", None), ("f1", None)])
def test_coverage_at_small_counts(metric, truth):
    """A rare class of 20 positives with recall 0.9: the default interval covers the true
    recall (precision, F1) in at least 93% of 2,000 simulated test sets; the percentile
    bootstrap covered 87%."""
    p = np.array([[0.018, 0.002], [0.004, 0.976]])  # class 0: recall 0.9, precision 0.818
    truth = getattr(metrics, metric)(p)[0]
    rng = np.random.default_rng(3)
    covered = 0
    sims = 2000
    for cm in rng.multinomial(1000, p.ravel(), size=sims).reshape(-1, 2, 2):
        ci = confidence_interval(cm, metric, zero_division=np.nan)
        covered += bool(ci.low[0] <= truth <= ci.high[0])
    assert 0.93 <= covered / sims <= 0.99, covered / sims


def test_micro_averages_map_the_accuracy_interval():
    ci = confidence_interval(CM3, "recall", average="micro")
    acc = confidence_interval(CM3, "accuracy")
    assert ci.method == acc.method == "wilson" and (ci.low, ci.high) == (acc.low, acc.high)
    spec = confidence_interval(CM3, "specificity", average="micro")
    assert spec.low < spec.estimate < spec.high


# -- scipy.sparse matrices: the sums and the non-zero cells, never a dense matrix -------------------
@pytest.mark.parametrize("kind", ["csr_matrix", "coo_array", "csc_array"])
def test_sparse_matrix_gives_the_dense_intervals(kind):
    sparse = pytest.importorskip("scipy.sparse")
    cm = _big_matrix(c=60, seed=3)
    cm[7] = 0  # a class without samples: NaN intervals either way
    sp = getattr(sparse, kind)(cm)
    for metric, kwargs in [("f1", {"average": "macro"}), ("recall", {"average": "macro"}), ("mcc", {}),
                           ("fbeta", {"beta": 2.0}), ("precision", {}), ("accuracy", {}),
                           ("cohen_kappa", {}), ("precision", {"average": "weighted"})]:
        dense = confidence_interval(cm, metric, n_resamples=500, random_state=4, **kwargs)
        got = confidence_interval(sp, metric, n_resamples=500, random_state=4, **kwargs)
        assert got.method == dense.method
        # the same cells in the same order: the same draws, to the bit
        np.testing.assert_array_equal(got.low, dense.low)
        np.testing.assert_array_equal(got.high, dense.high)
        np.testing.assert_allclose(got.estimate, dense.estimate, rtol=1e-12)
    cis = metrics.report(sp, ci=0.95, output_dict=True)
    assert cis["macro avg"]["f1-score_ci"] == metrics.report(cm, ci=0.95, output_dict=True)["macro avg"]["f1-score_ci"]


def test_sparse_matrix_with_many_classes_is_never_densified(monkeypatch):
    sparse = pytest.importorskip("scipy.sparse")
    from fastcm.answers import intervals

    c = 20_000
    rng = np.random.default_rng(0)
    rows = np.concatenate([np.arange(c), rng.integers(0, c, 3 * c)])
    cols = np.concatenate([np.arange(c), rng.integers(0, c, 3 * c)])
    values = np.concatenate([rng.integers(5, 30, c), rng.integers(1, 3, 3 * c)])
    sp = sparse.coo_array((values, (rows, cols)), shape=(c, c))  # duplicates: summed, as scipy does

    def no_dense(self):
        raise AssertionError("densified")

    monkeypatch.setattr(intervals._Counts, "matrix", no_dense)
    ci = confidence_interval(sp, "f1", average="macro", n_resamples=50, random_state=0)
    # 20,000 small classes: resampled F1 runs ~0.005 below the observed one (the percentile
    # bootstrap's bias, numpy's multinomial over the cells shows the same), wider than the interval
    assert ci.estimate - 0.01 < ci.low < ci.high < ci.estimate
    summed = sp.tocsr()
    assert ci.estimate == pytest.approx(np.mean(2 * summed.diagonal() / (summed.sum(axis=0) + summed.sum(axis=1))))
    assert confidence_interval(sp, "recall").low.shape == (c,)
    monkeypatch.undo()
    with pytest.raises(ValueError, match="4096"):
        confidence_interval(sp, lambda m: m.trace(), n_resamples=10)
    with pytest.raises(ValueError, match="non-negative"):
        confidence_interval(sparse.csr_array(-CM3), "mcc")


def test_a_small_bootstrap_imports_no_numba():
    """Up to 2**20 resamples x groups numpy's multinomial draws: a first small interval
    compiles nothing (it took 1.1-1.6 s in a new process through numba's kernel)."""
    import subprocess
    import sys

    code = ("import sys, numpy as np; from fastcm.answers.intervals import confidence_interval; "
            "ci = confidence_interval(np.array([[45, 5, 1], [10, 40, 2], [0, 3, 30]]), 'f1', average='macro'); "
            "assert ci.low < ci.high; print('numba' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_grouped_draws_have_the_cell_draws_distribution():
    """What a metric reads drawn alone (2C groups for macro recall and precision, 4 groups
    per class for a per-class F2) has the distribution the draw of every cell gives it:
    mean, spread and both 95% quantiles agree to the Monte-Carlo error; a draw that leaves
    each class's misses fixed would fail the same checks."""
    from fastcm.answers import intervals

    cm = _big_matrix(c=30, seed=5)
    counts = intervals._Counts(cm)
    b = 40_000
    tol = 4 / np.sqrt(b)  # in standard deviations of the metric

    def values(name, kwargs, reads, seed):
        return intervals._evaluated(counts, [(intervals._FAST[name][0], kwargs)], b, np.random.default_rng(seed),
                                    reads)[0]

    def same_law(a, c):
        sd = c.std(axis=0)
        ok = np.abs(a.mean(axis=0) - c.mean(axis=0)) <= tol * sd
        ok &= np.abs(a.std(axis=0) / sd - 1) <= 3 * tol
        for q in (0.025, 0.975):
            ok &= np.abs(np.quantile(a, q, axis=0) - np.quantile(c, q, axis=0)) <= 8 * tol * sd
        return bool(np.all(ok))

    for name, reads in (("recall", "rows"), ("precision", "cols")):
        kwargs = {"average": "macro"}
        cells = values(name, kwargs, "cells", 1)
        assert same_law(values(name, kwargs, reads, 2), cells), name
    f2 = {"beta": 2.0}
    assert same_law(values("fbeta", f2, "classes", 3), values("fbeta", f2, "cells", 4))
    # the checks can fail: macro recall of draws that resample the hits but keep each
    # class's misses as observed
    blocks = intervals._resampled_blocks(counts, "rows", b, np.random.default_rng(5))
    misses = (counts.true - counts.tp).astype(float)
    wrong = np.concatenate([intervals._FAST["recall"][0](tp, fp, np.broadcast_to(misses, tp.shape), tn,
                                                         float(counts.n), average="macro")
                            for tp, fp, fn, tn in blocks])
    assert not same_law(wrong, values("recall", {"average": "macro"}, "cells", 1))
