"""The "Model card" box shown by the Session and Models panels."""

from __future__ import annotations

from PySide6.QtWidgets import QGroupBox, QTextBrowser, QVBoxLayout

MODEL_CARD = "MODEL_CARD.md"  # the card's file name inside a bundle


def model_card_box() -> tuple[QGroupBox, QTextBrowser]:
    """A titled box holding a read-only browser for a bundle's MODEL_CARD.md."""
    box = QGroupBox("Model card")
    browser = QTextBrowser()
    browser.setOpenLinks(False)  # offline app: a card's links must not open anything
    QVBoxLayout(box).addWidget(browser)
    return box, browser
