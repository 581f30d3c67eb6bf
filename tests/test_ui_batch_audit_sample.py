"""The Batch panel's "Draw audit sample…" in the main window: size and seed asked (default 200,
a random seed shown), SAMPLE.csv and its sidecar written on the worker pool from a scored CSV
(written through the export path first, or the batch's whole CSV export when it has one), never
over the input; an ``audit_sample_drawn`` event with the sample's hash and sizes; "Open in
Review" switches to the Review tab with the sample loaded. And ``audit sample`` on the command
line logs the same event."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from app.core.audit.sample_file import read_sample
from app.core.common.output_guard import provenance_path
from app.ui.batch.audit_sample import AuditSampleDialog
from tests.cli_runner import run_cli
from tests.main_window import shown_main_window
from tests.test_audit_sample import _write_scored
from tests.test_ui_batch import _run, _write


def _answer(monkeypatch, size: str, seed: str, path: Path, seen: list) -> None:
    """The dialog, answered by typing into its real fields and clicking OK."""

    def exec_(dialog: AuditSampleDialog) -> int:
        seen.append((dialog.size.value(), dialog.seed.text()))
        dialog.size.selectAll()
        dialog.size.lineEdit().setFocus()
        dialog.size.clear()
        from pytestqt.qtbot import QtBot

        bot = QtBot(dialog)
        bot.keyClicks(dialog.size, size)
        dialog.seed.clear()
        bot.keyClicks(dialog.seed, seed)
        dialog.path.setText(str(path))
        ok = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
        bot.mouseClick(ok, Qt.MouseButton.LeftButton)
        return dialog.result()

    monkeypatch.setattr(AuditSampleDialog, "exec", exec_)


def _events(ctx) -> list:
    return ctx.activity.query(action="audit_sample_drawn", limit=10)


def test_draw_sample_then_open_in_review(qtbot, app_context, worker_pool, tmp_path, monkeypatch):
    win = shown_main_window(qtbot, app_context, worker_pool, monkeypatch)
    win.tabs.setCurrentWidget(win.batch)
    src = _write(tmp_path / "in.csv", 60, broken=False)
    before = src.read_bytes()
    _run(qtbot, win.batch, src)
    panel = win.batch
    assert panel.sample_button.isEnabled() and not panel.review_button.isVisible()
    seen: list = []
    out = tmp_path / "SAMPLE.csv"
    _answer(monkeypatch, "30", "7", out, seen)
    qtbot.mouseClick(panel.sample_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel._sampler is None, timeout=20_000)
    size, seed = seen[0]
    assert size == 200 and seed.isdigit()  # the defaults: 200, a random seed shown
    assert "Audit sample of 30 items (seed 7)" in panel.status.text(), panel.status.text()
    scored = tmp_path / "SAMPLE.scored.csv"  # no CSV export yet: one is written first
    assert "scored CSV written first: SAMPLE.scored.csv" in panel.status.text()
    assert scored.is_file() and provenance_path(out).is_file()
    assert src.read_bytes() == before  # the input untouched
    sample = read_sample(out)
    assert len(sample.rows) == 30 and sample.provenance is not None
    assert sample.provenance["seed"] == 7 and sample.provenance["population"] == 60
    assert sample.provenance["threshold"] == app_context.state.threshold
    (event,) = _events(app_context)
    assert event.file_name == "SAMPLE.csv"
    assert event.file_sha256 == hashlib.sha256(out.read_bytes()).hexdigest()
    counts = json.loads(event.counts)
    assert (counts["sample_size"], counts["size_requested"], counts["population"]) == (30, 30, 60)
    assert "SAMPLE.scored.csv" in event.detail and "seed 7" in event.detail

    assert panel.review_button.isVisible()
    qtbot.mouseClick(panel.review_button, Qt.MouseButton.LeftButton)
    assert win.tabs.currentWidget() is win.review
    qtbot.waitUntil(lambda: win.review.queue is not None, timeout=10_000)
    assert win.review.queue.path == out and len(win.review.queue.items) == 30
    assert win.review.queue.sha256 == event.file_sha256


def test_the_batch_export_is_the_source_when_there_is_one(
    qtbot, batch_panel, app_context, tmp_path, monkeypatch
):
    panel = batch_panel
    _run(qtbot, panel, _write(tmp_path / "in.csv", 40, broken=False))
    export = tmp_path / "whole.csv"
    with qtbot.waitSignal(panel.export_done) as blocker:
        panel.export(export, "csv")
    assert blocker.args[1].startswith("done")
    out = tmp_path / "s.csv"
    _answer(monkeypatch, "40", "3", out, [])  # 10 a band at least (issue 15, H2)
    panel.sample_dialog()
    qtbot.waitUntil(lambda: panel._sampler is None, timeout=20_000)
    assert not (tmp_path / "s.scored.csv").exists()
    assert read_sample(out).provenance["source"] == "whole.csv"  # type: ignore[index]
    # A second draw over the input itself is refused in one line, the input intact.
    src = tmp_path / "in.csv"
    before = src.read_bytes()
    panel.draw_sample(5, 1, src)
    qtbot.waitUntil(lambda: panel._sampler is None, timeout=20_000)
    assert panel.status.text().startswith("No audit sample:") and src.read_bytes() == before
    assert len(_events(app_context)) == 1


def test_a_bad_seed_keeps_the_dialog_open(qtbot, tmp_path) -> None:
    dialog = AuditSampleDialog(None, tmp_path / "x.csv", 0.45)
    qtbot.addWidget(dialog)
    dialog.seed.setText("")
    dialog.accept()
    assert dialog.result() != 1 and "seed" in dialog.error.text()


@pytest.mark.usefixtures("bundled_scorer")
def test_cli_audit_sample_logs_the_event(tmp_path: Path) -> None:
    from app.core.activity.log import ActivityLog

    home, scored, out = tmp_path / "home", tmp_path / "scored.csv", tmp_path / "SAMPLE.csv"
    _write_scored(scored)
    done = run_cli("audit", "sample", str(scored), "--size", "40", "--seed", "5",
                   "--threshold", "0.5", "-o", str(out), ABUSE_DESK_HOME=str(home))  # fmt: skip
    assert done.returncode == 0, done.stderr
    log = ActivityLog.open_default(home / "data")
    try:
        (event,) = log.query(action="audit_sample_drawn")
    finally:
        log.close()
    assert event.file_name == "SAMPLE.csv" and event.threshold == 0.5
    assert event.file_sha256 == hashlib.sha256(out.read_bytes()).hexdigest()
    assert json.loads(event.counts)["sample_size"] == 40 and "seed 5" in event.detail
