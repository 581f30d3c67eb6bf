"""Physical lines of a CSV file, read in blocks, for `app.core.csvio.csv_input`'s record reader.

`csv.reader` needs an iterator of lines; this one also remembers which lines are bad (NUL,
undecodable bytes, too long) and keeps the last two blocks of lines, and every block of the record
being read, so a rejected record can be reported with its line number and an excerpt of its raw
text, or re-read line by line (`app.core.csvio.csv_recover`).
"""

from __future__ import annotations

import codecs
import re
from collections import deque
from collections.abc import Callable, Generator, Iterator
from itertools import chain
from typing import BinaryIO

from app.core.common.errors import InputError, JobCancelled
from app.core.csvio.csv_sniff import (
    ESCAPE_ERRORS,
    SEP_LINE,
    CsvFormat,
    QuoteScanner,
    encoding_label,
)

EXCERPT_CHARS = 120  # how much of a rejected record is shown

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)")  # one physical line, the way csv ends records
_EOL = re.compile(r"[\r\n]")
_BAD = re.compile("[\x00\udc00-\udcff]")
_UNDECODABLE = re.compile("[\udc00-\udcff]")


def raise_if_cancelled(cancelled: Callable[[], bool] | None) -> None:
    """Raise JobCancelled if the caller's ``cancelled`` poll says so (polled per read block)."""
    if cancelled is not None and cancelled():
        raise JobCancelled("Reading was cancelled.")


class PhysicalLines:
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
        self.record_end = 0  # last line of the last finished record; the reader updates it
        self.flags: deque[tuple[int, str, str | None]] = deque()  # (line, reason, excerpt)
        # (first line, lines) of recent blocks: the last two, plus while `hold` every block of
        # the open record (past record_end). csv bounds that record by its field limit.
        self.kept: deque[tuple[int, list[str]]] = deque()
        self.hold = True
        self.iter: Iterator[str] = chain.from_iterable(self._blocks())

    def _read_text(self) -> str:
        raise_if_cancelled(self.cancelled)
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
        kept = self.kept
        kept.append((first, lines))
        while len(kept) > 2 and (
            not self.hold or kept[0][0] + len(kept[0][1]) <= self.record_end + 1
        ):
            kept.popleft()  # all its lines belong to finished records
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
        for first, lines in self.kept:
            if first <= number < first + len(lines):
                return lines[number - first]
        return None

    def span(self, start: int, end: int) -> list[str] | None:
        """Lines start..end if still kept (all of them), else None."""
        if not self.kept or start < self.kept[0][0]:
            return None
        out = [line for first, lines in self.kept for line in lines[max(start - first, 0) :]]
        return out[: end - start + 1] if len(out) >= end - start + 1 else None
