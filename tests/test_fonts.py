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

from app.ui.shell import fonts
from app.ui.shell.selfcheck import gui_checks
from tests.conftest import REPO

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


def test_with_system_fonts_nothing_is_registered(qapp, monkeypatch):
    class NoRegistration:
        families = staticmethod(fonts.QFontDatabase.families)

        @staticmethod
        def addApplicationFont(path):  # noqa: N802 (Qt's name)
            raise AssertionError(f"registered {path} although system fonts work")

    monkeypatch.setattr(fonts, "QFontDatabase", NoRegistration)
    before = qapp.font()
    assert fonts.font_resolves(before)  # the test machine has fonts (make sysdeps)
    assert fonts.ensure_fonts(qapp) is None
    assert qapp.font() == before


def test_the_bundled_fonts_and_licence_ship_in_resources():
    folder = REPO / "resources" / "fonts"
    for name in fonts.BUNDLED_FONTS:
        assert (folder / name).read_bytes()[:4] == b"\x00\x01\x00\x00"  # a TrueType file
    assert "Bitstream Vera" in (folder / "LICENSE").read_text(encoding="utf-8")


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
