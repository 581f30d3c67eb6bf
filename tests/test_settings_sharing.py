"""The settings file is shared by the desktop app and every command (issue 13): each process
writes only the fields it changed, over the file as it is now and under a lock, and a change
that cannot be saved is neither logged nor made (found by the hostile-user pass)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.core.context import model_switch
from app.core.context.bootstrap import install_models, load_models, open_context, registry_of
from app.core.context.settings import SettingsNotSaved, load_settings, settings_path
from tests.cli_runner import REPO, run_cli


@pytest.fixture
def home(tmp_path: Path, monkeypatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("ABUSE_DESK_HOME", str(home))
    return home


def _on_disk() -> dict:
    return json.loads(settings_path().read_text())


def test_the_app_never_puts_back_what_a_command_changed_meanwhile(home: Path) -> None:
    app = open_context(load_models=False, app_start=True)  # the desktop app, running
    install_models(app, load_models(registry_of(app), app.settings))
    changed = run_cli("models", "challenger", "abuse-lr-1.0.0", ABUSE_DESK_HOME=str(home))
    assert changed.returncode == 0, changed.stderr
    app.state.set_threshold(0.6)  # a supervisor applies a threshold: saved at once
    app.settings.window_geometry = "AAAA"
    app.save_settings("window_geometry", "last_folder")  # what closing the window saves
    disk = _on_disk()
    assert disk["challenger_model"] == "abuse-lr-1.0.0"
    assert (disk["threshold"], disk["window_geometry"]) == (0.6, "AAAA")
    used = run_cli("score-text", "hello", "--json", ABUSE_DESK_HOME=str(home))
    assert json.loads(used.stdout)["threshold"] == 0.6


def test_two_commands_at_once_keep_both_changes(home: Path) -> None:
    load_settings()  # the folder exists
    writer = (
        "import sys\nfrom app.core.context.settings import update_settings\n"
        "field = sys.argv[1]\n"
        "for i in range(40):\n    update_settings({field: f'{field}-{i}'})\n"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO))
    procs = [
        subprocess.Popen([sys.executable, "-c", writer, name], env=env)
        for name in ("active_model", "challenger_model")
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    disk = _on_disk()
    assert (disk["active_model"], disk["challenger_model"]) == (
        "active_model-39",
        "challenger_model-39",
    )


def test_a_switch_that_cannot_be_saved_is_neither_logged_nor_made(home: Path, monkeypatch) -> None:
    ctx = open_context()
    before = ctx.activity.count()
    two = registry_of(ctx).load("abuse-lr-1.0.0")  # not the default: a real switch
    real_open = os.open

    def refuse(path, flags, *args):  # the folder cannot be written (read-only, full, immutable)
        if Path(path).parent == settings_path().parent and flags & os.O_WRONLY:
            raise PermissionError(13, "Permission denied")
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(SettingsNotSaved, match="settings.json cannot be written"):
        model_switch.activate(ctx, two)
    with pytest.raises(SettingsNotSaved):
        model_switch.set_challenger(ctx, two)
    monkeypatch.setattr(os, "open", real_open)
    assert ctx.state.scorer.version_label == "abuse-lr 2.0.0"  # the default fast model
    assert ctx.state.challenger is None
    assert (ctx.settings.active_model, ctx.settings.challenger_model) == ("", "")
    assert ctx.activity.count() == before


def test_challenger_option_refuses_the_deciding_model_and_an_empty_value(
    home: Path, tmp_path
) -> None:
    source = tmp_path / "in.csv"
    source.write_text("id,text\n1,hello\n", encoding="utf-8")
    base = ["score", str(source), "-o", str(tmp_path / "out.csv")]
    same = run_cli(*base, "--challenger", "abuse-lr-2.0.0", ABUSE_DESK_HOME=str(home))
    assert same.returncode == 4 and same.stderr.count("\n") == 1
    assert "abuse-lr 2.0.0 is the deciding model" in same.stderr
    empty = run_cli(*base, "--challenger", "", ABUSE_DESK_HOME=str(home))
    assert empty.returncode == 2 and empty.stderr.count("\n") == 1
    assert not (tmp_path / "out.csv").exists()
