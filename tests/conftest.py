"""Shared fixtures: every kernel test runs on every available backend and integer dtype."""

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

from fastcm import backends

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
