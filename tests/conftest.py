"""Shared fixtures: every kernel test runs on every available backend and integer dtype."""

import os

# The plain tier serves every call: tests assert values, which both tiers give alike, and
# compiling the tuned kernels in the background would only slow the suite down. The tuned
# kernels are tested where they are forced (test_counting_blocks, test_compile_cost).
os.environ.setdefault("FASTCM_COMPILE", "never")

import numpy as np  # noqa: E402
import pytest
from hypothesis import HealthCheck, settings  # noqa: E402

from fastcm import backends  # noqa: E402

settings.register_profile(
    "fastcm", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("fastcm")

#: host backends always tested; the GPU backend has its own suite under tests/gpu
HOST_BACKENDS = [b for b in backends.available() if not backends.is_device_backend(b)]

INT_DTYPES = [
    np.bool_,
    np.int8,
    np.int16,
    np.int32,
    np.int64,
    np.uint8,
    np.uint16,
    np.uint32,
    np.uint64,
]


@pytest.fixture(params=HOST_BACKENDS, scope="session")
def backend(request):
    """Name of a host backend ("numba", "numpy")."""
    return request.param


@pytest.fixture(params=INT_DTYPES, ids=lambda d: np.dtype(d).name, scope="session")
def int_dtype(request):
    return np.dtype(request.param)
