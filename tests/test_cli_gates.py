"""fastcm report --ci, --require (exit 3), --operating-point and --calibration."""

import json

import numpy as np
import pytest

from fastcm import cli
from fastcm.answers.calibration import calibration_error
from fastcm.answers.intervals import confidence_interval


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    rng = np.random.default_rng(0)
    n = 3000
    y = rng.choice(3, n, p=[0.8, 0.15, 0.05])
    s = rng.random((n, 3))
    s[np.arange(n), y] += 0.6
    s = (s / s.sum(axis=1, keepdims=True)).astype(np.float32)
    d = tmp_path_factory.mktemp("gates")
    np.save(d / "y.npy", y)
    np.save(d / "s.npy", s)
    return str(d / "y.npy"), str(d / "s.npy"), y, s


def _run(capsys, *argv):
    code = cli.main(["report", *argv, "--quiet"])
    out, err = capsys.readouterr()
    return code, out, err


def test_require_exits_3_naming_each_failure(scored, capsys):
    y, s = scored[0], scored[1]
    code, out, err = _run(capsys, "--true", y, "--scores", s, "--require", "recall>=0.9")
    assert code == cli.EXIT_REQUIREMENT_FAILED == 3
    assert "Classification report" in out  # the report is still written
    assert "recall of class 2" in err and "< 0.9" in err
    code, out, err = _run(capsys, "--true", y, "--scores", s, "--require", "recall>=0.5", "--require", "macro f1>=0.6")
    assert code == 0, err


def test_require_lower_bound_fails_a_rare_class_that_passes_on_its_value(scored, capsys):
    y, s = scored[0], scored[1]
    code, _, _ = _run(capsys, "--true", y, "--scores", s, "--require", "recall>=0.85")
    assert code == 3  # class 1: 0.845
    code, _, _ = _run(capsys, "--true", y, "--scores", s, "--require", "recall>=0.84")
    assert code == 0
    code, _, err = _run(capsys, "--true", y, "--scores", s, "--require", "recall>=0.84", "--require-lower-bound")
    assert code == 3 and "lower bound" in err


@pytest.mark.parametrize("bad", ["recal>=0.5", "recall>=x", "recall<=0.5", "recall"])
def test_bad_requirements_are_exit_2_before_counting(scored, capsys, bad):
    code, out, err = _run(capsys, "--true", scored[0], "--scores", scored[1], "--require", bad)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1


def test_ci_adds_intervals_to_the_report(scored, capsys):
    y, s, yv, sv = scored
    code, out, _ = _run(capsys, "--true", y, "--scores", s, "--ci", "0.95", "--format", "json")
    assert code == 0
    rep = json.loads(out)["report"]
    cm = np.zeros((3, 3), np.int64)
    np.add.at(cm, (yv, sv.argmax(1)), 1)
    ref = confidence_interval(cm, "recall", method="wilson")
    assert rep["2"]["recall_ci"] == pytest.approx([ref.low[2], ref.high[2]])
    code, out, _ = _run(capsys, "--true", y, "--scores", s, "--ci", "0.9")
    assert "90% confidence intervals" in out
    code, _, err = _run(capsys, "--true", y, "--scores", s, "--ci", "95")
    assert code == 2 and "--ci" in err


def test_operating_point_reaches_the_recall_per_class(scored, capsys):
    y, s, yv, sv = scored
    code, out, _ = _run(capsys, "--true", y, "--scores", s, "--operating-point", "recall=0.95", "--format", "json")
    assert code == 0
    rows = json.loads(out)["operating_points"]
    assert len(rows) == 3
    for k, r in enumerate(rows):
        assert r["achieved"]
        assert (sv[yv == k, k] >= np.float32(r["threshold"]) - 1e-6).mean() >= 0.95
    code, _, err = _run(capsys, "--true", y, "--pred", y, "--operating-point", "recall=0.9")
    assert code == 2 and "--scores" in err


def test_calibration_matches_the_function(scored, capsys):
    y, s, yv, sv = scored
    code, out, _ = _run(capsys, "--true", y, "--scores", s, "--calibration", "10", "--format", "json")
    assert code == 0
    got = json.loads(out)["calibration"]
    assert got["ece"] == pytest.approx(calibration_error(yv, sv, n_bins=10))
    code, out, _ = _run(capsys, "--true", y, "--scores", s, "--calibration", "10")
    assert "ECE" in out


def test_demo_answers_the_evaluation_questions(capsys):
    assert cli.main(["demo", "--example", "digits", "--stream-size", "0", "--format", "json"]) == 0
    s = json.loads(capsys.readouterr().out)["examples"][0]
    assert s["ci"] == 0.95 and "recall_ci" in s["report"]["0"]
    assert len(s["operating_points"]) == 10 and all(r["achieved"] for r in s["operating_points"])
    assert 0 <= s["calibration"]["ece"] <= 1
    assert s["requirements"]["checked"] == 11  # accuracy, and recall of each of ten classes


# -- issue 32: every requirement judged, > strict, out-of-range thresholds refused ----------------
def _labels_files(tmp_path, y, p):
    np.save(tmp_path / "t.npy", np.asarray(y))
    np.save(tmp_path / "p.npy", np.asarray(p))
    return str(tmp_path / "t.npy"), str(tmp_path / "p.npy")


def test_every_requirement_on_a_metric_is_judged(scored, capsys):
    """recall>=0.95 then recall>=0.5: the weaker second one used to replace the first."""
    y, s = scored[0], scored[1]
    code, _, err = _run(capsys, "--true", y, "--scores", s, "--require", "recall>=0.95", "--require", "recall>=0.5")
    assert code == 3 and "< 0.95" in err
    code, _, err = _run(capsys, "--true", y, "--scores", s, "--require", "macro f1>=0.99", "--require", "macro f1>=0.1")
    assert code == 3 and "macro f1" in err


def test_strict_requirement_fails_on_equality(tmp_path, capsys):
    t, p = _labels_files(tmp_path, [0] * 10 + [1] * 10, [0] * 9 + [1] + [1] * 10)  # recall of class 0: 0.9
    code, _, err = _run(capsys, "--true", t, "--pred", p, "--require", "recall>0.9")
    assert code == 3 and "<= 0.9" in err, err
    code, _, err = _run(capsys, "--true", t, "--pred", p, "--require", "recall>=0.9")
    assert code == 0, err


@pytest.mark.parametrize("bad", ["recall>=1.5", "recall>=-0.1", "accuracy>1", "macro f1>=2"])
def test_out_of_range_requirements_are_exit_2_before_counting(tmp_path, capsys, bad, monkeypatch):
    t, p = _labels_files(tmp_path, [0, 1, 1], [0, 1, 0])
    monkeypatch.setattr(cli.counting, "count_chunks", lambda *a, **k: pytest.fail("counted"))
    code, out, err = _run(capsys, "--true", t, "--pred", p, "--require", bad)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, err
    assert "internal error" not in err and "[0, 1]" in err


def test_lower_bound_without_require_says_it_does_nothing(tmp_path, capsys):
    t, p = _labels_files(tmp_path, [0, 1, 1], [0, 1, 0])
    code = cli.main(["report", "--true", t, "--pred", p, "--require-lower-bound"])
    err = capsys.readouterr().err
    assert code == 0 and "--require-lower-bound" in err and "no --require" in err
