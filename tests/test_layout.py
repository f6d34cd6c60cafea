"""The package's floors (DESIGN.md, Layout): each imports only the floors below it.

backends -> core -> counts -> metrics -> answers -> accumulate -> present -> the framework
and Dask adapters -> cli -> the package's face (``fastcm/__init__.py``).
"""

import ast
import importlib
import pathlib
import pickle

import pytest

import fastcm

PKG = pathlib.Path(fastcm.__file__).parent
FLOORS = ["backends", "core", "counts", "metrics", "answers", "accumulate", "present", "adapters", "cli", "face"]
ADAPTERS = {"dask", "dask_workers", "torch", "keras", "_frameworks", "warmup"}

#: upward imports made inside a function, each for a convenience that belongs to the floor
#: below but is drawn or counted by the one above (the import runs only when asked for)
LAZY_UPWARD = {
    ("accumulate.calibration", "present"),  # CalibrationError.plot
    ("accumulate.confusion", "present"),  # ConfusionMatrix.plot
    ("accumulate.thresholds", "present"),  # ThresholdConfusionMatrix.plot
    ("answers.calibration", "present"),  # CalibrationResult.plot
    ("metrics.matrix", "present"),  # fastcm.metrics.report: the report's text
    ("metrics.sklearn", "present"),  # classification_report: the report's text
    ("metrics.matrix", "answers"),  # fastcm.metrics.confidence_interval
    ("present.plots", "accumulate"),  # ConfusionMatrixDisplay.from_predictions counts with an accumulator
    ("dask", "adapters"),  # the worker plugin, registered on demand
}


#: the public faces: they gather names from every floor (``fastcm.metrics`` shows a metric's
#: interval and the report's text beside the metrics of a matrix)
FACES = {"fastcm", "fastcm.metrics"}


def _floor_of_importer(module: str) -> str:
    return "face" if module in FACES else _floor(module)


def _floor(module: str) -> str:
    parts = module.split(".")
    if len(parts) > 1 and parts[1] == "__version__":
        return "backends"  # a constant, not a floor
    if len(parts) == 1 or parts[1] in ("__init__", "__main__"):
        return "face"
    return "adapters" if parts[1] in ADAPTERS else parts[1]


def _imports():
    """(importing module, imported module, lazy?) for every relative import in the package."""
    out = []
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG).with_suffix("").parts
        is_init = rel[-1] == "__init__"
        module = ".".join(("fastcm",) + (rel[:-1] if is_init else rel))
        base = module if is_init else module.rsplit(".", 1)[0]
        tree = ast.parse(path.read_text())
        top = {id(node) for node in tree.body}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level:
                parts = base.split(".")
                parts = parts[: len(parts) - (node.level - 1)]
                target = ".".join(parts + ([node.module] if node.module else []))
                names = [target] if node.module else [f"{target}.{a.name}" for a in node.names]
                out += [(module, t, id(node) not in top) for t in names]
    return out


def test_module_level_imports_only_reach_down():
    wrong = [
        (a, b) for a, b, lazy in _imports()
        if not lazy and _floor_of_importer(a) != _floor(b)
        and FLOORS.index(_floor(b)) > FLOORS.index(_floor_of_importer(a))
    ]
    assert not wrong, f"imports of a floor above at module level: {wrong}"


def test_imports_inside_functions_reach_up_only_where_listed():
    def key(a, b):
        return ".".join(a.split(".")[1:3]), _floor(b)

    wrong = sorted({
        key(a, b) for a, b, lazy in _imports()
        if lazy and _floor(a) != _floor(b) and FLOORS.index(_floor(b)) > FLOORS.index(_floor(a))
    } - LAZY_UPWARD)
    assert not wrong, f"upward imports not in LAZY_UPWARD: {wrong}"


def test_the_floors_are_the_package_folders():
    folders = {p.name for p in PKG.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert folders == set(FLOORS) - {"adapters", "face"}
    flat = {p.stem for p in PKG.glob("*.py")}
    assert flat == ADAPTERS | {"__init__", "__main__"}


@pytest.mark.parametrize("old, new", sorted(fastcm.MOVED_MODULES.items()))
def test_module_paths_of_the_flat_layout_import_as_the_same_module(old, new):
    moved = importlib.import_module(f"fastcm.{old}")
    home = importlib.import_module(f"fastcm.{new}")
    assert moved is home
    assert getattr(fastcm, old) is home or callable(getattr(fastcm, old))  # fastcm.compare: the function
    assert home.__name__ == f"fastcm.{new}" and home.__spec__.name == f"fastcm.{new}"


def test_pickles_naming_a_flat_module_load():
    cm = fastcm.ConfusionMatrix(num_classes=2).update([0, 1, 1], [0, 1, 0])
    # protocol 0 names the class's module as text, without a length to keep in step
    old = pickle.dumps(cm, protocol=0).replace(b"fastcm.accumulate.confusion", b"fastcm.stream")
    assert b"fastcm.stream" in old
    assert pickle.loads(old) == cm


@pytest.mark.parametrize("name", ["compare", "diagnose", "evaluate"])
def test_importing_a_flat_module_path_keeps_the_function_of_that_name(name):
    function = getattr(fastcm, name)
    module = importlib.import_module(f"fastcm.{name}")
    assert callable(getattr(fastcm, name)) and getattr(fastcm, name) is function
    assert module.__name__ == f"fastcm.{fastcm.MOVED_MODULES[name]}"
