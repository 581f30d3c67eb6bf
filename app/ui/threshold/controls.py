"""The Threshold panel's left column: data source, threshold, finders, reference and metrics.

Layout and display only: the panel connects the signals and decides what to show.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLayout,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSlider,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.analysis.thresholds import ThresholdAnalysis, ThresholdDelta
from app.core.batch.words import BLANK, REJECTED
from app.core.csvio.csv_input import RejectedRow
from app.ui.common.colours import error_style, muted_style, ui_scale, warn_colour
from app.ui.common.threshold_widgets import MetricsTable, ThresholdSpinBox, fmt_threshold

OPEN_CSV = "open-csv"  # item data of the source combo's last entry, an action, not a source
COLUMN_WIDTH = 380


def describe_rejected(
    rejected: Sequence[RejectedRow], rows_read: int, shown: int = 2, blank: int = 0
) -> str:
    """ "2 of 120 rows rejected: line 4 (bad quote), line 9 (missing label). 3 blank (empty text)."

    The batch job's words (`app.core.batch.words`): blank texts are *blank*, not rejected.
    """
    noun = "row" if rows_read == 1 else "rows"
    blank_text = f"{blank:,} {BLANK} (empty text, not scored)." if blank else ""
    if not rejected:
        return blank_text
    cut = 48  # reasons can be long; the tooltip has them in full
    first = ", ".join(
        f"line {r.line} ({r.reason if len(r.reason) <= cut else r.reason[: cut - 1] + '…'})"
        for r in rejected[:shown]
    )
    more = f", and {len(rejected) - shown:,} more" if len(rejected) > shown else ""
    head = f"{len(rejected):,} of {rows_read:,} {noun} {REJECTED}: {first}{more}."
    return f"{head} {blank_text}" if blank_text else head


def _box(title: str, *parts: QWidget | QLayout) -> QGroupBox:
    box = QGroupBox(title)
    layout = QVBoxLayout(box)
    layout.setSpacing(3)  # compact: the whole column should fit 800 px without scrolling
    layout.setContentsMargins(6, 4, 6, 6)
    for part in parts:
        if isinstance(part, QLayout):
            layout.addLayout(part)
        else:
            layout.addWidget(part)
    return box


def _row(*widgets: QWidget, stretch: int | None = None) -> QHBoxLayout:
    """Widgets side by side; the one at index ``stretch`` takes the spare width."""
    row = QHBoxLayout()
    for i, widget in enumerate(widgets):
        row.addWidget(widget, 1 if i == stretch else 0)
    return row


def _number(
    value: float, high: float, decimals: int, step: float, suffix: str = ""
) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(0.0, high)
    spin.setDecimals(decimals)
    spin.setSingleStep(step)
    spin.setSuffix(suffix)
    spin.setValue(value)
    return spin


class ThresholdControls(QScrollArea):
    """The panel's left column: data source, threshold, finders, reference and metrics.

    A scroll area, so nothing is cut off on a small screen.
    """

    def __init__(self, threshold: float, reference: float, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source = QComboBox()
        self.source.setAccessibleName("Data source")
        self.summary, self.rejected, self.notice = QLabel(), QLabel(), QLabel()
        self.rejected.setStyleSheet(f"color: {warn_colour()};")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.cancel_button = QPushButton("Cancel")
        loading = _row(self.progress, self.cancel_button, stretch=0)
        self.progress.hide()
        self.cancel_button.hide()

        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 100)  # hundredths: the 0.01 grid
        self.slider.setPageStep(5)
        self.slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.slider.setTickInterval(10)
        self.slider.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.slider.setAccessibleName("Threshold")
        self.slider.setValue(round(100 * threshold))
        self.spin = ThresholdSpinBox(threshold)
        self.spin.setAccessibleName("Threshold value")
        self.status = QLabel()
        self.apply_button = QPushButton("Apply as app-wide threshold")

        self.best_f1_button = QPushButton("Best F1")
        self.cost_spin = _number(5.0, 1000.0, 1, 1.0, " false alarms")
        self.cost_spin.setToolTip("How many false alarms one missed abusive item is worth.")
        self.cost_spin.setMinimumWidth(90)  # may shrink at a large font, not widen the column
        self.cost_button = QPushButton("Lowest cost")
        self.recall_spin = _number(0.93, 1.0, 2, 0.01)
        self.recall_button = QPushButton()
        self.recall_spin.valueChanged.connect(self._name_recall_button)
        self._name_recall_button(self.recall_spin.value())
        finders = QFormLayout()
        finders.setVerticalSpacing(3)
        finders.addRow(self.best_f1_button)
        finders.addRow("A miss costs", _row(self.cost_spin, self.cost_button, stretch=1))
        finders.addRow("Recall at least", _row(self.recall_spin, QWidget(), stretch=1))
        finders.addRow(self.recall_button)

        self.reference_spin = ThresholdSpinBox(reference)
        self.reference_spin.setAccessibleName("Reference threshold")
        self.comparison = QLabel()
        self.table = MetricsTable()
        self.table.setAccessibleName("Metrics compared with the reference threshold")

        page = QWidget()
        column = QVBoxLayout(page)
        column.setSpacing(4)
        column.setContentsMargins(2, 2, 2, 2)
        column.addWidget(_box("Data", self.source, self.summary, self.rejected, loading))
        column.addWidget(
            _box(
                "Threshold", _row(self.slider, self.spin, stretch=0), self.status, self.apply_button
            )
        )
        column.addWidget(_box("Find a threshold", finders))
        # The reference comparison shares its place with the planner's pages (`insert_tab`):
        # stacked, the column would no longer fit a 1280x800 screen without scrolling.
        reference = _box(
            "",
            _row(QLabel("Reference threshold"), self.reference_spin, QWidget(), stretch=2),
            self.comparison,
            self.table,
        )
        reference.setFlat(True)
        self.pages = QTabWidget()
        self.pages.setDocumentMode(True)
        self.pages.addTab(reference, "Reference")
        self.pages.setTabToolTip(0, "Compared with a reference threshold")
        column.addWidget(self.pages)
        column.addWidget(self.notice)
        column.addStretch(1)
        for label in (self.summary, self.rejected, self.notice, self.status, self.comparison):
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setWidget(page)
        self.setWidgetResizable(True)
        # Room for the scroll bar, so a long column scrolls instead of clipping its right edge.
        # Scaled with the font (Preferences), else its texts are cut off at 150 %.
        width = round(COLUMN_WIDTH * min(max(1.0, ui_scale()), 1.25))  # the plots need room too
        self.setFixedWidth(width + self.verticalScrollBar().sizeHint().width())
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

    def insert_tab(self, index: int, page: QWidget, title: str, tip: str = "") -> None:
        """Add a page (e.g. the planner's) beside the reference comparison, at ``index``."""
        self.pages.insertTab(index, page, title)
        self.pages.setTabToolTip(index, tip)
        page.setProperty("tab_title", title)

    def mark_page(self, page: QWidget, warn: bool) -> None:
        """A warning sign on the page's tab, so a warning on a hidden page is still seen."""
        title = page.property("tab_title")
        self.pages.setTabText(self.pages.indexOf(page), f"{title} ⚠" if warn else title)

    def _name_recall_button(self, value: float) -> None:
        self.recall_button.setText(f"Highest threshold with recall ≥ {value:.2f}")

    def list_sources(self, sources: Iterable[tuple[str, str]], select: str | None) -> None:
        """Fill the source combo with (name, key) entries and "Open labelled CSV…" last.

        Signals are blocked: the panel selects the data itself after refilling.
        """
        with QSignalBlocker(self.source):
            self.source.clear()
            for name, key in sources:
                self.source.addItem(name, key)
            self.source.insertSeparator(self.source.count())
            self.source.addItem("Open labelled CSV…", OPEN_CSV)
        self.select_source(select)

    def select_source(self, key: str | None) -> None:
        """Show ``key`` (else the first entry) as the current source, without signalling."""
        with QSignalBlocker(self.source):
            self.source.setCurrentIndex(max(0, self.source.findData(key)))

    def enable_actions(self, enabled: bool) -> None:
        """The buttons that need data: apply and the finders."""
        for button in (self.apply_button, self.best_f1_button, self.cost_button,
                       self.recall_button):  # fmt: skip
            button.setEnabled(enabled)

    def set_loading(self, loading: bool) -> None:
        self.progress.setValue(0)
        self.progress.setVisible(loading)
        self.cancel_button.setVisible(loading)

    def show_notice(self, text: str, error: bool = False) -> None:
        self.notice.setStyleSheet(error_style() if error else muted_style())
        self.notice.setText(text)

    def show_summary(
        self,
        analysis: ThresholdAnalysis | None,
        note: str = "",
        rejected: Sequence[RejectedRow] = (),
        blank: int = 0,
    ) -> None:
        """Size, class balance and AUC of the shown data, and what was rejected reading it."""
        if analysis is None:
            self.summary.setText("No data.")
            self.rejected.hide()
            return
        a, auc = analysis, analysis.roc_auc()
        self.summary.setText(
            f"{a.n:,} rows, {a.positives:,} abusive ({100 * a.positives / a.n:.1f}%)"
            + ("" if math.isnan(auc) else f", ROC AUC {auc:.3f}")  # NaN: a single class
            # Escaped: the note quotes the file's label values and column names.
            + (f"<br><span style='color:#666'>{html.escape(note, False)}</span>" if note else "")
        )
        read = a.n + len(rejected) + blank
        self.rejected.setText(describe_rejected(rejected, read, blank=blank))
        self.rejected.setToolTip("\n".join(f"line {r.line}: {r.reason}" for r in rejected[:50]))
        self.rejected.setVisible(bool(rejected) or blank > 0)

    def show_status(self, exploring: float, app_wide: float, why: str, *, applied: bool) -> None:
        """Which threshold is app-wide and which one is being explored."""
        self.status.setText(
            f"App-wide threshold: <b>{fmt_threshold(app_wide)}</b><br>"
            f"Exploring: <b>{fmt_threshold(exploring)}</b>"
            + (f" ({why})" if why else "")
            + (" — this is the app-wide threshold" if applied else " — not applied")
        )
        self.apply_button.setEnabled(not applied and 0.0 <= exploring <= 1.0)

    def show_comparison(self, delta: ThresholdDelta) -> None:
        """The reference comparison in counts a supervisor can act on, then in words."""
        self.comparison.setText(
            f"<b>{delta.extra_caught:+,d} abusive caught, {delta.extra_false_alarms:+,d} false "
            f"alarms, review queue {delta.queue_change_per_1000:+,.1f} per 1,000</b>"
            f"<br>{delta.describe()}"
        )
