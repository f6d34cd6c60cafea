"""Plots render headless (Agg) to non-empty PNGs with the expected axes and labels."""

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

import fastcm  # noqa: E402
from fastcm import plot  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _png(fig, path):
    fig.savefig(path, dpi=60)
    img = mpimg.imread(path)
    assert img.ndim == 3 and img.shape[0] > 50 and img.shape[1] > 50
    assert float(img[..., :3].std()) > 0.01  # something was drawn, not a blank canvas
    return img


def _random_cm(c, n=5000, seed=0):
    rng = np.random.default_rng(seed)
    t = rng.integers(0, c, n)
    p = np.where(rng.random(n) < 0.6, t, rng.integers(0, c, n))
    return fastcm.ConfusionMatrix(c).update(t, p)


def test_confusion_matrix_small_with_names_and_values(tmp_path):
    cm = _random_cm(3)
    ax = plot.confusion_matrix(cm, labels=["cat", "dog", "bird"])
    assert ax.get_xlabel() == "Predicted label" and ax.get_ylabel() == "True label"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["cat", "dog", "bird"]
    assert len(ax.texts) == 9  # one value per cell
    assert {t.get_text() for t in ax.texts} == {str(v) for v in cm.compute().ravel()}
    assert len(ax.figure.axes) == 2  # the matrix and its colour bar
    _png(ax.figure, tmp_path / "cm.png")


def test_normalized_values_are_fractions(tmp_path):
    cm = np.array([[3, 1], [0, 4]])
    ax = plot.confusion_matrix(cm, normalize="true")
    assert sorted(t.get_text() for t in ax.texts) == ["0.00", "0.25", "0.75", "1.00"]
    assert ax.images[0].get_clim() == (0.0, 1.0)
    _png(ax.figure, tmp_path / "norm.png")


def test_fifty_classes_hide_cell_values_and_thin_ticks(tmp_path):
    ax = plot.confusion_matrix(_random_cm(50))
    assert len(ax.texts) == 0
    assert 1 < len(ax.get_xticks()) <= 25
    _png(ax.figure, tmp_path / "fifty.png")


def test_thousands_of_classes_show_top_confused_pairs(tmp_path):
    c = 2000
    counts = np.zeros((c, c), dtype=np.int64)
    np.fill_diagonal(counts, 10)
    counts[5, 7] = 9
    counts[100, 3] = 4
    ax = plot.confusion_matrix(counts, top_pairs=5)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["5 → 7", "100 → 3"]  # only non-zero off-diagonal cells, largest first
    assert "2,000 classes" in ax.get_title() and "top 2 of 3,998,000 off-diagonal cells (2 non-zero)" in ax.get_title()
    assert ax.get_xlabel().startswith("count")
    _png(ax.figure, tmp_path / "many.png")


def test_confusion_matrix_method_and_given_axes(tmp_path):
    fig, ax = plt.subplots()
    out = _random_cm(4).plot(ax=ax, cmap="viridis", title="model A")
    assert out is ax and ax.get_title() == "model A"
    _png(fig, tmp_path / "method.png")


def test_per_class_bars_values_match_metrics(tmp_path):
    cm = _random_cm(6)
    ax = plot.per_class_bars(cm)
    heights = np.array([b.get_height() for b in ax.patches]).reshape(3, 6)
    np.testing.assert_allclose(heights[0], cm.precision())
    np.testing.assert_allclose(heights[1], cm.recall())
    np.testing.assert_allclose(heights[2], cm.f1())
    assert ax.get_ylabel() == "score"
    _png(ax.figure, tmp_path / "bars.png")


def test_per_class_bars_many_classes_shows_worst(tmp_path):
    cm = _random_cm(80, n=20000)
    ax = plot.per_class_bars(cm, max_classes=10)
    assert len(ax.get_xticks()) == 10 and "lowest F1" in ax.get_xlabel() and "ties by larger support" in ax.get_xlabel()
    support = cm.compute().sum(axis=1)
    worst = np.lexsort((np.arange(80), -support, cm.f1()))[:10]
    assert [t.get_text() for t in ax.get_xticklabels()] == [f"{i} (n={support[i]})" for i in worst]


def test_roc_and_pr_from_arrays(tmp_path):
    from sklearn.metrics import precision_recall_curve, roc_auc_score, roc_curve

    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 500)
    s = np.clip(y * 0.3 + rng.random(500) * 0.8, 0, 1)
    fpr, tpr, _ = roc_curve(y, s)
    ax = plot.roc_curve((fpr, tpr), ["model"])
    assert ax.get_xlabel() == "False positive rate" and ax.get_ylabel() == "True positive rate"
    legend = ax.get_legend().get_texts()[0].get_text()
    assert f"{roc_auc_score(y, s):.3f}" in legend
    _png(ax.figure, tmp_path / "roc.png")
    precision, recall, _ = precision_recall_curve(y, s)
    ax = plot.pr_curve((precision, recall))
    assert ax.get_xlabel() == "Recall" and ax.get_ylabel() == "Precision"
    _png(ax.figure, tmp_path / "pr.png")


def test_curves_from_threshold_confusion_matrix(tmp_path):
    tcm_class = fastcm.ThresholdConfusionMatrix
    rng = np.random.default_rng(2)
    accs = []
    for k in range(3):
        y = rng.integers(0, 2, 400)
        accs.append(tcm_class(thresholds=51).update(y, np.clip(y * 0.4 + rng.random(400) * 0.6, 0, 1)))
    ax = plot.roc_curve(accs, ["a", "b", "c"])
    assert len(ax.get_legend().get_texts()) == 4  # three curves and the chance diagonal
    ax2 = plot.pr_curve(accs[0])
    assert ax2.get_ylabel() == "Precision"
    assert accs[1].plot().get_xlabel() == ax.get_xlabel()
    assert accs[1].plot(kind="pr").get_ylabel() == "Precision"
    with pytest.raises(ValueError, match="kind"):
        accs[1].plot(kind="det")
    fig = plot.summary(_random_cm(3), curves=accs)
    assert len(fig.axes) >= 4
    _png(fig, tmp_path / "summary_curves.png")


def test_summary_figure_without_pyplot(tmp_path):
    fig = plot.summary(_random_cm(5), normalize="pred", title="t")
    titles = [a.get_title() for a in fig.axes]
    assert "Confusion matrix (normalized over pred)" in titles and "Per-class scores" in titles
    _png(fig, tmp_path / "summary.png")


def test_bad_inputs():
    with pytest.raises(ValueError, match="square"):
        plot.confusion_matrix(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="labels"):
        plot.confusion_matrix(np.eye(2), labels=["a"])
    with pytest.raises(TypeError, match="ThresholdConfusionMatrix"):
        plot.roc_curve(object())


def test_curves_from_threshold_matrices_match_sklearn(tmp_path):
    from sklearn.metrics import average_precision_score, roc_auc_score

    from fastcm.thresholds import threshold_confusion_matrices

    rng = np.random.default_rng(4)
    t = rng.integers(0, 3, 600)
    s = rng.random((600, 3))
    s[np.arange(600), t] += 0.5
    s /= s.sum(axis=1, keepdims=True)
    thr = np.unique(s)  # every score a threshold: the points are sklearn's exactly
    m = threshold_confusion_matrices(t, s, thresholds=thr)
    for c in range(3):
        assert plot.auroc_from_counts(m[c]) == pytest.approx(roc_auc_score(t == c, s[:, c]))
        assert plot.average_precision_from_counts(m[c]) == pytest.approx(average_precision_score(t == c, s[:, c]))
    ax = plot.roc_curve(m, ["a", "b", "c"])
    assert len(ax.get_legend().get_texts()) == 4  # three curves and the chance diagonal
    ax = plot.pr_curve(m[0])
    assert ax.get_xlabel() == "Recall"
    fig = plot.summary(np.eye(3, dtype=int) * 5, curves=m)
    assert len(fig.axes) >= 4
    _png(fig, tmp_path / "summary_counts.png")


def test_accumulator_without_classes_plots_an_empty_matrix():
    """A growing ConfusionMatrix before its first update has a (0, 0) matrix: no error."""
    ax = fastcm.ConfusionMatrix().plot()
    assert ax.get_xlabel() == "Predicted label" and len(ax.texts) == 0 and len(ax.get_xticks()) == 0
    assert len(plot.summary(np.zeros((0, 0), dtype=np.int64)).axes) >= 2
