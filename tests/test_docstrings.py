"""The examples in the core modules' docstrings run and print what they claim."""

import doctest
import importlib

import pytest

MODULES = [
    "fastcm",
    "fastcm.core.inputs",
    "fastcm.counts.confusion",
    "fastcm.accumulate.confusion",
    "fastcm.accumulate.files",
    "fastcm.backends",
    "fastcm.metrics",
    "fastcm.metrics.sklearn",
    "fastcm.counts.multilabel",
    "fastcm.answers.diagnose",
    "fastcm.counts.thresholds",
    "fastcm.metrics.ranking",
    "fastcm.accumulate.thresholds",
    "fastcm.backends.numpy_ref.thresholds",
    "fastcm.cli.io",
    "fastcm.cli",
    "fastcm.cli.parse",
    "fastcm.cli.counting",
    "fastcm.cli.render",
    "fastcm.cli.bench",
    "fastcm.accumulate.evaluate",
    "fastcm.present.plots",
    "fastcm.core.invalid",
    "fastcm.metrics.matrix",
    "fastcm.metrics.threshold_curves",
    "fastcm.counts.calibration",
    "fastcm.accumulate.calibration",
]


#: modules of an optional extra -> what they import
_FRAMEWORKS = {"fastcm.torch": ("torch",), "fastcm.keras": ("tensorflow", "keras")}


def _all_modules():
    """Every module of the package but the GPU backend's (its examples need a device)."""
    import pkgutil

    import fastcm

    names = ["fastcm"]
    for info in pkgutil.walk_packages(fastcm.__path__, "fastcm."):
        if ".cupy_gpu" not in info.name and not info.name.endswith("__main__"):
            names.append(info.name)
    return sorted(names)


@pytest.mark.parametrize("name", _all_modules())
def test_docstring_examples(name):
    if name == "fastcm.present.plots":
        pytest.importorskip("matplotlib")  # the optional `plot` extra
    for extra in _FRAMEWORKS.get(name, ()):  # the optional `torch` and `keras` extras
        pytest.importorskip(extra)
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    if name in MODULES:  # the core modules each show at least one example
        assert result.attempted > 0
    assert result.failed == 0
