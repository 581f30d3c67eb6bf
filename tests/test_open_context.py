"""`open_context()` is the one context of the GUI and of every command (issue 13): the same
settings file, threshold, models and activity log; a threshold applied in the app is what the
command line decides with next, and every command that scores, evaluates or changes state leaves
its event in the log, as the GUI does."""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from pathlib import Path

import pytest

from app.core.activity.log import ActivityLog
from app.core.activity.secret import ActivityKeyError
from app.core.common.paths import activity_db_path, activity_key_path
from app.core.context.bootstrap import install_models, load_models, open_context, registry_of
from app.core.context.settings import load_settings, settings_path
from tests.cli_runner import run_cli


def _write_settings(home: Path, **values: object) -> Path:
    path = home / "config" / "settings.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"schema_version": 1, **values}))
    return path


def _gui_context(model: str | None = None):
    """The context as `run_gui` and `StartupLoader` build it: opened without models, which are
    then loaded (the worker's half) and installed (the GUI thread's half)."""
    ctx = open_context(model, load_models=False, app_start=True)
    install_models(ctx, load_models(registry_of(ctx), ctx.settings, model))
    return ctx


def _exported(home: Path, tmp_path: Path) -> list[dict[str, str]]:
    out = tmp_path / "exported-log.csv"
    result = run_cli("log", "export", str(out), "--overwrite", ABUSE_DESK_HOME=str(home))
    assert result.returncode == 0, result.stderr
    with open(out, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def _actions(home: Path, tmp_path: Path) -> list[str]:
    return [row["action"] for row in _exported(home, tmp_path)]


# --- one context for the GUI and the command line ---------------------------------------------


def _same_things(gui, cli) -> None:
    assert gui.settings_path == cli.settings_path == settings_path()
    assert gui.state.threshold == cli.state.threshold == 0.6
    assert gui.state.scorer.bundle.path == cli.state.scorer.bundle.path
    assert gui.state.challenger.bundle.path == cli.state.challenger.bundle.path
    assert gui.activity.path == cli.activity.path == activity_db_path()
    assert gui.registry.check is not None and cli.registry.bundled_dir == gui.registry.bundled_dir


@pytest.mark.parametrize("where", ["ABUSE_DESK_HOME", "XDG"])
def test_the_gui_and_the_cli_open_the_same_context(tmp_path, monkeypatch, where):
    from app.cli.context import cli_context

    if where == "XDG":  # the platform's own folders, moved with the XDG variables
        if sys.platform != "linux":
            pytest.skip("XDG folders are Linux's")
        monkeypatch.delenv("ABUSE_DESK_HOME", raising=False)
        for kind in ("CONFIG", "DATA", "STATE", "CACHE"):
            monkeypatch.setenv(f"XDG_{kind}_HOME", str(tmp_path / kind.lower()))
        config = Path(os.environ["XDG_CONFIG_HOME"]) / "abuse-desk"
    else:
        monkeypatch.setenv("ABUSE_DESK_HOME", str(tmp_path / "home"))
        config = tmp_path / "home" / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "settings.json").write_text(
        json.dumps(
            {
                "schema_version": 1,
                "threshold": 0.6,
                "active_model": "abuse-lr-2.0.0",
                "challenger_model": "abuse-lr-1.0.0",
            }
        )
    )
    assert settings_path() == config / "settings.json"
    gui = _gui_context()
    try:
        with cli_context(argparse.Namespace(model=None)) as cli:
            _same_things(gui, cli)
            assert cli.state.scorer.version_label == "abuse-lr 2.0.0"
    finally:
        gui.activity.close()


def test_model_overrides_the_active_one_for_this_run_only(tmp_path, monkeypatch):
    monkeypatch.setenv("ABUSE_DESK_HOME", str(tmp_path / "home"))
    _write_settings(tmp_path / "home", challenger_model="abuse-lr-2.0.0")
    ctx = open_context("abuse-lr-2.0.0")
    try:
        assert ctx.state.scorer.version_label == "abuse-lr 2.0.0"
        assert ctx.state.challenger is None  # chosen against the active model, not this one
        assert load_settings().active_model == ""  # nothing saved
    finally:
        ctx.activity.close()


# --- the threshold: one home, one saver -------------------------------------------------------


def _apply_in_the_threshold_panel(ctx, qtbot, worker_pool, percent: int) -> None:
    """What a supervisor does: move the slider, press Apply."""
    from app.ui.threshold.panel import ThresholdPanel

    panel = ThresholdPanel(ctx, worker_pool)
    qtbot.addWidget(panel)
    panel.slider.setValue(percent)
    panel.apply_threshold(rationale="supervisor test")
    panel.shutdown()
    assert ctx.state.threshold == percent / 100


def test_an_applied_threshold_is_saved_at_once_and_kept_by_later_saves(
    qtbot, tmp_path, monkeypatch, worker_pool
):
    from app.ui.shell.preferences import SettingsDialog

    monkeypatch.setenv("ABUSE_DESK_HOME", str(tmp_path / "home"))
    ctx = _gui_context()
    try:
        _apply_in_the_threshold_panel(ctx, qtbot, worker_pool, 60)
        assert load_settings().threshold == 0.6  # saved when applied, not only at close
        dialog = SettingsDialog(ctx)  # a later save of an edited copy keeps it
        qtbot.addWidget(dialog)
        dialog.retention.setValue(30)
        assert dialog.apply()
        saved = load_settings()
        assert (saved.threshold, saved.log_retention_days) == (0.6, 30)
    finally:
        ctx.activity.close()


def test_after_a_supervisor_applies_060_the_cli_labels_at_060_and_logs_it(
    qtbot, tmp_path, monkeypatch, worker_pool
):
    """The issue's acceptance: Apply in the Threshold panel, then ``python -m app score``."""
    home = tmp_path / "home"
    monkeypatch.setenv("ABUSE_DESK_HOME", str(home))
    ctx = _gui_context()
    try:
        _apply_in_the_threshold_panel(ctx, qtbot, worker_pool, 60)
        source = tmp_path / "file.csv"
        # Two texts score between 0.45 and 0.60 (2.0.0, the default fast model: "nobody asked"
        # 0.544, "so annoying" 0.553): only the applied threshold calls them benign.
        texts = ["you are an idiot", "have a nice day", "go home", "nobody asked", "so annoying"]
        source.write_text("id,text\n" + "".join(f"{i},{t}\n" for i, t in enumerate(texts)))
        out = tmp_path / "out.csv"
        result = run_cli("score", str(source), "-o", str(out), ABUSE_DESK_HOME=str(home))
    finally:
        ctx.activity.close()
    assert result.returncode == 0, result.stderr
    assert "at threshold 0.60 (the app-wide threshold; --threshold overrides it)" in result.stdout
    with open(out, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(texts)
    scores = [float(row["abuse_score"]) for row in rows]
    assert any(0.45 <= score < 0.6 for score in scores)
    for row, score in zip(rows, scores, strict=True):  # labelled at 0.60
        assert row["abuse_label"] == ("abusive" if score >= 0.6 else "benign")
    events = _exported(home, tmp_path)
    actions = [e["action"] for e in events]
    # Apply records the decision (its record and rationale) before the threshold it applies
    assert actions == [
        "app_started", "threshold_decision", "threshold_applied", "batch_started",
        "batch_finished",
    ]  # fmt: skip
    assert all(float(e["threshold"]) == 0.6 for e in events[3:])
    assert events[4]["file_name"] == "file.csv"


# --- what each command leaves in the log ------------------------------------------------------


def test_each_command_leaves_exactly_its_own_events(tmp_path, signing_key, signed_tiny_bundle):
    """One event per command that scores, evaluates or changes state (a batch job: its start
    and its finish, as the GUI records it); none for those that only read."""
    home = tmp_path / "home"
    _write_settings(home, threshold=0.6)
    source = tmp_path / "in.csv"
    source.write_text("text\nyou are an idiot\nhave a nice day\n", encoding="utf-8")
    labelled = tmp_path / "labelled.csv"
    labelled.write_text("text,label\nyou idiot,1\nhello friend,0\nshut up,1\n", encoding="utf-8")
    steps: list[tuple[list[str], list[str]]] = [
        (["score-text", "you idiot"], ["score_text"]),
        (
            ["score", str(source), "-o", str(tmp_path / "o.csv")],
            ["batch_started", "batch_finished"],
        ),
        (["evaluate", str(labelled), "--label-column", "label", "--positive", "1"], ["evaluate"]),
        (["models", "trust", str(signing_key[1] / "test-team.pem")], ["key_trusted"]),
        (["models", "import", str(signed_tiny_bundle)], ["model_imported"]),
        # A switch of the active model migrates the threshold as Promote does (issue 14).
        (["models", "activate", "abuse-lr-1.0.0"], ["model_activated", "threshold_applied"]),
        (["models", "challenger", "2.0.0"], ["challenger_set"]),
        (["models", "challenger", "--clear"], ["challenger_cleared"]),
        (["models", "rollback"], ["model_rolled_back", "threshold_applied"]),
        (["info"], []),
        (["models", "list"], []),
    ]
    expected: list[str] = []
    for args, events in steps:
        result = run_cli(*args, ABUSE_DESK_HOME=str(home))
        assert result.returncode == 0, (args, result.stderr)
        expected += events
    assert _actions(home, tmp_path) == expected
    exported = _exported(home, tmp_path)  # log export itself records nothing
    assert [e["action"] for e in exported] == expected
    scored = {e["action"]: e for e in exported}
    assert float(scored["score_text"]["threshold"]) == 0.6
    assert float(scored["batch_finished"]["threshold"]) == 0.6
    assert float(scored["evaluate"]["threshold"]) == 0.6


# --- one workstation key ----------------------------------------------------------------------


def test_a_checkpoint_never_makes_a_new_key_beside_a_log_with_events(tmp_path, monkeypatch):
    from app.core.batch.checkpoint import workstation_key

    monkeypatch.setenv("ABUSE_DESK_HOME", str(tmp_path / "home"))
    log = ActivityLog.open_default(tmp_path / "home" / "data")
    log.record("app_started")
    log.close()
    key = activity_key_path(activity_db_path())
    first = workstation_key()  # the log's own key
    key.unlink()
    with pytest.raises(ActivityKeyError, match="missing but the log holds events"):
        workstation_key()
    assert not key.exists()
    assert isinstance(first, bytes) and first
