"""Files of the accumulators: what load refuses, what save refuses to write, bounded memory,
no temporaries left behind, the umask's file mode."""

import io
import os
import stat
import subprocess
import sys
import tracemalloc
import zipfile

import numpy as np
import pytest

from fastcm import ConfusionMatrix, ThresholdConfusionMatrix


def _fields(path):
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def _rewrite(path, drop=(), **fields):
    """Copy of the .npz at ``path`` with some fields replaced (a hand-edited or damaged file)."""
    data = _fields(path)
    data.update(fields)
    for name in drop:
        del data[name]
    out = path.with_name("edited.npz")
    np.savez(out, **data)
    return out


@pytest.fixture
def cm_file(tmp_path):
    path = tmp_path / "cm.npz"
    ConfusionMatrix(3).update([0, 1, 2, 2], [0, 2, 2, 1]).save(path)
    return path


@pytest.fixture
def tcm_file(tmp_path):
    path = tmp_path / "t.npz"
    ThresholdConfusionMatrix(3).update([0, 1], [0.2, 0.9]).save(path)
    return path


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"counts": np.array([[1, 0, 0], [0, 0, -1], [0, 1, 1]])}, "negative"),
        ({"counts": np.array([[1, 0, 0], [0, 0, 2**64 - 1], [0, 1, 1]], np.uint64)}, "int64"),
        ({"counts": np.array([[1, 0, 0], [0, 0, 9], [0, 1, 1]])}, "n_samples"),  # 11 pairs counted of 4
        ({"counts": np.full((3, 3), 0.5)}, "float counts"),  # floats come from weights only
        ({"counts": np.full((3, 3), np.inf)}, "bad field 'counts'"),
        ({"n_samples": np.array(2**64 - 1, np.uint64)}, "bad field 'n_samples'"),
        ({"has_ignore": np.array("False")}, "bad field 'has_ignore'"),
        ({"has_ignore": np.array([True])}, "bad field 'has_ignore'"),
        ({"has_ignore": np.array(0)}, "bad field 'has_ignore'"),
        ({"weighted": np.array("no")}, "bad field 'weighted'"),
        ({"counts": np.array([None] * 9, dtype=object).reshape(3, 3)}, "bad field 'counts'"),  # allow_pickle=False
    ],
)
def test_load_refuses_values_the_accumulator_cannot_produce(cm_file, fields, match):
    with pytest.raises(ValueError, match=match):
        ConfusionMatrix.load(_rewrite(cm_file, **fields))


def test_load_keeps_what_weights_can_produce(tmp_path):
    path = tmp_path / "w.npz"
    cm = ConfusionMatrix(2).update([0, 1, 1], [0, 1, 0], sample_weight=[-2, 5, 1])  # scikit-learn allows negative weights
    cm.save(path)
    assert ConfusionMatrix.load(path) == cm
    # a file of an older fastcm records no weights: only the checks that hold for every state
    old = _rewrite(path, drop=["weighted"])
    assert ConfusionMatrix.load(old) == cm


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"hist": np.array([[[1, 0], [0, 1], [0, 0], [-1, 0]]])}, "negative"),
        ({"hist": np.array([[[1, 0], [0, 1], [0, 0], [2**63, 0]]], np.uint64)}, "int64"),
        ({"hist": np.array([[[1, 0], [0, 1], [0, 0], [5, 0]]])}, "n_samples"),
        ({"n_samples": np.array(2**63, np.uint64)}, "bad field 'n_samples'"),
        ({"num_classes": np.array(10**12)}, "histogram"),  # was a MemoryError
    ],
)
def test_threshold_load_refuses_values_it_cannot_produce(tcm_file, fields, match):
    with pytest.raises(ValueError, match=match):
        ThresholdConfusionMatrix.load(_rewrite(tcm_file, **fields))


def _zip_with(path, members, compression=zipfile.ZIP_STORED):
    """A .npz whose members are (name, header bytes + data chunks)."""
    with zipfile.ZipFile(path, "w", compression=compression) as z:
        for name, chunks in members:
            with z.open(name + ".npy", "w", force_zip64=True) as f:
                for c in chunks:
                    f.write(c)
    return path


def _npy_header(shape, dtype):
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False, "shape": shape})
    return buf.getvalue()


def _members(path):
    out = []
    for k, v in _fields(path).items():
        buf = io.BytesIO()
        np.save(buf, v)
        out.append((k, [buf.getvalue()]))
    return out


def test_an_unknown_member_is_not_read(cm_file, tmp_path):
    size = 64 << 20
    junk = ("junk", [_npy_header((size,), np.uint8)] + [bytes(1 << 20)] * 64)
    path = _zip_with(tmp_path / "junk.npz", _members(cm_file) + [junk], zipfile.ZIP_DEFLATED)
    assert path.stat().st_size < size // 50
    tracemalloc.start()
    try:
        loaded = ConfusionMatrix.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert loaded == ConfusionMatrix.load(cm_file)
    assert peak < 4 << 20, peak


def test_a_member_declaring_more_than_the_file_holds_is_refused(cm_file, tmp_path):
    members = [m for m in _members(cm_file) if m[0] != "counts"]
    lying = ("counts", [_npy_header((3, 3 * 10**9), np.int64), bytes(72)])
    path = _zip_with(tmp_path / "lying.npz", members + [lying])
    with pytest.raises(ValueError, match="counts"):
        ConfusionMatrix.load(path)
    labels = [(k, [_npy_header((10**9,), np.int64), bytes(64)]) if k == "labels" else (k, c) for k, c in _members(cm_file)]
    with pytest.raises(ValueError):
        ConfusionMatrix.load(_zip_with(tmp_path / "lying2.npz", labels))


def _infinite():
    cm = ConfusionMatrix(2)
    cm.update([0, 0], [0, 0], sample_weight=[1e308, 1e308])
    return cm


def test_save_refuses_what_load_would_refuse(tmp_path):
    path = tmp_path / "cm.npz"
    ConfusionMatrix(2).update([0], [1]).save(path)
    before = path.read_bytes()
    with np.errstate(over="ignore"):
        cm = _infinite()
    assert np.isinf(cm.compute()[0, 0])
    with pytest.raises(ValueError, match=r"inf.*\(0, 0\)"):
        cm.save(path)
    assert path.read_bytes() == before  # the old file is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cm.npz"]
    t = ThresholdConfusionMatrix(3)
    t.update([1, 1], [0.9, 0.9], sample_weight=[1e308, 1e308])
    with pytest.raises(ValueError, match="inf"):
        t.save(tmp_path / "t.npz")
    assert not (tmp_path / "t.npz").exists()
    odd = ConfusionMatrix(2).update([0, 1], [0, 1])
    odd.n_samples = 1  # fewer pairs than counted: a file load would refuse
    with pytest.raises(ValueError, match="n_samples"):
        odd.save(tmp_path / "odd.npz")
    assert not (tmp_path / "odd.npz").exists()


def test_a_failed_save_leaves_no_temporary(tmp_path, monkeypatch):
    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(OSError, match="disk full"):
        ConfusionMatrix(2).update([0], [1]).save(tmp_path / "cm.npz")
    assert list(tmp_path.iterdir()) == []


def test_save_removes_stale_temporaries_of_dead_processes(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    dead_pid = int(dead.stdout)
    stale = tmp_path / f".cm.npz.fastcm-tmp-{dead_pid}-abc123"
    live = tmp_path / f".cm.npz.fastcm-tmp-{os.getpid()}-abc123"  # another thread's save in progress
    other = tmp_path / f".other.npz.fastcm-tmp-{dead_pid}-abc123"  # another target's
    for p in (stale, live, other):
        p.write_bytes(b"partial")
    ConfusionMatrix(2).update([0], [1]).save(tmp_path / "cm.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["cm.npz", live.name, other.name])


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_saved_files_follow_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        ConfusionMatrix(2).update([0], [1]).save(tmp_path / "cm.npz")
        ThresholdConfusionMatrix(3).update([0], [0.5]).save(tmp_path / "t.npz")
    finally:
        os.umask(old)
    for name in ("cm.npz", "t.npz"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o666 & ~umask
