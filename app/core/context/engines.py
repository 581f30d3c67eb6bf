"""Which models a batch job's mode scores with (`app.core.batch.cascade`), from the registry.

* fast: the active model if it is linear, else the default bundled fast model;
* thorough: the active model if it is an encoder, else the newest encoder bundle installed;
* cascade: both, provided the encoder's cascade band was chosen for that very fast model (its
  manifest SHA-256), else refused with one line naming both.

`mode_problems` says, without building a session, why a mode cannot be used now (the Batch
panel disables it with that reason); `mode_scorers` loads what a job scores with.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.core.batch.cascade import CASCADE, FAST, MODES, THOROUGH, cascade_band
from app.core.batch.options import BatchOptions
from app.core.bundles.bundle import MANIFEST_NAME, VerifiedBundle, find_bundles, load_verified
from app.core.bundles.encoder_schema import ENCODER_TYPE
from app.core.common.errors import AbuseDeskError, InputError, ModelError
from app.core.engine.scoring import Scorer
from app.core.models.registry import ModelRegistry, version_key
from app.core.results.cache import ScoredFile, score_file

NO_ENCODER = "no thorough engine (an encoder model such as abuse-mini) is installed"


def newest_encoder(registry: ModelRegistry) -> Path | None:
    """The newest verified encoder bundle installed (by version), or None."""
    found = [
        entry for entry in registry.entries() if entry.verified and entry.engine == ENCODER_TYPE
    ]
    if not found:
        return None
    return max(found, key=lambda entry: version_key(entry.version)).folder


def fast_scorer(registry: ModelRegistry, active: Scorer) -> Scorer:
    return active if active.engine == "linear" else registry.load(registry.default_bundled())


def thorough_scorer(registry: ModelRegistry, active: Scorer, mode: str) -> Scorer:
    if active.engine == "encoder":
        return active
    folder = newest_encoder(registry)
    if folder is None:
        raise ModelError(f"{mode} refused: {NO_ENCODER}; use fast")
    scorer = registry.load(folder)
    return scorer


def _refuse_the_other_engine(active: Scorer, mode: str) -> None:
    """A model given for this run (``--model``) is never silently replaced: a mode that scores
    with the other engine only is refused, naming the mode that would use it."""
    if mode == FAST and active.engine == ENCODER_TYPE:
        raise ModelError(
            f"--model {active.version_label} is an encoder (the thorough engine) and --mode fast "
            "scores with a linear model: use --mode thorough or --mode cascade"
        )
    if mode == THOROUGH and active.engine != ENCODER_TYPE:
        raise ModelError(
            f"--model {active.version_label} is a linear model (the fast engine) and --mode "
            "thorough scores with an encoder: use --mode fast or --mode cascade, or give an "
            "encoder with --model"
        )


def mode_scorers(
    registry: ModelRegistry, active: Scorer, mode: str, *, given: bool = False
) -> tuple[Scorer, Scorer | None]:
    """(the scorer, the cascade's re-scorer or None) of a job in `mode`; ModelError (one line)
    when the mode cannot be used. ``given``: `active` was named for this run (``--model``), so
    a mode that would leave it out is refused rather than run with another model."""
    if mode not in MODES:
        raise InputError(f"unknown scoring mode {mode!r} (use {', '.join(MODES)})")
    if given:
        _refuse_the_other_engine(active, mode)
    if mode == FAST:
        return fast_scorer(registry, active), None
    thorough = thorough_scorer(registry, active, mode)
    if mode == THOROUGH:
        return thorough, None
    fast = fast_scorer(registry, active)
    cascade_band(fast.bundle, thorough.bundle)  # refused here, before anything is read
    return fast, thorough


def registry_stamp(registry: ModelRegistry) -> tuple[tuple[str, int, int], ...]:
    """What the installed bundles look like on disk (each manifest's path, time and size): the
    same stamp, the same `mode_problems`, so a panel need not re-read the bundles."""
    stamp = []
    for folder in (registry.bundled_dir, registry.user_dir):
        for bundle in find_bundles(folder):
            try:
                info = (bundle / MANIFEST_NAME).stat()
            except OSError:
                continue
            stamp.append((str(bundle), info.st_mtime_ns, info.st_size))
    return tuple(stamp)


def _bundle(registry: ModelRegistry, folder: Path) -> VerifiedBundle:
    return load_verified(folder, check_manifest=registry.check)


def mode_problems(registry: ModelRegistry, active: Scorer | None) -> dict[str, str]:
    """Why each mode cannot be used now ("" when it can), from the bundles alone (no session
    is built): the Batch panel's disabled entries and their tooltips."""
    problems = dict.fromkeys(MODES, "")
    if active is None:
        return dict.fromkeys(MODES, "no model is loaded")
    try:
        fast: Any = active.bundle if active.engine == "linear" else None
        if fast is None:
            fast = _bundle(registry, registry.default_bundled())
    except (AbuseDeskError, OSError) as exc:
        problems[FAST] = problems[CASCADE] = f"the fast model cannot be used: {exc}"
    try:
        thorough: Any = active.bundle if active.engine == "encoder" else None
        folder = None if thorough is not None else newest_encoder(registry)
        if thorough is None and folder is None:
            problems[THOROUGH] = problems[CASCADE] = NO_ENCODER
            return problems
        if thorough is None and folder is not None:
            thorough = _bundle(registry, folder)
    except (AbuseDeskError, OSError) as exc:
        problems[THOROUGH] = problems[CASCADE] = f"the thorough engine cannot be used: {exc}"
        return problems
    if not problems[CASCADE]:
        try:
            cascade_band(fast, thorough)
        except ModelError as exc:
            problems[CASCADE] = str(exc)
    return problems


def score_in_mode(
    registry: ModelRegistry,
    active: Scorer,
    mode: str,
    options: BatchOptions,
    gold_column: str | None,
    challenger: Scorer | None,
    progress: Callable[[Any], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> ScoredFile:
    """`score_file` with the models of `mode` (loaded here, on the job's thread: building the
    encoder's session takes a moment)."""
    scorer, rescorer = mode_scorers(registry, active, mode)
    return score_file(
        scorer, options, gold_column, progress, cancelled, challenger=challenger, rescorer=rescorer
    )
