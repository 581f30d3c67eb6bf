"""Rows copied as TSV: one cell per value, one line per row, never a formula."""

from __future__ import annotations

import csv
import io

from hypothesis import given
from hypothesis import strategies as st

from app.core.results.tsv import rows_tsv, tsv_cell


def _parse(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE))


def test_breaks_and_tabs_become_spaces_and_formulas_are_quoted():
    text = rows_tsv(
        ["Line", "Score", "Text"],
        [[2, "0.9312", "you\tstupid\r\nmoron"], [3, "", '=HYPERLINK("x")'], [4, "0.1", "-5"]],
    )
    assert text.endswith("\n")
    assert _parse(text) == [
        ["Line", "Score", "Text"],
        ["2", "0.9312", "you stupid moron"],
        ["3", "", '\'=HYPERLINK("x")'],
        ["4", "0.1", "-5"],  # a plain number stays a number
    ]
    assert tsv_cell("a\u2028b\x85c") == "a b c"


@given(st.lists(st.lists(st.text(), min_size=3, max_size=3), max_size=5))
def test_every_row_is_one_line_of_exactly_the_header_width(rows):
    text = rows_tsv(["a", "b", "c"], rows)
    lines = text.split("\n")
    assert lines[-1] == "" and len(lines) == len(rows) + 2
    assert text.splitlines() == lines[:-1]  # no line break of any kind inside a cell
    assert all(line.count("\t") == 2 for line in lines[:-1])
