"""Every number one click from its text (issue 14): a Batch row or a matrix cell's item opens in
the Score panel, scored and explained, with its file and line and the way back; the Session panel
does not ask for a self-test again on a fresh start."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from app.core.common.messages import fmt_score
from app.core.engine.scoring import Scorer
from app.ui.session.panel import SessionPanel
from tests.main_window import shown_main_window

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(__file__).resolve().parent / "_artifacts"


@pytest.fixture
def window(qtbot, app_context, worker_pool, monkeypatch):
    return shown_main_window(qtbot, app_context, worker_pool, monkeypatch)


def _scored(qtbot, window, tmp_path: Path, rows: int = 300) -> None:
    lines = ["id,text,label"] + [
        f"{i},{'you are a stupid idiot' if i % 3 == 0 else 'thanks for the lovely lunch'} {i},"
        f"{int(i % 3 == 0)}"
        for i in range(rows)
    ]
    path = tmp_path / "log.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    window.batch.open_file(path)
    with qtbot.waitSignal(window.batch.job_done, timeout=30_000):
        window.batch.start()
    window.tabs.setCurrentWidget(window.batch)


def _view_row_rect(results, view_row: int):
    index = results.proxy.index(view_row, 0)
    results.view.scrollTo(index)
    return results.view.visualRect(index)


def _assert_shows_row(window, row: int) -> None:
    """The Score panel shows batch row ``row``: its text, the batch's score, the explanation."""
    table = window.batch.shown.result.table
    score = window.score
    assert window.tabs.currentWidget() is score
    assert score.editor.toPlainText() == str(table.texts[row])
    # the same model and threshold as the batch: the very same number
    assert score.result.score == pytest.approx(float(table.scores[row]), abs=1e-12)
    assert score.score_label.text() == fmt_score(float(table.scores[row]))
    assert score.terms.rowCount() > 0 and score.highlight.toPlainText().strip()
    banner = score.origin_banner
    assert banner.isVisible()
    assert banner.label.text() == f"From log.csv, line {int(table.lines[row]):,}."
    assert banner.back_button.text() == "Back to results"


def _double_click(qtbot, viewport, pos: QPoint) -> None:
    """A real double-click: QTest's mouseDClick sends only the second press (a double-click
    event), which an item view takes as a double-click only on the item the first press hit."""
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=pos)
    qtbot.mouseDClick(viewport, Qt.MouseButton.LeftButton, pos=pos)


def _selected_source_rows(results) -> list[int]:
    return [int(results.proxy.rows[r]) for r in results.selected_rows()]


def test_double_click_and_enter_open_a_row_in_score_and_back_returns(qtbot, window, tmp_path):
    _scored(qtbot, window, tmp_path)
    results = window.batch.results
    results.view.sortByColumn(1, Qt.SortOrder.DescendingOrder)  # by score: not file order
    view_row = 120
    rect = _view_row_rect(results, view_row)
    row = int(results.proxy.rows[view_row])
    _double_click(qtbot, results.view.viewport(), rect.center())
    _assert_shows_row(window, row)

    # "Back to results": the Batch tab, the same row selected and in view
    qtbot.mouseClick(window.score.origin_banner.back_button, Qt.MouseButton.LeftButton)
    assert window.tabs.currentWidget() is window.batch
    assert _selected_source_rows(results) == [row]
    rect = results.view.visualRect(results.proxy.index(view_row, 0))
    assert results.view.viewport().rect().contains(rect.center())

    # Enter on another row, then Alt+Left back
    other_view_row = 7
    results.view.setCurrentIndex(results.proxy.index(other_view_row, 0))
    results.view.setFocus()
    qtbot.keyClick(results.view, Qt.Key.Key_Return)
    other = int(results.proxy.rows[other_view_row])
    _assert_shows_row(window, other)
    qtbot.keyClick(window.score.editor, Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier)
    assert window.tabs.currentWidget() is window.batch
    assert _selected_source_rows(results) == [other]


def test_open_in_score_from_the_context_menu(qtbot, window, tmp_path):
    _scored(qtbot, window, tmp_path)
    results = window.batch.results
    results.view.selectRow(41)
    menu = results.context_menu()
    action = next(a for a in menu.actions() if a.text() == "Open in Score")
    assert action.isEnabled()
    action.trigger()
    menu.deleteLater()
    _assert_shows_row(window, int(results.proxy.rows[41]))


def test_editing_the_text_says_it_is_no_longer_the_row_and_clearing_drops_the_banner(
    qtbot, window, tmp_path
):
    _scored(qtbot, window, tmp_path)
    results = window.batch.results
    results.view.selectRow(3)
    results.open_current()
    line = int(window.batch.shown.result.table.lines[int(results.proxy.rows[3])])
    score, banner = window.score, window.score.origin_banner
    qtbot.keyClicks(score.editor, " really")
    qtbot.waitUntil(lambda: banner.label.text().startswith("Edited"))
    assert banner.label.text() == f"Edited: no longer the text of log.csv, line {line:,}."
    assert banner.isVisible() and banner.back_button.isVisible()  # the way back stays
    score.editor.clear()
    qtbot.waitUntil(lambda: not banner.isVisible())
    assert score.origin is None
    qtbot.keyClick(score.editor, Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier)
    assert window.tabs.currentWidget() is score  # nothing to go back to


def test_a_model_or_threshold_changed_since_the_batch_is_said_not_hidden(
    qtbot, window, app_context, tmp_path
):
    _scored(qtbot, window, tmp_path)
    table = window.batch.shown.result.table
    old = app_context.state.scorer.version_label
    new_scorer = Scorer.load(REPO / "models" / "abuse-lr-1.0.0")
    assert new_scorer.version_label != old
    app_context.state.set_scorer(new_scorer)
    app_context.state.set_threshold(0.6)
    results = window.batch.results
    results.view.selectRow(0)
    results.open_current()
    row = int(results.proxy.rows[0])
    text = window.score.origin_banner.label.text()
    assert text.startswith(f"From log.csv, line {int(table.lines[row]):,}.")
    assert f"The model changed: {old} scored it {fmt_score(float(table.scores[row]))}" in text
    assert f"shown here is the active model {new_scorer.version_label}" in text
    assert "Labelled at 0.45 there, at 0.60 here." in text
    for size in ((1280, 800), (1024, 700)):  # the banner wraps, never clips: look at these
        window.resize(*size)
        qtbot.wait(50)
        ARTIFACTS.mkdir(exist_ok=True)
        window.grab().save(str(ARTIFACTS / f"score_drilldown_{size[0]}x{size[1]}.png"))
    # what is shown is the active model's own score, not the batch's
    assert window.score.result.score == new_scorer.score_text(str(table.texts[row]), 0.6).score


def test_matrix_cell_items_show_their_lines_and_open_in_score(qtbot, window, tmp_path):
    _scored(qtbot, window, tmp_path)
    window.batch.send_to_threshold()
    panel = window.threshold
    assert window.tabs.currentWidget() is window.threshold_tab
    panel.show_cell(0, 0)  # abusive caught
    items = panel.items
    assert items.rowCount() > 0
    table = window.batch.shown.result.table
    line_of = {str(t): int(n) for t, n in zip(table.texts, table.lines, strict=True)}
    listed = items.texts()
    assert [int(items.item(r, 0).text()) for r in range(items.rowCount())] == [
        line_of[t] for t in listed
    ]
    r = 2
    rect = items.visualItemRect(items.item(r, 2))
    _double_click(qtbot, items.viewport(), rect.center())
    score = window.score
    assert window.tabs.currentWidget() is score
    assert score.editor.toPlainText() == listed[r]
    line = line_of[listed[r]]
    assert score.origin_banner.label.text() == f"From log.csv, line {line:,}."
    assert score.origin_banner.back_button.text() == "Back to Threshold"
    there = float(panel.dataset.scores[items.sample_row(r)])
    assert items.item(r, 1).text() == fmt_score(there, 4)
    assert score.result.score == pytest.approx(there, abs=1e-12)  # the same number
    assert score.score_label.text() == fmt_score(there)
    qtbot.mouseClick(score.origin_banner.back_button, Qt.MouseButton.LeftButton)
    assert window.tabs.currentWidget() is window.threshold_tab
    assert panel.tabs.currentWidget() is panel.cell_items
    assert [i.row() for i in items.selectionModel().selectedRows()] == [r]
    # Enter on the next item opens it too
    items.setCurrentCell(r + 1, 0)
    qtbot.keyClick(items, Qt.Key.Key_Return)
    assert window.tabs.currentWidget() is score
    assert score.editor.toPlainText() == listed[r + 1]


def test_session_does_not_ask_for_a_self_test_again_on_a_fresh_start(
    qtbot, app_context, worker_pool
):
    scorer = app_context.state.scorer
    app_context.state.set_scorer(None)  # the window shows before the model loads
    panel = SessionPanel(app_context, worker_pool)
    qtbot.addWidget(panel)
    panel.show()
    app_context.state.set_scorer(scorer)  # the model loaded: not "the model changed"
    assert panel.self_test_status.text() == "Not run yet in this session."
    qtbot.mouseClick(panel.self_test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(panel.self_test_checks) == 6, timeout=30_000)
    qtbot.waitUntil(panel.self_test_button.isEnabled, timeout=10_000)
    assert panel.self_test_status.text().startswith("All 6 checks passed")
    other = Scorer.load(REPO / "models" / "abuse-lr-1.0.0")
    app_context.state.set_scorer(other)  # a real change after a self-test: run it again
    assert panel.self_test_status.text() == (
        f"The model changed since the self-test on {scorer.version_label} "
        f"(now {other.version_label}): run the self-test again."
    )
    assert panel.checks.rowCount() == 0 and panel.self_test_checks == []
    panel.shutdown()


def test_line_numbers_stay_with_their_items_when_blank_texts_are_left_out(qtbot, window):
    window.threshold.show_dataset(
        "sent", np.array([0.9, np.nan, 0.2, 0.8]), np.array([1, 0, 0, 1]),
        ["a b", "", "c d", "e f"], np.array([2, 3, 5, 9]),
    )  # fmt: skip
    panel = window.threshold
    assert panel.dataset.lines.tolist() == [2, 5, 9]
    panel.show_cell(0, 0)  # abusive caught at 0.45: lines 2 and 9, closest first
    assert [panel.items.item(r, 0).text() for r in range(2)] == ["9", "2"]
    assert panel.items.texts() == ["e f", "a b"]
