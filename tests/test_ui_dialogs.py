"""The dialog pieces in app.ui.common.dialogs: Yes/No questions default to No, and both dialogs'
OK/Cancel buttons accept and reject."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QMessageBox

from app.ui.common.dialogs import ask_yes_no
from app.ui.common.label_dialog import LabelColumnDialog
from app.ui.shell.preferences import SettingsDialog

Button = QMessageBox.StandardButton


@pytest.mark.parametrize("answer", [Button.Yes, Button.No, Button.Cancel])
def test_ask_yes_no_is_true_only_for_yes_and_defaults_to_no(monkeypatch, answer):
    asked = []

    def question(parent, title, text, buttons, default):
        asked.append((parent, title, text, buttons, default))
        return answer

    monkeypatch.setattr(QMessageBox, "question", question)
    assert ask_yes_no(None, "Title", "Sure?") is (answer == Button.Yes)
    assert asked == [(None, "Title", "Sure?", Button.Yes | Button.No, Button.No)]


@pytest.fixture(params=["label", "preferences"])
def dialog(request, qtbot, app_context) -> QDialog:
    if request.param == "label":
        widget: QDialog = LabelColumnDialog("x.csv", ["id", "text", "label"], "text")
    else:
        widget = SettingsDialog(app_context)
    qtbot.addWidget(widget)
    return widget


@pytest.mark.parametrize(
    ("button", "result"),
    [(QDialogButtonBox.StandardButton.Ok, 1), (QDialogButtonBox.StandardButton.Cancel, 0)],
)
def test_ok_accepts_and_cancel_rejects(qtbot, dialog, button, result):
    (box,) = dialog.findChildren(QDialogButtonBox)
    assert box.standardButtons() == (
        QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
    )
    with qtbot.waitSignal(dialog.finished) as finished:
        box.button(button).click()
    assert finished.args == [result]
