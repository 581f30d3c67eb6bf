"""XLSX export that cannot attack the person who opens it (see `app.core.export.csv_writer` for why).

* Text is always written with ``write_string``: the workbook contains no formula cells at all,
  and a string cell is never evaluated, so the analyst's text is stored exactly as it was (no
  "'" prefix). A text that would be a formula if typed (`needs_text_format`) also gets the "@"
  (Text) number format, so editing the cell in Excel keeps it text instead of running it.
* An input cell whose text a spreadsheet shows back unchanged as a number ("-1.5", "20") is a
  numeric cell (`export_cells.xlsx_number`); every other input cell stays text, exactly.
* Characters XML 1.0 forbids are replaced by U+FFFD and counted, so the file always opens.
* Excel cells hold at most 32,767 UTF-16 units and Excel would silently cut longer text. Instead,
  such a cell keeps as much as fits followed by `OVERFLOW_MARKER`, and the rest is listed, in
  parts, on a sheet named `OVERFLOW_SHEET` (columns: sheet, cell, column, part, text). The full
  text is: main cell minus the trailing marker + each part, in part order. The overflow sheet is
  written at close() (a streaming sheet cannot gain columns or header cells afterwards), so
  sheet order is always: data sheets, overflow, provenance.
* A data sheet holds at most `EXCEL_MAX_ROWS` rows (header included); the export continues on
  "scored (2)", "scored (3)", ..., each with the header repeated.
* A sheet holds at most `EXCEL_MAX_COLS` columns: `check_xlsx_width` refuses a wider job before
  any work is done.
* Each data sheet opens ready to work with: the header row is frozen, has an autofilter over
  every written row and column, and columns are as wide as their content (`MIN_COL_WIDTH` to
  `MAX_COL_WIDTH` characters), measured on the header and the sheet's first
  `WIDTH_SAMPLE_ROWS` rows only, so a million-row export streams as fast as before.
"""

from __future__ import annotations

import json
import math
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from numbers import Integral, Real
from pathlib import Path
from typing import Any, TextIO

import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell

from app.core.common.errors import InputError
from app.core.common.private_tmp import PrivateTmp
from app.core.export.cells import (
    is_bool,
    neutralize_cell,
    number_text,
    shown_width,
    xlsx_number,
)

EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_CELL_CHARS = 32_767  # counted in UTF-16 code units, like Excel does
EXCEL_MAX_COLS = 16_384
OVERFLOW_SHEET = "overflow"
PROVENANCE_SHEET = "provenance"
OVERFLOW_MARKER = f" […continued in sheet '{OVERFLOW_SHEET}'…]"
_OVERFLOW_HEADER = ("sheet", "cell", "column", "part", "text")
MIN_COL_WIDTH, MAX_COL_WIDTH = 8, 60  # in characters, as Excel counts column widths
WIDTH_SAMPLE_ROWS = 500  # rows per sheet measured for the column widths
_FILTER_BUTTON = 3  # characters the autofilter's drop-down button covers in a header cell

# XML 1.0 forbids C0 controls other than TAB/LF/CR, U+FFFE/U+FFFF and lone surrogates.
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def check_xlsx_width(columns: int, source: object) -> None:
    """InputError naming `source` (the user's input file) when a sheet cannot hold `columns`
    columns (the input's plus ours): said before scoring, not after an hour of it."""
    if columns > EXCEL_MAX_COLS:
        raise InputError(
            f"{source}: {columns:,} columns (the input's and the score columns) do not fit an "
            f"XLSX sheet (at most {EXCEL_MAX_COLS:,}); write CSV instead (-o name.csv)"
        )


def needs_text_format(text: str) -> bool:
    """True if typing `text` into a cell would make a formula: such cells get the Text format."""
    return neutralize_cell(text) != text


@dataclass(frozen=True)
class XlsxStats:
    """What `XlsxExportWriter.close` did, for the job summary and the log."""

    rows_written: int  # data rows, headers excluded
    sheets: int  # data sheets ("scored", "scored (2)", ...), overflow/provenance excluded
    illegal_chars_replaced: int  # characters replaced by U+FFFD because XML forbids them
    overflowed_cells: int  # cells longer than Excel's limit, continued on the overflow sheet
    illegal_cells: int = 0  # cells (header and data) holding such characters


CONTROL_KEY = "control_characters_replaced"  # the provenance key of `control_note`


def control_note(cells: int) -> str:
    """What an XLSX export changed, for the summary, the status and the provenance: cells of
    the data sheets (headers included). The provenance sheet never has a replaced cell (its
    controls are escaped, `_escape_illegal`), so this count is the file's whole count."""
    noun = "cell" if cells == 1 else "cells"
    return (
        f"{cells:,} {noun} in the data sheets had control characters replaced with U+FFFD "
        "(XLSX cannot hold them)"
    )


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # surrogate escape of the undecodable byte 0xNN (a file name)
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _escape_illegal(text: str) -> str:
    """`text` with each character XLSX cannot hold written as \\xNN (\\uNNNN), as the rejected-rows
    file writes controls: the provenance (an input named ``we\\x01ird.csv``) keeps what it says,
    and it never changes a cell, so it cannot make the count it states untrue."""
    return _ILLEGAL_XML.sub(_escape_char, text)


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _split_utf16(text: str, first: int, rest: int) -> list[str]:
    """Cut `text` into parts of at most `first`, then `rest`, UTF-16 units, never inside a
    character (astral characters such as emoji count as two units in Excel)."""
    parts: list[str] = []
    pos, limit = 0, first
    while pos < len(text):
        end = min(len(text), pos + limit)
        excess = _utf16_len(text[pos:end]) - limit
        while excess > 0:  # each removed astral char frees two units, so this terminates
            end -= excess
            excess = _utf16_len(text[pos:end]) - limit
        parts.append(text[pos:end])
        pos, limit = end, rest
    return parts


# Why a big buffer: XlsxWriter streams each finished row into an 8 KiB-buffered temp file, i.e.
# one write() every ~20 rows. Each write releases and retakes the GIL so fast that a waiting GUI
# thread never wins it: CPython only forces a hand-over when the GIL was *not* released during
# its 5 ms wait, so a thread doing frequent tiny I/O starves the others (the "convoy effect").
# Measured: 40-60 ms GUI stalls on every 2,000-row chunk; with 1 MiB, none.
_ROW_BUFFER_BYTES = 1 << 20


def _enlarge_row_buffer(ws: Any) -> None:
    """Reopen a constant_memory sheet's row file with a large buffer (before any row is
    written to it). Relies on XlsxWriter internals, so it does nothing if they change."""
    fh = getattr(ws, "row_data_fh", None)
    name = getattr(ws, "row_data_filename", None)
    if getattr(ws, "fh", None) is not fh or fh is None or name is None:
        return
    if fh.tell() != 0:  # rows already written: keep them
        return
    fh.close()
    ws.row_data_fh = open(name, "w+", encoding="utf-8", buffering=_ROW_BUFFER_BYTES)  # noqa: SIM115
    ws.fh = ws.row_data_fh


def _provenance_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, ensure_ascii=False, default=str)
    number = number_text(value)
    return number if number is not None else str(value)


class XlsxExportWriter:
    """Streams rows into an XLSX file with bounded memory (XlsxWriter ``constant_memory``).

    Meant to write to the temporary path of ``atomic_path``. Call `close` with the provenance to
    finish the workbook; on failure call `abort` (or use the writer as a context manager) so the
    writer's own temporary files are removed at once rather than when garbage-collected.
    """

    def __init__(
        self,
        path: Path,
        header: Sequence[str],
        *,
        sheet_name: str = "scored",
        max_rows_per_sheet: int = EXCEL_MAX_ROWS,
    ) -> None:
        if not 2 <= max_rows_per_sheet <= EXCEL_MAX_ROWS:
            raise ValueError(f"max_rows_per_sheet must be in 2..{EXCEL_MAX_ROWS}")
        if not 1 <= len(header) <= EXCEL_MAX_COLS:
            raise ValueError(f"the header must have 1..{EXCEL_MAX_COLS} columns")
        if sheet_name.casefold() in (OVERFLOW_SHEET, PROVENANCE_SHEET):
            raise ValueError(f"sheet name {sheet_name!r} is reserved")
        self._header = [str(name) for name in header]
        self._base_name = sheet_name
        self._max_rows = max_rows_per_sheet
        self._rows = self._illegal = self._overflowed = self._sheets = self._illegal_cells = 0
        self._sheet_row = max_rows_per_sheet  # forces the first sheet on the first row
        self._widths: list[int] = []
        self._closed = False
        # A private folder for XlsxWriter's per-sheet temp files and our overflow spool, so
        # abort() can remove everything in one go.
        # Private and under the app's data folder (`app.core.common.private_tmp`): it holds scored text.
        self._tmpdir = PrivateTmp()
        self._spool: TextIO | None = None
        self._workbook = xlsxwriter.Workbook(
            str(path),
            {
                "constant_memory": True,
                "strings_to_formulas": False,
                "strings_to_numbers": False,
                "strings_to_urls": False,
                "nan_inf_to_errors": False,
                "tmpdir": self._tmpdir.name,
            },
        )
        # The "@" (Text) format: a formula-looking text stays text when the cell is edited.
        self._text_format = self._workbook.add_format({"num_format": "@"})
        try:
            self._start_sheet()  # fails early on an invalid sheet name
        except BaseException:
            self.abort()
            raise

    @property
    def rows_written(self) -> int:
        return self._rows

    def __enter__(self) -> XlsxExportWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if self._closed:
            return
        self.abort()
        if exc_type is None:  # an unfinished workbook must not be moved into place
            raise RuntimeError("XlsxExportWriter left without close(provenance)")

    def _fit_columns(self, ws: Any, widths: Sequence[int], last_row: int) -> None:
        """Column widths from `widths` (bounded) and an autofilter over rows 0..`last_row`."""
        for col, width in enumerate(widths):
            ws.set_column(col, col, max(MIN_COL_WIDTH, min(MAX_COL_WIDTH, width + 1)))
        ws.autofilter(0, 0, last_row, len(widths) - 1)

    def _end_sheet(self) -> None:
        if self._sheets:
            self._fit_columns(self._ws, self._widths, self._sheet_row - 1)

    def _start_sheet(self) -> None:
        self._end_sheet()
        self._sheets += 1
        name = self._base_name
        if self._sheets > 1:
            suffix = f" ({self._sheets})"
            name = self._base_name[: 31 - len(suffix)] + suffix  # Excel's 31-char name limit
        self._ws = self._workbook.add_worksheet(name)
        _enlarge_row_buffer(self._ws)
        self._ws.freeze_panes(1, 0)
        for col, title in enumerate(self._header):
            # Count the header's replacements once, not once per repeated header.
            text = self._prepare(title, name, 0, col, title, count=self._sheets == 1)
            self._put_text(self._ws, 0, col, text, self._text_format)
        self._sheet_row = 1
        self._widths = [shown_width(t, MAX_COL_WIDTH) + _FILTER_BUTTON for t in self._header]

    @staticmethod
    def _put_text(ws: Any, row: int, col: int, text: str, text_format: Any = None) -> None:
        cell_format = text_format if text_format is not None and needs_text_format(text) else None
        if ws.write_string(row, col, text, cell_format) != 0:  # -1 out of range, -2 truncated
            raise RuntimeError(f"XlsxWriter refused cell {xl_rowcol_to_cell(row, col)}")

    def _prepare(
        self, text: str, sheet: str, row: int, col: int, column: str, *, count: bool = True
    ) -> str:
        """Make XML-safe and, if too long, spool the tail to the overflow sheet."""
        if _ILLEGAL_XML.search(text):
            text, replaced = _ILLEGAL_XML.subn("\ufffd", text)
            self._illegal += replaced if count else 0
            self._illegal_cells += 1 if count else 0
        if len(text) <= EXCEL_MAX_CELL_CHARS // 2 or _utf16_len(text) <= EXCEL_MAX_CELL_CHARS:
            return text
        head, *tail = _split_utf16(
            text, EXCEL_MAX_CELL_CHARS - len(OVERFLOW_MARKER), EXCEL_MAX_CELL_CHARS - 1
        )
        if self._spool is None:
            self._spool = tempfile.TemporaryFile(
                "w+", encoding="utf-8", newline="\n", dir=self._tmpdir.name
            )
        label = _ILLEGAL_XML.sub("\ufffd", column)[:255]
        cell = xl_rowcol_to_cell(row, col)
        for part, chunk in enumerate(tail, start=1):
            # One JSON document per line: newlines inside the text are escaped by json.
            self._spool.write(json.dumps([sheet, cell, label, part, chunk]) + "\n")
        self._overflowed += 1 if count else 0
        return head + OVERFLOW_MARKER

    def _write_cell(self, row: int, col: int, value: object) -> None:
        ws = self._ws
        if value is None:
            return
        if is_bool(value):
            ws.write_boolean(row, col, bool(value))
        elif isinstance(value, Integral):
            integer = int(value)
            if abs(integer) <= 2**53:
                ws.write_number(row, col, integer)
            else:  # a double would silently lose digits; keep the exact value as text
                self._put_text(ws, row, col, str(integer))
        elif isinstance(value, Real):
            number = float(value)
            # XlsxWriter writes 16 significant digits, which turns values within a hair of the
            # double maximum into an overflow; those (and inf) are kept as exact text instead.
            if math.isinf(number) or (abs(number) > 1e308 and math.isinf(float(f"{number:.16G}"))):
                self._put_text(ws, row, col, repr(number))  # "inf"/"-inf", as in the CSV
            elif not math.isnan(number):  # NaN stays blank, as in the CSV
                ws.write_number(row, col, number)
        else:
            text = value if isinstance(value, str) else str(value)
            shown = xlsx_number(text)
            if shown is not None:  # a spreadsheet shows it back exactly as the text: a number
                ws.write_number(row, col, shown)
                return
            prepared = self._prepare(text, ws.name, row, col, self._header[col])
            self._put_text(ws, row, col, prepared, self._text_format)

    def write_row(self, row: Sequence[object]) -> None:
        if self._closed:
            raise RuntimeError("the workbook is already closed")
        if len(row) != len(self._header):
            raise ValueError(f"row has {len(row)} cells, the header has {len(self._header)}")
        if self._sheet_row >= self._max_rows:
            self._start_sheet()
        if self._sheet_row <= WIDTH_SAMPLE_ROWS:
            widths = self._widths
            for col, value in enumerate(row):
                widths[col] = max(widths[col], shown_width(value, MAX_COL_WIDTH))
        for col, value in enumerate(row):
            self._write_cell(self._sheet_row, col, value)
        self._sheet_row += 1
        self._rows += 1

    def write_rows(self, rows: Iterable[Sequence[object]]) -> None:
        for row in rows:
            self.write_row(row)

    def close(self, provenance: Mapping[str, object]) -> XlsxStats:
        """Add the overflow sheet (if needed) and the provenance sheet, then write the file."""
        if self._closed:
            raise RuntimeError("the workbook is already closed")
        try:
            self._finish(provenance)
        except BaseException:
            self.abort()
            raise
        self._closed = True
        self._cleanup()
        return XlsxStats(
            self._rows, self._sheets, self._illegal, self._overflowed, self._illegal_cells
        )

    def _finish(self, provenance: Mapping[str, object]) -> None:
        # Prepare provenance first: a huge value may itself need the overflow sheet, which has
        # to be added before the provenance sheet so that provenance stays last.
        pairs = [("key", "value")]
        pairs += [
            (_escape_illegal(str(key)), _escape_illegal(_provenance_text(value)))
            for key, value in provenance.items()
        ]
        if self._illegal_cells:  # the data's changed cells, said where the file says what it is
            pairs.append((CONTROL_KEY, control_note(self._illegal_cells)))
        cells = [
            (
                self._prepare(key, PROVENANCE_SHEET, row, 0, "key"),
                self._prepare(value, PROVENANCE_SHEET, row, 1, "value"),
            )
            for row, (key, value) in enumerate(pairs)
        ]
        self._end_sheet()
        if self._spool is not None:
            ws = self._workbook.add_worksheet(OVERFLOW_SHEET)
            ws.freeze_panes(1, 0)
            for col, title in enumerate(_OVERFLOW_HEADER):
                self._put_text(ws, 0, col, title)
            self._spool.seek(0)
            for row, line in enumerate(self._spool, start=1):
                sheet, cell, label, part, text = json.loads(line)
                for col, value in enumerate((sheet, cell, label)):
                    self._put_text(ws, row, col, value, self._text_format)
                ws.write_number(row, 3, part)
                self._put_text(ws, row, 4, text, self._text_format)
        ws = self._workbook.add_worksheet(PROVENANCE_SHEET)
        widths = [0, 0]
        for row, pair in enumerate(cells):
            for col, text in enumerate(pair):
                self._put_text(ws, row, col, text, self._text_format)
                widths[col] = max(widths[col], shown_width(text, MAX_COL_WIDTH))
        for col, width in enumerate(widths):
            ws.set_column(col, col, max(MIN_COL_WIDTH, min(MAX_COL_WIDTH, width + 1)))
        self._workbook.close()

    def abort(self) -> None:
        """Give up on the workbook and delete its temporary files (the output path is the
        caller's: ``atomic_path`` removes it). Safe to call more than once."""
        self._closed = True
        for ws in self._workbook.worksheets():
            # XlsxWriter keeps one open temp file per sheet until close(); close it so the
            # folder can be removed on Windows too. Best effort: this is an internal attribute.
            fh = getattr(ws, "row_data_fh", None)
            if fh is not None:
                with suppress(Exception):
                    fh.close()
        self._cleanup()

    def _cleanup(self) -> None:
        if self._spool is not None:
            self._spool.close()
        self._tmpdir.cleanup()
