"""The Activity and Session panels, driven like a user would, checked against the core.

What the panels show is compared with what ``ActivityLog.query`` and ``SessionMetrics.snapshot``
return, or with values worked out by hand; screenshots at 1280x800 go to tests/_artifacts.
"""

from __future__ import annotations

import csv
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from PySide6.QtCore import QDate, Qt

from app.core.common.user import workstation_user
from app.core.context.state import AppContext
from app.ui.activity.details import action_words
from app.ui.activity.panel import DETAIL_MIN_HEIGHT, ActivityPanel
from app.ui.session.panel import SessionPanel, format_figure

ARTIFACTS = Path(__file__).resolve().parent / "_artifacts"
TIMEOUT = 5_000


def show(qtbot, widget) -> None:
    qtbot.addWidget(widget)
    widget.resize(1280, 800)
    widget.show()
    qtbot.waitExposed(widget)


@pytest.fixture
def activity_panel(qtbot, app_context, worker_pool):
    panel = ActivityPanel(app_context, worker_pool)
    show(qtbot, panel)
    yield panel
    panel.shutdown()


@pytest.fixture
def session_panel(qtbot, app_context, worker_pool):
    panel = SessionPanel(app_context, worker_pool)
    show(qtbot, panel)
    yield panel
    panel.shutdown()


def cell(panel: ActivityPanel, row: int, column: int, role=Qt.ItemDataRole.DisplayRole):
    return panel.model.index(row, column).data(role)


def shown_ids(panel: ActivityPanel) -> list[int]:
    return [event.id for event in panel.model.events]


def log_sample(ctx: AppContext) -> None:
    """Events over 40 days, as the other panels would log them."""
    now = datetime.now(UTC)
    for days, action, extra in [
        (40, "app_started", {"detail": "abuse-desk 0.9"}),
        (30, "score_text", {"text": "old insult you idiot", "score": 0.91}),
        (12, "batch_finished", {"file_name": "march.csv", "counts": {"rows_read": 9}}),
        (2, "threshold_applied", {"detail": "0.45 -> 0.50"}),
        (1, "batch_started", {"file_name": "april.csv", "file_sha256": "c0ffee" * 10 + "abcd"}),
    ]:
        ctx.log(action, time_utc=now - timedelta(days=days), **extra)
    ctx.log("score_text", text="thanks, see you tomorrow", score=0.0312)
    ctx.log(
        "batch_finished",
        file_name="april.csv",
        file_sha256="c0ffee" * 10 + "abcd",
        counts={"rows_read": 12_500, "rows_scored": 12_480, "flagged": 1_337},
        score=None,
        detail="finished in 3.2 s",
    )
    ctx.log("export", file_name="=cmd|calc.xlsx", counts={"rows_written": 12_480})


# --- Activity panel ----------------------------------------------------------------------------


def test_logged_events_appear_as_rows_with_their_values(qtbot, activity_panel, app_context):
    assert activity_panel.model.rowCount() == 0
    text = "you are a complete idiot"
    scored = app_context.log("score_text", text=text, score=0.87314, detail="abusive")
    batch = app_context.log(
        "batch_finished",
        file_name="input.csv",
        file_sha256="ab" * 32,
        counts={"rows_read": 1200, "flagged": 37},
    )
    activity_panel.refresh()
    assert shown_ids(activity_panel) == [batch.id, scored.id]  # newest first

    model_label = app_context.state.scorer.version_label
    local = datetime.fromisoformat(scored.time_utc).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    hmac_hex = app_context.activity.text_hmac(text)
    assert (
        [cell(activity_panel, 1, c) for c in range(10)]
        == [
            local,
            "Text scored",  # the event type in words (the logged name in the tooltip)
            workstation_user(),  # who was at the workstation
            model_label,
            "0.45",
            "0.873",
            "abusive",  # no counts: the detail alone
            "",
            "",
            f"HMAC {hmac_hex[:16]}…",
        ]
    )
    assert cell(activity_panel, 1, 9, Qt.ItemDataRole.ToolTipRole).endswith(hmac_hex)
    assert cell(activity_panel, 1, 1, Qt.ItemDataRole.ToolTipRole).endswith("“score_text”)")
    assert [cell(activity_panel, 0, c) for c in (1, 6, 7, 8)] == [
        "Batch job finished",
        "read 1,200 · flagged 37",  # short words, the ledger's order first
        "input.csv",
        "abababababab…",
    ]
    assert "not stored" in activity_panel.privacy.text()
    assert "Showing 2 of 2 events" == activity_panel.count_label.text()


def test_new_events_appear_while_visible_without_calling_refresh(
    qtbot, activity_panel, app_context
):
    app_context.log("app_started")
    qtbot.waitUntil(lambda: activity_panel.model.rowCount() == 1, timeout=TIMEOUT)
    activity_panel.hide()
    assert not activity_panel._poll_timer.isActive()
    app_context.log("export", file_name="x.csv")
    activity_panel.show()  # becoming visible re-queries at once
    assert activity_panel.model.rowCount() == 2


def test_stored_raw_text_is_shown_and_announced(qtbot, app_context, worker_pool):
    app_context.activity.store_raw_text = True
    app_context.log("score_text", text="visible\ntext", score=0.2)
    panel = ActivityPanel(app_context, worker_pool)
    show(qtbot, panel)
    try:
        assert cell(panel, 0, 9) == "visible text"
        assert "Raw texts are stored" in panel.privacy.text()
    finally:
        panel.shutdown()


def test_filters_show_what_the_core_query_returns(qtbot, activity_panel, app_context):
    log_sample(app_context)
    activity = app_context.activity

    def check(expected_count: int) -> None:
        filters = activity_panel.filters()
        assert shown_ids(activity_panel) == [e.id for e in activity.query(**filters)]
        assert activity_panel.model.rowCount() == expected_count, filters

    activity_panel.refresh()
    check(5)  # default: the last 7 days (the two older-dated events of days 1 and 2 included)
    activity_panel.all_dates.setChecked(True)
    check(8)
    activity_panel.action_combo.setCurrentIndex(activity_panel.action_combo.findData("score_text"))
    check(2)
    activity_panel.all_dates.setChecked(False)
    check(1)
    activity_panel.from_date.setDate(QDate.currentDate().addDays(-35))
    check(2)
    activity_panel.action_combo.setCurrentIndex(0)
    qtbot.keyClicks(activity_panel.search, "APRIL")  # case-insensitive, debounced
    qtbot.waitUntil(lambda: activity_panel.model.rowCount() == 2, timeout=TIMEOUT)
    check(2)
    activity_panel.search.setText("thanks, see you tomorrow")  # a whole text, found by its HMAC
    qtbot.waitUntil(lambda: activity_panel.model.rowCount() == 1, timeout=TIMEOUT)
    check(1)
    assert cell(activity_panel, 0, 1) == "Text scored"
    activity_panel.to_date.setDate(QDate.currentDate().addDays(-3))  # ends before that event
    check(0)


def test_export_writes_the_filtered_events_and_is_logged(
    qtbot, activity_panel, app_context, tmp_path
):
    log_sample(app_context)
    activity_panel.all_dates.setChecked(True)
    activity_panel.action_combo.setCurrentIndex(
        activity_panel.action_combo.findData("batch_finished")
    )
    expected = [e.id for e in app_context.activity.query(action="batch_finished")]
    out = tmp_path / "activity.csv"
    assert activity_panel.export_csv(out) == len(expected) == 2
    with open(out, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(row["id"]) for row in rows] == expected
    assert rows[0]["file_name"] == "april.csv" and rows[0]["action"] == "batch_finished"
    assert "Exported 2 events" in activity_panel.result_label.text()
    latest = app_context.activity.query(limit=1)[0]
    assert latest.action == "export" and latest.file_name == "activity.csv"


def test_verify_shows_intact_then_names_a_tampered_event(qtbot, activity_panel, app_context):
    log_sample(app_context)
    qtbot.mouseClick(activity_panel.verify_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "intact" in activity_panel.result_label.text(), timeout=TIMEOUT)
    assert activity_panel.result_label.text() == "✓ Log verified: 8 events, chain intact"
    qtbot.waitUntil(activity_panel.verify_button.isEnabled, timeout=TIMEOUT)

    victim = app_context.activity.query(action="threshold_applied")[0].id
    with sqlite3.connect(app_context.activity.path) as db:
        db.execute("UPDATE events SET detail = 'nothing to see' WHERE id = ?", [victim])
    activity_panel.verify()
    qtbot.waitUntil(lambda: "FAILED" in activity_panel.result_label.text(), timeout=TIMEOUT)
    assert f"event {victim}:" in activity_panel.result_label.text()
    qtbot.waitUntil(activity_panel.verify_button.isEnabled, timeout=TIMEOUT)


def test_purge_uses_the_retention_setting_and_shows_the_purge(qtbot, activity_panel, app_context):
    log_sample(app_context)
    app_context.settings.log_retention_days = 20
    activity_panel.refresh()
    assert activity_panel.purge_button.text() == "Purge older than 20 days…"
    assert activity_panel.purge_now() == 2  # the 40- and 30-day-old events
    activity_panel.all_dates.setChecked(True)
    assert activity_panel.model.rowCount() == 8 - 2 + 1
    assert cell(activity_panel, 0, 1) == "Old events purged"
    assert app_context.activity.verify()[0]


def _row_centre(panel: ActivityPanel, row: int):
    return panel.table.visualRect(panel.model.index(row, 1)).center()


def test_scores_show_as_the_score_panel_shows_them_never_1_000(qtbot, activity_panel, app_context):
    app_context.log("score_text", text="you idiot", score=0.9999999854812562, detail="abusive")
    activity_panel.refresh()
    assert cell(activity_panel, 0, 5) == "> 0.999"  # fmt_score: not "1.000" for a score below 1
    qtbot.mouseClick(
        activity_panel.table.viewport(),
        Qt.MouseButton.LeftButton,
        pos=_row_centre(activity_panel, 0),
    )
    assert "Score: > 0.999" in activity_panel.detail.toPlainText().splitlines()


def test_the_detail_pane_says_the_selected_event_in_full_and_in_words(
    qtbot, activity_panel, app_context
):
    detail = "from Tweets labelled offensive or not (OLID) (previous 0.45)"
    applied = app_context.log(
        "threshold_applied",
        threshold=0.5,
        counts={"n": 100, "tp": 15, "fp": 2, "fn": 3, "tn": 80},
        detail=detail,
    )
    app_context.log("batch_finished", file_name="april.csv", counts={"rows_read": 12_500})
    activity_panel.refresh()
    assert activity_panel.detail.toPlainText() == ""  # nothing selected yet
    assert "Select an event" in activity_panel.detail.placeholderText()
    # The table's counts say "missed" and "false alarms", never fn/fp.
    assert cell(activity_panel, 1, 6) == (
        f"missed 3 · false alarms 2 · n 100 · correctly passed 80 · caught 15 — {detail}"
    )
    qtbot.mouseClick(
        activity_panel.table.viewport(),
        Qt.MouseButton.LeftButton,
        pos=_row_centre(activity_panel, 1),
    )
    text = activity_panel.detail.toPlainText()
    local = datetime.fromisoformat(applied.time_utc).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    assert text.splitlines()[0] == (
        f"Threshold applied (app-wide) (event {applied.id}, logged as “threshold_applied”)"
    )
    for line in (
        f"Time: {local} (this computer's time; logged in UTC as {applied.time_utc})",
        f"User: {workstation_user()} (workstation account)",
        f"Model: {app_context.state.scorer.version_label}",
        "Threshold: 0.50",
        "    missed (abusive, not flagged): 3",
        "    false alarms (benign, flagged): 2",
        "    caught (abusive, flagged): 15",
        "    labelled items: 100",
        f"Detail: {detail}",
    ):
        assert line in text.splitlines()
    assert " fn" not in text and " fp" not in text
    # The action filter says the event types in words too; its data stays the log's id.
    combo = activity_panel.action_combo
    assert combo.itemText(combo.findData("threshold_applied")) == "Threshold applied (app-wide)"

    # A new event arrives on top: the pane keeps showing the same event (now row 2).
    app_context.log("score_text", text="hello", score=0.01)
    activity_panel.refresh()
    assert activity_panel.table.currentIndex().row() == 2
    assert activity_panel.detail.toPlainText() == text


def test_double_click_or_enter_opens_the_collapsed_detail_pane(qtbot, activity_panel, app_context):
    log_sample(app_context)
    activity_panel.all_dates.setChecked(True)
    panel, splitter = activity_panel, activity_panel.splitter
    panel.resize(1024, 700)
    total = sum(splitter.sizes())
    splitter.setSizes([total, 0])  # the analyst collapsed the pane
    assert splitter.sizes()[1] == 0
    # A real double-click starts with a click: QTest's lone double-click event has no press.
    qtbot.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=_row_centre(panel, 0))
    qtbot.mouseDClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=_row_centre(panel, 0))
    assert splitter.sizes()[1] >= DETAIL_MIN_HEIGHT
    assert panel.focusWidget() is panel.detail
    event = panel.model.events[0]
    assert panel.detail.toPlainText().startswith(f"Exported (event {event.id},")
    assert "Exported file: =cmd|calc.xlsx" in panel.detail.toPlainText()  # text, whole

    splitter.setSizes([total, 0])
    panel.table.setFocus()
    panel.table.selectRow(1)
    qtbot.keyClick(panel.table, Qt.Key.Key_Down)  # row 2, by keyboard
    qtbot.keyClick(panel.table, Qt.Key.Key_Return)
    assert splitter.sizes()[1] >= DETAIL_MIN_HEIGHT
    second = panel.model.events[2]
    assert panel.detail.toPlainText().startswith(
        f"{action_words(second.action)} (event {second.id},"
    )
    ARTIFACTS.mkdir(exist_ok=True)
    assert panel.grab().save(str(ARTIFACTS / "activity_panel_detail_1024x700.png"))


def test_activity_screenshot(qtbot, activity_panel, app_context):
    log_sample(app_context)
    for i, text in enumerate(["idiot", "hello friend", "shut up", "lovely weather"]):
        app_context.log("score_text", text=text, score=[0.93, 0.04, 0.71, 0.02][i])
    activity_panel.refresh()
    activity_panel.verify()
    qtbot.waitUntil(lambda: "intact" in activity_panel.result_label.text(), timeout=TIMEOUT)
    qtbot.waitUntil(activity_panel.verify_button.isEnabled, timeout=TIMEOUT)
    ARTIFACTS.mkdir(exist_ok=True)
    assert activity_panel.grab().save(str(ARTIFACTS / "activity_panel.png"))


# --- Session panel -----------------------------------------------------------------------------


def test_session_figures_are_those_of_the_metrics(qtbot, session_panel, app_context):
    metrics = app_context.session
    assert session_panel.figures["texts_scored"].text() == "0"
    assert session_panel.figures["latency_p50_ms"].text() == "–"
    for latency, flagged in [(0.010, True), (0.020, False), (0.030, False)]:
        metrics.record_text(latency, flagged)
    metrics.record_batch(1000, 250, 2.0)
    session_panel.refresh()
    shown = {key: label.text() for key, label in session_panel.figures.items()}
    assert shown == {
        "texts_scored": "3",
        "batches_run": "1",
        "batch_rows_per_s": "500",
        "latency_p50_ms": "20.0 ms",
        "latency_p95_ms": "29.0 ms",  # numpy's linear interpolation between 20 and 30
        "flag_rate": "25.0%",  # (1 + 250) / (3 + 1000)
    }
    snapshot = metrics.snapshot()
    assert shown == {key: format_figure(key, snapshot[key]) for key in shown}
    metrics.record_text(0.005, True)  # the 1-second timer picks it up while visible
    qtbot.waitUntil(lambda: session_panel.figures["texts_scored"].text() == "4", timeout=TIMEOUT)
    session_panel.hide()
    assert not session_panel._timer.isActive()


def test_one_text_reads_in_the_singular_and_a_first_texts_loading_is_not_latency(
    qtbot, session_panel, score_panel, app_context
):
    """Typed in the real Score panel: the model's first text (which loads the explanation code)
    is counted but kept out of the latency figures, and said apart; "1 text scored"."""
    from app.ui.session.panel import LATENCY_TIP

    qtbot.keyClicks(score_panel.editor, "you idiot")
    score_panel.score_now()
    session_panel.refresh()
    assert session_panel.figures["texts_scored"].text() == "1"
    assert session_panel.captions["texts_scored"].text() == "text scored"
    assert session_panel.captions["batches_run"].text() == "batches run"  # 0: plural
    assert session_panel.figures["latency_p50_ms"].text() == "–"  # no steady-state sample yet
    assert "A model's first text took" in session_panel.uptime.text()
    assert "0 rows scored in batches" in session_panel.uptime.text()
    assert "150 ms pause itself is not counted" in LATENCY_TIP
    assert session_panel.figures["latency_p50_ms"].toolTip() == LATENCY_TIP
    score_panel.editor.setPlainText("have a nice day")
    score_panel.score_now()
    session_panel.refresh()
    assert session_panel.captions["texts_scored"].text() == "texts scored"
    shown = session_panel.figures["latency_p50_ms"].text()
    assert shown == format_figure("latency_p50_ms", score_panel.last_score_ms)  # this text only
    app_context.session.record_batch(1, 0, 1.0)
    session_panel.refresh()
    assert session_panel.captions["batches_run"].text() == "batch run"
    assert "1 row scored in batches" in session_panel.uptime.text()


def test_model_hashes_and_card_are_shown(session_panel, app_context):
    bundle = app_context.state.scorer.bundle
    assert session_panel.model_name.text() == bundle.name
    assert session_panel.model_version.text() == bundle.version
    assert "Verified" in session_panel.model_state.text()
    shown = {
        session_panel.files.item(row, 0).text(): session_panel.files.item(row, 1).text()
        for row in range(session_panel.files.rowCount())
    }
    assert shown == bundle.file_hashes
    card = session_panel.card.toPlainText()
    assert "Model card" in card and bundle.name in card and "Calibration" in card
    assert "##" not in card  # rendered, not shown as Markdown source


def test_self_test_runs_in_a_worker_and_shows_six_ok_checks(qtbot, session_panel, worker_pool):
    qtbot.mouseClick(session_panel.self_test_button, Qt.MouseButton.LeftButton)
    assert not session_panel.self_test_button.isEnabled()
    assert worker_pool.active  # running in the pool, not on the GUI thread
    qtbot.waitUntil(lambda: len(session_panel.self_test_checks) == 6, timeout=30_000)
    assert all(check.ok for check in session_panel.self_test_checks)
    results = [session_panel.checks.item(row, 1).text() for row in range(6)]
    assert results == ["✓ ok"] * 6
    assert session_panel.self_test_status.text().startswith("All 6 checks passed")
    qtbot.waitUntil(session_panel.self_test_button.isEnabled, timeout=TIMEOUT)


def test_session_panel_follows_model_changes(session_panel, app_context, tmp_path):
    real = app_context.state.scorer
    other = SimpleNamespace(
        version_label="other 9.9",
        bundle=SimpleNamespace(
            name="other",
            version="9.9",
            path=tmp_path,
            file_hashes={"coef.npy": "1" * 64},
            texts={"MODEL_CARD.md": "# Model card: other 9.9\n\nTrained on *nothing*."},
        ),
    )
    app_context.state.set_scorer(other)
    assert session_panel.model_name.text() == "other"
    assert session_panel.files.rowCount() == 1
    assert "Trained on nothing." in session_panel.card.toPlainText()
    app_context.state.set_scorer(None)
    assert session_panel.model_state.text() == "No model loaded"
    assert not session_panel.self_test_button.isEnabled()
    app_context.state.set_scorer(real)
    assert session_panel.model_name.text() == real.bundle.name
    assert session_panel.self_test_button.isEnabled()
    session_panel.shutdown()  # unsubscribed: later changes no longer reach the panel
    app_context.state.set_scorer(other)
    assert session_panel.model_name.text() == real.bundle.name


def test_session_screenshot(qtbot, session_panel, app_context):
    metrics = app_context.session
    for i in range(200):
        metrics.record_text(0.0015 + (i % 17) / 2000, i % 5 == 0)
    metrics.record_batch(12_480, 1_337, 3.2)
    session_panel.refresh()
    session_panel.run_self_test()
    qtbot.waitUntil(lambda: len(session_panel.self_test_checks) == 6, timeout=30_000)
    qtbot.waitUntil(session_panel.self_test_button.isEnabled, timeout=TIMEOUT)
    ARTIFACTS.mkdir(exist_ok=True)
    assert session_panel.grab().save(str(ARTIFACTS / "session_panel.png"))
