"""The model card: a Markdown account of a bundle, computed from its manifest and test scores.

Every number in it comes from data; the sentence comparing 0.45 with 0.50 is computed with the
same threshold arithmetic the app uses, never typed by hand.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.core.thresholds import ThresholdAnalysis, ThresholdMetrics


def _matrix(m: ThresholdMetrics) -> str:
    return "\n".join(
        [
            "| actual \\ predicted | abusive | benign |",
            "|---|---:|---:|",
            f"| **abusive** | {m.tp:,} (caught) | {m.fn:,} (missed) |",
            f"| **benign** | {m.fp:,} (false alarm) | {m.tn:,} (correctly passed) |",
            "",
            f"Accuracy {m.accuracy:.4f} · precision {m.precision:.4f} · recall {m.recall:.4f} · "
            f"F1 {m.f1:.4f} · flagged {m.queue_rate:.1%} of items",
        ]
    )


def _pct(x: float) -> str:
    return f"{x:.4f}"


def render_model_card(
    manifest: dict[str, Any], test_scores: np.ndarray, test_labels: np.ndarray
) -> str:
    training = manifest["training"]
    metrics = manifest["metrics"]["test"]
    analysis = ThresholdAnalysis(test_scores, test_labels)
    best = analysis.best_f1()
    at50, at45 = analysis.at(0.5), analysis.at(0.45)
    delta = analysis.compare(0.45, 0.5)
    lines = [
        f"# Model card: {manifest['name']} {manifest['version']}",
        "",
        f"Created {manifest['created_utc']} with Python {manifest['libraries']['python']}, "
        f"scikit-learn {manifest['libraries']['scikit-learn']}, numpy {manifest['libraries']['numpy']}.",
        "",
        "## Data",
        "",
        "| dataset | file | rows | SHA-256 |",
        "|---|---|---:|---|",
    ]
    for src in training["sources"]:
        lines.append(
            f"| {src['name']} | `{src['file']}` | {src['rows']:,} | `{src['sha256'][:16]}…` |"
        )
    dedup = training["deduplication"]
    sizes = training["split"]["sizes"]
    lines += [
        "",
        "Labels: Davidson et al. 2017 `class` 0 (hate speech) and 1 (offensive language) are "
        "*abusive*, 2 (neither) is *benign*; OLID `subtask_a` OFF is *abusive*, NOT is *benign*.",
        "",
        "Text normalisation (version "
        + manifest["normalizer_version"]
        + "): HTML entities decoded, "
        "links (`http…`, `www.…`, OLID's `URL`) become `xxurl`, mentions (`@name`, OLID's `@USER`) "
        "become `xxuser`, retweet markers `RT` are removed, repeated placeholders collapse, so no "
        "dataset's encoding becomes a shortcut for its base rate.",
        "",
        f"Deduplication on normalised text before splitting: {dedup['rows_in']:,} rows in, "
        f"{dedup['duplicate_rows_merged']:,} duplicates merged (majority label), "
        f"{dedup['tied_label_groups_dropped']:,} groups with tied labels dropped, "
        f"{dedup['items']:,} items.",
        "",
        f"Split: {training['split']['method']}, seed {training['seed']}.",
        "",
        "| part | items | abusive | davidson | olid |",
        "|---|---:|---:|---:|---:|",
    ]
    for part, row in sizes.items():
        lines.append(
            f"| {part} | {row['total']:,} | {row['abusive']:,} | {row.get('davidson', 0):,} | {row.get('olid', 0):,} |"
        )
    lines += [
        "",
        "## Features and model (compared on validation)",
        "",
        "Selection rule: highest mean of the per-dataset validation ROC-AUCs, so the smaller and "
        "harder OLID part weighs as much as Davidson.",
        "",
        "| candidate | features | val AUC | val AUC davidson | val AUC olid | chosen |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for row in training["compared"]:
        by = row["validation_auc_by_origin"]
        chosen = "**yes**" if row["name"] == training["selected"] else ""
        lines.append(
            f"| {row['description']} | {row['features']:,} | {_pct(row['validation_auc'])} | "
            f"{_pct(by.get('davidson', float('nan')))} | {_pct(by.get('olid', float('nan')))} | {chosen} |"
        )
    cal = training["calibration"]
    lines += [
        "",
        "TF-IDF uses sublinear term frequency and l2 normalisation; NB-LR scales each feature by "
        "its naive-Bayes log-count ratio before a logistic regression (liblinear), and the bundle "
        "stores the product of the two as one coefficient vector.",
        "",
        "## Calibration (out-of-fold on train+validation, 5 shuffled folds)",
        "",
        f"Brier score raw {cal['raw_brier']:.4f} vs Platt-scaled {cal['platt_brier_cv']:.4f}; "
        f"expected calibration error (15 bins) raw {cal['raw_ece']:.4f} vs Platt {cal['platt_ece_cv']:.4f}. "
        + (
            "Platt scaling was adopted."
            if cal["adopted"]
            else "Platt scaling did not help and was not adopted."
        ),
        "",
        "## Test metrics (held-out test part)",
        "",
        "| part | items | ROC-AUC | Brier | ECE | best-F1 threshold | F1@0.45 | P@0.45 | R@0.45 | F1@0.50 | P@0.50 | R@0.50 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for part, m in metrics.items():
        at = {round(t["threshold"], 6): t for t in m["thresholds"]}
        t45, t50 = at[0.45], at[0.5]
        lines.append(
            f"| {part} | {m['n']:,} | {_pct(m['auc'])} | {_pct(m['brier'])} | {_pct(m['ece'])} | "
            f"{m['best_f1_threshold']:.3f} | {_pct(t45['f1'])} | {_pct(t45['precision'])} | "
            f"{_pct(t45['recall'])} | {_pct(t50['f1'])} | {_pct(t50['precision'])} | {_pct(t50['recall'])} |"
        )
    lines += [
        "",
        "## Confusion matrices on the test part",
        "",
        "Layout: rows are the actual class, columns the predicted class, abusive first "
        "(`[[caught, missed], [false alarms, correctly passed]]`). An item is flagged when its "
        "score is at or above the threshold.",
        "",
        "### Threshold 0.50",
        "",
        _matrix(at50),
        "",
        "### Threshold 0.45 (default)",
        "",
        _matrix(at45),
        "",
        f"### Threshold {best.threshold:.4f} (best F1 on the test part)",
        "",
        _matrix(best),
        "",
        f"At 0.45 instead of 0.50 the model catches {delta.extra_caught:,} more abusive items and "
        f"raises {delta.extra_false_alarms:,} more false alarms "
        f"(review queue {delta.queue_change:+,}, {delta.queue_change_per_1000:+.1f} per 1,000 items).",
        "",
        "## Recommended thresholds (chosen out-of-fold on train+validation, never on test)",
        "",
        "| name | threshold | rule |",
        "|---|---:|---|",
    ]
    for rec in manifest["recommended_thresholds"]:
        lines.append(f"| {rec['name']} | {rec['threshold']:.4f} | {rec['rule']} |")
    lines += [
        "",
        "## Limits",
        "",
        "Trained on English tweets from 2017-2019. Davidson's labels mark offensive language "
        "(much of it slurs and profanity in African-American English), OLID's mark targeted "
        "offence; neither is a general definition of abuse. Expect lower quality on other "
        "platforms, languages and registers, and review identity-term false positives before use.",
        "",
    ]
    return "\n".join(lines)
