"""Adversarial output names: an existing file at -o/--report/log export, and a format that
contradicts the extension.

A file that is recognisably our own earlier output of the same kind is replaced, with one note
line; any other file is refused before any work (exit 3, one line naming it, bytes unchanged)
unless --overwrite is given. ``--format`` that contradicts the extension is a usage error (exit
2). Batch events record what was written. The GUI passes its dialog's confirmation through.
"""

from __future__ import annotations

import os
import sqlite3
import zipfile
from pathlib import Path

import pytest

from tests.cli_runner import run_cli

CSV = b"id,text\n1,you are an idiot\n2,have a nice day\n3,thanks for the help\n"
NOTES = b"my notes: call Sam on Tuesday\n"
FOREIGN_CSV = b"name,amount\nrent,1200\nfood,300\n"


@pytest.fixture
def work(tmp_path: Path) -> Path:
    folder = tmp_path / "w"
    folder.mkdir()
    (folder / "in.csv").write_bytes(CSV)
    return folder


def _run(tmp_path: Path, *args: str):
    return run_cli(*args, ABUSE_DESK_HOME=str(tmp_path / "home"), timeout=90)


def _score(tmp_path: Path, work: Path, out: str, *extra: str):
    return _run(tmp_path, "score", str(work / "in.csv"), "-o", str(work / out), "--quiet", *extra)


def _one_line(result, code: int, needle: str) -> str:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert needle in lines[0], lines[0]
    return lines[0]


def _refused(result, target: Path, before: bytes, code: int = 3) -> str:
    line = _one_line(result, code, str(target))
    assert target.read_bytes() == before
    return line


def _foreign_xlsx(path: Path) -> bytes:
    """A workbook someone else made: a valid zip, a workbook.xml without our provenance sheet."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(
            "xl/workbook.xml",
            '<workbook><sheets><sheet name="Budget" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
    return path.read_bytes()


# --- score -o: our own earlier output is replaced with a note; anything else is refused -------


def test_own_csv_is_replaced_with_a_note(tmp_path: Path, work: Path) -> None:
    assert _score(tmp_path, work, "out.csv").returncode == 0
    (work / "in.csv").write_bytes(CSV + b"4,you moron\n")
    line = _one_line(_score(tmp_path, work, "out.csv"), 0, str(work / "out.csv"))
    assert "replaced the earlier output" in line
    assert b"you moron" in (work / "out.csv").read_bytes()


FOREIGN = {
    "foreign-csv": ("budget.csv", FOREIGN_CSV),
    "notes-txt": ("notes.txt", NOTES),
    "empty-file": ("empty.csv", b""),
    "binary": ("photo.csv", b"\x89PNG\r\n\x1a\n" + bytes(200)),
    # Our columns, then one the analyst added: their review would be lost.
    "edited-header": (
        "reviewed.csv",
        b'"id","text","abuse_score","abuse_label","model_version","abuse_note","reviewed"\r\n',
    ),
    "log-export-as-csv": ("events.csv", b'"id","time_utc","action"\r\n'),
}


@pytest.mark.parametrize("case", sorted(FOREIGN))
def test_foreign_file_at_output_is_refused(tmp_path: Path, work: Path, case: str) -> None:
    name, data = FOREIGN[case]
    (work / name).write_bytes(data)
    line = _refused(_score(tmp_path, work, name), work / name, data)
    assert "--overwrite" in line
    assert not os.path.lexists(work / f"{name}.provenance.json")  # refused before any work


def test_overwrite_replaces_a_foreign_file(tmp_path: Path, work: Path) -> None:
    (work / "notes.txt").write_bytes(NOTES)
    result = _score(tmp_path, work, "notes.txt", "--overwrite")
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert b"abuse_score" in (work / "notes.txt").read_bytes()
    # said, like the replacement of an earlier output of ours: the user's file is gone
    assert f"replaced {work / 'notes.txt'} (--overwrite; it was not an abuse-desk output)" in (
        result.stderr
    )


def test_own_csv_edited_after_scoring_is_refused(tmp_path: Path, work: Path) -> None:
    assert _score(tmp_path, work, "out.csv").returncode == 0
    out = work / "out.csv"
    data = out.read_bytes().replace(b"have a nice day", b"reviewed: benign")
    out.write_bytes(data)
    stamp = os.stat(f"{out}.provenance.json").st_mtime + 60  # saved a minute after scoring
    os.utime(out, (stamp, stamp))
    _refused(_score(tmp_path, work, "out.csv"), out, data)


def test_foreign_provenance_sidecar_is_refused(tmp_path: Path, work: Path) -> None:
    sidecar = work / "out.csv.provenance.json"
    sidecar.write_bytes(b'{"my": "own settings"}')
    _refused(_score(tmp_path, work, "out.csv"), sidecar, b'{"my": "own settings"}')
    assert not (work / "out.csv").exists()


def test_link_to_a_user_file_is_refused(tmp_path: Path, work: Path) -> None:
    (work / "notes.txt").write_bytes(NOTES)
    (work / "out.csv").symlink_to(work / "notes.txt")
    line = _one_line(_score(tmp_path, work, "out.csv"), 3, "out.csv")
    assert "a link to" in line and line.rstrip().count("notes.txt") == 1
    assert (work / "notes.txt").read_bytes() == NOTES and (work / "out.csv").is_symlink()


# --- XLSX ----------------------------------------------------------------------------------


def test_own_xlsx_is_replaced_with_a_note(tmp_path: Path, work: Path) -> None:
    assert _score(tmp_path, work, "out.xlsx").returncode == 0
    line = _one_line(_score(tmp_path, work, "out.xlsx"), 0, str(work / "out.xlsx"))
    assert "replaced the earlier output" in line


@pytest.mark.parametrize("kind", ["someone-elses-workbook", "not-a-zip", "csv-named-xlsx"])
def test_foreign_xlsx_is_refused(tmp_path: Path, work: Path, kind: str) -> None:
    target = work / "book.xlsx"
    if kind == "someone-elses-workbook":
        before = _foreign_xlsx(target)
    else:
        before = b"PK\x03\x04 broken" if kind == "not-a-zip" else FOREIGN_CSV
        target.write_bytes(before)
    _refused(_score(tmp_path, work, "book.xlsx"), target, before)


# --- --report -------------------------------------------------------------------------------


def test_own_report_is_replaced_with_a_note(tmp_path: Path, work: Path) -> None:
    report = str(work / "r.json")
    assert _score(tmp_path, work, "out.csv", "--report", report).returncode == 0
    line = _one_line(_score(tmp_path, work, "out.csv", "--report", report), 0, report)
    assert "replaced the earlier outputs" in line and str(work / "out.csv") in line


@pytest.mark.parametrize(
    "data", [b'{"theme": "dark", "recent": []}', b"[1, 2, 3]"], ids=["settings", "list"]
)
def test_foreign_report_is_refused_before_scoring(tmp_path: Path, work: Path, data: bytes) -> None:
    (work / "r.json").write_bytes(data)
    _refused(
        _score(tmp_path, work, "out.csv", "--report", str(work / "r.json")), work / "r.json", data
    )
    assert not (work / "out.csv").exists()


# --- log export -----------------------------------------------------------------------------


def _logged_home(tmp_path: Path, work: Path) -> None:
    assert _score(tmp_path, work, "scored.csv").returncode == 0  # a log with events


def test_own_log_export_is_replaced_with_a_note(tmp_path: Path, work: Path) -> None:
    _logged_home(tmp_path, work)
    out = str(work / "events.csv")
    assert _run(tmp_path, "log", "export", out).returncode == 0
    line = _one_line(_run(tmp_path, "log", "export", out), 0, out)
    assert "replaced the earlier output" in line


@pytest.mark.parametrize("kind", ["notes", "scored-csv"])
def test_log_export_onto_a_foreign_file_is_refused(tmp_path: Path, work: Path, kind: str) -> None:
    _logged_home(tmp_path, work)
    target = work / ("notes.txt" if kind == "notes" else "scored.csv")
    if kind == "notes":
        target.write_bytes(NOTES)
    before = target.read_bytes()
    line = _refused(_run(tmp_path, "log", "export", str(target)), target, before)
    assert "--overwrite" in line


def test_log_export_overwrite(tmp_path: Path, work: Path) -> None:
    _logged_home(tmp_path, work)
    (work / "notes.txt").write_bytes(NOTES)
    result = _run(tmp_path, "log", "export", str(work / "notes.txt"), "--overwrite")
    assert result.returncode == 0, result.stderr
    assert (work / "notes.txt").read_bytes().startswith(b'\xef\xbb\xbf"id"')
    assert "it was not an abuse-desk output" in result.stderr


# --- the extension decides the format -------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("x.csv", "xlsx"), ("y.xlsx", "csv"), ("z.tsv", "xlsx"), ("w.TXT", "xlsx"), ("v.XLSX", "csv")],
)
def test_format_contradicting_extension_is_a_usage_error(
    tmp_path: Path, work: Path, name: str, fmt: str
) -> None:
    line = _one_line(_score(tmp_path, work, name, "--format", fmt), 2, name)
    assert line.startswith("abuse-desk score: error:")
    assert not os.path.lexists(work / name)


def test_format_without_conflict_still_works(tmp_path: Path, work: Path) -> None:
    result = _score(tmp_path, work, "out", "--format", "xlsx")
    assert result.returncode == 0, result.stderr
    assert zipfile.is_zipfile(work / "out")


# --- resume and the activity events ---------------------------------------------------------


def _batch_details(tmp_path: Path) -> dict[str, str]:
    with sqlite3.connect(tmp_path / "home" / "data" / "activity.sqlite3") as con:
        rows = con.execute(
            "SELECT action, detail FROM events WHERE action LIKE 'batch_%' ORDER BY id"
        ).fetchall()
    return dict(rows)  # the last of each action


def test_batch_events_record_the_output(tmp_path: Path, work: Path) -> None:
    assert _score(tmp_path, work, "out.csv").returncode == 0
    assert _score(tmp_path, work, "out.xlsx", "--text-column", "text").returncode == 0
    details = _batch_details(tmp_path)
    started, finished = details["batch_started"], details["batch_finished"]
    assert f'output "{work / "out.xlsx"}"' in started and "format xlsx" in started
    assert 'text column "text"' in started and "resume no" in started
    assert "replaced an earlier file no" in finished and 'text column "text"' in finished


def test_batch_events_record_replace_and_resume(tmp_path: Path, work: Path) -> None:
    assert _score(tmp_path, work, "out.csv").returncode == 0
    assert _score(tmp_path, work, "out.csv", "--resume").returncode == 0
    details = _batch_details(tmp_path)
    for action in ("batch_started", "batch_finished"):
        assert "resume yes" in details[action] and "replaced an earlier file yes" in details[action]
    assert "text column automatic" in details["batch_started"]
    assert 'text column "text"' in details["batch_finished"]


def test_resume_of_an_interrupted_job_is_not_an_overwrite(
    tmp_path: Path, work: Path, bundled_model_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.core.batch.checkpoint import work_paths
    from app.core.batch.run import BatchOptions, run_batch
    from app.core.engine.scoring import Scorer

    home = tmp_path / "home"
    monkeypatch.setenv("ABUSE_DESK_HOME", str(home))  # the checkpoint's key is the CLI's
    (work / "in.csv").write_bytes(CSV + b"".join(b"%d,row %d\n" % (i, i) for i in range(4, 40)))
    scorer, out = Scorer.load(bundled_model_path), work / "out.csv"
    options = BatchOptions(work / "in.csv", out, scorer.default_threshold, chunk_rows=5)

    def stop(_progress: object) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_batch(scorer, options, progress=stop)
    assert any(p.exists() for p in work_paths(out)) and not out.exists()
    args = ["--model", str(bundled_model_path), "score", str(work / "in.csv"), "-o", str(out)]
    result = run_cli(*args, "--resume", "--quiet", ABUSE_DESK_HOME=str(home), allow_unsigned=True)
    assert result.returncode == 0, result.stderr
    assert "--overwrite" not in result.stderr and "Traceback" not in result.stderr
    assert out.read_bytes().count(b"\r\n") == 40  # header and every row, once


# --- the GUI: its save dialog's confirmation is the overwrite --------------------------------


def test_gui_export_replaces_a_confirmed_file_and_refuses_a_wrong_extension(
    qtbot, app_context, worker_pool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.ui.batch import panel as module

    panel = module.BatchPanel(app_context, worker_pool)
    qtbot.addWidget(panel)
    try:
        (tmp_path / "in.csv").write_bytes(CSV)
        panel.open_file(tmp_path / "in.csv")
        with qtbot.waitSignal(panel.job_done, timeout=60_000):
            panel.start()
        (tmp_path / "notes.csv").write_bytes(NOTES)  # the dialog asked; the user said replace
        with qtbot.waitSignal(panel.export_done) as blocker:
            panel.export(tmp_path / "notes.csv", "csv")
        assert blocker.args[1].startswith("done"), blocker.args
        assert b"abuse_score" in (tmp_path / "notes.csv").read_bytes()
        (tmp_path / "book.xlsx").write_bytes(NOTES)
        chosen = (str(tmp_path / "book.xlsx"), "*.csv")
        monkeypatch.setattr(module.QFileDialog, "getSaveFileName", lambda *a, **k: chosen)
        panel.export_dialog("csv")  # CSV text under an .xlsx name: refused
        assert "book.xlsx" in panel.status.text() and "Not exported" in panel.status.text()
        assert panel.jobs.export_worker is None  # no export was started
        assert (tmp_path / "book.xlsx").read_bytes() == NOTES
    finally:
        panel.shutdown()


def test_core_export_refuses_a_foreign_file_without_overwrite(tmp_path: Path) -> None:
    from app.core.batch.run import BatchReport
    from app.core.common.errors import InputError
    from app.core.results.export import export_scored

    cache = tmp_path / "cache.csv"
    cache.write_bytes(b'"id","text","abuse_score","abuse_label","model_version","abuse_note"\r\n')
    (tmp_path / "notes.csv").write_bytes(NOTES)
    report = BatchReport(input=str(tmp_path / "in.csv"), output=str(cache), output_format="csv")
    with pytest.raises(InputError, match="notes.csv"):
        export_scored(cache, tmp_path / "notes.csv", "csv", report=report, threshold=0.5)
    assert (tmp_path / "notes.csv").read_bytes() == NOTES


@pytest.mark.parametrize("case", ["unconfirmed-suffix", "activity-db", "xlsx-name"])
def test_gui_activity_export_refusals(
    qtbot, app_context, worker_pool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    """The dialog confirmed "notes", not the "notes.csv" the panel adds; the log itself (an
    SQLite file) is never a target; CSV text is never written under an .xlsx name."""
    from app.ui.activity import panel as module

    app_context.log("app_started")  # something to export
    target = {
        "unconfirmed-suffix": tmp_path / "notes.csv",
        "activity-db": Path(app_context.activity.path),
        "xlsx-name": tmp_path / "book.xlsx",
    }[case]
    if case != "activity-db":
        target.write_bytes(NOTES)
    before = target.read_bytes()
    chosen = str(tmp_path / "notes") if case == "unconfirmed-suffix" else str(target)
    monkeypatch.setattr(module.QFileDialog, "getSaveFileName", lambda *a, **k: (chosen, ""))
    panel = module.ActivityPanel(app_context, worker_pool)
    qtbot.addWidget(panel)
    try:
        panel._on_export_clicked()
        assert panel.result_label.text().startswith("✗"), panel.result_label.text()
        assert target.name in panel.result_label.text()
        assert target.read_bytes() == before
    finally:
        panel.shutdown()
