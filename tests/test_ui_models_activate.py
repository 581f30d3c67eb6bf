"""Models panel "Make active": it says what changes (model, threshold as Promote migrates it,
challenger), asks first, changes nothing on No, and logs every part on Yes."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from app.core.common.messages import fmt_threshold
from app.core.context import model_switch
from app.ui.models.panel import ModelsPanel

TIMEOUT = 10_000
OLD, NEW, TINY = "abuse-lr-2.0.0", "abuse-lr-1.0.0", "tiny-0.0.1"
YES, NO = QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.No


@pytest.fixture
def ctx(registry_context):
    return registry_context


@pytest.fixture
def panel(models_panel):
    return models_panel


def answer(monkeypatch, button, asked: list[str]) -> None:
    def question(_parent, title, text, *_args):
        asked.append(f"{title}\n{text}")
        return button

    monkeypatch.setattr(QMessageBox, "question", question)


def make_active(qtbot, panel: ModelsPanel, ref: str) -> None:
    assert panel.select(ref)
    button = panel.view.activate_button
    assert button.isEnabled()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.busy, timeout=TIMEOUT)


def snapshot(ctx) -> tuple:
    text = ctx.settings_path.read_text() if ctx.settings_path.exists() else None
    return (
        ctx.state.scorer.version_label,
        ctx.state.threshold,
        ctx.settings.active_model,
        ctx.settings.challenger_model,
        text,
        [(e.action, e.detail) for e in ctx.activity.query()],
    )


def test_cancel_changes_nothing(qtbot, monkeypatch, panel, ctx):
    asked: list[str] = []
    answer(monkeypatch, NO, asked)
    before = snapshot(ctx)
    make_active(qtbot, panel, NEW)
    (text,) = asked
    assert "abuse-lr 2.0.0 → abuse-lr 1.0.0" in text
    assert snapshot(ctx) == before
    assert "not made active: nothing changed" in panel.view.message.text()


def test_confirm_migrates_threshold_as_promote_and_logs_it(qtbot, monkeypatch, panel, ctx):
    plan = model_switch.plan_activation(ctx, ctx.registry.load(NEW))
    assert plan.migrates, plan.rationale  # the two bundled models share evaluation items
    asked: list[str] = []
    answer(monkeypatch, YES, asked)
    make_active(qtbot, panel, NEW)
    (text,) = asked
    old_t, new_t = fmt_threshold(0.45), fmt_threshold(plan.new_threshold)
    assert "Active model: abuse-lr 2.0.0 → abuse-lr 1.0.0" in text
    assert f"Threshold: {old_t} → {new_t}, as Promote would migrate it" in text
    assert "Keeps recall ≥" in text and "Challenger: unchanged." in text
    assert ctx.state.scorer.version_label == "abuse-lr 1.0.0"
    assert ctx.state.threshold == plan.new_threshold
    assert (ctx.settings.active_model, ctx.settings.previous_model) == (NEW, OLD)
    on_disk = ctx.settings_path.read_text()
    assert NEW in on_disk and repr(plan.new_threshold) in on_disk
    (activated,) = ctx.activity.query(action="model_activated")
    assert activated.detail == "abuse-lr 2.0.0 -> abuse-lr 1.0.0"
    (applied,) = ctx.activity.query(action="threshold_applied")
    assert applied.threshold == plan.new_threshold
    assert applied.detail.startswith(  # written in full, not rounded as :g would (0.407055)
        f"0.45 -> {fmt_threshold(plan.new_threshold)} on activation of abuse-lr 1.0.0"
    )
    assert ctx.activity.query(action="challenger_cleared") == []
    assert panel.view.message.text() == "abuse-lr 1.0.0 now decides."


def test_same_plan_as_promote(ctx):
    """The plan's threshold is migrate_threshold's, as the Compare panel promotes at."""
    from app.core.analysis.compare import migrate_threshold, pair_bundled_evaluations

    old, new = ctx.state.scorer, ctx.registry.load(NEW)
    champion, challenger = pair_bundled_evaluations(old, new).analyses()
    expected = migrate_threshold(champion, challenger, 0.45, "recall").threshold
    assert model_switch.plan_activation(ctx, new).new_threshold == expected


def test_challenger_made_active_is_cleared_and_logged(
    qtbot, monkeypatch, panel, ctx, signed_tiny_bundle
):
    panel.choose_import_folder = lambda: signed_tiny_bundle
    qtbot.mouseClick(panel.view.import_folder_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.busy, timeout=TIMEOUT)
    model_switch.set_challenger(ctx, ctx.registry.load(TINY))
    asked: list[str] = []
    answer(monkeypatch, YES, asked)
    make_active(qtbot, panel, TINY)
    (text,) = asked
    assert "Active model: abuse-lr 2.0.0 → tiny 0.0.1" in text
    assert "Threshold: stays 0.45. It is kept:" in text
    assert "Challenger: tiny 0.0.1 stops being the challenger" in text
    assert ctx.state.scorer.version_label == "tiny 0.0.1" and ctx.state.challenger is None
    assert ctx.settings.challenger_model == "" and ctx.state.threshold == 0.45
    # Logged before the switch, stamped with the model deciding then (newest first below).
    newest = [e.action for e in ctx.activity.query()][:2]
    assert newest == ["model_activated", "challenger_cleared"]
    (cleared,) = [e for e in ctx.activity.query(action="challenger_cleared")]
    assert cleared.detail == "tiny 0.0.1 stops being the challenger: it becomes the active model"
    assert cleared.model_version == "abuse-lr 2.0.0"
    assert ctx.activity.query(action="threshold_applied") == []


def test_roll_back_asks_and_migrates_back_like_make_active(qtbot, monkeypatch, panel, ctx):
    """Roll back after a migrating Make active: the same dialog, the threshold migrated back
    (not the old model deciding at the new one's threshold), every part logged."""
    asked: list[str] = []
    answer(monkeypatch, YES, asked)
    make_active(qtbot, panel, NEW)
    migrated = ctx.state.threshold
    assert migrated != 0.45
    back = model_switch.plan_activation(ctx, ctx.registry.load(OLD))
    assert back.migrates
    button = panel.view.rollback_button
    assert button.isEnabled()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.busy, timeout=TIMEOUT)
    assert len(asked) == 2
    title, _, text = asked[1].partition("\n")
    assert title == "Roll back" and "Roll back to abuse-lr 2.0.0?" in text
    assert "Active model: abuse-lr 1.0.0 → abuse-lr 2.0.0" in text
    assert f"Threshold: {fmt_threshold(migrated)} → {fmt_threshold(back.new_threshold)}" in text
    assert ctx.state.scorer.version_label == "abuse-lr 2.0.0"
    assert ctx.state.threshold == back.new_threshold
    (rolled,) = ctx.activity.query(action="model_rolled_back")
    assert rolled.detail == "abuse-lr 1.0.0 -> abuse-lr 2.0.0"
    applied = ctx.activity.query(action="threshold_applied")[0]  # newest first
    assert applied.detail.startswith(
        f"{fmt_threshold(migrated)} -> {fmt_threshold(back.new_threshold)} "
        "on roll-back to abuse-lr 2.0.0"
    )


def test_roll_back_no_changes_nothing(qtbot, monkeypatch, panel, ctx):
    asked: list[str] = []
    answer(monkeypatch, YES, asked)
    make_active(qtbot, panel, NEW)
    monkeypatch.undo()
    answer(monkeypatch, NO, asked)
    before = snapshot(ctx)
    qtbot.mouseClick(panel.view.rollback_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.busy, timeout=TIMEOUT)
    assert len(asked) == 2 and asked[1].startswith("Roll back\n")
    assert snapshot(ctx) == before
    assert "Not rolled back to abuse-lr 2.0.0: nothing changed" in panel.view.message.text()
