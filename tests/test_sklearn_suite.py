"""scikit-learn's own metric tests, run against :mod:`fastcm.strict` (tests/sklearn_suite/run.py).

Every test that passes with scikit-learn must pass with the strict drop-ins, except those
in tests/sklearn_suite/deviations.txt (each with its reason); a listed test that passes
now must leave the list.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

sklearn = pytest.importorskip("sklearn")
if not (Path(sklearn.__file__).parent / "metrics" / "tests" / "test_common.py").exists():
    pytest.skip("this scikit-learn install ships no metric tests", allow_module_level=True)

RUNNER = Path(__file__).parent / "sklearn_suite" / "run.py"


@pytest.mark.parametrize("test_file", ["test_classification.py", "test_ranking.py", "test_common.py"])
def test_sklearn_metric_suite_passes_with_strict(tmp_path, test_file):
    """One file of scikit-learn's metric tests a test, each in one pytest process; the
    scikit-learn outcomes come from baseline.json when it records the installed version."""
    summary = tmp_path / "summary.json"
    proc = subprocess.run(
        [sys.executable, str(RUNNER), "--files", test_file, "--json", str(summary)], capture_output=True, text=True, timeout=900
    )
    assert summary.exists(), proc.stdout + proc.stderr
    result = json.loads(summary.read_text())
    assert result["sklearn_passed"] > 100, result  # the suite was found and ran
    assert not result["unexpected"], proc.stdout
    assert not result["stale_deviations"], proc.stdout
    assert result["fastcm_passed"] >= 0.99 * result["sklearn_passed"], proc.stdout
