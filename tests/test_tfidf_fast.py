"""The scikit-learn-free path for sublinear TF-IDF bundles (1.0.0) gives scikit-learn's logits.

The reference is the bundle's own scikit-learn vectorisers: ``features(texts) @ coef``.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.engine.model import LinearTextModel
from app.core.engine.normalize import normalize_text
from app.core.engine.scoring import Scorer
from app.core.engine.tfidf_fast import SublinearTfidfScorer
from tests.test_fast_scoring import ODD, texts

REPO = Path(__file__).resolve().parents[1]


def reference(scorer: Scorer, batch: list[str]) -> np.ndarray:
    model = scorer.model
    return model.features([normalize_text(t) for t in batch]) @ model.coef + model.intercept


@pytest.fixture(scope="module")
def tiny(tiny_training) -> Scorer:
    """Trained here on synthetic data: word 1-2-grams, and word + char_wb 2-4 NB-LR."""
    return Scorer.load(tiny_training.bundle_path)


@pytest.mark.parametrize("batch", [ODD, ODD[:3], [ODD[5]], ["you you you idiot idiot"]])
def test_odd_batches_match_scikit_learn(v1_scorer, batch):
    assert isinstance(v1_scorer.model.fast, SublinearTfidfScorer)
    fast = v1_scorer.model.raw_logits(batch)
    assert fast.shape == (len(batch),)
    np.testing.assert_allclose(fast, reference(v1_scorer, batch), rtol=0, atol=1e-9)


def test_an_empty_batch_has_no_logits(v1_scorer):
    assert v1_scorer.model.raw_logits([]).shape == (0,)


@settings(max_examples=150, deadline=None)
@given(st.lists(texts, min_size=1, max_size=30))
def test_random_batches_match_scikit_learn(v1_scorer, batch):
    fast = v1_scorer.model.raw_logits(batch)
    np.testing.assert_allclose(fast, reference(v1_scorer, batch), rtol=0, atol=1e-9)


def test_repeated_terms_use_the_sublinear_count(v1_scorer):
    """1 + ln(count): a word said five times is not five times the evidence."""
    batch = ["idiot", "idiot idiot idiot idiot idiot", "idiot " * 40 + "lovely day"]
    np.testing.assert_allclose(
        v1_scorer.model.raw_logits(batch), reference(v1_scorer, batch), atol=1e-9
    )


def test_a_trained_tfidf_bundle_takes_the_fast_path_too(tiny):
    assert isinstance(tiny.model.fast, SublinearTfidfScorer)
    batch = ODD + [f"word{i} you idiot number{i} lovely day" for i in range(30)]
    np.testing.assert_allclose(tiny.model.raw_logits(batch), reference(tiny, batch), atol=1e-9)


@pytest.mark.parametrize(
    "change",
    [{"sublinear_tf": False}, {"norm": "l1"}, {"use_idf": False}, {"analyzer": "char"}],
)
def test_settings_it_does_not_reproduce_go_to_scikit_learn(v1_scorer, change):
    model = v1_scorer.model
    blocks = [replace(b, settings=dict(b.settings, **change)) for b in model.blocks]
    assert not SublinearTfidfScorer.supports(blocks)
    assert LinearTextModel(v1_scorer.bundle).fast is not None  # the real one still does


@pytest.mark.parametrize(
    ("load", "label"),
    [
        ("default_bundle_path()", "abuse-lr 2.0.0"),  # the default fast model
        ("REPO / 'models' / 'abuse-lr-1.0.0'", "abuse-lr 1.0.0"),  # this file's TF-IDF path
    ],
)
def test_the_bundled_models_score_without_importing_scikit_learn(load, label):
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from app.core.engine.scoring import Scorer, default_bundle_path\n"
        f"REPO = Path({str(REPO)!r})\n"
        f"scorer = Scorer.load({load})\n"
        f"assert scorer.version_label == {label!r}\n"
        "scores = scorer.score_many(['you are an idiot', 'have a lovely day'])[0]\n"
        "assert scores[0] > 0.5 > scores[1], scores\n"
        "assert not any(m.startswith(('sklearn', 'scipy.sparse')) for m in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
