"""Rows as tab-separated text for the clipboard: what a spreadsheet or a ticket pastes cleanly.

One line per row, one tab between cells, a header first. A tab or a line break inside a text
would split it into two cells or two rows, so each becomes a space. A spreadsheet evaluates a
pasted "=..." as it does a CSV cell, so cells get the CSV export's formula guard
(`export.cells.neutralize_cell`): what the analyst pastes is what the file said, never a call.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from app.core.export.cells import neutralize_cell

_BREAKS = re.compile(r"\r\n|[\t\r\n\v\f\x1c-\x1e\x85\u2028\u2029]")  # what splits cells or lines


def tsv_cell(value: object) -> str:
    """`value` as one spreadsheet cell: breaks and tabs become spaces, formulas are quoted."""
    return neutralize_cell(_BREAKS.sub(" ", str(value)))


def rows_tsv(header: Sequence[object], rows: Iterable[Sequence[object]]) -> str:
    """The header and `rows` as TSV, each line ending in a newline (as spreadsheets copy)."""
    lines = ["\t".join(tsv_cell(v) for v in header)]
    lines.extend("\t".join(tsv_cell(v) for v in row) for row in rows)
    return "\n".join(lines) + "\n"
