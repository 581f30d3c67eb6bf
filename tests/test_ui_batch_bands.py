"""The Batch panel with the settings' band policy: the Band column (coloured, sortable), the
band filter, the status with counts per band (and a policy that contradicts the threshold),
exports that carry the band, and a history reopen that keeps it."""

from __future__ import annotations

import csv

import pytest
from PySide6.QtCore import Qt

from app.core.analysis.bands import BANDS
from app.ui.batch.panel import BatchPanel
from app.ui.batch.results_model import SORT_ROLE
from app.ui.common.colours import fail_colour
from tests.test_ui_batch import _run, _write


@pytest.fixture
def panel(qtbot, batch_panel):
    batch_panel.show()
    qtbot.waitExposed(batch_panel)
    return batch_panel


def _column(panel: BatchPanel, key: str) -> int:
    return panel.results.model.columns.index(key)


def _shown(panel: BatchPanel, column: int, role=Qt.ItemDataRole.DisplayRole) -> list:
    proxy = panel.results.proxy
    return [proxy.index(r, column).data(role) for r in range(proxy.rowCount())]


def test_band_column_filter_sort_status_and_export(qtbot, panel, app_context, tmp_path):
    app_context.settings.band_review_at, app_context.settings.band_escalate_at = 0.2, 0.9
    _run(qtbot, panel, _write(tmp_path / "in.csv", 40))
    table, report = panel.shown.result.table, panel.shown.result.report
    assert table.bands == (0.2, 0.9) and report.bands == [0.2, 0.9]
    counts = report.band_counts()
    assert sum(counts.values()) == 40 and counts["escalate"] and counts["clear"]
    # the status and the progress bar say the counts per band
    assert f"bands: {counts['clear']} clear, {counts['review']} review" in panel.status.text()
    assert f"{counts['escalate']} escalate" in panel.progress.format()
    col = _column(panel, "band")
    assert col == _column(panel, "label") + 1
    assert panel.results.model.headerData(col, Qt.Orientation.Horizontal) == "Band"
    assert not panel.results.view.isColumnHidden(col)
    expected = [BANDS[(s >= 0.2) + (s >= 0.9)] for s in table.scores.tolist()]
    assert _shown(panel, col) == expected
    escalated = expected.index("escalate")
    brush = panel.results.proxy.index(escalated, col).data(Qt.ItemDataRole.ForegroundRole)
    assert brush.color().name() == fail_colour()

    # Filter by band with the combo box, as an analyst does (keyboard on the focused box).
    combo = panel.results.band
    assert combo.isVisible()
    combo.setFocus()
    while combo.currentData() != "escalate":
        qtbot.keyClick(combo, Qt.Key.Key_Down)
    qtbot.waitUntil(lambda: panel.results.proxy.rowCount() == counts["escalate"])
    assert set(_shown(panel, col)) == {"escalate"} and panel.results.filters_active()
    qtbot.mouseClick(panel.results.clear_button, Qt.MouseButton.LeftButton)
    assert panel.results.proxy.rowCount() == 40 and combo.currentIndex() == 0

    # Sorting by the column: clear first, then review, then escalate.
    panel.results.view.sortByColumn(col, Qt.SortOrder.AscendingOrder)
    codes = _shown(panel, col, SORT_ROLE)
    assert codes == sorted(codes)

    panel.export(tmp_path / "out.csv", "csv")
    qtbot.waitUntil(lambda: (tmp_path / "out.csv").exists(), timeout=10_000)
    with open(tmp_path / "out.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["abuse_band"] for r in rows] == expected


def test_a_policy_that_escalates_below_the_threshold_is_said(qtbot, panel, app_context, tmp_path):
    app_context.settings.band_review_at, app_context.settings.band_escalate_at = 0.1, 0.3
    _run(qtbot, panel, _write(tmp_path / "in.csv", 12, broken=False))
    assert "escalate cut 0.30 is below the threshold 0.45" in panel.status.text()


def test_without_a_policy_there_is_no_band(qtbot, panel, tmp_path):
    _run(qtbot, panel, _write(tmp_path / "in.csv", 12, broken=False))
    assert "band" not in panel.results.model.columns
    assert not panel.results.band.isVisible() and "bands:" not in panel.status.text()


def test_history_reopen_keeps_the_band(qtbot, app_context, worker_pool, tmp_path):
    app_context.settings.band_review_at, app_context.settings.band_escalate_at = 0.2, 0.9
    first = BatchPanel(app_context, worker_pool)
    qtbot.addWidget(first)
    _run(qtbot, first, _write(tmp_path / "in.csv", 20, broken=False))
    before = _shown(first, _column(first, "band"))
    first.shutdown()
    first.deleteLater()
    app_context.settings.band_review_at = app_context.settings.band_escalate_at = None
    panel = BatchPanel(app_context, worker_pool)  # the policy was unset since: the job's stays
    qtbot.addWidget(panel)
    panel.show()
    qtbot.mouseClick(panel.history.reopen_button, Qt.MouseButton.LeftButton)
    assert panel.shown is not None and panel.shown.result.table.bands == (0.2, 0.9)
    assert _shown(panel, _column(panel, "band")) == before
    assert "bands:" in panel.status.text() and panel.results.band.isVisible()
    panel.shutdown()
