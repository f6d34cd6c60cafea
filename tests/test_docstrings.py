"""The examples in the core modules' docstrings run and print what they claim."""

import doctest
import importlib

import pytest

MODULES = [
    "fastcm",
    "fastcm.inputs",
    "fastcm.confusion",
    "fastcm.stream",
    "fastcm.backends",
    "fastcm.metrics",
    "fastcm.sklearn_metrics",
    "fastcm.multilabel",
    "fastcm.diagnose",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
