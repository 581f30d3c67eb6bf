"""Write a corpus of malformed or awkward CSV files, each with the verdict a correct reader gives.

Usage: ``python tests/make_csv_corpus.py OUTDIR`` writes the files and ``expectations.json``.
Importable: ``write_corpus(outdir)`` writes them and returns one `Expectation` per file.

Every expectation is computed from how the file was built, never from what the reader returns:
each record is added together with its verdict (accepted with its exact field values, rejected
with a reason keyword, or blank), and its start line is counted from the text written so far.
This module deliberately does not import the app, so it is an independent oracle.
"""

from __future__ import annotations

import codecs
import json
import re
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

_BREAKS = re.compile(r"\r\n|\r|\n")
# Codecs whose BOM is written once, by hand, in front of the parts encoded without it.
_BOMS = {"utf-8-sig": (codecs.BOM_UTF8, "utf-8"), "utf-16": (codecs.BOM_UTF16_LE, "utf-16-le")}

H = ["id", "text", "label"]  # the usual header
FIELDS = "expected 3 fields, found"


@dataclass
class Expectation:
    name: str  # file name inside the corpus folder
    checks: str  # what the file is about
    encoding: str = ""  # what sniff must detect; "" for unreadable files
    delimiter: str = ","
    sep_line: bool = False
    header: list[str] = field(default_factory=list)
    text_column: str = "text"
    rows: list[tuple[int, list[str]]] = field(default_factory=list)  # (start line, fields)
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (start line, reason keyword)
    blank: int = 0  # blank lines after the header
    unreadable: str = ""  # keyword of the one InputError, for a file that cannot be read

    @property
    def records(self) -> int:
        """Records after the header: the `rows_read` of a correct ledger."""
        return len(self.rows) + len(self.rejected) + self.blank


class Builder:
    """Accumulates text and raw-byte parts of one file together with its expectation."""

    def __init__(
        self,
        name: str,
        checks: str,
        encoding: str = "utf-8",
        delimiter: str = ",",
        newline: str = "\r\n",
        sep_line: bool = False,
    ) -> None:
        self.newline = newline
        self.parts: list[str | bytes] = []
        self.counted = ""  # text so far; a bytes part counts as that many non-break characters
        self.exp = Expectation(name, checks, encoding, delimiter, sep_line)
        if sep_line:
            self.raw(f"sep={delimiter}{newline}")

    @property
    def line(self) -> int:
        """Physical line on which the next record starts."""
        return 1 + len(_BREAKS.findall(self.counted))

    def raw(self, *parts: str | bytes) -> Builder:
        """Add text or bytes without any verdict (a header written by hand, pre-header blanks)."""
        for part in parts:
            if isinstance(part, bytes):
                assert b"\n" not in part and b"\r" not in part, part
                self.counted += "\x01" * len(part)
            else:
                self.counted += part
            self.parts.append(part)
        return self

    def format(self, values: list[str]) -> str:
        delim = self.exp.delimiter
        out = []
        for value in values:
            if any(c in value for c in (delim, '"', "\r", "\n")) or (
                value == "" and len(values) == 1
            ):
                value = '"' + value.replace('"', '""') + '"'
            out.append(value)
        return delim.join(out)

    def header(self, names: list[str], text: str | None = None) -> Builder:
        self.exp.header = list(names)
        return self.raw((self.format(names) if text is None else text) + self.newline)

    def row(self, values: list[str], newline: str | None = None) -> Builder:
        """A well-formed record that must come back with exactly these values."""
        return self.raw_row(self.format(values), values, newline)

    def raw_row(self, text: str, values: list[str], newline: str | None = None) -> Builder:
        """A record written by hand (`text`) that must be accepted as `values`."""
        self.exp.rows.append((self.line, list(values)))
        return self.raw(text, self.newline if newline is None else newline)

    def bad(self, *parts: str | bytes, why: str, end: bool = True) -> Builder:
        """A raw record that must be rejected, on its start line, for a reason containing `why`."""
        self.exp.rejected.append((self.line, why))
        self.raw(*parts)
        return self.raw(self.newline) if end else self

    def blank(self, count: int = 1) -> Builder:
        for _ in range(count):
            self.exp.blank += 1
            self.raw(self.newline)
        return self

    def data(self) -> bytes:
        bom, codec = _BOMS.get(self.exp.encoding, (b"", self.exp.encoding))
        out = bytearray(bom)
        for part in self.parts:
            out += part if isinstance(part, bytes) else part.encode(codec)
        return bytes(out)


class Unreadable:
    """A file that cannot be read at all: sniff and run_batch give one InputError."""

    def __init__(self, name: str, checks: str, data: bytes, keyword: str) -> None:
        self.exp = Expectation(name, checks, encoding="", unreadable=keyword)
        self._data = data

    def data(self) -> bytes:
        return self._data


def _std(b: Builder, rows: list[list[str]]) -> Builder:
    b.header(H)
    for values in rows:
        b.row(values)
    return b


ACCENTED = [
    ["1", "café au lait", "0"],
    ["2", "naïve señor, déjà vu", "1"],
    ["3", "über straße", "0"],
    ["4", "日本語のテキスト 🙂", "1"],
]


def _encodings() -> list[Builder | Unreadable]:
    cp = _std(Builder("cp1252.csv", "Windows-1252 text decoded", "cp1252"), [])
    cp.row(["1", "café", "0"]).row(["2", "€5 off “today” – naïve", "1"])
    cp.bad("3,undefined ", b"\x81", " byte,0", why="undecodable bytes for Windows-1252")
    cp.row(["4", "Straße ß ÿ", "0"])
    trunc = _std(
        Builder("utf16le_truncated.csv", "UTF-16 cut mid code unit", "utf-16-le"), ACCENTED[:2]
    )
    trunc.bad("3,cut,1".encode("utf-16-le")[:-1], why="undecodable bytes for UTF-16", end=False)
    return [
        _std(Builder("utf8_plain.csv", "UTF-8 without BOM"), ACCENTED),
        _std(Builder("utf8_bom.csv", "UTF-8 with BOM, BOM not in column 1", "utf-8-sig"), ACCENTED),
        cp,
        _std(Builder("utf16_bom.csv", "UTF-16 with BOM", "utf-16"), ACCENTED),
        _std(
            Builder("utf16_bom_tab.txt", "Excel 'Unicode text': UTF-16 BOM, tabs", "utf-16", "\t"),
            [*ACCENTED, ["5", "tab\tinside, quoted", "0"]],
        ),
        _std(Builder("utf16le_nobom.csv", "UTF-16 LE without BOM", "utf-16-le"), ACCENTED),
        _std(Builder("utf16be_nobom.csv", "UTF-16 BE without BOM", "utf-16-be"), ACCENTED),
        trunc,
    ]


def _delimiters() -> list[Builder | Unreadable]:
    commas = [["1", "hello, world", "0"], ["2", "no comma", "1"], ["3", "a, b, c", "0"]]
    sep = _std(Builder("sep_semicolon.csv", "Excel sep=; line", delimiter=";", sep_line=True), [])
    sep.row(["1", "a, b", "0"]).bad("2;short", why="expected 3 fields, found 2")
    sep.row(["3", "after the bad row", "1"])
    return [
        _std(Builder("semicolon.csv", "';' delimiter", delimiter=";"), commas),
        _std(Builder("tab.tsv", "tab delimiter", delimiter="\t"), commas),
        _std(Builder("pipe.csv", "'|' delimiter", delimiter="|"), commas),
        sep,
        _std(
            Builder("sep_pipe_bom.csv", "BOM then sep=|", "utf-8-sig", "|", sep_line=True), commas
        ),
    ]


def _lines() -> list[Builder | Unreadable]:
    quoted = [
        ["1", "two\nlines", "0"],
        ["2", "crlf\r\ninside", "1"],
        ["3", "cr\ronly", "0"],
        ["4", "many\n\n\nbreaks\n", "1"],
        ["5", "after the multi-line ones", "0"],
    ]
    mixed = Builder("mixed_line_endings.csv", "CRLF, LF and CR in one file").header(H)
    mixed.row(["1", "crlf", "0"], "\r\n").row(["2", "lf", "1"], "\n").row(["3", "cr", "0"], "\r")
    mixed.row(["4", "quoted\nlf", "1"], "\n").row(["5", "last", "0"], "\r\n")
    eof = _std(Builder("no_final_newline.csv", "last record without a line break"), ACCENTED[:2])
    eof.raw_row('3,"ends\nhere",0', ["3", "ends\nhere", "0"], newline="")
    blanks = Builder("blank_lines.csv", "blank lines before the header, between and after rows")
    blanks.raw("\r\n\r\n").header(H).blank().row(["1", "a", "0"]).blank(2).row(["2", "b", "1"])
    blanks.bad("   ", why="expected 3 fields, found 1")  # spaces are not a blank line
    blanks.row(["3", "", "0"]).raw_row(",,", ["", "", ""]).blank(3)
    return [
        _std(Builder("quoted_newlines.csv", "newlines inside quoted fields"), quoted),
        _std(Builder("lf_only.csv", "LF line endings", newline="\n"), quoted),
        _std(Builder("cr_only.csv", "CR-only line endings (old Mac)", newline="\r"), quoted),
        mixed,
        eof,
        blanks,
        _std(Builder("header_only.csv", "header and nothing else"), []),
        Builder("header_only_no_newline.csv", "header, no line break", newline="").header(H),
    ]


def _bad_records() -> list[Builder | Unreadable]:
    nul = _std(Builder("nul_bytes.csv", "NUL bytes reject only their record"), ACCENTED[:2])
    nul.bad("3,nul ", b"\x00", " inside,0", why="NUL").row(["4", "next", "1"])
    nul.bad('5,"multi\nline ', b"\x00\x00", ' nul",1', why="NUL").row(["6", "last", "0"])
    many = _std(Builder("too_many_fields.csv", "extra fields rejected, never truncated"), [])
    many.row(["1", "ok", "0"]).bad("2,a,b,0", why=FIELDS + " 4")
    many.bad('3,"x",y,z,0', why=FIELDS + " 5").row(["4", "ok", "1"])
    few = _std(Builder("too_few_fields.csv", "missing fields rejected, never padded"), [])
    few.row(["1", "ok", "0"]).bad("2,short", why=FIELDS + " 2").bad("3", why=FIELDS + " 1")
    few.row(["4", "ok", "1"])
    shift = Builder("unquoted_comma_first_row.csv", "unquoted comma in row 1 would shift columns")
    shift.header(H).bad("1,hello, world,0", why=FIELDS + " 4")
    for i in range(2, 8):
        shift.row([str(i), f"message {i}", str(i % 2)])
    shift2 = Builder("unquoted_comma_last_column.csv", "unquoted comma in the last (text) column")
    shift2.header(["id", "text"]).bad("1,hi, there", why="expected 2 fields, found 3")
    shift2.row(["2", "fine"]).row(["3", "also, fine"])
    open_quote = _std(Builder("unterminated_quote.csv", "quote never closed"), ACCENTED[:3])
    # The lines after the stray quote are records on their own: only its line is rejected.
    open_quote.bad('4,"never closed,0', why="unterminated quote")
    open_quote.row(["5", "not swallowed", "1"]).row(["6", "scored too", "0"])
    to_eof = _std(Builder("unterminated_quote_to_eof.csv", "quote never closed, text after"), [])
    to_eof.row(["1", "ok", "0"]).bad(
        '2,"never closed\r\nmore text\r\nend', why="lines 3-5 consumed"
    )
    quoting = _std(Builder("bad_quoting.csv", "text after a closing quote"), [])
    quoting.row(["1", "ok", "0"]).bad('2,"quoted"junk,1', why="bad quoting")
    quoting.raw_row('3,say "hi" there,0', ["3", 'say "hi" there', "0"])  # quote inside a field
    quoting.row(["4", "ok", "1"])
    bad_byte = _std(Builder("utf8_one_bad_byte.csv", "one bad byte in a UTF-8 file"), [])
    for i in range(1, 16):
        bad_byte.row([str(i), f"crème brûlée {i}", "0"])
    bad_byte.bad("16,broken ", b"\xff", " byte,1", why="undecodable bytes for UTF-8")
    for i in range(17, 31):
        bad_byte.row([str(i), f"déjà vu {i}", "1"])
    long_text = ("é" * 1000 + "x") * 131 + "end"  # 131,134 characters
    huge = _std(Builder("long_field.csv", "a field over 131,072 characters"), [])
    huge.row(["1", long_text, "0"]).row(["2", '"' + long_text + "\n", "1"]).row(["3", "ok", "0"])
    limit = _std(Builder("field_over_limit.csv", "a field over the 1 MiB field limit"), [])
    limit.row(["1", "before", "0"]).bad("2,", "y" * 1_048_577, ",1", why="longer than")
    limit.row(["3", "after", "0"])
    return [nul, many, few, shift, shift2, open_quote, to_eof, quoting, bad_byte, huge, limit]


def _content() -> list[Builder | Unreadable]:
    dup = Builder("duplicate_columns.csv", "duplicate column names keep every column")
    dup.header(["id", "text", "note", "note", "id"])
    dup.row(["1", "a", "n1", "n2", "x"]).row(["2", "b", "n3", "n4", "y"])
    controls = "".join(map(chr, [*range(1, 9), 11, 12, *range(14, 32), 127]))
    ctrl = _std(Builder("control_chars.csv", "control characters kept, not line breaks"), [])
    ctrl.row(["1", "c0:" + controls, "0"]).row(["2", "nel\x85ls\u2028ps\u2029fs\x1cgs\x1d", "1"])
    ctrl.row(["3", "\x0bvertical tab first", "0"]).row(["4", "after", "1"])
    ctrl.bad("5,\x1b[31mred\x1b[0m,\x07bell,0", why=FIELDS + " 4")  # escapes in a rejected row
    bidi = _std(Builder("bidi.csv", "bidirectional override characters kept"), [])
    bidi.row(["1", "invoice\u202efdp.exe", "0"]).row(
        ["2", "\u2066isolate\u2069 \u202dlro\u202c", "1"]
    )
    bidi.row(["3", "\u200fRLM \u200eLRM \u061cALM \u2067x\u2068y\u2069", "0"])
    bidi.bad("4,evil\u202e,gpj.exe,0", why=FIELDS + " 4")  # an override in a rejected row
    trail = Builder("trailing_delimiter.csv", "trailing delimiter: an empty last column")
    trail.header(["id", "text", ""], "id,text,").raw_row("1,a,", ["1", "a", ""])
    trail.raw_row("2,b,", ["2", "b", ""]).bad("3,c", why=FIELDS + " 2").raw_row(
        "4,,", ["4", "", ""]
    )
    trail2 = Builder("trailing_delimiter_rows_only.csv", "trailing delimiter on rows only")
    trail2.header(["id", "text"]).bad("1,a,", why="expected 2 fields, found 3")
    trail2.row(["2", "b"]).bad("3,c,", why="expected 2 fields, found 3").row(["4", "d"])
    formula = [
        "=1+1",
        "+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(A1:A2)",
        '=HYPERLINK("http://evil","click")',
        "\tleading tab",
        " =1+1",
        "\uff1d1+1",
        ";x",
        "plain",
    ]
    form = Builder("formula_text.csv", "formula-looking text neutralised in the output")
    form.header(["id", "text", "label"])
    for i, text in enumerate(formula, 1):
        form.row(["=" + str(i) if i % 2 else str(i), text, "-1" if i % 3 else "@x"])
    return [dup, ctrl, bidi, trail, trail2, form]


def _unreadable() -> list[Builder | Unreadable]:
    return [
        Unreadable("empty.csv", "empty file", b"", "is empty"),
        Unreadable("blank_only.csv", "only blank lines", b"\r\n\n\r\r\n", "no header"),
        Unreadable("bom_only.csv", "only a UTF-8 BOM", codecs.BOM_UTF8, "no header"),
        Unreadable("header_nul.csv", "NUL in the header", b"id,te\x00xt\r\n1,a\r\n", "NUL"),
        Unreadable(
            "header_open_quote.csv",
            "unterminated quote in the header",
            b'id,"text\r\n1,a\r\n2,b\r\n',
            "unterminated quote",
        ),
        Unreadable(
            "workbook.csv", "an Excel workbook named .csv", b"PK\x03\x04" + b"\0" * 40, "ZIP"
        ),
    ]


GROUPS: list[Callable[[], list[Builder | Unreadable]]] = [
    _encodings,
    _delimiters,
    _lines,
    _bad_records,
    _content,
    _unreadable,
]


def build_corpus() -> list[Builder | Unreadable]:
    """Every corpus file, in memory."""
    files = [b for group in GROUPS for b in group()]
    names = [b.exp.name for b in files]
    assert len(set(names)) == len(names), names
    return files


def write_corpus(outdir: str | Path) -> list[Expectation]:
    """Write every corpus file into `outdir` (created if needed); return their expectations."""
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    expectations = []
    for item in build_corpus():
        (out / item.exp.name).write_bytes(item.data())
        expectations.append(item.exp)
    return expectations


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python tests/make_csv_corpus.py OUTDIR", file=sys.stderr)
        return 2
    expectations = write_corpus(argv[0])
    manifest = {e.name: asdict(e) | {"records": e.records} for e in expectations}
    Path(argv[0], "expectations.json").write_text(json.dumps(manifest, indent=1), "utf-8")
    print(f"wrote {len(expectations)} files to {argv[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
