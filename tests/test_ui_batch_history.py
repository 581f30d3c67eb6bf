"""Batch history through the real Batch panel: a job survives a restart (a new panel on the same
data folder), is reopened with the same rows and ledger, exported again, and removed."""

from __future__ import annotations

import csv
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from app.ui.batch.panel import BatchPanel
from tests.test_ui_batch import _cache_files, _history_files, _run, _write

YES = QMessageBox.StandardButton.Yes
ARTIFACTS = Path(__file__).resolve().parent / "_artifacts"


def _yes(*_args):
    return YES


def test_history_survives_a_restart_reopens_exports_and_removes(
    qtbot, app_context, worker_pool, tmp_path, monkeypatch
):
    first = BatchPanel(app_context, worker_pool)
    qtbot.addWidget(first)
    src = _write(tmp_path / "in.csv", 40)
    _run(qtbot, first, src)
    before = first.shown.result
    texts = before.table.texts.tolist()
    assert not first.has_unexported_results()  # the history keeps them: closing loses nothing
    first.shutdown()  # the app closes: the session's caches go, the history's stay
    first.deleteLater()
    assert _cache_files(app_context) == [] and len(_history_files(app_context)) == 5

    panel = BatchPanel(app_context, worker_pool)  # the app starts again
    qtbot.addWidget(panel)
    bar = panel.history
    assert bar.combo.count() == 1 and bar.combo.currentText().startswith("in.csv")
    assert "42 rows, " in bar.combo.currentText() and "@ 0.45" in bar.combo.currentText()
    assert bar.reopen_button.isEnabled() and panel.shown is None
    qtbot.mouseClick(bar.reopen_button, Qt.MouseButton.LeftButton)
    job = panel.shown
    assert job is not None and job.result is not None and "Reopened in.csv" in panel.status.text()
    report = job.result.report
    assert (report.rows_read, report.rows_scored, report.rows_rejected, report.rows_blank) == (
        42, 40, 1, 1,
    )  # fmt: skip
    assert report.model_version == before.report.model_version and job.label_threshold == 0.45
    assert panel.ledger.values["rows_rejected"].text() == "1"
    assert panel.ledger.rejected.index(0, 0).data() == "4"
    assert panel.results.model.rowCount() == 40 and job.result.table.texts.tolist() == texts
    assert panel.jobs.list.count() == 1 and panel.csv_button.isEnabled()
    panel.resize(1024, 640)  # the Batch tab of a 1024x700 window
    panel.show()
    qtbot.waitExposed(panel)
    assert panel.grab().save(str(ARTIFACTS / "batch_history_1024x700.png"))

    out = tmp_path / "again.csv"
    with qtbot.waitSignal(panel.export_done, timeout=30_000) as blocker:
        panel.export(out, "csv")
    assert blocker.args[1].startswith("done: 40 rows")
    with open(out, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["text"] for r in rows] == texts and rows[0]["abuse_label"] in ("abusive", "ok")

    monkeypatch.setattr(QMessageBox, "question", _yes)
    qtbot.mouseClick(bar.remove_button, Qt.MouseButton.LeftButton)
    assert bar.combo.currentText() == "No earlier jobs" and not bar.remove_button.isEnabled()
    assert panel.shown is None and panel.jobs.list.count() == 0
    assert [p.name for p in _history_files(app_context)] == ["index.json"]
    assert src.exists()  # the user's file is never touched
    removed = [e for e in app_context.activity.query() if e.action == "batch_history_removed"]
    assert [e.file_name for e in removed] == [src.name]
    panel.shutdown()


def test_a_gone_cache_is_shown_and_cannot_be_reopened(qtbot, app_context, worker_pool, tmp_path):
    first = BatchPanel(app_context, worker_pool)
    qtbot.addWidget(first)
    _run(qtbot, first, _write(tmp_path / "in.csv", 10))
    first.shutdown()
    [entry] = first.jobs.core.history.entries()
    first.jobs.core.history.cache_path(entry).unlink()
    panel = BatchPanel(app_context, worker_pool)
    qtbot.addWidget(panel)
    assert panel.history.combo.currentText().endswith("cache gone — rescore")
    assert not panel.history.reopen_button.isEnabled() and panel.history.remove_button.isEnabled()
    panel.shutdown()


def test_history_size_zero_keeps_nothing(qtbot, app_context, worker_pool, tmp_path):
    app_context.settings.batch_history_size = 0
    panel = BatchPanel(app_context, worker_pool)
    qtbot.addWidget(panel)
    _run(qtbot, panel, _write(tmp_path / "in.csv", 10))
    assert panel.has_unexported_results() and panel.history.combo.count() == 1
    assert not panel.history.reopen_button.isEnabled()
    panel.shutdown()
    assert _cache_files(app_context) == []
    assert [p.name for p in _history_files(app_context)] == ["index.json"]


def test_the_oldest_job_leaves_the_history_and_the_list(qtbot, app_context, worker_pool, tmp_path):
    app_context.settings.batch_history_size = 1
    panel = BatchPanel(app_context, worker_pool)
    qtbot.addWidget(panel)
    _run(qtbot, panel, _write(tmp_path / "a.csv", 5))
    first = panel.shown.result.cache_path
    _run(qtbot, panel, _write(tmp_path / "b.csv", 6))
    assert not first.exists() and (tmp_path / "a.csv").exists()  # our cache only
    assert [panel.jobs.list.item(i).text() for i in range(panel.jobs.list.count())] == [
        "b.csv · done"
    ]
    assert panel.history.combo.count() == 1 and panel.history.combo.currentText().startswith(
        "b.csv"
    )
    panel.shutdown()


def test_preferences_set_the_history_size_and_it_applies_at_the_next_start(
    qtbot, app_context, worker_pool, tmp_path, monkeypatch
):
    from app.ui.shell.preferences import SettingsDialog

    panel = BatchPanel(app_context, worker_pool)
    qtbot.addWidget(panel)
    _run(qtbot, panel, _write(tmp_path / "a.csv", 5))
    panel.shutdown()
    dialog = SettingsDialog(app_context)
    qtbot.addWidget(dialog)
    assert dialog.history.value() == 10 and dialog.history.maximum() == 100
    dialog.history.setValue(0)
    assert dialog.apply() == {"batch_history_size": (10, 0)}
    assert app_context.settings.batch_history_size == 0
    event = app_context.activity.query(action="settings_changed")[0]
    assert "batch_history_size: 10 -> 0" in event.detail
    again = BatchPanel(app_context, worker_pool)  # a setting lowered: applied when the panel opens
    qtbot.addWidget(again)
    assert again.history.combo.currentText() == "No earlier jobs"
    assert [p.name for p in _history_files(app_context)] == ["index.json"]
    again.shutdown()
