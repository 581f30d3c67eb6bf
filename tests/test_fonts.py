"""Text never renders as boxes: the bundled font steps in only when no system font resolves, and
the GUI self-checks (Qt, fonts, plots) pass offscreen and notice a font that draws nothing.

"No system font" is a real Qt in a subprocess whose fontconfig configuration lists no font
folder at all, so nothing the machine has installed can be found.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QRect
from PySide6.QtGui import QFont, QFontInfo, QFontMetrics, QImage, QTextLayout
from PySide6.QtWidgets import QPlainTextEdit

from app.ui.shell import fonts
from app.ui.shell.selfcheck import gui_checks
from tests.conftest import REPO

ARTIFACTS = Path(__file__).resolve().parent / "_artifacts"

NO_FONTS_CONFIG = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">
<fontconfig>
  <cachedir>{cache}</cachedir>
</fontconfig>
"""

PROBE = """
import json, sys
from PySide6.QtGui import QFontInfo, QFontMetrics
from PySide6.QtWidgets import QApplication

import app.ui.shell.fonts as fonts
if "--no-fallback" in sys.argv:
    fonts.ensure_fonts = lambda app: None  # what the app did before it had a bundled font
from app.ui.shell.selfcheck import gui_checks

qt_app = QApplication([])
before = QFontMetrics(qt_app.font()).inFont("A")
registered = fonts.ensure_fonts(qt_app)
font = qt_app.font()
checks = {c.name: [c.ok, c.detail] for c in gui_checks()}
print(json.dumps({
    "before": before,
    "registered": registered,
    "family": QFontInfo(font).family(),
    "has_A": QFontMetrics(font).inFont("A"),
    "checks": checks,
}))
"""


def run_without_fonts(tmp_path: Path, *args: str) -> dict:
    (tmp_path / "cache").mkdir(exist_ok=True)
    (tmp_path / "empty").mkdir(exist_ok=True)
    config = tmp_path / "fonts.conf"
    config.write_text(NO_FONTS_CONFIG.format(cache=tmp_path / "cache"), encoding="utf-8")
    env = dict(
        os.environ,
        FONTCONFIG_FILE=str(config),
        QT_QPA_PLATFORM="offscreen",
        QT_QPA_FONTDIR=str(tmp_path / "empty"),
        PYTHONPATH=str(REPO),
    )
    env.pop("FONTCONFIG_PATH", None)
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_without_system_fonts_the_bundled_font_is_registered(tmp_path):
    probe = run_without_fonts(tmp_path)
    assert probe["before"] is False  # the setup really hides every font on the machine
    assert probe["registered"] == "DejaVu Sans"
    assert probe["family"] == "DejaVu Sans" and probe["has_A"] is True
    ok, detail = probe["checks"]["fonts render"]
    assert ok and detail.startswith("DejaVu Sans (bundled, no usable system font)")


def test_without_any_font_the_gui_check_fails(tmp_path):
    probe = run_without_fonts(tmp_path, "--no-fallback")
    assert probe["registered"] is None and probe["has_A"] is False
    ok, detail = probe["checks"]["fonts render"]
    assert not ok and "has no 'A' glyph" in detail


def test_with_system_fonts_only_the_emoji_font_is_registered(qapp, monkeypatch):
    """Changed by issue 14: the emoji font is always registered, as the last fallback family;
    the desktop's Latin font stays first, DejaVu is not registered."""
    registered: list[str] = []

    real = fonts.QFontDatabase

    class OnlyEmoji:
        families = staticmethod(real.families)

        @staticmethod
        def addApplicationFont(path):  # noqa: N802 (Qt's name)
            registered.append(Path(path).name)
            return real.addApplicationFont(path)

    monkeypatch.setattr(fonts, "QFontDatabase", OnlyEmoji)
    monkeypatch.setattr(fonts, "_emoji_font_id", -1)
    before = qapp.font()
    assert fonts.font_resolves(before)  # the test machine has fonts (make sysdeps)
    try:
        assert fonts.ensure_fonts(qapp) is None
        assert registered == [fonts.EMOJI_FONT]
        families = qapp.font().families()
        assert families == [QFontInfo(before).family(), fonts.EMOJI_FAMILY]
        assert fonts.ensure_fonts(qapp) is None  # again (the self-check does): no duplicates
        assert registered == [fonts.EMOJI_FONT] and qapp.font().families() == families
    finally:
        qapp.setFont(before)


def test_the_bundled_fonts_and_licence_ship_in_resources():
    folder = REPO / "resources" / "fonts"
    for name in (*fonts.BUNDLED_FONTS, fonts.EMOJI_FONT):
        assert (folder / name).read_bytes()[:4] == b"\x00\x01\x00\x00"  # a TrueType file
    assert "Bitstream Vera" in (folder / "LICENSE").read_text(encoding="utf-8")
    emoji_licence = (folder / "NotoColorEmoji-LICENSE.txt").read_text(encoding="utf-8")
    assert "SIL OPEN FONT LICENSE Version 1.1" in emoji_licence and "Google" in emoji_licence


def test_gui_checks_pass_offscreen(qapp):
    checks = gui_checks()
    assert [check.name for check in checks] == ["Qt platform", "fonts render", "plot stack"]
    assert all(check.ok for check in checks), checks
    assert "platform offscreen" in checks[0].detail
    assert "QtAgg canvas" in checks[2].detail


@pytest.mark.parametrize("broken", ["_qt_check", "_plot_check"])
def test_a_broken_gui_check_is_reported_not_raised(qapp, monkeypatch, broken):
    def boom(*args):
        raise RuntimeError("simulated failure")

    monkeypatch.setattr(f"app.ui.shell.selfcheck.{broken}", boom)
    failed = [check for check in gui_checks() if not check.ok]
    assert [check.detail for check in failed] == ["RuntimeError: simulated failure"]


EMOJI_TEXT = "you 🤡 idiot 💩 ✔ ★"


@pytest.fixture
def emoji_app(qapp):
    """The application font as the app sets it up (emoji fallback appended), restored after."""
    before = qapp.font()
    fonts.ensure_fonts(qapp)
    yield qapp
    qapp.setFont(before)


def _coloured_pixels(image: QImage, area: QRect) -> int:
    """Pixels clearly not grey (a monochrome box or a missing glyph has none)."""
    count = 0
    for x in range(area.left(), area.right() + 1):
        for y in range(area.top(), area.bottom() + 1):
            c = image.pixelColor(x, y)
            count += max(c.red(), c.green(), c.blue()) - min(c.red(), c.green(), c.blue()) > 60
    return count


def test_emoji_and_symbols_resolve_to_real_glyphs(emoji_app):
    font = emoji_app.font()
    assert font.families()[-1] == fonts.EMOJI_FAMILY
    assert QFontMetrics(font).inFontUcs4(0x1F921) and QFontMetrics(font).inFontUcs4(0x1F4A9)
    latin = QFont(font)
    latin.setFamilies([QFontInfo(font).family()])
    for text in ("Top terms (up to 12)", "threshold 0.45 · 1,234"):  # Latin text, as before:
        # spaces and digits do not come from Noto (it has them, for keycaps)
        assert QFontMetrics(font).horizontalAdvance(text) == QFontMetrics(latin).horizontalAdvance(
            text
        )
    for char, family in (("🤡", fonts.EMOJI_FAMILY), ("💩", fonts.EMOJI_FAMILY), ("✔", None),
                         ("★", None)):  # fmt: skip
        layout = QTextLayout(char, font)
        layout.beginLayout()
        layout.createLine()
        layout.endLayout()
        runs = [(r.rawFont().familyName(), list(r.glyphIndexes())) for r in layout.glyphRuns()]
        assert runs and all(glyphs and 0 not in glyphs for _, glyphs in runs), (char, runs)
        assert family is None or runs[0][0] == family, (char, runs)


def test_emoji_paint_in_colour_in_a_text_box(qtbot, emoji_app):
    editor = QPlainTextEdit(EMOJI_TEXT)
    qtbot.addWidget(editor)
    editor.resize(400, 60)
    editor.show()
    qtbot.waitExposed(editor)
    image = editor.grab().toImage()
    metrics = QFontMetrics(editor.font())
    left = editor.viewport().x() + metrics.horizontalAdvance("you ")
    clown = QRect(left, 0, metrics.horizontalAdvance("🤡") + 8, image.height())
    assert _coloured_pixels(image, clown) > 20  # a red and white clown, not a box
    assert _coloured_pixels(image, QRect(0, 0, left - 4, image.height())) == 0  # "you" is black


def test_score_panel_shows_emoji(qtbot, emoji_app, score_panel):
    """Saves tests/_artifacts/score_panel_emoji.png: a message with emoji, scored."""
    score_panel.editor.setPlainText("Shut up 🤡 you pathetic idiot 💩 ✔ ★ nobody wants you here")
    score_panel.score_now()
    image = score_panel.grab()
    ARTIFACTS.mkdir(exist_ok=True)
    assert image.save(str(ARTIFACTS / "score_panel_emoji.png"))
    editor = score_panel.editor
    top_left = editor.mapTo(score_panel, editor.rect().topLeft())
    area = QRect(top_left, editor.size()).intersected(image.rect())
    assert _coloured_pixels(image.toImage(), area) > 40  # both emoji, in colour
