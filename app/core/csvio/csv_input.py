"""Stream CSV logs of any size; every record is either accepted or rejected with its line number.

Pipeline: binary file -> incremental decoder (bad bytes become U+DCxx, see `ESCAPE_ERRORS`) ->
physical lines (split on \\r\\n, \\r or \\n; read in 64 KiB blocks) -> `csv.reader`, strict ->
one verdict per record; a failed record that spans lines (a stray quote) is re-read line by
line (`app.core.csvio.csv_recover`), so only its broken lines are rejected. pandas is not used
because it cannot say which physical line a bad record came from, and the product's rule is
that bad input is reported, never silently dropped.

Ledger: for the records after the header, rows_read == accepted + rejected + blank_lines.
Memory is bounded by `chunk_rows` records, two read blocks and one record, never by the file:
fields are capped by `csv.field_size_limit` and lines by `PhysicalLines.line_limit` (see
`app.core.csvio.csv_lines`, which splits the file into lines), so a file without line breaks or with
an unterminated quote cannot make us hold gigabytes.

`sniff` opens a file for a run: the format (`app.core.csvio.csv_sniff.sniff_format`), then the
header and a preview read by this same reader, so the preview shows exactly what a run accepts.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, cast

from app.core.common.errors import InputError
from app.core.common.input_guard import open_input, text_codec
from app.core.csvio.csv_header import dedupe_header, renamed_note
from app.core.csvio.csv_lines import EXCERPT_CHARS, PhysicalLines, raise_if_cancelled
from app.core.csvio.csv_recover import Recovered, recover
from app.core.csvio.csv_sniff import (
    DELIMITERS,
    SNIFF_BYTES,
    CsvFormat,
    QuoteScanner,
    choose_text_column,
    detect_delimiter,
    detect_encoding,
    sniff_format,
)

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

# How an excerpt shows what would otherwise be invisible or misleading: bad bytes as \xNN, line
# breaks as \r \n, other control characters (C0 bar tab, DEL, C1) and the characters that reorder
# or break displayed text (bidi marks, embeddings, overrides, isolates; U+2028/U+2029) as \xNN or
# \uNNNN. A rejected record is attacker-controlled; "abc\u202e..." must not show reversed.
_INVISIBLE = [*range(0x20), 0x7F, *range(0x80, 0xA0), 0x061C, 0x200E, 0x200F, 0x2028, 0x2029]
_INVISIBLE += [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]
_RENDER = (
    {c: f"\\x{c:02x}" if c < 0x80 else f"\\u{c:04x}" for c in _INVISIBLE if c != 9}
    | {0xDC00 + b: f"\\x{b:02x}" for b in range(256)}
    | {10: "\\n", 13: "\\r"}
)
_BAD_BYTES = {0xDC00 + b: f"\\x{b:02x}" for b in range(256)}
# How much of a rejected record's raw text is kept for the rejected-rows export.
RAW_TEXT_CHARS = 2_000


@dataclass(frozen=True)
class SniffResult:
    format: CsvFormat
    header: list[str]
    preview: list[list[str]]  # first data rows that `iter_chunks` accepts
    text_column: str | None  # `choose_text_column`'s pick, None if it found no candidate
    size_bytes: int
    has_records: bool = True  # False: nothing but the header (and blank lines)
    renamed: str = ""  # duplicate names made unique (`csv_header.renamed_note`), "" if none


@dataclass
class RejectedRow:
    line: int  # 1-based physical line where the record starts (the sep= line is line 1)
    reason: str
    excerpt: str = ""  # start of the raw record; bad bytes as \xNN, line breaks as \r \n (_RENDER)
    last: int = 0  # last physical line of the record (0 when built without one: = line)
    text: str = ""  # its raw lines (as far as still kept), at most RAW_TEXT_CHARS; see `_raw_text`
    note: str = ""  # why `text` is only the record's start, when its raw lines were not kept

    def __post_init__(self) -> None:
        self.last = max(self.last, self.line)


@dataclass
class Chunk:
    rows: list[list[str]]  # accepted records, each exactly len(header) fields
    lines: list[int]  # start line of each accepted record
    rejected: list[RejectedRow]
    blank_lines: int
    bytes_read: int  # bytes consumed from the file so far, for progress


def _excerpt(text: str) -> str:
    return text[:EXCERPT_CHARS].rstrip("\r\n").translate(_RENDER)


def _raw_text(lines: list[str]) -> str:
    """A rejected record's raw text for the rejected-rows export: its physical lines as read
    (line breaks kept), at most RAW_TEXT_CHARS, undecodable bytes as \\xNN (they cannot be
    written as text otherwise)."""
    out, size = [], 0
    for line in lines:
        out.append(line[: RAW_TEXT_CHARS - size])
        size += len(out[-1])
        if size >= RAW_TEXT_CHARS:
            break
    return "".join(out).rstrip("\r\n").translate(_BAD_BYTES)


class _Reader:
    """One pass over a file: the header first, then records grouped into chunks."""

    def __init__(
        self,
        path: str | Path,
        fmt: CsvFormat,
        max_field_chars: int,
        block_bytes: int,
        cancelled: Callable[[], bool] | None,
        digest: Any = None,
    ) -> None:
        self.name, self.fmt, self.max_field_chars = str(path), fmt, max_field_chars
        self.cancelled = cancelled
        if fmt.delimiter not in DELIMITERS:
            raise InputError(f"Unsupported delimiter {fmt.delimiter!r}; use , ; tab or |.")
        text_codec(fmt.encoding, path)
        self.raw: BinaryIO = open_input(path)
        if digest is not None:  # provenance hashes exactly the bytes this pass reads
            self.raw = cast(BinaryIO, _Hashing(self.raw, digest))
        pre_header_limit = max(4 * max_field_chars, 1 << 20)
        self.src = PhysicalLines(self.raw, fmt, self.name, pre_header_limit, block_bytes, cancelled)
        # csv's limit is process-wide; it is what bounds a field's memory, e.g. when an
        # unterminated quote would otherwise swallow the rest of a huge file. It is never set
        # below the default, so other csv users in the process (exports, tests) are unaffected;
        # a smaller per-call limit is enforced on the parsed row instead (see `chunks`).
        csv.field_size_limit(max(max_field_chars, DEFAULT_MAX_FIELD_CHARS))
        self.check_lengths = max_field_chars < DEFAULT_MAX_FIELD_CHARS
        self.reader = csv.reader(self.src.iter, delimiter=fmt.delimiter, strict=True)
        self.offset = 1 if fmt.sep_line else 0  # lines the reader did not count
        self.ncols = 0
        self.original_header: list[str] = []  # as in the file, before `dedupe_header`

    def __enter__(self) -> _Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.raw.close()

    def check_cancelled(self) -> None:
        raise_if_cancelled(self.cancelled)

    def _pop_flags(self, end: int) -> list[tuple[int, str, str | None]]:
        flags, out = self.src.flags, []
        while flags and flags[0][0] <= end:
            out.append(flags.popleft())
        return out

    def _reject(self, start: int, end: int, reason: str, excerpt: str | None = None) -> RejectedRow:
        if end > start and "lines" not in reason:
            reason += f" (lines {start}-{end})"
        text = excerpt if excerpt is not None else self.src.line(start) or ""
        # The raw lines while the reader still keeps them; else what is known (a flagged line
        # was not kept whole: its excerpt).
        raw = self.src.span(start, end) if excerpt is None or end > start else None
        kept = _raw_text(raw or [text])
        note = ""
        if raw is None:
            why = reason if excerpt is not None else "its lines were no longer held"
            note = f"raw text not kept: {why}; the first {len(kept):,} characters are shown"
        return RejectedRow(start, reason, _excerpt(text), end, kept, note)

    def _flagged(self, start: int, end: int) -> RejectedRow:
        line, reason, excerpt = self._pop_flags(end)[0]
        return self._reject(start, end, reason, excerpt if line == start else None)

    def _recover(self, start: int, end: int) -> Recovered | None:
        """Re-read a failed multi-line record line by line (`csv_recover`); None: keep it whole."""
        lines = self.src.span(start, end) if end > start and self.ncols else None
        if lines is None:
            return None
        flags = {n: (reason, excerpt) for n, reason, excerpt in self.src.flags if n <= end}
        found = recover(lines, start, self.ncols, self.fmt.delimiter, self.max_field_chars, flags)
        if found is not None:
            self._pop_flags(end)
        return found

    def _add(self, chunk: Chunk, found: Recovered) -> int:
        """Put a recovered record's verdicts in `chunk`; return how many records they are."""
        for line, row in found.rows:
            chunk.rows.append(row)
            chunk.lines.append(line)
        for first, last, reason, excerpt in found.spans:
            chunk.rejected.append(self._reject(first, last, reason, excerpt))
        chunk.blank_lines += found.blank_lines
        return found.records

    def _bad_record(self, chunk: Chunk, start: int, end: int, reason: str | None) -> int:
        """Reject a parsed record (for `reason`, or its flag if None), recovering its lines if
        it spans several; return how many records were added to `chunk`."""
        if (found := self._recover(start, end)) is not None:
            return self._add(chunk, found)
        bad = self._flagged(start, end) if reason is None else self._reject(start, end, reason)
        chunk.rejected.append(bad)
        return 1

    def read_header(self) -> list[str]:
        """Return the first non-blank record, its names made unique (`dedupe_header`);
        InputError if there is none or it is unusable."""
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
        self.original_header = row
        return dedupe_header(row)

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
        src.hold = False  # the lines skipped here are rejected, never re-read: do not keep them
        while not ended and (more := next(src.iter, None)) is not None:
            self.offset, end = self.offset + 1, end + 1
            scan.feed(more.rstrip("\r\n"))
            ended = scan.end_line()
        src.hold, src.record_end = True, end
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

    def _hand_over(self, chunk: Chunk) -> Generator[Chunk, None, Chunk]:
        """Yield a full chunk, stop if the caller cancelled meanwhile, and start the next one."""
        chunk.bytes_read = self.src.bytes_read
        yield chunk
        self.check_cancelled()
        return Chunk([], [], [], 0, 0)

    def chunks(self, chunk_rows: int) -> Generator[Chunk, None, None]:
        """Yield records in chunks of `chunk_rows` (accepted + rejected + blank) records."""
        src, reader, flags, ncols = self.src, self.reader, self.src.flags, self.ncols
        chunk, count = Chunk([], [], [], 0, 0), 0
        while True:
            off = self.offset
            try:
                for row in reader:  # the hot loop: keep it to a few cheap operations per row
                    if count >= chunk_rows:
                        chunk, count = (yield from self._hand_over(chunk)), 0
                    count += 1
                    end = reader.line_num + off
                    start, src.record_end = src.record_end + 1, end
                    if flags and flags[0][0] <= end:
                        count += self._bad_record(chunk, start, end, None) - 1
                    elif len(row) == ncols:
                        if self.check_lengths and (long := self._long_field(row)):
                            count += self._bad_record(chunk, start, end, long) - 1
                            continue
                        chunk.rows.append(row)
                        chunk.lines.append(start)
                    elif not row:
                        chunk.blank_lines += 1
                    else:
                        reason = f"expected {ncols} fields, found {len(row)}"
                        count += self._bad_record(chunk, start, end, reason) - 1
            except csv.Error as exc:
                error = exc
            else:
                break
            if count >= chunk_rows:
                chunk, count = (yield from self._hand_over(chunk)), 0
            count += 1
            start, end = src.record_end + 1, reader.line_num + self.offset
            if (found := self._recover(start, end)) is not None:
                src.record_end = end  # csv restarts at the next line, as the recovery did
                count += self._add(chunk, found) - 1
            else:
                chunk.rejected.append(self._resync(error))
        if count:
            chunk.bytes_read = src.bytes_read
            yield chunk


class _Hashing:
    """A binary file that feeds every byte it reads to a hash (only ``read`` is used)."""

    def __init__(self, raw: BinaryIO, digest: Any) -> None:
        self._raw, self._digest = raw, digest

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self._digest.update(data)
        return data

    def close(self) -> None:
        self._raw.close()


def read_header(path: str | Path, fmt: CsvFormat) -> list[str]:
    """The header (first non-blank record after any sep= line), repeated names made unique."""
    return _headers(path, fmt)[0]


def _headers(path: str | Path, fmt: CsvFormat) -> tuple[list[str], list[str]]:
    """The header with unique names, and as in the file."""
    with _Reader(path, fmt, DEFAULT_MAX_FIELD_CHARS, BLOCK_BYTES, None) as reader:
        header = reader.read_header()
        return header, reader.original_header


def iter_chunks(
    path: str | Path,
    fmt: CsvFormat,
    *,
    header_expected: list[str] | None = None,
    chunk_rows: int = 10_000,
    max_field_chars: int = DEFAULT_MAX_FIELD_CHARS,
    cancelled: Callable[[], bool] | None = None,
    block_bytes: int = BLOCK_BYTES,
    digest: Any = None,
) -> Generator[Chunk, None, None]:
    """Stream the data records of `path` in chunks; see the module docstring for the ledger.

    `header_expected` guards against the file changing between `sniff` and the run. `cancelled`
    is polled when the caller asks for the next chunk and before each block is read; True raises
    JobCancelled. A header-only file yields nothing. `block_bytes` tunes the read size (tests use
    tiny reads to exercise block boundaries). `digest` (a hashlib object) is fed every byte
    read, so a hash of the input describes exactly what was scored.
    """
    if chunk_rows < 1 or max_field_chars < 1 or block_bytes < 1:
        raise ValueError("chunk_rows, max_field_chars and block_bytes must be positive")
    with _Reader(path, fmt, max_field_chars, block_bytes, cancelled, digest) as reader:
        reader.check_cancelled()
        header = reader.read_header()
        if header_expected is not None and header != list(header_expected):
            raise InputError(f"The header of {path} changed since it was previewed; reopen it.")
        yield from reader.chunks(chunk_rows)


def sniff(
    path: str | Path,
    *,
    preview_rows: int = 20,
    encoding: str | None = None,
    delimiter: str | None = None,
) -> SniffResult:
    """Detect the format (unless given), then read the header and a preview; reads about 1 MiB.

    The preview comes from `iter_chunks` itself, so it shows exactly the rows a run accepts.
    """
    fmt, size = sniff_format(path, encoding=encoding, delimiter=delimiter)
    header, original = _headers(path, fmt)
    preview: list[list[str]] = []
    records = False  # any record past the header, accepted or rejected (blank lines are not)
    chunks = iter_chunks(path, fmt, header_expected=header, chunk_rows=1)
    try:
        for chunk in chunks:
            preview.extend(chunk.rows)
            records = records or bool(chunk.rows or chunk.rejected)
            if len(preview) >= preview_rows or chunk.bytes_read >= SNIFF_BYTES:
                records = True  # stopped looking: assume more
                break
    finally:
        chunks.close()
    preview = preview[:preview_rows]
    try:
        text_column: str | None = choose_text_column(header, preview)
    except InputError:
        text_column = None
    renamed = renamed_note(original, header)
    return SniffResult(fmt, header, preview, text_column, size, records, renamed)
