"""The self-test: a quick proof, runnable anywhere, that the installed app and model work.

It checks what a broken install or a damaged bundle would break: the bundle verifies, known texts
score in the expected order, explanations add up to the score (a linear model's shares) or are
what removing the word does (an encoder's occlusion effects, two re-measured), the fast threshold arithmetic
agrees with a direct count on the bundled evaluation arrays, the activity log keeps and chains
events across a reopen, and CSV/XLSX exports keep formula-looking text inert. The last two run
in a temporary folder (`app.core.selftest.report`) and leave nothing behind.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.core.analysis.thresholds import ThresholdAnalysis
from app.core.bundles.bundle import ManifestCheck, load_verified
from app.core.common.errors import AbuseDeskError
from app.core.engine.encoder import EncoderTextModel
from app.core.engine.explain import SHARES, Explanation
from app.core.engine.normalize import normalize_text
from app.core.engine.occlusion import word_key
from app.core.engine.scoring import Scorer
from app.core.selftest import report as selftest_io

BENIGN_SAMPLES = (
    "Thanks for the help yesterday, see you at the meeting.",
    "What a lovely sunny day",
)
ABUSIVE_SAMPLES = ("you are a stupid fucking idiot", "shut up you worthless bitch")
#: How many checks a complete run reports (the bundle-refused case reports only the first).
CHECK_COUNT = 6


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def run_self_test(bundle_path: Path, check_manifest: ManifestCheck | None = None) -> list[Check]:
    """``check_manifest``: the signature policy (``ModelRegistry.check``); None checks hashes only."""
    try:
        scorer = Scorer(load_verified(bundle_path, check_manifest=check_manifest))
    except AbuseDeskError as exc:
        return [Check("bundle verified", False, str(exc))]
    status = scorer.bundle.signature
    signed = f", {status.describe()}" if status is not None else ""
    checks = [
        Check(
            "bundle verified",
            True,
            f"{scorer.version_label}, {len(scorer.bundle.file_hashes)} files{signed}",
        )
    ]
    checks += _model_checks(scorer)
    checks.append(_threshold_check(scorer))
    # Removed afterwards; a file another process still holds (Windows) must not fail the run.
    with tempfile.TemporaryDirectory(
        prefix="abuse-desk-selftest-", ignore_cleanup_errors=True
    ) as scratch:
        folder = Path(scratch)
        (folder / "log").mkdir()
        (folder / "exports").mkdir()
        checks.append(
            _guarded("activity log", lambda: selftest_io.check_activity_log(folder / "log"))
        )
        checks.append(
            _guarded(
                "exports",
                lambda: selftest_io.check_exports(folder / "exports", _scored_rows(scorer)),
            )
        )
    return checks


def _guarded(name: str, check: Callable[[], str]) -> Check:
    """Run one file check: its detail when it held, else what failed (never a traceback)."""
    try:
        return Check(name, True, check())
    except Exception as exc:  # any failure of the code under test is this check's result
        reason = str(exc) if isinstance(exc, selftest_io.SelfTestFailure) else repr(exc)
        return Check(name, False, reason)


def _model_checks(scorer: Scorer) -> list[Check]:
    benign = scorer.model.predict_proba(list(BENIGN_SAMPLES))
    abusive = scorer.model.predict_proba(list(ABUSIVE_SAMPLES))
    ordered = bool(benign.max() < 0.5 <= abusive.min())
    explanation = scorer.explain(ABUSIVE_SAMPLES[0], top_k=None)
    if explanation.method != SHARES:  # an encoder's effects do not add up: re-measure two
        explained = _occlusion_check(scorer, explanation)
    else:
        total = explanation.bias + sum(t.contribution for t in explanation.terms)
        prob = 1 / (1 + math.exp(-total))
        explained = Check(
            "explanation adds up",
            bool(abs(prob - abusive[0]) < 1e-9),
            f"sum of term shares gives {prob:.6f}, model gives {abusive[0]:.6f}",
        )
    return [
        Check(
            "sample texts scored",
            ordered,
            f"benign {np.round(benign, 3).tolist()}, abusive {np.round(abusive, 3).tolist()}",
        ),
        explained,
    ]


# The engine runs every text alone (an int8 graph scales a run's activations as a whole, so
# batching would make a text's logit depend on its neighbours): the shortened copies built here
# and scored as any texts are must give exactly the explanation's effects.
OCCLUSION_TOLERANCE = 1e-6


def _without_word(text: str, key: str) -> str:
    """The text with every occurrence of the word ``key`` removed, as occlusion defines it."""
    return " ".join(t for t in normalize_text(text).split(" ") if word_key(t) != key)


def _occlusion_check(scorer: Scorer, explanation: Explanation) -> Check:
    """An encoder's explanation: its logit is the text's, and each of its two strongest
    effects is the change of the logit when that word is removed. The shortened copies are
    built here and scored as any texts are (`calibrated_logits`; see `OCCLUSION_TOLERANCE`)."""
    model = scorer.model
    text = ABUSIVE_SAMPLES[0]
    assert isinstance(model, EncoderTextModel)
    words = list(dict.fromkeys(word_key(t) for t in normalize_text(text).split(" ")))
    logits = model.calibrated_logits([text] + [_without_word(text, w) for w in words])
    full, without = float(logits[0]), dict(zip(words, logits[1:].tolist(), strict=True))
    worst = abs(full - explanation.logit)
    measured = []
    for term in explanation.terms[:2]:
        effect = full - without[term.term] if term.term in without else math.inf
        worst = max(worst, abs(effect - term.contribution))
        measured.append(f"{term.display!r} {term.contribution:+.3f}")
    ok = bool(worst <= OCCLUSION_TOLERANCE and measured)
    return Check(
        "explanation re-measured (occlusion)",
        ok,
        f"effects {', '.join(measured) or 'none'} match the shortened texts' logits "
        f"(largest difference {worst:.1e})"
        if ok
        else f"effects {', '.join(measured) or 'none'} differ from the shortened texts' "
        f"logits by up to {worst:.3g}",
    )


def _threshold_check(scorer: Scorer) -> Check:
    arrays = scorer.bundle.arrays
    scores, labels = arrays.get("eval_scores.npy"), arrays.get("eval_labels.npy")
    if scores is None or labels is None:
        return Check("threshold arithmetic", False, "bundle has no evaluation arrays")
    analysis = ThresholdAnalysis(scores, labels)
    mismatches = []
    for t in (0.0, 0.25, 0.45, 0.5, 0.75, 1.0, float(np.median(scores))):
        m = analysis.at(t)
        flagged = scores >= t
        direct = (int((flagged & (labels == 1)).sum()), int((flagged & (labels == 0)).sum()))
        if (m.tp, m.fp) != direct:
            mismatches.append(t)
    return Check(
        "threshold arithmetic",
        not mismatches,
        f"{analysis.n:,} evaluation items, 7 thresholds checked; AUC {analysis.roc_auc():.4f}"
        if not mismatches
        else f"mismatch at thresholds {mismatches}",
    )


def _scored_rows(scorer: Scorer) -> list[tuple[str, float | None, str]]:
    """A small scored table for the export check, with a formula-looking text among them."""
    texts = (BENIGN_SAMPLES[0], ABUSIVE_SAMPLES[0], selftest_io.FORMULA_TEXT)
    scored = [scorer.score_text(text, scorer.default_threshold) for text in texts]
    return [(text, s.score, s.label) for text, s in zip(texts, scored, strict=True)]
