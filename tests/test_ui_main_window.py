"""The whole window: panels wired together, status bar, shortcuts, closing with a job running,
and a screenshot of every panel with data loaded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from tests.main_window import shown_main_window

ARTIFACTS = Path(__file__).resolve().parent / "_artifacts"


YES, NO = QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.No


def _answer(button: QMessageBox.StandardButton, asked: list[str] | None = None):
    """A stand-in for QMessageBox.question: records the title, answers ``button``."""

    def question(_parent, title, _text, _buttons, _default):
        if asked is not None:
            asked.append(title)
        return button

    return question


@pytest.fixture
def window(qtbot, app_context, worker_pool, monkeypatch):
    return shown_main_window(qtbot, app_context, worker_pool, monkeypatch)


def _csv(path: Path, rows: int) -> Path:
    lines = ["id,text,label"] + [
        f"{i},{'you are a stupid idiot' if i % 3 == 0 else 'thanks for the lovely lunch'} {i},{int(i % 3 == 0)}"
        for i in range(rows)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_status_bar_and_shortcuts(qtbot, window, app_context):
    assert (
        f"Model {app_context.state.scorer.version_label} · verified" == window.model_status.text()
    )
    assert window.threshold_status.text() == "Threshold 0.45"
    for index in range(len(window.panels)):
        qtbot.keyClick(
            window.tabs.currentWidget(),
            Qt.Key(Qt.Key.Key_1 + index),
            Qt.KeyboardModifier.ControlModifier,
        )
        assert window.tabs.currentIndex() == index
    app_context.state.set_threshold(0.6)
    assert window.threshold_status.text() == "Threshold 0.60"
    # Two decimals, or as many as it takes to be true: 0.4537 is not shown as 0.45 (issue 14).
    app_context.state.set_threshold(0.4537)
    assert window.threshold_status.text() == "Threshold 0.4537"


def test_applying_a_threshold_relabels_the_score_panel(qtbot, window, app_context):
    window.score.editor.setPlainText("you are a moron")
    window.score.score_now()
    score = window.score.result.score
    window.threshold.set_threshold(min(1.0, score + 0.01))
    window.threshold.apply_threshold(rationale="relabel check")
    assert app_context.state.threshold == pytest.approx(min(1.0, score + 0.01), abs=1e-6)
    assert window.score.verdict.text() == "BENIGN"
    assert [e.action for e in app_context.activity.query(action="threshold_applied")] == [
        "threshold_applied"
    ]


def test_batch_results_with_labels_reach_the_threshold_panel(qtbot, window, tmp_path):
    window.batch.open_file(_csv(tmp_path / "labelled.csv", 300))
    with qtbot.waitSignal(window.batch.job_done, timeout=30_000):
        window.batch.start()
    window.batch.send_to_threshold()
    assert window.tabs.currentWidget() is window.threshold_tab
    dataset = window.threshold.dataset
    assert dataset is not None and len(dataset.scores) == 300
    assert int(np.sum(dataset.labels)) == 100


def test_closing_with_a_running_job_asks_then_cancels_cleanly(qtbot, window, app_context, tmp_path):
    window.batch.open_file(_csv(tmp_path / "big.csv", 200_000))
    with qtbot.waitSignal(window.batch.job_progress, timeout=30_000):
        window.batch.start()
    asked = []
    window.confirm_close = lambda: asked.append(True) or False  # the user says "No"
    window.close()
    assert asked and window.isVisible()
    window.confirm_close = lambda: asked.append(True) or True  # now "Yes"
    window.close()
    assert not window.isVisible() and not window.batch.has_running_jobs()
    QApplication.processEvents()
    assert app_context.activity.query(action="batch_cancelled")
    assert not list(tmp_path.glob("*scored*"))


def _scored(qtbot, window, tmp_path) -> None:
    window.batch.open_file(_csv(tmp_path / "scored.csv", 300))
    with qtbot.waitSignal(window.batch.job_done, timeout=30_000):
        window.batch.start()


def _export(qtbot, window, path: Path) -> str:
    with qtbot.waitSignal(window.batch.export_done, timeout=30_000) as blocker:
        window.batch.export(path, "csv")
    return blocker.args[1]


def test_closing_with_unexported_results_asks_and_no_keeps_the_window(
    qtbot, window, app_context, tmp_path, monkeypatch
):
    app_context.settings.batch_history_size = 0  # no history: closing would delete the results
    _scored(qtbot, window, tmp_path)
    asked: list[str] = []
    monkeypatch.setattr(QMessageBox, "question", _answer(NO, asked))
    window.close()
    assert asked == ["Results not exported"] and window.isVisible()
    assert window.batch.shown is not None and window.batch.shown.result is not None  # kept
    monkeypatch.setattr(QMessageBox, "question", _answer(YES, asked))
    window.close()
    assert asked == ["Results not exported"] * 2 and not window.isVisible()


def test_only_a_successful_export_of_the_labels_shown_counts(
    qtbot, window, app_context, tmp_path, monkeypatch
):
    app_context.settings.batch_history_size = 0  # no history: closing would delete the results
    _scored(qtbot, window, tmp_path)
    assert _export(qtbot, window, tmp_path / "missing" / "out.csv").startswith("failed")
    assert window.batch.has_unexported_results()
    assert _export(qtbot, window, tmp_path / "out.csv").startswith("done")
    assert not window.batch.has_unexported_results()
    app_context.state.set_threshold(0.7)  # the export's labels are still those shown
    assert not window.batch.has_unexported_results()
    window.batch.relabel()  # now they are not: the file on disk is labelled at 0.45
    assert window.batch.has_unexported_results()
    assert _export(qtbot, window, tmp_path / "out-0.70.csv").startswith("done")
    asked: list[str] = []
    monkeypatch.setattr(QMessageBox, "question", _answer(NO, asked))
    window.close()
    assert asked == [] and not window.isVisible()  # everything exported: closes without asking


@pytest.mark.parametrize("size", [(1280, 800), (1024, 700)], ids=["1280x800", "1024x700"])
def test_screenshot_of_every_panel_with_data(
    qtbot, window, app_context, bundled_model_path, tmp_path, size, request
):
    """Saves tests/_artifacts/window_<panel>.png (1280x800) and window_<panel>_1024x700.png
    for each panel, with data loaded (1.0.0 as the challenger, so Compare shows its plots), and
    checks that the window really is that size: no panel needs more than the screen has."""
    from app.core.context.model_switch import set_challenger
    from app.core.engine.scoring import Scorer
    from app.ui.shell.fonts import ensure_fonts

    before = QApplication.font()
    request.addfinalizer(lambda: QApplication.setFont(before))
    ensure_fonts(QApplication.instance())  # as the app starts: emoji fallback appended
    set_challenger(app_context, Scorer.load(bundled_model_path.parent / "abuse-lr-1.0.0"))
    window.resize(*size)
    window.score.editor.setPlainText("Shut up, you pathetic idiot 🤡💩. Nobody wants you here.")
    window.score.score_now()
    window.batch.open_file(_csv(tmp_path / "log.csv", 500))
    with qtbot.waitSignal(window.batch.job_done, timeout=30_000):
        window.batch.start()
    window.threshold.set_threshold(0.6)
    window.activity.refresh()
    window.session.refresh()
    ARTIFACTS.mkdir(exist_ok=True)
    for panel in window.panels:
        window.tabs.setCurrentWidget(panel)
        qtbot.wait(50)
        suffix = "" if size == (1280, 800) else f"_{size[0]}x{size[1]}"
        image = window.grab()
        assert (image.width(), image.height()) == size, panel.title  # not widened to fit
        needs, has = panel.minimumSizeHint(), panel.size()
        assert needs.width() <= has.width() and needs.height() <= has.height(), panel.title
        assert image.save(str(ARTIFACTS / f"window_{panel.title.lower()}{suffix}.png"))
    hint = window.minimumSizeHint()
    assert hint.width() <= 1024 and hint.height() <= 700
    side = window.threshold.controls  # the Threshold panel's left column, a scroll area
    if size == (1280, 800):  # fits without scrolling on a 1280x800 laptop
        assert side.verticalScrollBar().maximum() == 0
        assert not side.verticalScrollBar().isVisible()
    assert side.horizontalScrollBar().maximum() == 0  # never cut at the right edge


def test_preferences_change_the_threshold_panels_reference(window, app_context, monkeypatch):
    from app.ui.shell.preferences import SettingsDialog

    def accept_with_new_reference(dialog):
        dialog.reference.setValue(0.6)
        return 1

    monkeypatch.setattr(SettingsDialog, "exec", accept_with_new_reference)
    window.edit_preferences()
    assert app_context.settings.reference_threshold == 0.6
    assert window.threshold.controls.reference_spin.value() == 0.6


def test_switching_in_the_models_tab_reaches_the_next_keystroke(
    qtbot, window, app_context, model_registry, signed_tiny_bundle
):
    """The whole path: import, make active in the Models tab, type in the Score tab."""
    from app.core.models.model_import import import_bundle

    qtbot.waitUntil(lambda: not window.models.busy, timeout=10_000)  # its first listing
    app_context.registry = window.models.registry = model_registry
    import_bundle(model_registry, signed_tiny_bundle)
    window.models.refresh()
    qtbot.waitUntil(lambda: not window.models.busy, timeout=10_000)
    window.score.editor.setPlainText("you are a moron")
    window.score.score_now()
    bundled = app_context.state.scorer
    assert (
        window.score.score_label.text()
        == f"{bundled.score_text('you are a moron', 0.45).score:.3f}"
    )

    window.tabs.setCurrentWidget(window.models)
    assert window.models.select("tiny-0.0.1")
    window.models.confirm_activation = lambda _message: True  # the user answers Yes
    qtbot.mouseClick(window.models.view.activate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: app_context.state.scorer is not bundled, timeout=10_000)
    tiny = app_context.state.scorer
    assert tiny.version_label == "tiny 0.0.1"
    assert window.model_status.text().startswith("Model tiny 0.0.1")

    window.tabs.setCurrentWidget(window.score)
    qtbot.keyClicks(window.score.editor, "!")  # the next keystroke
    typed = window.score.editor.toPlainText()
    assert typed != "you are a moron"
    expected = tiny.score_text(typed, app_context.state.threshold).score
    qtbot.waitUntil(lambda: window.score.score_label.text() == f"{expected:.3f}", timeout=2_000)
    assert "tiny 0.0.1" in window.score.model_line.text()

    window.tabs.setCurrentWidget(window.models)
    assert window.models.select("abuse-lr-1.0.0")
    qtbot.mouseClick(window.models.view.challenger_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: app_context.state.challenger is not None, timeout=10_000)
    assert window.model_status.text().endswith("challenger abuse-lr 1.0.0")
    qtbot.waitUntil(lambda: not window.models.busy, timeout=10_000)
