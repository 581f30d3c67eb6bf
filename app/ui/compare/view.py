"""The Compare panel's widgets and how they are arranged; `compare_panel.ComparePanel` adds what
they do.

Two pages: a message when there is no challenger, and the comparison. The comparison has the
source bar on top and, below it, either a message (nothing to compare on this source, or a CSV
being scored for new models) or the content: the score scatter and both confusion matrices at
the app-wide threshold, the agreement counts beside the list of disagreements, and the
migration proposal in a column on the right.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton, QSplitter, QStackedWidget, QVBoxLayout, QWidget

from app.ui.common.colours import ui_scale
from app.ui.common.confusion_matrix import ConfusionMatrixCanvas
from app.ui.compare.scatter import ScoreScatterCanvas
from app.ui.compare.source import SourceBar
from app.ui.compare.table import DisagreementsPage
from app.ui.compare.widgets import AgreementBox, MigrationBox

NO_CHALLENGER = (
    "No challenger. Choose one in the Models panel: it will shadow-score every text and batch "
    "without changing any decision."
)
NOTHING_TO_COMPARE = (
    "Nothing to compare on this source. Open a labelled CSV: both models score its texts and "
    "are compared on them."
)
NONE_PAGE, COMPARE_PAGE = 0, 1
MESSAGE_BODY, CONTENT_BODY = 0, 1
MIGRATION_WIDTH, MIGRATION_MIN_WIDTH = 340, 280


def _centred(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def _page(*widgets: QWidget) -> QWidget:
    """Widgets centred vertically on a page (a message and what to do about it)."""
    page = QWidget()
    layout = QVBoxLayout(page)
    layout.addStretch(1)
    for widget in widgets:
        alignment = (
            Qt.AlignmentFlag(0) if isinstance(widget, QLabel) else Qt.AlignmentFlag.AlignHCenter
        )
        layout.addWidget(widget, 0, alignment)
    layout.addStretch(2)
    return page


def _split(orientation: Qt.Orientation, sizes: list[int], *widgets: QWidget) -> QSplitter:
    splitter = QSplitter(orientation)
    for widget in widgets:
        splitter.addWidget(widget)
        splitter.setCollapsible(splitter.count() - 1, False)
    splitter.setSizes(sizes)
    return splitter


class ComparePanelView(QWidget):
    """Every widget of the Compare panel, in place; no behaviour, no signal connections."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.no_challenger = _centred(NO_CHALLENGER)
        self.no_challenger.setStyleSheet(f"font-size: {11 * ui_scale():g}pt")
        self.promoted = _centred()
        self.source_bar = SourceBar()
        self.message = _centred()
        self.message_open_button = QPushButton("Open labelled CSV…")
        self.scatter = ScoreScatterCanvas()
        self.champion_matrix, self.challenger_matrix = (
            ConfusionMatrixCanvas(),
            ConfusionMatrixCanvas(),
        )
        for matrix in (self.champion_matrix, self.challenger_matrix):
            matrix.setToolTip("")  # nothing to click: the disagreements are listed below
        # Narrower than the app's other plots, so the row of three fits a 1024-pixel window.
        for canvas, width in ((self.scatter, 220), (self.champion_matrix, 190),
                              (self.challenger_matrix, 190)):  # fmt: skip
            canvas.setMinimumSize(width, 200)
        self.agreement_box = AgreementBox()
        self.agreement_box.setMinimumWidth(280)
        self.disagreements = DisagreementsPage()
        self.migration_box = MigrationBox()
        self.migration_box.setMinimumWidth(MIGRATION_MIN_WIDTH)
        self.migration_box.setMaximumWidth(MIGRATION_WIDTH)

        horizontal, vertical = Qt.Orientation.Horizontal, Qt.Orientation.Vertical
        top = _split(
            horizontal, [380, 270, 270], self.scatter, self.champion_matrix, self.challenger_matrix
        )
        bottom = _split(horizontal, [290, 630], self.agreement_box, self.disagreements)
        content = _split(
            horizontal,
            [920, MIGRATION_WIDTH],
            _split(vertical, [380, 300], top, bottom),
            self.migration_box,
        )
        content.setStretchFactor(0, 1)
        content.setStretchFactor(1, 0)
        self.body = QStackedWidget()
        self.body.addWidget(_page(self.message, self.message_open_button))  # MESSAGE_BODY
        self.body.addWidget(content)  # CONTENT_BODY
        compare = QWidget()
        compare_layout = QVBoxLayout(compare)
        compare_layout.setContentsMargins(0, 0, 0, 0)
        compare_layout.addWidget(self.source_bar)
        compare_layout.addWidget(self.body, 1)
        self.pages = QStackedWidget()
        self.pages.addWidget(_page(self.no_challenger, self.promoted))  # NONE_PAGE
        self.pages.addWidget(compare)  # COMPARE_PAGE
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.pages)

    def show_message(self, text: str, *, offer_csv: bool) -> None:
        """Show a message instead of the comparison (with the "Open labelled CSV…" button)."""
        self.message.setText(text)
        self.message_open_button.setVisible(offer_csv)
        self.body.setCurrentIndex(MESSAGE_BODY)
