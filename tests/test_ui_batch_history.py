"""Batch history through the real Batch panel: a job survives a restart (a new panel on the same
data folder), is reopened with the same rows and ledger, exported again, and removed."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from unittest.mock import MagicMock

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox

from app.core.results.export import CACHE_GONE
from app.core.results.history import BatchHistory
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
    # the ledger's words (40 scored, as the results and the export count them), not "42 rows"
    assert "· 40 scored, 1 rejected, 1 blank, 20 flagged ·" in bar.combo.currentText()
    assert bar.combo.currentText().endswith("@ 0.45")
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
    ARTIFACTS.mkdir(exist_ok=True)  # a fresh checkout has none
    assert panel.grab().save(str(ARTIFACTS / "batch_history_1024x700.png"))
    shown = bar.combo.closed_text()  # what the closed box paints: never clipped at 1024x700
    assert shown.startswith("in.csv · ") and shown.endswith("20 flagged @ 0.45")
    assert bar.combo.fontMetrics().horizontalAdvance(shown) < bar.combo.width() - 20
    assert bar.combo.toolTip().startswith(bar.combo.currentText())  # the whole line

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


def _reopened_panel(qtbot, app_context, worker_pool, tmp_path, name: str = "in.csv"):
    """A job run in one window, and a second window (the app started again) showing its
    history entry, not yet reopened."""
    first = BatchPanel(app_context, worker_pool)
    qtbot.addWidget(first)
    _run(qtbot, first, _write(tmp_path / name, 10))
    first.shutdown()
    panel = BatchPanel(app_context, worker_pool)
    qtbot.addWidget(panel)
    return panel, panel.history.selected()


def test_long_names_are_elided_in_the_middle_to_fit(qtbot, app_context, worker_pool, tmp_path):
    name = "tweets-from-the-december-moderation-queue-export.csv"
    panel, _ = _reopened_panel(qtbot, app_context, worker_pool, tmp_path, name)
    panel.resize(1024, 640)
    panel.show()
    qtbot.waitExposed(panel)
    combo = panel.history.combo
    shown = combo.closed_text()
    assert shown.startswith("tweets-") and "…" in shown.split(" · ")[0]
    assert shown.split(" · ")[0].endswith(".csv") and shown.endswith("flagged @ 0.45")
    assert combo.fontMetrics().horizontalAdvance(shown) < combo.width() - 20
    assert name in combo.toolTip() and "abuse-lr" in combo.toolTip()
    panel.shutdown()


def test_a_hand_edited_report_is_refused_on_reopen(qtbot, app_context, worker_pool, tmp_path):
    panel, entry = _reopened_panel(qtbot, app_context, worker_pool, tmp_path)
    path = panel.jobs.core.history.folder(entry.id) / "report.json"
    report = json.loads(path.read_text(encoding="utf-8"))
    report["rejected"] = [{"x": 1}]  # counts unchanged: only the rows' keys are wrong
    path.write_text(json.dumps(report), encoding="utf-8")
    qtbot.mouseClick(panel.history.reopen_button, Qt.MouseButton.LeftButton)
    status = panel.status.text()
    assert status.startswith("in.csv: cannot reopen (") and "remove it" in status
    assert "\n" not in status and panel.shown is None and panel.jobs.list.count() == 0
    assert panel.ledger.values["rows_read"].text() == "–"  # not half-updated
    panel.shutdown()


def test_an_entry_removed_elsewhere_is_not_exported_nor_reopened(
    qtbot, app_context, worker_pool, tmp_path, monkeypatch
):
    panel, entry = _reopened_panel(qtbot, app_context, worker_pool, tmp_path)
    qtbot.mouseClick(panel.history.reopen_button, Qt.MouseButton.LeftButton)
    assert panel.shown is not None
    BatchHistory(panel.jobs.core.history.root).remove(entry.id)  # `history remove` in a shell
    out = tmp_path / "again.csv"
    with qtbot.waitSignal(panel.export_done, timeout=30_000) as blocker:
        panel.export(out, "csv")
    assert blocker.args[1] == "failed: " + CACHE_GONE and not out.exists()
    assert "unexpectedly" not in panel.status.text()
    dialog = MagicMock(return_value=("", ""))  # Export CSV… says so before asking for a name
    monkeypatch.setattr(QFileDialog, "getSaveFileName", dialog)
    qtbot.mouseClick(panel.csv_button, Qt.MouseButton.LeftButton)
    assert not dialog.called and CACHE_GONE in panel.status.text()
    panel.reopen(entry)  # the open job of it, whose cache went: not "Reopened"
    assert "cannot reopen" in panel.status.text() and "Reopened" not in panel.status.text()
    assert panel.shown is None and panel.jobs.list.count() == 0
    panel.shutdown()


def test_an_unrounded_threshold_is_shown_as_given(qtbot, app_context, worker_pool, tmp_path):
    app_context.state.set_threshold(0.449)
    panel, entry = _reopened_panel(qtbot, app_context, worker_pool, tmp_path)
    assert panel.history.combo.currentText().endswith("@ 0.449")
    assert panel.history.combo.closed_text().endswith("flagged @ 0.449")
    qtbot.mouseClick(panel.history.reopen_button, Qt.MouseButton.LeftButton)
    assert panel.status.text().endswith(" at 0.449.")
    with qtbot.waitSignal(panel.export_done, timeout=30_000) as blocker:
        panel.export(tmp_path / "again.csv", "csv")
    assert blocker.args[1].endswith("labels at 0.449")
    panel.shutdown()
