"""Files of the accumulators: .npz written atomically, read back with clear errors."""

from __future__ import annotations

import os
import tempfile

import numpy as np

__all__ = ["read_npz", "write_npz_atomic"]


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
