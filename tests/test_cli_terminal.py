"""``fastcm report`` and ``fastcm demo`` for the person at the terminal (issue 34, items 5-9):
ignored pairs said apart, names mapped or refused, every format carrying every section,
throughput measured apart from loading, a demo that shows the accuracy paradox, one
progress rule for the CLI and ``fastcm.accumulate.evaluate``."""

import csv
import io
import json

import numpy as np
import pytest

from fastcm import cli


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def report_json(capsys, *argv):
    code, out, err = run(capsys, "report", *argv, "--format", "json", "--quiet")
    assert code == 0, err
    return json.loads(out)


# -- 5. ignored pairs, --ignore-index of the data's kind, --names mapped or refused ----------
@pytest.fixture
def masks(tmp_path):
    t = np.array([0, 1, 255, 255, 2, 1, 255, 0], dtype=np.uint8)
    p = np.array([0, 1, 0, 1, 2, 2, 2, 1], dtype=np.uint8)
    np.save(tmp_path / "t.npy", t)
    np.save(tmp_path / "p.npy", p)
    return tmp_path


def test_ignored_pairs_are_reported_apart_from_counted_ones(capsys, masks):
    args = ["--true", masks / "t.npy", "--pred", masks / "p.npy", "--ignore-index", 255, "--num-classes", 3]
    doc = report_json(capsys, *args)
    assert doc["n_predictions"] == 5 and doc["n_ignored"] == 3 and doc["n_read"] == 8
    assert doc["ignore_index"] == 255
    assert sum(map(sum, doc["confusion_matrix"])) == 5
    code, out, _ = run(capsys, "report", *args, "--quiet")
    assert code == 0
    head = out.splitlines()[0]
    assert "5 predictions counted" in head and "3 ignored" in head and "255" in head
    assert "8 pairs read" in out  # the throughput says what it ran over
    for fmt in ("markdown", "csv"):
        code, out, _ = run(capsys, "report", *args, "--quiet", "--format", fmt)
        assert code == 0 and "3 ignored" in out


def test_ignore_index_takes_a_string_label(capsys, tmp_path):
    (tmp_path / "a.csv").write_text("truth,guess\ncat,dog\nvoid,dog\ncat,cat\ndog,dog\nvoid,cat\n")
    doc = report_json(capsys, "--true", f"{tmp_path}/a.csv:truth", "--pred", f"{tmp_path}/a.csv:guess",
                      "--ignore-index", "void")
    assert doc["labels"] == ["cat", "dog"]
    assert doc["confusion_matrix"] == [[1, 1], [0, 1]]
    assert doc["n_predictions"] == 3 and doc["n_ignored"] == 2


def test_ignore_index_of_the_wrong_kind_is_exit_2(capsys, masks):
    code, _, err = run(capsys, "report", "--true", masks / "t.npy", "--pred", masks / "p.npy", "--ignore-index", "void")
    assert code == 2 and "--ignore-index" in err and "void" in err and "integer" in err
    assert len(err.strip().splitlines()) == 1


def test_names_map_integer_labels_by_index(capsys, tmp_path):
    # class 3 never occurs: the fourth name is not given to class 4
    t, p = np.array([0, 1, 2, 4, 4]), np.array([0, 1, 2, 4, 0])
    np.save(tmp_path / "t.npy", t)
    np.save(tmp_path / "p.npy", p)
    (tmp_path / "names.txt").write_text("zero\none\ntwo\nthree\nfour\n")
    doc = report_json(capsys, "--true", tmp_path / "t.npy", "--pred", tmp_path / "p.npy", "--names", tmp_path / "names.txt")
    assert doc["labels"] == [0, 1, 2, 4]
    assert doc["target_names"] == ["zero", "one", "two", "four"]
    (tmp_path / "four.txt").write_text("zero\none\ntwo\nthree\n")
    code, _, err = run(capsys, "report", "--true", tmp_path / "t.npy", "--pred", tmp_path / "p.npy",
                       "--names", tmp_path / "four.txt", "--quiet")
    assert code == 2 and "4" in err and "--names" in err and "LABEL<TAB>NAME" in err


def test_names_refuse_positional_names_for_string_labels(capsys, tmp_path):
    (tmp_path / "a.csv").write_text("truth,guess\ncat,dog\ndog,dog\nbird,cat\n")
    (tmp_path / "names.txt").write_text("Katze\nHund\nVogel\n")
    args = ["--true", f"{tmp_path}/a.csv:truth", "--pred", f"{tmp_path}/a.csv:guess"]
    code, _, err = run(capsys, "report", *args, "--names", tmp_path / "names.txt", "--quiet")
    assert code == 2 and "bird" in err and "LABEL<TAB>NAME" in err
    (tmp_path / "map.txt").write_text("cat\tKatze\ndog\tHund\nbird\tVogel\n")
    doc = report_json(capsys, *args, "--names", tmp_path / "map.txt")
    assert doc["labels"] == ["bird", "cat", "dog"]
    assert doc["target_names"] == ["Vogel", "Katze", "Hund"]
    (tmp_path / "part.txt").write_text("cat\tKatze\ndog\tHund\n")
    code, _, err = run(capsys, "report", *args, "--names", tmp_path / "part.txt", "--quiet")
    assert code == 2 and "bird" in err and "no name" in err


# -- 6. every format carries every requested section ------------------------------------------
@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    rng = np.random.default_rng(3)
    n, c = 600, 3
    t = rng.integers(0, c, n)
    p = np.where(rng.random(n) < 0.8, t, rng.integers(0, c, n))
    s = rng.random((n, c))
    s[np.arange(n), p] += 2.0
    s /= s.sum(axis=1, keepdims=True)
    d = tmp_path_factory.mktemp("scored")
    np.save(d / "t.npy", t)
    np.save(d / "p.npy", p)
    np.save(d / "s.npy", s)
    return d, t, p


SECTIONS = ["--ci", "0.9", "--operating-point", "recall=0.9", "--calibration", "5", "--require", "recall>=0.99"]


def test_markdown_carries_every_requested_section(capsys, scored):
    d, t, p = scored
    code, out, err = run(capsys, "report", "--true", d / "t.npy", "--pred", d / "p.npy", "--scores", d / "s.npy",
                         *SECTIONS, "--format", "markdown", "--quiet")
    assert code == 3 and "recall" in err
    for heading in ("## 90% confidence intervals", "## Operating points", "## Calibration", "## Requirements"):
        assert heading in out
    assert "FAILED" in out and "recall>=0.99" in out
    lines = out.splitlines()
    row = lambda name: next(i for i, ln in enumerate(lines) if ln.startswith(f"| {name} |"))
    assert row("2") < row("accuracy") < row("macro avg") < row("weighted avg")  # as text and scikit-learn


def test_csv_carries_the_matrix_and_every_requested_section(capsys, scored):
    from sklearn.metrics import confusion_matrix as sk_cm

    d, t, p = scored
    code, out, _ = run(capsys, "report", "--true", d / "t.npy", "--pred", d / "p.npy", "--scores", d / "s.npy",
                       *SECTIONS, "--format", "csv", "--quiet")
    assert code == 3
    rows = list(csv.DictReader(io.StringIO(out)))
    by_class = {r["class"]: r for r in rows}
    expected = sk_cm(t, p)
    for i in range(3):
        r = by_class[str(i)]
        assert [int(r[f"predicted {j}"]) for j in range(3)] == expected[i].tolist()
        low, high = float(r["recall ci low"]), float(r["recall ci high"])
        assert low <= float(r["recall"]) <= high
        assert 0 <= float(r["recall>=0.9 threshold"]) <= 1 and float(r["auroc"]) > 0.5
    assert float(by_class["accuracy"]["f1-score ci low"]) <= float(by_class["accuracy"]["f1-score"])
    statements = [r["class"] for r in rows if not r["support"]]
    assert any(s.startswith("calibration") and "ECE" in s for s in statements)
    assert any("requirements" in s and "FAILED" in s for s in statements)
    # the report's own rows come first, in scikit-learn's order
    assert [r["class"] for r in rows[:6]] == ["0", "1", "2", "accuracy", "macro avg", "weighted avg"]


def test_json_with_normalize_keeps_the_counts(capsys, scored):
    from sklearn.metrics import confusion_matrix as sk_cm

    d, t, p = scored
    doc = report_json(capsys, "--true", d / "t.npy", "--pred", d / "p.npy", "--normalize", "true")
    np.testing.assert_allclose(doc["confusion_matrix"], sk_cm(t, p, normalize="true"))
    assert doc["confusion_matrix_counts"] == sk_cm(t, p).tolist()


def test_csv_with_normalize_says_so_and_keeps_counts(capsys, scored):
    d, t, p = scored
    code, out, _ = run(capsys, "report", "--true", d / "t.npy", "--pred", d / "p.npy", "--normalize", "true",
                       "--format", "csv", "--quiet")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and abs(sum(float(rows[0][f"predicted {j}"]) for j in range(3)) - 1) < 1e-3
    assert any("normalized over true" in r["class"] for r in rows)


# -- 7. throughput: counting timed apart from loading the kernels and reading the files --------
def test_counting_rate_excludes_kernel_loading_and_reading(tmp_path):
    import subprocess
    import sys

    rng = np.random.default_rng(0)
    t = rng.integers(0, 5, 200_000)
    np.save(tmp_path / "t.npy", t)
    np.save(tmp_path / "p.npy", np.where(rng.random(t.size) < 0.8, t, 0))
    # a fresh process: numba's start-up (and any compile) is paid by this run
    res = subprocess.run([sys.executable, "-m", "fastcm", "report", "--true", str(tmp_path / "t.npy"), "--pred",
                          str(tmp_path / "p.npy"), "--format", "json", "--quiet"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    tp = json.loads(res.stdout)["throughput"]
    assert tp["load_seconds"] > 0.05  # importing numba at least
    assert tp["counting_seconds"] < min(0.1, tp["load_seconds"])  # 2e5 pairs on the plain tier: about a millisecond
    assert tp["reading_seconds"] >= 0
    assert tp["counting_predictions_per_second"] == pytest.approx(200_000 / tp["counting_seconds"])
    res = subprocess.run([sys.executable, "-m", "fastcm", "report", "--true", str(tmp_path / "t.npy"), "--pred",
                          str(tmp_path / "p.npy"), "--quiet"], capture_output=True, text=True, timeout=120)
    said = res.stdout[res.stdout.index("Throughput"):]
    for part in ("counting", "reading", "loading the kernels", "not in the rates"):
        assert part in said, said


# -- 8. the demo shows the accuracy paradox, the threshold that restores recall, the gate ------
def test_rare_class_demo_data_is_real_and_consistent():
    from importlib import resources

    with resources.as_file(resources.files("fastcm") / "data" / cli.DEMO_EXAMPLES["rare"]["file"]) as path, \
            np.load(path) as z:
        y, pred, proba = z["y_true"], z["y_pred"], z["y_proba"]
        assert z["target_names"].tolist() == ["benign", "malignant"]
        assert proba.dtype == np.float32 and proba.shape == (y.size, 2)
        np.testing.assert_allclose(proba.sum(axis=1), 1, atol=1e-5)
        np.testing.assert_array_equal(pred, (proba[:, 1] >= 0.5).astype(pred.dtype))
        assert y.size == 379 and y.sum() == 22  # every benign tumour, every 10th malignant one
        assert (pred == y).mean() > 0.95 and pred[y == 1].mean() < 0.4  # the paradox, in the data
        assert path.stat().st_size < 20_000


def test_demo_rare_example_flags_the_paradox_and_restores_recall(capsys):
    code, out, err = run(capsys, "demo", "--example", "rare", "--stream-size", 0, "--format", "json")
    assert code == 0, err
    doc = json.loads(out)["examples"][0]
    assert doc["example"] == "rare" and doc["report"]["accuracy"] > 0.95
    assert doc["report"]["malignant"]["recall"] < 0.4
    assert "accuracy_paradox" in [d["kind"] for d in doc["diagnostics"]]
    fix = doc["restored"]
    assert fix["class"] == "malignant" and fix["threshold"] < 0.5
    assert fix["recall"] >= 0.8 > fix["recall_at_0.5"]
    assert fix["tp"] + fix["fn"] == 22
    assert doc["requirements"]["passed"] is False


def test_demo_text_explains_paradox_gate_and_plot(capsys):
    code, out, err = run(capsys, "demo", "--stream-size", 0, "--quiet")
    assert code == 0, err
    assert "handwritten digits" in out and "breast cancer" in out  # both examples by default
    assert "Accuracy paradox" in out
    assert "restores" in out and "malignant" in out
    # a failed gate is explained: what report would do with it, and why the demo exits 0
    assert "would exit 3" in out and "accuracy alone" in out
    assert "--plot" in out  # the pictures are offered


def test_demo_plot_draws_each_example(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    code, out, err = run(capsys, "demo", "--stream-size", 0, "--quiet", "--plot", tmp_path / "demo.png")
    assert code == 0, err
    assert (tmp_path / "demo-digits.png").stat().st_size > 1000
    assert (tmp_path / "demo-rare.png").stat().st_size > 1000
    code, out, err = run(capsys, "demo", "--example", "rare", "--stream-size", 0, "--quiet", "--plot", tmp_path / "r.png")
    assert code == 0 and (tmp_path / "r.png").stat().st_size > 1000 and "r.png" in out


# -- 9. progress: one rule for the CLI and fastcm.accumulate.evaluate, a bar without tqdm -----------------
def _batches(k):
    rng = np.random.default_rng(0)
    return [(rng.integers(0, 4, 50), rng.integers(0, 4, 50)) for _ in range(k)]


def _no_tqdm(monkeypatch):
    import sys

    for name in ("tqdm", "tqdm.auto", "tqdm.autonotebook"):
        monkeypatch.setitem(sys.modules, name, None)


def _terminal(monkeypatch):
    import sys

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)


def test_evaluate_writes_no_bar_into_a_redirected_log(capsys):
    import fastcm

    cm = fastcm.evaluate(_batches(3), num_classes=4, progress=True, desc="evalbar")
    assert capsys.readouterr().err == "" and cm.n_samples == 150  # stderr is a file or pipe here


@pytest.mark.parametrize("tqdm_installed", [True, False])
def test_evaluate_and_cli_draw_a_bar_on_a_terminal(capsys, monkeypatch, tmp_path, tqdm_installed):
    import fastcm

    if tqdm_installed:
        pytest.importorskip("tqdm")
    else:
        _no_tqdm(monkeypatch)
    _terminal(monkeypatch)
    fastcm.evaluate(_batches(3), num_classes=4, desc="evalbar")
    err = capsys.readouterr().err
    assert "evalbar" in err and "3/3" in err
    np.save(tmp_path / "t.npy", np.arange(300) % 3)
    code, _, err = run(capsys, "report", "--true", tmp_path / "t.npy", "--pred", tmp_path / "t.npy", "--chunk-size", 100)
    assert code == 0 and "counting" in err and "300/300" in err
    code, _, err = run(capsys, "report", "--true", tmp_path / "t.npy", "--pred", tmp_path / "t.npy", "--quiet")
    assert code == 0 and err == ""
    fastcm.evaluate(_batches(2), num_classes=4, progress=False)
    assert capsys.readouterr().err == ""


def test_text_bar_without_tqdm_draws_in_place(monkeypatch):
    from fastcm.accumulate.evaluate import progress_bar

    _no_tqdm(monkeypatch)
    out = io.StringIO()
    out.isatty = lambda: True
    bar = progress_bar(4, unit="row", desc="counting", file=out, leave=True)
    for _ in range(4):
        bar.update(1)
    bar.close()
    text = out.getvalue()
    assert "\r" in text and "counting" in text and "4/4" in text and "100%" in text and text.endswith("\n")
