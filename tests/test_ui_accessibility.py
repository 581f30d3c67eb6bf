"""Accessibility of every panel: keyboard access to every action (Tab, mnemonics, Ctrl+1..8)
and an accessible name on every custom widget and every control without a visible label."""

from __future__ import annotations

import pytest
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from PySide6.QtCore import Qt
from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSlider,
    QAbstractSpinBox,
    QComboBox,
    QHeaderView,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QScrollBar,
    QTextEdit,
    QWidget,
)

from tests.main_window import shown_main_window

YES = QMessageBox.StandardButton.Yes
# Custom classes that only arrange other widgets: a screen reader reads their children.
CONTAINERS = {
    "ScorePanel", "BatchPanel", "BatchPanelView", "ThresholdPanel", "ThresholdControls",
    "ActivityPanel", "SessionPanel", "ModelsPanel", "ModelsView", "ModelDetails",
    "ComparePanel", "ComparePanelView", "SourceBar", "LazyPanel", "ResultsView",
    "CellItemsPage", "DisagreementsPage", "AgreementBox", "MigrationBox", "MainWindow",
}  # fmt: skip
# Stock controls a screen reader cannot name from their own text (a QFormLayout's label is
# announced as their buddy only with setBuddy; a name is simpler and sure).
UNLABELLED_KINDS = (
    QAbstractItemView, QAbstractSlider, QAbstractSpinBox, QComboBox, QLineEdit, QTextEdit,
    QPlainTextEdit, QProgressBar,
)  # fmt: skip


@pytest.fixture
def window(qtbot, app_context, model_registry, worker_pool, monkeypatch):
    from app.core.context import model_switch

    app_context.registry = model_registry
    # A challenger, so the Compare panel shows its plots, matrices and tables too.
    model_switch.set_challenger(app_context, model_registry.load("abuse-lr-1.0.0"))
    win = shown_main_window(qtbot, app_context, worker_pool, monkeypatch)
    for panel in win.panels:  # builds the lazy Threshold and Compare panels
        win.tabs.setCurrentWidget(panel)
    win.tabs.setCurrentIndex(0)
    return win


def needs_a_name(widget: QWidget) -> bool:
    cls = type(widget)
    if isinstance(widget, QScrollBar | QHeaderView) or widget.objectName().startswith("qt_"):
        return False  # parts of a stock scroll area or table, named by Qt itself
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QLineEdit | QComboBox | QAbstractSpinBox):
            return False  # a line edit's clear button, a combo box's popup list
        parent = parent.parentWidget()
    if not widget.isVisible():
        return False  # hidden until it has something to show
    if isinstance(widget, FigureCanvasQTAgg):
        return True
    if cls.__module__.startswith("app.") and cls.__name__ not in CONTAINERS:
        return True
    if isinstance(widget, QAbstractButton):
        return not widget.text().replace("&", "").strip()  # icon-only
    return isinstance(widget, UNLABELLED_KINDS)


def spoken_name(widget: QWidget) -> str:
    """What a screen reader announces: the accessible name, else Qt's own (a button's text,
    the label a QFormLayout row or setBuddy ties to the control)."""
    iface = QAccessible.queryAccessibleInterface(widget)
    spoken = iface.text(QAccessible.Text.Name) if iface is not None else ""
    return (widget.accessibleName() or spoken or "").strip()


def describe(widget: QWidget) -> str:
    return f"{type(widget).__name__} {widget.objectName()!r} in {type(widget.parent()).__name__}"


def shown_panels(qtbot, window):
    """Each panel in turn, shown (a lazy panel builds its widgets when first shown)."""
    for index, panel in enumerate(window.panels):
        window.tabs.setCurrentIndex(index)
        qtbot.wait(10)
        yield panel


def test_every_custom_or_unlabelled_widget_has_an_accessible_name(qtbot, window):
    missing: list[str] = []
    for panel in shown_panels(qtbot, window):
        missing += [
            f"{panel.title}: {describe(w)}"
            for w in panel.findChildren(QWidget)
            if needs_a_name(w) and not spoken_name(w)
        ]
    assert missing == [], "\n".join(missing)


def test_ctrl_number_switches_to_each_panel(qtbot, window):
    for index in reversed(range(len(window.panels))):
        qtbot.keyClick(
            window, getattr(Qt.Key, f"Key_{index + 1}"), Qt.KeyboardModifier.ControlModifier
        )
        assert window.tabs.currentIndex() == index
        assert f"(Ctrl+{index + 1})" in window.tabs.tabToolTip(index)


def test_every_button_of_every_panel_takes_tab_focus(qtbot, window):
    refusing: list[str] = []
    for panel in shown_panels(qtbot, window):
        refusing += [
            f"{panel.title}: {type(b).__name__} {b.text()!r}"
            for b in panel.findChildren(QAbstractButton)
            if not isinstance(b.parent(), QAbstractItemView)  # a table's corner button
            if b.isVisible() and not b.focusPolicy() & Qt.FocusPolicy.TabFocus
        ]
    assert refusing == [], "\n".join(refusing)


def test_tab_reaches_the_score_panel_buttons(qtbot, window):
    """Keyboard only: Tab from the text box moves through the panel to Copy result."""
    score = window.score
    score.editor.setPlainText("you are an idiot")
    score.score_now()
    score.editor.setFocus()
    qtbot.waitUntil(score.editor.hasFocus)
    reached = []
    for _ in range(40):
        qtbot.keyClick(window.focusWidget(), Qt.Key.Key_Tab)
        if window.focusWidget() is score.editor:  # round the whole chain
            break
        reached.append(window.focusWidget())
    assert score.editor.toPlainText() == "you are an idiot"  # Tab moved on, typed nothing
    assert score.copy_button in reached and score.copy_json_button in reached


def test_menus_have_mnemonics_and_shortcuts(window):
    menus = [a.text() for a in window.menuBar().actions()]
    assert all("&" in text for text in menus), menus
    shortcuts = {
        a.text(): a.shortcut().toString()
        for menu in window.menuBar().actions()
        for a in menu.menu().actions()
        if not a.isSeparator()
    }
    assert shortcuts["&Preferences…"] == "Ctrl+,"
    assert [shortcuts[p.title] for p in window.panels] == [f"Ctrl+{i}" for i in range(1, 9)]
