"""Stream CSV logs of any size; every record is either accepted or rejected with its line number.

Pipeline: binary file -> incremental decoder (bad bytes become U+DCxx, see `ESCAPE_ERRORS`) ->
physical lines (split on \\r\\n, \\r or \\n; read in 64 KiB blocks) -> `csv.reader`, strict ->
one verdict per record. pandas is not used because it cannot say which physical line a bad
record came from, and the product's rule is that bad input is reported, never silently dropped.

Ledger: for the records after the header, rows_read == accepted + rejected + blank_lines.
Memory is bounded by `chunk_rows` records, two read blocks and one record, never by the file:
fields are capped by `csv.field_size_limit` and lines by `_Lines.line_limit`, so a file without
line breaks or with an unterminated quote cannot make us hold gigabytes.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections import deque
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import BinaryIO

from app.core.csv_sniff import (
    DELIMITERS,
    ESCAPE_ERRORS,
    SEP_LINE,
    CsvFormat,
    QuoteScanner,
    SniffResult,
    choose_text_column,
    detect_delimiter,
    detect_encoding,
    encoding_label,
    sniff,
)
from app.core.errors import InputError, JobCancelled

__all__ = [
    "Chunk",
    "CsvFormat",
    "RejectedRow",
    "SniffResult",
    "choose_text_column",
    "detect_delimiter",
    "detect_encoding",
    "iter_chunks",
    "read_header",
    "sniff",
]

DEFAULT_MAX_FIELD_CHARS = 1_048_576
# Bytes per read, and the granularity of `bytes_read`. 64 KiB reads as fast as 1 MiB and keeps
# memory low: a block of short lines held as str objects weighs ~10x its bytes.
BLOCK_BYTES = 1 << 16
EXCERPT_CHARS = 120

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)")  # one physical line, the way csv ends records
_EOL = re.compile(r"[\r\n]")
_BAD = re.compile("[\x00\udc00-\udcff]")
_UNDECODABLE = re.compile("[\udc00-\udcff]")
_RENDER = {0xDC00 + b: f"\\x{b:02x}" for b in range(256)} | {0: "\\x00", 10: "\\n", 13: "\\r"}


@dataclass
class RejectedRow:
    line: int  # 1-based physical line where the record starts (the sep= line is line 1)
    reason: str
    excerpt: str = ""  # start of the raw record; bad bytes as \xNN, line breaks as \r \n


@dataclass
class Chunk:
    rows: list[list[str]]  # accepted records, each exactly len(header) fields
    lines: list[int]  # start line of each accepted record
    rejected: list[RejectedRow]
    blank_lines: int
    bytes_read: int  # bytes consumed from the file so far, for progress


def _excerpt(text: str) -> str:
    return text[:EXCERPT_CHARS].rstrip("\r\n").translate(_RENDER)


class _Lines:
    """Physical lines of a binary file, handed out block by block, with per-line flags.

    Lines with NUL or undecodable characters are flagged (one regex search per block finds them
    cheaply). A line longer than `line_limit` is streamed past and replaced by a stand-in with the
    same quoting effect, so the reader stays in step; its record is then rejected by its flag.
    """

    def __init__(
        self,
        raw: BinaryIO,
        fmt: CsvFormat,
        name: str,
        line_limit: int,
        block_bytes: int,
        cancelled: Callable[[], bool] | None,
    ) -> None:
        self.raw, self.fmt, self.name = raw, fmt, name
        self.decoder = codecs.getincrementaldecoder(fmt.encoding)(ESCAPE_ERRORS)
        self.label = encoding_label(fmt.encoding).replace(" (BOM)", "")
        self.line_limit, self.block_bytes, self.cancelled = line_limit, block_bytes, cancelled
        self.bytes_read, self.final, self.started = 0, False, False
        self.lines_out = 0  # lines handed out so far
        self.record_end = 0  # last line of the last finished record, kept up to date by _Reader
        self.flags: deque[tuple[int, str, str | None]] = deque()  # (line, reason, excerpt)
        self.block: list[str] = []
        self.prev: list[str] = []
        self.block_first = self.prev_first = 1
        self.iter: Iterator[str] = chain.from_iterable(self._blocks())

    def _read_text(self) -> str:
        if self.cancelled is not None and self.cancelled():
            raise JobCancelled("Reading was cancelled.")
        data = self.raw.read(self.block_bytes)
        self.bytes_read += len(data)
        self.final = not data
        text = self.decoder.decode(data, self.final)
        if not self.started and text:
            self.started = True
            text = text.removeprefix("\ufeff")  # a BOM the chosen codec did not consume
        return text

    def _blocks(self) -> Iterator[list[str]]:
        # carry: the unfinished last line (it never holds a line break, bar a trailing \r);
        # pieces: more of that line; rest: text after a skipped long line, still to be split.
        carry, pieces, pending, rest = "", [], 0, None
        while True:
            new = rest if rest is not None else "" if self.final else self._read_text()
            rest = None
            if not (self.final or carry.endswith("\r") or "\n" in new or "\r" in new):
                # Still inside one line: collect without re-joining, or long lines go quadratic.
                pieces.append(new)
                pending += len(new)
                if len(carry) + pending > self.line_limit:
                    rest = yield from self._long_line(carry + "".join(pieces))
                    carry, pieces, pending = "", [], 0
                continue
            text = carry + "".join(pieces) + new
            pieces, pending = [], 0
            # Split only up to the last line break (the regex would rescan an unfinished tail
            # from every position) and, until EOF, hold back a trailing \r: it may be the first
            # half of a \r\n split across reads.
            end = max(text.rfind("\n"), text.rfind("\r")) + 1
            if not self.final and end == len(text) and text.endswith("\r"):
                end = max(text.rfind("\n", 0, end - 1), text.rfind("\r", 0, end - 1)) + 1
            lines, carry = _LINE.findall(text, 0, end), text[end:]
            if self.final and carry:
                lines.append(carry)
            if lines:
                yield self._publish(lines, text)
            if self.final:
                return
            if len(carry) > self.line_limit:
                rest = yield from self._long_line(carry)
                carry = ""

    def _publish(self, lines: list[str], text: str) -> list[str]:
        if self.lines_out == 0 and self.fmt.sep_line:
            if not SEP_LINE.fullmatch(lines[0]):
                raise InputError(f"{self.name} does not start with a 'sep=' line any more.")
            self.lines_out = self.record_end = 1  # the sep= line counts, as a finished record
            lines = lines[1:]
            if not lines:
                return lines
        first = self.lines_out + 1
        if _BAD.search(text):
            for i, line in enumerate(lines):
                if _UNDECODABLE.search(line):
                    self.flags.append((first + i, f"undecodable bytes for {self.label}", None))
                elif "\x00" in line:
                    self.flags.append((first + i, "contains NUL character", None))
        self.prev, self.prev_first = self.block, self.block_first
        self.block, self.block_first = lines, first
        self.lines_out += len(lines)
        return lines

    def _long_line(self, text: str) -> Generator[list[str], None, str]:
        """Skip one over-long line in bounded pieces; return the text that follows it.

        This generator only runs once the reader has consumed every earlier line, so the line
        continues an open record (and starts inside quotes) exactly when record_end < lines_out.
        """
        number, quoted = self.lines_out + 1, self.record_end < self.lines_out
        scan = QuoteScanner(self.fmt.delimiter, self.line_limit, quoted)
        excerpt, rest = text[:EXCERPT_CHARS], ""
        while (eol := _EOL.search(text)) is None and not self.final:
            scan.feed(text)
            text = self._read_text()
        if eol is None:
            scan.feed(text)
        else:
            scan.feed(text[: eol.start()])
            rest = text[eol.end() :]
            while text[eol.start()] == "\r" and not rest and not self.final:
                rest = self._read_text()
            if text[eol.start()] == "\r" and rest.startswith("\n"):
                rest = rest[1:]
        ended = scan.end_line()
        reason = f"line {number} is longer than {self.line_limit:,} characters"
        self.flags.append((number, reason, excerpt))
        yield self._publish(['"\n' if quoted == ended else "\n"], "")  # same quote effect
        return rest

    def line(self, number: int) -> str | None:
        """Text of a recently handed-out line, or None if it is no longer kept."""
        for lines, first in ((self.block, self.block_first), (self.prev, self.prev_first)):
            if first <= number < first + len(lines):
                return lines[number - first]
        return None

    def span(self, start: int, end: int) -> list[str] | None:
        """Lines start..end if still kept; `end` is always in the newest block (just read)."""
        tail = self.block[: end - self.block_first + 1]
        if start >= self.block_first:
            return tail[start - self.block_first :]
        if self.prev and start >= self.prev_first:
            return self.prev[start - self.prev_first :] + tail
        return None


class _Reader:
    """One pass over a file: the header first, then records grouped into chunks."""

    def __init__(
        self,
        path: str | Path,
        fmt: CsvFormat,
        max_field_chars: int,
        block_bytes: int,
        cancelled: Callable[[], bool] | None,
    ) -> None:
        self.name, self.fmt, self.max_field_chars = str(path), fmt, max_field_chars
        self.cancelled = cancelled
        if fmt.delimiter not in DELIMITERS:
            raise InputError(f"Unsupported delimiter {fmt.delimiter!r}; use , ; tab or |.")
        try:
            codecs.lookup(fmt.encoding)
        except LookupError:
            raise InputError(f"Unknown text encoding {fmt.encoding!r}.") from None
        self.raw = _open(path)
        pre_header_limit = max(4 * max_field_chars, 1 << 20)
        self.src = _Lines(self.raw, fmt, self.name, pre_header_limit, block_bytes, cancelled)
        # csv's limit is process-wide; it is what bounds a field's memory, e.g. when an
        # unterminated quote would otherwise swallow the rest of a huge file. It is never set
        # below the default, so other csv users in the process (exports, tests) are unaffected;
        # a smaller per-call limit is enforced on the parsed row instead (see `chunks`).
        csv.field_size_limit(max(max_field_chars, DEFAULT_MAX_FIELD_CHARS))
        self.check_lengths = max_field_chars < DEFAULT_MAX_FIELD_CHARS
        self.reader = csv.reader(self.src.iter, delimiter=fmt.delimiter, strict=True)
        self.offset = 1 if fmt.sep_line else 0  # lines the reader did not count
        self.ncols = 0

    def __enter__(self) -> _Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.raw.close()

    def check_cancelled(self) -> None:
        if self.cancelled is not None and self.cancelled():
            raise JobCancelled("Reading was cancelled.")

    def _pop_flags(self, end: int) -> list[tuple[int, str, str | None]]:
        flags, out = self.src.flags, []
        while flags and flags[0][0] <= end:
            out.append(flags.popleft())
        return out

    def _reject(self, start: int, end: int, reason: str, excerpt: str | None = None) -> RejectedRow:
        if end > start and "lines" not in reason:
            reason += f" (lines {start}-{end})"
        text = excerpt if excerpt is not None else self.src.line(start) or ""
        return RejectedRow(start, reason, _excerpt(text))

    def _flagged(self, start: int, end: int) -> RejectedRow:
        line, reason, excerpt = self._pop_flags(end)[0]
        return self._reject(start, end, reason, excerpt if line == start else None)

    def read_header(self) -> list[str]:
        """Return the first non-blank record; InputError if there is none or it is unusable."""
        src, reader = self.src, self.reader
        while True:
            try:
                row = next(reader)
            except StopIteration:
                if src.bytes_read == 0:
                    raise InputError(f"{self.name} is empty.") from None
                raise InputError(f"{self.name} has no header line.") from None
            except csv.Error as exc:
                bad = self._resync(exc)
            else:
                end = reader.line_num + self.offset
                start, src.record_end = src.record_end + 1, end
                if not (src.flags and src.flags[0][0] <= end):
                    if row:
                        break
                    continue
                bad = self._flagged(start, end)
            where = f"the header (line {bad.line}) of {self.name}"
            raise InputError(f"Cannot read {where}: {bad.reason}.")
        self.ncols = len(row)
        # The longest legal line: every field at the limit, all quotes doubled.
        src.line_limit = self.ncols * (2 * self.max_field_chars + 3) + 2
        return row

    def _resync(self, exc: csv.Error) -> RejectedRow:
        """Reject the record csv.Error interrupted and skip to its real end.

        The C reader resets and restarts at the next physical line, which is wrong if the error
        struck inside a quoted field spanning lines. `QuoteScanner` finds the true end (or EOF,
        for an unterminated quote); the lines it skips past the reader are counted in `offset`.
        """
        src, message = self.src, str(exc)
        end = self.reader.line_num + self.offset
        start = src.record_end + 1
        known, first_line = src.span(start, end), src.line(start)  # before skipping on
        scan = QuoteScanner(self.fmt.delimiter, self.max_field_chars, known is None and end > start)
        ended = True
        for line in known or [src.line(end) or ""]:
            scan.feed(line.rstrip("\r\n"))
            ended = scan.end_line()
        while not ended and (more := next(src.iter, None)) is not None:
            self.offset, end = self.offset + 1, end + 1
            scan.feed(more.rstrip("\r\n"))
            ended = scan.end_line()
        src.record_end = end
        # The record is rejected for the csv error; flags only matter for a stand-in's excerpt.
        excerpt = next((e for n, _, e in self._pop_flags(end) if n == start and e), first_line)
        if not ended or "unexpected end of data" in message:
            where = f"lines {start}-{end} consumed" if end > start else f"line {start}"
            reason = f"unterminated quote ({where})"
        elif "field larger than field limit" in message:
            which = f"field {scan.overflow}" if known is not None and scan.overflow else "a field"
            reason = f"{which} is longer than {self.max_field_chars:,} characters"
        elif "NUL" in message:
            reason = "contains NUL character"
        elif "expected after" in message:
            reason = f"bad quoting: {message}"
        else:
            reason = f"unreadable record: {message}"
        return self._reject(start, end, reason, excerpt)

    def _long_field(self, row: list[str]) -> str:
        for index, value in enumerate(row, 1):
            if len(value) > self.max_field_chars:
                return f"field {index} is longer than {self.max_field_chars:,} characters"
        return ""

    def chunks(self, chunk_rows: int) -> Generator[Chunk, None, None]:
        """Yield records in chunks of `chunk_rows` (accepted + rejected + blank) records."""
        src, reader, flags, ncols = self.src, self.reader, self.src.flags, self.ncols
        chunk, count = Chunk([], [], [], 0, 0), 0
        while True:
            off = self.offset
            try:
                for row in reader:  # the hot loop: keep it to a few cheap operations per row
                    if count >= chunk_rows:
                        chunk.bytes_read = src.bytes_read
                        yield chunk
                        self.check_cancelled()
                        chunk, count = Chunk([], [], [], 0, 0), 0
                    count += 1
                    end = reader.line_num + off
                    start, src.record_end = src.record_end + 1, end
                    if flags and flags[0][0] <= end:
                        chunk.rejected.append(self._flagged(start, end))
                    elif len(row) == ncols:
                        if self.check_lengths and (long := self._long_field(row)):
                            chunk.rejected.append(self._reject(start, end, long))
                            continue
                        chunk.rows.append(row)
                        chunk.lines.append(start)
                    elif not row:
                        chunk.blank_lines += 1
                    else:
                        reason = f"expected {ncols} fields, found {len(row)}"
                        chunk.rejected.append(self._reject(start, end, reason))
            except csv.Error as exc:
                error = exc
            else:
                break
            if count >= chunk_rows:
                chunk.bytes_read = src.bytes_read
                yield chunk
                self.check_cancelled()
                chunk, count = Chunk([], [], [], 0, 0), 0
            count += 1
            chunk.rejected.append(self._resync(error))
        if count:
            chunk.bytes_read = src.bytes_read
            yield chunk


def _open(path: str | Path) -> BinaryIO:
    try:
        return open(path, "rb")  # closed by _Reader.__exit__
    except OSError as exc:
        raise InputError(f"Cannot open {path}: {exc.strerror or exc}.") from None


def read_header(path: str | Path, fmt: CsvFormat) -> list[str]:
    """The header exactly as in the file (first non-blank record after any sep= line)."""
    with _Reader(path, fmt, DEFAULT_MAX_FIELD_CHARS, BLOCK_BYTES, None) as reader:
        return reader.read_header()


def iter_chunks(
    path: str | Path,
    fmt: CsvFormat,
    *,
    header_expected: list[str] | None = None,
    chunk_rows: int = 10_000,
    max_field_chars: int = DEFAULT_MAX_FIELD_CHARS,
    cancelled: Callable[[], bool] | None = None,
    block_bytes: int = BLOCK_BYTES,
) -> Generator[Chunk, None, None]:
    """Stream the data records of `path` in chunks; see the module docstring for the ledger.

    `header_expected` guards against the file changing between `sniff` and the run. `cancelled`
    is polled when the caller asks for the next chunk and before each block is read; True raises
    JobCancelled. A header-only file yields nothing. `block_bytes` tunes the read size (tests use
    tiny reads to exercise block boundaries).
    """
    if chunk_rows < 1 or max_field_chars < 1 or block_bytes < 1:
        raise ValueError("chunk_rows, max_field_chars and block_bytes must be positive")
    with _Reader(path, fmt, max_field_chars, block_bytes, cancelled) as reader:
        reader.check_cancelled()
        header = reader.read_header()
        if header_expected is not None and header != list(header_expected):
            raise InputError(f"The header of {path} changed since it was previewed; reopen it.")
        yield from reader.chunks(chunk_rows)
