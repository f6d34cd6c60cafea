"""Operating points on threshold matrices: against brute force and scikit-learn's curves."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fastcm
from fastcm.answers.operating_points import OperatingPoint, threshold_for

sklearn_metrics = pytest.importorskip("sklearn.metrics")


def _brute(y, s, thr, name, target):
    """Every threshold's metrics from the scores directly; then the definition, literally."""
    y, s = np.asarray(y), np.asarray(s)
    best = None
    for j, t in enumerate(thr):
        pred = s >= t
        tp, fp = int(np.sum(pred & (y == 1))), int(np.sum(pred & (y == 0)))
        fn, tn = int(np.sum(~pred & (y == 1))), int(np.sum(~pred & (y == 0)))
        if name == "recall":
            ok = tp + fn > 0 and tp / (tp + fn) >= target
            better = best is None or t > thr[best]
        elif name == "precision":
            ok = tp + fp > 0 and tp / (tp + fp) >= target
            better = best is None or t < thr[best]
        else:
            ok = fp + tn > 0 and fp / (fp + tn) <= target
            better = best is None or t < thr[best]
        if ok and better:
            best = j
    return best


def _scores(rng, n):
    y = rng.integers(0, 2, n)
    s = np.clip(rng.normal(0.35 + 0.3 * y, 0.2), 0, 1).round(3)  # ties
    return y, s


@pytest.mark.parametrize("name,target", [("recall", 0.95), ("recall", 0.5), ("recall", 0.0), ("recall", 1.0),
                                         ("precision", 0.9), ("precision", 0.6), ("precision", 1.0),
                                         ("fpr", 0.01), ("fpr", 0.2), ("fpr", 0.0), ("fpr", 1.0)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_brute_force(name, target, seed):
    rng = np.random.default_rng(seed)
    y, s = _scores(rng, 400)
    thr = np.linspace(0, 1, 51)
    m = fastcm.threshold_confusion_matrices(y, s, thresholds=thr)
    p = threshold_for(m, thr, **{name: target})
    j = _brute(y, s, thr, name, target)
    assert isinstance(p, OperatingPoint)
    if j is None:
        assert p.achieved is False and np.isnan(p.threshold) and p.index == -1
        return
    assert p.achieved is True and p.index == j and p.threshold == thr[j]
    tn, fp, fn, tp = m[j].ravel().tolist()
    assert (p.tp, p.fp, p.tn, p.fn) == (tp, fp, tn, fn)
    assert p.recall == pytest.approx(tp / (tp + fn))
    assert p.fpr == pytest.approx(fp / (fp + tn)) and p.specificity == pytest.approx(tn / (fp + tn))
    if tp + fp:
        assert p.precision == pytest.approx(tp / (tp + fp))
    else:
        assert np.isnan(p.precision)
    assert p.f1 == pytest.approx(2 * tp / (2 * tp + fp + fn))
    assert {"recall": p.recall >= target, "precision": p.precision >= target, "fpr": p.fpr <= target}[name]


@given(st.integers(0, 2**32 - 1), st.integers(1, 60), st.integers(1, 12),
       st.sampled_from(["recall", "precision", "fpr"]), st.floats(0, 1))
def test_random_against_brute_force(seed, n, T, name, target):
    rng = np.random.default_rng(seed)
    y, s = _scores(rng, n)
    thr = np.sort(rng.choice(np.concatenate([s, rng.random(T)]), size=T))
    m = fastcm.threshold_confusion_matrices(y, s, thresholds=thr)
    j = _brute(y, s, thr, name, target)
    p = threshold_for(m, thr, **{name: target})
    # equal thresholds are equal points: compare the threshold value, not the index
    assert (j is None and not p.achieved) or (p.achieved and p.threshold == thr[j])


def test_against_sklearn_curves():
    rng = np.random.default_rng(3)
    y, s = _scores(rng, 2000)
    precision, recall, pr_thr = sklearn_metrics.precision_recall_curve(y, s)
    m = fastcm.threshold_confusion_matrices(y, s, thresholds=pr_thr)
    for r in (0.99, 0.9, 0.7, 0.3):
        want = pr_thr[recall[:-1] >= r].max()  # the highest threshold still reaching the recall
        p = threshold_for(m, pr_thr, recall=r)
        assert p.threshold == want
        assert p.precision == precision[:-1][pr_thr == want][0]
    for q in (0.7, 0.8, 0.9):
        ok = precision[:-1] >= q
        p = threshold_for(m, pr_thr, precision=q)
        assert p.threshold == pr_thr[ok].min()
        assert p.recall == recall[:-1][pr_thr == p.threshold][0]
    fpr, tpr, roc_thr = sklearn_metrics.roc_curve(y, s, drop_intermediate=False)
    finite = np.isfinite(roc_thr)
    roc_thr, fpr, tpr = roc_thr[finite][::-1], fpr[finite][::-1], tpr[finite][::-1]  # ascending
    m = fastcm.threshold_confusion_matrices(y, s, thresholds=roc_thr)
    for f in (0.01, 0.05, 0.2, 0.5):
        p = threshold_for(m, roc_thr, fpr=f)
        k = np.flatnonzero(fpr <= f)[0]
        assert p.threshold == roc_thr[k] and p.fpr == fpr[k] and p.recall == tpr[k]


def test_per_class_matches_each_curve_and_accumulator():
    rng = np.random.default_rng(4)
    C, n = 4, 1500
    y = rng.integers(0, C, n)
    s = rng.dirichlet(np.ones(C), n)
    s[np.arange(n), y] += 0.3 * rng.random(n)
    s /= 1.3  # probabilities: beyond [0, 1] they would be read as logits
    acc = fastcm.ThresholdConfusionMatrix(thresholds=101, num_classes=C).update(y, s)
    m = acc.compute()
    p = threshold_for(m, acc.thresholds, recall=0.9)
    assert p.threshold.shape == (C,) and p.achieved.dtype == bool
    for c in range(C):
        one = threshold_for(m[c], acc.thresholds, recall=0.9)
        assert one.threshold == p.threshold[c] and one.tp == p.tp[c] and one.precision == p.precision[c]
        binary = fastcm.threshold_confusion_matrices((y == c).astype(int), s[:, c], thresholds=acc.thresholds)
        assert threshold_for(binary, acc.thresholds, recall=0.9).threshold == p.threshold[c]
    q = threshold_for(m, acc.thresholds, precision=1.0 + 0.0)
    assert q.achieved.shape == (C,)
    assert np.all(np.isnan(q.threshold[~q.achieved])) and np.all(q.tp[~q.achieved] == 0)


def test_not_achieved_and_degenerate():
    thr = [0.2, 0.5, 0.8]
    only_negatives = np.array([[[0, 3], [0, 0]], [[2, 1], [0, 0]], [[3, 0], [0, 0]]])
    p = threshold_for(only_negatives, thr, recall=0.5)  # no positives: recall undefined everywhere
    assert p.achieved is False and np.isnan(p.threshold) and np.isnan(p.recall) and p.tp == 0
    assert threshold_for(only_negatives, thr, fpr=0.4).threshold == 0.5  # fpr 1/3
    assert threshold_for(np.zeros((0, 2, 2), np.int64), [], recall=0.5).achieved is False
    weighted = only_negatives.astype(np.float64) * 0.5
    assert threshold_for(weighted, thr, fpr=0.4).tn == 1.0


def test_invalid_arguments():
    m = np.zeros((3, 2, 2), np.int64)
    thr = [0.1, 0.2, 0.3]
    with pytest.raises(ValueError, match="exactly one of `recall`, `precision` or `fpr`, but got none"):
        threshold_for(m, thr)
    with pytest.raises(ValueError, match="but got recall=0.9, fpr=0.1"):
        threshold_for(m, thr, recall=0.9, fpr=0.1)
    for bad in (1.5, -0.1, float("nan"), True, "0.9"):
        with pytest.raises(ValueError, match=r"`recall` to be a number in \[0, 1\]"):
            threshold_for(m, thr, recall=bad)
    with pytest.raises(ValueError, match="shape"):
        threshold_for(np.zeros((3, 2)), thr, recall=0.5)
    with pytest.raises(ValueError, match="Expected 3 thresholds"):
        threshold_for(m, [0.1, 0.2], recall=0.5)
    with pytest.raises(ValueError, match="sorted ascending"):
        threshold_for(m, [0.3, 0.2, 0.1], recall=0.5)


def test_criterion_and_export():
    m = fastcm.threshold_confusion_matrices([0, 1], [0.2, 0.7], thresholds=[0.5])
    assert threshold_for(m, [0.5], recall=0.95).criterion == "recall>=0.95"
    assert threshold_for(m, [0.5], fpr=0.01).criterion == "fpr<=0.01"
    assert fastcm.threshold_for is threshold_for and fastcm.OperatingPoint is OperatingPoint
