"""Scores are probabilities or logits, read by one rule everywhere (fastcm.core.scores).

Each entry point that thresholds or bins scores gives scikit-learn's value on logits (the
binned ones within about 1/T of it) or a clear error; never a silently wrong number.
"""

import csv
import io
import json

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

import fastcm
from fastcm import cli
from fastcm.core.scores import read_scores, logit_thresholds

BACKENDS = ["numpy", "numba"]
T = 1001


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.fixture(scope="module")
def binary():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 4000)
    logits = rng.normal(0, 1.5, 4000) + 1.2 * y
    return y, logits


@pytest.fixture(scope="module")
def three():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 3000)
    logits = rng.normal(0, 1.5, (3000, 3))
    logits[np.arange(3000), y] += 1.5
    return y, logits


# -- the rule -------------------------------------------------------------------------------


def test_rule_auto_probabilities_logits():
    assert read_scores("auto", np.array([0.0, 0.5, 1.0])) == "probabilities"
    assert read_scores("auto", np.array([0.2, 1.5])) == "logits"
    assert read_scores("auto", np.array([[-0.1, 0.2]])) == "logits"
    assert read_scores("logits", np.array([0.2, 0.5])) == "logits"
    with pytest.raises(ValueError, match=r"position 3.*scores='logits'"):
        read_scores("probabilities", np.array([0.1, 0.2, 0.3, 1.5, -2.0]))
    with pytest.raises(ValueError, match=r"index \(1, 0\)"):
        read_scores("probabilities", np.array([[0.1, 0.2], [-0.5, 0.3]]))
    with pytest.raises(ValueError, match=r"one of \('auto', 'probabilities', 'logits'\)"):
        read_scores("probs", np.array([0.1]))


def test_logit_thresholds_are_exact_and_sorted():
    thr = np.linspace(0, 1, 11)
    got = logit_thresholds(thr)
    assert got[0] == -np.inf and got[-1] == np.inf and got[5] == 0.0
    assert np.all(np.diff(got) > 0)
    np.testing.assert_allclose(_sigmoid(got[1:-1]), thr[1:-1], rtol=1e-12)


# -- one-shot threshold sweeps ------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_threshold_confusion_matrices_on_logits(binary, backend):
    y, s = binary
    thr = np.linspace(0, 1, 101)
    got = fastcm.threshold_confusion_matrices(y, s, backend=backend)
    cut = logit_thresholds(thr)
    pos = s[None, :] >= cut[:, None]
    tp = (pos & (y == 1)).sum(1)
    fp = (pos & (y == 0)).sum(1)
    want = np.stack([np.stack([(y == 0).sum() - fp, fp], -1), np.stack([(y == 1).sum() - tp, tp], -1)], -2)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(got, fastcm.threshold_confusion_matrices(y, s, scores="logits", backend=backend))
    # the same as the sigmoid's probabilities, up to ties the rounding of exp creates at a cut
    assert np.abs(got - fastcm.threshold_confusion_matrices(y, _sigmoid(s), backend=backend)).max() <= 2


def test_threshold_confusion_matrices_explicit_probabilities_refuse_logits(binary):
    y, s = binary
    first = int(np.flatnonzero((s < 0) | (s > 1))[0])
    with pytest.raises(ValueError, match=rf"position {first}\b.*scores='logits'"):
        fastcm.threshold_confusion_matrices(y, s, scores="probabilities")


@pytest.mark.parametrize("backend", BACKENDS)
def test_threshold_confusion_matrices_three_classes_softmax(three, backend):
    y, s = three
    got = fastcm.threshold_confusion_matrices(y, s, thresholds=T, backend=backend)
    want = fastcm.threshold_confusion_matrices(y, _softmax(s), thresholds=T, backend=backend)
    assert np.abs(got - want).max() <= 2
    assert np.array_equal(got, fastcm.threshold_confusion_matrices(y, s, thresholds=T, backend="numpy"))


def test_threshold_confusion_matrices_multilabel_sigmoid(three):
    _, s = three
    rng = np.random.default_rng(3)
    t = (rng.random(s.shape) < _sigmoid(s)).astype(int)
    got = fastcm.threshold_confusion_matrices(t, s, thresholds=11)
    cut = logit_thresholds(np.linspace(0, 1, 11))
    for k in range(3):
        tp = [int(((s[:, k] >= c) & (t[:, k] == 1)).sum()) for c in cut]
        assert got[k, :, 1, 1].tolist() == tp


def test_softmax_rejects_non_finite_at_its_position(three):
    y, s = three
    s = s.copy()
    s[1234, 2] = np.inf
    with pytest.raises(ValueError, match=r"inf at index \(1234, 2\)"):
        fastcm.threshold_confusion_matrices(y, s, thresholds=5)
    s[1234, 2] = -np.inf
    with pytest.raises(ValueError, match=r"-inf at index \(1234, 2\)"):
        fastcm.threshold_confusion_matrices(y, s, thresholds=5, scores="logits")


def test_thresholds_outside_unit_interval_compare_scores_as_given():
    # thresholds in the scores' own units (a decision function, integer scores): no transform
    got = fastcm.threshold_confusion_matrices([0, 1, 1], [-2.0, 0.5, 3.0], thresholds=[-1.0, 1.0])
    assert got.tolist() == [[[1, 0], [0, 2]], [[1, 0], [1, 1]]]


@pytest.mark.parametrize("backend", BACKENDS)
def test_binary_confusion_matrix_logits_at_logit_zero(binary, backend):
    y, s = binary
    want = [[int(((s < 0) & (y == 0)).sum()), int(((s >= 0) & (y == 0)).sum())],
            [int(((s < 0) & (y == 1)).sum()), int(((s >= 0) & (y == 1)).sum())]]
    assert fastcm.binary_confusion_matrix(y, s, backend=backend).tolist() == want
    assert fastcm.binary_confusion_matrix(y, s, scores="logits", backend=backend).tolist() == want
    assert fastcm.binary_confusion_matrix(y, s, logits=True, backend=backend).tolist() == want


# -- the accumulator --------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_accumulator_auroc_ap_on_logits(binary, backend):
    y, s = binary
    tcm = fastcm.ThresholdConfusionMatrix(thresholds=T, backend=backend)
    for a in range(0, len(y), 1000):
        tcm.update(y[a:a + 1000], s[a:a + 1000])
    assert tcm.scores_read_as == "logits"
    assert abs(tcm.auroc() - roc_auc_score(y, s)) < 2 / T
    assert abs(tcm.average_precision() - average_precision_score(y, s)) < 5 / T
    point = tcm.threshold_for(recall=0.95)
    assert point.achieved
    p = _sigmoid(s)
    assert ((p >= point.threshold) & (y == 1)).sum() / (y == 1).sum() >= 0.95
    assert point.recall == pytest.approx(0.95, abs=0.01)


def test_accumulator_three_classes_softmax(three):
    y, s = three
    tcm = fastcm.ThresholdConfusionMatrix(thresholds=T, num_classes=3).update(y[:1500], s[:1500]).update(y[1500:], s[1500:])
    p = _softmax(s)
    want = [roc_auc_score(y == k, p[:, k]) for k in range(3)]
    np.testing.assert_allclose(tcm.auroc(), want, atol=2 / T)


def test_accumulator_refuses_contradicting_batch_and_changes_nothing(binary):
    y, s = binary
    tcm = fastcm.ThresholdConfusionMatrix(thresholds=11).update(y[:10], _sigmoid(s[:10])).update(y[10:20], _sigmoid(s[10:20]))
    before = tcm.compute().copy()
    with pytest.raises(ValueError, match=r"batch 3.*scores='logits'"):
        tcm.update(y[20:40], s[20:40])
    np.testing.assert_array_equal(tcm.compute(), before)
    assert tcm.n_samples == 20 and tcm.scores_read_as == "probabilities"


def test_accumulator_logits_then_unit_interval_batch_stays_logits(binary):
    y, s = binary
    inside = np.clip(s[100:200], 0.0, 1.0)
    tcm = fastcm.ThresholdConfusionMatrix(thresholds=21).update(y[:100], s[:100]).update(y[100:200], inside)
    want = fastcm.threshold_confusion_matrices(y[:200], np.concatenate([s[:100], inside]), thresholds=21, scores="logits")
    np.testing.assert_array_equal(tcm.compute(), want)


def test_accumulator_explicit_probabilities_refuses_logits(binary):
    y, s = binary
    tcm = fastcm.ThresholdConfusionMatrix(thresholds=11, scores="probabilities")
    with pytest.raises(ValueError, match="position"):
        tcm.update(y, s)
    assert tcm.n_samples == 0


def test_accumulator_decision_saved_loaded_merged(binary, tmp_path):
    y, s = binary
    a = fastcm.ThresholdConfusionMatrix(thresholds=11).update(y[:50], s[:50])
    a.save(tmp_path / "a.npz")
    back = fastcm.ThresholdConfusionMatrix.load(tmp_path / "a.npz")
    assert back.scores_read_as == "logits" and back.scores == "auto"
    assert back.update(y[:5], _sigmoid(s[:5])).scores_read_as == "logits"  # in [0, 1]: logits too
    p = fastcm.ThresholdConfusionMatrix(thresholds=11).update(y[:50], _sigmoid(s[:50]))
    with pytest.raises(ValueError, match="probabilities.*logits|logits.*probabilities"):
        a.merge(p)
    undecided = fastcm.ThresholdConfusionMatrix(thresholds=11)
    assert undecided.merge(a).scores_read_as == "logits"
    u2 = fastcm.ThresholdConfusionMatrix(thresholds=11).merge(p)
    with pytest.raises(ValueError, match="batch 2"):
        u2.update(y[:5], s[:5])


# -- calibration ----------------------------------------------------------------------------------


def test_calibration_auto_reads_logits(three):
    y, s = three
    auto = fastcm.answers.calibration.calibration_error(y, s)
    assert auto == fastcm.answers.calibration.calibration_error(y, s, scores="logits")
    assert fastcm.answers.calibration.calibration_error(y, _softmax(s)) == fastcm.answers.calibration.calibration_error(y, _softmax(s), scores="probabilities")
    acc = fastcm.accumulate.calibration.CalibrationError(10).update(y[:100], _softmax(s[:100]))
    with pytest.raises(ValueError, match=r"batch 2.*scores='logits'"):
        acc.update(y[100:200], s[100:200])
    assert acc.n_samples == 100
    logit_acc = fastcm.accumulate.calibration.CalibrationError(10).update(y[:100], s[:100])
    with pytest.raises(ValueError, match="probabilities.*logits|logits.*probabilities"):
        logit_acc.merge(acc)


# -- the command line -------------------------------------------------------------------------------


def _report(capsys, *args):
    code = cli.main(["report", *map(str, args), "--quiet"])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_report_on_logits(capsys, tmp_path, three):
    y, s = three
    np.save(tmp_path / "y.npy", y)
    np.save(tmp_path / "logits.npy", s)
    code, out, err = _report(capsys, "--true", tmp_path / "y.npy", "--scores", tmp_path / "logits.npy", "--format", "json",
                             "--operating-point", "recall=0.95", "--calibration", "10")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["scores_are"] == "logits"
    p = _softmax(s)
    for k, row in enumerate(doc["curves"]):
        assert row["auroc"] == pytest.approx(roc_auc_score(y == k, p[:, k]), abs=2 / T)
        assert row["average_precision"] == pytest.approx(average_precision_score(y == k, p[:, k]), abs=5 / T)
    assert all(r["achieved"] for r in doc["operating_points"])
    assert doc["calibration"]["ece"] == pytest.approx(fastcm.answers.calibration.calibration_error(y, s, 10, scores="logits"))
    code, text, err = _report(capsys, "--true", tmp_path / "y.npy", "--scores", tmp_path / "logits.npy")
    assert code == 0 and "logits" in text and "binned" in text


def test_cli_one_binary_logit_column_predicts_at_zero(capsys, tmp_path, binary):
    y, s = binary
    np.save(tmp_path / "y.npy", y)
    np.save(tmp_path / "b.npy", s)
    code, out, err = _report(capsys, "--true", tmp_path / "y.npy", "--scores", tmp_path / "b.npy", "--format", "json",
                             "--chunk-size", 500)
    assert code == 0, err
    doc = json.loads(out)
    pred = (s >= 0).astype(int)
    assert doc["confusion_matrix"] == [[int(((y == a) & (pred == b)).sum()) for b in (0, 1)] for a in (0, 1)]
    assert doc["curves"][0]["auroc"] == pytest.approx(roc_auc_score(y, s), abs=2 / T)


def test_cli_scores_are_option(capsys, tmp_path, binary):
    y, s = binary
    np.save(tmp_path / "y.npy", y)
    np.save(tmp_path / "b.npy", s)
    code, _, err = _report(capsys, "--true", tmp_path / "y.npy", "--scores", tmp_path / "b.npy", "--scores-are", "probabilities")
    assert code == 2 and "position" in err and "--scores-are logits" in err
    # a later chunk contradicting the first one's reading is refused
    mixed = np.concatenate([_sigmoid(s[:500]), s[500:]])
    np.save(tmp_path / "m.npy", mixed)
    code, _, err = _report(capsys, "--true", tmp_path / "y.npy", "--scores", tmp_path / "m.npy", "--chunk-size", 500)
    assert code == 2 and "--scores-are logits" in err
    code, out, err = _report(capsys, "--true", tmp_path / "y.npy", "--scores", tmp_path / "m.npy", "--chunk-size", 500,
                             "--scores-are", "logits", "--format", "json")
    assert code == 0, err
    assert json.loads(out)["scores_are"] == "logits"


@pytest.mark.parametrize("rule", ["auto", "logits", "probabilities"])
def test_cli_every_format_says_how_scores_were_read(capsys, tmp_path, binary, rule):
    y, s = binary
    np.save(tmp_path / "y.npy", y)
    np.save(tmp_path / "b.npy", _sigmoid(s) if rule == "probabilities" else s)
    args = ["--true", tmp_path / "y.npy", "--scores", tmp_path / "b.npy", "--scores-are", rule]
    code, out, err = _report(capsys, *args, "--format", "json")
    assert code == 0, err
    said = json.loads(out)["scores_describe"]
    assert said.startswith("probabilities" if rule == "probabilities" else "logits") and f"--scores-are {rule}" in said
    code, text, err = _report(capsys, *args)
    assert code == 0 and f"scores read as: {said}" in text, err
    code, md, err = _report(capsys, *args, "--format", "markdown")
    assert code == 0 and f"scores read as: {said}" in md, err
    code, out, err = _report(capsys, *args, "--format", "csv")
    assert code == 0, err
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[-1] == [f"scores read as: {said}"] + [""] * (len(rows[0]) - 1)  # the numeric columns stay numeric
    assert all(len(r) == len(rows[0]) for r in rows)
    # without scores there is nothing to say
    np.save(tmp_path / "p.npy", (s >= 0).astype(int))
    for fmt in ("markdown", "csv"):
        code, out, err = _report(capsys, "--true", tmp_path / "y.npy", "--pred", tmp_path / "p.npy", "--format", fmt)
        assert code == 0 and "scores read as" not in out, err


# -- plots -----------------------------------------------------------------------------------------


@pytest.fixture
def plt():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


def _legend(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_plot_roc_from_predictions_is_exact(plt, binary):
    y, s = binary
    ax = fastcm.plot.roc_curve((y, s))
    assert f"AUROC {roc_auc_score(y, s):.3f}" in _legend(ax)[0]
    ax = fastcm.plot.pr_curve((y, s))
    assert f"AP {average_precision_score(y, s):.3f}" in _legend(ax)[0]


def test_plot_roc_of_accumulator_matches_its_auroc(plt, binary):
    y, s = binary
    tcm = fastcm.ThresholdConfusionMatrix(thresholds=101).update(y, s)
    ax = fastcm.plot.roc_curve(tcm)
    label = _legend(ax)[0]
    assert f"AUROC {tcm.auroc():.3f}" in label and "binned" in label
    ax = fastcm.plot.pr_curve(tcm)
    assert f"AP {tcm.average_precision():.3f}" in _legend(ax)[0]


def test_plot_refuses_pairs_it_cannot_read(plt):
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="monotone"):
        fastcm.plot.roc_curve((rng.random(50), rng.random(50)))
    with pytest.raises(ValueError):
        fastcm.plot.roc_curve((np.array([0.0, 0.5, 1.0]), np.array([0.0, 2.0, 1.0])))
    ax = fastcm.plot.roc_curve((np.array([0.0, 0.2, 1.0]), np.array([0.0, 0.8, 1.0])))
    assert "AUROC 0.800" in _legend(ax)[0]


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_outside_unit_sees_values_beside_nan_and_ignores_nan_alone(dtype):
    from fastcm.core.scores import outside_unit

    assert not outside_unit(np.array([0.0, np.nan, 1.0], dtype))
    assert outside_unit(np.array([np.nan, 0.5, 1.5], dtype))
    assert outside_unit(np.array([0.5, np.nan, -0.25], dtype))
    assert outside_unit(np.array([[0.2, 0.3], [np.nan, -np.inf]], dtype))
    assert not outside_unit(np.full(5, np.nan, dtype))
    assert outside_unit(np.array([3], np.uint8)) and not outside_unit(np.array([0, 1], np.int64))
    assert outside_unit(np.array([-1, 0], np.int64))
