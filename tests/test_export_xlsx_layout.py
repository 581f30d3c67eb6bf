"""An XLSX export opens ready to work with: fitted column widths, a frozen header with an
autofilter, and numeric input columns as numbers, while IDs and formula-looking text stay
exactly the text they were (issue 14)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl

from app.core.common.atomic import atomic_path
from app.core.export.xlsx_writer import (
    MAX_COL_WIDTH,
    MIN_COL_WIDTH,
    WIDTH_SAMPLE_ROWS,
    XlsxExportWriter,
)


def _write(path: Path, header, rows, **kwargs) -> None:
    with atomic_path(path) as tmp:
        writer = XlsxExportWriter(tmp, header, **kwargs)
        writer.write_rows(rows)
        writer.close({"model_version": "2.0"})


def _sheet_xml(path: Path, number: int) -> str:
    with zipfile.ZipFile(path) as zf:
        return zf.read(f"xl/worksheets/sheet{number}.xml").decode()


def test_xlsx_has_fitted_widths_autofilter_frozen_header_and_typed_cells(tmp_path: Path) -> None:
    header = ["id", "count", "ratio", "text", "comment", "score"]
    rows = [
        ["007", "12", "-1.5", '=HYPERLINK("http://x")', "short", 0.25],
        ["1234567890123456789", "3", "0.25", "@SUM(A1)", "x" * 500, 0.5],
        ["+1", "1e5", "20", "-2+3", "日本語のテキスト", 0.75],
    ]
    out = tmp_path / "scored.xlsx"
    _write(out, header, rows)

    ws = openpyxl.load_workbook(out)["scored"]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:F4"  # the header and every written row and column
    assert 'ySplit="1"' in _sheet_xml(out, 1)

    widths = {col: ws.column_dimensions[col].width for col in "ABCDEF"}
    assert all(MIN_COL_WIDTH <= w <= MAX_COL_WIDTH + 1 for w in widths.values())
    assert widths["A"] >= len("1234567890123456789")  # the longest id fits
    assert widths["E"] >= MAX_COL_WIDTH - 1  # 500 characters: bounded, not 500 wide
    assert widths["B"] < widths["D"] < widths["E"]

    got = [[c.value for c in row] for row in ws.iter_rows(min_row=2)]
    # Canonical decimals are numbers; the rest stays the exact text of the input.
    assert got[0][:3] == ["007", 12, -1.5]
    assert got[1][:3] == ["1234567890123456789", 3, 0.25]
    assert got[2][:3] == ["+1", "1e5", 20]
    assert [r[3] for r in got] == ['=HYPERLINK("http://x")', "@SUM(A1)", "-2+3"]
    assert all(ws.cell(row=r, column=4).data_type == "s" for r in (2, 3, 4))  # never formulas
    assert "<f>" not in _sheet_xml(out, 1)


def test_xlsx_widths_come_from_a_bounded_sample_and_every_sheet_has_a_filter(
    tmp_path: Path,
) -> None:
    n = WIDTH_SAMPLE_ROWS + 20
    rows = [["a", "b"] for _ in range(n - 1)] + [["a", "y" * 50]]  # last row: past the sample
    out = tmp_path / "big.xlsx"
    _write(out, ["k", "v"], rows, max_rows_per_sheet=n + 1)
    wb = openpyxl.load_workbook(out)
    ws = wb["scored"]
    assert ws.column_dimensions["B"].width < 20  # the late long value was not measured
    assert ws.auto_filter.ref == f"A1:B{n + 1}"

    rolled = tmp_path / "rolled.xlsx"
    _write(rolled, ["k", "v"], [[str(i), "x"] for i in range(5)], max_rows_per_sheet=3)
    wb = openpyxl.load_workbook(rolled)
    refs = [wb[name].auto_filter.ref for name in ("scored", "scored (2)", "scored (3)")]
    assert refs == ["A1:B3", "A1:B3", "A1:B2"]
    assert all(wb[name].freeze_panes == "A2" for name in ("scored", "scored (2)", "scored (3)"))
