"""The rejected-rows file after the hostile pass (issue 14): never onto the output's own work
files, "ours" only while untouched since the provenance recorded its SHA-256, a user's file at the
default name never replaced nor removed, and its contents say why a text was not kept."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from app.core.batch.options import BatchReport
from app.core.batch.rejected import write_rejected
from app.core.csvio.csv_input import CsvFormat, iter_chunks
from tests.cli_runner import run_cli
from tests.test_batch_rejected_export import _csv, _rows
from tests.test_ui_batch import _run, panel  # noqa: F401 (the panel fixture)

BROKEN = "id,text\n1,you idiot\n2,a,b,c\n3,nice day\n4,too,many,fields\n"
CLEAN = "id,text\n1,fine one\n"


def _provenance(out: Path) -> dict:
    return json.loads(Path(f"{out}.provenance.json").read_text())


def _one_line(stderr: str, name: str) -> None:
    assert name in stderr and len(stderr.strip().splitlines()) == 1, stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize(
    "name",
    [".o.csv.partial", "o.csv.provenance.json", ".o.csv.checkpoint.json", ".o.csv.rejected.jsonl"]
    + [".o.csv.lock"],
)
def test_rejected_never_onto_the_outputs_work_files(tmp_path: Path, name: str) -> None:
    src, out = _csv(tmp_path / "in.csv", BROKEN), tmp_path / "o.csv"
    result = run_cli("score", str(src), "-o", str(out), "--rejected", str(tmp_path / name))
    assert result.returncode == 3, result.stdout
    _one_line(result.stderr, name)
    assert not out.exists() and not (tmp_path / name).exists()  # refused before any work


def test_provenance_records_the_rejected_files_sha256(tmp_path: Path) -> None:
    src, out = _csv(tmp_path / "in.csv", BROKEN), tmp_path / "o.csv"
    assert run_cli("score", str(src), "-o", str(out)).returncode == 0
    rejected = tmp_path / "o.rejected.csv"
    provenance = _provenance(out)
    assert provenance["rejected_file"] == "o.rejected.csv"
    assert provenance["rejected_sha256"] == hashlib.sha256(rejected.read_bytes()).hexdigest()
    # untouched: a second run with rejected rows replaces it without a word
    result = run_cli("score", str(src), "-o", str(out))
    assert result.returncode == 0 and "not ours" not in result.stderr, result.stderr
    assert len(_rows(rejected)) == 2


def test_an_edited_rejected_file_is_kept(tmp_path: Path) -> None:
    src, out = _csv(tmp_path / "in.csv", BROKEN), tmp_path / "o.csv"
    assert run_cli("score", str(src), "-o", str(out)).returncode == 0
    rejected = tmp_path / "o.rejected.csv"
    with open(rejected, "a", encoding="utf-8") as fh:
        fh.write('"6","my fix","fixed row","IMPORTANT: my notes"\n')
    edited = rejected.read_bytes()
    # a run with rejected rows does not replace it: one line, exit 0, the provenance says why
    result = run_cli("score", str(src), "-o", str(out))
    assert result.returncode == 0, result.stderr
    line = "rejected rows not written: o.rejected.csv is not ours (use --rejected FILE)"
    assert line in result.stderr and rejected.read_bytes() == edited
    assert "rejected rows written to" not in result.stdout
    provenance = _provenance(out)
    assert provenance["rejected_file"] is None
    assert provenance["rejected_not_written"] == "o.rejected.csv is not ours"
    # a clean run does not remove it either, and says so
    result = run_cli("score", str(_csv(tmp_path / "clean.csv", CLEAN)), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert rejected.read_bytes() == edited
    # (the run before it wrote none: its provenance records no file)
    assert f"{rejected} was not written with the earlier o.csv: not removed" in result.stderr


def test_changed_since_note_names_the_file(tmp_path: Path) -> None:
    src, out = _csv(tmp_path / "in.csv", BROKEN), tmp_path / "o.csv"
    assert run_cli("score", str(src), "-o", str(out)).returncode == 0
    rejected = tmp_path / "o.rejected.csv"
    rejected.write_bytes(rejected.read_bytes() + b'"9","mine","x",""\n')
    result = run_cli("score", str(_csv(tmp_path / "clean.csv", CLEAN)), "-o", str(out))
    assert f"{rejected} is from an earlier run and was changed since: not removed" in result.stderr
    assert rejected.exists()


def test_a_tampered_provenance_proves_nothing(tmp_path: Path) -> None:
    src, out = _csv(tmp_path / "in.csv", BROKEN), tmp_path / "o.csv"
    assert run_cli("score", str(src), "-o", str(out)).returncode == 0
    rejected = tmp_path / "o.rejected.csv"
    sidecar = Path(f"{out}.provenance.json")
    for bad in ("ZZ" * 32, ["x"], None):
        data = _provenance(out)
        data["rejected_sha256"] = bad
        sidecar.write_text(json.dumps(data))
        out.touch()  # still our scored CSV (not newer than its provenance)
        result = run_cli("score", str(_csv(tmp_path / "clean.csv", CLEAN)), "-o", str(out))
        assert result.returncode == 0, result.stderr
        assert rejected.exists(), bad
        assert run_cli("score", str(src), "-o", str(out)).returncode == 0  # rows kept away
        _csv(rejected, rejected.read_text())


def test_xlsx_and_csv_outputs_do_not_delete_each_others_file(tmp_path: Path) -> None:
    src, clean = _csv(tmp_path / "in.csv", BROKEN), _csv(tmp_path / "clean.csv", CLEAN)
    out_csv, out_xlsx = tmp_path / "o.csv", tmp_path / "o.xlsx"
    rejected = tmp_path / "o.rejected.csv"
    assert run_cli("score", str(src), "-o", str(out_csv)).returncode == 0
    result = run_cli("score", str(clean), "-o", str(out_xlsx))
    assert result.returncode == 0, result.stderr
    assert rejected.exists() and "not removed" in result.stderr
    assert "removed" not in result.stderr.replace("not removed", "")
    # the workbook's own provenance sheet proves its file: written, then removed when clean
    rejected.unlink()
    assert run_cli("score", str(src), "-o", str(out_xlsx), "--overwrite").returncode == 0
    assert rejected.exists()
    result = run_cli("score", str(clean), "-o", str(out_xlsx))
    assert result.returncode == 0, result.stderr
    assert not rejected.exists() and f"removed {rejected}" in result.stderr


def test_a_users_file_at_the_default_name(tmp_path: Path) -> None:
    src, out = _csv(tmp_path / "in.csv", BROKEN), tmp_path / "o.csv"
    mine = _csv(tmp_path / "o.rejected.csv", "my,own\n1,2\n")
    # a clean run is not refused for it, and leaves it alone
    result = run_cli("score", str(_csv(tmp_path / "clean.csv", CLEAN)), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert mine.read_text() == "my,own\n1,2\n"
    # --overwrite (meant for the output) does not replace it
    result = run_cli("score", str(src), "-o", str(out), "--overwrite")
    assert result.returncode == 0, result.stderr
    assert "o.rejected.csv is not ours" in result.stderr
    assert mine.read_text() == "my,own\n1,2\n"
    # named with --rejected and --overwrite it is replaced, and the note says so
    result = run_cli("score", str(src), "-o", str(out), "--rejected", str(mine), "--overwrite")
    assert result.returncode == 0, result.stderr
    assert f"replaced {mine}" in result.stderr and len(_rows(mine)) == 2


def test_report_at_the_default_rejected_name_names_both(tmp_path: Path) -> None:
    src, out = _csv(tmp_path / "in.csv", BROKEN), tmp_path / "o.csv"
    result = run_cli(
        "score", str(src), "-o", str(out), "--report", str(tmp_path / "o.rejected.csv")
    )
    assert result.returncode == 3
    _one_line(result.stderr, "o.rejected.csv")
    assert "--report" in result.stderr and "o.csv" in result.stderr
    assert "--rejected FILE" in result.stderr


def test_a_long_line_says_its_text_was_not_kept(tmp_path: Path) -> None:
    path = _csv(tmp_path / "long.csv", "id,text\n1,ok\n2," + "x" * 300_000 + "\n3,ok\n")
    fmt = CsvFormat("utf-8", ",", False)
    chunks = list(iter_chunks(path, fmt, header_expected=["id", "text"], max_field_chars=100))
    (row,) = [r for c in chunks for r in c.rejected]
    assert row.note.startswith("raw text not kept: line 3 is longer than")
    assert row.note.endswith(f"the first {len(row.text)} characters are shown")
    report = BatchReport("in.csv", "out.csv", "csv", rows_rejected=1)
    report.rejected = [
        {"line": 3, "last": 3, "reason": row.reason, "excerpt": "", "text": row.text}
        | {"note": row.note}
    ]
    write_rejected(tmp_path / "rej.csv", report)
    assert _rows(tmp_path / "rej.csv")[0]["note"] == row.note


def test_control_characters_are_written_escaped(tmp_path: Path) -> None:
    report = BatchReport("in.csv", "out.csv", "csv", rows_rejected=1)
    text = "a\x00b\x1b[31m\x07\tc\nd"
    report.rejected = [{"line": 2, "last": 3, "reason": "r", "excerpt": "", "text": text}]
    path = tmp_path / "rej.csv"
    write_rejected(path, report)
    raw = path.read_bytes()
    assert b"\x00" not in raw and b"\x1b" not in raw and b"\x07" not in raw
    assert _rows(path)[0]["raw_text"] == "a\\x00b\\x1b[31m\\x07\tc\nd"


def test_gui_says_one_rejected_row(qtbot, panel, tmp_path, monkeypatch):  # noqa: F811
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QFileDialog

    _run(qtbot, panel, _csv(tmp_path / "in.csv", "id,text\n1,hello\n2,a,b\n"))
    target = tmp_path / "bad.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), "*.csv"))
    qtbot.mouseClick(panel.rejected_button, Qt.MouseButton.LeftButton)
    assert panel.status.text() == "Exported 1 rejected row to bad.csv."


def test_gui_counts_agree_in_number(qtbot, panel, tmp_path):  # noqa: F811
    from app.core.batch.words import counted

    assert [counted(n) for n in (0, 1, 2, 1000)] == ["0 rows", "1 row", "2 rows", "1,000 rows"]
    _run(qtbot, panel, _csv(tmp_path / "one.csv", "id,text\n1,hello\n"))
    assert panel.results.count.text() == "1 of 1 row"
    assert ": 1 row in " in panel.progress.format()


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_no_rejected_removes_an_earlier_file_of_ours(tmp_path: Path, suffix: str) -> None:
    """--no-rejected writes none, and a stale list of ours at the default name goes too: the new
    provenance no longer names it, so left there it would claim this run's rejections."""
    pytest.importorskip("openpyxl")
    src, out = _csv(tmp_path / "in.csv", BROKEN), tmp_path / f"o{suffix}"
    assert run_cli("score", str(src), "-o", str(out)).returncode == 0
    rejected = tmp_path / "o.rejected.csv"
    assert rejected.exists()
    result = run_cli("score", str(src), "-o", str(out), "--overwrite", "--no-rejected")
    assert result.returncode == 0, result.stderr
    assert not rejected.exists()
    line = f"removed {rejected}: it listed an earlier run's rejected rows, this run writes none"
    assert line in result.stderr and "Traceback" not in result.stderr
    assert "rejected rows written to" not in result.stdout
    if suffix == ".csv":
        assert "rejected_file" not in _provenance(out)
    # nothing there now: a further --no-rejected run says nothing about it
    result = run_cli("score", str(src), "-o", str(out), "--overwrite", "--no-rejected")
    assert result.returncode == 0 and "rejected.csv" not in result.stderr, result.stderr
    assert not rejected.exists()


def test_no_rejected_keeps_an_edited_or_a_users_file(tmp_path: Path) -> None:
    src, out = _csv(tmp_path / "in.csv", BROKEN), tmp_path / "o.csv"
    assert run_cli("score", str(src), "-o", str(out)).returncode == 0
    rejected = tmp_path / "o.rejected.csv"
    rejected.write_bytes(rejected.read_bytes() + b'"9","mine","x",""\n')
    edited = rejected.read_bytes()
    result = run_cli("score", str(src), "-o", str(out), "--no-rejected")
    assert result.returncode == 0, result.stderr
    assert f"{rejected} is from an earlier run and was changed since: not removed" in result.stderr
    assert rejected.read_bytes() == edited
    rejected.write_text("my own notes\n", encoding="utf-8")  # not a rejected-rows file at all
    result = run_cli("score", str(src), "-o", str(out), "--no-rejected")
    assert result.returncode == 0 and "rejected.csv" not in result.stderr, result.stderr
    assert rejected.read_text(encoding="utf-8") == "my own notes\n"


def test_no_rejected_never_removes_its_input(tmp_path: Path) -> None:
    """Scoring the earlier list itself (ours, untouched) with --no-rejected keeps it: the input."""
    src, out = _csv(tmp_path / "in.csv", BROKEN), tmp_path / "o.csv"
    assert run_cli("score", str(src), "-o", str(out)).returncode == 0
    rejected = tmp_path / "o.rejected.csv"
    before = rejected.read_bytes()
    args = ["-o", str(out), "--text-column", "raw_text", "--no-rejected", "--overwrite"]
    result = run_cli("score", str(rejected), *args)
    assert result.returncode == 0, result.stderr
    assert rejected.read_bytes() == before and "removed" not in result.stderr
