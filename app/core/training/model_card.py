"""The model card: a Markdown account of a bundle, computed from its manifest and test scores.

Every number in it comes from data; the sentence comparing 0.45 with 0.50 is computed with the
same threshold arithmetic the app uses, never typed by hand.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.core.analysis.thresholds import ThresholdAnalysis, ThresholdMetrics


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


def _opt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.4f}"


def _compared(training: dict[str, Any]) -> list[str]:
    rows = training["compared"]
    bias = all("identity_tuning" in row for row in rows)
    head = "| candidate | features | val AUC | val AUC davidson | val AUC olid | mean |"
    rule = "|---|---:|---:|---:|---:|---:|"
    if bias:
        head += " val FPR@0.45 | tuning identity FPR (ratio, groups over) | evaluation identity FPR (ratio) |"
        rule += "---:|---:|---:|"
    lines = [head + " chosen |", rule + "---|"]
    for row in rows:
        by = row["validation_auc_by_origin"]
        chosen = "**yes**" if row["name"] == training["selected"] else ""
        if not row.get("selectable", True):
            chosen = "reference"
        line = (
            f"| {row['name']}: {row['description']} | {row['features']:,} | "
            f"{_pct(row['validation_auc'])} | {_pct(by.get('davidson', float('nan')))} | "
            f"{_pct(by.get('olid', float('nan')))} | {_pct(row['selection_score'])} |"
        )
        if bias:
            tune, ev = row["identity_tuning"], row["identity_evaluation"]
            line += (
                f" {row['validation_fpr_at_0.45']:.4f} | {tune['benign_fpr']:.4f} "
                f"({_opt(tune['ratio'])}, {len(tune['groups_above_limit'])}) | "
                f"{ev['benign_fpr']:.4f} ({_opt(ev['ratio'])}) |"
            )
        lines.append(line + f" {chosen} |")
    if bias:
        lines += [
            "",
            "Bias columns: each candidate's validation logits are Platt-scaled on validation so "
            "that 0.45 means the same for all; *tuning* sentences take part in the choice, the "
            "*evaluation* sentences are shown for information only and are the ones reported "
            'below for the chosen model. "groups over": identity groups whose benign FPR '
            "exceeds 1.5x the validation FPR.",
        ]
    return lines


def _features_note(training: dict[str, Any]) -> str:
    additive = "count-idf-sqrt" in training.get("selected_description", "")
    if additive:
        return (
            "count-idf-sqrt blocks: `x_f = count_f * idf_f / sqrt(sum count_g * idf_g^2)` per "
            "block (additive, so the fast scorer applies); NB-LR scales each feature by its "
            "naive-Bayes log-count ratio before a logistic regression (liblinear), and the bundle "
            "stores the weighted mean of the experts' products as one coefficient vector."
        )
    return (
        "TF-IDF uses sublinear term frequency and l2 normalisation; NB-LR scales each feature by "
        "its naive-Bayes log-count ratio before a logistic regression (liblinear), and the bundle "
        "stores the product of the two as one coefficient vector."
    )


def _calibration(cal: dict[str, Any]) -> list[str]:
    lines = [
        f"Brier score raw {cal['raw_brier']:.4f} vs Platt-scaled {cal['platt_brier_cv']:.4f}; "
        f"expected calibration error (15 bins) raw {cal['raw_ece']:.4f} vs Platt {cal['platt_ece_cv']:.4f}. "
        + (
            "Platt scaling was adopted."
            if cal["adopted"]
            else "Platt scaling did not help and was not adopted."
        )
    ]
    if "by_origin" in cal:
        oof = cal.get("out_of_fold_auc_by_origin", {})
        lines += [
            "",
            "One calibration serves both datasets; how well it fits each (out-of-fold):",
            "",
            "| origin | out-of-fold ROC-AUC | ECE raw | ECE Platt |",
            "|---|---:|---:|---:|",
        ]
        for origin, row in cal["by_origin"].items():
            lines.append(
                f"| {origin} | {_opt(oof.get(origin))} | {row['raw_ece']:.4f} | {row['platt_ece_cv']:.4f} |"
            )
    return lines


def _targets(metrics: dict[str, Any]) -> list[str]:
    if "targets" not in metrics:
        return []
    lines = ["## Quality targets", "", "| target | measured | met |", "|---|---:|---|"]
    for check in metrics["targets"]:
        lines.append(
            f"| {check['target']} | {_opt(check['value'])} | {'yes' if check['met'] else '**no**'} |"
        )
    return lines + [""]


def _lodo(metrics: dict[str, Any]) -> list[str]:
    if "leave_one_dataset_out" not in metrics:
        return []
    lodo = metrics["leave_one_dataset_out"]
    runs = [lodo["selected"], *lodo["references"]]
    lines = [
        "## Generalization: leave one dataset out",
        "",
        f"Method: {lodo['selected']['method']}. A proxy for data from elsewhere: each model has "
        "never seen the dataset it is scored on. Uncalibrated, so ROC-AUC only.",
        "",
        "| configuration | trained on (items) | scored on | AUC test part (items) | AUC all items (items) | in-domain test AUC |",
        "|---|---|---|---:|---:|---:|",
    ]
    for run in runs:
        label = run["candidate"] + (" (this bundle)" if run is lodo["selected"] else "")
        for d in run["directions"]:
            lines.append(
                f"| {label} | {d['train']} ({d['train_items']:,}) | {d['test']} | "
                f"{d['test_part_auc']:.4f} ({d['test_part_items']:,}) | "
                f"{d['all_items_auc']:.4f} ({d['all_items']:,}) | {d['in_domain_test_auc']:.4f} |"
            )
    return lines + [""]


def _identity(metrics: dict[str, Any]) -> list[str]:
    if "identity_terms" not in metrics:
        return []
    bias = metrics["identity_terms"]
    tuning = bias.get("tuning")
    lines = [
        "## Identity terms",
        "",
        f"{bias['benign_items']:,} benign and {bias['abusive_items']:,} abusive template sentences "
        "that name identity groups (`app/core/training/identity_terms.py`, evaluation templates: never "
        "trained on, not used to choose). At threshold "
        f"{bias['threshold']:.2f} the benign ones are flagged at a rate of "
        f"**{bias['benign_fpr']:.4f}** against **{bias['overall_fpr']:.4f}** on the benign test "
        f"items: ratio **{_opt(bias['ratio'])}** (target at most 1.5). The abusive ones are "
        f"caught at a rate of {bias['abusive_tpr']:.4f}.",
        "",
    ]
    if tuning:
        lines += [
            f"Tuning templates (used in the choice): benign FPR {tuning['benign_fpr']:.4f}, ratio "
            f"{_opt(tuning['ratio'])}, abusive TPR {tuning['abusive_tpr']:.4f}.",
            "",
        ]
    if bias.get("capped_features"):
        lines += [
            f"Mitigation: {bias['capped_features']:,} identity-term coefficients capped at 0 "
            "(such a term can lower a score, never raise it). The capped terms are the groups' "
            "own words, so the figures here measure new sentence frames, not groups missing "
            "from the list, which keep whatever the data taught.",
            "",
        ]
    over = bias["groups_above_limit"]
    lines += [
        "Groups whose benign FPR exceeds 1.5x the overall rate: "
        + (", ".join(over) if over else "none")
        + ".",
        "",
        "| group | benign FPR | abusive TPR |",
        "|---|---:|---:|",
    ]
    for group, row in bias["per_group"].items():
        lines.append(f"| {group} | {row['benign_fpr']:.2f} | {row['abusive_tpr']:.2f} |")
    return lines + [""]


def render_model_card(
    manifest: dict[str, Any], test_scores: np.ndarray, test_labels: np.ndarray
) -> str:
    """The card, section by section, from the manifest and the scores of the test part."""
    training = manifest["training"]
    metrics_all = manifest["metrics"]
    lines = [
        *_data_section(manifest),
        *_model_section(training),
        *_test_metrics(metrics_all["test"]),
        *_confusion_section(ThresholdAnalysis(test_scores, test_labels)),
        *_targets(metrics_all),
        *_lodo(metrics_all),
        *_identity(metrics_all),
        *_recommended(manifest["recommended_thresholds"]),
        *_LIMITS,
    ]
    return "\n".join(lines)


def _data_section(manifest: dict[str, Any]) -> list[str]:
    """Title, libraries, the data files, labels, normalisation, deduplication and the split."""
    training = manifest["training"]
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
    return lines


def _model_section(training: dict[str, Any]) -> list[str]:
    """How the candidates compared, what the features are, and the calibration."""
    return [
        "",
        "## Features and model (compared on validation)",
        "",
        "Selection rule: "
        + training.get(
            "selection_rule",
            "highest mean of the per-dataset validation ROC-AUCs, so the smaller and harder "
            "OLID part weighs as much as Davidson.",
        ),
        "",
        *_compared(training),
        "",
        _features_note(training),
        "",
        "## Calibration (out-of-fold on train+validation, 5 shuffled folds)",
        "",
        *_calibration(training["calibration"]),
        "",
    ]


def _test_metrics(metrics: dict[str, Any]) -> list[str]:
    """One row per part of the test set (all, and each dataset) at 0.45 and 0.50."""
    lines = [
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
    return lines


def _confusion_section(analysis: ThresholdAnalysis) -> list[str]:
    """The matrices at 0.50, 0.45 and the best-F1 threshold, and what moving to 0.45 changes,
    computed with the app's own threshold arithmetic."""
    best = analysis.best_f1()
    delta = analysis.compare(0.45, 0.5)
    return [
        "",
        "## Confusion matrices on the test part",
        "",
        "Layout: rows are the actual class, columns the predicted class, abusive first "
        "(`[[caught, missed], [false alarms, correctly passed]]`). An item is flagged when its "
        "score is at or above the threshold.",
        "",
        "### Threshold 0.50",
        "",
        _matrix(analysis.at(0.5)),
        "",
        "### Threshold 0.45 (default)",
        "",
        _matrix(analysis.at(0.45)),
        "",
        f"### Threshold {best.threshold:.4f} (best F1 on the test part)",
        "",
        _matrix(best),
        "",
        f"At 0.45 instead of 0.50 the model catches {delta.extra_caught:,} more abusive items and "
        f"raises {delta.extra_false_alarms:,} more false alarms "
        f"(review queue {delta.queue_change:+,}, {delta.queue_change_per_1000:+.1f} per 1,000 items).",
        "",
    ]


def _recommended(recommended: list[dict[str, Any]]) -> list[str]:
    lines = [
        "## Recommended thresholds (chosen out-of-fold on train+validation, never on test)",
        "",
        "| name | threshold | rule |",
        "|---|---:|---|",
    ]
    for rec in recommended:
        lines.append(f"| {rec['name']} | {rec['threshold']:.4f} | {rec['rule']} |")
    return lines


_LIMITS = [
    "",
    "## Limits",
    "",
    "Trained on English tweets from 2017-2019. Davidson's labels mark offensive language "
    "(much of it slurs and profanity in African-American English), OLID's mark targeted "
    "offence; neither is a general definition of abuse. Expect lower quality on other "
    "platforms, languages and registers, and review identity-term false positives before use.",
    "",
]
