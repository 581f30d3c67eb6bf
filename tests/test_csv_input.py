"""Tests for the streaming CSV reader: every record accepted or rejected with its line."""

from __future__ import annotations

import codecs
import csv
import io
import tempfile
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.common.errors import InputError, JobCancelled
from app.core.csvio.csv_header import dedupe_header
from app.core.csvio.csv_input import (
    CsvFormat,
    choose_text_column,
    detect_delimiter,
    detect_encoding,
    iter_chunks,
    read_header,
    sniff,
)
from tests.csv_corpus import CsvBuilder, check, count_breaks, read_all

BLOCKS = (1 << 20, 1, 7)  # default, and tiny reads that split \r\n, BOMs and UTF-16 code units
WORDS = ["café", "naïve señor", "plain", "über straße", "x,y;z|w\tv", 'say "hi"', ""]


def check_blocks(path: Path, fmt: CsvFormat, builder: CsvBuilder, **kwargs: object) -> None:
    for block in BLOCKS:
        check(path, fmt, builder.expected, block_bytes=block, **kwargs)


def simple(builder: CsvBuilder, n: int = 12) -> CsvBuilder:
    builder.header(["id", "text", "label"])
    for i in range(n):
        builder.row([str(i), WORDS[i % len(WORDS)], str(i % 2)])
    return builder


# --- encodings and delimiters -------------------------------------------------------------


@pytest.mark.parametrize(
    "encoding", ["utf-8", "utf-8-sig", "cp1252", "utf-16", "utf-16-le", "utf-16-be"]
)
def test_encodings_are_detected_and_decoded(tmp_path: Path, encoding: str) -> None:
    b = simple(CsvBuilder(encoding))
    path = b.write(tmp_path / "e.csv")
    result = sniff(path)
    assert result.format.encoding == encoding
    assert result.header == b.expected.header
    assert result.preview == [row for _, row in b.expected.good]
    assert result.size_bytes == len(b.data())
    check_blocks(path, result.format, b)


def test_cp1252_cafe_bytes(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_bytes(b"id,text\r\n1,caf\xe9\r\n")
    result = sniff(path)
    assert result.format.encoding == "cp1252"
    assert read_all(path, result.format)["rows"] == [["1", "café"]]


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_each_delimiter_is_detected(tmp_path: Path, delimiter: str) -> None:
    b = simple(CsvBuilder(delimiter=delimiter))
    path = b.write(tmp_path / "d.csv")
    result = sniff(path)
    assert result.format.delimiter == delimiter
    assert not result.format.sep_line
    check_blocks(path, result.format, b)


def test_sep_line_fixes_delimiter_and_counts_as_line_1(tmp_path: Path) -> None:
    b = simple(CsvBuilder("utf-8-sig", delimiter=";", sep_line=True))
    b.bad("x;y", why="expected 3 fields, found 2")
    b.row(["99", "after", "1"])
    path = b.write(tmp_path / "s.csv")
    result = sniff(path)
    assert result.format == CsvFormat("utf-8-sig", ";", True)
    assert result.format.describe().startswith("UTF-8 (BOM), ';' delimiter")
    assert result.header == b.expected.header
    assert b.expected.good[0][0] == 3  # sep= is line 1, the header line 2
    check_blocks(path, result.format, b)


def test_bom_never_sticks_to_the_first_column_name(tmp_path: Path) -> None:
    b = simple(CsvBuilder("utf-8-sig"))
    path = b.write(tmp_path / "bom.csv")
    assert sniff(path, encoding="utf-8").format.encoding == "utf-8-sig"
    check_blocks(path, CsvFormat("utf-8", ",", False), b)  # a caller that ignored the BOM
    assert read_header(path, CsvFormat("utf-8", ",", False)) == b.expected.header


def test_overrides_win_over_detection(tmp_path: Path) -> None:
    path = tmp_path / "o.csv"
    path.write_bytes(b"a;b,c\r\n1;2,3\r\n")
    result = sniff(path, encoding="UTF8", delimiter=";")
    assert result.format == CsvFormat("utf-8", ";", False)
    assert result.header == ["a", "b,c"]
    with pytest.raises(InputError, match="delimiter"):
        sniff(path, delimiter=":")
    with pytest.raises(InputError, match="encoding"):
        sniff(path, encoding="no-such-codec")


# --- line structure -----------------------------------------------------------------------


@pytest.mark.parametrize("newline", ["\r\n", "\n", "\r"])
def test_line_endings_and_quoted_newlines_keep_line_numbers(tmp_path: Path, newline: str) -> None:
    b = CsvBuilder(newline=newline).header(["id", "text"])
    b.row(["1", "one line"])
    b.row(["2", "two\nlines"])
    b.row(["3", "crlf\r\ninside and\rcr"])
    b.bad("4,x,y", why="expected 2 fields, found 3")
    b.row(["5", "later rows keep their physical line"])
    path = b.write(tmp_path / "n.csv")
    assert [line for line, _ in b.expected.good] == [2, 3, 5, 9]
    check_blocks(path, sniff(path).format, b)


def test_blank_lines_are_counted_not_rejected(tmp_path: Path) -> None:
    b = CsvBuilder().header(["id", "text"]).blank().row(["1", "a"]).blank().blank()
    b.row(["2", "b"]).blank()
    path = b.write(tmp_path / "b.csv")
    check_blocks(path, sniff(path).format, b)


def test_trailing_delimiter_gives_an_empty_last_column(tmp_path: Path) -> None:
    b = CsvBuilder().header(["id", "text", ""])
    for i in range(5):
        b.row([str(i), f"text {i}", ""])
    path = b.write(tmp_path / "t.csv")
    assert path.read_text().splitlines()[0] == "id,text,"
    result = sniff(path)
    assert result.header == ["id", "text", ""]
    check_blocks(path, result.format, b)


def test_header_only_file_yields_nothing(tmp_path: Path) -> None:
    path = CsvBuilder().header(["id", "text"]).write(tmp_path / "h.csv")
    result = sniff(path)
    assert (result.header, result.preview) == (["id", "text"], [])
    assert list(iter_chunks(path, result.format)) == []


def test_empty_file_is_an_input_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(InputError, match="empty.csv is empty"):
        sniff(path)
    with pytest.raises(InputError, match="empty.csv is empty"):
        list(iter_chunks(path, CsvFormat("utf-8", ",", False)))
    with pytest.raises(InputError, match="empty"):
        detect_encoding(b"")


def test_unreadable_files_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="missing.csv"):
        sniff(tmp_path / "missing.csv")
    with pytest.raises(InputError, match="missing.csv"):
        read_header(tmp_path / "missing.csv", CsvFormat("utf-8", ",", False))
    (tmp_path / "book.xlsx").write_bytes(b"PK\x03\x04rest of a zip")
    with pytest.raises(InputError, match="Excel"):
        sniff(tmp_path / "book.xlsx")
    (tmp_path / "blank.csv").write_bytes(b"\r\n\r\n")
    with pytest.raises(InputError, match="no header"):
        sniff(tmp_path / "blank.csv")


def test_bad_header_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_bytes(b"sep=,\r\nid,te\x00xt\r\n1,a\r\n")
    with pytest.raises(InputError, match=r"header \(line 2\) of .*h.csv: contains NUL"):
        read_header(path, CsvFormat("utf-8", ",", True))
    path.write_bytes(b"\r\n\r\nid,te\x00xt\r\n1,a\r\n")  # blank lines before a header are skipped
    with pytest.raises(InputError, match=r"header \(line 3\)"):
        read_header(path, CsvFormat("utf-8", ",", False))
    path.write_bytes(b'id,"text\r\n1,a\r\n')
    with pytest.raises(InputError, match=r"header \(line 1\) .*unterminated quote"):
        read_header(path, CsvFormat("utf-8", ",", False))
    path.write_bytes(b"id,caf\xe9\r\n")
    with pytest.raises(InputError, match="undecodable bytes for UTF-8"):
        read_header(path, CsvFormat("utf-8", ",", False))


def test_header_expected_guards_a_changed_file(tmp_path: Path) -> None:
    path = simple(CsvBuilder()).write(tmp_path / "g.csv")
    fmt = sniff(path).format
    with pytest.raises(InputError, match="changed"):
        list(iter_chunks(path, fmt, header_expected=["id", "body", "label"]))


# --- rejected records ---------------------------------------------------------------------


def test_wrong_field_counts_are_rejected_neighbours_unshifted(tmp_path: Path) -> None:
    b = CsvBuilder().header(["id", "text", "label"]).row(["1", "before", "0"])
    b.bad("2,too,many,fields", why="expected 3 fields, found 4")
    b.row(["3", "between", "1"])
    b.bad("4,few", why="expected 3 fields, found 2")
    b.bad("5", why="expected 3 fields, found 1")
    b.row(["6", "after", "0"])
    path = b.write(tmp_path / "f.csv")
    got = check(path, sniff(path).format, b.expected)
    assert got["rejected"][0].excerpt == "2,too,many,fields"
    check_blocks(path, sniff(path).format, b)


def test_nul_byte_rejects_only_its_row(tmp_path: Path) -> None:
    b = simple(CsvBuilder(), 3).bad("3,nul", b"\x00", "here,1", why="NUL").row(["4", "ok", "1"])
    path = b.write(tmp_path / "z.csv")
    got = check(path, CsvFormat("utf-8", ",", False), b.expected)
    assert "\\x00" in got["rejected"][0].excerpt
    check_blocks(path, CsvFormat("utf-8", ",", False), b)


def test_one_bad_byte_in_utf8_rejects_only_that_row(tmp_path: Path) -> None:
    b = CsvBuilder().header(["id", "text"])
    for i in range(30):
        b.row([str(i), f"crème brûlée {i}"])
    b.bad("30,broken ", b"\xff", " byte", why="undecodable bytes for UTF-8")
    for i in range(31, 60):
        b.row([str(i), f"déjà vu {i}"])
    path = b.write(tmp_path / "u.csv")
    result = sniff(path)
    assert result.format.encoding == "utf-8"
    got = check(path, result.format, b.expected)
    assert got["rejected"][0].excerpt == "30,broken \\xff byte"
    check_blocks(path, result.format, b)


def test_bad_utf16_code_unit_rejects_only_that_row(tmp_path: Path) -> None:
    b = simple(CsvBuilder("utf-16-le"), 4)
    b.bad("4,lone ", "\ud800".encode("utf-16-le", "surrogatepass"), "x,1", why="undecodable")
    b.row(["5", "fine", "1"])
    path = b.write(tmp_path / "u16.csv")
    check_blocks(path, CsvFormat("utf-16-le", ",", False), b)


def test_unterminated_quote_reports_the_lines_it_consumed(tmp_path: Path) -> None:
    b = simple(CsvBuilder(), 3)
    start = b.line
    # No line after the quote is a record on its own, so the record stays rejected whole.
    b.bad('3,"never closed,0\nswallowed\ntoo', why="unterminated quote", end=False)
    path = b.write(tmp_path / "q.csv")
    got = check(path, CsvFormat("utf-8", ",", False), b.expected)
    end = count_breaks(path.read_text()) + 1
    assert got["rejected"][0].reason == f"unterminated quote (lines {start}-{end} consumed)"
    check_blocks(path, CsvFormat("utf-8", ",", False), b)


def test_bad_quoting_is_rejected_and_reading_resumes(tmp_path: Path) -> None:
    b = simple(CsvBuilder(), 2)
    b.bad('2,"quoted"junk,"still\nopen"', why="bad quoting")
    b.row(["3", "next", "1"])
    path = b.write(tmp_path / "bq.csv")
    check_blocks(path, CsvFormat("utf-8", ",", False), b)


@pytest.mark.parametrize("block", [1 << 20, 5])
def test_oversize_fields_are_rejected_and_reading_resumes(tmp_path: Path, block: int) -> None:
    limit = 10
    b = CsvBuilder().header(["id", "text", "label"]).row(["1", "x" * limit, "0"])
    b.bad("2,", "y" * (limit + 1), ",1", why="longer than")
    b.row(["3", "fine", "1"])
    b.bad('4,"', "multi\nline " * 40, '",0', why="longer than")
    b.row(["5", "z" * limit, "1"])
    b.bad("6,", "w" * 5000, ",1", why="longer than")  # a line far over any line limit
    b.row(["7", "last", "0"])
    b.bad('8,"st\n', "v" * 500, '",1', why="longer than")  # only its 2nd line is too long
    b.bad('9,"', '""' * (limit + 1), '",0', why="longer than")  # "" inside quotes is one char
    b.row(["10", "end", "1"])
    path = b.write(tmp_path / "big.csv")
    got = check(path, sniff(path).format, b.expected, max_field_chars=limit, block_bytes=block)
    assert got["rejected"][-2].excerpt == '8,"st'  # the record's start, not its long line
    if block == 1 << 20:  # the whole record is in memory: the field is named
        named = [r.reason for r in got["rejected"] if r.reason.startswith("field 2 is longer")]
        assert len(named) >= 3 and got["rejected"][-1].reason == named[-1]


def test_field_over_csv_default_limit_is_accepted(tmp_path: Path) -> None:
    long_text = "é" * 131_073  # one more than csv's default field_size_limit
    b = CsvBuilder().header(["id", "text"]).row(["1", long_text]).row(["2", "short"])
    b.row(["3", '"' + long_text[:1000] + "\n"])
    path = b.write(tmp_path / "long.csv")
    check(path, sniff(path).format, b.expected)


def test_file_without_line_breaks_is_streamed_in_bounded_pieces(tmp_path: Path) -> None:
    b = CsvBuilder().header(["id", "text"])
    b.bad("1,", "a" * 200_000, why="longer than", end=False)
    path = b.write(tmp_path / "oneline.csv")
    got = check(path, sniff(path).format, b.expected, max_field_chars=100, block_bytes=4096)
    assert got["rejected"][0].excerpt == ("1," + "a" * 200_000)[:120]


def test_memory_stays_bounded_on_pathological_files(tmp_path: Path) -> None:
    """Peak memory is set by the field and line limits, not by the file: tripling the file
    (no line breaks at all, or a quote left open to the end) leaves the peak where it was."""

    def peak_for(data: bytes) -> int:
        path = tmp_path / "p.csv"
        path.write_bytes(data)
        tracemalloc.start()
        try:
            got = read_all(path, CsvFormat("utf-8", ",", False), block_bytes=1 << 16)
        finally:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        assert len(got["rejected"]) == 1
        return peak

    for size in (10_000_000, 30_000_000):
        no_line_breaks = b"id,text\n1," + b"a" * size
        open_quote = b'id,text\n0,ok\n1,"' + (b"x" * 999 + b"\n") * (size // 1000)
        for data in (no_line_breaks, open_quote):
            peak = peak_for(data)
            assert peak < 16_000_000, (size, peak)  # a few multiples of the 1 MiB field limit


# --- chunks, progress, cancel -------------------------------------------------------------


def test_chunking_gives_the_same_rows_as_one_chunk(tmp_path: Path) -> None:
    b = simple(CsvBuilder(), 100)
    path = b.write(tmp_path / "c.csv")
    fmt = sniff(path).format
    whole = check(path, fmt, b.expected)
    small = check(path, fmt, b.expected, chunk_rows=7)
    assert (small["rows"], small["lines"]) == (whole["rows"], whole["lines"])
    sizes = [len(c.rows) + len(c.rejected) + c.blank_lines for c in small["chunks"]]
    assert sizes == [7] * (100 // 7) + [100 % 7]
    progress = [c.bytes_read for c in small["chunks"]]
    assert progress == sorted(progress) and progress[-1] == path.stat().st_size


def test_cancel_raises_job_cancelled(tmp_path: Path) -> None:
    path = simple(CsvBuilder(), 100).write(tmp_path / "x.csv")
    fmt = sniff(path).format
    seen: list[int] = []  # the user presses Cancel while the first chunk is being scored
    with pytest.raises(JobCancelled):
        for chunk in iter_chunks(path, fmt, chunk_rows=10, cancelled=lambda: bool(seen)):
            seen.append(len(chunk.rows))
    assert seen == [10]
    with pytest.raises(JobCancelled):  # also while reading blocks, before any chunk
        next(iter_chunks(path, fmt, cancelled=lambda: True, block_bytes=64))


# --- detection helpers --------------------------------------------------------------------


def test_detect_encoding_rules() -> None:
    assert detect_encoding(codecs.BOM_UTF8 + b"a,b") == "utf-8-sig"
    assert detect_encoding(codecs.BOM_UTF16_LE + "a,b".encode("utf-16-le")) == "utf-16"
    assert detect_encoding(codecs.BOM_UTF16_BE + "a,b".encode("utf-16-be")) == "utf-16"
    assert detect_encoding("id,text\r\n1,hi\r\n".encode("utf-16-le")) == "utf-16-le"
    assert detect_encoding("id,text\r\n1,hi\r\n".encode("utf-16-be")) == "utf-16-be"
    cut = "ab,€".encode()[:-1]  # a sample that ends inside a multi-byte character
    assert detect_encoding(cut) == "utf-8"
    assert detect_encoding("naïve,café".encode("cp1252")) == "cp1252"


def test_detect_delimiter_respects_quotes_and_ties() -> None:
    assert detect_delimiter('a;b\n"x;y";z\n"1;2";3\n') == ";"
    assert detect_delimiter('a,b\n"x;y;z",1\n"p;q;r",2\n') == ","
    assert detect_delimiter("a;b,c\n1;2,3\n") == ","  # a perfect tie goes to the comma
    assert detect_delimiter("single column\nvalues\n") == ","


def test_choose_text_column_rules() -> None:
    header = ["ID", " Message ", "score", "notes"]
    preview = [["1", "hi", "0.5", "a much longer free text note"], ["2", "yo", "0.1", "more"]]
    assert choose_text_column(header, preview, "notes") == "notes"
    assert choose_text_column(header, preview, "message") == " Message "
    with pytest.raises(InputError, match="'score'"):
        choose_text_column(header, preview, "missing")
    assert choose_text_column(header, preview) == " Message "
    assert choose_text_column(["id", "score", "notes"], [r[:1] + r[2:] for r in preview]) == "notes"
    with pytest.raises(InputError):
        choose_text_column([], [])
    with pytest.raises(InputError):
        choose_text_column(["id", "score"], [["1", "2.5"], ["2", "3,5"]])


def test_duplicate_column_names_are_renamed_and_the_first_is_chosen(tmp_path: Path) -> None:
    # Issue 14: repeated names are made unique (text, text.1: pandas' rule) when the header is
    # read, so the first "text" is the text column (before, no column could be chosen).
    b = CsvBuilder().header(["id", "text", "text"]).row(["1", "a", "b"])
    path = b.write(tmp_path / "dup.csv")
    result = sniff(path)
    assert result.header == ["id", "text", "text.1"]
    assert result.text_column == "text"
    assert result.renamed == "text → text, text.1"
    check(path, result.format, b.expected)
    assert choose_text_column(result.header, result.preview, "text") == "text"
    # a raw header with a repeat (never produced by the reader) still cannot name a column
    with pytest.raises(InputError, match="appears 2 times"):
        choose_text_column(["id", "text", "text"], result.preview)


# --- round trip of random tables ----------------------------------------------------------

ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "cp1252"]
SPECIAL = st.sampled_from(list(',;\t|"\r\n '))
ANY_CHAR = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\ufeff")
CP1252_CHAR = st.sampled_from(
    [bytes([b]).decode("cp1252") for b in range(1, 256) if b not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)]
)


@st.composite
def random_tables(draw: st.DrawFn) -> tuple[str, str, str, list[list[str]], int]:
    encoding = draw(st.sampled_from(ENCODINGS))
    chars = CP1252_CHAR if encoding == "cp1252" else ANY_CHAR
    cell = st.text(st.one_of(SPECIAL, chars), max_size=12)
    ncols = draw(st.integers(1, 5))
    table = draw(st.lists(st.lists(cell, min_size=ncols, max_size=ncols), min_size=1, max_size=15))
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    newline = draw(st.sampled_from(["\r\n", "\n", "\r"]))
    block = draw(st.sampled_from([1, 2, 5, 64, 1 << 20]))
    return encoding, delimiter, newline, table, block


def _roundtrip(case: tuple[str, str, str, list[list[str]], int]) -> None:
    encoding, delimiter, newline, table, block = case
    buf = io.StringIO()
    # Python 3.11's writer leaves a lone \r unquoted unless \r is in the line terminator.
    quoting = csv.QUOTE_MINIMAL if newline == "\r\n" else csv.QUOTE_ALL
    writer = csv.writer(buf, delimiter=delimiter, lineterminator=newline, quoting=quoting)
    lines = []
    for row in table:
        lines.append(1 + count_breaks(buf.getvalue()))
        writer.writerow(row)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.csv"
        path.write_bytes(buf.getvalue().encode(encoding))
        fmt = CsvFormat(encoding, delimiter, False)
        assert read_header(path, fmt) == dedupe_header(table[0])  # names made unique
        got = read_all(path, fmt, block_bytes=block, chunk_rows=4)
    assert got["rejected"] == [] and sum(got["blank"]) == 0
    assert got["rows"] == table[1:]
    assert got["lines"] == lines[1:]


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_tables())
def test_random_tables_round_trip(case: tuple[str, str, str, list[list[str]], int]) -> None:
    _roundtrip(case)


@pytest.mark.slow
@settings(max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_tables())
def test_random_tables_round_trip_long(case: tuple[str, str, str, list[list[str]], int]) -> None:
    _roundtrip(case)


FRAGMENTS = [
    b"a",
    b",",
    b'"',
    b'""',
    b"\r",
    b"\n",
    b"\r\n",
    b"\x00",
    b"\xff",
    b"\xc3\xa9",
    b" ",
    b"xyz" * 3,
]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=60).map(b"".join), st.sampled_from([4, 1000]))
def test_garbage_never_crashes_and_read_size_never_matters(body: bytes, limit: int) -> None:
    """Whatever follows a good header, every record start is reported once, whatever the reads."""
    data = b"h1,h2\n" + body
    physical_lines = 1 + count_breaks(data.decode("latin-1"))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "g.csv"
        path.write_bytes(data)
        fmt = CsvFormat("utf-8", ",", False)
        outcomes = []
        for block in (1 << 20, 1, 3):
            got = read_all(path, fmt, block_bytes=block, max_field_chars=limit, chunk_rows=3)
            starts = sorted(got["lines"] + [r.line for r in got["rejected"]])
            assert len(set(starts)) == len(starts)
            assert all(2 <= line <= physical_lines for line in starts)
            assert all(len(row) == 2 for row in got["rows"])
            rejected = [r.line for r in got["rejected"]]
            outcomes.append((got["rows"], got["lines"], rejected, sum(got["blank"])))
    assert outcomes[1] == outcomes[0] and outcomes[2] == outcomes[0]


def test_small_field_limit_does_not_leak_into_other_csv_users(tmp_path: Path) -> None:
    """csv.field_size_limit is process-wide: a small per-call limit must not lower it."""
    b = CsvBuilder().header(["id", "text"]).row(["1", "ok"])
    b.bad("2,", "abcdefgh", why="longer than")
    path = b.write(tmp_path / "small.csv")
    check(path, sniff(path).format, b.expected, max_field_chars=4)
    assert csv.field_size_limit() >= 131_072  # at least csv's own default


def test_utf16_chosen_for_a_file_without_bom_reads_it(tmp_path: Path) -> None:
    path = tmp_path / "u16.csv"
    path.write_bytes("text,n\nhé,2\n".encode("utf-16-le"))
    result = sniff(path, encoding="utf-16")
    assert result.format.encoding == "utf-16-le"
    assert result.header == ["text", "n"] and result.preview == [["hé", "2"]]


def test_utf16_chosen_for_an_8bit_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "cp.csv"
    path.write_bytes("text,n\nh\xe9,2\n".encode("cp1252"))
    with pytest.raises(InputError, match="does not look like UTF-16"):
        sniff(path, encoding="utf-16")
