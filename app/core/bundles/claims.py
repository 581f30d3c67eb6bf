"""A bundle's claims about itself, checked against its own data: the test-part ROC-AUC its
manifest states must be what its evaluation arrays give.

The arrays drive decisions (a threshold migrated on activation, Compare, the audit): a bundle
whose arrays disagree with the figures shown beside it would move a threshold on numbers
nobody saw. A signature says who made the bundle, not that the two agree.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.core.bundles.bundle_json import BundleDataError

AUC_TOLERANCE = 1e-6  # float sums in another order; a different model differs by far more


def rank_auc(scores: np.ndarray, labels: np.ndarray) -> float | None:
    """ROC-AUC as the Mann-Whitney statistic (ties count one half); None with one class."""
    positives = int(np.count_nonzero(labels == 1))
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        return None
    values, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    first_rank = np.cumsum(counts) - counts + 1
    ranks = (first_rank + (counts - 1) / 2.0)[inverse]
    rank_sum = float(ranks[labels == 1].sum())
    return (rank_sum - positives * (positives + 1) / 2.0) / (positives * negatives)


def check_claimed_auc(manifest: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    """Each ``metrics.test.<part>.auc`` of the manifest ("all" or a dataset of
    ``eval_origin.npy``) equals the arrays' ROC-AUC; BundleDataError naming the part if not."""
    test = (manifest.get("metrics") or {}).get("test")
    if not isinstance(test, dict) or "eval_scores.npy" not in arrays:
        return
    scores, labels = arrays["eval_scores.npy"], arrays.get("eval_labels.npy")
    if labels is None:
        return
    origins = arrays.get("eval_origin.npy")
    for part, figures in test.items():
        claimed = figures.get("auc") if isinstance(figures, dict) else None
        if not isinstance(claimed, (int, float)) or isinstance(claimed, bool):
            continue
        if part == "all":
            mask = np.ones(len(labels), bool)
        elif origins is not None and part in set(origins.tolist()):
            mask = origins == part
        else:
            continue
        measured = rank_auc(scores[mask], labels[mask])
        if measured is None or abs(measured - float(claimed)) > AUC_TOLERANCE:
            shown = "undefined" if measured is None else f"{measured:.4f}"
            raise BundleDataError(
                f"manifest.json states test ROC-AUC {float(claimed):.4f} for {part!r}, but the "
                f"evaluation arrays give {shown}"
            )
