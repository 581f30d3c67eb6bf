"""The main window: a frame for the panels, and a status bar that names the active model.

The panels (Score, Batch, Threshold, Activity, Session) live in their own modules; this window
only arranges them and shows application-wide state.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMainWindow, QTabWidget, QWidget

from app import APP_NAME, __version__
from app.core.scoring import Scorer


class MainWindow(QMainWindow):
    def __init__(self, scorer: Scorer, threshold: float, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.scorer = scorer
        self.setWindowTitle(f"{APP_NAME} {__version__}")
        self.resize(1280, 800)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.setCentralWidget(self.tabs)
        placeholder = QLabel(
            f"<h2>{scorer.version_label}</h2>"
            "<p>The model bundle was verified against its manifest.</p>"
            "<p>The Score, Batch, Threshold and Activity panels are being built.</p>"
        )
        placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.tabs.addTab(placeholder, "Overview")

        self.model_status = QLabel(f"Model {scorer.version_label} · verified")
        self.model_status.setObjectName("modelStatus")
        self.threshold_status = QLabel(f"Threshold {threshold:.2f}")
        self.statusBar().addPermanentWidget(self.threshold_status)
        self.statusBar().addPermanentWidget(self.model_status)
