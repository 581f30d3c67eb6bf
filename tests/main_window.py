"""The main window as the GUI tests open it (one helper, used by every window-level test)."""

from __future__ import annotations


def shown_main_window(qtbot, app_context, worker_pool, monkeypatch, *, active: bool = True):
    """The main window at the laptop size, shown (and active, for keyboard tests). Tests leave
    batch results unexported, and closing then asks: the teardown's close answers "quit"
    rather than leave a modal question open."""
    from PySide6.QtWidgets import QMessageBox

    from app.ui.shell.main_window import MainWindow

    yes = QMessageBox.StandardButton.Yes
    win = MainWindow(app_context, worker_pool)
    qtbot.addWidget(
        win,
        before_close_func=lambda _w: monkeypatch.setattr(QMessageBox, "question", lambda *_a: yes),
    )
    win.resize(1280, 800)
    win.show()
    qtbot.waitExposed(win)
    if active:
        win.activateWindow()
        qtbot.waitActive(win)
    return win
