"""The Score panel with an encoder (abuse-mini): scored and explained off the GUI thread, its
occlusion effects shown like a linear model's shares but labelled as what they are, and the
linear labels back as they were when a linear model decides again."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.core.engine.result_view import MIN_TINT_LOGIT, OCCLUSION_NOTE, signed_share
from app.core.engine.scoring import Scorer
from app.ui.score.widgets import legend_html
from tests.encoder_fixture import write_tiny_encoder_bundle

TEXT = "you idiot, hello friend you"
TIMEOUT = 5000


@pytest.fixture(scope="module")
def encoder(tmp_path_factory) -> Scorer:
    return Scorer.load(write_tiny_encoder_bundle(tmp_path_factory.mktemp("mini")))


@pytest.fixture
def linear(app_context) -> Scorer:
    return app_context.state.scorer  # the bundled default


def settled(qtbot, panel, text: str) -> None:
    qtbot.waitUntil(
        lambda: panel.result is not None and panel.result.chars == len(text)
        and not panel._debounce.isActive() and not panel._awaiting
        and panel.editor.toPlainText() == text and not panel.background.busy,
        timeout=TIMEOUT,
    )  # fmt: skip


def header(panel) -> str:
    return panel.terms.horizontalHeaderItem(1).text()


def test_encoder_terms_are_labelled_occlusion(qtbot, score_panel, app_context, encoder, linear):
    panel = score_panel
    assert header(panel) == "share of score (logit)" and panel.method_note.isHidden()
    linear_legend = panel.legend.text()
    assert linear_legend == legend_html()
    app_context.state.set_scorer(encoder)
    threads: list[threading.Thread] = []
    real = encoder.explain

    def explain(text: str, top_k: int | None = 15):
        threads.append(threading.current_thread())
        return real(text, top_k)

    encoder.explain = explain  # type: ignore[method-assign]
    try:
        qtbot.keyClicks(panel.editor, TEXT)
        settled(qtbot, panel, TEXT)
    finally:
        del encoder.explain
    assert threads and all(t is not threading.main_thread() for t in threads)
    expected = encoder.explain(TEXT, top_k=None)
    assert panel.explanation.method == "occlusion"
    assert panel.score_label.text() == f"{encoder.score_text(TEXT, 0.45).score:.3f}"
    assert header(panel) == "what the word adds (logit)"
    assert panel.method_note.isVisible() and panel.method_note.text() == OCCLUSION_NOTE
    assert "logit with the word minus without it" in panel.legend.text()
    rows = [
        (panel.terms.item(r, 0).text(), panel.terms.item(r, 1).text())
        for r in range(panel.terms.rowCount())
    ]
    assert rows == [(t.display, signed_share(t.contribution)) for t in expected.terms]
    tinted = [t for t in expected.terms if abs(t.contribution) >= MIN_TINT_LOGIT]
    assert tinted and panel.highlight.toHtml().count("background-color:rgba") >= len(tinted)

    copied = panel.result_summary()
    assert copied["explanation"] == "occlusion" and copied["model_version"] == "abuse-mini 0.0.1"
    assert OCCLUSION_NOTE in panel.result_block()
    json.dumps(copied, allow_nan=False)

    app_context.state.set_scorer(linear)  # a linear model decides again: labels as before
    assert header(panel) == "share of score (logit)" and panel.method_note.isHidden()
    assert panel.legend.text() == linear_legend
    assert (
        panel.explanation.method == "shares" and panel.result_summary()["explanation"] == "shares"
    )


def test_ctrl_enter_logs_the_texts_own_score(qtbot, score_panel, app_context, encoder):
    panel = score_panel
    app_context.state.set_scorer(encoder)
    panel.editor.setPlainText("hello friend")
    settled(qtbot, panel, "hello friend")
    panel.editor.setPlainText(TEXT)  # its result is still to come when Ctrl+Enter is pressed
    qtbot.keyClick(panel.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: app_context.activity.count() == 1, timeout=TIMEOUT)
    event = app_context.activity.query()[0]
    assert event.text_hmac == app_context.activity.text_hmac(TEXT)
    assert event.score == pytest.approx(encoder.score_text(TEXT, 0.45).score, abs=1e-12)
    assert event.model_version == "abuse-mini 0.0.1"


def test_encoder_challenger_line(qtbot, score_panel, app_context, encoder, linear):
    panel = score_panel
    app_context.state.set_challenger(encoder)
    panel.editor.setPlainText(TEXT)
    settled(qtbot, panel, TEXT)
    assert panel.explanation.method == "shares" and header(panel) == "share of score (logit)"
    shadow = encoder.score_text(TEXT, app_context.state.threshold)
    assert panel.shadow is not None and panel.shadow.result.score == shadow.score
    assert panel.challenger_line.isVisible()
    assert panel.challenger_line.text().startswith("Challenger abuse-mini 0.0.1:")


def test_closing_while_scoring_logs_the_last_text(qtbot, app_context, worker_pool, encoder):
    from app.ui.score.panel import ScorePanel

    app_context.state.set_scorer(encoder)
    panel = ScorePanel(app_context, worker_pool)
    qtbot.addWidget(panel)
    panel.editor.setPlainText("hello friend")
    settled(qtbot, panel, "hello friend")
    panel.editor.setPlainText(TEXT)
    panel.score_now()  # submitted; closing before its result arrives
    panel.shutdown()
    QApplication.processEvents()
    [event] = app_context.activity.query()
    assert event.text_hmac == app_context.activity.text_hmac(TEXT)
    assert event.score == pytest.approx(encoder.score_text(TEXT, 0.45).score, abs=1e-12)


def test_screenshot(qtbot, score_panel, app_context, encoder):
    app_context.state.set_scorer(encoder)
    score_panel.editor.setPlainText(TEXT)
    settled(qtbot, score_panel, TEXT)
    artifacts = Path(__file__).resolve().parent / "_artifacts"
    artifacts.mkdir(exist_ok=True)
    assert score_panel.grab().save(str(artifacts / "score_panel_encoder.png"))


def test_a_row_opened_from_batch_is_explained_under_its_banner(
    qtbot, score_panel, app_context, encoder
):
    from app.core.common.drill import BATCH, RowOrigin, RowSource, origin_banner

    app_context.state.set_scorer(encoder)
    score = encoder.score_text(TEXT, 0.45).score
    origin = RowOrigin(BATCH, RowSource("log.csv", "abuse-mini 0.0.1", 0.45), 4, 6, TEXT, score)
    score_panel.show_row(origin)
    settled(qtbot, score_panel, TEXT)
    assert score_panel.origin_banner.isVisible()
    expected = origin_banner(origin, TEXT, "abuse-mini 0.0.1", score, 0.45)
    assert score_panel.origin_banner.label.text() == expected  # the same score: no "differs"
    assert header(score_panel) == "what the word adds (logit)"
