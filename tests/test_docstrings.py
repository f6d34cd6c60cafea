"""The examples in the core modules' docstrings run and print what they claim."""

import doctest
import importlib

import pytest

MODULES = [
    "fastcm",
    "fastcm.inputs",
    "fastcm.confusion",
    "fastcm.stream",
    "fastcm.persist",
    "fastcm.backends",
    "fastcm.metrics",
    "fastcm.sklearn_metrics",
    "fastcm.multilabel",
    "fastcm.diagnose",
    "fastcm.thresholds",
    "fastcm.curves",
    "fastcm.stream_thresholds",
    "fastcm.backends.numpy_ref.thresholds",
    "fastcm.io",
    "fastcm.cli",
    "fastcm.evaluate",
    "fastcm.plot",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    if name == "fastcm.plot":
        pytest.importorskip("matplotlib")  # the optional `plot` extra
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
