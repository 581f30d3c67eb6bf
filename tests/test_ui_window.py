"""The main window opens on the bundled model and names it in the status bar."""

from __future__ import annotations

from pathlib import Path

from app.ui.main_window import MainWindow

ARTIFACTS = Path(__file__).resolve().parent / "_artifacts"


def test_status_bar_names_verified_model(qtbot, bundled_scorer):
    window = MainWindow(bundled_scorer, 0.45)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    text = window.model_status.text()
    assert bundled_scorer.bundle.name in text and bundled_scorer.bundle.version in text
    assert "verified" in text
    assert window.threshold_status.text() == "Threshold 0.45"
    ARTIFACTS.mkdir(exist_ok=True)
    assert window.grab().save(str(ARTIFACTS / "main_window.png"))
