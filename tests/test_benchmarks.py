"""Every benchmark case runs once at tiny size, so the suite cannot silently break."""

import json

import pytest

pytest.importorskip("numba")
from benchmarks import cases  # noqa: E402
from benchmarks.__main__ import main  # noqa: E402


def test_tiny_suite_runs_every_case(tmp_path, capsys):
    assert main(["--tiny", "--out", str(tmp_path), "--name", "t"]) == 0
    doc = json.loads((tmp_path / "t" / "results.json").read_text())
    names = {c["name"] for c in doc["cases"]}
    assert names == {c.name for c in cases.suite("tiny")}
    for case in doc["cases"]:
        fastcm_rows = [r for n, r in case["methods"].items() if n.startswith("fastcm")]
        assert fastcm_rows and all("error" not in r and r["median_s"] > 0 for r in fastcm_rows), case["name"]
    table = (tmp_path / "t" / "results.md").read_text()
    assert "| case |" in table and "fastcm" in table
    assert "np.bincount" in capsys.readouterr().out


def test_fastcm_results_equal_the_anchor_on_a_case():
    import numpy as np

    methods = cases.label_cases([5000], [7], [np.int32])[0].setup()
    fc = methods["fastcm (2 threads)"]() if "fastcm (2 threads)" in methods else next(iter(methods.values()))()
    ref = methods["np.bincount(t*C+p)"]().reshape(7, 7)
    np.testing.assert_array_equal(fc, ref)


def test_methods_are_timed_in_interleaved_rounds():
    from benchmarks.timing import Timing, time_methods

    calls = []

    def method(name):
        def call():
            calls.append(name)

        return call

    def broken():
        raise RuntimeError("no such anchor here")

    out = time_methods({"a": method("a"), "b": method("b"), "x": broken}, repeat=3, warmup=1)
    assert calls[:2] == ["a", "b"]  # the warm-ups
    timed = calls[2:-2]  # then the rounds, then one traced call each
    assert timed == ["a", "b"] * 3
    assert isinstance(out["a"], Timing) and len(out["a"].seconds) == 3 and out["a"].peak_bytes is not None
    assert isinstance(out["x"], RuntimeError)


def test_logits_are_plotted_against_c_in_bytes_read(tmp_path):
    pytest.importorskip("matplotlib")
    from benchmarks.report import plots

    def case(c, dtype, fastcm_s, floor_s):
        n = 1000
        return {"group": "logits", "name": f"logits ({n}, {c}) {dtype}", "params": {"N": n, "C": c, "dtype": dtype},
                "methods": {"fastcm (2 threads)": {"per_second": n / fastcm_s},
                            "memory floor": {"per_second": n / floor_s}}}

    doc = {"cases": [case(10, "float32", 1e-4, 1e-5), case(1000, "float32", 1e-2, 1e-3), case(10, "float16", 1e-4, 1e-5)]}
    written = plots(doc, tmp_path)
    assert written == [str(tmp_path / "logits_vs_c.png")]
    assert (tmp_path / "logits_vs_c.png").stat().st_size > 10_000
    assert plots({"cases": [case(10, "float32", 1e-4, 1e-5)]}, tmp_path) == []  # one point: no line to draw


def test_only_anchors_get_a_ratio_in_the_table():
    from benchmarks.report import markdown

    doc = {"created": "now", "machine": {"cpu": "cpu", "cores": 2, "numba_threads": 2, "memory_gib": 1.0,
                                         "versions": {"numpy": "x", "numba": "y"}},
           "cases": [{"group": "g", "name": "c1", "params": {}, "methods": {
               m: {"per_second": v, "median_s": 1 / v, "min_s": 1 / v, "max_s": 1 / v}
               for m, v in (("fastcm A", 100.0), ("fastcm B", 50.0), ("np.bincount", 25.0))}}]}
    row = next(line for line in markdown(doc).splitlines() if line.startswith("| c1 |"))
    assert "25/s (fastcm 4.0×)" in row  # the anchor's ratio to the first fastcm method
    assert "50/s [" in row and row.count("(fastcm") == 1  # fastcm B: its rate, no ratio
