"""Which bundled model a fresh install scores with: a written rule over the bundles' own
validation figures, fixed before any test figure was looked at.

Why a rule and not a name: "the default" used to be a hard-coded folder name, which nobody could
check against the bundles. The rule reads only what each bundle's manifest records about the
candidate its training selected (``training.compared`` entry named ``training.selected``): the
validation selection score and the identity-term ratio on the tuning templates. Test figures
(``metrics.test``) are never read here, so the choice cannot be tuned on the test part.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from app.core.bundles.bundle import (
    MANIFEST_NAME,
    MAX_MANIFEST_BYTES,
    _read_capped,
    find_bundles,
    load_verified,
    parse_manifest,
)
from app.core.bundles.encoder_schema import MODEL_FILE
from app.core.common.errors import ModelError
from app.core.engine.feature_settings import WEIGHTING

IDENTITY_RATIO_LIMIT = 1.5  # the fairness bar on the identity-term tuning templates


@dataclass(frozen=True)
class RuleOutcome:
    """What the rule found for one bundled folder (`rule_outcomes`)."""

    folder: Path
    selection_score: float | None  # validation, of the selected candidate
    identity_ratio: float | None  # tuning templates, of the selected candidate
    qualifies: bool
    reason: str  # why not, or "qualifies"


def _version_key(path: Path) -> tuple[int, ...]:
    version = path.name.rsplit("-", 1)[-1]
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        return (-1,)


def _finite(value: Any) -> float | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    return float(value) if ok else None


def _selected_figures(manifest: dict[str, Any]) -> tuple[float | None, float | None]:
    """The selected candidate's validation selection score and tuning identity ratio (None where
    the manifest does not record them in the expected shape: free-form provenance is untrusted)."""
    training = manifest.get("training")
    if not isinstance(training, dict):
        return None, None
    selected, compared = training.get("selected"), training.get("compared")
    if not isinstance(selected, str) or not isinstance(compared, list):
        return None, None
    rows = [r for r in compared if isinstance(r, dict) and r.get("name") == selected]
    if len(rows) != 1:
        return None, None
    tuning = rows[0].get("identity_tuning")
    ratio = _finite(tuning.get("ratio")) if isinstance(tuning, dict) else None
    return _finite(rows[0].get("selection_score")), ratio


def _manifest_outcome(folder: Path) -> RuleOutcome:
    """The rule's figures from the manifest alone (cheap: the manifest is ~10 KB)."""
    try:
        manifest = parse_manifest(folder, _read_capped(folder, MANIFEST_NAME, MAX_MANIFEST_BYTES))
    except (ModelError, OSError) as exc:
        return RuleOutcome(folder, None, None, False, f"manifest not usable: {exc}")
    score, ratio = _selected_figures(manifest)
    if MODEL_FILE in manifest["files"]:
        return RuleOutcome(folder, score, ratio, False, "an encoder bundle (not the fast engine)")
    if score is None:
        return RuleOutcome(folder, score, ratio, False, "no validation selection score recorded")
    if ratio is None:
        return RuleOutcome(folder, score, ratio, False, "no identity-term tuning ratio recorded")
    if ratio > IDENTITY_RATIO_LIMIT:
        why = f"identity-term tuning ratio {ratio:.2f} > {IDENTITY_RATIO_LIMIT}"
        return RuleOutcome(folder, score, ratio, False, why)
    return RuleOutcome(folder, score, ratio, True, "qualifies")


def _verified_outcome(candidate: RuleOutcome) -> RuleOutcome:
    """The checks that need the verified files: a linear engine whose every feature block is the
    additive count-idf-sqrt map (`FeatureBlock.additive`), the cacheable fast path."""
    try:
        bundle = load_verified(candidate.folder)
    except (ModelError, OSError) as exc:
        return replace(candidate, qualifies=False, reason=str(exc))
    blocks = bundle.json_files.get("features.json", {}).get("blocks", [])
    additive = bool(blocks) and all(b["settings"].get("weighting") == WEIGHTING for b in blocks)
    if bundle.engine != "linear" or not additive:
        why = "an encoder bundle" if bundle.engine != "linear" else "not count-idf-sqrt features"
        return replace(candidate, qualifies=False, reason=why)
    return candidate


def _ranked(outcomes: list[RuleOutcome]) -> list[RuleOutcome]:
    """Qualifying by the manifest, best first: highest validation score, ties -> newest version."""
    qualifying = [o for o in outcomes if o.qualifies]
    return sorted(
        qualifying, key=lambda o: (o.selection_score, _version_key(o.folder)), reverse=True
    )


def rule_outcomes(models_dir: Path) -> list[RuleOutcome]:
    """The rule applied to every bundle in ``models_dir`` (each verified), for reports and tests."""
    outcomes = [_manifest_outcome(folder) for folder in find_bundles(models_dir)]
    return [_verified_outcome(o) if o.qualifies else o for o in outcomes]


def choose_default(models_dir: Path) -> Path:
    """The default fast model among the bundles in ``models_dir``, by this rule:

    among the LINEAR bundles (an encoder bundle is never the default fast model) whose every
    feature block is the additive count-idf-sqrt map (cacheable, scored on the fast path) and
    whose selected training candidate has an identity-term ratio on the tuning templates
    (``training.compared[selected].identity_tuning.ratio``) of at most 1.5, the one with the
    highest validation selection score (``training.compared[selected].selection_score``); ties
    go to the newest version. Only validation and tuning figures are read, never test figures.
    When no bundle qualifies (e.g. a folder holding only older models), the newest version that
    is not an encoder bundle is used, so the app still starts. Raises ModelError if there is none.
    """
    bundles = find_bundles(models_dir)
    if not bundles:
        raise ModelError(f"no model bundle found in {models_dir}")
    outcomes = [_manifest_outcome(folder) for folder in bundles]
    for candidate in _ranked(outcomes):  # verified lazily: usually only the winner is read
        if _verified_outcome(candidate).qualifies:
            return candidate.folder
    fast = [o.folder for o in outcomes if "encoder" not in o.reason] or bundles
    return max(fast, key=_version_key)
