"""The context a command runs in: `open_context()`, as the desktop app opens it, plus what a
command line adds — ``--model``, ``--threshold`` and ``--challenger`` overrides, and the line that
says which threshold and model were used and why.

A command decides at the app-wide threshold (the one a supervisor applied in the Threshold panel)
and shadow-scores with the app-wide challenger (the one chosen in the Models panel) unless its
options say otherwise. Problems with the settings or the chosen models are one warning line each
on stderr; the run goes on with the fallback, as the app does.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from app import APP_NAME
from app.core.common.messages import fmt_threshold, one_line

if TYPE_CHECKING:
    from app.core.context.state import AppContext
    from app.core.engine.scoring import Scorer


def warn(message: str) -> None:
    """One warning line on stderr. Not shortened like errors: a settings notice names the file
    and every field that was refused (`settings_notice` caps it at 600 characters)."""
    print(one_line(f"{APP_NAME}: warning: {message}", limit=1000), file=sys.stderr, flush=True)


@contextmanager
def cli_context(
    args: argparse.Namespace, *, load_models: bool = True, record: bool = True
) -> Iterator[AppContext]:
    """`open_context()` for one command (``--model`` if given), closed when the command ends.
    With `record` the activity log is opened first: a log that cannot be written stops the
    command (one line, exit 3) before it changes anything."""
    from app.core.context.bootstrap import close_context, open_context

    ctx = open_context(
        getattr(args, "model", None), load_models=load_models, record=record, warn=warn
    )
    try:
        yield ctx
    finally:
        close_context(ctx)


def active_scorer(ctx: AppContext) -> Scorer:
    """The deciding model of a context opened with its models."""
    scorer = ctx.state.scorer
    if scorer is None:  # pragma: no cover - open_context(load_models=True) always sets one
        raise RuntimeError("the context was opened without its models")
    return scorer


def decision_threshold(args: argparse.Namespace, ctx: AppContext) -> float:
    """``--threshold`` if given, else the app-wide threshold a supervisor applied (the one the
    desktop app decides with), never silently the model's own default."""
    given: float | None = getattr(args, "threshold", None)
    return ctx.state.threshold if given is None else given


def threshold_kind(args: argparse.Namespace, ctx: AppContext) -> str:
    """Where the decision threshold came from, as a word a script can test: ``option``
    (``--threshold``), ``app-wide`` (applied by a supervisor) or ``default`` (none applied)."""
    from app.core.engine.scoring import DEFAULT_THRESHOLD

    if getattr(args, "threshold", None) is not None:
        return "option"
    fallback = ctx.settings.threshold_fallback
    return "default" if fallback or ctx.state.threshold == DEFAULT_THRESHOLD else "app-wide"


_SOURCES = {
    "option": "given with --threshold",
    "app-wide": "the app-wide threshold; --threshold overrides it",
    "default": "the default: no app-wide threshold applied; --threshold overrides it",
}
_FALLBACK = "the default: the settings' threshold could not be used (see the warning above)"


def threshold_source(args: argparse.Namespace, ctx: AppContext) -> str:
    """Where the threshold came from, in words."""
    kind = threshold_kind(args, ctx)
    return _FALLBACK if kind == "default" and ctx.settings.threshold_fallback else _SOURCES[kind]


def used_line(model_label: str, threshold: float, args: argparse.Namespace, ctx: AppContext) -> str:
    """The line every scoring command ends with: which model, which threshold, and why."""
    source = threshold_source(args, ctx)
    return f"model {model_label} at threshold {fmt_threshold(threshold)} ({source})"


def run_note(args: argparse.Namespace, ctx: AppContext) -> str:
    """What a command's activity event adds, so a supervisor can tell a command-line run and
    each option that overrode the app-wide choice (threshold, model, challenger)."""
    parts = ["command line"]
    given: float | None = getattr(args, "threshold", None)
    if given is not None and given != ctx.state.threshold:
        app_wide = fmt_threshold(ctx.state.threshold)
        parts.append(
            f"threshold {fmt_threshold(given)} given with --threshold (app-wide {app_wide})"
        )
    if getattr(args, "thresholds", None) is not None:
        parts.append("thresholds given with --thresholds")
    if getattr(args, "model", None):
        parts.append("model given with --model instead of the active model")
    challenger: str | None = getattr(args, "challenger", None)
    if challenger is not None:
        off = challenger.strip().lower() == "none"
        parts.append(
            "no challenger (--challenger none)" if off else "challenger given with --challenger"
        )
    return "; ".join(parts)


def challenger_for(args: argparse.Namespace, ctx: AppContext) -> Scorer | None:
    """``--challenger M`` (a folder or an installed version), ``--challenger none``, else the
    app-wide challenger (none with ``--model``: a challenger is chosen against the active one)."""
    from app.core.context.bootstrap import registry_of

    given: str | None = getattr(args, "challenger", None)
    if given is None:
        return ctx.state.challenger
    if given.strip().lower() == "none":
        return None
    challenger = registry_of(ctx).load(given)
    active = ctx.state.scorer
    if active is not None and challenger.bundle.path.name == active.bundle.path.name:
        from app.core.common.errors import ModelError

        # as `models challenger` refuses it: a model compared with itself says nothing
        raise ModelError(f"--challenger {given}: {challenger.version_label} is the deciding model")
    return challenger


def challenger_line(challenger: Scorer, args: argparse.Namespace) -> str:
    why = "the app-wide challenger" if args.challenger is None else "given with --challenger"
    return f"challenger {challenger.version_label} shadow-scored every row ({why})"
