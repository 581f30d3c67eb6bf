"""The Review panel's widgets: the sample row (path, recent samples, open, export), progress, the
item in big text with its facts in small print, the verdict buttons and the note. The panel
(``app.ui.review.panel``) owns the logic; this module only lays the widgets out and says which
key means which command (`command_for`), so the text view and the panel agree.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QKeyEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.ui.common.colours import muted_style, ui_scale
from app.ui.review.estimates import EstimatesBox

ABUSIVE_CMD, BENIGN_CMD, SKIP_CMD = "abusive", "benign", "skip"
UNDO, PREVIOUS, NEXT, NEXT_UNREVIEWED = "undo", "previous", "next", "next_unreviewed"
VERDICT_COMMANDS = (ABUSIVE_CMD, BENIGN_CMD, SKIP_CMD)  # the verdict buttons, in order
MOVE_COMMANDS = (PREVIOUS, NEXT, NEXT_UNREVIEWED)  # the move buttons, in order
_KEYS = {
    Qt.Key.Key_A: ABUSIVE_CMD,
    Qt.Key.Key_B: BENIGN_CMD,
    Qt.Key.Key_S: SKIP_CMD,
    Qt.Key.Key_U: UNDO,
    Qt.Key.Key_Left: PREVIOUS,
    Qt.Key.Key_Up: PREVIOUS,
    Qt.Key.Key_PageUp: PREVIOUS,
    Qt.Key.Key_Right: NEXT,
    Qt.Key.Key_Down: NEXT,
    Qt.Key.Key_PageDown: NEXT,
    Qt.Key.Key_Return: NEXT_UNREVIEWED,
    Qt.Key.Key_Enter: NEXT_UNREVIEWED,
}
KEYS_HINT = (
    "Keys: A abusive · B benign · S skip · Ctrl+Z or U undo · ←/→ or PgUp/PgDn move · "
    "Enter next unreviewed"
)
NO_SAMPLE = (
    "Open an audit sample to review it here, one item at a time.\n\n"
    'Make one from a scored batch: "Draw audit sample…" in the Batch panel, or\n'
    "abuse-desk audit sample SCORED.csv --size 200 -o SAMPLE.csv"
)
TEXT_POINTS = 18  # the item's text, before the user's font-size preference


def command_for(event: QKeyEvent) -> str | None:
    """The review command a key press means, None if it means none (typing, Tab, ...)."""
    mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
    if event.key() == Qt.Key.Key_Z and mods == Qt.KeyboardModifier.ControlModifier:
        return UNDO
    if mods != Qt.KeyboardModifier.NoModifier:
        return None
    return _KEYS.get(Qt.Key(event.key()))


class ItemView(QPlainTextEdit):
    """The item's text, big and read-only. Review keys are left to the panel (ignored here, so
    they reach it); other keys select and copy as in any text view."""

    def __init__(self) -> None:
        super().__init__()
        self.setReadOnly(True)
        self.setTabChangesFocus(True)
        self.setObjectName("reviewText")
        self.setAccessibleName("Item to review")
        # Mouse selection (to copy) but no caret: a blinking cursor in the text reads as typing.
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setFont(QFont(self.font().family(), round(TEXT_POINTS * ui_scale())))
        self.document().setDocumentMargin(round(12 * ui_scale()))
        self.setPlainText(NO_SAMPLE)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt override)
        if command_for(event) is not None:
            event.ignore()  # the panel decides
            return
        super().keyPressEvent(event)


def _button(text: str, tip: str) -> QPushButton:
    button = QPushButton(text)
    button.setToolTip(tip)
    button.setEnabled(False)
    return button


class ReviewWidgets:
    """Builds the panel's widgets onto `owner` (attributes named as the panel uses them)."""

    def __init__(self, owner: QWidget) -> None:
        self.path = QComboBox(objectName="reviewPath")
        self.path.setEditable(True)
        self.path.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.path.setAccessibleName("Audit sample file")
        self.path.lineEdit().setPlaceholderText("Path of an audit sample CSV, or pick a recent one")
        self.path.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.browse = QPushButton("Browse…")
        self.browse.setToolTip("Choose an audit sample file")
        self.open_button = QPushButton("Open")
        self.open_button.setToolTip("Open the sample named in the path field")
        self.export_button = _button(
            "Export verdicts…",
            "Save the sample with its verdicts as a CSV for 'abuse-desk audit estimate'",
        )
        self.sample_info = QLabel(objectName="reviewSampleInfo", wordWrap=True)
        self.sample_info.setStyleSheet(muted_style())
        self.progress_label = QLabel("No sample open", objectName="reviewProgress")
        self.progress_label.setToolTip("Reviewed counts every item with a verdict, skips included")
        self.progress = QProgressBar(objectName="reviewProgressBar")
        self.progress.setAccessibleName("Review progress")
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(round(14 * ui_scale()))
        self.item_info = QLabel(objectName="reviewItemInfo")
        self.item_info.setStyleSheet(muted_style())
        self.item_info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text = ItemView()
        self.current = QLabel(objectName="reviewCurrent", wordWrap=True)
        bold = QFont(self.current.font())
        bold.setBold(True)
        self.current.setFont(bold)
        self.note = QLineEdit(objectName="reviewNote")
        self.note.setAccessibleName("Note saved with the verdict")
        self.note.setPlaceholderText(
            "Note, saved with the next verdict (Enter returns to the item)"
        )
        self.note.setEnabled(False)
        self.abusive = _button("&Abusive (A)", "This item is abusive")
        self.benign = _button("&Benign (B)", "This item is not abusive")
        self.skip = _button("&Skip (S)", "Cannot tell: counted as reviewed, left unlabelled")
        self.undo = _button("&Undo (Ctrl+Z)", "Withdraw the last verdict (its record is kept)")
        self.previous = _button("◀ &Previous", "The previous item (← or PgUp)")
        self.next = _button("Ne&xt ▶", "The next item (→ or PgDn)")
        self.next_unreviewed = _button("Next unre&viewed", "The next item with no verdict (Enter)")
        self.keys = QLabel(KEYS_HINT, objectName="reviewKeys", wordWrap=True)
        self.keys.setStyleSheet(muted_style())
        self.status = QLabel(objectName="reviewStatus", wordWrap=True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.estimates = EstimatesBox()
        self._lay_out(owner)

    @property
    def verdict_buttons(self) -> tuple[QPushButton, ...]:
        return (self.abusive, self.benign, self.skip)

    @property
    def move_buttons(self) -> tuple[QPushButton, ...]:
        return (self.previous, self.next, self.next_unreviewed)

    def _lay_out(self, owner: QWidget) -> None:
        top = QHBoxLayout()
        top.addWidget(QLabel("Sample"))
        top.addWidget(self.path, 1)
        for button in (self.browse, self.open_button, self.export_button):
            top.addWidget(button)
        progress = QHBoxLayout()
        progress.addWidget(self.progress_label)
        progress.addWidget(self.progress, 1)
        note = QHBoxLayout()
        note_label = QLabel("&Note")
        note_label.setBuddy(self.note)
        note.addWidget(note_label)
        note.addWidget(self.note, 1)
        verdicts = QHBoxLayout()
        for button in self.verdict_buttons:
            verdicts.addWidget(button)
        verdicts.addWidget(self.undo)
        verdicts.addStretch(1)
        for button in self.move_buttons:
            verdicts.addWidget(button)
        layout = QVBoxLayout(owner)
        layout.addLayout(top)
        layout.addWidget(self.sample_info)
        layout.addLayout(progress)
        layout.addSpacing(6)
        layout.addWidget(self.item_info)
        middle = QHBoxLayout()  # the item, and beside it what the verdicts so far say
        middle.addWidget(self.text, 3)
        middle.addWidget(self.estimates, 2)
        layout.addLayout(middle, 1)
        layout.addWidget(self.current)
        layout.addLayout(note)
        layout.addLayout(verdicts)
        layout.addWidget(self.keys)
        layout.addWidget(self.status)
