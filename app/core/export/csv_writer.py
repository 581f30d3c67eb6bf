"""Spreadsheet export (CSV and XLSX) that cannot attack the person who opens it.

Scored text is attacker-controlled: a message such as ``=HYPERLINK("http://evil","click")`` or
``=cmd|' /C calc'!A0`` becomes a live formula when a CSV is opened in Excel or LibreOffice. Every
CSV *text* cell therefore goes through `neutralize_cell`, which prefixes a single quote when the
text could be read as a formula (plain numbers such as "-1.5" excepted: they cannot run). XLSX
text goes into string cells, which are never evaluated, exactly as it was (`export_xlsx`).
Numbers produced by the app (scores, row numbers) are written as numbers and never altered.

This module is the public entry point: the CSV writer and its provenance sidecar live here; the
XLSX writer (`XlsxExportWriter`, with its overflow and sheet-splitting rules) lives in
`app.core.export.xlsx_writer` and the cell rules shared by both in `app.core.export.cells`. Both are
re-exported, so callers only ever import ``app.core.export.csv_writer``.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from itertools import compress
from numbers import Integral, Real
from operator import itemgetter, methodcaller
from pathlib import Path
from typing import Any, TextIO

from app.core.common.atomic import atomic_write_json
from app.core.export.cells import (
    FORMULA_TRIGGERS,
    SUSPECT_FIRST,
    is_bool,
    neutralize_cell,
    number_text,
)
from app.core.export.xlsx_writer import (
    EXCEL_MAX_CELL_CHARS,
    EXCEL_MAX_ROWS,
    OVERFLOW_MARKER,
    OVERFLOW_SHEET,
    PROVENANCE_SHEET,
    XlsxExportWriter,
    XlsxStats,
)

__all__ = [
    "EXCEL_MAX_CELL_CHARS",
    "EXCEL_MAX_ROWS",
    "FORMULA_TRIGGERS",
    "OVERFLOW_MARKER",
    "OVERFLOW_SHEET",
    "PROVENANCE_SHEET",
    "CsvExportWriter",
    "XlsxExportWriter",
    "XlsxStats",
    "neutralize_cell",
    "write_provenance_sidecar",
]

# Lone surrogates (undecodable input bytes) cannot be encoded as UTF-8.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class CsvExportWriter:
    """Streams rows to an open text file as a formula-safe CSV.

    `fh` should come from ``atomic_open(path)`` (UTF-8, ``newline=""``). The file starts with a
    UTF-8 BOM so Excel detects the encoding, every field is quoted and lines end with CRLF. Lone
    surrogates (undecodable input bytes) cannot be encoded as UTF-8 and become U+FFFD.
    """

    # How a float score is written: repr is the shortest text that reads back as the same float.
    float_text = staticmethod(repr)

    def __init__(self, fh: TextIO, header: Sequence[str]) -> None:
        self._width = len(header)
        self._rows_written = 0
        self.surrogates_replaced = 0
        fh.write("\ufeff")
        self._fh = fh
        self._writer = csv.writer(fh, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        self._writer.writerow([self._text(str(name)) for name in header])

    @property
    def rows_written(self) -> int:
        """Data rows written so far (the header is not counted)."""
        return self._rows_written

    def _text(self, value: str) -> str:
        value = neutralize_cell(value)
        if not value.isascii() and _LONE_SURROGATE.search(value):
            value, count = _LONE_SURROGATE.subn("\ufffd", value)
            self.surrogates_replaced += count
        return value

    def _cell(self, value: object) -> str:
        kind = type(value)  # exact types first: the common cells skip the generic checks
        if kind is str:
            return self._text(value)  # type: ignore[arg-type]
        if kind is float:
            return "" if value != value else self.float_text(value)  # NaN stays blank
        if value is None:
            return ""
        number = number_text(value)
        if number is not None:
            return number
        return self._text(value if isinstance(value, str) else str(value))

    def write_row(self, row: Sequence[object]) -> None:
        if len(row) != self._width:
            raise ValueError(f"row has {len(row)} cells, the header has {self._width}")
        self._writer.writerow([self._cell(value) for value in row])
        self._rows_written += 1

    def write_rows(self, rows: Iterable[Sequence[object]]) -> None:
        """Write many rows: the same bytes as `write_row` on each, built column by column.

        Most columns need no per-cell work: a text column with no cell starting like a formula
        and no lone surrogate is written as it is, and a column of floats is one C-level map of
        repr. The quoted lines are then assembled with C-level joins, as csv's QUOTE_ALL writer
        would write them (tests compare the two byte for byte), and written in one call."""
        rows = rows if isinstance(rows, list) else list(rows)
        if not rows:
            return
        widths = set(map(len, rows))
        if widths != {self._width}:
            bad = next(w for w in widths if w != self._width)
            raise ValueError(f"row has {bad} cells, the header has {self._width}")
        columns = []
        for column in zip(*rows, strict=True):
            cells = self._column(column)
            if '"' in "".join(cells):  # quotes are doubled inside a quoted field
                cells = list(map(_DOUBLE_QUOTES, cells))
            columns.append(cells)
        body = '"\r\n"'.join(map('","'.join, zip(*columns, strict=True)))
        self._fh.write('"' + body + '"\r\n')
        self._rows_written += len(rows)

    def _column(self, column: tuple[object, ...]) -> Sequence[str]:
        types = set(map(type, column))
        if types == {str}:
            texts: tuple[str, ...] = column  # type: ignore[assignment]
            joined = "".join(texts)
            clean = joined.isascii() or not _LONE_SURROGATE.search(joined)
            if not clean:  # lone surrogates to replace (and count): every cell, one by one
                return list(map(self._text, texts))
            firsts = list(map(_FIRST_CHAR, texts))
            if not set(firsts) & SUSPECT_FIRST:
                return texts  # nothing to neutralise: every cell as it is
            cells = list(texts)  # only cells starting like a formula need `neutralize_cell`
            for i in compress(range(len(cells)), map(SUSPECT_FIRST.__contains__, firsts)):
                cells[i] = neutralize_cell(cells[i])
            return cells
        if types == {float} and not any(map(math.isnan, column)):  # type: ignore[arg-type]
            return list(map(self.float_text, column))
        return list(map(self._cell, column))


_DOUBLE_QUOTES = methodcaller("replace", '"', '""')
_FIRST_CHAR = itemgetter(slice(0, 1))


def _jsonable(value: object) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if is_bool(value):
        return bool(value)
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, Real):
        number = float(value)
        return number if math.isfinite(number) else None  # NaN/inf are not valid JSON
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)  # Path, Decimal, UUID...


def write_provenance_sidecar(csv_path: Path, provenance: Mapping[str, object]) -> Path:
    """Write ``<csv_path>.provenance.json`` atomically and return its path.

    A CSV has no room for metadata, so the model version, threshold, input SHA-256, time, etc.
    travel next to it. Values JSON cannot hold (paths, datetimes, numpy numbers) are converted.
    """
    sidecar = Path(f"{csv_path}.provenance.json")
    atomic_write_json(sidecar, _jsonable(provenance))
    return sidecar
