"""Gaps an acceptance audit found against scikit-learn's documented behaviour, pinned down.

Each test compares with scikit-learn directly (value, dtype, text, warning or error),
strictly where the looser comparisons of test_sklearn_metrics.py would let a difference
through (e.g. int64 against float64 supports).
"""

import warnings

import numpy as np
import pytest
import sklearn.metrics as skm

import fastcm

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
