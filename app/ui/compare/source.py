"""Where the Compare panel's items come from: the bundled evaluation sets or a labelled CSV.

``SourceBar`` is the strip at the top of the panel (which models, which data, progress, notes
and errors); ``PairedCsvJob`` scores a labelled CSV with both models on a worker (a core call),
``PairedSampleJob`` an audit sample's labelled items (weighted: `app.core.audit.sample_source`).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.analysis.compare import PAIRED_EVAL_SETS_NAME, PairedScores, score_labeled_pair
from app.core.audit.sample_source import SOURCE_PREFIX, score_sample_pair
from app.ui.common.colours import error_style, muted_style
from app.ui.common.label_dialog import LabeledCsvRequest

BUNDLED, CSV = "bundled", "csv"  # item data of the source combo's entries


@dataclass
class PairedCsvJob:
    """Reads a labelled CSV and scores it with both models, on a worker thread."""

    champion: Any
    challenger: Any
    request: LabeledCsvRequest

    @property
    def path(self) -> Path:  # the loader names its worker after the file
        return self.request.path

    def __call__(self, progress: Any, cancelled: Any) -> PairedScores:
        r = self.request
        return score_labeled_pair(
            self.champion, self.challenger, r.path, label_column=r.label_column,
            positive_values=r.positive_values, text_column=r.text_column,
            progress=lambda done, total: progress((done, total)), cancelled=cancelled,
        )  # fmt: skip


@dataclass(frozen=True)
class SampleRequest:
    """An audit sample to compare on (labelled by the labels store or its verdict column)."""

    path: Path


@dataclass
class PairedSampleJob:
    """Scores an audit sample's labelled items with both models, on a worker thread."""

    champion: Any
    challenger: Any
    request: SampleRequest

    @property
    def path(self) -> Path:
        return self.request.path

    def __call__(self, progress: Any, cancelled: Any) -> PairedScores:
        return score_sample_pair(
            self.champion, self.challenger, self.request.path,
            progress=lambda done, total: progress((done, total)), cancelled=cancelled,
        )  # fmt: skip


def paired_job(
    champion: Any, challenger: Any, request: LabeledCsvRequest | SampleRequest
) -> PairedCsvJob | PairedSampleJob:
    """The worker job for a labelled CSV or an audit sample."""
    if isinstance(request, SampleRequest):
        return PairedSampleJob(champion, challenger, request)
    return PairedCsvJob(champion, challenger, request)


class SourceBar(QWidget):
    """Which models are compared, on which data; loading progress, the data's note, errors."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.models = QLabel()
        self.models.setTextFormat(Qt.TextFormat.RichText)
        self.source = QComboBox()
        self.source.setAccessibleName("Compare on")
        self.source.addItem(PAIRED_EVAL_SETS_NAME, BUNDLED)
        self.source.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.open_button = QPushButton("Open labelled CSV…")
        self.sample_button = QPushButton("Open audit sample…")
        self.sample_button.setToolTip(
            "A labelled audit sample of a batch: both models score its items, weighted by band"
        )
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setMaximumWidth(220)
        self.cancel_button = QPushButton("Cancel")
        self.note, self.error = QLabel(), QLabel()
        self.note.setStyleSheet(muted_style())
        self.error.setStyleSheet(error_style())
        for label in (self.models, self.note, self.error):
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row = QHBoxLayout()
        row.addWidget(QLabel("Compare on"))
        for widget in (self.source, self.open_button, self.sample_button, self.progress,
                       self.cancel_button):  # fmt: skip
            row.addWidget(widget)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 0)
        layout.setSpacing(4)
        layout.addWidget(self.models)
        layout.addLayout(row)
        layout.addWidget(self.note)
        layout.addWidget(self.error)
        self.set_loading(False)
        self.show_error("")

    def set_models(
        self, champion: str, challenger: str, engines: tuple[str, str] = ("linear", "linear")
    ) -> None:
        """Name both models and their engines ("linear" or "encoder"): a linear model and an
        encoder compare like any two versions, item by item on their shared test items."""
        self.models.setText(
            f"<b>Champion</b> {html.escape(champion)} ({engines[0]} engine; decides) &nbsp;vs"
            f"&nbsp; <b>challenger</b> {html.escape(challenger)} ({engines[1]} engine; "
            "shadow-scores only) — at the app-wide threshold unless stated"
        )

    def key(self) -> str:
        return str(self.source.currentData())

    def set_csv_entry(self, name: str | None) -> None:
        """List the labelled CSV by name (or none), without signalling."""
        with QSignalBlocker(self.source):
            if (index := self.source.findData(CSV)) >= 0:
                self.source.removeItem(index)
            if name is not None:
                shown = name if name.startswith(SOURCE_PREFIX) else f"Labelled CSV: {name}"
                self.source.addItem(shown, CSV)

    def select(self, key: str) -> None:
        """Show ``key`` as the current source, without signalling."""
        with QSignalBlocker(self.source):
            self.source.setCurrentIndex(max(0, self.source.findData(key)))

    def set_loading(self, loading: bool) -> None:
        self.progress.setValue(0)
        self.progress.setVisible(loading)
        self.cancel_button.setVisible(loading)

    def show_note(self, text: str) -> None:
        self.note.setText(text)
        self.note.setVisible(bool(text))

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.setVisible(bool(text))
