"""Build CSV test files record by record, remembering what a correct reader must report.

Each record is added together with its expected verdict, and its physical line number is
computed from the text written so far, so tests never restate what the code returns.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from app.core.csvio.csv_input import CsvFormat, iter_chunks

BREAKS = re.compile(r"\r\n|\r|\n")
BOM_CODECS = {"utf-8-sig": (b"\xef\xbb\xbf", "utf-8"), "utf-16": (b"\xff\xfe", "utf-16-le")}


def count_breaks(text: str) -> int:
    return len(BREAKS.findall(text))


@dataclass
class Expected:
    header: list[str] = field(default_factory=list)
    good: list[tuple[int, list[str]]] = field(default_factory=list)  # (line, row)
    bad: list[tuple[int, tuple[str, ...]]] = field(default_factory=list)  # (line, any of)
    blank: int = 0
    records: int = 0  # data records written after the header


class CsvBuilder:
    """Accumulates text (and raw byte) parts; `write` encodes them into a file."""

    def __init__(
        self,
        encoding: str = "utf-8",
        delimiter: str = ",",
        newline: str = "\r\n",
        sep_line: bool = False,
    ) -> None:
        self.encoding, self.delimiter, self.newline = encoding, delimiter, newline
        self.parts: list[str | bytes] = []
        self.counted = ""  # the text so far, bytes parts shown as one placeholder char each
        self.expected = Expected()
        if sep_line:
            self._add(f"sep={delimiter}{newline}")

    @property
    def line(self) -> int:
        """Physical line the next record starts on."""
        return 1 + count_breaks(self.counted)

    def _add(self, part: str | bytes) -> None:
        if isinstance(part, bytes):
            assert b"\n" not in part and b"\r" not in part
            self.counted += "\x01" * len(part)
        else:
            self.counted += part
        self.parts.append(part)

    def _format(self, row: list[str]) -> str:
        buf = io.StringIO()
        # Python 3.11's writer leaves a lone \r unquoted unless it is in the line terminator.
        needs_all = any("\r" in f or "\n" in f for f in row)
        quoting = csv.QUOTE_ALL if needs_all else csv.QUOTE_MINIMAL
        csv.writer(
            buf, delimiter=self.delimiter, lineterminator=self.newline, quoting=quoting
        ).writerow(row)
        return buf.getvalue()

    def header(self, names: list[str]) -> CsvBuilder:
        self.expected.header = list(names)
        self._add(self._format(names))
        return self

    def row(self, values: list[str]) -> CsvBuilder:
        """A well-formed record that must come back unchanged."""
        self.expected.good.append((self.line, list(values)))
        self.expected.records += 1
        self._add(self._format(values))
        return self

    def bad(self, *parts: str | bytes, why: str | tuple[str, ...], end: bool = True) -> CsvBuilder:
        """A raw record (text and byte parts) that must be rejected for reason `why`."""
        self.expected.bad.append((self.line, (why,) if isinstance(why, str) else why))
        self.expected.records += 1
        for part in parts:
            self._add(part)
        if end:
            self._add(self.newline)
        return self

    def blank(self) -> CsvBuilder:
        self.expected.blank += 1
        self.expected.records += 1
        self._add(self.newline)
        return self

    def data(self) -> bytes:
        # Codecs that write a BOM would write one per part: add it once, by hand.
        bom, encoder = BOM_CODECS.get(self.encoding, (b"", self.encoding))
        out = bytearray(bom)
        for part in self.parts:
            out += part if isinstance(part, bytes) else part.encode(encoder)
        return bytes(out)

    def write(self, path: Path) -> Path:
        path.write_bytes(self.data())
        return path


def read_all(path: Path, fmt: CsvFormat, **kwargs: object) -> dict[str, list]:
    """Run iter_chunks to the end and gather everything it reported."""
    out: dict[str, list] = {"rows": [], "lines": [], "rejected": [], "blank": [], "chunks": []}
    for chunk in iter_chunks(path, fmt, **kwargs):  # type: ignore[arg-type]
        out["rows"] += chunk.rows
        out["lines"] += chunk.lines
        out["rejected"] += chunk.rejected
        out["blank"].append(chunk.blank_lines)
        out["chunks"].append(chunk)
    return out


def check(path: Path, fmt: CsvFormat, expected: Expected, **kwargs: object) -> dict[str, list]:
    """Assert the reader reports exactly `expected`, including the ledger balance."""
    got = read_all(path, fmt, **kwargs)
    assert list(zip(got["lines"], got["rows"], strict=True)) == expected.good
    assert [r.line for r in got["rejected"]] == [line for line, _ in expected.bad]
    for row, (_, reasons) in zip(got["rejected"], expected.bad, strict=True):
        assert any(why in row.reason for why in reasons), (row, reasons)
    assert sum(got["blank"]) == expected.blank
    accounted = len(got["rows"]) + len(got["rejected"]) + sum(got["blank"])
    assert accounted == expected.records  # the ledger: nothing dropped, nothing invented
    return got
