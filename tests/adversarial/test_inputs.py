"""Adversarial inputs: things that are not files, not text, not a text encoding, or nothing at all.

Every refusal is one line naming the user's file, exit 3, no traceback, no output, no hang.
UTF-32 in any byte order, with or without a BOM, is read as the text it is.
"""

from __future__ import annotations

import bz2
import codecs
import gzip
import json
import lzma
import os
import socket
import sqlite3
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from app.core.csvio.csv_input import iter_chunks, sniff
from tests.cli_runner import run_cli

CSV_TEXT = "id,text\n1,you are an idiot\n2,café au lait\n"


def _score(tmp_path: Path, source: Path, *extra: str) -> tuple[int, list[str], Path]:
    out = tmp_path / "out.csv"
    result = run_cli("score", str(source), "-o", str(out), "--quiet", *extra, timeout=60)
    assert "Traceback" not in result.stderr
    return result.returncode, result.stderr.strip().splitlines(), out


def _assert_refused(tmp_path: Path, source: Path, needle: str, *extra: str) -> str:
    before = source.read_bytes() if source.is_file() else None
    code, lines, out = _score(tmp_path, source, *extra)
    assert code == 3, lines
    assert len(lines) == 1 and str(source) in lines[0] and needle in lines[0], lines
    assert not out.exists() and not Path(f"{out}.provenance.json").exists()
    if before is not None:
        assert source.read_bytes() == before
    return lines[0]


# --- Not regular files ----------------------------------------------------------------------


def _fifo(tmp: Path) -> Path:
    os.mkfifo(tmp / "pipe.csv")  # no writer: opening it for reading would block forever
    return tmp / "pipe.csv"


def _folder(tmp: Path) -> Path:
    (tmp / "data.csv").mkdir()
    return tmp / "data.csv"


def _link_to_fifo(tmp: Path) -> Path:
    (tmp / "link.csv").symlink_to(_fifo(tmp))
    return tmp / "link.csv"


def _socket(tmp: Path) -> Path:
    path = Path(f"/tmp/ad-in-{os.getpid()}-{time.monotonic_ns()}.csv")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    sock.close()
    return path


NOT_FILES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "fifo": (_fifo, "FIFO"),
    "dev-zero": (lambda _t: Path("/dev/zero"), "device"),
    "dev-urandom": (lambda _t: Path("/dev/urandom"), "device"),
    "folder": (_folder, "folder"),
    "link-to-fifo": (_link_to_fifo, "FIFO"),
    "socket": (_socket, "socket"),
}


@pytest.mark.parametrize("case", NOT_FILES)
def test_inputs_that_are_not_files_are_refused_unread(tmp_path: Path, case: str) -> None:
    make, needle = NOT_FILES[case]
    source = make(tmp_path)
    try:
        line = _assert_refused(tmp_path, source, needle)
        assert "not a regular file" in line
    finally:
        if case == "socket":
            source.unlink()


def test_link_to_a_regular_file_is_still_an_input(tmp_path: Path) -> None:
    (tmp_path / "real.csv").write_text(CSV_TEXT, encoding="utf-8")
    (tmp_path / "link.csv").symlink_to(tmp_path / "real.csv")
    code, lines, out = _score(tmp_path, tmp_path / "link.csv")
    assert code == 0, lines
    assert out.exists()


# --- Clearly binary files -------------------------------------------------------------------


def _zip() -> bytes:
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("data.csv", CSV_TEXT)
    return buffer.getvalue()


def _sqlite(tmp: Path) -> bytes:
    with sqlite3.connect(tmp / "x.db") as con:
        con.execute("CREATE TABLE t (text TEXT)")
    return (tmp / "x.db").read_bytes()


BINARY: dict[str, tuple[Callable[[Path], bytes], str]] = {
    "png": (lambda _t: b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64), "PNG image"),
    "jpeg": (lambda _t: b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(64), "JPEG image"),
    "gif": (lambda _t: b"GIF89a\x01\x00\x01\x00" + bytes(32), "GIF image"),
    "pdf": (lambda _t: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "PDF document"),
    "zip": (lambda _t: _zip(), "ZIP archive"),
    "gzip": (lambda _t: gzip.compress(CSV_TEXT.encode()), "gzip archive"),
    "bzip2": (lambda _t: bz2.compress(CSV_TEXT.encode()), "bzip2 archive"),
    "xz": (lambda _t: lzma.compress(CSV_TEXT.encode()), "xz archive"),
    "sqlite": (_sqlite, "SQLite database"),
    "old-excel": (lambda _t: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64), "Excel"),
    "elf": (lambda _t: b"\x7fELF\x02\x01\x01" + bytes(64), "program"),
    "nul-heavy": (lambda _t: b"id,text\n1,abc" + bytes(200) + b"x" * 100, "NUL bytes"),
}


@pytest.mark.parametrize("case", BINARY)
def test_binary_files_are_not_text(tmp_path: Path, case: str) -> None:
    make, what = BINARY[case]
    source = tmp_path / f"{case}.csv"
    source.write_bytes(make(tmp_path))
    line = _assert_refused(tmp_path, source, "not a text file")
    assert what in line


def test_a_few_nuls_are_rejected_rows_not_a_binary_file(tmp_path: Path) -> None:
    source = tmp_path / "some.csv"
    source.write_bytes(b"id,text\n1,fine text here\n2,bad\x00row\n3,more fine text\n" * 4)
    code, lines, out = _score(tmp_path, source)
    assert code == 0, lines
    provenance = json.loads(Path(f"{out}.provenance.json").read_text())
    assert (provenance["rows_scored"], provenance["rows_rejected"]) == (
        11,
        4,
    )  # the repeated header lines are rows too


# --- --encoding: text encodings only --------------------------------------------------------

NOT_TEXT = ["base64", "rot13", "zlib", "hex", "bz2", "uu", "quopri", "undefined"]


@pytest.mark.parametrize("encoding", NOT_TEXT)
def test_encoding_must_be_a_text_encoding(tmp_path: Path, encoding: str) -> None:
    source = tmp_path / "in.csv"
    source.write_text(CSV_TEXT, encoding="utf-8")
    line = _assert_refused(tmp_path, source, encoding, "--encoding", encoding)
    assert "not a text encoding" in line


@pytest.mark.parametrize("encoding", ["no-such-codec", "latin-99"])
def test_unknown_encoding_is_one_line(tmp_path: Path, encoding: str) -> None:
    source = tmp_path / "in.csv"
    source.write_text(CSV_TEXT, encoding="utf-8")
    line = _assert_refused(tmp_path, source, "unknown text encoding", "--encoding", encoding)
    assert "in.csv" in line


@pytest.mark.parametrize("encoding", ["idna", "punycode"])
def test_text_codec_that_refuses_the_escape_handler_is_refused(tmp_path: Path, encoding: str):
    """Text codecs, but they allow no error handler except "strict": refused up front, exit 3,
    not an "internal error" from the first decode."""
    source = tmp_path / "in.csv"
    source.write_text(CSV_TEXT, encoding="utf-8")
    line = _assert_refused(tmp_path, source, encoding, "--encoding", encoding)
    assert "cannot be used to read files" in line and "internal error" not in line


# --enc utf-16/utf-32 on a file without a BOM: the refusal names the file and says what it is
WRONG_UNICODE = {
    "utf-16 named for UTF-8": (CSV_TEXT.encode("utf-8"), "utf-16", "no zero bytes", "UTF-8"),
    "utf-16 named for UTF-32 LE": (
        CSV_TEXT.encode("utf-32-le"),
        "utf-16",
        "(no byte-order mark)",
        "looks like UTF-32 LE",
    ),
    "utf-32 named for UTF-16 BE": (
        CSV_TEXT.encode("utf-16-be"),
        "utf-32",
        "(no byte-order mark)",
        "looks like UTF-16 BE",
    ),
    "utf-16 named for NUL-laden data": (
        b"text\n" + b"a\0\0" * 600,
        "utf-16",
        "zero bytes not where UTF-16 has them",
        "does not look like UTF-16",
    ),
}


@pytest.mark.parametrize("case", WRONG_UNICODE)
def test_wrong_unicode_encoding_names_the_file_and_what_it_looks_like(tmp_path: Path, case):
    data, encoding, why, looks = WRONG_UNICODE[case]
    source = tmp_path / "in.csv"
    source.write_bytes(data)
    line = _assert_refused(tmp_path, source, looks, "--encoding", encoding)
    assert why in line


@pytest.mark.parametrize("unit", [b"a\0", b"\0a"], ids=["zeros-odd", "zeros-even"])
def test_ascii_header_then_nul_data_is_binary_not_utf16(tmp_path: Path, unit: bytes) -> None:
    """Zero bytes at every other offset after a plain ASCII header line: not UTF-16 without a
    BOM (its header has no zero bytes), so the many NULs make it "not a text file"."""
    source = tmp_path / "nul.csv"
    source.write_bytes(b"text\n" + unit * 600)
    _assert_refused(tmp_path, source, "not a text file (many NUL bytes")


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_bomless_utf16_is_still_detected(tmp_path: Path, codec: str) -> None:
    source = tmp_path / "in.csv"
    source.write_bytes(CSV_TEXT.encode(codec))
    assert sniff(source).format.encoding == codec


# --- UTF-32 ---------------------------------------------------------------------------------

UTF32 = {
    "le-bom": codecs.BOM_UTF32_LE + CSV_TEXT.encode("utf-32-le"),
    "be-bom": codecs.BOM_UTF32_BE + CSV_TEXT.encode("utf-32-be"),
    "le-no-bom": CSV_TEXT.encode("utf-32-le"),
    "be-no-bom": CSV_TEXT.encode("utf-32-be"),
}


@pytest.mark.parametrize("case", UTF32)
def test_utf32_is_detected(tmp_path: Path, case: str) -> None:
    source = tmp_path / "in.csv"
    source.write_bytes(UTF32[case])
    sniffed = sniff(source)
    assert sniffed.format.encoding.startswith("utf-32")
    assert sniffed.header == ["id", "text"]
    rows = [row for chunk in iter_chunks(source, sniffed.format) for row in chunk.rows]
    assert rows == [["1", "you are an idiot"], ["2", "café au lait"]]


@pytest.mark.parametrize("case", ["le-no-bom", "be-bom"])
def test_utf32_named_with_encoding_option(tmp_path: Path, case: str) -> None:
    source = tmp_path / "in.csv"
    source.write_bytes(UTF32[case])
    code, lines, out = _score(tmp_path, source, "--encoding", "utf-32")
    assert code == 0, lines
    text = out.read_text(encoding="utf-8-sig")
    assert "café au lait" in text and "you are an idiot" in text


def test_utf32_named_for_a_file_that_is_not(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text(CSV_TEXT, encoding="utf-8")
    _assert_refused(tmp_path, source, "UTF-32", "--encoding", "utf-32")


# --- Nothing to score -----------------------------------------------------------------------

EMPTY = {
    "empty": (b"", "is empty"),
    "header-only": (b"id,text\n", "no rows to score"),
    "header-no-newline": (b"id,text", "no rows to score"),
    "header-and-blank-lines": (b"id,text\r\n\r\n\r\n", "no rows to score"),
    "bom-and-header": (codecs.BOM_UTF8 + b"id,text\n", "no rows to score"),
}


@pytest.mark.parametrize("case", EMPTY)
def test_nothing_to_score_is_a_clear_error(tmp_path: Path, case: str) -> None:
    data, needle = EMPTY[case]
    source = tmp_path / "in.csv"
    source.write_bytes(data)
    _assert_refused(tmp_path, source, needle)


def test_rows_swallowed_by_an_unterminated_quote_are_named_in_the_summary(tmp_path: Path) -> None:
    source = tmp_path / "odd.csv"
    source.write_text('id;text\n1;hello\n2;"unterminated\nyou idiot\nfine\n', encoding="utf-8")
    out = tmp_path / "out.csv"
    result = run_cli("score", str(source), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "2 rows read: 1 scored" in result.stdout
    assert "line 3: unterminated quote (lines 3-5 consumed)" in result.stdout
    assert "warning: 1 rejected row(s) took several lines each" in result.stdout
