"""Issue 14's batch data items: duplicate column names made readable (``text``, ``text.1``),
the rejected rows exported (``OUT.rejected.csv``: line, reason, raw text), and the counts named
alike (rejected vs blank) in the CLI, the provenance and the GUI."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from app.core.batch.options import BatchReport
from app.core.batch.rejected import (
    MAX_REJECTED_TEXTS,
    REJECTED_HEADER,
    default_rejected_path,
    write_rejected,
)
from app.core.csvio.csv_header import dedupe_header, renamed_note
from app.core.csvio.csv_input import RAW_TEXT_CHARS, CsvFormat, iter_chunks, sniff
from tests.cli_runner import run_cli
from tests.test_ui_batch import _run, panel  # noqa: F401 (the panel fixture)


def _csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


# --- duplicate column names -----------------------------------------------------------------


def test_dedupe_follows_pandas_and_skips_real_names() -> None:
    assert dedupe_header(["id", "text", "text", "text"]) == ["id", "text", "text.1", "text.2"]
    # text.1 is a real column: the repeat becomes text.2, every name unique
    assert dedupe_header(["text", "text", "text.1"]) == ["text", "text.2", "text.1"]
    assert dedupe_header(["a", "b"]) == ["a", "b"]
    note = renamed_note(["id", "text", "text", "id"], dedupe_header(["id", "text", "text", "id"]))
    assert note == "id → id, id.1; text → text, text.1"


def test_the_renamed_note_is_bounded_and_escaped() -> None:
    header = ["id"] + ["text"] * 1000
    note = renamed_note(header, dedupe_header(header))
    assert note == "text → text, text.1, text.2 … and 997 more"
    many = [f"c{i}" for i in range(20) for _ in range(2)]  # 20 names, each twice
    note = renamed_note(many, dedupe_header(many))
    assert note.endswith("; … and 12 more names") and note.count("→") == 8
    hostile = "\x1b]0;pwned\x07\x1b[31m\u202e"
    note = renamed_note(["t", hostile, hostile], dedupe_header(["t", hostile, hostile]))
    assert not any(c in note for c in "\x1b\x07\u202e")
    assert note.startswith("\\x1b]0;pwned\\x07\\x1b[31m\\u202e → ")


def test_cli_escapes_and_bounds_the_renamed_line(tmp_path: Path) -> None:
    esc = "\x1b]0;pwned\x07\x1b[31m"
    header = ",".join(["id", "text", esc, esc] + ["x"] * 300)
    src = _csv(tmp_path / "esc.csv", header + "\n1,hello there," + ",".join(["a"] * 302) + "\n")
    result = run_cli("score", str(src), "-o", str(tmp_path / "o.csv"))
    assert result.returncode == 0, result.stderr
    [line] = [x for x in (result.stdout + result.stderr).splitlines() if "renamed" in x]
    assert "\x1b" not in line and "\x07" not in line and "\\x1b]0;pwned\\x07" in line
    assert len(line) < 300 and "… and 297 more" in line


def test_sniff_renames_and_picks_the_first_text(tmp_path: Path) -> None:
    path = _csv(tmp_path / "dup.csv", "id,text,text\n1,first,second\n")
    result = sniff(path)
    assert result.header == ["id", "text", "text.1"]
    assert result.text_column == "text"
    assert result.renamed == "text → text, text.1"
    fmt = CsvFormat("utf-8", ",", False)
    chunks = list(iter_chunks(path, fmt, header_expected=result.header))
    assert chunks[0].rows == [["1", "first", "second"]]


def test_cli_scores_the_first_text_column_and_says_so(tmp_path: Path) -> None:
    src = _csv(tmp_path / "dup.csv", "id,text,text\n1,you are awful,hello\n2,hello,you idiot\n")
    out, report = tmp_path / "out.csv", tmp_path / "r.json"
    for extra in ([], ["--text-column", "text"]):
        result = run_cli("score", str(src), "-o", str(out), "--report", str(report), *extra)
        assert result.returncode == 0, result.stderr
        assert "duplicate column names renamed: text → text, text.1" in result.stdout
        rows = _rows(out)
        assert list(rows[0])[:3] == ["id", "text", "text.1"]  # the exported header
        data = json.loads(report.read_text())
        assert data["text_column"] == "text" and data["columns_renamed"] == "text → text, text.1"
        provenance = json.loads(Path(f"{out}.provenance.json").read_text())
        assert provenance["columns_renamed"] == "text → text, text.1"
    # text.1 can be chosen by its new name
    result = run_cli("score", str(src), "-o", str(out), "--text-column", "text.1")
    assert result.returncode == 0, result.stderr
    assert json.loads(Path(f"{out}.provenance.json").read_text())["text_column"] == "text.1"


# --- the rejected-rows export ---------------------------------------------------------------

BROKEN = (
    'id,text,label\n1,fine one,0\n2,"opened,1\nno fields\n3,ok,0\n4,too,many,fields,here\n'
    "5,,0\n\n6,last,1\n"
)


def test_cli_writes_rejected_rows_beside_the_output(tmp_path: Path) -> None:
    src = _csv(tmp_path / "in.csv", BROKEN)
    out = tmp_path / "out.csv"
    result = run_cli("score", str(src), "-o", str(out))
    assert result.returncode == 0, result.stderr
    rejected = tmp_path / "out.rejected.csv"
    assert default_rejected_path(out) == rejected
    assert "rejected rows written to out.rejected.csv" in result.stdout
    assert "7 rows read: 3 scored" in result.stdout and "2 rejected, 2 blank" in result.stdout
    rows = _rows(rejected)
    assert tuple(rows[0]) == REJECTED_HEADER
    assert [r["line"] for r in rows] == ["3–4", "6"]
    assert rows[0]["raw_text"] == '2,"opened,1\nno fields'  # the physical lines, as read
    assert rows[1]["raw_text"] == "4,too,many,fields,here"
    assert rows[1]["reason"] == "expected 3 fields, found 5"
    provenance = json.loads(Path(f"{out}.provenance.json").read_text())
    assert provenance["rejected_file"] == "out.rejected.csv"
    counts = [provenance[k] for k in ("rows_read", "rows_scored", "rows_blank", "rows_rejected")]
    assert counts == [7, 3, 2, 2]
    # a clean run at the same output removes the stale list of our own, and says so
    _csv(src, "id,text,label\n1,fine one,0\n")
    result = run_cli("score", str(src), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert not rejected.exists()
    assert "out.rejected.csv" in result.stderr and "none" in result.stderr
    assert "rejected_file" not in json.loads(Path(f"{out}.provenance.json").read_text())


def test_cli_rejected_path_options_and_refusals(tmp_path: Path) -> None:
    src = _csv(tmp_path / "in.csv", BROKEN)
    out, chosen = tmp_path / "out.csv", tmp_path / "bad-rows.csv"
    result = run_cli("score", str(src), "-o", str(out), "--rejected", str(chosen))
    assert result.returncode == 0, result.stderr
    assert len(_rows(chosen)) == 2 and not (tmp_path / "out.rejected.csv").exists()
    out2 = tmp_path / "out2.csv"
    result = run_cli("score", str(src), "-o", str(out2), "--no-rejected")
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "out2.rejected.csv").exists()
    # never over the input, another program's file refused (one line naming it)
    for target in (src, _csv(tmp_path / "mine.csv", "a,b\n1,2\n")):
        result = run_cli("score", str(src), "-o", str(out2), "--rejected", str(target))
        assert result.returncode == 3, result.stderr
        assert str(target) in result.stderr and len(result.stderr.strip().splitlines()) == 1
        assert "Traceback" not in result.stderr
    assert (tmp_path / "mine.csv").read_text() == "a,b\n1,2\n"
    result = run_cli("score", str(src), "-o", str(out2), "--rejected", "x", "--no-rejected")
    assert result.returncode == 2


def test_rejected_text_is_bounded_and_formula_safe(tmp_path: Path) -> None:
    report = BatchReport("in.csv", "out.csv", "csv", rows_rejected=3)
    report.rejected = [
        {"line": 2, "last": 2, "reason": "r", "excerpt": "=1+1", "text": "=1+1,x"},
        {"line": 3, "last": 3, "reason": "r", "excerpt": "y", "text": "y" * RAW_TEXT_CHARS},
        {"line": 9, "last": 9, "reason": "r", "excerpt": "z" * 120},  # past the kept texts
    ]
    path = tmp_path / "rej.csv"
    assert write_rejected(path, report) == 3
    rows = _rows(path)
    assert rows[0]["raw_text"] == "'=1+1,x"  # neutralised like every export
    assert rows[1]["note"] == f"text cut at {RAW_TEXT_CHARS:,} characters"
    assert rows[2]["raw_text"] == "z" * 120 and f"{MAX_REJECTED_TEXTS:,}" in rows[2]["note"]


# --- the Batch panel ------------------------------------------------------------------------


def test_gui_exports_rejected_rows_and_reports_renamed_columns(qtbot, panel, tmp_path, monkeypatch):  # noqa: F811
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QFileDialog

    from app.core.bundles.bundle import sha256_file

    clean = _csv(tmp_path / "dup.csv", "id,text,text\n1,you are awful,hello\n2,hi,you idiot\n")
    _run(qtbot, panel, clean)
    assert not panel.rejected_button.isEnabled()  # nothing rejected: nothing to export
    line = "duplicate column names renamed: text → text, text.1"
    assert line in panel.status.text() and line in panel.ledger.note.text()
    assert panel.shown.result.report.text_column == "text"

    _run(qtbot, panel, _csv(tmp_path / "in.csv", BROKEN))
    assert panel.rejected_button.isEnabled()
    assert "rejected" in panel.ledger.values["rows_rejected"].toolTip()
    target = tmp_path / "bad rows.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), "*.csv"))
    qtbot.mouseClick(panel.rejected_button, Qt.MouseButton.LeftButton)
    rows = _rows(target)
    assert [r["line"] for r in rows] == ["3–4", "6"]
    assert rows[1]["raw_text"] == "4,too,many,fields,here"
    assert panel.status.text() == "Exported 2 rejected rows to bad rows.csv."
    # raw texts left the app: logged like any export, with the file's own hash
    [event] = [e for e in panel.ctx.activity.query() if e.action == "export"]
    assert (event.file_name, event.file_sha256) == (target.name, sha256_file(target))
    assert "rejected rows of in.csv" in event.detail
    # never over the scored input: one line, the file untouched
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "in.csv"), "*.csv")
    )
    qtbot.mouseClick(panel.rejected_button, Qt.MouseButton.LeftButton)
    assert panel.status.text().startswith("Rejected rows not exported to in.csv")
    assert (tmp_path / "in.csv").read_text() == BROKEN
