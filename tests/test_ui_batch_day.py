"""An analyst's day in the Batch panel (issue 14): each job's results start unfiltered, an empty
export asks first, and Ctrl+C or the context menu copies rows as TSV that pastes cleanly."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import pytest
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from app.core.results.table import ResultsTable
from app.ui.batch.panel import BatchPanel
from app.ui.batch.results_model import SORT_ROLE
from app.ui.batch.results_view import ResultsView
from tests.test_ui_batch import _run, _write

YES, NO = QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.No


@pytest.fixture
def panel(batch_panel):
    return batch_panel


def _answer(button: QMessageBox.StandardButton, asked: list[str]):
    def question(_parent, title, text, _buttons, _default):
        asked.append(f"{title}: {text}")
        return button

    return question


def _filter_to_nothing(qtbot, panel: BatchPanel) -> None:
    view = panel.results
    view.flagged.setChecked(True)
    view.search.setText("no text says this")
    qtbot.waitUntil(lambda: view.proxy.rowCount() == 0)
    panel.shown_only.setChecked(True)


def test_a_new_jobs_results_start_unfiltered_and_without_the_old_message(qtbot, panel, tmp_path):
    _run(qtbot, panel, _write(tmp_path / "monday.csv", 30))
    _filter_to_nothing(qtbot, panel)
    view = panel.results
    assert view.count.text() == "0 of 30 rows" and view.clear_button.isEnabled()
    assert view.count.styleSheet() and "flagged only" in view.count.toolTip()  # highlighted
    panel.relabel()  # any status message of job 1
    assert panel.status.text()
    _run(qtbot, panel, _write(tmp_path / "tuesday.csv", 25, broken=False))
    assert panel.shown.path.name == "tuesday.csv"
    assert view.proxy.rowCount() == 25 == view.model.rowCount()
    assert view.count.text() == "25 of 25 rows" and not view.clear_button.isEnabled()
    assert view.count.styleSheet() == "" and view.count.toolTip() == ""
    assert not view.flagged.isChecked() and view.search.text() == ""
    assert (view.low.value(), view.high.value()) == (0.0, 1.0)
    assert not panel.shown_only.isChecked() and panel.status.text() == ""


def test_active_filters_are_shown_and_cleared_with_one_click(qtbot, panel, tmp_path):
    _run(qtbot, panel, _write(tmp_path / "in.csv", 30))
    view = panel.results
    view.low.setValue(0.99)
    assert view.clear_button.isEnabled() and "score 0.990-1.000" in view.count.toolTip()
    view.search.setText("idiot")
    view.clear_button.click()
    assert view.proxy.rowCount() == 30 and not view.clear_button.isEnabled()
    assert view.search.text() == "" and view.low.value() == 0.0
    qtbot.wait(400)  # the search debounce must not re-apply the cleared search
    assert view.proxy.rowCount() == 30


def test_an_export_of_zero_rows_asks_first(qtbot, panel, tmp_path, monkeypatch):
    _run(qtbot, panel, _write(tmp_path / "in.csv", 30))
    _filter_to_nothing(qtbot, panel)
    asked: list[str] = []
    monkeypatch.setattr(QMessageBox, "question", _answer(NO, asked))
    panel.export(tmp_path / "empty.csv", "csv")
    assert len(asked) == 1 and "would write no rows" in asked[0] and "flagged only" in asked[0]
    assert not (tmp_path / "empty.csv").exists() and panel.jobs.export_worker is None
    assert "cancelled" in panel.status.text() and "0 rows" in panel.status.text()
    monkeypatch.setattr(QMessageBox, "question", _answer(YES, asked))
    with qtbot.waitSignal(panel.export_done) as blocker:
        panel.export(tmp_path / "empty.csv", "csv")
    assert blocker.args[1].startswith("done") and len(asked) == 2
    with open(tmp_path / "empty.csv", encoding="utf-8-sig", newline="") as fh:
        assert len(list(csv.reader(fh))) == 1  # the header only, as asked
    panel.shown_only.setChecked(False)  # the whole table: no question
    with qtbot.waitSignal(panel.export_done):
        panel.export(tmp_path / "all.csv", "csv")
    assert len(asked) == 2


def _messy_file(path: Path) -> Path:
    rows = [
        ["id", "text", "label"],
        ["1", "you stupid\tmoron", "1"],
        ["2", "first line\nsecond line", "0"],
        ["3", "what an idiot", "1"],
        ["4", '=HYPERLINK("http://evil","click")', "0"],
        ["5", "thanks for the coffee", "0"],
    ]
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def _select(panel: BatchPanel, rows: list[int]) -> None:
    view = panel.results.view
    flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
    view.clearSelection()
    for row in rows:
        view.selectionModel().select(panel.results.proxy.index(row, 0), flags)


def test_ctrl_c_copies_the_selected_rows_as_tsv_with_a_header(qtbot, panel, tmp_path):
    _run(qtbot, panel, _messy_file(tmp_path / "messy.csv"))
    view = panel.results
    view.view.sortByColumn(0, Qt.SortOrder.DescendingOrder)  # rows go out as shown
    _select(panel, [1, 2, 3])  # lines 6, 5, 3 (line 3's text spans lines 3-4)
    view.view.setFocus()
    QApplication.clipboard().clear()
    qtbot.keyClick(view.view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    pasted = QApplication.clipboard().text()
    table = list(csv.reader(io.StringIO(pasted), delimiter="\t", quoting=csv.QUOTE_NONE))
    assert pasted.count("\n") == 4 and len(table) == 4
    assert table[0] == ["Line", "Score", "Label @ 0.45", "Text", "File: label"]
    result = panel.shown.result.table
    by_line = {int(line): i for i, line in enumerate(result.lines)}
    assert [int(row[0]) for row in table[1:]] == [6, 5, 3]
    expected_texts = [
        '\'=HYPERLINK("http://evil","click")',  # never a formula once pasted
        "what an idiot",
        "first line second line",
    ]
    assert [row[3] for row in table[1:]] == expected_texts
    assert [row[4] for row in table[1:]] == ["0", "1", "0"]
    for row in table[1:]:
        i = by_line[int(row[0])]
        assert row[1] == f"{result.scores[i]:.4f}"
        assert row[2] == ("abusive" if result.scores[i] >= 0.45 else "benign")
    assert "Copied 3 rows" in panel.status.text()


def test_context_menu_copies_rows_texts_or_scores(qtbot, panel, tmp_path):
    _run(qtbot, panel, _messy_file(tmp_path / "messy.csv"))
    _select(panel, [0, 1])  # lines 2 and 3, in file order
    menu = panel.results.context_menu()
    actions = {a.text(): a for a in menu.actions()}
    assert list(actions) == ["Open in Score", "Copy rows", "Copy text", "Copy score"]
    actions["Copy text"].trigger()
    assert QApplication.clipboard().text() == "you stupid\tmoron\nfirst line\nsecond line"
    actions["Copy score"].trigger()
    scores = panel.shown.result.table.scores[:2]
    assert QApplication.clipboard().text() == "\n".join(f"{s:.4f}" for s in scores)
    actions["Copy rows"].trigger()
    assert QApplication.clipboard().text().splitlines()[2].startswith("3\t")
    menu.deleteLater()
    panel.results.view.clearSelection()
    assert not any(a.isEnabled() for a in panel.results.context_menu().actions())


def test_scores_never_overstate_certainty_sort_numerically_and_copy_as_numbers(qtbot):
    view = ResultsView()
    qtbot.addWidget(view)
    scores = [0.99996, 0.00002, 0.5, math.nan, 0.9994]
    table = ResultsTable.from_arrays([2, 3, 4, 5, 6], scores, ["a", "b", "c", "", "e"])
    view.set_results(table, 0.45)
    proxy = view.proxy
    view.view.sortByColumn(1, Qt.SortOrder.DescendingOrder)
    shown = [proxy.data(proxy.index(r, 1)) for r in range(5)]
    assert shown == ["> 0.999", "> 0.999", "0.500", "< 0.001", ""]  # never "1.0000"
    raw = [proxy.data(proxy.index(r, 1), SORT_ROLE) for r in range(4)]
    assert raw == [0.99996, 0.9994, 0.5, 0.00002]  # sorted by the number, not the text
    view.view.selectRow(0)
    view.copy_scores()
    # A copy pastes as a number into a spreadsheet, like the exports (4 decimals, as before).
    assert QApplication.clipboard().text() == f"{0.99996:.4f}"
