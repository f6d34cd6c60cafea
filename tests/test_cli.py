"""The ``fastcm`` command line: every file format, chunked streaming, outputs, exit codes."""

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.metrics import confusion_matrix as sk_confusion_matrix

from fastcm import cli
from fastcm.cli.io import InputError, open_column

N, C = 1003, 5


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    t = rng.integers(0, C, N)
    p = np.where(rng.random(N) < 0.7, t, rng.integers(0, C, N))
    s = rng.random((N, C)).astype(np.float32)
    s[np.arange(N), p] += 2.0
    s /= s.sum(axis=1, keepdims=True)
    return t, p, s


@pytest.fixture(scope="module")
def files(tmp_path_factory, data):
    t, p, s = data
    d = tmp_path_factory.mktemp("cli")
    np.save(d / "t.npy", t)
    np.save(d / "p.npy", p.astype(np.int16))  # mixed dtypes across files
    np.save(d / "s.npy", s)
    np.save(d / "tp.npy", np.stack([t, p], axis=1))
    np.savez(d / "a.npz", y_true=t, y_pred=p)
    header = ["label", "pred"] + [f"p{i}" for i in range(C)]
    rows = [[int(a), int(b)] + [f"{v:.6f}" for v in r] for a, b, r in zip(t, p, s)]
    for name, sep in (("a.csv", ","), ("a.tsv", "\t")):
        with open(d / name, "w", newline="") as f:
            w = csv.writer(f, delimiter=sep)
            w.writerow(header)
            w.writerows(rows)
    import gzip

    with gzip.open(d / "a.csv.gz", "wt", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    with open(d / "noheader.csv", "w") as f:
        f.writelines(f"{a},{b}\n" for a, b in zip(t, p))
    np.savetxt(d / "t.txt", t, fmt="%d")
    np.savetxt(d / "p.txt", p, fmt="%d")
    (d / "names.txt").write_text("zero\none\ntwo\nthree\nfour\n")
    (d / "names3.txt").write_text("zero\none\ntwo\n")
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.table({"label": t, "pred": p, **{f"p{i}": s[:, i] for i in range(C)}})
        pq.write_table(table, d / "a.parquet", row_group_size=300)
        scores = pa.FixedSizeListArray.from_arrays(pa.array(s.reshape(-1)), C)
        pq.write_table(pa.table({"label": t, "scores": scores}), d / "lists.parquet", row_group_size=256)
    except ImportError:
        pass
    return d


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def report_json(capsys, *argv):
    code, out, err = run(capsys, "report", *argv, "--format", "json", "--quiet")
    assert code == 0, err
    return json.loads(out)


SPECS = {
    "npy": ("t.npy", "p.npy"),
    "npy-columns": ("tp.npy:0", "tp.npy:1"),
    "npz": ("a.npz:y_true", "a.npz:y_pred"),
    "csv": ("a.csv:label", "a.csv:pred"),
    "csv-position": ("a.csv:0", "a.csv:1"),
    "tsv": ("a.tsv:label", "a.tsv:pred"),
    "csv-gz": ("a.csv.gz:label", "a.csv.gz:pred"),
    "csv-no-header": ("noheader.csv:0", "noheader.csv:1"),
    "txt": ("t.txt", "p.txt"),
    "parquet": ("a.parquet:label", "a.parquet:pred"),
}


@pytest.mark.parametrize("kind", list(SPECS))
@pytest.mark.parametrize("chunk", [97, 1 << 20])
def test_report_each_format_matches_sklearn(capsys, files, data, kind, chunk):
    if kind == "parquet":
        pytest.importorskip("pyarrow")
    t, p, _ = data
    true, pred = SPECS[kind]
    doc = report_json(capsys, "--true", files / true, "--pred", files / pred, "--chunk-size", chunk)
    assert doc["n_predictions"] == N
    np.testing.assert_array_equal(doc["confusion_matrix"], sk_confusion_matrix(t, p))
    assert doc["report"]["accuracy"] == pytest.approx(float((t == p).mean()))


def test_csv_without_pandas(capsys, files, data, monkeypatch):
    t, p, _ = data
    expected = sk_confusion_matrix(t, p)
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas -> ImportError
    doc = report_json(capsys, "--true", f"{files}/a.csv:label", "--pred", f"{files}/a.csv:pred", "--chunk-size", 50)
    np.testing.assert_array_equal(doc["confusion_matrix"], expected)


@pytest.mark.parametrize("scores", ["s.npy", "a.csv:p0,p1,p2,p3,p4", "a.parquet:p0,p1,p2,p3,p4", "lists.parquet:scores"])
def test_scores_give_predictions_by_argmax(capsys, files, data, scores):
    if "parquet" in scores:
        pytest.importorskip("pyarrow")
    t, _, s = data
    true = "lists.parquet:label" if scores.startswith("lists") else "t.npy"
    doc = report_json(capsys, "--true", files / true, "--scores", files / scores, "--chunk-size", 200)
    np.testing.assert_array_equal(doc["confusion_matrix"], sk_confusion_matrix(t, s.argmax(axis=1), labels=range(C)))


@pytest.mark.parametrize("spec", ["b.csv:score", "b.npy"])
def test_binary_scores_one_column(capsys, tmp_path, spec):
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 300)
    score = np.clip(y * 0.3 + rng.random(300) * 0.7, 0, 1)
    np.save(tmp_path / "y.npy", y)
    np.save(tmp_path / "b.npy", score)
    (tmp_path / "b.csv").write_text("score\n" + "\n".join(f"{v:.8f}" for v in score) + "\n")
    doc = report_json(capsys, "--true", tmp_path / "y.npy", "--scores", f"{tmp_path}/{spec}", "--chunk-size", 64)
    np.testing.assert_array_equal(doc["confusion_matrix"], sk_confusion_matrix(y, (score >= 0.5).astype(int)))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    t=st.lists(st.integers(0, 6), min_size=1, max_size=300),
    seed=st.integers(0, 2**16),
    chunk=st.integers(1, 400),
)
def test_chunked_stream_equals_one_shot(tmp_path, capsys, t, seed, chunk):
    t = np.array(t)
    p = np.random.default_rng(seed).integers(0, 7, t.size)
    np.save(tmp_path / "t.npy", t)
    np.savetxt(tmp_path / "p.txt", p, fmt="%d")
    doc = report_json(capsys, "--true", tmp_path / "t.npy", "--pred", tmp_path / "p.txt", "--chunk-size", chunk)
    labels = np.union1d(t, p)
    assert doc["labels"] == labels.tolist()
    np.testing.assert_array_equal(doc["confusion_matrix"], sk_confusion_matrix(t, p, labels=labels))


def test_options_labels_ignore_index_names_normalize(capsys, files, data):
    t, p, _ = data
    doc = report_json(capsys, "--true", files / "t.npy", "--pred", files / "p.npy", "--labels", "3,1", "0")
    np.testing.assert_array_equal(doc["confusion_matrix"], sk_confusion_matrix(t, p, labels=[3, 1, 0]))
    doc = report_json(capsys, "--true", files / "t.npy", "--pred", files / "p.npy", "--ignore-index", 2, "--num-classes", C)
    keep = t != 2
    np.testing.assert_array_equal(doc["confusion_matrix"], sk_confusion_matrix(t[keep], p[keep], labels=range(C)))
    doc = report_json(capsys, "--true", files / "t.npy", "--pred", files / "p.npy", "--names", files / "names.txt",
                      "--normalize", "true")
    assert doc["target_names"] == ["zero", "one", "two", "three", "four"]
    assert "three" in doc["report"]
    np.testing.assert_allclose(doc["confusion_matrix"], sk_confusion_matrix(t, p, normalize="true"))


def test_string_labels_from_csv(capsys, tmp_path):
    (tmp_path / "a.csv").write_text("truth,guess\ncat,dog\ndog,dog\ncat,cat\nbird,cat\n")
    doc = report_json(capsys, "--true", f"{tmp_path}/a.csv:truth", "--pred", f"{tmp_path}/a.csv:guess", "--chunk-size", 3)
    assert doc["labels"] == ["bird", "cat", "dog"]
    np.testing.assert_array_equal(doc["confusion_matrix"], [[0, 1, 0], [0, 1, 1], [0, 0, 1]])


def test_text_markdown_csv_outputs(capsys, files, data):
    t, p, _ = data
    args = ["report", "--true", files / "t.npy", "--pred", files / "p.npy", "--quiet"]
    code, out, _ = run(capsys, *args)
    assert code == 0
    for heading in ("Classification report", "Confusion matrix", "Diagnostics", "Throughput", "weighted avg"):
        assert heading in out
    code, out, _ = run(capsys, *args, "--format", "markdown")
    assert code == 0 and "| class | precision | recall | f1-score | support |" in out
    table_rows = [ln for ln in out.splitlines() if ln.startswith("| ") and ln.count("|") == 6]
    assert len(table_rows) >= C + 2
    code, out, _ = run(capsys, *args, "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["class"] for r in rows] == [str(i) for i in range(C)] + ["accuracy", "macro avg", "weighted avg"]
    assert sum(int(r["support"]) for r in rows[:C]) == N
    assert float(rows[C]["f1-score"]) == pytest.approx(float((t == p).mean()), abs=1e-4)


def test_many_classes_text_lists_confused_pairs(capsys, tmp_path):
    rng = np.random.default_rng(0)
    t = rng.integers(0, 60, 2000)
    p = np.where(rng.random(2000) < 0.5, t, (t + 1) % 60)
    np.save(tmp_path / "t.npy", t)
    np.save(tmp_path / "p.npy", p)
    code, out, _ = run(capsys, "report", "--true", tmp_path / "t.npy", "--pred", tmp_path / "p.npy", "--quiet")
    assert code == 0
    assert "too many to print" in out and "predicted as" in out


BAD = [
    ("--true", "missing.npy", "--pred", "p.npy"),
    ("--true", "a.csv", "--pred", "p.npy"),  # several columns, none named
    ("--true", "a.csv:nope", "--pred", "a.csv:pred"),
    ("--true", "a.npz", "--pred", "p.npy"),  # several arrays, no key
    ("--true", "t.npy", "--pred", "p.npy", "--num-classes", "3"),  # label 4 out of range
    ("--true", "t.npy", "--pred", "s.npy:0"),  # fractional labels
    ("--true", "names.txt", "--pred", "p.txt"),  # different lengths
    ("--true", "t.npy", "--pred", "p.npy", "--names", "names3.txt"),  # labels 3 and 4 have no name
    ("--true", "t.npy"),  # neither --pred nor --scores
    ("--true", "t.npy", "--pred", "p.npy", "--format", "xml"),
    ("--true", "t.npy", "--pred", "p.npy", "--chunk-size", "0"),
    ("--true", "t.npy", "--pred", "p.npy", "--bogus"),
    ("--true", "t.npy", "--pred", "names.doc"),
]


@pytest.mark.parametrize("argv", BAD, ids=lambda a: " ".join(a))
def test_bad_input_exits_2_with_one_line(capsys, files, argv, monkeypatch):
    monkeypatch.chdir(files)
    code, out, err = run(capsys, "report", *argv, "--quiet")
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "error" in lines[0]
    assert "Traceback" not in err


def test_internal_error_exits_1_without_traceback(capsys, files, monkeypatch):
    def broken(*a, **k):
        raise RuntimeError("boom")

    monkeypatch.setattr(cli.render, "render", broken)
    code, out, err = run(capsys, "report", "--true", files / "t.npy", "--pred", files / "p.npy", "--quiet")
    assert code == 1
    assert "internal error" in err and "boom" in err and "Traceback" not in err


def test_help_and_no_command(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "report" in out and "demo" in out and "bench" in out
    code, _, err = run(capsys)
    assert code == 2 and "usage" in err


def test_progress_bar_only_on_a_terminal(capsys, files, monkeypatch):
    pytest.importorskip("tqdm")
    args = ["report", "--true", files / "t.npy", "--pred", files / "p.npy", "--chunk-size", 100]
    _, _, err = run(capsys, *args)
    assert err == ""  # stderr is not a terminal under pytest
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    _, _, err = run(capsys, *args)
    assert "counting" in err and "row" in err
    _, _, err = run(capsys, *args, "--quiet")
    assert err == ""


def test_plot_option_writes_png(capsys, files, tmp_path):
    pytest.importorskip("matplotlib")
    out_png = tmp_path / "r.png"
    code, _, err = run(capsys, "report", "--true", files / "t.npy", "--scores", files / "s.npy", "--plot", out_png, "--quiet")
    assert code == 0, err
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_matplotlib_is_exit_2(capsys, files, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    code, _, err = run(capsys, "report", "--true", files / "t.npy", "--pred", files / "p.npy", "--plot", tmp_path / "x.png")
    assert code == 2 and "matplotlib" in err


def test_demo_in_process(capsys):
    code, out, err = run(capsys, "demo", "--stream-size", 5000, "--quiet")
    assert code == 0, err
    assert "handwritten digits" in out and "Classification report" in out and "Synthetic stream: 5,000" in out
    code, out, _ = run(capsys, "demo", "--example", "digits", "--stream-size", 0, "--format", "json")
    doc = json.loads(out)["examples"][0]
    assert doc["n_classes"] == 10 and doc["target_names"][0] == "0"
    assert 0.8 < doc["report"]["accuracy"] < 0.95  # the bundled model is real, and imperfect


def test_demo_data_is_consistent():
    from importlib import resources

    with resources.as_file(resources.files("fastcm") / "data" / cli.DEMO_FILE) as path, np.load(path) as z:
        assert z["y_proba"].dtype == np.float32 and z["y_proba"].shape == (z["y_true"].size, 10)
        np.testing.assert_array_equal(z["y_proba"].argmax(axis=1), z["y_pred"])
        np.testing.assert_allclose(z["y_proba"].sum(axis=1), 1, atol=1e-4)
        assert os.path.getsize(path) < 200_000


def test_python_m_fastcm_demo_subprocess():
    env = dict(os.environ, MPLBACKEND="Agg")
    res = subprocess.run([sys.executable, "-m", "fastcm", "demo", "--stream-size", "20000", "--quiet"],
                         capture_output=True, text=True, timeout=120, env=env)
    assert res.returncode == 0, res.stderr
    assert "Classification report" in res.stdout and "Diagnostics" in res.stdout
    assert res.stderr == ""


def test_bench_runs_the_suite_of_the_checkout_in_a_new_process(monkeypatch):
    """The suite runs as ``python -m benchmarks ARGS`` in the checkout: sys.path is left alone."""
    seen = []
    path_before = list(sys.path)
    monkeypatch.setattr(cli.bench.subprocess, "run", lambda cmd, cwd: seen.append((cmd, cwd)) or subprocess.CompletedProcess(cmd, 4))
    assert cli.main(["bench", "--quick", "--select", "x"]) == 4  # the suite's exit code
    root = Path(cli.__file__).resolve().parents[2]
    assert seen == [([sys.executable, "-m", "benchmarks", "--quick", "--select", "x"], root)]
    assert sys.path == path_before and (root / "benchmarks" / "__main__.py").is_file()


def test_bench_help_comes_from_the_suite():
    root = Path(cli.__file__).resolve().parents[2]
    # run from outside the checkout, importing the fastcm under test (a non-editable install
    # beside it would be found first otherwise): the suite is found next to the package
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    res = subprocess.run([sys.executable, "-m", "fastcm", "bench", "--help"], capture_output=True, text=True,
                         timeout=120, cwd=root.parent, env=env)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("usage: python -m benchmarks") and "--quick" in res.stdout


def test_checkout_root_needs_the_suite_and_fastcms_pyproject(tmp_path):
    assert cli.bench.checkout_root() == Path(cli.__file__).resolve().parents[2]
    assert cli.bench.checkout_root(tmp_path) is None
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "__main__.py").write_text("")
    assert cli.bench.checkout_root(tmp_path) is None  # no pyproject.toml
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "other"\n')
    assert cli.bench.checkout_root(tmp_path) is None
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "fastcm"\n')
    assert cli.bench.checkout_root(tmp_path) == tmp_path


def test_bench_outside_a_checkout_exits_2(capsys, monkeypatch):
    monkeypatch.setattr(cli.bench, "checkout_root", lambda: None)
    monkeypatch.setattr(cli.bench.subprocess, "run", lambda *a, **k: pytest.fail("ran"))
    code, _, err = run(capsys, "bench", "--quick")
    assert code == 2 and "needs a checkout of the repository" in err and len(err.strip().splitlines()) == 1


def test_open_column_errors_name_the_file(tmp_path):
    (tmp_path / "x.json").write_text("[]")
    with pytest.raises(InputError, match="x.json"):
        open_column(str(tmp_path / "x.json"))
    (tmp_path / "a.txt").write_text("1\n2\n")
    with pytest.raises(InputError, match="no column"):
        open_column(f"{tmp_path}/a.txt:foo")


def test_npy_is_memory_mapped_and_streamed(files):
    col = open_column(str(files / "t.npy"))
    first = next(col.chunks(100))
    assert len(col) == N and first.shape == (100,)
    base = first
    while base.base is not None and not isinstance(base, np.memmap):
        base = base.base
    assert isinstance(base, np.memmap)  # a view of the mapped file, not a loaded copy


def test_parquet_reads_record_batches(files):
    pytest.importorskip("pyarrow")
    col = open_column(f"{files}/a.parquet:label")
    sizes = [len(c) for c in col.chunks(128)]
    assert len(col) == N and sum(sizes) == N and max(sizes) <= 128


def test_columns_of_one_file_share_a_reader(capsys, files, data):
    from fastcm.cli.io import open_columns

    t, p, s = data
    cols = open_columns([(f"{files}/a.csv:label", "y_true", False), (f"{files}/p.npy", "y_pred", False),
                         (f"{files}/a.csv:p0,p1,p2,p3,p4", "scores", True)])
    assert len(cols) == 2 and sorted(r for c in cols for r in c.roles) == [0, 1, 2]
    doc = report_json(capsys, "--true", f"{files}/a.csv:label", "--pred", files / "p.npy",
                      "--scores", f"{files}/a.csv:p0,p1,p2,p3,p4", "--chunk-size", 101)
    np.testing.assert_array_equal(doc["confusion_matrix"], sk_confusion_matrix(t, p))
    assert doc["inputs"] == {"y_true": f"{files}/a.csv:label", "y_pred": f"{files}/p.npy",
                             "scores": f"{files}/a.csv:p0,p1,p2,p3,p4"}


def test_segmentation_masks_and_logits(capsys, tmp_path):
    rng = np.random.default_rng(11)
    masks = rng.integers(0, 4, (6, 5, 7)).astype(np.uint8)
    masks[:, 0, :] = 255
    logits = rng.normal(size=(6, 4, 5, 7)).astype(np.float32)
    np.save(tmp_path / "masks.npy", masks)
    np.save(tmp_path / "logits.npy", logits)
    doc = report_json(capsys, "--true", tmp_path / "masks.npy", "--pred", tmp_path / "logits.npy",
                      "--num-classes", 4, "--ignore-index", 255, "--chunk-size", 4)
    t, p = masks.ravel(), logits.argmax(axis=1).ravel()
    keep = t != 255
    np.testing.assert_array_equal(doc["confusion_matrix"], sk_confusion_matrix(t[keep], p[keep], labels=range(4)))
    assert doc["n_predictions"] == keep.sum() and doc["n_ignored"] == (~keep).sum()
    assert doc["n_read"] == masks.size


def test_curves_summary_close_to_sklearn(capsys, files, data):
    from sklearn.metrics import average_precision_score, roc_auc_score

    t, _, s = data
    doc = report_json(capsys, "--true", files / "t.npy", "--scores", files / "s.npy", "--chunk-size", 300)
    assert [r["class"] for r in doc["curves"]] == [str(c) for c in range(C)]
    for c, row in enumerate(doc["curves"]):  # 1001 thresholds: close to the exact values
        assert row["auroc"] == pytest.approx(roc_auc_score(t == c, s[:, c]), abs=2e-3)
        assert row["average_precision"] == pytest.approx(average_precision_score(t == c, s[:, c]), abs=5e-3)


def test_labels_subset_reports_as_sklearn(capsys, files, data):
    """--labels picks classes to report, as scikit-learn's classification_report(labels=...):
    each still counts every sample, and "micro avg" replaces "accuracy" (class 9 never occurs)."""
    from sklearn.metrics import classification_report

    t, p, _ = data
    args = ("--true", files / "t.npy", "--pred", files / "p.npy")
    doc = report_json(capsys, *args, "--labels", "3,1", "9")
    expected = classification_report(t, p, labels=[3, 1, 9], output_dict=True, zero_division=0)
    assert list(doc["report"]) == ["3", "1", "9", "micro avg", "macro avg", "weighted avg"]
    for key, row in expected.items():
        assert doc["report"][str(key)] == pytest.approx(row)
    assert doc["report"]["3"]["support"] == float((t == 3).sum())  # was: only pairs with both labels listed
    assert doc["labels"] == [3, 1, 9]
    np.testing.assert_array_equal(doc["confusion_matrix"], sk_confusion_matrix(t, p, labels=[3, 1, 9]))
    code, out, _ = run(capsys, "report", *args, "--labels", "3,1", "9", "--format", "csv", "--quiet")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["class"] for r in rows] == ["3", "1", "9", "micro avg", "macro avg", "weighted avg"]
    assert float(rows[3]["recall"]) == pytest.approx(expected["micro avg"]["recall"], abs=1e-4)
    code, out, _ = run(capsys, "report", *args, "--labels", "3,1", "--quiet")
    assert code == 0 and "   micro avg " in out and "accuracy" not in out
    # declared classes and a subset of them to report: counted over all C, shown for the subset
    doc = report_json(capsys, *args, "--num-classes", C, "--labels", "0", "1")
    assert doc["report"]["0"] == pytest.approx(classification_report(t, p, labels=[0, 1], output_dict=True)["0"])
    # every class listed: the accuracy row stays
    doc = report_json(capsys, *args, "--labels", "4,3,2,1,0")
    assert doc["report"]["accuracy"] == pytest.approx(float((t == p).mean()))


def test_one_score_column_with_multiclass_truth_exits_2(capsys, files):
    code, out, err = run(capsys, "report", "--true", files / "t.npy", "--scores", files / "s.npy:0", "--quiet")
    assert code == 2 and out == ""
    assert "one column" in err and "other labels than 0 and 1: 2, 3, 4" in err and "Traceback" not in err
