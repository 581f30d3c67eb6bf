"""Ranking quality of every bundled model and of the peer, on the same held-out test part.

The bundled models' figures come from their own evaluation arrays (test-part scores, which
tests/test_bundle_eval_rederived.py checks are what the models give); the peer
(alt-profanity-check) scores the same test texts, re-derived from the public data with the
bundles' split (so this part needs ../shared/data and the peer). Per dataset: ROC-AUC, and for
our models the identity-term ratio and ECE from their manifests. Caveat printed with the
figures: the peer was trained on Davidson's tweets (and Wikipedia comments), so its Davidson
figure is not on unseen text; its OLID figure is.

Figures go to bench/results.json under "quality". Usage: python bench/bench_quality.py [--no-peer]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.core.analysis.thresholds import ThresholdAnalysis  # noqa: E402
from app.core.bundles.bundle import find_bundles, load_verified  # noqa: E402
from bench import peer  # noqa: E402
from bench.results import quick_mode, record  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"


def _auc(scores: np.ndarray, labels: np.ndarray, origins: np.ndarray) -> dict[str, float]:
    return {
        str(o): ThresholdAnalysis(scores[origins == o], labels[origins == o]).roc_auc()
        for o in sorted(set(origins.tolist()))
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-peer", action="store_true")
    parser.add_argument("--quick", action="store_true", help="same work (it is quick anyway)")
    args = parser.parse_args()
    if args.quick:
        quick_mode()
    figures: dict[str, float] = {}
    seed = None
    for folder in find_bundles(REPO / "models"):
        bundle = load_verified(folder)
        key = f"{bundle.name}_{bundle.version}".replace("-", "_").replace(".", "_")
        labels, origins = bundle.arrays["eval_labels.npy"], bundle.arrays["eval_origin.npy"]
        for origin, auc in _auc(bundle.arrays["eval_scores.npy"], labels, origins).items():
            figures[f"{key}_test_auc_{origin}"] = auc
        metrics = bundle.manifest["metrics"]
        ratio = metrics.get("identity_terms", {}).get("ratio")
        if ratio is not None:
            figures[f"{key}_identity_ratio"] = ratio
        for origin, part in metrics["test"].items():
            if origin != "all" and part.get("ece") is not None:
                figures[f"{key}_test_ece_{origin}"] = part["ece"]
        seed = bundle.manifest["training"]["seed"]
    status = "skipped"
    if not args.no_peer and DATA.is_dir() and seed is not None and peer.available():
        from app.core.training.data import load_corpus, split_corpus

        test = split_corpus(load_corpus(DATA), int(seed)).test
        scores = np.asarray(peer.peer_predict_prob(test.texts), np.float64)
        for origin, auc in _auc(scores, test.labels, test.origins).items():
            figures[f"peer_test_auc_{origin}"] = auc
        status = peer.peer_status()
    for key, value in figures.items():
        print(f"{key}: {value:.4f}")
    record(
        "quality",
        figures,
        {
            "part": "the bundles' held-out test part (same items for every model)",
            "peer": status,
            "caveat": "the peer was trained on Davidson's tweets: its davidson AUC is not on unseen text",
        },
    )


if __name__ == "__main__":
    main()
