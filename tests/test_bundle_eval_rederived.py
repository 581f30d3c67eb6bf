"""Each bundled model's evaluation arrays are what the model gives: re-derived from the public
data (the split of its manifest's seed), they must match the arrays the bundle ships — item ids,
labels, origins and scores. Needs ../shared/data (CI has it beside the clone); skipped where
the data is absent, since the tests themselves never need it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.core.bundles.bundle import find_bundles, load_verified
from app.core.engine.normalize import item_ids
from app.core.engine.scoring import Scorer

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
BUNDLES = find_bundles(REPO / "models")


@pytest.mark.parametrize("folder", BUNDLES, ids=[b.name for b in BUNDLES])
def test_evaluation_arrays_are_the_models_scores_of_the_test_part(folder: Path) -> None:
    if not DATA.is_dir():
        pytest.skip(f"the public data is not at {DATA}")
    from app.core.training.data import load_corpus, split_corpus

    bundle = load_verified(folder)
    split = split_corpus(load_corpus(DATA), int(bundle.manifest["training"]["seed"]))
    test = split.test
    assert np.array_equal(bundle.arrays["eval_ids.npy"], item_ids(test.texts))
    assert np.array_equal(bundle.arrays["eval_labels.npy"], test.labels)
    assert bundle.arrays["eval_origin.npy"].tolist() == test.origins.tolist()
    scores = Scorer(bundle).model.predict_proba(test.texts)
    tolerance = 1e-6 if bundle.engine == "encoder" else 1e-9
    assert np.max(np.abs(scores - bundle.arrays["eval_scores.npy"])) <= tolerance
