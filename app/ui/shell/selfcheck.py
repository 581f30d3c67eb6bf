"""The self-test's GUI checks: proof that Qt, fonts and the plot stack work in this install.

The core self-test (`app.core.selftest.checks`) never touches Qt. These checks run after it from the
command line (``--self-test``), which matters most in the frozen bundle: a missing platform
plugin, a font that resolves to nothing (text drawn as boxes) or a broken matplotlib backend
would otherwise only show when an analyst opens the window. They need no display: without
DISPLAY/WAYLAND_DISPLAY on Linux, Qt runs on its offscreen platform.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

from app.core.selftest.checks import Check

SAMPLE_TEXT = "Abuse desk: 0123456789"
CLOWN = 0x1F921  # 🤡: an emoji only an emoji font has (the bundled Noto Color Emoji)


def _use_offscreen_without_display() -> None:
    """Pick Qt's offscreen platform when there is nothing to draw on (and no explicit choice)."""
    headless = not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if sys.platform == "linux" and headless and not os.environ.get("QT_QPA_PLATFORM"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"


def _dark_pixels(image: Any) -> int:
    """Pixels clearly darker than the white background of a rendered image."""
    from PySide6.QtGui import QColor

    return sum(
        QColor(image.pixel(x, y)).lightness() < 128
        for y in range(image.height())
        for x in range(image.width())
    )


def _render(text: str) -> Any:
    """``text`` drawn by a QLabel (black on white) into a QImage."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPalette
    from PySide6.QtWidgets import QLabel

    label = QLabel(text)
    palette = label.palette()
    palette.setColor(QPalette.ColorRole.Window, Qt.GlobalColor.white)
    palette.setColor(QPalette.ColorRole.WindowText, Qt.GlobalColor.black)
    label.setPalette(palette)
    label.setAutoFillBackground(True)
    label.adjustSize()
    image = QImage(label.size(), QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.white)
    label.render(image)
    return image


def _qt_check(app: Any) -> str:
    from PySide6 import __version__ as pyside_version
    from PySide6.QtCore import qVersion

    return f"Qt {qVersion()}, PySide6 {pyside_version}, platform {app.platformName()}"


def _font_check(app: Any) -> str:
    from PySide6.QtGui import QFontInfo, QFontMetrics

    from app.ui.shell.fonts import ensure_fonts, using_bundled_font

    ensure_fonts(app)  # what the GUI does at start (a no-op when it already has)
    font = app.font()
    family = QFontInfo(font).family()
    if not (family and QFontMetrics(font).inFont("A")):
        raise RuntimeError(f"the application font {family or font.family()!r} has no 'A' glyph")
    image = _render(SAMPLE_TEXT)
    dark = _dark_pixels(image)
    if dark == 0:
        raise RuntimeError(f"rendering {SAMPLE_TEXT!r} drew nothing ({family})")
    if _render("AAAA") == _render("OOOO"):  # every glyph drawn as the same box
        raise RuntimeError(f"different letters render alike in {family}: boxes, not glyphs")
    if not QFontMetrics(font).inFontUcs4(CLOWN):  # the bundled emoji font did not load
        raise RuntimeError(f"no font has the emoji U+{CLOWN:X}: emoji would render as boxes")
    source = "bundled, no usable system font" if using_bundled_font(app) else "system"
    size = f"{image.width()}x{image.height()}"
    return f"{family} ({source}), label {size}, {dark} dark pixels, emoji U+{CLOWN:X} found"


def _plot_check() -> str:
    import matplotlib
    import numpy as np
    from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(2, 1.5), dpi=50)
    canvas = FigureCanvasQTAgg(figure)
    axes = figure.add_subplot()
    axes.plot([0, 1], [0, 1], color="black")
    axes.set_title("0.45")
    canvas.draw()
    pixels = np.asarray(canvas.buffer_rgba())
    drawn = int((pixels[..., :3] < 128).any(axis=-1).sum())
    if drawn == 0:
        raise RuntimeError("the QtAgg canvas drew nothing")
    height, width = pixels.shape[:2]
    canvas.deleteLater()
    return (
        f"matplotlib {matplotlib.__version__} QtAgg canvas {width}x{height}, {drawn} drawn pixels"
    )


def _run(name: str, check: Callable[[], str]) -> Check:
    try:
        return Check(name, True, check())
    except Exception as exc:  # the check's result, not a crash of the self-test
        return Check(name, False, f"{type(exc).__name__}: {exc}")


def gui_checks() -> list[Check]:
    """Start (or reuse) the QApplication, then check fonts and the plot stack."""
    try:
        _use_offscreen_without_display()
        from PySide6.QtWidgets import QApplication
    except ImportError as exc:
        return [Check("Qt platform", False, f"PySide6 cannot be imported: {exc}")]
    app = QApplication.instance() or QApplication(sys.argv[:1])
    checks = [_run("Qt platform", lambda: _qt_check(app))]
    checks.append(_run("fonts render", lambda: _font_check(app)))
    checks.append(_run("plot stack", _plot_check))
    return checks
