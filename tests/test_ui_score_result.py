"""Score panel, issue 14: honest score text, one tint scale with a legend and sign symbols,
"Copy result" (readable) and "Copy as JSON" (the keys of `score-text --json`)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.core.common.messages import fmt_score
from app.core.engine.explain import Explanation, TermContribution
from app.core.engine.result_view import FULL_TINT_LOGIT, LOWERS, RAISES, tint_strength
from app.ui.score.panel import ScorePanel
from app.ui.score.widgets import highlighted_html, tint_rgba
from tests.cli_runner import run_cli

ARTIFACTS = Path(__file__).resolve().parent / "_artifacts"
VERY_BENIGN = "thank you thank you thanks lovely meeting"  # scores under 0.001
MIXED = "Honestly, you are a stupid moron. Thanks for the lovely coffee though."


@pytest.fixture
def panel(score_panel):
    return score_panel


def _type(qtbot, panel: ScorePanel, text: str) -> None:
    panel.editor.clear()
    qtbot.keyClicks(panel.editor, text)
    qtbot.waitUntil(
        lambda: panel.result is not None and panel.result.chars == len(text), timeout=2000
    )


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0.99999999, "> 0.999"),
        (0.9996, "> 0.999"),  # would round to "1.000"
        (0.999, "0.999"),
        (0.5, "0.500"),
        (0.001, "0.001"),
        (0.0004, "< 0.001"),  # would round to "0.000"
        (0.0, "< 0.001"),
        (None, "n/a"),
        (float("nan"), "n/a"),
    ],
)
def test_fmt_score_never_overstates_certainty(value, shown):
    assert fmt_score(value) == shown


def test_the_panel_shows_both_ends_honestly(qtbot, panel, app_context):
    _type(qtbot, panel, "you idiot")
    assert panel.result.score > 0.999 and panel.score_label.text() == "> 0.999"
    _type(qtbot, panel, VERY_BENIGN)
    assert panel.result.score < 0.001 and panel.score_label.text() == "< 0.001"
    _type(qtbot, panel, "you are a moron")
    assert panel.score_label.text() == f"{panel.result.score:.3f}"


def _span_colour(html: str, word: str) -> str:
    match = re.search(r'background-color: (rgba\([^)]*\));">' + re.escape(word) + "<", html)
    assert match, f"{word!r} is not tinted"
    return match.group(1)


def test_the_same_share_gets_the_same_tint_in_any_text():
    """The scale is fixed: a share of 1.0 does not fade because another word is stronger."""
    alone = Explanation(0.0, 0.0, [TermContribution("idiot", 1.0)])
    beside_stronger = Explanation(
        0.0, 0.0, [TermContribution("stupid", 9.0), TermContribution("idiot", 1.0)]
    )
    first = highlighted_html("you idiot", alone)
    second = highlighted_html("stupid stupid idiot", beside_stronger)
    assert _span_colour(first, "idiot") == _span_colour(second, "idiot") == tint_rgba(1.0)
    assert tint_strength(FULL_TINT_LOGIT) == tint_strength(10 * FULL_TINT_LOGIT) == 1.0
    assert tint_strength(-1.0) == pytest.approx(0.5)


def test_tints_carry_a_sign_symbol_and_a_legend(qtbot, panel, app_context):
    _type(qtbot, panel, MIXED)
    scorer = app_context.state.scorer
    shares = {t.term: t.contribution for t in scorer.explain(MIXED, top_k=None).terms}
    assert shares["stupid"] > 0 > shares["thanks"]
    shown = panel.highlight.toPlainText()
    assert f"stupid{RAISES}" in shown and f"Thanks{LOWERS}" in shown
    # the tint is the fixed-scale one for the word's own share, in the panel's own HTML
    html = highlighted_html(MIXED, panel.explanation)
    assert _span_colour(html, "Thanks") == tint_rgba(shares["thanks"])
    column = [panel.terms.item(r, 1).text() for r in range(panel.terms.rowCount())]
    assert all(cell[0] in (RAISES, LOWERS) for cell in column)
    assert any(cell.startswith(RAISES) for cell in column)
    assert any(cell.startswith(LOWERS) for cell in column)
    assert panel.legend.isVisible() and f"±{FULL_TINT_LOGIT:.1f}" in panel.legend.text()


def test_copy_result_copies_a_readable_block(qtbot, panel, app_context):
    _type(qtbot, panel, MIXED)
    qtbot.mouseClick(panel.copy_button, Qt.MouseButton.LeftButton)
    lines = QApplication.clipboard().text().splitlines()
    assert lines[0] == f"Text: {MIXED}"
    assert f"Score: {fmt_score(panel.result.score)} (probability abusive)" in lines
    assert f"Label: {panel.result.label}" in lines
    assert "Threshold: 0.45" in lines
    assert f"Model: {app_context.state.scorer.version_label}" in lines
    top = panel.explanation.terms[0]
    assert any(line.endswith(f"  {top.display}") and RAISES in line for line in lines)
    assert not QApplication.clipboard().text().lstrip().startswith("{")  # not JSON


def test_copy_result_of_a_long_text_copies_an_excerpt(qtbot, panel):
    panel.editor.setPlainText("idiot\n" * 100)
    panel.score_now()
    qtbot.mouseClick(panel.copy_button, Qt.MouseButton.LeftButton)
    first = QApplication.clipboard().text().splitlines()[0]
    assert len(first) <= len("Text: ") + 200 and first.endswith("…")


def test_copy_as_json_has_the_keys_of_score_text_json(qtbot, panel, app_context):
    _type(qtbot, panel, "you are a moron")
    qtbot.mouseClick(panel.copy_json_button, Qt.MouseButton.LeftButton)
    copied = json.loads(QApplication.clipboard().text())
    cli = run_cli("score-text", "you are a moron", "--json", "--explain")
    assert cli.returncode == 0, cli.stderr
    printed = json.loads(cli.stdout)
    row = printed["results"][0]
    assert set(copied) == set(row) | {"model_version"}  # model_version is top-level there
    assert set(copied["terms"][0]) == set(row["terms"][0]) == {"term", "contribution"}
    if copied["model_version"] == printed["model_version"]:
        assert copied["score"] == pytest.approx(row["score"])
        assert copied["terms"][0]["term"] == row["terms"][0]["term"]
        assert copied["terms"][0]["contribution"] == pytest.approx(row["terms"][0]["contribution"])


def test_screenshot_at_1280x800(qtbot, panel):
    _type(qtbot, panel, MIXED)
    ARTIFACTS.mkdir(exist_ok=True)
    assert panel.grab().save(str(ARTIFACTS / "score_panel_1280x800.png"))


@pytest.mark.parametrize("threshold", [0.0, 0.40705543868933947, 0.999999, 1.0])
def test_gauge_threshold_label_is_never_clipped(qtbot, threshold):
    """The words under the mark fit whole inside the gauge, at either end of the bar."""
    from PySide6.QtGui import QFontMetricsF

    from app.core.common.messages import fmt_threshold
    from app.ui.score.widgets import ScoreGauge

    gauge = ScoreGauge()
    qtbot.addWidget(gauge)
    gauge.resize(320, 44)
    gauge.set_values(0.5, threshold)
    label, rect = gauge.threshold_label()
    assert label == f"threshold {fmt_threshold(threshold)}"
    needed = QFontMetricsF(gauge.caption_font()).horizontalAdvance(label)
    assert rect.width() >= needed
    assert 0 <= rect.left() and rect.right() <= gauge.width()
    assert rect.bottom() <= gauge.height()
    zero, one = gauge.end_labels_shown()  # an end's "0" or "1" gives way to the label there
    assert (zero, one) == ({0.0: False}.get(threshold, True), threshold < 0.9)
    gauge.grab()  # paints without error
