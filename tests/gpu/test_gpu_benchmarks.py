"""The GPU benchmark cases: absent without a device, correct anchors and a tiny run with one."""

import numpy as np
import pytest

from benchmarks import cases, gpu_cases

HAS_GPU = gpu_cases.available()
needs_gpu = pytest.mark.skipif(not HAS_GPU, reason="needs CuPy and a CUDA device")


def test_no_gpu_cases_without_a_device(monkeypatch):
    monkeypatch.setattr(gpu_cases, "available", lambda: False)
    for mode in ("tiny", "quick", "readme", "full"):
        assert gpu_cases.suite(mode) == []
        assert not [c for c in cases.suite(mode) if c.group.startswith("gpu")]


def test_markdown_reports_bandwidth_and_speedups():
    doc = {
        "machine": {"gpu": "Test GPU"},
        "cases": [
            {
                "group": "gpu labels",
                "name": "gpu labels N=1e+08 C=10 int32",
                "n": 10**8,
                "params": {"bytes_read": 8 * 10**8},
                "methods": {
                    gpu_cases.FASTCM: {"median_s": 0.001},
                    gpu_cases.FLOOR: {"median_s": 0.0005},
                    "torch.bincount(t*C+p)": {"median_s": 0.01},
                    "torchmetrics": {"error": "OutOfMemoryError"},
                },
            },
            {"group": "labels", "name": "cpu case", "n": 1, "params": {}, "methods": {}},
        ],
    }
    table = gpu_cases.markdown(doc).splitlines()
    assert "Test GPU" in table[0]
    assert table[4] == "| gpu labels N=1e+08 C=10 int32 | 100 G/s | 800 | 1,600 | 50% | torch.bincount(t*C+p) 10.0× |"
    assert len(table) == 5  # the CPU case is left out
    assert gpu_cases.markdown({"cases": []}) == ""


@needs_gpu
@pytest.mark.gpu
@pytest.mark.parametrize("case", gpu_cases.suite("tiny") if HAS_GPU else [], ids=lambda c: c.name)
def test_tiny_case_anchors_agree_with_fastcm(case):
    import cupy

    methods = case.setup()
    assert set(methods) >= {gpu_cases.FASTCM, gpu_cases.FLOOR}
    results = {name: fn() for name, fn in methods.items()}
    fc = cupy.asnumpy(results.pop(gpu_cases.FASTCM))
    results.pop(gpu_cases.FLOOR)
    for name, out in results.items():
        if "precision_recall_curve" in name:
            continue  # precision/recall/thresholds, not counts
        host = out.cpu().numpy() if hasattr(out, "cpu") else cupy.asnumpy(out)
        np.testing.assert_array_equal(host.reshape(fc.shape), fc, err_msg=name)


@needs_gpu
@pytest.mark.gpu
def test_tiny_gpu_cases_run_in_the_suite():
    from benchmarks.__main__ import run_case

    gpu = [c for c in cases.suite("tiny") if c.group.startswith("gpu")]
    assert [c.name for c in gpu] == [c.name for c in gpu_cases.suite("tiny")]
    doc = {"machine": {"gpu": "this GPU"}, "cases": [run_case(c, 1, log=lambda *a: None) for c in gpu]}
    for case in doc["cases"]:
        assert "error" not in case["methods"][gpu_cases.FASTCM], case["name"]
        assert "error" not in case["methods"][gpu_cases.FLOOR], case["name"]
    assert gpu_cases.markdown(doc).count("| gpu ") == len(gpu)
