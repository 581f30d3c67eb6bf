"""Start-up and shell: context building, settings dialog, file log and the crash dialog."""

from __future__ import annotations

import json
import logging
import sys

import pytest
from PySide6.QtWidgets import QMessageBox

from app.core.context.bootstrap import open_context
from app.core.context.settings import apply_user_changes, load_settings
from app.ui.shell import application
from app.ui.shell.preferences import SettingsDialog


def test_open_context_for_the_app_uses_user_folders_and_logs_start(
    tmp_path, monkeypatch, bundled_model_path
):
    monkeypatch.setenv("ABUSE_DESK_HOME", str(tmp_path))
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "settings.json").write_text(
        json.dumps({"schema_version": 1, "threshold": 0.6})
    )
    ctx = open_context(bundled_model_path, app_start=True)
    try:
        assert ctx.state.threshold == 0.6
        assert ctx.activity.path == tmp_path / "data" / "activity.sqlite3"
        assert [e.action for e in ctx.activity.query()] == ["app_started"]
    finally:
        ctx.activity.close()


def test_preferences_dialog_applies_saves_and_logs(qtbot, app_context):
    dialog = SettingsDialog(app_context)
    qtbot.addWidget(dialog)
    dialog.retention.setValue(30)
    dialog.store_text.setChecked(True)
    changes = dialog.apply()
    assert changes == {"log_retention_days": (90, 30), "store_raw_text": (False, True)}
    assert app_context.activity.store_raw_text is True
    saved = load_settings(app_context.settings_path)
    assert saved.log_retention_days == 30 and saved.store_raw_text is True
    event = app_context.activity.query(action="settings_changed")[0]
    assert "log_retention_days: 90 -> 30" in event.detail
    assert dialog.apply() == {}  # nothing changed the second time: no event
    assert len(app_context.activity.query(action="settings_changed")) == 1


def test_ok_with_nothing_changed_keeps_a_finer_reference_threshold(qtbot, app_context):
    """The spin box shows 0.449 as 0.45: OK without touching it must not write 0.45 back."""
    app_context.settings.reference_threshold = 0.449
    dialog = SettingsDialog(app_context)
    qtbot.addWidget(dialog)
    assert dialog.reference.text() == "0.45"
    assert dialog.apply() == {}
    assert app_context.settings.reference_threshold == 0.449
    assert app_context.activity.query(action="settings_changed") == []
    dialog.reference.setValue(0.47)  # a change the user made is applied
    assert dialog.apply() == {"reference_threshold": (0.449, 0.47)}


def test_user_changes_are_validated(app_context):
    with pytest.raises(ValueError, match="log_retention_days"):
        apply_user_changes(app_context.settings, {"log_retention_days": 0})
    with pytest.raises(ValueError, match="not a user setting"):
        apply_user_changes(app_context.settings, {"window_geometry": "x"})


def test_file_log_rotates_in_the_log_folder(tmp_path):
    path = application.install_file_log(tmp_path)
    handler = logging.getLogger().handlers[-1]
    try:
        logging.getLogger("abuse-desk-test").warning("hello log")
        handler.flush()
        assert path.parent == tmp_path and "hello log" in path.read_text()
        assert handler.maxBytes == 1 << 20 and handler.backupCount == 5
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()


def test_unhandled_exception_is_logged_and_shown(qtbot, tmp_path, monkeypatch, caplog):
    shown = []
    monkeypatch.setattr(
        QMessageBox, "exec", lambda self: shown.append((self.text(), self.detailedText())) or 0
    )
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # restored after the test
    application.install_excepthook(tmp_path / "app.log")
    try:
        raise ValueError("boom in a slot")
    except ValueError:
        sys.excepthook(*sys.exc_info())
    assert shown and "boom in a slot" in shown[0][0] and "Traceback" in shown[0][1]
    assert "boom in a slot" in caplog.text


def test_no_display_gives_a_clear_message(monkeypatch, capsys):
    monkeypatch.setattr(sys, "platform", "linux")
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    assert application.run_gui() == 2
    assert "no display found" in capsys.readouterr().err
