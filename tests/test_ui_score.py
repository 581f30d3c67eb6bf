"""The Score panel, driven like a user would: typing, waiting, reading what it shows."""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.ui.score.panel import ScorePanel

ARTIFACTS = Path(__file__).resolve().parent / "_artifacts"


@pytest.fixture
def panel(score_panel):
    return score_panel


def test_typing_shows_score_label_and_terms(qtbot, panel, app_context):
    qtbot.keyClicks(panel.editor, "shut up you stupid idiot")
    qtbot.waitUntil(lambda: panel.score_label.text() != "–", timeout=2000)
    scorer = app_context.state.scorer
    expected = scorer.score_text("shut up you stupid idiot", 0.45)
    # 0.99999999… is not certainty: the panel says so instead of rounding to "1.000"
    assert expected.score > 0.999 and panel.score_label.text() == "> 0.999"
    assert panel.verdict.text() == expected.label.upper()
    shown_terms = [panel.terms.item(r, 0).text() for r in range(panel.terms.rowCount())]
    top = scorer.explain("shut up you stupid idiot", top_k=3).terms
    assert shown_terms[:3] == [t.display for t in top]
    html = panel.highlight.toHtml()
    assert "idiot" in html and "background-color" in html


def test_threshold_change_relabels_without_retyping(qtbot, panel, app_context):
    panel.editor.setPlainText("you are a moron")
    qtbot.waitUntil(lambda: panel.result is not None and not panel.result.empty, timeout=2000)
    score = panel.result.score
    app_context.state.set_threshold(min(1.0, score + 0.01))
    assert panel.verdict.text() == "BENIGN"
    app_context.state.set_threshold(max(0.0, score - 0.01))
    assert panel.verdict.text() == "ABUSIVE"


def test_empty_and_truncated_texts_get_a_notice(qtbot, panel, app_context):
    panel.editor.setPlainText("   ")
    panel.score_now()
    assert panel.score_label.text() == "–" and "Empty" in panel.notice.text()
    app_context.state.scorer.max_chars = 100  # a private limit keeps the test fast
    try:
        panel.editor.setPlainText("idiot " * 50)
        panel.score_now()
        assert "Long text (300 characters): scored the first 100 characters." == panel.notice.text()
        assert panel.result.truncated
    finally:
        app_context.state.scorer.max_chars = 20_000


def test_each_settled_text_is_one_activity_event(qtbot, panel, app_context):
    qtbot.keyClicks(panel.editor, "hello there friend")
    qtbot.waitUntil(lambda: app_context.activity.count() == 1, timeout=5000)
    event = app_context.activity.query()[0]
    assert event.action == "score_text" and event.text is None  # raw text not stored
    assert event.text_hmac == app_context.activity.text_hmac("hello there friend")
    assert event.score == pytest.approx(panel.result.score)
    qtbot.keyClick(
        panel.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier
    )  # same text
    assert app_context.activity.count() == 1
    qtbot.keyClicks(panel.editor, " again")
    qtbot.keyClick(panel.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert app_context.activity.count() == 2


def test_copy_as_json_puts_json_on_the_clipboard(qtbot, panel):
    panel.editor.setPlainText("you idiot")
    panel.score_now()
    qtbot.mouseClick(panel.copy_json_button, Qt.MouseButton.LeftButton)
    copied = json.loads(QApplication.clipboard().text())
    assert copied["score"] == pytest.approx(panel.result.score)
    assert copied["model_version"] and copied["terms"]


def test_keystroke_to_score_time_and_screenshot(qtbot, panel):
    """Measures keystroke-to-score (printed, not asserted) and saves the panel's screenshot."""
    text = "Honestly, you are the most pathetic idiot I have ever had to deal with. Shut up, loser."
    times = []
    for ch in text[:30]:
        t0 = time.perf_counter()
        qtbot.keyClick(panel.editor, ch)
        expected_len = len(panel.editor.toPlainText())
        qtbot.waitUntil(
            lambda n=expected_len: panel.result is not None and panel.result.chars == n,
            timeout=2000,
        )
        times.append(time.perf_counter() - t0)
    print(
        f"\nkeystroke-to-score median {1000 * statistics.median(times):.1f} ms "
        f"(includes the {150} ms debounce); compute {panel.last_score_ms:.2f} ms"
    )
    panel.editor.setPlainText(
        text + "\n\nThanks for the lovely lunch with the team, see you at the meeting!"
    )
    panel.score_now()
    ARTIFACTS.mkdir(exist_ok=True)
    assert panel.grab().save(str(ARTIFACTS / "score_panel.png"))


# --- the activity-log spam guard ---------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _settle(panel: ScorePanel, text: str) -> None:
    panel.editor.setPlainText(text)
    panel.score_now()
    panel.log_current()


def test_rate_limit_counts_suppressed_texts_and_the_next_event_records_them(
    qtbot, app_context, worker_pool
):
    from app.core.common.limits import RateGuard

    clock = FakeClock()
    widget = ScorePanel(app_context, worker_pool, rate_guard=RateGuard(2, clock=clock))
    qtbot.addWidget(widget)
    widget.show()
    try:
        _settle(widget, "first text")
        _settle(widget, "second text")
        assert app_context.activity.count() == 2 and widget.rate_notice.isHidden()
        _settle(widget, "third text you idiot")
        assert app_context.activity.count() == 2  # over the limit: counted, not logged
        assert widget.rate_notice.isVisible()
        assert "1 further text scored but not logged" in widget.rate_notice.text()
        widget.log_current()  # Ctrl+Enter on the same text does not count it twice
        assert widget.rate_guard.suppressed == 1
        _settle(widget, "fourth text")
        assert widget.rate_guard.suppressed == 2 and "2 further texts" in widget.rate_notice.text()
        clock.now += 60  # the window slides: logging resumes
        _settle(widget, "fifth text")
        assert app_context.activity.count() == 3 and widget.rate_notice.isHidden()
        event = app_context.activity.query()[0]
        assert event.text_hmac == app_context.activity.text_hmac("fifth text")
        assert json.loads(event.counts) == {"suppressed_since_last": 2}
        assert "2 further texts scored but not logged individually (rate limit)" in event.detail
        _settle(widget, "sixth text")  # the count is recorded once, not repeated
        assert app_context.activity.query()[0].counts is None
    finally:
        widget.shutdown()


def test_texts_suppressed_at_close_are_recorded_not_lost(qtbot, app_context, worker_pool):
    from app.core.common.limits import RateGuard

    widget = ScorePanel(app_context, worker_pool, rate_guard=RateGuard(1, clock=FakeClock()))
    qtbot.addWidget(widget)
    _settle(widget, "logged")
    _settle(widget, "suppressed one")
    _settle(widget, "suppressed two")
    widget.editor.setPlainText("logged")  # back to a logged text: nothing new to log
    widget.score_now()
    assert app_context.activity.count() == 1
    widget.shutdown()
    summary = app_context.activity.query()[0]
    assert summary.action == "score_text" and summary.text_hmac is None
    assert json.loads(summary.counts) == {"suppressed_since_last": 2}
    assert "2 further texts" in summary.detail


def test_the_last_suppressed_text_is_logged_at_close(qtbot, app_context, worker_pool):
    from app.core.common.limits import RateGuard

    widget = ScorePanel(app_context, worker_pool, rate_guard=RateGuard(1, clock=FakeClock()))
    qtbot.addWidget(widget)
    _settle(widget, "logged")
    _settle(widget, "suppressed")
    _settle(widget, "still showing")
    widget.shutdown()
    assert app_context.activity.count() == 2
    last = app_context.activity.query()[0]
    assert last.text_hmac == app_context.activity.text_hmac("still showing")
    assert json.loads(last.counts) == {"suppressed_since_last": 1}  # the one in between


def test_the_log_rate_comes_from_the_settings(qtbot, app_context, worker_pool):
    app_context.settings.max_logged_texts_per_minute = 7
    widget = ScorePanel(app_context, worker_pool)
    qtbot.addWidget(widget)
    try:
        assert widget.rate_guard.per_window == 7 and widget.rate_guard.window == 60
    finally:
        widget.shutdown()
