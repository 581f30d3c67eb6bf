"""Recovery from a bad quote: re-read a failed multi-line record's physical lines one by one.

A stray quote makes csv join the lines after it into one record, which then fails (wrong field
count, EOF inside the quote, a line or field over its limit). Each of those lines is judged on
its own here: a line that is a valid record by itself is accepted; adjacent broken lines (with
blank lines between them) make one rejected span. `app.core.csvio.csv_input` applies the result
only if some line was valid; otherwise the record stays rejected whole, as csv read it.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field


@dataclass
class Recovered:
    rows: list[tuple[int, list[str]]] = field(default_factory=list)  # (line, fields)
    spans: list[tuple[int, int, str, str | None]] = field(default_factory=list)  # rejected
    blank_lines: int = 0

    @property
    def records(self) -> int:
        return len(self.rows) + len(self.spans) + self.blank_lines


def _verdict(text: str, ncols: int, delimiter: str, max_chars: int) -> list[str] | str:
    """The line's fields if it is a valid record on its own, else why not ([] for blank)."""
    try:
        rows = list(csv.reader([text], delimiter=delimiter, strict=True))
    except csv.Error as exc:
        return "unterminated quote" if "unexpected end" in str(exc) else f"bad quoting: {exc}"
    row = rows[0] if len(rows) == 1 else []
    if row and len(row) != ncols:
        return f"expected {ncols} fields, found {len(row)}"
    for index, value in enumerate(row, 1):
        if len(value) > max_chars:
            return f"field {index} is longer than {max_chars:,} characters"
    return row


def recover(
    lines: list[str],
    start: int,
    ncols: int,
    delimiter: str,
    max_chars: int,
    flags: dict[int, tuple[str, str | None]],
) -> Recovered | None:
    """Judge `lines` (numbered from `start`) one by one; None if none is a valid record.

    `flags`: the reader's per-line flags (NUL, undecodable, too long) by line number.
    """
    out, pending = Recovered(), 0
    run: tuple[int, int, str, str | None] | None = None  # the open rejected span
    for number, text in enumerate(lines, start):
        flag = flags.get(number)
        verdict = flag[0] if flag else _verdict(text, ncols, delimiter, max_chars)
        if isinstance(verdict, str):
            if run is None:
                out.blank_lines += pending
                run = (number, number, verdict, flag[1] if flag and flag[1] else text)
            run, pending = (run[0], number, run[2], run[3]), 0
        elif not verdict:
            pending += 1
        else:
            if run is not None:
                out.spans.append(run)
                run = None
            out.blank_lines, pending = out.blank_lines + pending, 0
            out.rows.append((number, verdict))
    if run is not None:
        out.spans.append(run)
    out.blank_lines += pending
    return out if out.rows else None
