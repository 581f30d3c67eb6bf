"""Changing which model decides, while the app runs: activate, roll back, challenger, promote.

Every function here works on a loaded, verified ``Scorer`` (loading takes ~0.2 s, so the UI does
it on a worker and calls these on the GUI thread). A switch only replaces ``state.scorer``: a batch
job holds the scorer it started with and finishes with it, and instant scoring reads the state
on every keystroke, so it uses the new model at once. The settings remember the active, previous
and challenger folders across restarts; every change is one activity-log event.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.core.analysis.compare import KEEP_OBJECTIVES, migrate_threshold, pair_bundled_evaluations
from app.core.common.errors import InputError
from app.core.common.messages import fmt_threshold
from app.core.context.settings import check_saveable
from app.core.context.state import AppContext

if TYPE_CHECKING:
    from app.core.engine.scoring import Scorer


def bundle_folder(scorer: Scorer) -> str:
    """The registry's name for a loaded model: its bundle folder's name."""
    return str(scorer.bundle.path.name)


MODEL_FIELDS = ("active_model", "previous_model", "challenger_model")


def _save(ctx: AppContext) -> None:
    ctx.save_settings(*MODEL_FIELDS)


def _label(scorer: Scorer | None) -> str:
    return scorer.version_label if scorer is not None else "none"


def activate(ctx: AppContext, scorer: Scorer, *, action: str = "model_activated") -> bool:
    """Make ``scorer`` the deciding model; the one it replaces becomes the rollback target.

    Returns False (and logs nothing) if it already is the active model. A challenger that is
    the same bundle as the new active model is cleared: comparing a model with itself says nothing.
    """
    old = ctx.state.scorer
    if old is not None and bundle_folder(old) == bundle_folder(scorer):
        return False
    challenger = ctx.state.challenger
    clears = challenger is not None and bundle_folder(challenger) == bundle_folder(scorer)
    check_saveable(ctx.settings_path)  # a change that could not be saved is neither logged nor made
    # Logged first: if the log cannot be written, nothing below happens.
    # The challenger's end is logged first, stamped (like every event here) with the model
    # deciding at that moment: the switch itself follows it in the log.
    if clears and action != "model_promoted":  # a promotion's event already says so
        ctx.log(
            "challenger_cleared",
            detail=f"{_label(challenger)} stops being the challenger: it becomes the active model",
        )
    log_if_unsigned(ctx, scorer, "active model")
    ctx.log(
        action,
        model_version=scorer.version_label,
        file_sha256=manifest_sha256(scorer),
        detail=f"{_label(old)} -> {scorer.version_label}",
    )
    ctx.settings.previous_model = bundle_folder(old) if old is not None else ""
    ctx.settings.active_model = bundle_folder(scorer)
    if clears:
        ctx.settings.challenger_model = ""
    _save(ctx)
    ctx.state.set_scorer(scorer)
    if challenger is not None and ctx.settings.challenger_model == "":
        ctx.state.set_challenger(None)
    return True


def rollback(ctx: AppContext, previous: Scorer) -> bool:
    """Return to the previous model (``previous`` is it, loaded from settings.previous_model).

    The model rolled back from becomes the new rollback target, so a second rollback undoes it.
    """
    return activate(ctx, previous, action="model_rolled_back")


def set_challenger(ctx: AppContext, challenger: Scorer | None) -> bool:
    """Shadow-score with ``challenger`` (None stops it). Refuses the active model itself."""
    active = ctx.state.scorer
    if challenger is not None and active is not None:
        if bundle_folder(challenger) == bundle_folder(active):
            raise ValueError(f"{challenger.version_label} is already the active model")
    old = ctx.state.challenger
    if (old is None and challenger is None) or (
        old is not None
        and challenger is not None
        and bundle_folder(old) == bundle_folder(challenger)
    ):
        return False
    check_saveable(ctx.settings_path)  # a change that could not be saved is neither logged nor made
    if challenger is None:  # logged first: if the log cannot be written, nothing changes
        ctx.log("challenger_cleared", detail=f"was {_label(old)}")
    else:
        log_if_unsigned(ctx, challenger, "challenger")
        ctx.log(
            "challenger_set",
            file_sha256=manifest_sha256(challenger),
            detail=f"challenger {challenger.version_label}",
        )
    ctx.settings.challenger_model = bundle_folder(challenger) if challenger is not None else ""
    _save(ctx)
    ctx.state.set_challenger(challenger)
    return True


def promote_challenger(ctx: AppContext, threshold: float, rationale: str) -> None:
    """Make the challenger the active model at ``threshold`` (usually a migrated threshold that
    keeps the old model's recall, precision or queue rate). ``rationale`` is logged verbatim."""
    challenger = ctx.state.challenger
    if challenger is None:
        raise ValueError("there is no challenger to promote")
    if not 0.0 <= threshold <= 1.0:  # checked before anything changes: all or nothing
        raise ValueError(f"threshold must be between 0 and 1, got {threshold}")
    activate(ctx, challenger, action="model_promoted")
    _apply_threshold(ctx, threshold, f"on promotion: {rationale}")


def _apply_threshold(ctx: AppContext, threshold: float, why: str) -> None:
    old_threshold = ctx.state.threshold
    ctx.log(  # logged before the threshold changes, like every switch here
        "threshold_applied",
        threshold=threshold,
        detail=f"{fmt_threshold(old_threshold)} -> {fmt_threshold(threshold)} {why}",
    )
    ctx.state.set_threshold(threshold)
    ctx.save_settings("threshold", *MODEL_FIELDS)  # the threshold from the state, its only home


# Promote's default objective (the Compare panel's first choice): keep the active model's recall.
DEFAULT_KEEP = KEEP_OBJECTIVES[0]


@dataclass(frozen=True)
class ActivationPlan:
    """What "Make active" would change, shown before it is done (`plan_activation`)."""

    old_label: str
    new_label: str
    old_threshold: float
    new_threshold: float  # == old_threshold when the threshold is kept
    rationale: str  # the migration's sentence, or why the threshold is kept
    clears_challenger: bool

    @property
    def migrates(self) -> bool:
        return self.new_threshold != self.old_threshold

    def describe(self) -> str:
        """The confirmation text: model, threshold and challenger, one paragraph each."""
        if self.migrates:
            threshold = (
                f"Threshold: {fmt_threshold(self.old_threshold)} → "
                f"{fmt_threshold(self.new_threshold)}, as Promote would migrate it. "
                f"{self.rationale}"
            )
        else:
            threshold = f"Threshold: stays {fmt_threshold(self.old_threshold)}. {self.rationale}"
        challenger = (
            f"Challenger: {self.new_label} stops being the challenger (it becomes the active "
            "model)."
            if self.clears_challenger
            else "Challenger: unchanged."
        )
        return (
            f"Active model: {self.old_label} → {self.new_label} ({self.old_label} becomes the "
            f"model to roll back to).\n\n{threshold}\n\n{challenger}"
        )


def plan_activation(ctx: AppContext, scorer: Scorer, keep: str = DEFAULT_KEEP) -> ActivationPlan:
    """The plan for making ``scorer`` active: the threshold migrates exactly as a promotion's
    (`migrate_threshold` on the two bundles' paired evaluation sets, keeping ``keep``); when
    the sets cannot be paired or no threshold keeps it, the current threshold is kept."""
    old, t = ctx.state.scorer, ctx.state.threshold
    new_t, rationale = t, "No threshold migration: there is no active model to compare with."
    if old is not None:
        try:
            champion, challenger = pair_bundled_evaluations(old, scorer).analyses()
            migration = migrate_threshold(
                champion, challenger, t, keep, champion_label=old.version_label
            )
        except InputError as exc:  # ThresholdInputError is one too
            rationale = f"It is kept: {exc}"
        else:
            rationale = migration.describe()
            if migration.threshold is not None:
                new_t = migration.threshold
            else:
                rationale += " It is kept."
    ch = ctx.state.challenger
    return ActivationPlan(
        old_label=_label(old),
        new_label=scorer.version_label,
        old_threshold=t,
        new_threshold=new_t,
        rationale=rationale,
        clears_challenger=ch is not None and bundle_folder(ch) == bundle_folder(scorer),
    )


def activate_planned(
    ctx: AppContext, scorer: Scorer, plan: ActivationPlan, *, action: str = "model_activated"
) -> bool:
    """Carry out a confirmed plan: activate (logged, with any challenger cleared), then the
    threshold migration (logged as ``threshold_applied``). False if it already is active.
    Every change of the active model goes through here (GUI and CLI, activate and roll back:
    ``action="model_rolled_back"``), so all of them move the threshold alike."""
    if not 0.0 <= plan.new_threshold <= 1.0:  # checked before anything changes
        raise ValueError(f"threshold must be between 0 and 1, got {plan.new_threshold}")
    if not activate(ctx, scorer, action=action):
        return False
    if plan.migrates:
        verb = "roll-back to" if action == "model_rolled_back" else "activation of"
        _apply_threshold(ctx, plan.new_threshold, f"on {verb} {plan.new_label}: {plan.rationale}")
    return True


def log_if_unsigned(ctx: AppContext, scorer: Scorer, role: str) -> None:
    """An unsigned bundle is only usable because an administrator allowed it: say so each time."""
    status = getattr(scorer.bundle, "signature", None)
    if status is not None and not status.signed:
        ctx.log(
            "unsigned_model_used",
            model_version=scorer.version_label,
            file_sha256=manifest_sha256(scorer),
            detail=f"{role}: {scorer.version_label} has no signature (allow_unsigned_models is on)",
        )


def manifest_sha256(scorer: Scorer) -> str | None:
    """SHA-256 of the bundle's manifest as read at load time (which pins every file's hash)."""
    return getattr(scorer.bundle, "manifest_sha256", None)
