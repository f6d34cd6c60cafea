"""The command line on hostile input: damaged or foreign files are bad input (exit 2, one
line naming the file), and labels from the data never reach a spreadsheet as a formula or a
terminal as an escape sequence."""

import bz2
import csv
import gzip
import io
import json
import lzma
import struct
import sys
import zipfile

import numpy as np
import pytest

from fastcm import cli

ROWS = 30_000  # long enough that a damaged tail is met after the header has been read


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _csv_bytes(rows=ROWS):
    return ("label,pred\n" + "".join(f"{i % 3},{(i * 7) % 3}\n" for i in range(rows))).encode()


def _txt_bytes(rows=ROWS):
    return "".join(f"{i % 3}\n" for i in range(rows)).encode()


def _flip(data, at, value=0xFF):
    b = bytearray(data)
    b[at] ^= value
    return bytes(b)


def _deflate_start(data):
    """Offset of the first member's compressed data in a zip (after its local header)."""
    name_len, extra_len = struct.unpack("<HH", data[26:30])
    return 30 + name_len + extra_len


def _both(name):
    return ["--true", f"{name}:label", "--pred", f"{name}:pred"]


# -- builders: each writes a damaged file into the folder d and returns (argv, file name) --
def npz_object(d):
    np.savez(d / "bad.npz", y=np.array([1, "a", None], dtype=object))  # pickled member
    return ["--true", "bad.npz:y", "--pred", "bad.npz:y"], "bad.npz"


def npz_bad_crc(d):
    np.savez(d / "bad.npz", y=np.arange(1000))
    raw = (d / "bad.npz").read_bytes()
    (d / "bad.npz").write_bytes(_flip(raw, raw.find(np.arange(1000).tobytes()) + 4000))
    return ["--true", "bad.npz:y", "--pred", "bad.npz:y"], "bad.npz"


def npz_compressed_bad_crc(d):
    np.savez_compressed(d / "bad.npz", y=np.random.default_rng(0).integers(0, 7, 100_000))
    raw = bytearray((d / "bad.npz").read_bytes())
    mid = len(raw) // 2
    raw[mid : mid + 16] = bytes(16)
    (d / "bad.npz").write_bytes(bytes(raw))
    return ["--true", "bad.npz:y", "--pred", "bad.npz:y"], "bad.npz"


def npz_deflate_error(d):
    np.savez_compressed(d / "bad.npz", y=np.arange(1000))
    raw = (d / "bad.npz").read_bytes()
    b = bytearray(raw)
    b[_deflate_start(raw)] = 0xFF  # deflate block type 3 does not exist: zlib.error
    (d / "bad.npz").write_bytes(bytes(b))
    return ["--true", "bad.npz:y", "--pred", "bad.npz:y"], "bad.npz"


def npz_truncated(d):
    np.savez(d / "bad.npz", y=np.arange(1000))
    raw = (d / "bad.npz").read_bytes()
    (d / "bad.npz").write_bytes(raw[: len(raw) // 2])
    return ["--true", "bad.npz:y", "--pred", "bad.npz:y"], "bad.npz"


def npz_header_too_large(d):
    from numpy.lib import format as npy_format

    buf = io.BytesIO()  # a header that declares 80 TB in front of 80 bytes
    npy_format.write_array_header_1_0(buf, {"descr": "<i8", "fortran_order": False, "shape": (10**13,)})
    buf.write(np.arange(10).tobytes())
    with zipfile.ZipFile(d / "bad.npz", "w") as z:
        z.writestr("y.npy", buf.getvalue())
    return ["--true", "bad.npz", "--pred", "bad.npz"], "bad.npz"


def zip_not_npz(d):
    with zipfile.ZipFile(d / "bad.npz", "w") as z:
        z.writestr("readme.txt", "hello")
    return ["--true", "bad.npz", "--pred", "bad.npz"], "bad.npz"


def zip_member_not_npy(d):
    with zipfile.ZipFile(d / "bad.npz", "w") as z:
        z.writestr("y.npy", "hello, not an array")
    return ["--true", "bad.npz:y", "--pred", "bad.npz:y"], "bad.npz"


def zip_empty(d):
    with zipfile.ZipFile(d / "bad.npz", "w"):
        pass
    return ["--true", "bad.npz", "--pred", "bad.npz"], "bad.npz"


def npy_empty(d):
    (d / "bad.npy").write_bytes(b"")
    return ["--true", "bad.npy", "--pred", "bad.npy"], "bad.npy"


def npy_truncated_data(d):
    np.save(d / "bad.npy", np.arange(1000))
    (d / "bad.npy").write_bytes((d / "bad.npy").read_bytes()[:500])
    return ["--true", "bad.npy", "--pred", "bad.npy"], "bad.npy"


def npy_truncated_header(d):
    np.save(d / "bad.npy", np.arange(1000))
    (d / "bad.npy").write_bytes((d / "bad.npy").read_bytes()[:40])
    return ["--true", "bad.npy", "--pred", "bad.npy"], "bad.npy"


def npy_object(d):
    np.save(d / "bad.npy", np.array([1, "a", None], dtype=object))
    return ["--true", "bad.npy", "--pred", "bad.npy"], "bad.npy"


def parquet_garbage(d):
    (d / "bad.parquet").write_bytes(b"PAR1 certainly not parquet PAR1")
    return _both("bad.parquet"), "bad.parquet"


def parquet_corrupt_pages(d):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    rng = np.random.default_rng(0)
    table = pa.table({"label": rng.integers(0, 7, 100_000), "pred": rng.integers(0, 7, 100_000)})
    pq.write_table(table, d / "bad.parquet", compression="snappy", row_group_size=20_000)
    raw = bytearray((d / "bad.parquet").read_bytes())
    for k in range(100, 2000):  # the first pages; the footer (schema, row count) stays intact
        raw[k] ^= 0x5A
    (d / "bad.parquet").write_bytes(bytes(raw))
    return _both("bad.parquet"), "bad.parquet"


def csv_undecodable_header(d):
    (d / "bad.csv").write_bytes(b"lab\xffel,pred\n1,1\n")
    return _both("bad.csv"), "bad.csv"


def csv_undecodable_later(d):
    (d / "bad.csv").write_bytes(_csv_bytes() + b"\xff\xfe,1\n")
    return _both("bad.csv"), "bad.csv"


def csv_field_too_large(d):
    (d / "bad.csv").write_bytes(b"label,pred," + b"x" * 200_000 + b"\n1,1,1\n")
    return _both("bad.csv"), "bad.csv"


def csv_gz_not_gzip(d):
    (d / "bad.csv.gz").write_bytes(_csv_bytes(10))
    return _both("bad.csv.gz"), "bad.csv.gz"


def csv_gz_truncated(d):
    g = gzip.compress(_csv_bytes())
    (d / "bad.csv.gz").write_bytes(g[: len(g) // 2])
    return _both("bad.csv.gz"), "bad.csv.gz"


def csv_gz_bad_crc(d):
    g = gzip.compress(_csv_bytes())
    (d / "bad.csv.gz").write_bytes(_flip(g, len(g) - 6))  # in the CRC trailer
    return _both("bad.csv.gz"), "bad.csv.gz"


def csv_gz_zlib_error(d):
    g = bytearray(gzip.compress(_csv_bytes()))
    g[10:20] = b"\xff" * 10  # right after the gzip header: an invalid deflate block
    (d / "bad.csv.gz").write_bytes(bytes(g))
    return _both("bad.csv.gz"), "bad.csv.gz"


def csv_bz2_corrupt(d):
    c = bz2.compress(_csv_bytes())
    (d / "bad.csv.bz2").write_bytes(_flip(c, len(c) // 2))
    return _both("bad.csv.bz2"), "bad.csv.bz2"


def csv_bz2_truncated(d):
    c = bz2.compress(_csv_bytes())
    (d / "bad.csv.bz2").write_bytes(c[: len(c) // 2])
    return _both("bad.csv.bz2"), "bad.csv.bz2"


def csv_xz_corrupt(d):
    c = lzma.compress(_csv_bytes())
    (d / "bad.csv.xz").write_bytes(_flip(c, len(c) // 2))
    return _both("bad.csv.xz"), "bad.csv.xz"


def csv_xz_truncated(d):
    c = lzma.compress(_csv_bytes())
    (d / "bad.csv.xz").write_bytes(c[: len(c) // 2])
    return _both("bad.csv.xz"), "bad.csv.xz"


def txt_undecodable(d):
    (d / "bad.txt").write_bytes(b"1\n\xff\xfe\n2\n")
    return ["--true", "bad.txt", "--pred", "bad.txt"], "bad.txt"


def txt_gz_truncated(d):
    g = gzip.compress(_txt_bytes())
    (d / "bad.txt.gz").write_bytes(g[: len(g) // 2])
    return ["--true", "bad.txt.gz", "--pred", "bad.txt.gz"], "bad.txt.gz"


def txt_xz_corrupt(d):
    c = lzma.compress(_txt_bytes())
    (d / "bad.txt.xz").write_bytes(_flip(c, len(c) // 2))
    return ["--true", "bad.txt.xz", "--pred", "bad.txt.xz"], "bad.txt.xz"


def names_undecodable(d):
    np.save(d / "t.npy", np.arange(3))
    (d / "names.txt").write_bytes(b"zero\n\xff\xfe\ntwo\n")
    return ["--true", "t.npy", "--pred", "t.npy", "--names", "names.txt"], "names.txt"


DAMAGED = [
    npz_object, npz_bad_crc, npz_compressed_bad_crc, npz_deflate_error, npz_truncated, npz_header_too_large,
    zip_not_npz,
    zip_member_not_npy, zip_empty, npy_empty, npy_truncated_data, npy_truncated_header, npy_object,
    parquet_garbage, parquet_corrupt_pages, csv_undecodable_header, csv_undecodable_later, csv_field_too_large,
    csv_gz_not_gzip, csv_gz_truncated, csv_gz_bad_crc, csv_gz_zlib_error, csv_bz2_corrupt, csv_bz2_truncated,
    csv_xz_corrupt, csv_xz_truncated, txt_undecodable, txt_gz_truncated, txt_xz_corrupt, names_undecodable,
]


@pytest.mark.parametrize("reader", ["pandas", "csv-module"])
@pytest.mark.parametrize("build", DAMAGED, ids=lambda f: f.__name__.replace("_", "-"))
def test_damaged_file_exits_2_with_one_line_naming_it(capsys, tmp_path, monkeypatch, build, reader):
    if reader == "csv-module":
        monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas -> ImportError
    argv, name = build(tmp_path)
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "report", *argv, "--quiet", "--chunk-size", 1000)
    assert code == 2, err
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "error" in lines[0] and "internal error" not in lines[0]
    assert name in lines[0]
    assert "Traceback" not in err


# -- escaping of labels and names ------------------------------------------------------------
HOSTILE = [
    "=cmd|' /C calc'!A0", "@SUM(1+1)", "+1+1", "-2+3", "\tTAB", "\rCR", "-0.5", "cat",
    "\x1b[31mred\x1b[0m", "a|b", "x\ny", "\x1b]0;title\x07",
]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture
def hostile_csv(tmp_path):
    path = tmp_path / "hostile.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["truth", "guess"])
        for i, label in enumerate(HOSTILE):
            w.writerow([label, label])
            w.writerow([label, HOSTILE[(i + 1) % len(HOSTILE)]])
        w.writerow(["\x1b[2Jwipe", "cat"])  # never predicted: the diagnostics name it
    return path


def _report(capsys, path, fmt, *extra):
    code, out, err = run(capsys, "report", "--true", f"{path}:truth", "--pred", f"{path}:guess",
                         "--format", fmt, "--quiet", *extra)
    assert code == 0, err
    return out


@pytest.fixture(params=["pandas", "csv-module"])
def reader(request, monkeypatch):
    if request.param == "csv-module":
        monkeypatch.setitem(sys.modules, "pandas", None)
    return request.param


def test_json_keeps_labels_exact_and_escaped_by_the_encoder(capsys, hostile_csv, reader):
    out = _report(capsys, hostile_csv, "json")
    assert "\x1b" not in out and "\r" not in out and "\x07" not in out
    doc = json.loads(out)
    assert sorted(doc["labels"]) == sorted(HOSTILE + ["\x1b[2Jwipe"])
    assert doc["target_names"] == doc["labels"]


def test_csv_output_guards_formulas_not_numbers(capsys, hostile_csv, reader):
    labels = json.loads(_report(capsys, hostile_csv, "json"))["labels"]
    rows = list(csv.reader(io.StringIO(_report(capsys, hostile_csv, "csv"))))
    assert rows[0][:5] == ["class", "precision", "recall", "f1-score", "support"]
    assert rows[0][5:] == [f"predicted {v}" for v in labels]  # the matrix: a column per predicted class
    got = [r[0] for r in rows[1 : 1 + len(labels)]]
    expected = ["'" + v if v.startswith(FORMULA_START) and v != "-0.5" else v for v in labels]
    assert got == expected
    assert "-0.5" in got and "'=cmd|' /C calc'!A0" in got and "'@SUM(1+1)" in got and "'\tTAB" in got
    for r in rows[1:]:  # the numbers stay numbers
        for cell in r[1:]:
            if cell:
                float(cell)


def test_csv_output_keeps_negative_integer_labels(capsys, tmp_path):
    np.save(tmp_path / "t.npy", np.array([-1, 0, 1, 1, -1]))
    code, out, err = run(capsys, "report", "--true", tmp_path / "t.npy", "--pred", tmp_path / "t.npy",
                         "--format", "csv", "--quiet")
    assert code == 0, err
    assert [r[0] for r in csv.reader(io.StringIO(out))][1:4] == ["-1", "0", "1"]


def test_csv_output_guards_names_from_names_file(capsys, tmp_path):
    np.save(tmp_path / "t.npy", np.array([0, 1, 2, 1]))
    (tmp_path / "names.txt").write_text('=HYPERLINK("http://x","y")\n@cmd\nplain\n', encoding="utf-8")
    code, out, err = run(capsys, "report", "--true", tmp_path / "t.npy", "--pred", tmp_path / "t.npy",
                         "--names", tmp_path / "names.txt", "--format", "csv", "--quiet")
    assert code == 0, err
    assert [r[0] for r in csv.reader(io.StringIO(out))][1:4] == ["'=HYPERLINK(\"http://x\",\"y\")", "'@cmd", "plain"]


def test_text_output_shows_control_characters_escaped(capsys, hostile_csv, reader):
    out = _report(capsys, hostile_csv, "text")
    assert "\x1b" not in out and "\r" not in out and "\x07" not in out and "\t" not in out
    assert r"\x1b[31mred\x1b[0m" in out and r"x\ny" in out and r"\x1b]0;title\x07" in out
    assert r"\x1b[2Jwipe" in out  # in the diagnostics too
    # a label's newline does not split a row: every report row is one line
    assert any(ln.strip().startswith(r"x\ny ") for ln in out.splitlines())


def test_markdown_output_escapes_control_characters_and_pipes(capsys, hostile_csv, reader):
    out = _report(capsys, hostile_csv, "markdown")
    assert "\x1b" not in out and "\r" not in out and "\x07" not in out and "\t" not in out
    assert r"a\|b" in out and r"\x1b[31mred\x1b[0m" in out
    n = len(HOSTILE) + 1
    for ln in out.splitlines():
        if not ln.startswith("|"):
            continue
        cells = ln.count("|") - ln.count("\\|")
        assert cells in (6, n + 2), ln  # report rows, matrix rows: no cell split by a label


def test_names_file_and_curves_are_escaped(capsys, tmp_path):
    rng = np.random.default_rng(1)
    t = rng.integers(0, 3, 200)
    s = rng.random((200, 3))
    s[np.arange(200), t] += 1
    np.save(tmp_path / "t.npy", t)
    np.save(tmp_path / "s.npy", s / s.sum(axis=1, keepdims=True))
    (tmp_path / "names.txt").write_text("\x1b[31mred\nblue|green\n\x1b]0;x\x07\n", encoding="utf-8")
    for fmt in ("text", "markdown"):
        code, out, err = run(capsys, "report", "--true", tmp_path / "t.npy", "--scores", tmp_path / "s.npy",
                             "--names", tmp_path / "names.txt", "--format", fmt, "--quiet")
        assert code == 0, err
        assert "\x1b" not in out and "\x07" not in out
        assert out.count(r"\x1b[31mred") >= 3  # report, matrix, curves


def test_many_classes_confused_pairs_are_escaped(capsys, tmp_path):
    labels = [f"c{i}" for i in range(40)] + ["\x1b[31mevil"]
    t = np.array(labels * 5)
    p = np.where(np.arange(t.size) % 2 == 0, t, np.roll(t, 1))
    with open(tmp_path / "m.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["truth", "guess"])
        w.writerows(zip(t, p))
    for fmt in ("text", "markdown"):
        out = _report(capsys, tmp_path / "m.csv", fmt)
        assert "\x1b" not in out and r"\x1b[31mevil" in out


def test_error_messages_escape_labels_and_stay_one_line(capsys, hostile_csv):
    (hostile_csv.parent / "names.txt").write_text("one\ntwo\n")
    code, out, err = run(capsys, "report", "--true", f"{hostile_csv}:truth", "--pred", f"{hostile_csv}:guess",
                         "--names", hostile_csv.parent / "names.txt", "--quiet")
    assert code == 2 and out == ""
    assert "\x1b" not in err and "\r" not in err and len(err.strip().splitlines()) == 1
    assert r"\x1b[31mred\x1b[0m" in err


def test_error_listing_hostile_column_names_is_escaped(capsys, tmp_path):
    path = tmp_path / "h.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["\x1b[31mlabel", "pr\ned"])
        w.writerows([["a", "b"], ["b", "b"]])
    code, out, err = run(capsys, "report", "--true", f"{path}:nope", "--pred", f"{path}:nope", "--quiet")
    assert code == 2 and out == ""
    assert "\x1b" not in err and len(err.strip().splitlines()) == 1
    assert r"\x1b[31mlabel" in err
