"""Files of the accumulators: .npz written atomically, read back with clear errors."""

from __future__ import annotations

import os
import tempfile

import numpy as np

__all__ = ["read_npz", "write_npz_atomic", "field", "scalar_int", "counts_array"]


def write_npz_atomic(path, fields: dict) -> None:
    """Write ``fields`` to ``path`` as .npz through a temporary file and a rename.

    A crash mid-write leaves either the old file or none, never a truncated one.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "x.npz")
    >>> write_npz_atomic(p, {"a": np.arange(3)})
    >>> read_npz(p, "test")["a"].tolist()
    [0, 1, 2]
    """
    path = os.fspath(path)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), prefix=".fastcm-", suffix=".npz.tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **fields)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_npz(path, what: str) -> dict:
    """Every array of the .npz at ``path``, written by fastcm's ``what`` (its ``fastcm_format``
    field reads ``"fastcm." + what`` when present). A missing file raises FileNotFoundError;
    a damaged one, or one another accumulator wrote, ValueError."""
    path = os.fspath(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise
    except Exception as exc:  # OSError, ValueError, EOFError, zipfile.BadZipFile...
        raise ValueError(f"{path!r} is not a readable fastcm {what} file: {exc}") from None
    if "fastcm_format" in data and str(data["fastcm_format"]) != f"fastcm.{what}":
        raise ValueError(f"{path!r} is not a fastcm {what} file")
    return data


def field(data: dict, name: str, path, convert=lambda a: a):
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


def scalar_int(a) -> int:
    """A 0-d integer array as a non-negative Python int."""
    if a.ndim != 0 or a.dtype.kind not in "iu" or int(a) < 0:
        raise ValueError(f"expected a non-negative integer, got {a!r}")
    return int(a)


def counts_array(a, ndim: int) -> np.ndarray:
    """Counts as int64 (float64 for weighted ones); other dtypes and non-finite values are damage."""
    if a.ndim != ndim:
        raise ValueError(f"expected {ndim} dimensions, got shape {a.shape}")
    if a.dtype.kind in "iu":
        return a.astype(np.int64)
    if a.dtype.kind == "f" and np.isfinite(a).all():
        return a.astype(np.float64)
    raise ValueError(f"expected finite integer or float counts, got dtype {a.dtype}")
