"""Text never renders as boxes: a bundled font for machines where no system font resolves.

A bare machine (a minimal container, a locked-down workstation without font packages) can leave
Qt with no usable font: fontconfig still answers with its generic aliases ("Sans Serif"), but
they resolve to nothing, and every glyph is drawn as an empty box or not at all. When that
happens the app registers the DejaVu Sans files shipped in ``resources/fonts`` (licence next to
them) and makes them the application font. With working system fonts nothing is registered, so
the desktop's own font and its settings are kept.
"""

from __future__ import annotations

import logging

from PySide6.QtGui import QFont, QFontDatabase, QFontInfo, QFontMetrics, QGuiApplication

from app.core.common.paths import resource_path

log = logging.getLogger(__name__)

#: The bundled font files, regular first (its family becomes the application font).
BUNDLED_FONTS = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf")
_registered: set[str] = set()  # families this process registered from BUNDLED_FONTS


def font_resolves(font: QFont) -> bool:
    """Whether ``font`` resolves to a real font that has Latin glyphs."""
    return bool(QFontInfo(font).family()) and QFontMetrics(font).inFont("A")


def using_bundled_font(app: QGuiApplication) -> bool:
    """Whether the application font is the bundled one (registered by `ensure_fonts`)."""
    return QFontInfo(app.font()).family() in _registered


def ensure_fonts(app: QGuiApplication) -> str | None:
    """Register the bundled font if the default font does not resolve; call once, right after
    the QApplication is created and before any window. Returns the family registered and set
    as the application font by this call, or None when the fonts in use were fine (nothing
    registered) or the bundled files could not be loaded (logged)."""
    if QFontDatabase.families() and font_resolves(app.font()):
        return None
    families: list[str] = []
    for name in BUNDLED_FONTS:
        path = resource_path("fonts", name)
        font_id = QFontDatabase.addApplicationFont(str(path))
        if font_id == -1:
            log.warning("cannot load the bundled font %s", path)
            continue
        families += QFontDatabase.applicationFontFamilies(font_id)
    if not families:
        return None
    _registered.update(families)
    font = QFont(app.font())
    font.setFamilies([families[0]])
    app.setFont(font)
    log.info("no usable system font: using the bundled %s", families[0])
    return families[0]
