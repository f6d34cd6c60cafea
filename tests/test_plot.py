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

    from fastcm.counts.thresholds import threshold_confusion_matrices

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


# -- issue 34: every picture at 3, 20, 100 and 1,000 classes says what it shows ---------------------

CLASSES = [3, 20, 100, 1000]


def _scored(c, n=4000, seed=0):
    """Labels from a skewed class distribution, softmax scores, and a systematic k -> k+1 confusion."""
    rng = np.random.default_rng(seed)
    w = 1 / np.arange(1, c + 1) ** 0.8
    y = rng.choice(c, n, p=w / w.sum())
    logits = rng.normal(size=(n, c)).astype(np.float32)
    logits[np.arange(n), y] += 2.5
    shifted = rng.random(n) < 0.15
    logits[np.flatnonzero(shifted), (y[shifted] + 1) % c] += 3
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    return y, p / p.sum(axis=1, keepdims=True)


@pytest.fixture(scope="module", params=CLASSES, ids=[f"C{c}" for c in CLASSES])
def scored(request):
    c = request.param
    y, p = _scored(c)
    return c, y, p, fastcm.ConfusionMatrix(c).update(y, p), fastcm.ThresholdConfusionMatrix(num_classes=c).update(y, p)


def _legend_texts(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def _legend_outside(ax):
    """The legend's box does not overlap the axes' data area."""
    fig = ax.figure
    fig.canvas.draw()
    box = ax.get_legend().get_window_extent()
    area = ax.get_window_extent()
    return box.x0 >= area.x1 or box.y0 >= area.y1 or box.x1 <= area.x0 or box.y1 <= area.y0


def test_threshold_accumulator_plots_at_every_size(scored, tmp_path):
    """Item 1: tcm.plot("roc" / "pr") and summary(cm, curves=tcm) at 3, 20, 100 and 1,000 classes."""
    c, y, p, cm, tcm = scored
    shown = min(c, 12)
    ax = tcm.plot("roc")
    texts = _legend_texts(ax)
    assert len(texts) == shown + 1 and texts[-1] == "chance (AUROC 0.5)"
    aucs = np.asarray(tcm.auroc())
    assert all(f"AUROC {aucs[k]:.3f}, binned, 101 thresholds" in texts[k] for k in range(shown))
    assert ax.get_title() == ("ROC" if c <= 12 else f"ROC (first 12 of {c:,})")
    ax = tcm.plot("pr")
    assert ax.get_title() == ("Precision-recall" if c <= 12 else f"Precision-recall (first 12 of {c:,})")
    assert any("prevalence" in t for t in _legend_texts(ax))
    fig = plot.summary(cm, curves=tcm)
    titles = [a.get_title() for a in fig.axes]
    assert ("ROC" if c <= 12 else f"ROC (first 12 of {c:,})") in titles
    roc_ax = next(a for a in fig.axes if a.get_title().startswith("ROC"))
    assert _legend_texts(roc_ax)[0].startswith("0 (AUROC")  # named by the matrix's classes
    _png(fig, tmp_path / f"summary_{c}.png")


def test_confusion_matrix_says_what_it_shows(scored, tmp_path):
    """Item 3: heat map up to 100 classes (log scale and thinned ticks said), top pairs above."""
    c, y, p, cm, tcm = scored
    support = cm.compute().sum(axis=1)
    disp = plot.ConfusionMatrixDisplay.from_matrix(cm)
    ax = disp.ax_
    if c <= 100:
        assert disp.im_ is not None and disp.bars_ is None
        label = disp.colorbar_.ax.get_ylabel()
        if c > 30:
            assert label == "count (log scale; zero cells white)" and disp.text_ is None
            step = {100: 4}.get(c, 2)
            assert ax.get_xlabel() == f"Predicted label (every {step}th of {c} classes labelled)"
            assert ax.get_ylabel() == f"True label (every {step}th of {c} classes labelled)"
        else:
            assert label == "count" and ax.get_xlabel() == "Predicted label"
            assert disp.text_.shape == (c, c)
        side = [a for a in ax.child_axes]  # the support axis on the right
        assert side and side[0].get_ylabel() == "support (samples of the true class)"
        assert [t.get_text() for t in side[0].get_yticklabels()][0] == str(support[0])
        row = plot.ConfusionMatrixDisplay(cm, normalize="true").plot(scale="linear", colorbar=True)
        assert row.colorbar_.ax.get_ylabel() == "share of the true class"
    else:
        assert disp.im_ is None and len(disp.bars_) == 20
        off = int(np.count_nonzero(cm.compute() - np.diag(np.diag(cm.compute()))))
        assert ax.get_title() == (f"Most confused pairs (1,000 classes, more than max_classes=100 for a heat map)\n"
                                  f"top 20 of 999,000 off-diagonal cells ({off:,} non-zero)")
        first = ax.get_yticklabels()[0].get_text()
        i, j = (int(v) for v in first.split(" → "))
        n = cm.compute()[i, j]
        assert any(t.get_text().strip().startswith(f"{n} of {support[i]} (") for t in ax.texts)
        fig = plot.summary(cm)
        assert not any(a.get_title() == "Confusion matrix" for a in fig.axes)
        assert any(a.get_title().startswith("Most confused pairs") for a in fig.axes)
    _png(disp.figure_, tmp_path / f"cm_{c}.png")


def test_per_class_bars_rank_with_support_and_say_the_rule(scored, tmp_path):
    """Item 3: above 40 classes the lowest F1, ties by larger support, rule and zero count in the label."""
    c, y, p, cm, tcm = scored
    counts = cm.compute()
    support = counts.sum(axis=1)
    f1 = np.asarray(cm.f1(zero_division=0))
    ax = plot.per_class_bars(cm)
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    if c <= 40:
        assert ticks == [f"{k} (n={support[k]})" for k in range(c)] and ax.get_xlabel() == "class (n = support)"
    else:
        absent = (support == 0) & (counts.sum(axis=0) == 0)
        order = np.lexsort((np.arange(c), -support, f1, absent))[:40]
        assert ticks == [f"{k} (n={support[k]})" for k in order]
        zero = int(np.count_nonzero(f1[support > 0] == 0))
        assert f"the 40 lowest F1 of {c:,} classes, ties by larger support" in ax.get_xlabel()
        if zero:
            assert f"{zero:,} classes have F1 = 0" in ax.get_xlabel() and "F1 = 0" in _legend_texts(ax)
    assert _legend_outside(ax)
    _png(ax.figure, tmp_path / f"bars_{c}.png")


def test_curve_legends_outside_and_styles_distinct(scored):
    """Item 4: legends never cover curves; up to 12 curves, no two share colour and dash."""
    c, y, p, cm, tcm = scored
    for disp in (plot.RocCurveDisplay.from_accumulator(tcm), plot.PrecisionRecallDisplay.from_accumulator(tcm)):
        assert _legend_outside(disp.ax_)
        styles = {(tuple(line.get_color()), line.get_linestyle()) for line in disp.lines_}
        colours = {tuple(line.get_color()) for line in disp.lines_}
        assert len(styles) == len(disp.lines_) == len(colours) == min(c, 12)
    many = plot.RocCurveDisplay.from_accumulator(tcm, max_curves=30)
    assert len({(tuple(line.get_color()), line.get_linestyle()) for line in many.lines_}) == min(c, 30)


def test_reliability_diagram_is_public():
    assert "reliability_diagram" in plot.__all__
    assert all(hasattr(plot, name) for name in plot.__all__)


# -- issue 34 item 2: scikit-learn's Display shape ---------------------------------------------------


def test_confusion_matrix_display_like_sklearn(tmp_path):
    disp = plot.ConfusionMatrixDisplay.from_predictions(["cat", "dog", "dog", "bird"], ["cat", "cat", "dog", "bird"])
    assert disp.display_labels == ["bird", "cat", "dog"]
    assert disp.ax_ is disp.figure_.axes[0] and disp.im_ is not None and disp.colorbar_ is not None
    assert [t.get_text() for t in disp.text_.ravel()] == ["1", "0", "0", "0", "1", "0", "0", "1", "1"]
    fig, ax = plt.subplots()
    again = disp.plot(ax=ax, values_format=".1f", xticks_rotation="vertical", colorbar=False, include_values=True,
                      cmap="viridis")
    assert again is disp and disp.ax_ is ax and disp.figure_ is fig and disp.colorbar_ is None
    assert disp.text_[0, 0].get_text() == "1.0"
    assert {t.get_rotation() for t in ax.get_xticklabels()} == {90.0}
    assert len(fig.axes) == 1 and len(ax.child_axes) == 1  # the matrix and its support axis; no colour bar
    hidden = plot.ConfusionMatrixDisplay(np.array([[5, 1], [2, 7]])).plot(include_values=False, show_support=False)
    assert hidden.text_ is None and len(hidden.figure_.axes) == 2 and not hidden.ax_.child_axes  # matrix, colour bar
    normed = plot.ConfusionMatrixDisplay.from_matrix(np.array([[3, 1], [0, 4]]), normalize="true")
    assert sorted(t.get_text() for t in normed.text_.ravel()) == ["0.00", "0.25", "0.75", "1.00"]
    with pytest.raises(ValueError, match="normalize"):
        plot.ConfusionMatrixDisplay(np.eye(2), normalize="rows")
    with pytest.raises(ValueError, match="scale"):
        plot.ConfusionMatrixDisplay(np.eye(2)).plot(scale="sqrt")
    _png(fig, tmp_path / "display.png")


def test_curve_displays_like_sklearn(tmp_path):
    from sklearn.metrics import average_precision_score, roc_auc_score

    rng = np.random.default_rng(3)
    y = (rng.random(2000) < 0.1).astype(int)
    s = np.clip(y * 0.35 + rng.random(2000) * 0.7, 0, 1)
    roc = plot.RocCurveDisplay.from_predictions(y, s, labels=["model"])
    assert roc.roc_auc[0] == pytest.approx(roc_auc_score(y, s))
    assert roc.chance_level_.get_label() == "chance (AUROC 0.5)"
    assert list(roc.chance_level_.get_xdata()) == [0, 1] and list(roc.chance_level_.get_ydata()) == [0, 1]
    assert _legend_texts(roc.ax_)[0].startswith(f"model (AUROC {roc_auc_score(y, s):.3f}, exact")
    pr = plot.PrecisionRecallDisplay.from_predictions(y, s)
    assert pr.average_precision[0] == pytest.approx(average_precision_score(y, s))
    assert pr.prevalence == [pytest.approx(y.mean())]
    assert pr.chance_level_.get_label() == f"chance (prevalence {y.mean():.3f})"
    assert list(pr.chance_level_.get_ydata()) == [pytest.approx(y.mean())] * 2
    fig, ax = plt.subplots()
    assert pr.plot(ax=ax, plot_chance_level=False) is pr and pr.ax_ is ax and pr.figure_ is fig
    assert pr.chance_level_ is None
    # accumulator: the binned curve's prevalence comes from its counts
    tcm = fastcm.ThresholdConfusionMatrix().update(y, s)
    binned = plot.PrecisionRecallDisplay.from_accumulator(tcm)
    assert binned.prevalence == [pytest.approx(y.mean())] and "binned" in binned.curves[0].how
    # constructed from arrays, as scikit-learn's
    made = plot.RocCurveDisplay(np.array([0.0, 0.2, 1.0]), np.array([0.0, 0.8, 1.0]), name="given").plot()
    assert made.roc_auc == [pytest.approx(0.8)] and _legend_texts(made.ax_)[0] == "given (AUROC 0.800)"
    made = plot.PrecisionRecallDisplay(np.array([0.5, 1.0]), np.array([1.0, 0.5]), prevalence=0.5).plot()
    assert made.chance_level_.get_label() == "chance (prevalence 0.500)"
    with pytest.raises(TypeError, match="ThresholdConfusionMatrix"):
        plot.RocCurveDisplay.from_accumulator([0.1, 0.2])
    # the functions still return the Axes
    assert plot.roc_curve((y, s)).get_xlabel() == "False positive rate"
    _png(fig, tmp_path / "pr_display.png")


def test_multiclass_accumulator_in_a_list_is_one_curve_per_class():
    y, p = _scored(3, n=600)
    tcm = fastcm.ThresholdConfusionMatrix(num_classes=3).update(y, p)
    ax = plot.roc_curve({"model": tcm})
    assert [t.split(" (")[0] for t in _legend_texts(ax)[:3]] == ["model: 0", "model: 1", "model: 2"]
