"""The drop-ins equal scikit-learn: values, warnings and errors, on random skewed labels."""

import warnings

import numpy as np
import pytest
import sklearn.metrics as skm
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.utils._param_validation import InvalidParameterError

import fastcm

AVERAGES = [None, "micro", "macro", "weighted"]
ZERO_DIVISION = ["warn", 0, 1, np.nan]


def _run(fn, *args, **kwargs):
    """Result and the warning messages, or the exception."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out = fn(*args, **kwargs)
        except (ValueError, TypeError) as exc:  # scikit-learn's InvalidParameterError is both
            return ("error", ValueError if isinstance(exc, ValueError) else TypeError), []
    return out, sorted({(w.category.__name__, str(w.message)) for w in caught})


def _same(a, b, atol=1e-14):
    if isinstance(a, tuple) and len(a) == 2 and isinstance(a[0], str):
        assert isinstance(b, tuple) and len(b) == 2 and isinstance(b[0], str)
        assert a == b
        return
    if isinstance(a, (tuple, list)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y, atol)
        return
    if a is None or b is None:
        assert a is None and b is None
        return
    np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), rtol=1e-12, atol=atol)


def _check(name, *args, atol=1e-14, **kwargs):
    ours, our_warnings = _run(getattr(fastcm, name), *args, **kwargs)
    theirs, their_warnings = _run(getattr(skm, name), *args, **kwargs)
    _same(ours, theirs, atol)
    assert our_warnings == their_warnings


def _sum_rounding(n, w):
    """How far two float64 sums of ``n`` weights ``w`` may differ by order alone: counts
    found by subtracting sums (scikit-learn's tn = total - tp - fp - fn) can be a few ulp of
    the weights' sum off the counted value, which may be exactly 0 (scikit-learn: -1e-14)."""
    return 1e-14 if w is None else max(1e-14, n * np.finfo(np.float64).eps * float(np.abs(w).sum()))


# skewed label distributions with absent classes: weights favour class 0
skewed = st.lists(st.sampled_from([0] * 8 + [1, 2, 3, 5]), min_size=1, max_size=60)


@st.composite
def label_pairs(draw):
    t = draw(skewed)
    p = draw(st.lists(st.sampled_from([0] * 6 + [1, 2, 4, 5]), min_size=len(t), max_size=len(t)))
    w = draw(st.none() | st.lists(st.floats(0.1, 3), min_size=len(t), max_size=len(t)))
    return np.array(t), np.array(p), None if w is None else np.array(w)


@settings(max_examples=25)
@given(data=label_pairs(), average=st.sampled_from(AVERAGES), zero_division=st.sampled_from(ZERO_DIVISION))
def test_precision_recall_f_family(data, average, zero_division):
    t, p, w = data
    kw = dict(average=average, sample_weight=w, zero_division=zero_division)
    _check("precision_recall_fscore_support", t, p, **kw)
    _check("precision_score", t, p, **kw)
    _check("recall_score", t, p, **kw)
    _check("f1_score", t, p, **kw)
    _check("fbeta_score", t, p, beta=0.5, **kw)
    _check("f1_score", t, p, labels=[5, 0, 7], **kw)
    if zero_division != np.nan and not (isinstance(zero_division, float) and np.isnan(zero_division)):
        _check("jaccard_score", t, p, **kw)


@settings(max_examples=20)
@given(data=label_pairs())
def test_binary_average_and_pos_label(data):
    t, p, w = data
    tb, pb = (t > 0).astype(int), (p > 0).astype(int)
    for pos_label in (1, 0):
        _check("precision_recall_fscore_support", tb, pb, average="binary", pos_label=pos_label, sample_weight=w)
        _check("f1_score", tb, pb, pos_label=pos_label, sample_weight=w)
        _check("jaccard_score", tb, pb, pos_label=pos_label, sample_weight=w)
    _check("f1_score", t, p)  # multiclass with average='binary': the same error
    _check("precision_score", tb, pb, pos_label=7)  # invalid pos_label
    _check("recall_score", t, p, average="macro", pos_label=2)  # ignored pos_label warns


@given(data=label_pairs())
def test_scores_from_one_matrix(data):
    t, p, w = data
    _check("accuracy_score", t, p, sample_weight=w)
    _check("accuracy_score", t, p, normalize=False, sample_weight=w)
    _check("balanced_accuracy_score", t, p, sample_weight=w)
    _check("balanced_accuracy_score", t, p, sample_weight=w, adjusted=True)
    _check("matthews_corrcoef", t, p, sample_weight=w)
    for weights in (None, "linear", "quadratic"):
        _check("cohen_kappa_score", t, p, weights=weights, sample_weight=w)


@settings(max_examples=20)
@given(data=label_pairs(), digits=st.integers(0, 5), zero_division=st.sampled_from(ZERO_DIVISION))
def test_classification_report_is_byte_identical(data, digits, zero_division):
    t, p, w = data
    # float weights included: supports print every digit, so they must round as scikit-learn's
    kw = dict(sample_weight=w, digits=digits, zero_division=zero_division)
    ours, ow = _run(fastcm.classification_report, t, p, **kw)
    theirs, tw = _run(skm.classification_report, t, p, **kw)
    assert ours == theirs and ow == tw
    for extra in ({"labels": [0, 5, 9]}, {"output_dict": True}):
        a, aw = _run(fastcm.classification_report, t, p, **extra, **kw)
        b, bw = _run(skm.classification_report, t, p, **extra, **kw)
        if isinstance(a, dict):
            assert a.keys() == b.keys()
            for key in a:
                _same(list(a[key].values()) if isinstance(a[key], dict) else a[key],
                      list(b[key].values()) if isinstance(b[key], dict) else b[key])
        else:
            assert a == b
        assert aw == bw


def test_report_with_string_labels_and_target_names():
    t = ["cat", "dog", "bird", "dog", "cat", "cat"]
    p = ["dog", "dog", "bird", "cat", "cat", "bird"]
    names = ["Bird", "Cat", "Dog"]
    assert fastcm.classification_report(t, p, target_names=names) == skm.classification_report(t, p, target_names=names)
    assert fastcm.classification_report(t, p, digits=4) == skm.classification_report(t, p, digits=4)
    _check("classification_report", t, p, target_names=["a", "b"])  # size mismatch: same error


@pytest.mark.parametrize("average", [None, "micro", "macro", "weighted", "samples"])
def test_multilabel_indicators(average):
    rng = np.random.default_rng(0)
    t = rng.integers(0, 2, (50, 4))
    p = rng.integers(0, 2, (50, 4))
    t[:, 3] = 0
    p[:, 3] = 0  # a label never present: zero divisions
    w = rng.random(50)
    for zd in ("warn", 0, 1):
        _check("precision_recall_fscore_support", t, p, average=average, zero_division=zd)
        _check("f1_score", t, p, average=average, sample_weight=w, zero_division=zd)
        _check("jaccard_score", t, p, average=average, zero_division=zd)
    _check("accuracy_score", t, p)
    _check("accuracy_score", t, p, sample_weight=w)
    _check("multilabel_confusion_matrix", t, p)
    _check("multilabel_confusion_matrix", t, p, samplewise=True, sample_weight=w)
    _check("multilabel_confusion_matrix", t, p, labels=[2, 0])
    assert fastcm.classification_report(t, p, zero_division=0) == skm.classification_report(t, p, zero_division=0)


@given(data=label_pairs())
def test_multilabel_confusion_matrix_multiclass(data):
    t, p, w = data
    _check("multilabel_confusion_matrix", t, p, sample_weight=w, atol=_sum_rounding(len(t), w))
    _check("multilabel_confusion_matrix", t, p, labels=[5, 0, 9])


def test_multilabel_confusion_matrix_tn_of_zero_within_the_rounding_of_the_weights():
    # every row is tp, fp or fn of label 0: tn is 0, which scikit-learn finds as -7.1e-15
    t = np.array([0, 1, 0, 1, 1, 0, 0, 0, 1, 1, 0])
    p = np.array([1, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0])
    w = np.array([1.25, 1.75, 1.45, 1.86, 2.31, 0.98, 2.22, 2.31, 2.44, 2.97, 0.63])
    _check("multilabel_confusion_matrix", t, p, sample_weight=w, atol=_sum_rounding(len(t), w))
    with pytest.raises(AssertionError):  # a fixed 1e-14 is below the rounding of this sum
        _check("multilabel_confusion_matrix", t, p, sample_weight=w)
    assert _sum_rounding(len(t), w) < 1e-12  # still far below any weight


def test_multilabel_scores_with_thresholds(backend):
    rng = np.random.default_rng(1)
    t = rng.integers(0, 2, (300, 3))
    s = rng.random((300, 3))
    thr = np.array([0.2, 0.5, 0.9])
    expected = skm.multilabel_confusion_matrix(t, (s >= thr).astype(int))
    got = fastcm.multilabel_confusion_matrix(t, s, threshold=thr, backend=backend)
    np.testing.assert_array_equal(got, expected)
    s[4, 1] = np.nan
    with pytest.raises(ValueError, match=r"index \(4, 1\)"):
        fastcm.multilabel_confusion_matrix(t, s, backend=backend)


def test_multilabel_confusion_matrix_reads_logits_through_a_sigmoid(backend):
    rng = np.random.default_rng(2)
    t = rng.integers(0, 2, (300, 3))
    x = rng.normal(0, 2, (300, 3))
    w = rng.integers(0, 3, 300).astype(float)
    probs = 1.0 / (1.0 + np.exp(-x))
    for threshold in (0.5, np.array([0.2, 0.5, 0.9])):
        hard = (probs >= threshold).astype(int)
        for kw in ({}, {"scores": "auto"}, {"scores": "logits"}):  # auto: values outside [0, 1] are logits
            got = fastcm.multilabel_confusion_matrix(t, x, threshold=threshold, backend=backend, **kw)
            np.testing.assert_array_equal(got, skm.multilabel_confusion_matrix(t, hard))
            got = fastcm.multilabel_confusion_matrix(t, x, threshold=threshold, sample_weight=w, samplewise=True,
                                                     backend=backend, **kw)
            np.testing.assert_array_equal(got, skm.multilabel_confusion_matrix(t, hard, sample_weight=w, samplewise=True))
        for kw in ({}, {"scores": "probabilities"}):  # the same scores as probabilities
            got = fastcm.multilabel_confusion_matrix(t, probs, threshold=threshold, backend=backend, **kw)
            np.testing.assert_array_equal(got, skm.multilabel_confusion_matrix(t, hard))
    got = fastcm.multilabel_confusion_matrix(t, x, labels=[2, 0], threshold=[0.9, 0.2], backend=backend)
    np.testing.assert_array_equal(got, skm.multilabel_confusion_matrix(t, (probs >= [0.2, 0.5, 0.9]).astype(int), labels=[2, 0]))
    # thresholds reaching outside [0, 1] are in the scores' own units: compared as given
    got = fastcm.multilabel_confusion_matrix(t, x, threshold=[-1.0, 0.5, 2.0], backend=backend)
    np.testing.assert_array_equal(got, skm.multilabel_confusion_matrix(t, (x >= [-1.0, 0.5, 2.0]).astype(int)))
    # indicator predictions are probabilities 0 and 1: unchanged
    np.testing.assert_array_equal(fastcm.multilabel_confusion_matrix(t, hard, backend=backend),
                                  skm.multilabel_confusion_matrix(t, hard))
    first = np.argmax(((x < 0) | (x > 1)).reshape(-1))
    i, j = divmod(int(first), 3)
    with pytest.raises(ValueError, match=rf"probabilities in \[0, 1\] in `y_pred`.*index \({i}, {j}\).*scores='logits'"):
        fastcm.multilabel_confusion_matrix(t, x, scores="probabilities", backend=backend)
    with pytest.raises(ValueError, match="Expected `scores` to be one of"):
        fastcm.multilabel_confusion_matrix(t, x, scores="sigmoid", backend=backend)


@settings(max_examples=25)
@given(
    n=st.integers(3, 80),
    c=st.integers(3, 6),
    k=st.integers(1, 6),
    seed=st.integers(0, 2**31),
    weighted=st.booleans(),
)
def test_top_k_accuracy(n, c, k, seed, weighted):
    rng = np.random.default_rng(seed)
    t = np.concatenate([np.arange(c), rng.integers(0, c, n)])
    s = rng.integers(0, 4, (t.size, c)).astype(float)  # ties everywhere
    w = rng.random(t.size) if weighted else None
    _check("top_k_accuracy_score", t, s, k=k, sample_weight=w)
    _check("top_k_accuracy_score", t, s, k=k, normalize=False)


def test_top_k_binary_and_labels():
    t = np.array([0, 1, 1, 0])
    s = np.array([0.2, 0.7, 0.4, 0.6])
    for k in (1, 2):
        _check("top_k_accuracy_score", t, s, k=k)
    s3 = np.random.default_rng(0).random((4, 3))
    _check("top_k_accuracy_score", t, s3, k=1, labels=[0, 1, 2])
    _check("top_k_accuracy_score", t, s3, k=1, labels=[0, 2, 1])


def test_warning_class_is_caught_as_sklearns():
    with pytest.warns(UndefinedMetricWarning):
        fastcm.precision_score([0, 0], [0, 0], zero_division="warn")
    with pytest.warns(fastcm.UndefinedMetricWarning):
        fastcm.recall_score([0, 0], [1, 1])


def test_errors_like_sklearn():
    _check("accuracy_score", [0, 1], [0])
    _check("accuracy_score", [], [])
    _check("precision_score", [0, 1, 2], [0, 1, 2], average="samples")
    _check("precision_score", [0, 1], [0, 1], average="bogus")
    _check("cohen_kappa_score", [0, 1], [0, 1], labels=[5])


@pytest.mark.parametrize("average", [None, "micro", "macro", "weighted", "samples"])
def test_multilabel_scores_with_a_threshold_equal_thresholding_first(average):
    rng = np.random.default_rng(11)
    t = rng.integers(0, 2, (60, 4))
    s = rng.random((60, 4))
    thr = np.array([0.2, 0.5, 0.7, 0.9])
    for threshold in (0.5, thr):
        hard = (s >= threshold).astype(int)
        for name in ("precision_score", "recall_score", "f1_score", "jaccard_score"):
            ours = getattr(fastcm, name)(t, s, average=average, threshold=threshold, zero_division=0)
            theirs = getattr(skm, name)(t, hard, average=average, zero_division=0)
            np.testing.assert_allclose(ours, theirs, rtol=1e-12)
        ours = fastcm.fbeta_score(t, s, beta=2, average=average, threshold=threshold, zero_division=0)
        np.testing.assert_allclose(ours, skm.fbeta_score(t, hard, beta=2, average=average, zero_division=0), rtol=1e-12)
    # a threshold per label follows the columns picked by `labels`
    ours = fastcm.precision_score(t, s, labels=[3, 1], average=None, threshold=thr, zero_division=0)
    theirs = skm.precision_score(t, (s >= thr).astype(int), labels=[3, 1], average=None, zero_division=0)
    np.testing.assert_allclose(ours, theirs)
    assert fastcm.classification_report(t, s, threshold=thr) == skm.classification_report(t, (s >= thr).astype(int))


def test_threshold_needs_multilabel_scores():
    with pytest.raises(ValueError, match="threshold"):
        fastcm.precision_score([0, 1, 1], [0.2, 0.8, 0.4], threshold=0.5)
    with pytest.raises(ValueError, match="threshold"):
        fastcm.f1_score([[0, 1], [1, 0]], [[0.2, 0.8, 0.1], [0.3, 0.1, 0.5]], average="micro", threshold=0.5)


def test_sample_weight_must_be_one_dimensional():
    t, p = [0, 1, 1, 0], [0, 1, 0, 0]
    for name in ("precision_score", "accuracy_score", "matthews_corrcoef", "jaccard_score", "classification_report"):
        _check(name, t, p, sample_weight=[[1], [2], [1], [1]])  # scikit-learn refuses a column too
        _check(name, t, p, sample_weight=2.0)  # a scalar: a clear ValueError, not len() failing
    with pytest.raises(ValueError, match="1D"):
        fastcm.f1_score(t, p, sample_weight=np.ones((1, 4)))


def test_fbeta_rejects_nan_and_non_numbers():
    t, p = [0, 1, 2, 2], [0, 2, 2, 1]
    for beta in (np.nan, "2", None):
        _check("fbeta_score", t, p, beta=beta, average="macro")
        _check("precision_recall_fscore_support", t, p, beta=beta)
    assert fastcm.fbeta_score(t, p, beta=np.inf, average="macro") == skm.fbeta_score(t, p, beta=np.inf, average="macro")


def test_multilabel_integer_weights_keep_integer_supports():
    # scikit-learn's per-label sums are bincounts: int64 when a chosen column holds no 1 at all
    t = np.array([[0, 0, 1], [0, 1, 1], [0, 0, 1], [0, 0, 0]])
    p = np.array([[0, 1, 0], [0, 1, 0], [0, 0, 1], [0, 1, 0]])
    w = np.array([1, 0, 2, 3])
    for labels in ([0], [0, 2], None):
        ours = fastcm.precision_recall_fscore_support(t, p, labels=labels, sample_weight=w, zero_division=0)[3]
        theirs = skm.precision_recall_fscore_support(t, p, labels=labels, sample_weight=w, zero_division=0)[3]
        np.testing.assert_array_equal(ours, theirs)
        assert ours.dtype == theirs.dtype
    assert fastcm.precision_recall_fscore_support(t, p, labels=[0], sample_weight=w, zero_division=0)[3].dtype == np.int64
    report = fastcm.classification_report(t, p, labels=[0], sample_weight=w, zero_division=0)
    assert report == skm.classification_report(t, p, labels=[0], sample_weight=w, zero_division=0)
    assert report.splitlines()[2].split()[-1] == "0"


def test_balanced_accuracy_warns_for_a_class_whose_samples_weigh_zero():
    t = np.array([-1, 1, 1, 0, -1, 0])
    p = np.array([0, 1, 1, 0, -1, 0])
    w = np.array([0, 1, 2, 1, 0, 3])  # class -1 is seen, but all its pairs weigh zero
    _check("balanced_accuracy_score", t, p, sample_weight=w)
    _check("balanced_accuracy_score", t, p, sample_weight=w, adjusted=True)
    with pytest.warns(UserWarning, match="y_pred contains classes not in y_true"):
        assert fastcm.balanced_accuracy_score(t, p, sample_weight=w) == 1.0


def test_top_k_invalid_inputs_like_sklearn():
    t3, s3 = [0, 1, 2], np.eye(3)
    for fn in (fastcm.strict.top_k_accuracy_score, skm.top_k_accuracy_score):  # the top level: see below
        with pytest.raises(ZeroDivisionError, match="Weights sum to zero"):
            fn(t3, s3, sample_weight=[0, 0, 0])
        assert fn(t3, s3, sample_weight=[0, 0, 0], normalize=False) == 0.0
    _check("top_k_accuracy_score", [0, 1, 1], [0.1, np.nan, 0.3], k=1)  # binary scores: NaN refused
    _check("top_k_accuracy_score", [0, 1, 1], [0.1, np.inf, 0.3], k=2)
    _check("top_k_accuracy_score", [0.5, 1, 2], s3)  # continuous y_true
    _check("top_k_accuracy_score", [0, 1, 1], ["a", "b", "c"], k=1)
    with pytest.raises(ValueError, match="finite"):
        fastcm.top_k_accuracy_score([0, 1, 1], [0.1, np.nan, 0.3], k=1)
    scores = np.array([[0.2, 0.5, 0.3], [0.1, 0.1, 0.8], [0.3, 0.3, 0.4]])
    for bad in (np.inf, -np.inf, np.nan):  # multiclass scores: the kernels flag only NaN
        s = scores.copy()
        s[2, 1] = bad
        _check("top_k_accuracy_score", [0, 1, 2], s, k=2)
        with pytest.raises(ValueError, match=rf"got {bad!r} in row 2"):
            fastcm.top_k_accuracy_score([0, 1, 2], s, k=2)


def _same_error(name, *args, **kwargs):
    """Both libraries raise a ValueError; returns the two messages."""
    with pytest.raises(ValueError) as ours:
        getattr(fastcm, name)(*args, **kwargs)
    with pytest.raises(ValueError) as theirs:
        getattr(skm, name)(*args, **kwargs)
    return str(ours.value), str(theirs.value)


def test_curve_scores_invalid_inputs_raise_as_sklearn():
    t, s = np.array([0, 1, 1, 0]), np.array([0.1, 0.4, 0.35, 0.8])
    for name in ("roc_curve", "precision_recall_curve", "roc_auc_score", "average_precision_score"):
        ours, theirs = _same_error(name, t, s, sample_weight=np.zeros(4))
        assert ours == theirs == "Sample weights must contain at least one non-zero number."
    y, ys = np.array([[0, 1], [1, 0], [1, 1]]), np.random.default_rng(0).random((3, 2))
    for name in ("roc_auc_score", "average_precision_score"):
        _same_error(name, y, ys, sample_weight=np.zeros(3))
        _same_error(name, y, ys, sample_weight=np.ones((1, 3)))  # not flattened
        _same_error(name, t, s, average="bogus")  # checked for binary targets too
    _same_error("roc_auc_score", [], [])
    _same_error("roc_auc_score", t, s, multi_class="bogus")
    _same_error("roc_auc_score", t, s, max_fpr="0.5")
    for name in ("roc_curve", "precision_recall_curve", "average_precision_score"):
        with pytest.raises(ValueError, match="0 sample"):  # scikit-learn fails with an IndexError
            getattr(fastcm, name)([], [])
        with pytest.raises(ValueError) as exc:  # not a numba typing error
            getattr(fastcm, name)(t, np.array(["a", "b", "c", "d"]))
        assert isinstance(exc.value, TypeError)  # scikit-learn's is a TypeError here


def test_partial_auc_without_weighted_negatives_raises_as_sklearn():
    t = np.array([1, 0, 1, 1, 0])
    s = np.array([0.9, 0.2, 0.4, 0.6, 0.7])
    w = np.array([2, 0, 1, 1, 0])  # both negatives weigh zero: the fpr is all NaN
    with pytest.warns(UserWarning, match="No negative samples"):
        ours, theirs = _same_error("roc_auc_score", t, s, sample_weight=w, max_fpr=0.3)
    assert ours == theirs
    assert fastcm.roc_auc_score(t, s, sample_weight=w * 0 + 1, max_fpr=0.3) == skm.roc_auc_score(t, s, max_fpr=0.3)


def test_roc_auc_one_class_with_two_score_columns_is_nan_as_sklearn():
    t, s = np.array([1, 1, 1]), np.array([[0.4, 0.6], [0.3, 0.7], [0.8, 0.2]])
    for fn in (fastcm.roc_auc_score, skm.roc_auc_score):
        with pytest.warns(UserWarning, match="Only one class is present"):
            assert np.isnan(fn(t, s))


# -- issue 36: labels present only with zero weight, all-zero weights, empty input, messages --


@pytest.mark.parametrize("module", ["fastcm", "strict"])
@pytest.mark.parametrize("output_dict", [True, False])
@pytest.mark.parametrize(
    "t, p, w",
    [
        ([False, True], [0, 1], [0.0, 1.0]),  # False is in y_true, with zero weight: rows 'False', 'True'
        ([1, 2, 2], [1.0, 2.0, 2.0], [0, 1, 1]),  # 1 is in y_true, with zero weight: rows '1', '2'
        (np.array([False, True, True]), np.array([1, 1, 0]), np.array([1.0, -1.0, 0.0])),  # True's weights sum to 0
        ([1, 2, 2], [1.0, 2.0, 3.0], [1, 1, 0]),  # 3.0 only in y_pred, with zero weight: rows '1.0' .. '3.0'
    ],
)
def test_report_names_labels_from_the_labels_not_their_weights(module, output_dict, t, p, w):
    report = (fastcm.strict if module == "strict" else fastcm).classification_report
    kw = dict(sample_weight=w, output_dict=output_dict, zero_division=0)
    assert report(t, p, **kw) == skm.classification_report(t, p, **kw)


@pytest.mark.parametrize("module", ["fastcm", "strict"])
@pytest.mark.parametrize(
    "t, p, kw",
    [
        ([0, 1], [0, 1], {}),
        ([[0, 1], [1, 0]], [[0, 1], [1, 1]], {}),
        ([[0, 1], [1, 0]], [[0, 1], [1, 1]], {"samplewise": True}),
        ([[0, 1], [1, 0]], [[0.7, 0.1], [0.2, 0.9]], {"threshold": 0.5}),
    ],
)
def test_multilabel_confusion_matrix_refuses_all_zero_weights(module, t, p, kw):
    if module == "strict" and "threshold" in kw:
        pytest.skip("threshold is fastcm's extension")
    fn = (fastcm.strict if module == "strict" else fastcm).multilabel_confusion_matrix
    for w in ([0, 0], [0.0, -0.0]):
        with pytest.raises(ValueError, match="^Sample weights must contain at least one non-zero number.$"):
            fn(t, p, sample_weight=w, **kw)


@pytest.mark.parametrize("normalize", [True, False])
def test_top_k_refuses_all_zero_weights_as_the_other_drop_ins(normalize):
    t3, s3 = [0, 1, 2], np.eye(3)
    with pytest.raises(ValueError, match="^Sample weights must contain at least one non-zero number.$"):
        fastcm.top_k_accuracy_score(t3, s3, sample_weight=[0, 0, 0], normalize=normalize)
    with pytest.raises(ValueError, match="^Sample weights must contain at least one non-zero number.$"):
        fastcm.accuracy_score(t3, [0, 1, 2], sample_weight=[0, 0, 0], normalize=normalize)
    # fastcm.strict keeps scikit-learn's own outcome
    for fn in (fastcm.strict.top_k_accuracy_score, skm.top_k_accuracy_score):
        if normalize:
            with pytest.raises(ZeroDivisionError, match="Weights sum to zero"):
                fn(t3, s3, sample_weight=[0, 0, 0])
        else:
            assert fn(t3, s3, sample_weight=[0, 0, 0], normalize=False) == 0.0


@pytest.mark.parametrize(
    "kw", [{}, {"labels": [0, 1, 2]}, {"labels": [0, 1, 2], "normalize": False}, {"sample_weight": []}, {"k": 1}]
)
@pytest.mark.parametrize("shape", [(0, 3), (0,)])
def test_top_k_on_empty_input_is_the_value_error_of_the_other_drop_ins(kw, shape):
    with pytest.raises(ValueError) as other:
        fastcm.accuracy_score(np.zeros(0, np.int64), np.zeros(0, np.int64))
    with pytest.raises(ValueError) as exc:
        fastcm.top_k_accuracy_score(np.zeros(0, np.int64), np.zeros(shape), **kw)
    assert str(exc.value) == str(other.value).replace("y_pred", "y_score")
    with pytest.raises(ValueError, match="0 sample"):  # scikit-learn's check_array
        fastcm.strict.top_k_accuracy_score(np.zeros(0, np.int64), np.zeros(shape), **kw)


@pytest.mark.parametrize(
    "call, named",
    [
        (lambda m: m.precision_score([0, 1], [0, 1], average="mean"), "'mean'"),
        (lambda m: m.jaccard_score([0, 1], [0, 1], average="all"), "'all'"),
        (lambda m: m.precision_recall_fscore_support([0, 1], [0, 1], average="Macro"), "'Macro'"),
        (lambda m: m.jaccard_score([0, 1, 2], [0, 1, 1], average="samples"), "multiclass"),
        (lambda m: m.f1_score([0, 1, 2], [0, 1, 1], average="samples"), "multiclass"),
        (lambda m: m.multilabel_confusion_matrix([0, 1, 2], [0, 1, 1], samplewise=True), "samplewise=True"),
        (lambda m: m.f1_score([[0, 1], [1, 1]], [0, 1], average="macro"), "(2, 2)"),
        (lambda m: m.balanced_accuracy_score([[0, 1], [1, 1]], [0, 1]), "(2, 2)"),
        (lambda m: m.top_k_accuracy_score([0, 0.5, 2], np.eye(3)), "0.5"),
        (lambda m: m.top_k_accuracy_score(["c", "c", "a"], np.eye(3), labels=["a", "c", "c"]), "['a', 'c', 'c']"),
        (lambda m: m.top_k_accuracy_score(["c", "c", "a"], np.eye(3), labels=["a", "c", "b"]), "['a', 'c', 'b']"),
        (lambda m: m.top_k_accuracy_score([0, 0, 5], np.eye(3), labels=[0, 1, 3]), "5"),
        (lambda m: m.cohen_kappa_score([0, 1], [0, 1], labels=[7, 8]), "[7, 8]"),
    ],
)
@pytest.mark.parametrize("module", ["fastcm", "strict"])
def test_invalid_argument_messages_name_what_was_given(call, named, module):
    mod = fastcm.strict if module == "strict" else fastcm
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError) as exc:
            call(mod)
        with pytest.raises(ValueError) as theirs:
            call(skm)
    if module == "strict" and str(exc.value) == str(theirs.value):
        return  # refused by scikit-learn's own checks first, in its own words
    assert named in str(exc.value), str(exc.value)
    if isinstance(theirs.value, InvalidParameterError):
        return  # scikit-learn's parameter validation: fastcm.strict runs it; the top level has its own words
    # scikit-learn's words stay, so code matching on them keeps working
    words = str(theirs.value).split(". Got")[0].split(", got")[0].rstrip(".")
    if "mix of" in words or "average has to be one of" in words:
        words = words.split(" of ")[0]
    assert words in str(exc.value), (str(exc.value), str(theirs.value))


# -- strictly as scikit-learn: value, dtype, text, warning or error, where the looser
# -- comparisons above would let a difference through (e.g. int64 against float64 supports)


T = np.array([0, 1, 2, 2, 1, 0])
P = np.array([0, 2, 2, 1, 1, 1])
INT_W = np.array([1, 2, 3, 4, 5, 6])
ML_T = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 0]])
ML_P = np.array([[1, 0, 0], [0, 1, 1], [0, 1, 0], [0, 0, 0]])


def _same_array(ours, theirs):
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)


# -- integer sample weights: scikit-learn's sums are float64 whenever weights are given ----


@pytest.mark.parametrize("t, p", [(T, P), (list("abcaab"), list("abccba")), (ML_T, ML_P), ([1, 1], [1, 1])])
def test_integer_weights_give_float_supports(t, p):
    w = np.arange(len(t)) + 1
    _same_array(fastcm.multilabel_confusion_matrix(t, p, sample_weight=w), skm.multilabel_confusion_matrix(t, p, sample_weight=w))
    _same_array(
        fastcm.precision_recall_fscore_support(t, p, sample_weight=w, zero_division=0)[3],
        skm.precision_recall_fscore_support(t, p, sample_weight=w, zero_division=0)[3],
    )
    kw = dict(sample_weight=w, zero_division=0)
    assert fastcm.classification_report(t, p, **kw) == skm.classification_report(t, p, **kw)


def test_integer_weights_samplewise():
    w = np.array([1, 2, 3, 4])
    _same_array(
        fastcm.multilabel_confusion_matrix(ML_T, ML_P, sample_weight=w, samplewise=True),
        skm.multilabel_confusion_matrix(ML_T, ML_P, sample_weight=w, samplewise=True),
    )


# -- labels keep their dtype: bool and float classes are named as scikit-learn names them ----


@pytest.mark.parametrize(
    "t, p",
    [
        (np.array([True, False, True]), np.array([True, True, False])),
        (np.array([0.0, 1.0, 2.0]), np.array([0.0, 2.0, 2.0])),
        (np.array([0, 1, 1], np.float32), np.array([0, 1, 0], np.float32)),
        (np.array([0, 1, 2]), np.array([0.0, 1.0, 1.0])),  # y_true's values name the classes...
        (np.array([0, 1, 2]), np.array([0.0, 1.0, 3.0])),  # ...unless y_pred brings its own
        (np.array([True, False]), np.array([1, 0])),
        (np.array([True, False]), np.array([1, 2])),
    ],
)
def test_report_names_bool_and_float_labels_like_sklearn(t, p):
    kw = dict(zero_division=0)
    assert fastcm.classification_report(t, p, **kw) == skm.classification_report(t, p, **kw)
    assert fastcm.classification_report(t, p, output_dict=True, **kw).keys() == skm.classification_report(
        t, p, output_dict=True, **kw
    ).keys()


# -- the drop-ins built on one matrix reject what scikit-learn rejects ------------------------


@pytest.mark.parametrize("name", ["balanced_accuracy_score", "cohen_kappa_score"])
@pytest.mark.parametrize(
    "t, p, match",
    [
        (ML_T, ML_P, "multilabel-indicator is not supported"),
        ([], [], "Found empty input array"),
        ([0, 1], [0, 1, 1], "inconsistent numbers of samples"),
    ],
)
def test_single_matrix_drop_ins_reject_like_sklearn(name, t, p, match):
    with pytest.raises(ValueError, match=match):
        getattr(skm, name)(t, p)
    with pytest.raises(ValueError, match=match):
        getattr(fastcm, name)(t, p)


@pytest.mark.parametrize("name", ["balanced_accuracy_score", "cohen_kappa_score", "matthews_corrcoef"])
def test_all_zero_weights_rejected_like_sklearn(name):
    with pytest.raises(ValueError, match="at least one non-zero"):
        getattr(skm, name)([0, 1], [0, 1], sample_weight=[0, 0])
    with pytest.raises(ValueError, match="at least one non-zero"):
        getattr(fastcm, name)([0, 1], [0, 1], sample_weight=[0, 0])


def test_kappa_checks_weights_before_counting():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "single label" warning before the error
        with pytest.raises(ValueError, match="weights"):
            fastcm.cohen_kappa_score([0, 0], [0, 0], weights="cubic")


# -- errors of the same class as scikit-learn's (its InvalidParameterError is both) -----------


@pytest.mark.parametrize(
    "call",
    [
        lambda m: m.confusion_matrix(["a", "b"], [1, 2]),
        lambda m: m.accuracy_score(["a", "b"], [1, 2]),
        lambda m: m.precision_score(["a", "b"], [1, 2], average="macro"),
        lambda m: m.classification_report(["a", "b"], [1, 2]),
    ],
)
def test_mixed_string_and_number_labels_is_a_value_error(call):
    with pytest.raises(ValueError, match="Mix of label input types"):
        call(skm)
    with pytest.raises(ValueError, match="Mix of label input types"):
        call(fastcm)
    with pytest.raises(TypeError):  # fastcm's earlier contract still holds
        call(fastcm)


@pytest.mark.parametrize("bad", [None, 3])
def test_none_or_scalar_is_a_value_error_and_a_type_error(bad):
    for exc in (ValueError, TypeError):
        with pytest.raises(exc):
            skm.f1_score(bad, [0, 1])
        with pytest.raises(exc, match="array-like"):
            fastcm.f1_score(bad, [0, 1])
        with pytest.raises(exc, match="array-like"):
            fastcm.confusion_matrix(bad, [0, 1])


@pytest.mark.parametrize("zero_division", [True, False])
def test_bool_zero_division_is_one_or_zero(zero_division):
    for name in ("precision_score", "recall_score", "f1_score", "jaccard_score"):
        ours = getattr(fastcm, name)([0, 0, 1], [0, 0, 0], zero_division=zero_division)
        theirs = getattr(skm, name)([0, 0, 1], [0, 0, 0], zero_division=zero_division)
        assert ours == theirs


# -- multilabel_confusion_matrix edge cases -------------------------------------------------


def test_multilabel_confusion_matrix_empty_labels_and_inputs():
    _same_array(fastcm.multilabel_confusion_matrix(ML_T, ML_P, labels=[]), skm.multilabel_confusion_matrix(ML_T, ML_P, labels=[]))
    with pytest.raises(ValueError, match="Found empty input array"):
        skm.multilabel_confusion_matrix([], [])
    with pytest.raises(ValueError, match="Found empty input array"):
        fastcm.multilabel_confusion_matrix([], [])


# -- inputs: bfloat16 logits (mixed-precision training) and buffer objects ----------------------


def test_bfloat16_torch_logits():
    torch = pytest.importorskip("torch")
    t = torch.tensor([0, 1, 2, 2])
    logits = torch.tensor([[2.0, 0.1, 0.3], [0.1, 3.0, 0.2], [0.0, 0.5, 1.0], [4.0, 0.0, 1.0]])
    expected = fastcm.confusion_matrix(t, logits, num_classes=3)
    np.testing.assert_array_equal(fastcm.confusion_matrix(t, logits.to(torch.bfloat16), num_classes=3), expected)
    cm = fastcm.ConfusionMatrix(3).update(t, logits.to(torch.bfloat16))
    np.testing.assert_array_equal(cm.compute(), expected)


def test_memoryview_is_an_array_not_a_scalar():
    t = np.array([0, 1, 1, 2])
    p = np.array([0, 1, 2, 2])
    np.testing.assert_array_equal(fastcm.confusion_matrix(memoryview(t), memoryview(p)), skm.confusion_matrix(t, p))


# -- multilabel reports with float weights: supports printed with every digit -----------------


@pytest.mark.parametrize("seed", range(6))
def test_multilabel_report_with_float_weights_is_byte_identical(seed):
    rng = np.random.default_rng(seed)
    t = (rng.random((14, 3)) < 0.6).astype(int)
    p = (rng.random((14, 3)) < 0.5).astype(int)
    w = rng.random(14)
    for kw in ({}, {"labels": [2, 0]}, {"output_dict": True}):
        assert fastcm.classification_report(t, p, sample_weight=w, zero_division=0, **kw) == skm.classification_report(
            t, p, sample_weight=w, zero_division=0, **kw
        )
    _same_array(
        fastcm.precision_recall_fscore_support(t, p, sample_weight=w, zero_division=0)[3],
        skm.precision_recall_fscore_support(t, p, sample_weight=w, zero_division=0)[3],
    )


# -- the accumulator checks its arguments when it is built, not at the first update -----------


def test_accumulator_rejects_an_unknown_backend_at_construction():
    with pytest.raises(ValueError, match=r"Unknown backend 'spark'.*numba"):
        fastcm.ConfusionMatrix(3, backend="spark")
    with pytest.raises(ValueError, match=r"Unknown backend"):
        fastcm.evaluate([], num_classes=3, backend="spark", progress=False)


# -- an (N, 1) column of labels pairs with (N,) labels, as scikit-learn's column_or_1d --------


@pytest.mark.parametrize("t, p", [([0, 1, 1], [[0], [1], [1]]), ([[0], [1], [1]], [0, 0, 1])])
def test_column_vector_labels_pair_with_1d_labels(t, p):
    np.testing.assert_array_equal(fastcm.confusion_matrix(t, p), skm.confusion_matrix(t, p))
    np.testing.assert_array_equal(fastcm.ConfusionMatrix(2).update(t, p).compute(), skm.confusion_matrix(t, p))


# -- the command line: a class absent from the truth has no AUROC (scikit-learn: undefined) ----


def test_cli_auroc_of_a_class_absent_from_the_truth_is_not_a_number(tmp_path, capsys):
    import json

    from fastcm import cli

    rng = np.random.default_rng(0)
    t = rng.integers(0, 2, 50)  # class 2 never occurs in the truth
    s = rng.random((50, 3))
    s /= s.sum(axis=1, keepdims=True)
    np.save(tmp_path / "t.npy", t)
    np.save(tmp_path / "s.npy", s)
    assert cli.main(["report", "--true", str(tmp_path / "t.npy"), "--scores", str(tmp_path / "s.npy"), "--format", "json", "--quiet"]) == 0
    curves = json.loads(capsys.readouterr().out)["curves"]
    assert curves[2]["auroc"] is None and curves[2]["average_precision"] is None
    assert curves[0]["auroc"] == pytest.approx(skm.roc_auc_score(t == 0, s[:, 0]), abs=0.02)


def test_report_dict_keys_are_the_target_names_given():
    t, p = [0, 1, 2, 2], [0, 2, 2, 1]
    names = [10, 20, 30]
    assert fastcm.classification_report(t, p, target_names=names, output_dict=True) == skm.classification_report(
        t, p, target_names=names, output_dict=True
    )
