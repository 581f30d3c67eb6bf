"""A bundle's stated test ROC-AUC must be what its evaluation arrays give
(`app.core.bundles.claims`): arrays that disagree with the figures shown beside them would move
a threshold (on activation, in Compare) on numbers nobody saw."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from app.core.analysis.thresholds import ThresholdAnalysis
from app.core.bundles.bundle import load_verified
from app.core.bundles.claims import rank_auc
from app.core.common.errors import ModelError
from app.core.engine.scoring import Scorer
from tests.adversarial.bundle_kit import npy_bytes, put
from tests.conftest import REPO


@pytest.mark.parametrize("seed", range(5))
def test_rank_auc_is_the_roc_auc_with_ties(seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, 500)
    scores = np.round(rng.random(500) * 0.5 + labels * 0.3, 2)  # many ties
    assert rank_auc(scores, labels) == pytest.approx(
        ThresholdAnalysis(scores, labels).roc_auc(), abs=1e-12
    )
    assert rank_auc(scores, np.zeros(500, int)) is None


def test_the_bundled_models_claims_hold():
    for folder in sorted((REPO / "models").iterdir()):
        load_verified(folder)  # would raise on a mismatch


def test_arrays_that_rank_better_than_the_manifest_says_are_refused(tmp_path: Path, signing_key):
    changed = tmp_path / "abuse-lr-2.0.0"
    shutil.copytree(REPO / "models" / "abuse-lr-2.0.0", changed)
    labels = load_verified(changed).arrays["eval_labels.npy"]
    perfect = np.where(labels == 1, 0.9, 0.1).astype("<f8")
    put(
        changed, "eval_scores.npy", npy_bytes(perfect), signing_key[0]
    )  # re-signed, as a signer could
    with pytest.raises(ModelError) as caught:
        Scorer.load(changed)
    message = str(caught.value)
    assert str(changed) in message and "\n" not in message
    assert "states test ROC-AUC" in message and "arrays give 1.0000" in message
