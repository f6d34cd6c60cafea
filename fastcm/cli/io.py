"""Reading predictions from files, chunk by chunk, for ``fastcm report``.

A *spec* names a file and, optionally, what inside it: ``FILE``, ``FILE:COLUMN`` or, for
score matrices, ``FILE:COL1,COL2,...``. Supported formats:

- ``.npy``: memory-mapped; ``COLUMN`` is a column index of a 2-D array or a field of a
  structured array;
- ``.npz``: ``FILE:KEY`` picks the array (optional when the archive holds one);
- ``.csv`` / ``.tsv``: ``COLUMN`` is a header name or a 0-based position; read in chunks
  (with pandas when installed, else the ``csv`` module); a first row of numbers is data,
  not a header;
- ``.parquet``: ``COLUMN`` as in the schema; read in record batches (needs pyarrow); a list
  column holds one score vector per row;
- ``.txt``: one label per line.

Compressed text (``.csv.gz``, ``.txt.gz``...) is read too. Nothing is loaded whole: every
source yields arrays of at most ``chunk_size`` rows, so files larger than memory stream
through :class:`fastcm.ConfusionMatrix`.

Examples
--------
>>> import numpy as np, tempfile, os
>>> d = tempfile.mkdtemp()
>>> np.save(os.path.join(d, "y.npy"), np.array([0, 1, 1, 2, 0]))
>>> src = open_column(os.path.join(d, "y.npy"))
>>> len(src), [c.tolist() for c in src.chunks(2)]
(5, [[0, 1], [1, 2], [0]])
"""

from __future__ import annotations

import bz2
import contextlib
import csv
import gzip
import itertools
import lzma
import os
import sys
import zipfile
import zlib
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

__all__ = ["InputError", "Column", "open_column", "open_columns", "read_names", "aligned_chunks", "parse_spec"]

DEFAULT_CHUNK_SIZE = 1 << 20

_COMPRESSED = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
_FORMATS = (".npy", ".npz", ".csv", ".tsv", ".parquet", ".pq", ".txt")


class InputError(ValueError):
    """A file, column or key that cannot be read as asked; the message names it."""


def _read_errors() -> tuple:
    """What reading a damaged or foreign file raises besides InputError.

    Decoders raise their own types: ``zipfile.BadZipFile`` (a bad CRC in an .npz),
    ``zlib.error`` (a broken deflate stream), ``lzma.LZMAError``, ``EOFError`` (a truncated
    compressed stream, an empty .npy), ``OSError`` (gzip/bz2 data errors, pyarrow I/O),
    ``ValueError`` (numpy headers, undecodable UTF-8, pandas parse errors), ``csv.Error``.
    pyarrow's own base class is added only when pyarrow is already imported, so asking never
    imports it.
    """
    errors = (OSError, EOFError, ValueError, csv.Error, zipfile.BadZipFile, zlib.error, lzma.LZMAError,
              NotImplementedError)
    pa = sys.modules.get("pyarrow")
    if pa is not None and hasattr(pa, "ArrowException"):
        errors += (pa.ArrowException,)
    return errors


def _cannot_read(path: str, exc: BaseException, how: str = "") -> InputError:
    """One line that names the file and says what is wrong with it."""
    text = (str(exc).strip().splitlines() or [""])[0] or type(exc).__name__
    if isinstance(exc, UnicodeDecodeError):
        text = f"not UTF-8 text ({text})"
    elif isinstance(exc, (EOFError, zipfile.BadZipFile, zlib.error, lzma.LZMAError, gzip.BadGzipFile)):
        text = f"{text} (is the file damaged or truncated?)"
    return InputError(f"Cannot read {path!r}{how}: {text}")


@contextlib.contextmanager
def _reading(path: str, how: str = ""):
    """Turn a decoder's error inside the block into an InputError naming ``path``."""
    try:
        yield
    except InputError:
        raise
    except _read_errors() as exc:
        raise _cannot_read(path, exc, how) from None


def _guarded(path: str, make: Callable[[], Iterator]) -> Iterator:
    """Iterate ``make()``, turning a decoder's error into an InputError naming ``path``.

    Only the reading is guarded (creating the iterator and each ``next``), not what the
    caller does with the items, so a bug in fastcm's own code stays an internal error.
    """
    it = None
    try:
        with _reading(path):
            it = iter(make())
        while True:
            with _reading(path):
                try:
                    item = next(it)
                except StopIteration:
                    return
            yield item
    finally:
        if hasattr(it, "close"):
            it.close()


@dataclass
class Column:
    """One readable column (or score matrix) of a file.

    ``length`` is the number of rows when the format tells it without reading the data
    (``.npy``, ``.npz``, ``.parquet``), else None. :meth:`chunks` yields numpy arrays of
    at most ``chunk_size`` rows, in order.
    """

    path: str
    fmt: str
    columns: list | None
    length: int | None
    _reader: Callable[[int], Iterator[tuple]]
    #: for a file read once for several requests (see :func:`open_columns`): their indices
    roles: list | None = None
    #: the columns of each request, when several share this file
    role_columns: list | None = None

    def _tuples(self, chunk_size: int) -> Iterator[tuple]:
        if not isinstance(chunk_size, int) or isinstance(chunk_size, bool) or chunk_size < 1:
            raise InputError(f"Expected `chunk_size` to be a positive int, but got {chunk_size!r}")
        return self._reader(chunk_size)

    def chunks(self, chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[np.ndarray]:
        """Arrays of at most ``chunk_size`` rows (tuples of them when several requests share the file)."""
        if self.roles is not None and len(self.roles) > 1:
            return self._tuples(chunk_size)
        return (parts[0] for parts in self._tuples(chunk_size))

    def read(self) -> np.ndarray:
        """Every row at once (for small files)."""
        parts = list(self.chunks(DEFAULT_CHUNK_SIZE))
        if not parts:
            return np.empty(0, dtype=np.int64)
        return np.concatenate(parts) if len(parts) > 1 else parts[0]

    def __len__(self) -> int:
        if self.length is None:
            raise TypeError(f"the number of rows of {self.path!r} is only known after reading it")
        return self.length

    def describe(self, part: int | None = None) -> str:
        columns = self.columns if part is None or self.role_columns is None else self.role_columns[part]
        cols = "" if not columns else ":" + ",".join(str(c) for c in columns)
        return f"{self.path}{cols}"


def parse_spec(spec: str) -> tuple[str, list[str] | None]:
    """Split ``FILE[:COLUMN[,COLUMN...]]`` into the path and the column list.

    A path that exists as written wins (so ``C:\\data\\y.npy`` or a file whose name holds a
    colon still works).

    >>> parse_spec("preds.csv:label")
    ('preds.csv', ['label'])
    >>> parse_spec("scores.parquet:p0,p1,p2")
    ('scores.parquet', ['p0', 'p1', 'p2'])
    """
    if not spec:
        raise InputError("Expected a file name, but got an empty string")
    if os.path.exists(spec) or ":" not in spec:
        return spec, None
    path, cols = spec.rsplit(":", 1)
    if not cols:
        return path, None
    return path, [c for c in cols.split(",") if c != ""] or None


def _format_of(path: str) -> tuple[str, Callable | None]:
    lower = path.lower()
    opener = None
    for suffix, fn in _COMPRESSED.items():
        if lower.endswith(suffix):
            lower, opener = lower[: -len(suffix)], fn
            break
    ext = os.path.splitext(lower)[1]
    if ext not in _FORMATS:
        raise InputError(
            f"Cannot read {path!r}: expected one of {', '.join(_FORMATS)} (optionally .gz/.bz2/.xz for text), "
            f"but got {ext or 'no extension'!r}"
        )
    if opener is not None and ext not in (".csv", ".tsv", ".txt"):
        raise InputError(f"Cannot read {path!r}: only text formats may be compressed")
    return (".parquet" if ext == ".pq" else ext), opener


def _text_to_array(values: list[str]) -> np.ndarray:
    """Integers if every value is one, else floats, else strings."""
    for dtype in (np.int64, np.float64):
        try:
            return np.array(values, dtype=dtype)
        except (ValueError, OverflowError):
            continue
    return np.array(values, dtype=str)


def _tidy(a: np.ndarray) -> np.ndarray:
    """Object columns (strings from pandas/pyarrow) become a numpy string array."""
    if a.dtype.kind == "O":
        if all(isinstance(v, str) for v in a.reshape(-1)[:1000]):
            return a.astype(str)
        return _text_to_array([str(v) for v in a.reshape(-1)]).reshape(a.shape)
    return a


def _pick(names: list, wanted: list[str], path: str, what: str) -> list:
    """Map requested columns (names or 0-based positions) to entries of ``names``."""
    picked = []
    for w in wanted:
        if w in names:
            picked.append(w)
        elif str(w) in [str(n) for n in names]:
            picked.append(names[[str(n) for n in names].index(str(w))])
        elif str(w).lstrip("-").isdigit() and -len(names) <= int(w) < len(names):
            picked.append(names[int(w)])
        else:
            raise InputError(f"{path!r} has no column {w!r} for {what}; columns: {', '.join(map(str, names))}")
    return picked


# -- .npy / .npz -------------------------------------------------------------------------
def _array_column(arr, path: str, cols: list[str] | None, what: str, multi: bool, fmt: str) -> Column:
    if arr.dtype.names:  # structured array: fields are columns
        if not cols:
            raise InputError(f"{path!r} is a structured array; name a field for {what}: {', '.join(arr.dtype.names)}")
        fields = _pick(list(arr.dtype.names), cols, path, what)

        def view(lo, hi):
            part = arr[lo:hi]
            if len(fields) == 1 and not multi:
                return np.asarray(part[fields[0]])
            return np.stack([np.asarray(part[f]) for f in fields], axis=1)

    else:
        if arr.ndim == 0:
            raise InputError(f"{path!r} holds a scalar, not an array of {what}")
        if cols:
            if arr.ndim != 2:
                raise InputError(f"{path!r}: a column applies to a 2-D array, but the array has shape {arr.shape}")
            idx = [int(c) for c in _pick(list(range(arr.shape[1])), cols, path, what)]

            def view(lo, hi):
                part = arr[lo:hi, idx]
                return np.asarray(part[:, 0] if len(idx) == 1 and not multi else part)

        else:
            # an (N, C, ...) array of predictions is scores: the argmax is fused into counting
            def view(lo, hi):
                return np.asarray(arr[lo:hi])

    n = int(arr.shape[0])

    def reader(chunk_size):
        for lo in range(0, n, chunk_size):
            yield (view(lo, min(n, lo + chunk_size)),)

    return Column(path, fmt, cols, n, reader)


def _open_npy(path, cols, what, multi):
    # object arrays cannot be memory-mapped and pickles are refused: both are ValueErrors;
    # an empty file is an EOFError
    with _reading(path, " as .npy"):
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    return _array_column(arr, path, cols, what, multi, ".npy")


def _open_npz(path, cols, what, multi):
    try:
        z = np.load(path, allow_pickle=False)
    except Exception as exc:
        raise _cannot_read(path, exc, " as .npz") from None
    keys = list(z.files)
    if not keys:
        raise InputError(f"{path!r} is a zip archive without arrays, not an .npz")
    if cols is None:
        if len(keys) != 1:
            raise InputError(f"{path!r} holds several arrays; pick one with {path}:KEY, one of: {', '.join(keys)}")
        key, sub = keys[0], None
    else:
        if cols[0] not in keys:
            raise InputError(f"{path!r} has no array {cols[0]!r}; arrays: {', '.join(keys)}")
        key, sub = cols[0], (cols[1:] or None)
    # A zip member cannot be memory-mapped: it is read once, then served in chunks. Reading
    # it is where a pickled member, a bad CRC or a broken deflate stream shows.
    try:
        with _reading(path, f" (array {key!r})"):
            arr = z[key]
    except MemoryError:  # a header declaring more than memory holds, truthful or not
        raise InputError(f"Cannot read {path!r} (array {key!r}): its header declares an array larger than "
                         "the memory free; an .npz member is loaded whole, so save it as .npy to stream it") from None
    if not isinstance(arr, np.ndarray):  # numpy hands back the raw bytes of a non-.npy member
        raise InputError(f"{path!r} is a zip archive, but its member {key!r} is not a .npy array")
    col = _array_column(arr, path, sub, what, multi, ".npz")
    col.columns = [key] + (sub or [])
    return col


# -- .csv / .tsv / .txt --------------------------------------------------------------------
def _open_text(path, opener):
    if opener is None:
        return open(path, newline="", encoding="utf-8")
    return opener(path, "rt", newline="", encoding="utf-8")


def _text_rows(path, opener, sep):
    """The rows of a delimited text file, as lists of fields."""
    with _open_text(path, opener) as f:
        yield from csv.reader(f, delimiter=sep)


def _looks_numeric(fields: list[str]) -> bool:
    try:
        for f in fields:
            float(f)
    except ValueError:
        return False
    return bool(fields)


def _resolve(path, names, cols, what, multi):
    """The columns one request reads: named ones, or all/the only one when none is named."""
    if cols is not None:
        return _pick(list(names), cols, path, what)
    if multi or len(names) == 1:
        return list(names)
    raise InputError(
        f"{path!r} has {len(names)} columns; pick the {what} column with {path}:COLUMN, one of: {', '.join(map(str, names))}"
    )


def _shape(arrays, single, multi):
    """One request's chunk from its columns' arrays: a vector, or an (N, K) matrix."""
    if single:
        a = arrays[0]
        return a[:, None] if multi and a.ndim == 1 else a
    return np.stack(arrays, axis=1)


def _open_csv(path, requests, opener, sep):
    """One reader for every request on this file: the text is parsed once per chunk."""
    with contextlib.closing(_guarded(path, lambda: _text_rows(path, opener, sep))) as rows:
        first = next(rows, None)
    if first is None:
        raise InputError(f"{path!r} is empty")
    has_header = not _looks_numeric(first)
    names = first if has_header else list(range(len(first)))
    plans = []
    for cols, what, multi in requests:
        picked = _resolve(path, names, cols, what, multi)
        plans.append(([names.index(c) for c in picked], len(picked) == 1 and not multi, multi))
    used = sorted({pos for positions, _, _ in plans for pos in positions})

    try:
        import pandas as pd
    except ImportError:
        pd = None

    def reader_pandas(chunk_size):
        kwargs = dict(sep=sep, usecols=used, chunksize=chunk_size, header=0 if has_header else None)
        if opener is not None:
            kwargs["compression"] = "infer"
        for df in _guarded(path, lambda: pd.read_csv(path, **kwargs)):
            # usecols returns the columns in file order: address them by place
            yield tuple(
                _shape([_tidy(df.iloc[:, used.index(pos)].to_numpy()) for pos in positions], single, multi)
                for positions, single, multi in plans
            )

    def reader_csv(chunk_size):
        rows = _guarded(path, lambda: _text_rows(path, opener, sep))
        if has_header:
            next(rows, None)
        line = 1 + has_header
        while True:
            batch = [row for row in itertools.islice(rows, chunk_size)]
            if not batch:
                return
            batch = [row for row in batch if row]
            try:
                columns = {pos: _text_to_array([row[pos] for row in batch]) for pos in used}
            except IndexError:
                raise InputError(f"{path!r}: a row near line {line} has fewer than {used[-1] + 1} fields") from None
            line += len(batch)
            yield tuple(_shape([columns[pos] for pos in positions], single, multi) for positions, single, multi in plans)

    return (reader_pandas if pd is not None else reader_csv), None, [
        [names[pos] for pos in positions] if cols else None for (positions, _, _), (cols, _, _) in zip(plans, requests)
    ]


def _open_txt(path, cols, what, multi, opener):
    if cols:
        raise InputError(f"{path!r} is a .txt file (one label per line); it has no column {cols[0]!r}")

    def lines():
        with _open_text(path, opener) as f:
            yield from f

    def reader(chunk_size):
        stripped = (ln.strip() for ln in _guarded(path, lines))
        stripped = (ln for ln in stripped if ln)
        while True:
            batch = list(itertools.islice(stripped, chunk_size))
            if not batch:
                return
            yield (_text_to_array(batch),)

    return Column(path, ".txt", None, None, reader)


# -- .parquet ------------------------------------------------------------------------------
def _arrow_to_numpy(col) -> np.ndarray:
    import pyarrow as pa

    if pa.types.is_dictionary(col.type):
        col = col.dictionary_decode()
    if pa.types.is_list(col.type) or pa.types.is_large_list(col.type) or pa.types.is_fixed_size_list(col.type):
        flat = col.flatten().to_numpy(zero_copy_only=False)
        n = len(col)
        return flat.reshape(n, -1) if n else flat.reshape(0, 0)
    return _tidy(col.to_numpy(zero_copy_only=False))


def _open_parquet(path, requests):
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError(f"Reading {path!r} needs pyarrow: pip install pyarrow") from None
    try:
        pf = pq.ParquetFile(path)
        names = list(pf.schema_arrow.names)
        num_rows = int(pf.metadata.num_rows)
    except Exception as exc:
        raise _cannot_read(path, exc, " as Parquet") from None
    plans = []
    for cols, what, multi in requests:
        picked = _resolve(path, names, cols, what, multi)
        plans.append((picked, len(picked) == 1, multi))
    used = list(dict.fromkeys(c for picked, _, _ in plans for c in picked))

    def reader(chunk_size):
        # a valid footer can front damaged pages: they fail only when decoded, here
        for batch in _guarded(path, lambda: pf.iter_batches(batch_size=chunk_size, columns=used)):
            with _reading(path, " as Parquet"):
                arrays = {c: _arrow_to_numpy(batch.column(i)) for i, c in enumerate(used)}
            yield tuple(_shape([arrays[c] for c in picked], single, multi) for picked, single, multi in plans)

    described = [picked if cols else None for (picked, _, _), (cols, _, _) in zip(plans, requests)]
    return reader, num_rows, described


# -- entry points --------------------------------------------------------------------------
def _check_path(path, what):
    if not os.path.exists(path):
        raise InputError(f"No such file: {path!r} (for {what})")
    if os.path.isdir(path):
        raise InputError(f"{path!r} is a directory, not a file (for {what})")


def open_column(spec: str, *, what: str = "labels", multi: bool = False) -> Column:
    """Open ``FILE[:COLUMN]`` (see the module docstring) for chunked reading.

    Parameters
    ----------
    spec : str
        The file and, optionally, the column/key/columns inside it.
    what : str
        What the column holds, for messages ("y_true", "y_pred", "scores").
    multi : bool
        Whether several columns form one (N, K) matrix (scores); then a file without a
        column spec yields all its columns.
    """
    path, cols = parse_spec(spec)
    _check_path(path, what)
    fmt, opener = _format_of(path)
    if fmt == ".npy":
        return _open_npy(path, cols, what, multi)
    if fmt == ".npz":
        return _open_npz(path, cols, what, multi)
    if fmt == ".txt":
        return _open_txt(path, cols, what, multi, opener)
    return _open_table(path, fmt, opener, [(cols, what, multi)], None)


def _open_table(path, fmt, opener, requests, roles):
    if fmt == ".parquet":
        reader, length, described = _open_parquet(path, requests)
    else:
        reader, length, described = _open_csv(path, requests, opener, "\t" if fmt == ".tsv" else ",")
    columns = [c for d in described for c in (d or [])] or None
    return Column(path, fmt, columns, length, reader, roles, described)


def open_columns(requests) -> list[Column]:
    """Open several ``(spec, what, multi)`` requests; those on one .csv/.tsv/.parquet file
    share a single reader, so its text is parsed (or its row groups decoded) once.

    Returns one :class:`Column` per file; its ``roles`` are the indices of the requests it
    serves, which :func:`aligned_chunks` uses to put every chunk back in request order.

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "preds.csv")
    >>> _ = open(p, "w").write("label,pred\\n0,1\\n1,1\\n")
    >>> cols = open_columns([(p + ":label", "y_true", False), (p + ":pred", "y_pred", False)])
    >>> len(cols), [a.tolist() for a in next(aligned_chunks(cols))]
    (1, [[0, 1], [1, 1]])
    """
    groups: dict = {}
    singles = []
    for i, (spec, what, multi) in enumerate(requests):
        path, cols = parse_spec(spec)
        _check_path(path, what)
        fmt, opener = _format_of(path)
        if fmt in (".csv", ".tsv", ".parquet"):
            key = os.path.realpath(path)
            groups.setdefault(key, (path, fmt, opener, []))[3].append((i, cols, what, multi))
        else:
            col = open_column(spec, what=what, multi=multi)
            col.roles = [i]
            singles.append(col)
    out = list(singles)
    for path, fmt, opener, members in groups.values():
        out.append(_open_table(path, fmt, opener, [(c, w, m) for _, c, w, m in members], [i for i, *_ in members]))
    return sorted(out, key=lambda c: min(c.roles))


def read_names(path: str) -> list[str]:
    """Class names, one per line (blank lines skipped).

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "names.txt")
    >>> _ = open(p, "w").write("cat\\ndog\\n\\n")
    >>> read_names(p)
    ['cat', 'dog']
    """
    try:
        with open(path, encoding="utf-8") as f:
            return [ln.strip() for ln in f if ln.strip()]
    except OSError as exc:
        raise InputError(f"Cannot read class names from {path!r}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise _cannot_read(path, exc, " (class names)") from None


def _rechunk(chunks: Iterator[tuple], size: int) -> Iterator[tuple]:
    """Re-cut a stream of equally long array tuples into pieces of exactly ``size`` rows
    (the last may be shorter)."""
    buf, held = [], 0

    def joined():
        if len(buf) == 1:
            return buf[0]
        return tuple(np.concatenate(parts) for parts in zip(*buf))

    for c in chunks:
        rows = len(c[0])
        if rows == size and not buf:
            yield c
            continue
        buf.append(c)
        held += rows
        while held >= size:
            whole = joined()
            yield tuple(a[:size] for a in whole)
            rest = tuple(a[size:] for a in whole)
            buf, held = ([rest] if len(rest[0]) else []), len(rest[0])
    if held:
        yield joined()


def aligned_chunks(columns: list[Column], chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[tuple]:
    """Zip several sources into tuples of equally long chunks; unequal lengths are an InputError.

    The tuple holds one array per column, or, for columns from :func:`open_columns`, one
    per request in request order.

    >>> import numpy as np, tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> np.save(os.path.join(d, "t.npy"), np.arange(5)); np.save(os.path.join(d, "p.npy"), np.arange(5))
    >>> cols = [open_column(os.path.join(d, n)) for n in ("t.npy", "p.npy")]
    >>> lengths = [len(t) for t, p in aligned_chunks(cols, 2)]
    >>> lengths
    [2, 2, 1]
    """
    if not isinstance(chunk_size, int) or isinstance(chunk_size, bool) or chunk_size < 1:
        raise InputError(f"Expected `chunk_size` to be a positive int, but got {chunk_size!r}")
    known = [(c, c.length) for c in columns if c.length is not None]
    if len({n for _, n in known}) > 1:
        detail = ", ".join(f"{c.describe()} has {n}" for c, n in known)
        raise InputError(f"Inputs have different numbers of rows: {detail}")
    if all(c.roles is None for c in columns):
        slots = [[i] for i in range(len(columns))]
    else:
        slots = [c.roles for c in columns]
    width = sum(len(s) for s in slots)
    streams = [_rechunk(c._tuples(chunk_size), chunk_size) for c in columns]
    seen = 0
    sentinel = object()
    while True:
        parts = [next(s, sentinel) for s in streams]
        done = [p is sentinel for p in parts]
        if all(done):
            return
        lengths = [0 if p is sentinel else len(p[0]) for p in parts]
        if any(done) or len(set(lengths)) > 1:
            # a piece shorter than chunk_size is a stream's last one: its total is exact
            final = [d or n < chunk_size for n, d in zip(lengths, done)]
            detail = ", ".join(
                f"{c.describe()} has {'' if f else 'at least '}{seen + n}" for c, n, f in zip(columns, lengths, final)
            )
            raise InputError(f"Inputs have different numbers of rows: {detail}")
        seen += lengths[0]
        out = [None] * width
        for slot, piece in zip(slots, parts):
            for role, array in zip(slot, piece):
                out[role] = array
        yield tuple(out)
