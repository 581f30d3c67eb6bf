"""Accessibility preferences: the font size scales the whole UI and the theme recolours it,
live on OK in Preferences and at start-up; both are validated settings."""

from __future__ import annotations

import json

import pytest
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox, QWidget

from app.core.context.settings import apply_user_changes, load_settings
from app.ui.common import colours
from app.ui.shell.appearance import apply_appearance
from app.ui.shell.main_window import MainWindow
from app.ui.shell.preferences import SettingsDialog
from tests.main_window import shown_main_window

YES = QMessageBox.StandardButton.Yes


@pytest.fixture
def plain_appearance(qapp):
    """Every test starts and ends at 100 % on the System theme (the app object is shared)."""
    apply_appearance(qapp, 100, "system")
    base = qapp.font().pointSizeF()
    yield base
    apply_appearance(qapp, 100, "system")
    assert qapp.styleSheet() == ""


@pytest.fixture
def window(qtbot, app_context, worker_pool, monkeypatch, plain_appearance):
    return shown_main_window(qtbot, app_context, worker_pool, monkeypatch, active=False)


def choose(monkeypatch, font_scale: int, theme: str) -> None:
    """The user opens Preferences, sets the font size and theme, and presses OK."""

    def exec_(dialog: SettingsDialog) -> int:
        dialog.font_scale.setValue(font_scale)
        dialog.theme.setCurrentIndex(dialog.theme.findData(theme))
        return QDialog.DialogCode.Accepted.value

    monkeypatch.setattr(SettingsDialog, "exec", exec_)


def test_settings_validate_font_scale_and_theme(app_context, tmp_path):
    settings = app_context.settings
    assert (settings.font_scale, settings.theme) == (100, "system")
    for bad in ({"font_scale": 79}, {"font_scale": 201}, {"theme": "pink"}):
        with pytest.raises(ValueError):
            apply_user_changes(settings, bad)
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"schema_version": 1, "font_scale": 500, "theme": "neon"}))
    loaded = load_settings(path)
    assert (loaded.font_scale, loaded.theme) == (100, "system")
    assert any("font_scale" in p for p in loaded.problems)
    path.write_text(json.dumps({"schema_version": 1, "font_scale": 150, "theme": "dark"}))
    loaded = load_settings(path)
    assert (loaded.font_scale, loaded.theme, loaded.problems) == (150, "dark", [])


def test_font_size_and_dark_theme_apply_live_and_are_saved_and_logged(
    qtbot, monkeypatch, window, app_context, plain_appearance
):
    app = QApplication.instance()
    score_size = window.score.score_label.font().pointSizeF()
    window.tabs.setCurrentWidget(window.threshold_tab)  # its plots exist before the change
    matrix = window.threshold.matrix
    title_size = matrix.title.get_fontsize()
    choose(monkeypatch, 150, "dark")
    window.edit_preferences()
    qtbot.wait(10)  # the font-change events are delivered by the event loop
    assert app.font().pointSizeF() == pytest.approx(plain_appearance * 1.5)
    # A widget that set its own font follows too, and so do widgets built later.
    assert window.score.score_label.font().pointSizeF() == pytest.approx(score_size * 1.5)
    assert window.batch.font().pointSizeF() == pytest.approx(plain_appearance * 1.5)
    assert app.palette().color(QPalette.ColorRole.Window).lightness() < 60
    assert app.palette().color(QPalette.ColorRole.WindowText).lightness() > 200
    assert colours.ui_scale() == 1.5 and colours.is_dark()
    # Plots already built follow: dark figure, light text, larger type.
    assert max(matrix.figure.get_facecolor()[:3]) < 0.2
    assert matrix.title.get_color() == "#e8e8e8"
    qtbot.waitUntil(lambda: matrix.title.get_fontsize() > title_size * 1.2)
    from pathlib import Path

    artifacts = Path(__file__).resolve().parent / "_artifacts"
    artifacts.mkdir(exist_ok=True)
    assert window.grab().save(str(artifacts / "threshold_panel_live_dark_150.png"))
    assert colours.fail_colour() != colours.FAIL_COLOUR  # dark red is unreadable on dark grey
    saved = load_settings(app_context.settings_path)
    assert (saved.font_scale, saved.theme) == (150, "dark")
    (event,) = app_context.activity.query(action="settings_changed")
    assert "font_scale: 100 -> 150" in event.detail and "theme: 'system' -> 'dark'" in event.detail

    choose(monkeypatch, 100, "system")
    window.edit_preferences()
    qtbot.wait(10)
    assert app.font().pointSizeF() == pytest.approx(plain_appearance)
    assert window.score.score_label.font().pointSizeF() == pytest.approx(score_size)
    assert not colours.is_dark()


def test_high_contrast_theme_and_plots(qtbot, qapp, plain_appearance):
    from app.ui.common.canvas import current_style
    from app.ui.common.confusion_matrix import ConfusionMatrixCanvas

    apply_appearance(qapp, 200, "high_contrast")
    palette = qapp.palette()
    assert palette.color(QPalette.ColorRole.Base).name() == "#000000"
    assert palette.color(QPalette.ColorRole.Text).name() == "#ffffff"
    assert palette.color(QPalette.ColorRole.Highlight).name() == "#ffff00"
    assert "2px solid #ffff00" in qapp.styleSheet()  # the focused control is ringed
    style = current_style()
    assert style["font.size"] == pytest.approx(19.0)  # 9.5 pt at 200 %
    assert style["text.color"] == "#e8e8e8"  # light text on the dark figure
    matrix = ConfusionMatrixCanvas()
    qtbot.addWidget(matrix)
    assert matrix.figure.get_facecolor()[:3] == (0.0, 0.0, 0.0)  # the palette's Base


def test_startup_applies_the_saved_appearance(monkeypatch, tmp_path, qapp, plain_appearance):
    """run_gui applies the saved font size and theme before the window is built."""
    from app.ui.shell import application

    home = tmp_path / "home"
    monkeypatch.setenv("ABUSE_DESK_HOME", str(home))
    (home / "config").mkdir(parents=True)
    settings = {"schema_version": 1, "font_scale": 120, "theme": "high_contrast"}
    (home / "config" / "settings.json").write_text(json.dumps(settings))
    seen: list[tuple[float, str, float]] = []

    class Window:  # stands in for MainWindow: records what it is built under, then stops
        def __init__(self, ctx) -> None:
            seen.append((colours.ui_scale(), colours.theme(), qapp.font().pointSizeF()))
            ctx.activity.close()
            raise SystemExit(0)

    monkeypatch.setattr("app.ui.shell.main_window.MainWindow", Window)
    monkeypatch.setattr(application, "install_excepthook", lambda _path: None)
    monkeypatch.setattr(application, "install_file_log", lambda: tmp_path / "app.log")
    with pytest.raises(SystemExit):
        application.run_gui()
    assert seen == [(1.2, "high_contrast", pytest.approx(plain_appearance * 1.2))]


@pytest.mark.parametrize("theme", ["dark", "high_contrast"])
def test_screenshots_of_the_themes(qtbot, qapp, app_context, worker_pool, plain_appearance, theme):
    """The Score panel (tints, legend, verdict) and the Threshold panel's plots in each theme,
    saved for a person to look at; the text and window colours differ as the theme says."""
    from pathlib import Path

    from app.ui.score.panel import ScorePanel
    from app.ui.threshold.panel import ThresholdPanel

    artifacts = Path(__file__).resolve().parent / "_artifacts"
    artifacts.mkdir(exist_ok=True)
    apply_appearance(qapp, 125 if theme == "dark" else 100, theme)
    score = ScorePanel(app_context, worker_pool)
    qtbot.addWidget(score)
    score.resize(1280, 800)
    score.show()
    qtbot.waitExposed(score)
    score.editor.setPlainText("you are a complete idiot, thanks for nothing, have a nice day")
    score.score_now()
    qtbot.wait(50)
    assert score.grab().save(str(artifacts / f"score_panel_{theme}.png"))
    threshold = ThresholdPanel(app_context, worker_pool)
    qtbot.addWidget(threshold)
    threshold.resize(1280, 800)
    threshold.show()
    qtbot.waitExposed(threshold)
    qtbot.wait(200)
    assert threshold.grab().save(str(artifacts / f"threshold_panel_{theme}.png"))
    threshold.shutdown()
    score.shutdown()


@pytest.mark.parametrize("theme", ["dark", "high_contrast"])
def test_secondary_text_is_readable_on_a_dark_theme(
    qtbot, qapp, app_context, worker_pool, monkeypatch, plain_appearance, theme
):
    """Notes, captions and warnings built on a dark theme take its light colours, not the
    light theme's greys and ambers (about 2:1 on a dark background)."""
    apply_appearance(qapp, 100, theme)
    win = MainWindow(app_context, worker_pool)
    qtbot.addWidget(
        win,
        before_close_func=lambda _w: monkeypatch.setattr(QMessageBox, "question", lambda *_a: YES),
    )
    sheets = " ".join(w.styleSheet() for w in win.findChildren(QWidget))
    for light in ("#555", "#8a5a00", "#a04000", "#b03a2e", "#333333"):
        assert light not in sheets
    assert colours.muted_colour() in sheets and colours.muted_colour() != colours.MUTED_COLOUR
    threshold = win.threshold  # built on first use: its warnings too
    assert colours.warn_colour() in " ".join(
        w.styleSheet() for w in threshold.findChildren(QWidget)
    )


def _lit_pixels(widget: QWidget) -> int:
    """Pixels of the widget, drawn alone, that are not black (the high-contrast background)."""
    image = widget.grab().toImage()
    return sum(
        image.pixelColor(x, y).lightness() > 128
        for x in range(image.width())
        for y in range(image.height())
    )


def test_high_contrast_and_150_in_one_ok_scales_the_widget_text(
    qtbot, monkeypatch, window, plain_appearance
):
    """From 100 % System straight to 150 % High contrast in one OK of Preferences: the widget
    text grows too (a style sheet set with the font used to keep every widget at 100 %)."""
    from PySide6.QtWidgets import QCheckBox, QLabel, QPushButton

    choose(monkeypatch, 150, "high_contrast")
    window.edit_preferences()
    qtbot.wait(10)
    expected = pytest.approx(plain_appearance * 1.5)
    assert QApplication.instance().font().pointSizeF() == expected
    for kind in (QLabel, QPushButton, QCheckBox):
        widget = window.batch.findChild(kind)
        assert widget is not None and widget.font().pointSizeF() == expected, kind
    assert window.batch.start_button.font().pointSizeF() == expected
    choose(monkeypatch, 100, "high_contrast")  # and back down with the sheet already set
    window.edit_preferences()
    qtbot.wait(10)
    assert window.batch.start_button.font().pointSizeF() == pytest.approx(plain_appearance)


def test_high_contrast_draws_check_boxes_and_the_progress_bar_frame(qtbot, qapp, plain_appearance):
    from PySide6.QtWidgets import QCheckBox, QProgressBar

    box, bar = QCheckBox(""), QProgressBar()
    bar.setTextVisible(False)
    bar.setValue(0)
    for widget in (box, bar):
        qtbot.addWidget(widget)
        widget.resize(widget.sizeHint())
    apply_appearance(qapp, 100, "high_contrast")
    # Empty text and an empty bar: all that can be lit is the box's and the bar's edge.
    assert _lit_pixels(box) > 20 and _lit_pixels(bar) > 20
    unchecked = box.grab().toImage()
    box.setChecked(True)
    assert box.grab().toImage() != unchecked  # checked looks different
