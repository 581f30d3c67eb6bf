"""Recovery from a bad quote: a record that a stray quote ran over several lines, and that then
failed, is re-read line by line; lines that are records on their own are scored, only the
broken line is rejected, with its line (span) in the reader, the CLI report and the GUI ledger."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from app.core.csvio.csv_input import CsvFormat, iter_chunks
from tests.cli_runner import run_cli
from tests.test_ui_batch import _run, panel  # noqa: F401 (the panel fixture)

FMT = CsvFormat("utf-8", ",", False)


def _good(first: int, n: int) -> list[str]:
    return [f"{i},message number {i},{i % 2}" for i in range(first, first + n)]


def _read(path: Path, **kwargs: object) -> tuple[list[tuple[int, list[str]]], list, int]:
    rows, rejected, blank = [], [], 0
    for chunk in iter_chunks(path, FMT, **kwargs):  # type: ignore[arg-type]
        rows += list(zip(chunk.lines, chunk.rows, strict=True))
        rejected += chunk.rejected
        blank += chunk.blank_lines
    return rows, rejected, blank


def _write(path: Path, lines: list[str], end: str = "\n") -> Path:
    path.write_text(end.join(lines) + end, encoding="utf-8")
    return path


def _open_quote_file(tmp_path: Path) -> Path:
    # header (line 1), 5 good rows (lines 2-6), an unterminated quote (line 7), 12 good rows
    lines = ["id,text,label", *_good(1, 5), '6,"never closed,1', *_good(7, 12)]
    return _write(tmp_path / "open_quote.csv", lines)


@pytest.mark.parametrize("block_bytes", [1 << 16, 7])
def test_lines_after_an_unterminated_quote_are_scored(tmp_path: Path, block_bytes: int) -> None:
    rows, rejected, blank = _read(_open_quote_file(tmp_path), block_bytes=block_bytes)
    assert [line for line, _ in rows] == [*range(2, 7), *range(8, 20)]  # the file's own lines
    assert rows[5] == (8, ["7", "message number 7", "1"])
    assert [(r.line, r.last) for r in rejected] == [(7, 7)] and blank == 0
    assert rejected[0].reason == "unterminated quote"
    assert rejected[0].excerpt == '6,"never closed,1'


def test_eof_inside_quotes_keeps_the_lines_before(tmp_path: Path) -> None:
    path = tmp_path / "eof.csv"
    path.write_text('id,text,label\n1,a,0\n2,"open,1\n3,b,0\n4,c,1', encoding="utf-8")  # no EOL
    rows, rejected, _ = _read(path)
    assert rows == [(2, ["1", "a", "0"]), (4, ["3", "b", "0"]), (5, ["4", "c", "1"])]
    assert [(r.line, r.last, r.reason) for r in rejected] == [(3, 3, "unterminated quote")]


def test_over_the_field_limit_keeps_the_lines_inside(tmp_path: Path) -> None:
    # csv reads lines 3-5 as one record of 3 fields whose 2nd field is over the limit
    lines = ["id,text,label", "1,a,0", '2,"open', "3,short,0", "x" * 30 + '",1', "6,b,0"]
    rows, rejected, _ = _read(_write(tmp_path / "limit.csv", lines), max_field_chars=20)
    assert [line for line, _ in rows] == [2, 4, 6]
    assert [(r.line, r.last, r.reason) for r in rejected] == [
        (3, 3, "unterminated quote"),
        (5, 5, "expected 3 fields, found 2"),
    ]


def test_wrong_field_count_rejects_the_broken_lines_only(tmp_path: Path) -> None:
    # line 3 opens a quote that line 5 closes: csv reads 3-5 as one record of 4 fields
    lines = ["id,text,label", "1,ok,0", '2,"opened here,1', "3,in between,0", 'closed",x,y,z']
    path = _write(tmp_path / "count.csv", [*lines, "6,after,1"], end="\r\n")
    rows, rejected, _ = _read(path)
    assert [line for line, _ in rows] == [2, 4, 6]
    assert [(r.line, r.last) for r in rejected] == [(3, 3), (5, 5)]
    assert rejected[1].reason == "expected 3 fields, found 4"


def test_adjacent_broken_lines_are_one_span(tmp_path: Path) -> None:
    lines = ["id,text,label", '1,"opened,1', "no fields", "", "still none", "5,ok,0"]
    rows, rejected, blank = _read(_write(tmp_path / "span.csv", [*lines, 'end"']))
    assert [line for line, _ in rows] == [6] and blank == 0
    assert [(r.line, r.last) for r in rejected] == [(2, 5), (7, 7)]
    assert rejected[0].reason == "unterminated quote (lines 2-5)"


def test_a_legit_multiline_field_stays_one_record(tmp_path: Path) -> None:
    lines = ["id,text,label", "1,ok,0", '2,"first line', "3,looks,like a row", 'end",1', "4,x,0"]
    rows, rejected, _ = _read(_write(tmp_path / "legit.csv", lines))
    assert rejected == []
    assert rows == [
        (2, ["1", "ok", "0"]),
        (3, ["2", "first line\n3,looks,like a row\nend", "1"]),
        (6, ["4", "x", "0"]),
    ]


def test_cli_scores_17_rows_and_rejects_the_broken_line(tmp_path: Path) -> None:
    out, report_path = tmp_path / "scored.csv", tmp_path / "report.json"
    src = _open_quote_file(tmp_path)
    result = run_cli("score", str(src), "-o", str(out), "--report", str(report_path))
    assert result.returncode == 0, result.stderr
    assert "18 rows read: 17 scored" in result.stdout and "1 rejected" in result.stdout
    assert "first rejected row: line 7: unterminated quote" in result.stdout
    report = json.loads(report_path.read_text())
    assert (report["rows_scored"], report["rows_rejected"]) == (17, 1)
    assert [(r["line"], r["last"]) for r in report["rejected"]] == [(7, 7)]
    with open(out, encoding="utf-8-sig", newline="") as fh:
        ids = [row["id"] for row in csv.DictReader(fh)]
    assert ids == [str(i) for i in [*range(1, 6), *range(7, 19)]]


def test_gui_ledger_shows_17_scored_and_the_span(qtbot, panel, tmp_path):  # noqa: F811
    _run(qtbot, panel, _open_quote_file(tmp_path))
    assert panel.ledger.values["rows_scored"].text() == "17"
    assert panel.ledger.values["rows_rejected"].text() == "1"
    assert panel.ledger.rejected.index(0, 0).data() == "7"
    assert panel.ledger.rejected.index(0, 1).data() == "unterminated quote"
    # a multi-line rejection shows its span as text in the table, not only in a tooltip
    src = _write(tmp_path / "span.csv", ["id,text,label", '1,"opened,1', "no fields", "3,ok,0"])
    _run(qtbot, panel, src)
    assert panel.ledger.rejected.index(0, 0).data() == "2–3"
    assert "(lines 2-3)" in panel.ledger.rejected.index(0, 1).data()
    assert panel.ledger.values["rows_scored"].text() == "1"
