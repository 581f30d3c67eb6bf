"""Batch scoring: every row accounted for, output atomic, provenance recorded."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from app.core.batch.run import BatchOptions, run_batch
from app.core.common.errors import InputError, JobCancelled
from app.core.engine.scoring import Scorer

pytestmark = pytest.mark.usefixtures("private_home")  # checkpoints need a workstation key


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def _read_output(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture
def scorer(tiny_training) -> Scorer:
    return Scorer.load(tiny_training.bundle_path)


def test_ledger_balances_and_output_keeps_every_accepted_row(scorer, tmp_path):
    src = _write(
        tmp_path / "in.csv",
        "id,comment,channel\n"
        "1,you stupid moron,chat\n"
        '2,"lovely, sunny\nmeeting",mail\n'  # quoted newline: record spans lines 3-4
        "3,too,many,fields\n"  # line 5: rejected
        "\n"  # line 6: blank line
        "4,,chat\n"  # line 7: blank text, kept in output without score
        '5,=HYPERLINK("http://x"),chat\n'  # line 8
        "6,short\n",  # line 9: too few fields
    )
    out = tmp_path / "out.csv"
    report = run_batch(scorer, BatchOptions(src, out, threshold=0.45))
    assert (report.rows_read, report.rows_scored, report.rows_rejected, report.rows_blank) == (
        7,
        3,
        2,
        2,
    )
    assert report.balanced and report.text_column == "comment"
    assert [(r["line"], r["reason"]) for r in report.rejected] == [
        (5, report.rejected[0]["reason"]),
        (9, report.rejected[1]["reason"]),
    ]
    assert "4" in report.rejected[0]["reason"] and "2" in report.rejected[1]["reason"]
    rows = _read_output(out)
    assert [r["id"] for r in rows] == ["1", "2", "4", "5"]
    assert rows[1]["comment"] == "lovely, sunny\nmeeting"
    assert rows[2]["abuse_score"] == "" and rows[2]["abuse_note"] == "blank text"
    assert rows[3]["comment"].startswith("'=")  # neutralised formula
    expected = scorer.model.predict_proba(["you stupid moron"])[0]
    assert float(rows[0]["abuse_score"]) == expected
    assert rows[0]["abuse_label"] == ("abusive" if expected >= 0.45 else "benign")
    assert rows[0]["model_version"] == scorer.version_label
    provenance = json.loads(Path(f"{out}.provenance.json").read_text())
    assert provenance["input_sha256"] == report.input_sha256 and provenance["threshold"] == 0.45


def test_many_rows_in_many_chunks(scorer, tmp_path):
    n = 2_345
    lines = ["text,label"] + [f"message number {i} you idiot,{i % 2}" for i in range(n)]
    src = _write(tmp_path / "big.csv", "\n".join(lines) + "\n")
    out = tmp_path / "big-scored.csv"
    seen = []
    report = run_batch(
        scorer, BatchOptions(src, out, threshold=0.5, chunk_rows=100), progress=seen.append
    )
    assert report.rows_read == report.rows_scored == report.rows_written == n
    rows = _read_output(out)
    assert [r["text"] for r in rows] == [f"message number {i} you idiot" for i in range(n)]
    scores = np.array([float(r["abuse_score"]) for r in rows])
    assert report.rows_flagged == int((scores >= 0.5).sum())
    assert len(seen) >= 20 and seen[-1].fraction == 1.0


def test_cancel_leaves_no_output(scorer, tmp_path):
    src = _write(tmp_path / "in.csv", "text\n" + "hello there\n" * 5_000)
    out = tmp_path / "out.csv"
    calls = {"n": 0}

    def cancelled() -> bool:
        calls["n"] += 1
        return calls["n"] > 3

    with pytest.raises(JobCancelled):
        run_batch(
            scorer, BatchOptions(src, out, threshold=0.45, chunk_rows=500), cancelled=cancelled
        )
    assert list(tmp_path.iterdir()) == [src]


def test_xlsx_output(scorer, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    src = _write(tmp_path / "in.csv", "text;who\nyou moron;a\n@SUM(1,1);b\n", "cp1252")
    out = tmp_path / "out.xlsx"
    report = run_batch(scorer, BatchOptions(src, out, threshold=0.45, output_format="xlsx"))
    assert report.delimiter == ";" and report.rows_scored == 2
    book = openpyxl.load_workbook(out)
    sheet = book["scored"]
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][:4] == ["text", "who", "abuse_score", "abuse_label"]
    assert values[2][0] == "@SUM(1,1)"  # a string cell, never evaluated: stored exactly
    assert isinstance(values[1][2], float)
    assert all(c.data_type != "f" for ws in book.worksheets for row in ws.iter_rows() for c in row)
    keys = {row[0].value for row in book["provenance"].iter_rows()}
    assert {"model_version", "threshold", "input_sha256"} <= keys


def test_unknown_text_column_is_an_input_error(scorer, tmp_path):
    src = _write(tmp_path / "in.csv", "a,b\n1,2\n")
    with pytest.raises(InputError, match="nope"):
        run_batch(scorer, BatchOptions(src, tmp_path / "o.csv", threshold=0.45, text_column="nope"))


def test_output_column_names_never_hide_input_columns(scorer, tmp_path):
    src = _write(tmp_path / "in.csv", "text,abuse_score\nyou idiot,old value\n")
    out = tmp_path / "out.csv"
    run_batch(scorer, BatchOptions(src, out, threshold=0.45))
    row = _read_output(out)[0]
    assert row["abuse_score"] == "old value" and float(row["abuse_score_2"]) > 0


def test_on_rows_sees_every_written_row_with_its_line(scorer, tmp_path):
    src = _write(tmp_path / "in.csv", "id,text\n1,you idiot\n2,bad,row\n\n3,\n4,lovely day\n")
    out = tmp_path / "out.csv"
    seen: list[tuple[list[object], int]] = []

    def on_rows(rows: list[list[object]], lines: list[int]) -> None:
        seen.extend(zip(rows, lines, strict=True))

    report = run_batch(
        scorer, BatchOptions(src, out, threshold=0.45, chunk_rows=2), on_rows=on_rows
    )
    assert [line for _, line in seen] == [2, 5, 6] and len(seen) == report.rows_written
    written = _read_output(out)
    assert [row[0] for row, _ in seen] == [r["id"] for r in written]
    assert seen[1][0][2] is None and seen[1][0][5] == "blank text"  # blank text: no score
    assert [row[2] for row, _ in seen if row[2] is not None] == [
        float(r["abuse_score"]) for r in written if r["abuse_score"]
    ]
