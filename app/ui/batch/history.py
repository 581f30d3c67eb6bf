"""The Batch panel's history bar: earlier jobs kept across restarts (`results.history`), one
compact row (a drop-down, Reopen, Remove) under a caption, that fits the Queue box at 1024×700."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPaintEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QStyle,
    QStyleOptionComboBox,
    QStylePainter,
    QVBoxLayout,
    QWidget,
)

from app.core.results.history import BatchHistory, HistoryEntry, entry_brief, entry_summary

BRIEF_ROLE = Qt.ItemDataRole.UserRole + 1  # (file name, brief line) for the closed box


class HistoryCombo(QComboBox):
    """A drop-down whose list shows each entry's whole line, and whose closed box shows the
    file name, elided in its middle to fit, and the brief line: never clipped at 1024×700."""

    def closed_text(self) -> str:
        """What the closed box shows at its current width."""
        brief = self.currentData(BRIEF_ROLE)
        if not brief:
            return self.currentText()
        opt = QStyleOptionComboBox()
        self.initStyleOption(opt)
        box = self.style().subControlRect(
            QStyle.ComplexControl.CC_ComboBox, opt, QStyle.SubControl.SC_ComboBoxEditField, self
        )
        metrics, (name, rest) = self.fontMetrics(), brief
        room = box.width() - metrics.horizontalAdvance(f" · {rest}") - 4
        name = metrics.elidedText(name, Qt.TextElideMode.ElideMiddle, max(room, 0))
        return f"{name} · {rest}"

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QStylePainter(self)
        opt = QStyleOptionComboBox()
        self.initStyleOption(opt)
        opt.currentText = self.closed_text()
        painter.drawComplexControl(QStyle.ComplexControl.CC_ComboBox, opt)
        painter.drawControl(QStyle.ControlElement.CE_ComboBoxLabel, opt)


class HistoryBar(QWidget):
    """Lists the history's entries, newest first; asks the panel to reopen or remove one."""

    reopen_requested = Signal(object)  # HistoryEntry
    remove_requested = Signal(object)  # HistoryEntry

    def __init__(self, history: BatchHistory, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.history = history
        self.setAccessibleName("Batch history, kept after closing")
        self.combo = HistoryCombo()
        self.combo.setAccessibleName("Batch history")
        self.combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.combo.setMinimumContentsLength(12)
        self.combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.reopen_button = QPushButton("Reopen")
        self.reopen_button.setToolTip("Show this earlier job's results and ledger; export again")
        self.remove_button = QPushButton("Remove…")
        self.remove_button.setToolTip("Delete this job from the history, with its cached results")
        self.remove_button.setAccessibleName("Remove from history")
        caption = QLabel("History (kept after closing):")
        caption.setBuddy(self.combo)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 4, 0, 0)
        box.setSpacing(2)
        box.addWidget(caption)
        # The drop-down on its own line and the buttons under it: the side column stays narrow
        # enough for the whole panel to fit a 1024-pixel-wide screen.
        box.addWidget(self.combo)
        row = QHBoxLayout()
        box.addLayout(row)
        row.addWidget(self.reopen_button)
        row.addWidget(self.remove_button)
        row.addStretch(1)
        self.combo.currentIndexChanged.connect(self._enable)
        self.reopen_button.clicked.connect(self._reopen)
        self.remove_button.clicked.connect(self._remove)
        self.entries: list[tuple[HistoryEntry, bool]] = []
        self.refresh()

    def refresh(self) -> None:
        """Read the index again (another window may have changed it)."""
        current = self.selected()
        self.entries = [(e, self.history.available(e)) for e in reversed(self.history.entries())]
        self.combo.blockSignals(True)
        self.combo.clear()
        for entry, available in self.entries:
            # The list shows the whole line; the closed box a brief one; the tooltip the whole
            # line and the file's path.
            self.combo.addItem(entry_summary(entry, available), entry.id)
            at = self.combo.count() - 1
            tip = f"{entry_summary(entry, available)}\n{entry.input_path}"
            self.combo.setItemData(at, tip, Qt.ItemDataRole.ToolTipRole)
            self.combo.setItemData(at, (entry.name, entry_brief(entry, available)), BRIEF_ROLE)
        if not self.entries:
            self.combo.addItem("No earlier jobs")
        if current is not None:
            self.combo.setCurrentIndex(max(0, self.combo.findData(current.id)))
        view = self.combo.view()  # the list shows each whole line, wider than the box if need be
        view.setMinimumWidth(view.sizeHintForColumn(0) + 24)
        self.combo.blockSignals(False)
        self._enable()

    def selected(self) -> HistoryEntry | None:
        at = self.combo.currentIndex()
        return self.entries[at][0] if 0 <= at < len(self.entries) else None

    def _enable(self) -> None:
        at = self.combo.currentIndex()
        listed = 0 <= at < len(self.entries)
        self.reopen_button.setEnabled(listed and self.entries[at][1])  # not once the cache is gone
        self.remove_button.setEnabled(listed)
        self.combo.setToolTip(self.combo.itemData(at, Qt.ItemDataRole.ToolTipRole) or "")

    def _reopen(self) -> None:
        if (entry := self.selected()) is not None:
            self.reopen_requested.emit(entry)

    def _remove(self) -> None:
        if (entry := self.selected()) is not None:
            self.remove_requested.emit(entry)
