"""The Activity panel's User column, detail line and search, driven with qtbot."""

from __future__ import annotations

import getpass
import sqlite3
from contextlib import closing

import pytest
from PySide6.QtCore import Qt

from app.ui.activity.panel import SEARCH_DEBOUNCE_MS, ActivityPanel
from app.ui.activity.table_model import USER_COLUMN

USER = "ana.lopez"
TIMEOUT = 5_000


@pytest.fixture
def panel(qtbot, app_context, worker_pool, monkeypatch):
    monkeypatch.setattr(getpass, "getuser", lambda: USER)
    widget = ActivityPanel(app_context, worker_pool)
    qtbot.addWidget(widget)
    widget.resize(1280, 800)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget
    widget.shutdown()


def _cell(panel: ActivityPanel, row: int, role=Qt.ItemDataRole.DisplayRole):
    return panel.model.index(row, USER_COLUMN).data(role)


def _row_centre(panel: ActivityPanel, row: int):
    return panel.table.visualRect(panel.model.index(row, 1)).center()


def test_the_user_column_shows_who_logged_each_event(qtbot, panel, app_context):
    assert panel.model.headerData(USER_COLUMN, Qt.Orientation.Horizontal) == "User"
    app_context.log("app_started")
    app_context.log("threshold_applied", threshold=0.5, user="Björn.Berg")
    panel.refresh()
    assert [_cell(panel, r) for r in (0, 1)] == ["Björn.Berg", USER]
    assert _cell(panel, 1, Qt.ItemDataRole.ToolTipRole) == f"Workstation user: {USER}"

    qtbot.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=_row_centre(panel, 0))
    assert "User: Björn.Berg (workstation account)" in panel.detail.toPlainText().splitlines()


def test_the_search_box_finds_a_user(qtbot, panel, app_context):
    app_context.log("app_started")
    app_context.log("app_started", user="Björn.Berg")
    panel.all_dates.setChecked(True)
    qtbot.waitUntil(lambda: panel.model.rowCount() == 2, timeout=TIMEOUT)
    qtbot.keyClicks(panel.search, "BERG")  # typed, case-insensitive, debounced
    qtbot.wait(SEARCH_DEBOUNCE_MS + 100)
    qtbot.waitUntil(lambda: panel.model.rowCount() == 1, timeout=TIMEOUT)
    assert _cell(panel, 0) == "Björn.Berg"


def test_a_forged_user_is_shown_escaped_and_cut_never_trusted_for_layout(qtbot, panel, app_context):
    event = app_context.log("app_started", detail="forged below")
    forged = "\x1b[2J\nroot\u202e" + "W" * 5000
    with closing(sqlite3.connect(app_context.activity.path)) as conn:
        conn.execute("UPDATE events SET user = ? WHERE id = ?", [forged, event.id])
        conn.commit()
    panel.refresh()
    shown = _cell(panel, 0)
    assert shown.startswith("\\x1b[2J\\nroot\\u202eWWW") and shown.endswith("…")
    assert len(shown) == 40 and shown.isprintable()
    tooltip = _cell(panel, 0, Qt.ItemDataRole.ToolTipRole)
    assert tooltip.isprintable() and len(tooltip) < 250
    qtbot.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=_row_centre(panel, 0))
    lines = panel.detail.toPlainText().splitlines()
    [user_line] = [line for line in lines if line.startswith("User: ")]
    assert user_line.isprintable() and len(user_line) < 250
    assert lines[-1] == "Detail: forged below"  # the name added no line of its own
    # ... and the chain notices the edit.
    ok, message = app_context.activity.verify()
    assert not ok and f"event {event.id}:" in message
