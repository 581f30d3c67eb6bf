"""The bundled versions: 1.0.0 stays the default, 2.0.0 ships beside it (faster, identity-capped).

Every figure 2.0.0's manifest claims that can be recomputed without the training data is
recomputed here from the bundle itself: its test metrics from its evaluation arrays, and its
identity-term figures by scoring the evaluation sentences (which live in the code) again.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from app.core.analysis.thresholds import ThresholdAnalysis
from app.core.bundles.signing import SIGNATURE_NAME, TrustStore, check_signature
from app.core.context.settings import Settings
from app.core.engine.normalize import normalize_text
from app.core.engine.scoring import DEFAULT_MODEL, Scorer, default_bundle_path
from app.core.models.registry import ModelRegistry
from app.core.training.identity_terms import evaluation_set
from app.core.training.report import identity_bias

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO / "models"
V2 = MODELS / "abuse-lr-2.0.0"


@pytest.fixture(scope="module")
def v2() -> Scorer:
    return Scorer.load(V2)


def test_the_default_is_the_product_choice_not_the_newest_version():
    assert DEFAULT_MODEL == "abuse-lr-1.0.0"
    assert default_bundle_path(MODELS).name == DEFAULT_MODEL  # although 2.0.0 is newer
    registry = ModelRegistry(MODELS, Path("/nonexistent-user-models"), TrustStore.load([]))
    assert registry.default_bundled().name == DEFAULT_MODEL


def test_without_the_default_folder_the_newest_bundled_version_is_used(tmp_path):
    for name in ("abuse-lr-0.9.0", "abuse-lr-2.0.0"):
        shutil.copytree(V2, tmp_path / name)
    assert default_bundle_path(tmp_path).name == "abuse-lr-2.0.0"


def test_a_fresh_install_starts_on_the_default(tmp_path):
    trust = TrustStore.load([REPO / "resources" / "trusted_keys"])
    registry = ModelRegistry(MODELS, tmp_path / "user-models", trust)
    active, challenger, problems = registry.load_startup(Settings())
    assert active.bundle.path.name == DEFAULT_MODEL and challenger is None and problems == []


def test_v2_is_signed_by_the_training_key_and_scores_on_the_fast_path(v2):
    trust = TrustStore.load([REPO / "resources" / "trusted_keys"])
    manifest, signature = (V2 / "manifest.json").read_bytes(), (V2 / SIGNATURE_NAME).read_bytes()
    status = check_signature(V2, manifest, signature, trust, allow_unsigned=False)
    assert status.signed and status.key_name == "abuse-desk-training-2026"
    assert v2.model.fast is not None  # count-idf-sqrt blocks: no feature vectors built
    assert v2.version_label == "abuse-lr 2.0.0"


def test_v2_fast_scores_equal_the_reference_implementation(v2):
    texts = [t for t, _ in zip(*evaluation_set()[:2], strict=True)]
    texts += ["you are an idiot", "RT @bob: lovely day http://t.co/x", "", "ﬁne ǅ ß ΣΑΣ 🙂"]
    model = v2.model
    normalized = [normalize_text(t) for t in texts]
    features = sp.hstack([b.vectorizer.transform(normalized) for b in model.blocks]).tocsr()
    reference = features @ model.coef + model.intercept
    np.testing.assert_allclose(model.raw_logits(texts), reference, rtol=0, atol=1e-9)


def test_v2_identity_term_figures_are_reproduced_from_the_bundle(v2):
    claimed = v2.bundle.manifest["metrics"]["identity_terms"]
    arrays = v2.bundle.arrays
    scores, labels = arrays["eval_scores.npy"], arrays["eval_labels.npy"]
    overall_fpr = float(np.mean(scores[labels == 0] >= 0.45))
    assert overall_fpr == pytest.approx(claimed["overall_fpr"], abs=1e-12)
    texts, sentence_labels, groups = evaluation_set()
    measured = identity_bias(v2.score_many(texts)[0], sentence_labels, groups, overall_fpr)
    for key in ("benign_items", "abusive_items", "benign_fpr", "abusive_tpr", "ratio"):
        assert measured[key] == pytest.approx(claimed[key], abs=1e-12), key
    assert measured["ratio"] <= 1.5  # the bias target, met by 2.0.0


def test_v2_test_metrics_are_reproduced_from_its_evaluation_arrays(v2):
    test = v2.bundle.manifest["metrics"]["test"]
    arrays = v2.bundle.arrays
    for origin in ("davidson", "olid"):
        mask = arrays["eval_origin.npy"] == origin
        analysis = ThresholdAnalysis(
            arrays["eval_scores.npy"][mask], arrays["eval_labels.npy"][mask]
        )
        assert analysis.roc_auc() == pytest.approx(test[origin]["auc"], abs=1e-12)


def test_v2_scores_without_importing_scikit_learn_until_an_explanation_needs_it():
    """Worker processes and the CLI score 2.0.0 from the bundle's settings alone; scikit-learn
    (~90 MB, ~0.6 s per process) is imported only when a feature vector is really needed."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from app.core.engine.scoring import Scorer\n"
        f"scorer = Scorer.load({str(V2)!r})\n"
        "scores = scorer.score_many(['you are an idiot', 'have a lovely day'])[0]\n"
        "assert scores[0] > 0.5 > scores[1], scores\n"
        "assert not any(m.startswith(('sklearn', 'scipy.sparse')) for m in sys.modules)\n"
        "terms = [c.term for c in scorer.explain('you are an idiot').terms]\n"
        "assert 'idiot' in terms and 'sklearn' in sys.modules, terms\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
