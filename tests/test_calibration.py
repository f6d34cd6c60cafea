"""Calibration error counted in the matrix pass: against a brute-force reference, torchmetrics,
streaming, merging, files and bad inputs, on every host backend."""

import doctest
import importlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fastcm
from fastcm.accumulate.calibration import CalibrationError
from fastcm.answers.calibration import bin_edges, calibration_error


def _brute(y, s, n_bins, logits=False):
    """Per-sample loops: (matrix, counts, conf sums, correct, class counts, class sums, class hits)."""
    s = np.asarray(s, dtype=np.float64)
    N, C = s.shape
    K = n_bins + 1
    edges = bin_edges(n_bins, np.float32 if np.asarray(s).dtype == np.float32 else np.float64)
    matrix = np.zeros((C, C), np.int64)
    cnt, conf, hit = np.zeros(K, np.int64), np.zeros(K), np.zeros(K, np.int64)
    ccnt, cconf, chit = np.zeros((C, K), np.int64), np.zeros((C, K)), np.zeros((C, K), np.int64)

    def slot(c):
        for b in range(n_bins):
            if edges[b] <= c < edges[b + 1]:
                return b
        return n_bins

    for i in range(N):
        row = s[i]
        if logits:
            e = np.exp(row - row.max())
            row = e / e.sum()
        a = int(np.argmax(s[i]))  # ties to the lowest index, on the given scores
        matrix[y[i], a] += 1
        c = row.max() if not logits else 1.0 / np.exp(s[i] - s[i].max()).sum()
        b = slot(c)
        cnt[b] += 1
        conf[b] += c
        hit[b] += a == y[i]
        for k in range(C):
            b = slot(row[k])
            ccnt[k, b] += 1
            cconf[k, b] += row[k]
            chit[k, b] += y[i] == k
    return matrix, cnt, conf, hit, ccnt, cconf, chit


def _ece(cnt, conf, hit):
    cnt = np.asarray(cnt, np.float64)
    full = cnt > 0
    gap = np.abs(hit[full] / cnt[full] - conf[full] / cnt[full])
    return float(np.sum(cnt[full] / cnt.sum() * gap)), float(gap.max())


def _probs(rng, n, c, dtype=np.float32, alpha=0.5):
    p = rng.dirichlet(np.full(c, alpha), n).astype(dtype)
    return p


@pytest.mark.parametrize("scores", ["probabilities", "logits"])
@pytest.mark.parametrize("seed,n,c", [(0, 500, 3), (1, 300, 12), (2, 64, 1)])
def test_matches_brute_force(backend, scores, seed, n, c):
    rng = np.random.default_rng(seed)
    p = _probs(rng, n, c)
    p[:5] = np.eye(c, dtype=np.float32)[rng.integers(0, c, 5)]  # saturated rows: confidence exactly 1
    s = np.log(p + np.float32(1e-6)) * np.float32(2) if scores == "logits" else p
    y = rng.integers(0, c, n)
    res = CalibrationError(10, scores=scores, per_class=True, backend=backend).update(y, s).compute()
    matrix, cnt, conf, hit, ccnt, cconf, chit = _brute(y, s, 10, logits=scores == "logits")
    np.testing.assert_array_equal(res.matrix, matrix)
    np.testing.assert_array_equal(res.bin_counts, cnt)
    np.testing.assert_allclose(res.bin_confidence[cnt > 0], (conf / np.maximum(cnt, 1))[cnt > 0], rtol=1e-12)
    np.testing.assert_allclose(res.bin_accuracy[cnt > 0], (hit / np.maximum(cnt, 1))[cnt > 0], rtol=1e-12)
    assert np.isnan(res.bin_accuracy[cnt == 0]).all()
    ece, mce = _ece(cnt, conf, hit)
    assert res.ece == pytest.approx(ece, rel=1e-12, abs=1e-15)
    assert res.mce == pytest.approx(mce, rel=1e-12, abs=1e-15)
    np.testing.assert_array_equal(res.classwise_bin_counts, ccnt)
    want = np.array([_ece(ccnt[k], cconf[k], chit[k]) for k in range(c)])
    np.testing.assert_allclose(res.classwise_ece, want[:, 0], rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(res.classwise_mce, want[:, 1], rtol=1e-9, atol=1e-15)
    if scores == "probabilities" and c > 1:  # one column is read as labels there
        np.testing.assert_array_equal(res.matrix, fastcm.confusion_matrix(y, s, num_classes=c))


def test_backends_agree_on_threaded_batches():
    """Enough rows for the numba backend to split the work over threads."""
    if "numba" not in fastcm.backends.available():
        pytest.skip("numba not installed")
    rng = np.random.default_rng(3)
    p = _probs(rng, 80_000, 10)
    y = rng.integers(0, 10, p.shape[0])
    a = CalibrationError(15, backend="numba", per_class=True).update(y, p).compute()
    b = CalibrationError(15, backend="numpy", per_class=True).update(y, p).compute()
    np.testing.assert_array_equal(a.matrix, b.matrix)
    np.testing.assert_array_equal(a.bin_counts, b.bin_counts)
    np.testing.assert_array_equal(a.classwise_bin_counts, b.classwise_bin_counts)
    assert a.ece == pytest.approx(b.ece, rel=1e-12)
    np.testing.assert_allclose(a.classwise_ece, b.classwise_ece, rtol=1e-10)


@given(st.integers(1, 6), st.integers(0, 40), st.integers(1, 20), st.integers(0, 2**32 - 1))
def test_random_shapes_agree_with_reference(c, n, n_bins, seed):
    rng = np.random.default_rng(seed)
    p = rng.multinomial(4, np.full(c, 1 / c), size=n) / 4  # ties and values on the bin edges, rows summing to 1
    y = rng.integers(0, c, n)
    backends_ = [b for b in ("numba", "numpy") if b in fastcm.backends.available()]
    results = [CalibrationError(n_bins, backend=b, per_class=True).update(y, p).compute() for b in backends_]
    matrix, cnt, conf, hit, ccnt, _, _ = _brute(y, p, n_bins)
    for res in results:
        np.testing.assert_array_equal(res.matrix, matrix)
        np.testing.assert_array_equal(res.bin_counts, cnt)
        np.testing.assert_array_equal(res.classwise_bin_counts, ccnt)
        if n:
            assert res.ece == pytest.approx(_ece(cnt, conf, hit)[0], abs=1e-12)
        else:
            assert np.isnan(res.ece) and np.isnan(res.mce)


def test_against_torchmetrics():
    torch = pytest.importorskip("torch")
    tm = pytest.importorskip("torchmetrics.classification")
    rng = np.random.default_rng(4)
    p = _probs(rng, 5000, 5)
    p[:40] = np.eye(5, dtype=np.float32)[rng.integers(0, 5, 40)]
    y = rng.integers(0, 5, 5000)
    for norm in ("l1", "max"):
        want = tm.MulticlassCalibrationError(num_classes=5, n_bins=15, norm=norm)(torch.from_numpy(p), torch.from_numpy(y))
        assert calibration_error(y, p, 15, norm) == pytest.approx(float(want), rel=1e-4, abs=1e-6)
    logits = np.log(p + np.float32(1e-4)).astype(np.float32) * 3
    want = tm.MulticlassCalibrationError(num_classes=5, n_bins=15)(torch.from_numpy(logits), torch.from_numpy(y))
    assert calibration_error(y, logits, 15, scores="logits") == pytest.approx(float(want), rel=1e-4, abs=1e-6)


def test_bin_edges_are_torch_linspace():
    edges = bin_edges(15, np.float32)
    assert edges[0] == 0.0 and edges[-1] == 1.0 and edges.size == 16
    np.testing.assert_allclose(edges, np.linspace(0, 1, 16), atol=1e-7)
    assert edges.dtype == np.float64 and np.all(edges.astype(np.float32) == edges)  # float32 values
    torch = pytest.importorskip("torch")
    for n in (1, 7, 10, 15, 100):
        np.testing.assert_array_equal(bin_edges(n, np.float32), torch.linspace(0, 1, n + 1).numpy().astype(np.float64))


def test_streaming_equals_one_shot_and_merge(backend, tmp_path):
    rng = np.random.default_rng(5)
    p = _probs(rng, 2000, 4, np.float64)
    y = rng.integers(0, 4, 2000)
    whole = CalibrationError(12, per_class=True, backend=backend).update(y, p)
    parts = CalibrationError(12, per_class=True, backend=backend)
    for a in range(0, 2000, 300):
        assert parts.update(y[a : a + 300], p[a : a + 300]) is parts
    left = CalibrationError(12, per_class=True, backend=backend).update(y[:700], p[:700])
    right = CalibrationError(12, per_class=True, backend=backend).update(y[700:], p[700:])
    for other in (parts, left + right, left.copy().merge(right)):
        got, want = other.compute(), whole.compute()
        np.testing.assert_array_equal(got.matrix, want.matrix)
        np.testing.assert_array_equal(got.bin_counts, want.bin_counts)
        assert got.ece == pytest.approx(want.ece, rel=1e-12)
        np.testing.assert_allclose(got.classwise_ece, want.classwise_ece, rtol=1e-12)
    assert CalibrationError(12, per_class=True).merge(whole).compute().n_samples == 2000  # classes taken over
    with pytest.raises(ValueError, match="n_bins"):
        whole.merge(CalibrationError(10))
    with pytest.raises(ValueError, match="classes"):
        whole.copy().merge(CalibrationError(12, per_class=True).update([0], [[1.0, 0.0]]))
    with pytest.raises(TypeError, match="CalibrationError"):
        whole.merge(object())
    assert whole.copy().reset().n_samples == 0


def test_save_load_round_trip_and_damage(tmp_path):
    rng = np.random.default_rng(6)
    p = _probs(rng, 500, 3)
    y = rng.integers(0, 3, 500)
    acc = CalibrationError(8, scores="probabilities", per_class=True).update(y, p)
    path = tmp_path / "cal.npz"
    acc.save(path)
    back = CalibrationError.load(path)
    assert (back.n_bins, back.per_class, back.num_classes, back.n_samples) == (8, True, 3, 500)
    assert back.compute().ece == acc.compute().ece
    np.testing.assert_array_equal(back.compute().classwise_bin_counts, acc.compute().classwise_bin_counts)
    back.update(y, p)  # a loaded accumulator keeps counting
    assert back.n_samples == 1000
    with pytest.raises(FileNotFoundError):
        CalibrationError.load(tmp_path / "missing.npz")
    data = dict(np.load(path))
    data["bin_counts"] = data["bin_counts"] + 1
    np.savez(tmp_path / "bad.npz", **data)
    with pytest.raises(ValueError, match="damaged"):
        CalibrationError.load(tmp_path / "bad.npz")
    data = dict(np.load(path))
    del data["matrix"]
    np.savez(tmp_path / "missing_field.npz", **data)
    with pytest.raises(ValueError, match="missing 'matrix'"):
        CalibrationError.load(tmp_path / "missing_field.npz")
    fastcm.ThresholdConfusionMatrix(thresholds=3).save(tmp_path / "other.npz")
    with pytest.raises(ValueError, match="not a fastcm CalibrationError"):
        CalibrationError.load(tmp_path / "other.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a readable"):
        CalibrationError.load(tmp_path / "junk.npz")


def test_empty_and_unset():
    res = CalibrationError(5).compute()
    assert np.isnan(res.ece) and res.n_samples == 0 and res.matrix.shape == (0, 0)
    res = CalibrationError(5).update(np.zeros(0, np.int64), np.zeros((0, 3))).compute()
    assert res.matrix.shape == (3, 3) and res.n_samples == 0 and np.isnan(res.mce)


def test_invalid_inputs(backend):
    acc = CalibrationError(10, backend=backend).update([0, 1], [[0.7, 0.3], [0.4, 0.6]])
    before = acc.compute()
    s = np.array([[0.7, 0.3], [0.5, np.nan], [np.nan, 0.1]])
    with pytest.raises(ValueError, match=r"got NaN at index \(1, 1\) \(2 invalid rows in total\)"):
        acc.update([0, 1, 0], s)
    with pytest.raises(ValueError, match=r"`y_true` labels in 0..1 \(num_classes=2\), but got 5 at position 1"):
        acc.update([0, 5], [[0.7, 0.3], [0.4, 0.6]])
    with pytest.raises(ValueError, match=r"but got -1 at position 0"):
        acc.update([-1, 0], [[0.7, 0.3], [0.4, 0.6]])
    with pytest.raises(ValueError, match=r"batch 2.*scores='logits'"):  # "auto" read batch 1 as probabilities
        acc.update([0, 1], [[0.7, 0.3], [2.5, 0.6]])
    explicit = CalibrationError(10, scores="probabilities", backend=backend)
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\].*got 2.5 at index \(1, 0\).*scores='logits'"):
        explicit.update([0, 1], [[0.7, 0.3], [2.5, 0.6]])
    with pytest.raises(ValueError, match=r"got -0.5 at index \(0, 1\)"):  # per-class bins check every column
        CalibrationError(10, scores="probabilities", per_class=True, backend=backend).update([0], [[0.7, -0.5]])
    with pytest.raises(ValueError, match=r"finite logits.*inf at index \(0, 1\)"):
        CalibrationError(10, scores="logits", backend=backend).update([0], [[1.0, np.inf]])
    assert CalibrationError(10, scores="logits", backend=backend).update([0], [[0.0, -np.inf]]).compute().ece == 0.0
    with pytest.raises(ValueError, match=r"shape \(N, C\).*np.stack"):
        acc.update([0, 1], [0.3, 0.6])
    with pytest.raises(ValueError, match="num_classes=2 columns, but got 3"):
        acc.update([0, 1], np.full((2, 3), 0.3))
    with pytest.raises(ValueError, match=r"`y_true` of shape \(2,\)"):
        acc.update([0, 1, 1], [[0.7, 0.3], [0.4, 0.6]])
    with pytest.raises(TypeError, match="floating-point"):
        acc.update([0, 1], [[1, 0], [0, 1]])
    with pytest.raises(TypeError, match="strings"):
        acc.update(["a", "b"], [[0.7, 0.3], [0.4, 0.6]])
    after = acc.compute()  # failed updates changed nothing
    assert after.n_samples == before.n_samples == 2 and after.ece == before.ece
    with pytest.raises(ValueError, match="`n_bins` to be a positive int, but got 0"):
        CalibrationError(0)
    with pytest.raises(ValueError, match="`scores` to be one of"):
        CalibrationError(scores="probs")
    with pytest.raises(ValueError, match="`norm` to be one of"):
        calibration_error([0], [[1.0]], norm="l3")
    with pytest.raises(ValueError, match="Unknown backend"):
        CalibrationError(backend="gpu")


def test_dtypes_and_inputs(backend):
    p64 = np.array([[0.9, 0.1], [0.35, 0.65], [0.5, 0.5]])
    y = np.array([0, 0, 1])
    want = calibration_error(y, p64, 5, backend=backend)
    for s in (p64.astype(np.float32), p64.astype(np.float16), np.asfortranarray(p64), p64.tolist()):
        assert calibration_error(y, s, 5, backend=backend) == pytest.approx(want, abs=1e-3)
    for t in (y.astype(np.uint8), y.astype(bool), y.astype(np.float64), y.reshape(-1, 1)):
        assert calibration_error(t, p64, 5, backend=backend) == want
    # ties go to the lowest class, as fastcm.confusion_matrix
    assert CalibrationError(5, backend=backend).update(y, p64).compute().matrix.tolist() == [[1, 1], [1, 0]]


def test_reliability_diagram_renders(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from fastcm.plot import reliability_diagram

    rng = np.random.default_rng(7)
    p = _probs(rng, 3000, 4)
    p[:20] = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 20)]
    acc = CalibrationError(10).update(rng.integers(0, 4, 3000), p)
    fig = reliability_diagram(acc)
    fig.savefig(tmp_path / "rel.png")
    assert (tmp_path / "rel.png").stat().st_size > 1000
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("Confidence", "Accuracy")
    assert "ECE" in " ".join(t.get_text() for t in ax.get_legend().get_texts())
    from matplotlib.figure import Figure

    ax2 = Figure().subplots()
    assert acc.compute().plot(ax=ax2) is ax2.figure


@pytest.mark.parametrize("name", ["fastcm.answers.calibration", "fastcm.answers.operating_points", "fastcm.backends.numpy_ref.calibrating"])
def test_docstring_examples(name):
    if name == "fastcm.plot":
        pytest.importorskip("matplotlib")
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_reliability_docstring():
    pytest.importorskip("matplotlib")
    import fastcm.plot

    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(fastcm.plot.reliability_diagram, "reliability_diagram", globs=vars(fastcm.plot)):
        runner.run(test)
    assert runner.failures == 0 and runner.tries > 0


# -- issue 32: what is not a probability distribution is refused, not binned -------------------------
def _not_probabilities():
    rng = np.random.default_rng(7)
    z = rng.random((200, 5))  # logits that happen to lie in [0, 1]
    binary = np.stack([np.zeros(200), rng.random(200)], axis=1)  # binary [0, z] logits
    sigmoids = 1 / (1 + np.exp(-rng.normal(size=(200, 4))))  # per-class sigmoids
    half = np.full((200, 2), 0.25)  # rows summing to 0.5
    return {"logits in [0, 1]": z, "binary [0, z]": binary, "sigmoids": sigmoids, "half": half}


@pytest.mark.parametrize("kind", ["logits in [0, 1]", "binary [0, z]", "sigmoids", "half"])
@pytest.mark.parametrize("scores", ["auto", "probabilities"])
def test_rows_that_are_not_distributions_are_refused(backend, kind, scores):
    s = _not_probabilities()[kind]
    y = np.arange(s.shape[0]) % s.shape[1]
    with pytest.raises(ValueError, match=r"sum to 1.*row \d+ sums to .*scores='logits'"):
        CalibrationError(10, scores=scores, backend=backend).update(y, s)
    assert np.isfinite(calibration_error(y, s, 10, scores="logits", backend=backend))


def test_row_sum_tolerance(backend):
    from fastcm.answers.calibration import ROW_SUM_TOLERANCE

    rng = np.random.default_rng(8)
    z = rng.normal(size=(500, 1000)).astype(np.float32)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)  # float32 softmax of 1000 classes
    y = rng.integers(0, 1000, 500)
    assert np.isfinite(calibration_error(y, p, 10, backend=backend))
    off = np.array([[0.6, 0.4 + ROW_SUM_TOLERANCE / 2], [0.5, 0.5]])
    assert np.isfinite(calibration_error([0, 1], off, 10, backend=backend))
    with pytest.raises(ValueError, match="row 0 sums to"):
        calibration_error([0, 1], off + [[0, ROW_SUM_TOLERANCE]], 10, backend=backend)
