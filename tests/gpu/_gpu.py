"""What every GPU test module needs first: CuPy and a CUDA device, or a skip of the module."""

import pytest


def cupy_with_a_device():
    """The cupy module; skips the calling test module when CuPy or a device is missing."""
    cupy = pytest.importorskip("cupy")
    try:
        devices = cupy.cuda.runtime.getDeviceCount()
    except Exception:  # no driver, or a broken CUDA install
        devices = 0
    if not devices:
        pytest.skip("no CUDA device", allow_module_level=True)
    return cupy
