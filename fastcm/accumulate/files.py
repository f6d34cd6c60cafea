"""Files of the accumulators: .npz written atomically, read back with clear errors and bounded memory.

Writing goes through a temporary file in the target's directory, named
``.<target name>.fastcm-tmp-<pid>-<random>``, then a rename: a crash leaves the old file or
the new one, never a truncated one. A save removes the temporaries of its target left by
processes no longer alive (a killed save cannot clean up after itself). The file gets the
mode ``np.save`` would give it: ``0o666`` less the umask.

Reading opens only the members asked for, never decompressing the others, and parses each
member's ``.npy`` header before its data: a member holding Python objects is refused
(``allow_pickle=False``), and so is one declaring more data than the file can hold, before
anything is allocated for it.
"""

from __future__ import annotations

import math
import os
import tempfile
import threading
import zipfile

import numpy as np

from ..core.overflow import INT64_MAX

__all__ = [
    "read_npz",
    "write_npz_atomic",
    "SavedArrays",
    "ArraysInMemory",
    "field",
    "field_shape",
    "scalar_int",
    "scalar_bool",
    "counts_array",
    "check_finite_counts",
    "check_unweighted_counts",
]

_TMP_TAG = ".fastcm-tmp-"
#: the target's name is cut to this in temporaries: with the tag, pid and random part
#: the name stays under the 255 bytes file systems allow
_TMP_NAME_MAX = 160
_UMASK_LOCK = threading.Lock()
#: deflate expands its input at most about 1032-fold
_DEFLATE_RATIO = 1032
_READ_CHUNK = 1 << 20


# -- writing ------------------------------------------------------------------------------

def _current_umask() -> int:
    """The process's umask, read without changing it where Linux tells it (``/proc``)."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    # elsewhere the only way is to set it and set it back; the lock keeps two saves from
    # reading each other's 0 (other code creating files in that instant still could)
    with _UMASK_LOCK:
        mask = os.umask(0o077)
        os.umask(mask)
    return mask


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists (another user's) or cannot tell: keep its file
    return True


def _temp_prefix(name: str) -> str:
    return f".{name[:_TMP_NAME_MAX]}{_TMP_TAG}"


def _remove_stale_temporaries(directory: str, name: str) -> None:
    """Remove ``directory``'s temporaries for ``name`` whose writing process is gone."""
    if os.name != "posix":  # os.kill(pid, 0) is not a liveness test on Windows
        return
    prefix = _temp_prefix(name)
    try:
        entries = [e.name for e in os.scandir(directory) if e.name.startswith(prefix)]
    except OSError:
        return
    for entry in entries:
        pid = entry[len(prefix):].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            try:
                os.unlink(os.path.join(directory, entry))
            except OSError:
                pass  # removed meanwhile by another save, or not ours to remove


def write_npz_atomic(path, fields: dict) -> None:
    """Write ``fields`` to ``path`` as .npz through a temporary file and a rename.

    A crash mid-write leaves either the old file or none, never a truncated one; a failed
    write removes its temporary, and a later save to the same path removes those of killed
    processes. The file's mode is ``0o666`` less the umask, as ``np.save`` gives.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "x.npz")
    >>> write_npz_atomic(p, {"a": np.arange(3)})
    >>> read_npz(p, "test")["a"].tolist()
    [0, 1, 2]
    """
    path = os.fspath(path)
    directory, name = os.path.split(os.path.abspath(path))
    _remove_stale_temporaries(directory, name)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f"{_temp_prefix(name)}{os.getpid()}-")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **fields)
            f.flush()
            os.fsync(f.fileno())
            mode = 0o666 & ~_current_umask()  # mkstemp made it 0600
            if hasattr(os, "fchmod"):
                os.fchmod(f.fileno(), mode)
            else:
                os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    if os.name == "posix":  # the rename itself survives a power cut once the directory is synced
        try:
            dfd = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        except OSError:
            pass


# -- reading ------------------------------------------------------------------------------

class SavedArrays:
    """The arrays of a fastcm .npz, each read only when asked for (``data[name]``).

    ``shape(name)`` reads a member's header only. Reading a member checks its header first:
    object dtypes are refused, and the data it declares must fit in what the member's bytes
    in the file can hold (stored: as many; deflated: at most 1032 times as many), so a tiny
    file cannot make this allocate much. A missing member is a KeyError; a damaged one a
    ValueError.
    """

    def __init__(self, path, what: str):
        self.path = os.fspath(path)
        try:
            self._file = open(self.path, "rb")
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise ValueError(f"{self.path!r} is not a readable fastcm {what} file: {exc}") from None
        try:
            self._size = os.fstat(self._file.fileno()).st_size
            self._zip = zipfile.ZipFile(self._file)
            self._members = {n[:-4]: n for n in self._zip.namelist() if n.endswith(".npy")}
            fmt = self["fastcm_format"] if "fastcm_format" in self else None
        except Exception as exc:  # OSError, ValueError, EOFError, zipfile.BadZipFile...
            self.close()
            raise ValueError(f"{self.path!r} is not a readable fastcm {what} file: {exc}") from None
        if fmt is not None and not (fmt.ndim == 0 and fmt.dtype.kind == "U" and str(fmt) == f"fastcm.{what}"):
            self.close()
            raise ValueError(f"{self.path!r} is not a fastcm {what} file")

    def close(self) -> None:
        if getattr(self, "_zip", None) is not None:
            self._zip.close()
        if getattr(self, "_file", None) is not None:
            self._file.close()

    def __del__(self):
        # callers that never close (``read_npz(p, w)[name]``) do not leak the file handle
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __contains__(self, name) -> bool:
        return name in self._members

    def _open(self, name):
        """(open member, shape, fortran_order, dtype, bytes of data) after checking its header."""
        info = self._zip.getinfo(self._members[name])  # KeyError: missing
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ValueError(f"member {name!r} uses zip compression {info.compress_type}, which fastcm files never do")
        f = self._zip.open(info)
        try:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
            else:
                raise ValueError(f"member {name!r} has .npy format version {version}")
            if dtype.hasobject:
                raise ValueError(f"member {name!r} holds Python objects ({dtype}); fastcm files never do")
            nbytes = math.prod(shape) * dtype.itemsize
            stored = min(info.compress_size, self._size)
            room = min(info.file_size - f.tell(), stored * (1 if info.compress_type == zipfile.ZIP_STORED else _DEFLATE_RATIO))
            if nbytes > room:
                raise ValueError(
                    f"member {name!r} declares {shape} {dtype} ({nbytes} bytes), more than the file holds for it ({max(room, 0)} bytes)"
                )
        except BaseException:
            f.close()
            raise
        return f, shape, fortran, dtype, nbytes

    def shape(self, name) -> tuple:
        """The shape member ``name`` declares, from its header alone."""
        f, shape, *_ = self._open(name)
        f.close()
        return shape

    def __getitem__(self, name) -> np.ndarray:
        try:
            f, shape, fortran, dtype, nbytes = self._open(name)
        except KeyError:
            raise
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
            raise ValueError(str(exc)) from None
        try:
            with f:
                buf = np.empty(nbytes, dtype=np.uint8)
                view, done = memoryview(buf), 0
                while done < nbytes:
                    chunk = f.read(min(_READ_CHUNK, nbytes - done))
                    if not chunk:
                        raise ValueError(f"member {name!r} is truncated: {done} of {nbytes} bytes")
                    view[done : done + len(chunk)] = chunk
                    done += len(chunk)
                if f.read(1):  # also where zipfile checks the member's CRC
                    raise ValueError(f"member {name!r} holds more bytes than its header declares")
        except (OSError, EOFError, zipfile.BadZipFile) as exc:
            raise ValueError(f"member {name!r} is damaged: {exc}") from None
        if nbytes == 0:
            return np.empty(shape, dtype=dtype)
        return buf.view(dtype).reshape(shape, order="F" if fortran else "C")


class ArraysInMemory:
    """The fields a save is about to write, seen the way :class:`SavedArrays` shows a file:
    a save checks them with the loader's own code before writing anything."""

    def __init__(self, fields: dict, path):
        self._fields = fields
        self.path = os.fspath(path)

    def __contains__(self, name) -> bool:
        return name in self._fields

    def __getitem__(self, name) -> np.ndarray:
        return np.asarray(self._fields[name])

    def shape(self, name) -> tuple:
        return np.shape(self._fields[name])


def read_npz(path, what: str) -> SavedArrays:
    """The arrays of the .npz at ``path``, written by fastcm's ``what`` (its ``fastcm_format``
    field reads ``"fastcm." + what`` when present), read lazily with bounded memory (see
    :class:`SavedArrays`). A missing file raises FileNotFoundError; a damaged one, or one
    another accumulator wrote, ValueError."""
    return SavedArrays(path, what)


def format_version(data, what: str, newest: int) -> int:
    """The format version of ``data``, a file of fastcm's ``what``; ValueError for a file that
    is not one, or that a newer fastcm wrote (``newest``: the version this one writes)."""
    if "fastcm_format" not in data:
        raise ValueError(f"{data.path!r} is not a fastcm {what} file")
    version = field(data, "format_version", data.path, scalar_int)
    if version > newest:
        raise ValueError(f"{data.path!r} has format version {version}, newer than this fastcm reads")
    return version


def field(data, name: str, path, convert=lambda a: a):
    """``convert(data[name])``; a missing or malformed field is the ValueError of a damaged file.

    ``convert`` raises TypeError, ValueError or OverflowError for a value it rejects (a
    hand-edited or foreign file), never letting such an error escape as anything else.
    """
    try:
        return convert(data[name])
    except KeyError:
        raise ValueError(f"{os.fspath(path)!r} is a damaged fastcm file: missing {name!r}") from None
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValueError(f"{os.fspath(path)!r} is a damaged fastcm file: bad field {name!r} ({exc})") from None


def field_shape(data, name: str, path) -> tuple:
    """The shape field ``name`` declares (a file's header only); errors as :func:`field`."""
    try:
        return tuple(data.shape(name))
    except KeyError:
        raise ValueError(f"{os.fspath(path)!r} is a damaged fastcm file: missing {name!r}") from None
    except (TypeError, ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{os.fspath(path)!r} is a damaged fastcm file: bad field {name!r} ({exc})") from None


def scalar_int(a) -> int:
    """A 0-d integer array as a Python int in ``0..2**63-1`` (what an int64 field holds)."""
    if a.ndim != 0 or a.dtype.kind not in "iu" or not 0 <= int(a) <= INT64_MAX:
        raise ValueError(f"expected a non-negative int64 integer, got {a!r}")
    return int(a)


def scalar_bool(a) -> bool:
    """A 0-d bool array as a Python bool; ``"False"`` or ``0`` are not bools."""
    if a.ndim != 0 or a.dtype != np.bool_:
        raise ValueError(f"expected a 0-d bool, got {a!r}")
    return bool(a)


def counts_array(a, ndim: int) -> np.ndarray:
    """Counts as int64 (float64 for weighted ones); other dtypes, values beyond int64 and
    non-finite values are damage."""
    if a.ndim != ndim:
        raise ValueError(f"expected {ndim} dimensions, got shape {a.shape}")
    if a.dtype.kind in "iu":
        if a.dtype.kind == "u" and a.dtype.itemsize == 8 and a.size and int(a.max()) > INT64_MAX:
            raise ValueError(f"expected int64 counts, got {int(a.max())}, beyond the int64 range")
        return a.astype(np.int64, copy=False)
    if a.dtype.kind == "f" and np.isfinite(a).all():
        return a.astype(np.float64, copy=False)
    raise ValueError(f"expected finite integer or float counts, got dtype {a.dtype}")


def check_finite_counts(counts, what: str) -> None:
    """Raise the ValueError of a save whose float counts hold NaN or inf (load refuses them)."""
    if counts.dtype.kind == "f" and counts.size and not np.isfinite(counts).all():
        cell = tuple(int(i) for i in np.unravel_index(int(np.argmin(np.isfinite(counts))), counts.shape))
        raise ValueError(
            f"Cannot save: {what} hold {counts[cell]} at cell {cell} (float weights summed past float64's range); "
            "a fastcm file holds finite counts only"
        )


def check_unweighted_counts(counts, n_samples: int, axes=None) -> None:
    """Raise ValueError unless ``counts`` are what counting ``n_samples`` unweighted pairs
    can give: integers, non-negative, at most ``n_samples`` in all (over ``axes``; each
    sample is counted once there). A count breaking this was wrapped or edited."""
    if counts.dtype.kind == "f":
        raise ValueError("float counts in a file that records no sample weights")
    if not counts.size:
        return
    low = int(counts.min())
    if low < 0:
        cell = tuple(int(i) for i in np.unravel_index(int(np.argmin(counts)), counts.shape))
        raise ValueError(f"negative count {low} at cell {cell} in a file that records no sample weights")
    # non-negative cells: the float total is exact enough to tell, and below 2**62 the
    # int64 total cannot wrap
    totals = counts.sum(axis=axes, dtype=np.float64)
    exact = totals.max() < 2.0**62
    worst = int(counts.sum(axis=axes).max()) if exact else float(totals.max())
    if worst > n_samples * (1 if exact else 1 + 1e-12):
        raise ValueError(f"the counts add up to {worst}, more than the n_samples={n_samples} pairs counted, without weights")
