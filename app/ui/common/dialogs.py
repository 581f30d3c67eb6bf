"""The two small dialog pieces every window uses alike: a Yes/No question whose safe answer is
the default, and a dialog's column of contents above OK/Cancel buttons."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLayout,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)


def ask_yes_no(parent: QWidget | None, title: str, text: str) -> bool:
    """Whether the user answered Yes; No is the default (Enter never confirms by accident)."""
    answer = QMessageBox.question(
        parent,
        title,
        text,
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.No,
    )
    return answer == QMessageBox.StandardButton.Yes


def ok_cancel_layout(dialog: QDialog, *parts: QWidget | QLayout) -> QVBoxLayout:
    """Lay ``parts`` out in a column on ``dialog``, above OK/Cancel wired to accept/reject."""
    buttons = QDialogButtonBox(
        QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
    )
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    layout = QVBoxLayout(dialog)
    for part in parts:
        if isinstance(part, QLayout):
            layout.addLayout(part)
        else:
            layout.addWidget(part)
    layout.addWidget(buttons)
    return layout
