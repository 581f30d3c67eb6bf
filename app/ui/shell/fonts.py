"""Text never renders as boxes: a bundled font for machines where no system font resolves.

A bare machine (a minimal container, a locked-down workstation without font packages) can leave
Qt with no usable font: fontconfig still answers with its generic aliases ("Sans Serif"), but
they resolve to nothing, and every glyph is drawn as an empty box or not at all. When that
happens the app registers the DejaVu Sans files shipped in ``resources/fonts`` (licence next to
them) and makes them the application font. With working system fonts DejaVu is not registered, so
the desktop's own font and its settings are kept.

Emoji are another matter: abusive messages are full of them (🤡, 💩), and many workstations
have no emoji font, so they would render as boxes. Noto Color Emoji (``resources/fonts``, SIL
OFL 1.1) is therefore always registered and appended as the application font's last fallback
family: Latin text keeps the desktop font, and only characters no earlier family has come from
Noto.
"""

from __future__ import annotations

import logging

from PySide6.QtGui import QFont, QFontDatabase, QFontInfo, QFontMetrics, QGuiApplication

from app.core.common.paths import resource_path

log = logging.getLogger(__name__)

#: The bundled font files, regular first (its family becomes the application font).
BUNDLED_FONTS = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf")
#: The colour emoji font, always registered: the application font's last fallback family.
EMOJI_FONT, EMOJI_FAMILY = "NotoColorEmoji.ttf", "Noto Color Emoji"
_registered: set[str] = set()  # families this process registered from BUNDLED_FONTS
_emoji_font_id = -1  # the emoji font's id once registered


def font_resolves(font: QFont) -> bool:
    """Whether ``font`` resolves to a real font that has Latin glyphs."""
    return bool(QFontInfo(font).family()) and QFontMetrics(font).inFont("A")


def using_bundled_font(app: QGuiApplication) -> bool:
    """Whether the application font is the bundled one (registered by `ensure_fonts`)."""
    return QFontInfo(app.font()).family() in _registered


def ensure_fonts(app: QGuiApplication) -> str | None:
    """Register the bundled font if the default font does not resolve, and the emoji font as
    the last fallback in any case; call once, right after the QApplication is created and
    before any window. Returns the Latin family registered and set as the application font by
    this call, or None when the system's fonts were fine or the bundled files could not be
    loaded (logged)."""
    family = _ensure_latin_font(app)
    add_emoji_fallback(app)
    return family


def add_emoji_fallback(app: QGuiApplication) -> bool:
    """Register the bundled emoji font and append it to the application font's families (the
    first stays first: Latin text keeps its font). False if the file could not be loaded."""
    global _emoji_font_id
    path = resource_path("fonts", EMOJI_FONT)
    if _emoji_font_id == -1:  # once per process: the self-check calls ensure_fonts again
        _emoji_font_id = QFontDatabase.addApplicationFont(str(path))
    if _emoji_font_id == -1:
        log.warning("cannot load the bundled emoji font %s", path)
        return False
    font = QFont(app.font())
    # The family the font resolves to, not the name asked for: a fontconfig alias ("Sans
    # Serif") is no family of Qt's database, and Qt would then make Noto the primary font and
    # take spaces and digits (Noto has them, for keycaps) from it: gaps between every letter.
    resolved = QFontInfo(font).family()
    if resolved != EMOJI_FAMILY:
        font.setFamilies([resolved, EMOJI_FAMILY])
        app.setFont(font)
    return True


def _ensure_latin_font(app: QGuiApplication) -> str | None:
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
