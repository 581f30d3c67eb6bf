"""Adversarial exports: formula injection through every disguise, numbers kept numbers, XLSX text
kept exact, and too-wide XLSX jobs refused before any work (issue 12, "Exports").

Expectations are written from the documented rules (README, "Exports"), not from the code.
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path
from typing import TextIO, cast

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl.utils.escape import unescape

from app.core.batch.run import BatchReport
from app.core.common.atomic import atomic_path
from app.core.common.errors import InputError
from app.core.export.cells import restore_cell
from app.core.export.csv_writer import (
    EXCEL_MAX_CELL_CHARS,
    OVERFLOW_MARKER,
    OVERFLOW_SHEET,
    CsvExportWriter,
    XlsxExportWriter,
    neutralize_cell,
)
from app.core.results.export import export_scored
from tests.cli_runner import run_cli

EXCEL_MAX_COLS = 16_384


def _csv_cells(values: list[str]) -> list[str]:
    """Write `values` as one CSV column and read the cells back."""
    buffer = io.StringIO(newline="")
    CsvExportWriter(cast(TextIO, buffer), ["text"]).write_rows([[v] for v in values])
    rows = list(csv.reader(io.StringIO(buffer.getvalue().lstrip("\ufeff"), newline="")))
    return [row[0] for row in rows[1:]]


def _xlsx_cells(tmp_path: Path, values: list[object], name: str = "out.xlsx") -> list[object]:
    out = tmp_path / name
    with atomic_path(out) as tmp, XlsxExportWriter(tmp, ["text"]) as writer:
        writer.write_rows([[v] for v in values])
        writer.close({"k": "v"})
    _assert_no_formula_elements(out)
    book = openpyxl.load_workbook(out)
    return [row[0] for row in book["scored"].iter_rows(min_row=2, values_only=True)]


def _assert_no_formula_elements(path: Path) -> None:
    with zipfile.ZipFile(path) as book:
        for name in book.namelist():
            if name.startswith("xl/worksheets/"):
                xml = book.read(name).decode("utf-8")
                assert "<f>" not in xml and "<f " not in xml, name


# --- CSV: plain numbers stay numbers ----------------------------------------------------------

PLAIN_NUMBERS = ["-1.5", "-20", "+5", "-1,5", "-5%", "-1e3", "+.5", "-1.234.567,89"]


@pytest.mark.parametrize("number", PLAIN_NUMBERS)
def test_csv_plain_number_is_not_prefixed(number: str) -> None:
    assert _csv_cells([number]) == [number]


# --- CSV: formulas behind invisible characters and look-alike signs ---------------------------

DISGUISED = [
    "\u2003=1+1",  # em space
    "\u200a=1+1",  # hair space
    "\u200b=1+1",  # zero-width space
    "\ufeff=1+1",  # BOM / zero-width no-break space
    "\u2028=1+1",  # line separator
    "\u2029@SUM(A1)",  # paragraph separator
    "\u0085=1+1",  # NEL
    "\x0b=1+1",  # vertical tab
    "\x0c+1+A1",  # form feed
    "\x1c=1+1",  # file separator
    "\u200e=1+1",  # left-to-right mark
    "\u00a0\u2003\u200b=1+1",  # a mix of skipped characters
    "\ufe62A1+1",  # small plus
    "\ufe63A1",  # small hyphen-minus
    "\u2212A1",  # minus sign
    "\ufe66cmd|' /C calc'!A0",  # small equals
    "\ufe6bSUM(A1)",  # small commercial at
    "-1+cmd|' /C calc'!A0",  # a number followed by a formula is not a plain number
]


@pytest.mark.parametrize("text", DISGUISED)
def test_csv_disguised_formula_is_prefixed(text: str) -> None:
    assert _csv_cells([text]) == ["'" + text]


def test_csv_text_already_quoted_before_a_formula_gets_one_more_quote() -> None:
    # Otherwise "'=1+1" (typed by an analyst) and "=1+1" (neutralised) would read back alike.
    assert _csv_cells(["'=1+1", "''@x"]) == ["''=1+1", "'''@x"]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("'=+-@ 1.,e%a\u200b\u2212\ufe62\x0b\t")), max_size=8))
def test_csv_neutralisation_is_reversible(text: str) -> None:
    assert restore_cell(neutralize_cell(text)) == text


# --- XLSX: text exact in string cells, numbers numeric ----------------------------------------

FORMULA_TEXTS = [
    '=HYPERLINK("http://evil","click")',
    "@SUM(1,1)",
    "+1+1",
    "-1+1",
    "\u200b=1+1",
    "\uff1d1+1",
]


@pytest.mark.parametrize("text", FORMULA_TEXTS)
def test_xlsx_formula_text_is_an_exact_string_cell(tmp_path: Path, text: str) -> None:
    out = tmp_path / "out.xlsx"
    with atomic_path(out) as tmp, XlsxExportWriter(tmp, ["text"]) as writer:
        writer.write_rows([[text]])
        writer.close({})
    _assert_no_formula_elements(out)
    cell = openpyxl.load_workbook(out)["scored"]["A2"]
    assert (cell.value, cell.data_type) == (text, "s")
    assert cell.number_format == "@"  # Text format: editing the cell keeps it text


@pytest.mark.parametrize(("text", "number"), [("-1.5", -1.5), ("-20", -20), ("0.25", 0.25)])
def test_xlsx_plain_number_cell_is_numeric(tmp_path: Path, text: str, number: float) -> None:
    assert _xlsx_cells(tmp_path, [text]) == [number]


@pytest.mark.parametrize("text", ["-0", "-007", "-1e3", "+5", "-12345678901234", "-1,5"])
def test_xlsx_number_a_spreadsheet_would_reshow_differently_stays_exact_text(
    tmp_path: Path, text: str
) -> None:
    assert _xlsx_cells(tmp_path, [text]) == [text]


def test_xlsx_overflow_parts_are_exact(tmp_path: Path) -> None:
    text = "=" + "x" * EXCEL_MAX_CELL_CHARS + "=tail"
    out = tmp_path / "long.xlsx"
    with atomic_path(out) as tmp, XlsxExportWriter(tmp, ["text"]) as writer:
        writer.write_rows([[text]])
        writer.close({})
    book = openpyxl.load_workbook(out)
    rows = list(book[OVERFLOW_SHEET].iter_rows(values_only=True))
    assert rows[0][4] == "text"  # no "drop the first ' character" any more
    main = book["scored"]["A2"].value
    assert main.removesuffix(OVERFLOW_MARKER) + "".join(r[4] for r in rows[1:]) == text


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.text(
            alphabet=st.sampled_from(list("'=+-@ 1.,e%ab\u200b\u2212\ufe62\uff1d;")), max_size=8
        ),
        min_size=1,
        max_size=6,
    )
)
def test_xlsx_text_round_trips_exactly(tmp_path_factory: pytest.TempPathFactory, texts) -> None:
    got = _xlsx_cells(tmp_path_factory.mktemp("rt"), texts)
    for text, back in zip(texts, got, strict=True):
        if isinstance(back, int | float):  # only texts a spreadsheet shows back unchanged
            assert float(text) == back and text.lstrip("-")[:1].isdigit()
            assert text != "-0" and not text.endswith(".") and "e" not in text
        else:
            assert unescape(back or "") == text


# --- the whole command: XLSX from `score` -----------------------------------------------------


def test_score_xlsx_keeps_text_exact_and_numbers_numeric(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text('text,amount\n"=1+1 you idiot",-1.5\n"@SUM(A1)",-20\n', encoding="utf-8")
    before = src.read_bytes()
    out = tmp_path / "out.xlsx"
    result = run_cli("score", str(src), "-o", str(out), "--quiet")
    assert result.returncode == 0, result.stderr
    rows = list(openpyxl.load_workbook(out)["scored"].iter_rows(values_only=True))
    assert [r[:2] for r in rows[1:]] == [("=1+1 you idiot", -1.5), ("@SUM(A1)", -20)]
    assert src.read_bytes() == before
    _assert_no_formula_elements(out)


def _wide_csv(path: Path, columns: int) -> bytes:
    header = ",".join(["text", *(f"c{i}" for i in range(1, columns))])
    data = ",".join(["hello there", *("1" for _ in range(1, columns))])
    path.write_text(f"{header}\n{data}\n", encoding="utf-8")
    return path.read_bytes()


def test_score_xlsx_too_wide_is_refused_before_scoring(tmp_path: Path) -> None:
    src = tmp_path / "wide.csv"
    before = _wide_csv(src, EXCEL_MAX_COLS - 3)  # + our 4 columns = 16,385
    out = tmp_path / "out.xlsx"
    result = run_cli("score", str(src), "-o", str(out), "--quiet")
    assert result.returncode == 3
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and len(lines[0]) <= 300 and "Traceback" not in result.stderr
    assert str(src) in lines[0] and "16,385 columns" in lines[0]
    assert src.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wide.csv"]


def test_score_csv_as_wide_is_still_written(tmp_path: Path) -> None:
    src = tmp_path / "wide.csv"
    _wide_csv(src, EXCEL_MAX_COLS - 3)
    out = tmp_path / "out.csv"
    result = run_cli("score", str(src), "-o", str(out), "--quiet")
    assert result.returncode == 0, result.stderr
    assert "16,385 columns" not in result.stderr and out.exists()


# --- exports of a finished job (the desktop's Export button) ----------------------------------


def _cache(tmp_path: Path, header: list[str], rows: list[list[object]]) -> Path:
    cache = tmp_path / "cache.csv"
    with open(cache, "w", encoding="utf-8", newline="") as fh:
        CsvExportWriter(fh, header).write_rows(rows)
    return cache


_OURS = ["abuse_score", "abuse_label", "model_version", "abuse_note"]


def test_results_export_xlsx_does_not_carry_the_cache_quote(tmp_path: Path) -> None:
    cache = _cache(tmp_path, ["text", *_OURS], [["=1+1", 0.9, "abusive", "m 1.0", ""]])
    dest = tmp_path / "export.xlsx"
    export_scored(cache, dest, "xlsx", report=BatchReport("in", "out", "csv"), threshold=0.5)
    row = next(openpyxl.load_workbook(dest)["scored"].iter_rows(min_row=2, values_only=True))
    assert row[:3] == ("=1+1", 0.9, "abusive")


def test_results_export_csv_of_a_quoted_text_is_not_quoted_away(tmp_path: Path) -> None:
    cache = _cache(tmp_path, ["text", *_OURS], [["'=1+1", 0.9, "abusive", "m 1.0", ""]])
    dest = tmp_path / "export.csv"
    export_scored(cache, dest, "csv", report=BatchReport("in", "out", "csv"), threshold=0.5)
    with open(dest, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert restore_cell(rows[1][0]) == "'=1+1"


def test_results_export_xlsx_too_wide_is_an_input_error(tmp_path: Path) -> None:
    header = [f"c{i}" for i in range(EXCEL_MAX_COLS - 3)] + _OURS
    cache = _cache(tmp_path, header, [["x"] * (EXCEL_MAX_COLS - 3) + [0.5, "benign", "m", ""]])
    dest = tmp_path / "export.xlsx"
    with pytest.raises(InputError, match="16,385 columns") as caught:
        export_scored(cache, dest, "xlsx", report=BatchReport("in", "out", "csv"), threshold=0.5)
    assert str(dest) in str(caught.value) and not dest.exists()
