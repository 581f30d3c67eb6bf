"""Settings and user data under careless and hostile use.

A settings file that cannot be read or validated is never saved over: it is kept as
``settings.json.broken-<time>`` first, byte for byte. A file from a newer schema is never
saved over at all. Defaults chosen for either reason never purge the activity log. The user is
told: one line on stderr in the CLI, a notice in the main window.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.core.activity.log import ActivityLog
from app.core.context.settings import (
    BROKEN_SUFFIX,
    SCHEMA_VERSION,
    Settings,
    SettingsNotSaved,
    apply_user_changes,
    load_settings,
    save_settings,
)
from tests.cli_runner import run_cli

# Each a different way a settings file is damaged; all must be kept aside before a save.
DAMAGED: dict[str, bytes] = {
    "truncated-json": b'{"schema_version": 1, "threshold": 0.3,',
    "png-bytes": b"\x89PNG\r\n\x1a\n" + bytes(range(256)),
    "utf16-bom": '{"schema_version": 1}'.encode("utf-16"),
    "nan-threshold": b'{"schema_version": 1, "threshold": NaN}',
    "infinity-reference": b'{"schema_version": 1, "reference_threshold": Infinity}',
    "string-threshold": b'{"schema_version": 1, "threshold": "0.3"}',
    "bool-retention": b'{"schema_version": 1, "log_retention_days": true}',
    "zero-retention": b'{"schema_version": 1, "log_retention_days": 0}',
    "huge-int": b'{"schema_version": 1, "threshold": 1' + b"0" * 400 + b"}",
    "top-level-list": b"[1, 2, 3]",
    "deep-nesting": b"[" * 50_000 + b"]" * 50_000,
    "empty-file": b"",
    "missing-schema": b'{"threshold": 0.3}',
    "schema-zero": b'{"schema_version": 0, "threshold": 0.3}',
    "schema-as-text": b'{"schema_version": "1", "threshold": 0.3}',
    "oversize": b'{"schema_version": 1, "last_folder": "' + b"x" * (2 << 20) + b'"}',
}

OTHER_FIELD_ONLY = {DAMAGED["string-threshold"], DAMAGED["huge-int"]}


def _broken_copies(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if BROKEN_SUFFIX in p.name)


@pytest.mark.parametrize("content", DAMAGED.values(), ids=DAMAGED.keys())
def test_a_damaged_file_is_kept_byte_for_byte_before_a_save(tmp_path: Path, content: bytes):
    path = tmp_path / "settings.json"
    path.write_bytes(content)
    loaded = load_settings(path)
    assert loaded.problems  # told
    # Retention pauses unless the file was read and only another field was refused.
    assert loaded.retention_paused == (content not in OTHER_FIELD_ONLY)
    save_settings(loaded, path)
    [kept] = _broken_copies(tmp_path)
    assert kept.read_bytes() == content  # the user's file, every byte
    assert kept.name.startswith(f"settings.json{BROKEN_SUFFIX}")
    again = load_settings(path)  # the new file is valid and remembers the pause
    assert again.problems == [] and again.retention_paused == loaded.retention_paused


def test_a_folder_in_place_of_the_file_is_moved_aside_with_its_contents(tmp_path: Path):
    path = tmp_path / "settings.json"
    path.mkdir()
    (path / "inside.txt").write_text("keep me")
    loaded = load_settings(path)
    assert loaded.problems and loaded.retention_paused
    save_settings(loaded, path)
    [kept] = _broken_copies(tmp_path)
    assert (kept / "inside.txt").read_text() == "keep me"
    assert path.is_file()


def test_a_symlinked_settings_file_is_not_followed_and_its_target_is_untouched(tmp_path: Path):
    target = tmp_path / "elsewhere.json"
    target.write_text(json.dumps({"schema_version": 1, "threshold": 0.2}))
    before = target.read_bytes()
    path = tmp_path / "settings.json"
    path.symlink_to(target)
    loaded = load_settings(path)
    assert loaded.threshold == Settings().threshold and loaded.problems
    save_settings(loaded, path)
    assert target.read_bytes() == before
    [kept] = _broken_copies(tmp_path)
    assert kept.is_symlink() and not path.is_symlink()


def test_a_fifo_in_place_of_the_file_does_not_hang(tmp_path: Path):
    path = tmp_path / "settings.json"
    os.mkfifo(path)
    result: list[Settings] = []
    reader = threading.Thread(target=lambda: result.append(load_settings(path)), daemon=True)
    reader.start()
    reader.join(5)
    assert result and result[0].problems and result[0].retention_paused


def test_two_damaged_saves_in_one_second_keep_both_files(tmp_path: Path):
    path = tmp_path / "settings.json"
    path.write_bytes(b"first damage")
    save_settings(load_settings(path), path)
    path.write_bytes(b"second damage")
    save_settings(load_settings(path), path)
    kept = {p.read_bytes() for p in _broken_copies(tmp_path)}
    assert kept == {b"first damage", b"second damage"}


def test_a_file_damaged_while_the_app_runs_is_kept_before_the_save(tmp_path: Path):
    """What is on disk at save time decides, not what was read at start."""
    path = tmp_path / "settings.json"
    settings = load_settings(path)  # no file yet: clean defaults
    path.write_bytes(b"{hand edited and broken")
    save_settings(settings, path)
    [kept] = _broken_copies(tmp_path)
    assert kept.read_bytes() == b"{hand edited and broken"


# --- a newer schema is kept, never downgraded ---------------------------------------------------

NEWER = {"schema_version": SCHEMA_VERSION + 1, "threshold": 37, "new_field": [1, 2]}


def test_a_newer_schema_is_never_saved_over(tmp_path: Path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps(NEWER))
    before = path.read_bytes()
    loaded = load_settings(path)
    assert loaded == Settings() and loaded.retention_paused
    assert "newer" in loaded.problems[0]
    with pytest.raises(SettingsNotSaved, match="newer"):
        save_settings(loaded, path)
    assert path.read_bytes() == before and not _broken_copies(tmp_path)


def test_the_cli_refuses_a_model_switch_over_a_newer_schema(tmp_path: Path):
    home = tmp_path / "home"
    path = home / "config" / "settings.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(NEWER))
    before = path.read_bytes()
    result = run_cli("models", "activate", "2.0.0", ABUSE_DESK_HOME=str(home))
    assert result.returncode == 3, result.stderr
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and str(path) in errors[0] and "newer" in errors[0]
    assert "Traceback" not in result.stderr
    assert path.read_bytes() == before


# --- the CLI says it once, on one line ------------------------------------------------------


def test_the_cli_warns_on_one_line_and_leaves_the_file_alone(tmp_path: Path):
    home = tmp_path / "home"
    path = home / "config" / "settings.json"
    path.parent.mkdir(parents=True)
    path.write_bytes(b'{"schema_version": 1, "threshold": NaN, "log_retention_days": "x"}')
    before = path.read_bytes()
    result = run_cli("info", ABUSE_DESK_HOME=str(home))
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("\n") == 1 and str(path) in result.stderr
    assert "warning" in result.stderr and "Traceback" not in result.stderr
    assert path.read_bytes() == before  # info saves nothing


def test_a_cli_save_over_a_damaged_file_keeps_it_first(tmp_path: Path):
    home = tmp_path / "home"
    path = home / "config" / "settings.json"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x00\x01binary settings\xff")
    result = run_cli("models", "activate", "abuse-lr-1.0.0", ABUSE_DESK_HOME=str(home))
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("\n") == 1 and str(path) in result.stderr
    [kept] = _broken_copies(path.parent)
    assert kept.read_bytes() == b"\x00\x01binary settings\xff"
    assert load_settings(path).active_model == "abuse-lr-1.0.0"


# --- defaults from unreadable settings never purge the log --------------------------------------


def _old_log(home: Path) -> int:
    log = ActivityLog.open_default(home / "data")
    old = datetime.now(UTC) - timedelta(days=400)
    for n in range(5):
        log.record("app_started", time_utc=old + timedelta(minutes=n))
    count = log.count()
    log.close()
    return count


def _start(home: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    from app.core.context.bootstrap import open_context

    monkeypatch.setenv("ABUSE_DESK_HOME", str(home))
    ctx = open_context(None, load_models=False, app_start=True)
    try:
        return int(ctx.activity.count())
    finally:
        ctx.activity.close()


RETENTION_CASES = {
    "unparsable": b"{not json",
    "newer-schema": json.dumps(NEWER).encode(),
    "retention-zero": b'{"schema_version": 1, "log_retention_days": 0}',
    "retention-text": b'{"schema_version": 1, "log_retention_days": "3650"}',
}


@pytest.mark.parametrize("content", RETENTION_CASES.values(), ids=RETENTION_CASES.keys())
def test_defaults_from_unreadable_settings_purge_nothing(tmp_path, monkeypatch, content):
    home = tmp_path / "home"
    before = _old_log(home)
    (home / "config").mkdir(parents=True)
    (home / "config" / "settings.json").write_bytes(content)
    assert _start(home, monkeypatch) == before + 1  # every old event kept, plus app_started


def test_the_pause_outlives_the_first_save_until_the_user_sets_retention(tmp_path, monkeypatch):
    home = tmp_path / "home"
    before = _old_log(home)
    path = home / "config" / "settings.json"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"{broken")
    save_settings(load_settings(path), path)  # e.g. the window closed: defaults saved
    assert _start(home, monkeypatch) == before + 1  # still nothing purged
    settings = load_settings(path)
    assert "retention_paused" in apply_user_changes(settings, {"log_retention_days": 90})
    save_settings(settings, path)
    # The user chose: the 5 old events go; the first start's event, the purge and this start stay.
    assert _start(home, monkeypatch) == 3


# --- the GUI says so ------------------------------------------------------------------------


def test_the_main_window_shows_a_settings_notice(qtbot, app_context, worker_pool):
    from app.ui.shell.main_window import MainWindow

    app_context.settings.problems.append("/x/settings.json could not be read; using defaults")
    win = MainWindow(app_context, worker_pool)
    qtbot.addWidget(win)
    win.show()
    assert win.settings_notice.isVisible()
    assert "defaults" in win.settings_notice.text()
    assert "/x/settings.json" in win.settings_notice.toolTip()


def test_no_notice_when_the_settings_were_fine(qtbot, app_context, worker_pool):
    from app.ui.shell.main_window import MainWindow

    win = MainWindow(app_context, worker_pool)
    qtbot.addWidget(win)
    win.show()
    assert not win.settings_notice.isVisible()


def test_preferences_over_a_newer_schema_change_nothing(qtbot, app_context, worker_pool):
    from app.ui.shell.preferences import SettingsDialog

    path = app_context.settings_path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(NEWER))
    before = path.read_bytes()
    dialog = SettingsDialog(app_context)
    qtbot.addWidget(dialog)
    dialog.retention.setValue(30)
    with pytest.raises(SettingsNotSaved):
        dialog.apply()
    assert app_context.settings.log_retention_days == 90  # not changed in memory either
    assert path.read_bytes() == before


def test_closing_the_window_over_a_newer_schema_keeps_the_file(qtbot, app_context, worker_pool):
    from app.ui.shell.main_window import MainWindow

    path = app_context.settings_path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(NEWER))
    before = path.read_bytes()
    win = MainWindow(app_context, worker_pool)
    qtbot.addWidget(win)
    win.show()
    win.close()  # saving is refused quietly: closing is never blocked
    assert path.read_bytes() == before


def test_gui_start_with_broken_settings_does_not_traceback(tmp_path):
    """The real start-up path in a subprocess: defaults, no purge, no exception."""
    import sys

    from tests.conftest import REPO

    home = tmp_path / "home"
    (home / "config").mkdir(parents=True)
    (home / "config" / "settings.json").write_bytes(b"\xff\xfe{")
    code = (
        "from app.core.context.bootstrap import open_context; "
        "ctx = open_context(None, load_models=False, app_start=True); "
        "print(ctx.settings.retention_paused)"
    )
    env = dict(os.environ, ABUSE_DESK_HOME=str(home), PYTHONPATH=str(REPO))
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0 and done.stdout.strip() == "True", done.stderr
    assert (home / "config" / "settings.json").read_bytes() == b"\xff\xfe{"
