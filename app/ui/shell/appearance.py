"""The accessibility preferences applied to the running app: font size and theme.

The font size scales the application font (every widget that does not set its own follows it)
and, live, each widget that set an explicit font (the Score panel's big score, the Session
figures); sizes that panels compute when they build read ``ui_scale()``. The themes are
palettes on the Fusion style (it honours a palette fully on every platform); "System" puts
back the style and palette the app started with. Plots read the theme and scale when built.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, Qt
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication

from app.ui.common import colours

# (setting value, label shown in Preferences); the core validates against the same values.
THEME_LABELS = (("system", "System"), ("dark", "Dark"), ("high_contrast", "High contrast"))

_base: dict[str, object] = {}  # what the app started with: the font, palette and style name

_R = QPalette.ColorRole
# role -> colour, for each theme other than "system"
_PALETTES = {
    "dark": {
        _R.Window: "#2b2b2b", _R.WindowText: "#e8e8e8", _R.Base: "#1e1e1e",
        _R.AlternateBase: "#2f2f2f", _R.ToolTipBase: "#3a3a3a", _R.ToolTipText: "#f0f0f0",
        _R.Text: "#e8e8e8", _R.Button: "#353535", _R.ButtonText: "#e8e8e8",
        _R.BrightText: "#ff8a80", _R.Link: "#8ab4f8", _R.Highlight: "#3d6fb4",
        _R.HighlightedText: "#ffffff", _R.PlaceholderText: "#9a9a9a",
    },
    "high_contrast": {
        _R.Window: "#000000", _R.WindowText: "#ffffff", _R.Base: "#000000",
        _R.AlternateBase: "#1a1a1a", _R.ToolTipBase: "#000000", _R.ToolTipText: "#ffffff",
        _R.Text: "#ffffff", _R.Button: "#000000", _R.ButtonText: "#ffffff",
        _R.BrightText: "#ffff00", _R.Link: "#ffff00", _R.Highlight: "#ffff00",
        _R.HighlightedText: "#000000", _R.PlaceholderText: "#c0c0c0",
    },
}  # fmt: skip


# High contrast draws the edges of every input and a yellow ring on the focused one: black on
# black leaves a text box without a visible edge, and a keyboard user must see where focus is.
HIGH_CONTRAST_SHEET = (
    "QAbstractScrollArea, QLineEdit, QAbstractSpinBox, QComboBox, QPushButton, QToolButton "
    "{ border: 1px solid #ffffff; }"
    "QPushButton, QToolButton { padding: 3px 8px; }"
    # Fusion draws check boxes, radio buttons and the progress bar's frame in shades of the
    # window colour: black on black. Their boxes get a white edge; checked fills yellow.
    "QCheckBox::indicator, QRadioButton::indicator, QGroupBox::indicator, "
    "QAbstractItemView::indicator "
    "{ width: 12px; height: 12px; border: 2px solid #ffffff; background: #000000; }"
    "QRadioButton::indicator { border-radius: 8px; }"
    "QCheckBox::indicator:checked, QRadioButton::indicator:checked, QGroupBox::indicator:checked, "
    "QAbstractItemView::indicator:checked { background: #ffff00; }"
    "QCheckBox::indicator:indeterminate, QAbstractItemView::indicator:indeterminate "
    "{ background: #808080; }"
    "QCheckBox::indicator:disabled, QRadioButton::indicator:disabled { border-color: #a0a0a0; }"
    "QProgressBar { border: 1px solid #ffffff; text-align: center; color: #ffffff; }"
    "QProgressBar::chunk { background: #0050c8; }"  # white text on it: 7:1; on black: 3:1
    "QAbstractScrollArea:focus, QLineEdit:focus, QAbstractSpinBox:focus, QComboBox:focus, "
    "QPushButton:focus, QToolButton:focus, QCheckBox:focus, QTabBar:focus "
    "{ border: 2px solid #ffff00; }"
)


def palette_for(theme: str, base: QPalette) -> QPalette:
    colours_of = _PALETTES.get(theme)
    if colours_of is None:
        return QPalette(base)
    palette = QPalette()
    for role, colour in colours_of.items():
        palette.setColor(role, QColor(colour))
    disabled = QColor("#808080" if theme == "dark" else "#a0a0a0")
    for role in (_R.WindowText, _R.Text, _R.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    return palette


def apply_appearance(app: QApplication, font_scale: int, theme: str) -> None:
    """Scale the UI to ``font_scale`` percent and use ``theme``; call at start-up and on OK."""
    if not _base:
        _base.update(font=QFont(app.font()), palette=QPalette(app.palette()))
        _base["style"] = app.style().name()
    ratio = font_scale / 100 / colours.ui_scale()
    colours.set_appearance(theme, font_scale / 100)
    # While a style sheet is set, widgets keep the font it polished them with: a new application
    # font reaches them only with no sheet set and its change delivered before the sheet comes
    # back (else 100 % System -> 150 % High contrast in one OK left the text at 100 %).
    if app.styleSheet() == HIGH_CONTRAST_SHEET:  # only ever removes our own
        app.setStyleSheet("")
    app.setStyle("Fusion" if theme in _PALETTES else str(_base["style"]))
    app.setPalette(palette_for(theme, _base["palette"]))  # type: ignore[arg-type]
    base_font = QFont(_base["font"])  # type: ignore[arg-type]
    if base_font.pointSizeF() > 0:
        base_font.setPointSizeF(base_font.pointSizeF() * font_scale / 100)
    app.setFont(base_font)
    if ratio != 1.0:  # explicit fonts do not follow the application font
        for widget in app.allWidgets():
            if widget.testAttribute(Qt.WidgetAttribute.WA_SetFont):
                font = QFont(widget.font())
                if font.pointSizeF() > 0:
                    font.setPointSizeF(font.pointSizeF() * ratio)
                    widget.setFont(font)
    QCoreApplication.sendPostedEvents(None, int(QEvent.Type.ApplicationFontChange))
    if theme == "high_contrast":
        app.setStyleSheet(HIGH_CONTRAST_SHEET)
