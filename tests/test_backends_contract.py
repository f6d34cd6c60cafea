"""Every backend keeps the contract of fastcm.backends.contract, and nothing outside
fastcm/backends/ asks which backend it holds."""

import ast
import inspect
import re
import types
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastcm import backends
from fastcm.backends import contract, numpy_ref

PACKAGE = Path(backends.__file__).resolve().parent.parent
CUPY_DIR = PACKAGE / "backends" / "cupy_gpu"


def _params(sig: inspect.Signature):
    """(name, kind, default as source text) of each parameter: comparable with the AST's."""
    return [(p.name, p.kind.name, None if p.default is p.empty else repr(p.default)) for p in sig.parameters.values()]


def _ast_params(fn: ast.FunctionDef):
    a = fn.args
    positional = [*a.posonlyargs, *a.args]
    defaults = [None] * (len(positional) - len(a.defaults)) + [ast.unparse(d) for d in a.defaults]
    out = [(p.arg, "POSITIONAL_ONLY", d) for p, d in zip(a.posonlyargs, defaults)]
    out += [(p.arg, "POSITIONAL_OR_KEYWORD", d) for p, d in zip(a.args, defaults[len(a.posonlyargs):])]
    if a.vararg:
        out.append((a.vararg.arg, "VAR_POSITIONAL", None))
    out += [(p.arg, "KEYWORD_ONLY", None if d is None else ast.unparse(d)) for p, d in zip(a.kwonlyargs, a.kw_defaults)]
    if a.kwarg:
        out.append((a.kwarg.arg, "VAR_KEYWORD", None))
    return out


def _cupy_backend_from_source():
    """{entry point: parameters} and the attributes the CuPy backend defines, read from its
    source: CuPy needs a device to import, and this machine need not have one."""
    init = ast.parse((CUPY_DIR / "__init__.py").read_text())
    entries, attributes = {}, set()
    for node in init.body:
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            tree = ast.parse((CUPY_DIR / f"{node.module}.py").read_text())
            defs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
            for alias in node.names:
                if alias.name in defs:
                    entries[alias.asname or alias.name] = _ast_params(defs[alias.name])
        elif isinstance(node, ast.Import):
            attributes.update(a.asname or a.name for a in node.names)
        elif isinstance(node, ast.Assign):
            attributes.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.FunctionDef):
            entries[node.name] = _ast_params(node)
    return entries, attributes


HOST = ["numpy", "numba"]


@pytest.mark.parametrize("name", HOST)
def test_host_backends_keep_the_contract(name):
    pytest.importorskip(name)
    be = backends.get(name)
    assert contract.missing(be) == []
    assert be.NAME == name and be.ON_DEVICE is False and be.xp is np
    for entry in [*contract.REQUIRED, *contract.OPTIONAL, *contract.HOST_ONLY]:
        if not contract.provides(be, entry):
            continue
        assert _params(inspect.signature(getattr(be, entry))) == _params(inspect.signature(getattr(numpy_ref, entry))), entry


def test_numpy_reference_provides_every_entry():
    """The stand-ins exist: entry() can always answer on a host backend."""
    for entry in [*contract.REQUIRED, *contract.OPTIONAL, *contract.HOST_ONLY]:
        assert contract.provides(numpy_ref, entry), entry


def test_cupy_backend_keeps_the_contract_by_its_source():
    entries, attributes = _cupy_backend_from_source()
    assert set(contract.ATTRIBUTES) <= attributes
    assert sorted(set(contract.REQUIRED) - set(entries)) == []
    for entry in contract.REQUIRED:
        assert entries[entry] == _params(inspect.signature(getattr(numpy_ref, entry))), entry
    source = (CUPY_DIR / "__init__.py").read_text()
    assert re.search(r"^ON_DEVICE = True$", source, re.M) and re.search(r'^NAME = "cupy"$', source, re.M)
    for entry in contract.OPTIONAL:  # one it defines keeps the reference's signature too
        if entry in entries:
            assert entries[entry] == _params(inspect.signature(getattr(numpy_ref, entry))), entry


def test_entry_falls_back_to_the_numpy_reference():
    device_like = types.SimpleNamespace(NAME="device", count_pairs=numpy_ref.count_pairs)
    for name in contract.OPTIONAL:
        assert contract.entry(device_like, name) is getattr(numpy_ref, name)
    assert contract.entry(device_like, "count_pairs") is numpy_ref.count_pairs
    assert contract.provides(device_like, "count_pairs") and not contract.provides(device_like, "binary_auc")
    with pytest.raises(TypeError, match="'device' lacks the required entry point 'score_groups'"):
        contract.entry(device_like, "score_groups")
    with pytest.raises(TypeError, match="'pair_codes'.*host backends only"):
        contract.entry(device_like, "pair_codes")
    with pytest.raises(ValueError, match="Unknown backend entry point 'count_everything'"):
        contract.entry(numpy_ref, "count_everything")
    with pytest.raises(ValueError, match="Unknown backend entry point 'x'"):
        contract.provides(numpy_ref, "x")


def test_missing_names_what_a_backend_lacks():
    half = types.SimpleNamespace(NAME="half", xp=np, count_pairs=len)
    assert contract.missing(half) == ["ON_DEVICE", *[e for e in contract.REQUIRED if e != "count_pairs"]]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 6)), min_size=2, max_size=60))
def test_binary_auc_stand_in_matches_numba(rows):
    numba_be = backends.get("numba") if "numba" in backends.available() else pytest.skip("numba not installed")
    t = np.array([r[0] for r in rows], dtype=np.int64)
    s = np.array([r[1] / 4 for r in rows])  # few values: many ties
    got = numpy_ref.binary_auc(t, s)
    want = numba_be.binary_auc(t, s)
    assert got[:3] == tuple(want[:3]) and got[3].tolist() == want[3].tolist()
    assert got[1] == int(t.sum()) and got[2] == int((1 - t).sum())


def test_binary_auc_stand_in_values_and_invalid():
    twice_u, n_pos, n_neg, invalid = numpy_ref.binary_auc(np.array([0, 1, 0, 1]), np.array([0.2, 0.2, 0.1, 0.9]))
    assert (twice_u, n_pos, n_neg) == (7, 2, 2) and invalid.tolist() == [0, -1]  # AUC 7/8: one tie counts half
    _, _, _, invalid = numpy_ref.binary_auc(np.array([0, 1, 0]), np.array([0.2, np.nan, 0.1]))
    assert invalid.tolist() == [1, 1]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 8)), min_size=1, max_size=60))
def test_drop_intermediate_stand_in_matches_numba(rows):
    numba_be = backends.get("numba") if "numba" in backends.available() else pytest.skip("numba not installed")
    t = np.array([r[0] for r in rows], dtype=np.int64)
    s = np.array([float(r[1]) for r in rows])
    fps, tps, thr, _ = numpy_ref.score_groups(t, s)
    got = numpy_ref.drop_intermediate(fps, tps, thr)
    want = numba_be.drop_intermediate(fps.copy(), tps.copy(), thr.copy())
    for g, w in zip(got, want):
        assert g.tolist() == w.tolist()


def test_threads_limits_the_host_kernels():
    numba = pytest.importorskip("numba")
    before = numba.get_num_threads()
    with backends.threads(1):
        assert numba.get_num_threads() == 1
    assert numba.get_num_threads() == before


#: what asks which backend it holds, or reaches into one, outside fastcm/backends/
_BRANCHES = [
    re.compile(r"^\s*(import numba|from numba\b)", re.M),
    re.compile(r"\bis_device_backend\("),
    re.compile(r"\bNAME\s*[!=]="),
    re.compile(r"\b(backend|name)\s*[!=]=\s*['\"](numba|cupy|numpy)['\"]"),
    re.compile(r"\b(getattr|hasattr)\(be\b"),
]


def test_no_backend_branches_outside_the_backends():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "backends" in path.relative_to(PACKAGE).parts:
            continue
        text = path.read_text()
        for pattern in _BRANCHES:
            for m in pattern.finditer(text):
                line = text.count("\n", 0, m.start()) + 1
                found.append(f"{path.relative_to(PACKAGE)}:{line}: {m.group(0).strip()}")
    assert found == []
