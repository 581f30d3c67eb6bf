"""Figures a training run records beside its test metrics: per-origin AUCs, identity-term bias,
the figures each compared candidate gets, and the quality targets the run is checked against.

Identity-term bias: the share of the benign identity sentences (`app.core.training.identity_terms`) that
score at or above the threshold (their false-positive rate), against the false-positive rate on
the benign items of the reference data (the test part for a bundle, validation for a candidate).
A ratio above 1 means mentioning an identity group raises false alarms above the usual rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.special import expit

from app.core.analysis.thresholds import ThresholdAnalysis
from app.core.training.data import Corpus
from app.core.training.fit import FittedModel
from app.core.training.identity_terms import evaluation_set, tuning_set
from app.core.training.platt import fit_platt

BIAS_THRESHOLD = 0.45  # the product's default threshold, where the bias is measured
BIAS_RATIO_LIMIT = 1.5  # the identity benign FPR should be at most this times the overall FPR

# The targets for the next bundle, checked and shown in the model card.
TARGET_TEST_AUC = {"davidson": 0.985, "olid": 0.82}


def per_origin_auc(scores: np.ndarray, corpus: Corpus) -> dict[str, float]:
    out = {}
    for origin in sorted(set(corpus.origins.tolist())):
        mask = corpus.origins == origin
        out[origin] = ThresholdAnalysis(scores[mask], corpus.labels[mask]).roc_auc()
    return out


def false_positive_rate(scores: np.ndarray, labels: np.ndarray, threshold: float) -> float:
    """Share of the benign items (label 0) scored at or above ``threshold``."""
    benign = np.asarray(scores)[np.asarray(labels) == 0]
    return float(np.mean(benign >= threshold)) if len(benign) else float("nan")


def identity_bias(
    scores: np.ndarray,
    labels: Sequence[int],
    groups: Sequence[str],
    overall_fpr: float,
    threshold: float = BIAS_THRESHOLD,
) -> dict[str, Any]:
    """FPR on the benign identity sentences vs ``overall_fpr``, TPR on the abusive ones, and the
    same per group. The ratio is None when the overall FPR is 0."""
    scores = np.asarray(scores, float)
    y = np.asarray(labels)
    g = np.asarray(groups)
    flagged = scores >= threshold
    benign_fpr = float(np.mean(flagged[y == 0]))
    per_group = {}
    for group in dict.fromkeys(groups):  # first-seen order
        mask = g == group
        per_group[group] = {
            "benign_fpr": float(np.mean(flagged[mask & (y == 0)])),
            "abusive_tpr": float(np.mean(flagged[mask & (y == 1)])),
        }
    limit = BIAS_RATIO_LIMIT * overall_fpr
    worst = max(per_group, key=lambda k: per_group[k]["benign_fpr"])
    return {
        "threshold": threshold,
        "benign_items": int(np.sum(y == 0)),
        "abusive_items": int(np.sum(y == 1)),
        "benign_fpr": benign_fpr,
        "overall_fpr": overall_fpr,
        "ratio": benign_fpr / overall_fpr if overall_fpr > 0 else None,
        "abusive_tpr": float(np.mean(flagged[y == 1])),
        "groups_above_limit": [k for k, v in per_group.items() if v["benign_fpr"] > limit],
        "worst_group": worst,
        "per_group": per_group,
    }


def identity_report(
    model: FittedModel, overall_fpr: float, which: str = "evaluation"
) -> dict[str, Any]:
    """`identity_bias` of a (calibrated) model on the evaluation or the tuning templates."""
    texts, labels, groups = evaluation_set() if which == "evaluation" else tuning_set()
    return identity_bias(model.predict_proba(texts), labels, groups, overall_fpr)


def candidate_row(model: FittedModel, validation: Corpus) -> dict[str, Any]:
    """What the comparison records for one candidate fitted on the training part.

    Its validation logits are Platt-scaled on validation itself (the bundle's calibration is
    fitted out-of-fold later; this only puts every candidate on the same probability scale
    for the 0.45 threshold of the bias figures)."""
    logits = model.logits(validation.texts)
    scores = expit(logits)
    aucs = per_origin_auc(scores, validation)
    a, b = fit_platt(logits, validation.labels)
    calibrated = FittedModel(model.candidate, model.union, model.experts, (a, b), model.capped)
    fpr = false_positive_rate(expit(a * logits + b), validation.labels, BIAS_THRESHOLD)
    tuning = identity_report(calibrated, fpr, "tuning")
    evaluation = identity_report(calibrated, fpr, "evaluation")
    return {
        "name": model.candidate.name,
        "description": model.candidate.describe(),
        "features": int(model.effective_coef().shape[0]),
        "capped_features": int(len(model.capped)),
        "validation_auc": ThresholdAnalysis(scores, validation.labels).roc_auc(),
        "validation_auc_by_origin": aucs,
        "selection_score": float(np.mean(list(aucs.values()))),
        "validation_fpr_at_0.45": fpr,
        "identity_tuning": _brief(tuning),
        "identity_evaluation": _brief(evaluation),
    }


def _brief(bias: dict[str, Any]) -> dict[str, Any]:
    return {k: bias[k] for k in ("benign_fpr", "ratio", "abusive_tpr", "groups_above_limit")}


def target_checks(
    test_metrics: dict[str, Any],
    identity: dict[str, Any],
    lodo: dict[str, Any],
    lodo_references: Sequence[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Each quality target of the issue with the measured value and whether it is met."""
    checks = []
    for origin, target in TARGET_TEST_AUC.items():
        if origin in test_metrics:
            value = test_metrics[origin]["auc"]
            checks.append(
                {
                    "target": f"test ROC-AUC {origin} >= {target}",
                    "value": value,
                    "met": value >= target,
                }
            )
    ratio = identity["ratio"]
    checks.append(
        {
            "target": f"identity benign FPR <= {BIAS_RATIO_LIMIT} x overall test FPR at {BIAS_THRESHOLD}",
            "value": ratio,
            "met": ratio is not None and ratio <= BIAS_RATIO_LIMIT,
        }
    )
    mine = {(d["train"], d["test"]): d["test_part_auc"] for d in lodo["directions"]}
    for reference in lodo_references:
        for d in reference["directions"]:
            key = (d["train"], d["test"])
            if key in mine:
                checks.append(
                    {
                        "target": f"leave-one-dataset-out {key[0]} -> {key[1]} test-part AUC "
                        f"above {reference['candidate']} ({d['test_part_auc']:.4f})",
                        "value": mine[key],
                        "met": mine[key] > d["test_part_auc"],
                    }
                )
    return checks
