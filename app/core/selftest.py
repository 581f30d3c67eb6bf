"""The self-test: a quick proof, runnable anywhere, that the installed app and model work.

It checks what a broken install or a damaged bundle would break: the bundle verifies, known texts
score in the expected order, explanations add up to the score, and the fast threshold arithmetic
agrees with a direct count on the bundled evaluation arrays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.core.bundle import ManifestCheck, load_verified
from app.core.errors import AbuseDeskError
from app.core.scoring import Scorer
from app.core.thresholds import ThresholdAnalysis

BENIGN_SAMPLES = (
    "Thanks for the help yesterday, see you at the meeting.",
    "What a lovely sunny day",
)
ABUSIVE_SAMPLES = ("you are a stupid fucking idiot", "shut up you worthless bitch")


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def run_self_test(bundle_path: Path, check_manifest: ManifestCheck | None = None) -> list[Check]:
    """``check_manifest``: the signature policy (``ModelRegistry.check``); None checks hashes only."""
    checks: list[Check] = []
    try:
        scorer = Scorer(load_verified(bundle_path, check_manifest=check_manifest))
    except AbuseDeskError as exc:
        return [Check("bundle verified", False, str(exc))]
    status = scorer.bundle.signature
    signed = f", {status.describe()}" if status is not None else ""
    checks.append(
        Check(
            "bundle verified",
            True,
            f"{scorer.version_label}, {len(scorer.bundle.file_hashes)} files{signed}",
        )
    )

    benign = scorer.model.predict_proba(list(BENIGN_SAMPLES))
    abusive = scorer.model.predict_proba(list(ABUSIVE_SAMPLES))
    ordered = bool(benign.max() < 0.5 <= abusive.min())
    checks.append(
        Check(
            "sample texts scored",
            ordered,
            f"benign {np.round(benign, 3).tolist()}, abusive {np.round(abusive, 3).tolist()}",
        )
    )

    explanation = scorer.explain(ABUSIVE_SAMPLES[0], top_k=None)
    total = explanation.bias + sum(t.contribution for t in explanation.terms)
    prob = 1 / (1 + math.exp(-total))
    checks.append(
        Check(
            "explanation adds up",
            abs(prob - abusive[0]) < 1e-9,
            f"sum of term shares gives {prob:.6f}, model gives {abusive[0]:.6f}",
        )
    )

    arrays = scorer.bundle.arrays
    scores, labels = arrays.get("eval_scores.npy"), arrays.get("eval_labels.npy")
    if scores is None or labels is None:
        checks.append(Check("threshold arithmetic", False, "bundle has no evaluation arrays"))
        return checks
    analysis = ThresholdAnalysis(scores, labels)
    mismatches = []
    for t in (0.0, 0.25, 0.45, 0.5, 0.75, 1.0, float(np.median(scores))):
        m = analysis.at(t)
        flagged = scores >= t
        direct = (int((flagged & (labels == 1)).sum()), int((flagged & (labels == 0)).sum()))
        if (m.tp, m.fp) != direct:
            mismatches.append(t)
    checks.append(
        Check(
            "threshold arithmetic",
            not mismatches,
            f"{analysis.n:,} evaluation items, 7 thresholds checked; AUC {analysis.roc_auc():.4f}"
            if not mismatches
            else f"mismatch at thresholds {mismatches}",
        )
    )
    return checks
