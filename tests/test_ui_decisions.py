"""Apply with a decision record, driven through the real widgets: the rationale dialog (OK
disabled while blank), the record stored and the event logged; Cancel applies nothing; the
"Decision records…" dialog lists it and exports its PDF."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.core.decisions.records import arrays_sha256
from app.core.decisions.store import DecisionStore
from app.ui.threshold.decision_dialog import DecisionRecordsDialog
from app.ui.threshold.panel import ThresholdPanel
from tests.test_ui_threshold import answer_rationale


def make_panel(qtbot, app_context, worker_pool) -> ThresholdPanel:
    panel = ThresholdPanel(app_context, worker_pool)
    qtbot.addWidget(panel)
    return panel


@pytest.fixture
def panel(qtbot, app_context, worker_pool):
    widget = make_panel(qtbot, app_context, worker_pool)
    yield widget
    widget.shutdown()


def test_apply_asks_why_then_stores_and_logs_the_record(qtbot, panel, app_context, bundled_scorer):
    panel.slider.setValue(62)
    seen = answer_rationale(qtbot, "Queue fits two reviewers")
    qtbot.mouseClick(panel.controls.apply_button, Qt.MouseButton.LeftButton)
    assert seen == [False]  # OK disabled while the rationale is blank
    assert app_context.state.threshold == 0.62
    with DecisionStore() as store:
        (record,) = store.list()
    assert record.rationale == "Queue fits two reviewers"
    assert (record.policy.threshold, record.previous.threshold) == (0.62, 0.45)
    assert record.model_version == bundled_scorer.version_label
    assert record.manifest_sha256 == bundled_scorer.bundle.manifest_sha256
    ds = panel.dataset
    assert record.source.kind == "bundled"
    assert record.source.sha256 == arrays_sha256(ds.scores, ds.labels)
    m = ds.analysis.at(0.62)
    assert (record.at_new.tp, record.at_new.fp, record.at_new.fn) == (m.tp, m.fp, m.fn)
    (event,) = app_context.activity.query(action="threshold_decision")
    assert json.loads(event.counts)["record"] == record.id
    assert "Queue fits two reviewers" in event.detail
    assert len(app_context.activity.query(action="threshold_applied")) == 1


def test_cancel_applies_and_records_nothing(qtbot, app_context, worker_pool):
    panel = make_panel(qtbot, app_context, worker_pool)
    try:
        panel.slider.setValue(70)
        answer_rationale(qtbot, None)
        qtbot.mouseClick(panel.controls.apply_button, Qt.MouseButton.LeftButton)
        assert app_context.state.threshold == 0.45
        assert app_context.activity.query(action="threshold_decision") == []
        assert app_context.activity.query(action="threshold_applied") == []
        with DecisionStore() as store:
            assert store.list() == []
    finally:
        panel.shutdown()


def test_records_dialog_lists_and_exports_pdf(
    qtbot, app_context, worker_pool, tmp_path: Path, monkeypatch
):
    panel = make_panel(qtbot, app_context, worker_pool)
    try:
        panel.slider.setValue(55)
        panel.apply_threshold(rationale="first")
        panel.slider.setValue(65)
        panel.apply_threshold(rationale="second")
    finally:
        panel.shutdown()
    dialog = DecisionRecordsDialog()
    qtbot.addWidget(dialog)
    assert dialog.list.count() == 2 and "0.65" in dialog.list.item(0).text()  # newest first
    assert "Rationale: second" in dialog.details.toPlainText()
    out = tmp_path / "record.pdf"
    monkeypatch.setattr(dialog, "ask_pdf_path", lambda record: out)
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    assert out.read_bytes().startswith(b"%PDF") and "exported" in dialog.notice.text()
    dialog.show()
    shots = Path(__file__).resolve().parent / "_artifacts"
    shots.mkdir(parents=True, exist_ok=True)
    dialog.grab().save(str(shots / "decision-records.png"))


def test_a_damaged_records_file_is_said_in_the_dialog(qtbot, app_context):
    from app.core.common.paths import decisions_db_path

    path = decisions_db_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"junk" * 50)
    dialog = DecisionRecordsDialog()
    qtbot.addWidget(dialog)
    assert str(path) in dialog.notice.text() and dialog.list.count() == 0
    assert path.read_bytes() == b"junk" * 50


def test_apply_bands_at_a_traffic_records_the_day_the_dialog_shows(qtbot, app_context, worker_pool):
    from app.core.analysis.bands import BandPolicy
    from app.core.analysis.planning import planning_day

    panel = make_panel(qtbot, app_context, worker_pool)
    try:
        tb = panel.planner.traffic
        tb.prevalence_spin.setValue(5.0)
        tb.volume_spin.setValue(20_000)
        policy = BandPolicy(0.55, 0.8)
        panel.apply_threshold(rationale="bands at our traffic", bands=policy)
        seen = planning_day(panel.dataset.analysis, 0.55, panel.planner.planning)
    finally:
        panel.shutdown()
        worker_pool.wait()
    with DecisionStore() as store:
        (record,) = store.list()
    assert record.day_new["flagged"] == pytest.approx(seen.flagged_per_day)
    assert record.day_new["false_alarms"] == pytest.approx(seen.false_alarms_per_day)
    assert record.bands_per_day is not None
    assert sum(record.bands_per_day.values()) == pytest.approx(20_000)
    dialog = DecisionRecordsDialog()
    qtbot.addWidget(dialog)
    text = dialog.details.toPlainText()
    assert f"flagged per day: {seen.flagged_per_day:,.0f}" in text
    assert f"false alarms per day: {seen.false_alarms_per_day:,.0f}" in text
    assert f"escalate {record.bands_per_day['escalate']:,.0f}" in text and "Bands:" in text


def test_records_dialog_marks_an_audit_sample_record_as_estimates(qtbot, tmp_path: Path):
    from app.core.audit import sample_source
    from app.core.decisions.evidence import source_of_dataset
    from app.core.decisions.records import Policy
    from app.ui.threshold.decision_dialog import record_text
    from tests.test_audit_sources import fill_verdicts, make_sample
    from tests.test_decision_records import make

    path = make_sample(tmp_path)
    fill_verdicts(path)
    ds = sample_source.audit_dataset(sample_source.from_file(path))
    record = make(analysis=ds.analysis, resampler=ds.resampler, source=source_of_dataset(ds),
                  policy=Policy(0.5), previous=Policy(0.45), prevalence=0.05, volume=10_000)  # fmt: skip
    text = record_text(record)
    assert f"caught ≈ {round(record.at_new.tp):,}" in text
    assert "weighted estimates for the whole batch" in text
    assert f"(from {record.at_new.n_labelled:,} labelled)" in text
    assert "flagged per day: ≈ " in text


def test_the_pdf_is_suggested_in_the_last_folder_and_remembers_it(
    qtbot, app_context, worker_pool, tmp_path: Path, monkeypatch
):
    from PySide6.QtWidgets import QFileDialog

    panel = make_panel(qtbot, app_context, worker_pool)
    try:
        panel.slider.setValue(55)
        panel.apply_threshold(rationale="first")
    finally:
        panel.shutdown()
    last = tmp_path / "reports"
    last.mkdir()
    app_context.settings.last_folder = str(last)
    dialog = DecisionRecordsDialog(settings=app_context.settings)
    qtbot.addWidget(dialog)
    asked: list[str] = []
    chosen = tmp_path / "filed" / "d1.pdf"
    chosen.parent.mkdir()

    def answer(_parent, _title, suggested, _filter):
        asked.append(suggested)
        return str(chosen), "PDF (*.pdf)"

    monkeypatch.setattr(QFileDialog, "getSaveFileName", answer)
    assert dialog.list.count() == 1 and dialog.export_button.isEnabled(), dialog.notice.text()
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    assert asked == [str(last / "decision-1.pdf")]
    assert chosen.read_bytes().startswith(b"%PDF")
    assert app_context.settings.last_folder == str(chosen.parent)
    app_context.settings.last_folder = ""  # none yet: the documents folder (or home), absolute
    assert (
        DecisionRecordsDialog(settings=app_context.settings)
        .suggested_pdf_path(dialog.records[0])
        .is_absolute()
    )


def test_apply_refuses_an_empty_records_file_and_leaves_it(qtbot, app_context, worker_pool):
    from app.core.common.paths import decisions_db_path

    path = decisions_db_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    before = app_context.state.threshold
    panel = make_panel(qtbot, app_context, worker_pool)
    try:
        panel.slider.setValue(55)
        panel.apply_threshold(rationale="into an empty file")
        notice = panel.controls.notice.text()
    finally:
        panel.shutdown()
    assert "Not applied" in notice and "empty (0 bytes)" in notice and str(path) in notice
    assert path.read_bytes() == b"" and app_context.state.threshold == before
