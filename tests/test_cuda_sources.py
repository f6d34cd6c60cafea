"""CI-side checks of the CUDA sources (no GPU needed): NVRTC through CuPy, and nvcc."""

import importlib.util
import shutil
import subprocess

import pytest



def _load_kernels_module():
    # by path: the package's __init__ imports CuPy, and these checks must run without it
    path = importlib.util.find_spec("fastcm").submodule_search_locations[0] + "/backends/cupy_gpu/_kernels.py"
    spec = importlib.util.spec_from_file_location("fastcm_cuda_kernels", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


K = _load_kernels_module()

KERNELS = sorted(K.TEMPLATES)


def test_covering_expressions_use_every_template_value():
    for kernel in KERNELS:
        _, domains = K.TEMPLATES[kernel]
        exprs = K.covering_expressions(kernel)
        for pos, domain in enumerate(domains):
            used = {e[len(kernel) + 1 : -1].split(", ")[pos] for e in exprs}
            assert used == set(domain), (kernel, pos)


def _nvrtc():
    if importlib.util.find_spec("cupy") is None:
        pytest.skip("CuPy is not installed")
    from cupy.cuda import compiler

    try:
        from cupy_backends.cuda.libs import nvrtc

        nvrtc.getVersion()
    except Exception as exc:  # no libnvrtc on this machine
        pytest.skip(f"NVRTC is not available: {exc}")
    return compiler


@pytest.mark.parametrize("kernel", KERNELS)
def test_nvrtc_compiles_without_a_device(kernel):
    compiler = _nvrtc()
    file, _ = K.TEMPLATES[kernel]
    exprs = K.covering_expressions(kernel)
    # the program CuPy's RawModule builds, with an explicit architecture instead of the device's
    prog = compiler._NVRTCProgram(K.source(file), "fastcm.cu", (), (), name_expressions=exprs, method="ptx")
    ptx, mapping = prog.compile(K.OPTIONS + ("-arch=compute_90", "--device-as-default-execution-space"))
    assert set(mapping) == set(exprs)


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc is not on PATH")
@pytest.mark.parametrize("file", K.FILES)
def test_nvcc_compiles_sources(file, tmp_path):
    lines = [K.source(file)]
    # explicit instantiations through function pointers: covers every template value once
    body = []
    for kernel, (f, _) in K.TEMPLATES.items():
        if f == file:
            for e in K.covering_expressions(kernel):
                body.append(f"    (void*)&{e},")
    lines.append("void* fastcm_instances[] = {\n" + "\n".join(body) + "\n};\n")
    src = tmp_path / "check.cu"
    src.write_text("\n".join(lines))
    res = subprocess.run(
        ["nvcc", "-std=c++17", "-arch=sm_90", "--ptx", str(src), "-o", str(tmp_path / "check.ptx")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr[-4000:]


def test_backend_module_has_the_contract_without_a_device():
    if importlib.util.find_spec("cupy") is None:
        pytest.skip("CuPy is not installed")
    import fastcm.backends.cupy_gpu as gpu
    import fastcm.backends.numpy_ref as ref
    from fastcm.backends.numpy_ref import thresholds

    names = set(ref.__all__) | {"threshold_counts", "score_groups"}
    assert names <= set(dir(gpu)) and hasattr(thresholds, "score_groups")
    assert gpu.NAME == "cupy" and gpu.device_count() >= 0
    for dt in ("?", "b", "B", "h", "H", "i", "I", "q", "Q"):
        assert K.ctype(dt) in K.TEMPLATES["count_pairs"][1][0]
