"""Leave-one-dataset-out: how a configuration does on a dataset it never saw.

The held-out test part comes from the same two datasets as the training data, so it rewards
learning each dataset's quirks (its annotators' idea of "offensive", its topics, its years). As a
proxy for data nobody has seen, a configuration is trained on ONE dataset and scored on the
OTHER:

* training items: the train and validation parts of the source dataset (its test part stays
  unseen, so the same model's in-domain test AUC is reported beside the transfer figures);
  identity-mitigation sentences are added as the recipe says, since they belong to neither
  dataset; experts trained on the left-out dataset have no data and are dropped;
* scored: the target dataset's test part (the same items as the bundle's test figures) and all
  of its items (no target item was used for training, so all are fair).

Only ROC-AUC is reported: these models are not calibrated (calibration would need target data).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from app.core.analysis.thresholds import ThresholdAnalysis
from app.core.training.data import Corpus, Split
from app.core.training.fit import Candidate, fit_candidate

METHOD = (
    "trained on the train+validation parts of one dataset (with the recipe's identity-mitigation "
    "sentences, if any), scored on the other dataset's test part and on all of its items"
)


def _only(corpus: Corpus, origin: str) -> Corpus:
    return corpus.subset(np.flatnonzero(corpus.origins == origin))


def _auc(scores: np.ndarray, labels: np.ndarray) -> float:
    return ThresholdAnalysis(scores, labels).roc_auc()


def leave_one_dataset_out(
    candidate: Candidate,
    split: Split,
    seed: int,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Transfer ROC-AUC in both directions (each dataset of origin left out in turn)."""
    say = progress or (lambda _msg: None)
    development = split.train.concat(split.validation)
    everything = development.concat(split.test)
    origins = sorted(set(everything.origins.tolist()))
    directions = []
    for source in origins:
        train = _only(development, source)
        model = fit_candidate(candidate, train, seed)
        home = _only(split.test, source)
        home_auc = _auc(model.logits(home.texts), home.labels)
        for target in origins:
            if target == source:
                continue
            test_part, whole = _only(split.test, target), _only(everything, target)
            row = {
                "train": source,
                "test": target,
                "train_items": len(train.texts),
                "test_part_items": len(test_part.texts),
                "test_part_auc": _auc(model.logits(test_part.texts), test_part.labels),
                "all_items": len(whole.texts),
                "all_items_auc": _auc(model.logits(whole.texts), whole.labels),
                "in_domain_test_auc": home_auc,
            }
            directions.append(row)
            say(
                f"  LODO {candidate.name}: {source} -> {target} AUC test part "
                f"{row['test_part_auc']:.4f}, all items {row['all_items_auc']:.4f}"
            )
    return {
        "candidate": candidate.name,
        "description": candidate.describe(),
        "method": METHOD,
        "directions": directions,
        "mean_test_part_auc": float(np.mean([d["test_part_auc"] for d in directions])),
    }
