"""The README's measured figures, rendered from bench/results.json and the bundled models.

Nothing in the block is typed by hand: ranking quality, identity-term ratios and calibration come
from each bundle (its evaluation arrays and manifest), the peer's quality and every speed,
memory and size figure from the last benchmark run recorded in bench/results.json (with its
date and load). ``python bench/figures.py`` rewrites the block between the markers in
README.md; tests/test_readme_figures.py fails when the README's block differs from what this
renders, so a changed model or a new benchmark run cannot leave stale figures behind.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.core.analysis.thresholds import ThresholdAnalysis  # noqa: E402
from app.core.bundles.bundle import find_bundles, load_verified  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
BEGIN = "<!-- figures: rendered by bench/figures.py from bench/results.json and models/ -->"
END = "<!-- /figures -->"
ORIGINS = ("davidson", "olid")


def _auc(bundle: Any, origin: str) -> float:
    arrays = bundle.arrays
    mask = arrays["eval_origin.npy"] == origin
    return ThresholdAnalysis(
        arrays["eval_scores.npy"][mask], arrays["eval_labels.npy"][mask]
    ).roc_auc()


def _ece(manifest: dict[str, Any], origin: str) -> float | None:
    metrics = manifest["metrics"]
    if "ece_by_origin" in metrics:
        return metrics["ece_by_origin"].get(origin)
    value = metrics["test"].get(origin, {}).get("ece")
    return None if value is None else float(value)


def _cell(value: float | None, digits: int = 4) -> str:
    return "—" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


def quality_table(models: Path, results: dict[str, Any]) -> list[str]:
    lines = [
        "| model | engine | test ROC-AUC davidson | test ROC-AUC olid | identity ratio "
        "| ECE davidson | ECE olid |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for folder in sorted(find_bundles(models), key=lambda f: f.name, reverse=True):
        bundle = load_verified(folder)
        manifest = bundle.manifest
        ratio = manifest["metrics"].get("identity_terms", {}).get("ratio")
        lines.append(
            f"| {bundle.name} {bundle.version} | {bundle.engine} | "
            + " | ".join(_cell(_auc(bundle, o)) for o in ORIGINS)
            + f" | {_cell(ratio, 2)} | "
            + " | ".join(_cell(_ece(manifest, o)) for o in ORIGINS)
            + " |"
        )
    peer = results.get("quality", {}).get("figures", {})
    if "peer_test_auc_olid" in peer:
        lines.append(
            "| peer: alt-profanity-check | linear | "
            + " | ".join(_cell(peer.get(f"peer_test_auc_{o}")) for o in ORIGINS)
            + " | — | — | — |"
        )
    return lines


# (key in results["engines"]["figures"], label, format)
ENGINE_ROWS = (
    ("fast_e2e_rows_per_s", "fast engine, `score` end to end, cold (rows/s)", "{:,.0f}"),
    ("peer_in_memory_texts_per_s", "peer, in-memory `predict_prob` (texts/s)", "{:,.0f}"),
    ("fast_e2e_over_peer_ratio", "fast end to end ÷ peer in memory", "{:.2f}"),
    ("cascade_e2e_rows_per_s", "cascade mode, `score` end to end (rows/s)", "{:,.0f}"),
    ("thorough_e2e_rows_per_s", "thorough mode, `score` end to end (rows/s)", "{:,.0f}"),
    ("thorough_tweets_texts_per_s", "thorough engine, unseen tweets in batch (texts/s)", "{:,.0f}"),
    ("fast_single_500_chars_p50_ms", "fast, one 500-character text, p50 (ms)", "{:.3f}"),
    ("fast_single_500_chars_p99_ms", "fast, one 500-character text, p99 (ms)", "{:.3f}"),
    ("thorough_single_500_chars_p50_ms", "thorough, one 500-character text, p50 (ms)", "{:.1f}"),
    ("thorough_single_500_chars_p99_ms", "thorough, one 500-character text, p99 (ms)", "{:.1f}"),
    # VmRSS after 1,000 mixed texts: the kernel's VmHWM lags it here, so the larger is shown
    ("thorough_process_rss_mb", "RSS of a process holding the thorough engine, after 1,000 "
     "texts (MB)", "{:.0f}"),
    ("frozen_bundle_mb", "frozen app bundle, both engines (MB)", "{:.0f}"),
)  # fmt: skip
STARTUP_ROWS = (
    ("bundle_window_s", "frozen app: launch to window (s)", "{:.2f}"),
    ("bundle_first_score_s", "frozen app: launch to first score (s)", "{:.2f}"),
)


def _measured(section: dict[str, Any]) -> str:
    load = section.get("load_average_1_5_15")
    load_text = f", load average {load[0]:.2f}" if load else ""
    return f"{section.get('measured_utc', '?')}{load_text}"


def speed_table(results: dict[str, Any]) -> list[str]:
    lines = ["| measure | figure | measured |", "|---|---:|---|"]
    for section_name, rows in (("engines", ENGINE_ROWS), ("startup", STARTUP_ROWS)):
        section = results.get(section_name)
        if not section:
            continue
        figures = section["figures"]
        for key, label, form in rows:
            if key in figures:
                lines.append(f"| {label} | {form.format(figures[key])} | {_measured(section)} |")
    context = results.get("engines", {}).get("context", {})
    if context:
        lines += ["", f"Texts: {context.get('texts', '?')}; runs: {context.get('runs', '?')} "
                  f"(medians); peer: {context.get('peer', '?')}."]  # fmt: skip
    return lines


def render(models: Path, results: dict[str, Any]) -> str:
    lines = [
        BEGIN,
        "",
        "Ranking quality on the held-out test part (the same items for every model), from each "
        "bundle's evaluation arrays; the peer's from the last `make bench` (it was trained on "
        "Davidson's tweets, so only its OLID figure is on unseen text):",
        "",
        *quality_table(models, results),
        "",
        "Speed, memory and size from the last `make bench` on this 2-core machine (first-run, "
        "cold figures):",
        "",
        *speed_table(results),
        "",
        END,
    ]
    return "\n".join(lines)


def readme_block(readme: str) -> str:
    start, stop = readme.index(BEGIN), readme.index(END) + len(END)
    return readme[start:stop]


def main() -> None:
    results = json.loads((REPO / "bench" / "results.json").read_text(encoding="utf-8"))
    readme_path = REPO / "README.md"
    readme = readme_path.read_text(encoding="utf-8")
    rendered = render(REPO / "models", results)
    readme_path.write_text(readme.replace(readme_block(readme), rendered), encoding="utf-8")
    print(rendered)


if __name__ == "__main__":
    main()
