"""The bundled versions: 2.0.0 is the default fast model by the written rule, 1.0.0 ships beside it.

Every figure 2.0.0's manifest claims that can be recomputed without the training data is
recomputed here from the bundle itself: its test metrics from its evaluation arrays, and its
identity-term figures by scoring the evaluation sentences (which live in the code) again.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from app.core.analysis.thresholds import ThresholdAnalysis
from app.core.bundles.signing import SIGNATURE_NAME, TrustStore, check_signature
from app.core.common.errors import ModelError
from app.core.context.settings import Settings, load_settings
from app.core.engine.default_model import rule_outcomes
from app.core.engine.normalize import normalize_text
from app.core.engine.scoring import Scorer, default_bundle_path
from app.core.models.registry import ModelRegistry
from app.core.training.identity_terms import evaluation_set
from app.core.training.report import identity_bias

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO / "models"
V2 = MODELS / "abuse-lr-2.0.0"


@pytest.fixture(scope="module")
def v2() -> Scorer:
    return Scorer.load(V2)


def test_the_default_fast_model_follows_the_rule_on_validation_figures():
    # 1.0.0 has the higher validation selection score (0.9042 > 0.9027) but records no
    # identity-term tuning ratio and is not count-idf-sqrt; 2.0.0's selected candidate has
    # ratio 0.10 <= 1.5 on the tuning templates.
    outcomes = {o.folder.name: o for o in rule_outcomes(MODELS)}
    v1, v2 = outcomes["abuse-lr-1.0.0"], outcomes["abuse-lr-2.0.0"]
    assert not v1.qualifies and v1.identity_ratio is None
    assert v1.selection_score == pytest.approx(0.9042068788338352, abs=1e-15)
    assert v2.qualifies and v2.identity_ratio == pytest.approx(0.10035842293906812, abs=1e-15)
    assert v2.selection_score == pytest.approx(0.9027477097974088, abs=1e-15)
    assert default_bundle_path(MODELS).name == "abuse-lr-2.0.0"
    registry = ModelRegistry(MODELS, Path("/nonexistent-user-models"), TrustStore.load([]))
    assert registry.default_bundled().name == "abuse-lr-2.0.0"
    assert [e.ref for e in registry.entries() if e.default_fast] == ["abuse-lr-2.0.0"]


def _with_training(src: Path, dst: Path, version: str, edit) -> None:
    """A copy of ``src`` whose manifest's selected candidate is edited (unsigned, hashes kept)."""
    shutil.copytree(src, dst)
    (dst / SIGNATURE_NAME).unlink()
    manifest = json.loads((dst / "manifest.json").read_text())
    manifest["version"] = version
    training = manifest["training"]
    edit(next(r for r in training["compared"] if r["name"] == training["selected"]))
    (dst / "manifest.json").write_text(json.dumps(manifest))


def test_equal_validation_scores_go_to_the_newest_version(tmp_path):
    for name in ("abuse-lr-0.9.0", "abuse-lr-2.0.0", "abuse-lr-10.0.0"):
        shutil.copytree(V2, tmp_path / name)
    assert default_bundle_path(tmp_path).name == "abuse-lr-10.0.0"  # numeric, not text order


def test_the_highest_validation_score_wins_and_the_identity_limit_is_inclusive(tmp_path):
    def better(row):
        row["selection_score"], row["identity_tuning"]["ratio"] = 0.95, 1.5

    def unfair(row):
        row["selection_score"], row["identity_tuning"]["ratio"] = 0.99, 1.5000001

    _with_training(V2, tmp_path / "abuse-lr-2.0.0", "2.0.0", lambda row: None)
    _with_training(V2, tmp_path / "abuse-lr-1.5.0", "1.5.0", better)
    _with_training(V2, tmp_path / "abuse-lr-3.0.0", "3.0.0", unfair)
    assert default_bundle_path(tmp_path).name == "abuse-lr-1.5.0"
    reasons = {o.folder.name: o.reason for o in rule_outcomes(tmp_path)}
    assert reasons["abuse-lr-3.0.0"] == "identity-term tuning ratio 1.50 > 1.5"


def test_test_figures_never_move_the_choice(tmp_path):
    def great_on_test(row):
        row["selection_score"] = 0.5  # lower on validation ...

    _with_training(V2, tmp_path / "abuse-lr-2.0.0", "2.0.0", lambda row: None)
    _with_training(V2, tmp_path / "abuse-lr-3.0.0", "3.0.0", great_on_test)
    manifest = json.loads((tmp_path / "abuse-lr-3.0.0" / "manifest.json").read_text())
    manifest["metrics"]["test"]["all"]["auc"] = 0.999  # ... however good its test figures
    (tmp_path / "abuse-lr-3.0.0" / "manifest.json").write_text(json.dumps(manifest))
    assert default_bundle_path(tmp_path).name == "abuse-lr-2.0.0"


@pytest.mark.parametrize(
    "damage",
    [
        lambda row: row.pop("identity_tuning"),
        lambda row: row["identity_tuning"].update(ratio="0.1"),
        lambda row: row["identity_tuning"].update(ratio=True),
        lambda row: row.update(selection_score=None),
        lambda row: row.update(name="not-the-selected-one"),
    ],
)
def test_a_bundle_without_usable_figures_does_not_qualify(tmp_path, damage):
    _with_training(V2, tmp_path / "abuse-lr-2.0.0", "2.0.0", lambda row: None)
    _with_training(V2, tmp_path / "abuse-lr-3.0.0", "3.0.0", damage)
    assert default_bundle_path(tmp_path).name == "abuse-lr-2.0.0"
    assert not {o.folder.name: o for o in rule_outcomes(tmp_path)}["abuse-lr-3.0.0"].qualifies


def test_a_tfidf_bundle_never_qualifies_even_with_figures(tmp_path):
    # 1.0.0's TF-IDF features (not count-idf-sqrt), given figures that would otherwise win
    def fair(row):
        row["selection_score"], row["identity_tuning"] = 0.99, {"ratio": 0.0}

    _with_training(MODELS / "abuse-lr-1.0.0", tmp_path / "abuse-lr-1.0.0", "1.0.0", fair)
    _with_training(V2, tmp_path / "abuse-lr-2.0.0", "2.0.0", lambda row: None)
    assert default_bundle_path(tmp_path).name == "abuse-lr-2.0.0"
    outcome = {o.folder.name: o for o in rule_outcomes(tmp_path)}["abuse-lr-1.0.0"]
    assert not outcome.qualifies and outcome.reason == "not count-idf-sqrt features"


def test_when_no_bundle_qualifies_the_newest_version_is_used(tmp_path):
    for name in ("abuse-lr-0.9.0", "abuse-lr-1.0.0"):
        shutil.copytree(MODELS / "abuse-lr-1.0.0", tmp_path / name)
    assert default_bundle_path(tmp_path).name == "abuse-lr-1.0.0"
    with pytest.raises(ModelError, match="no model bundle found"):
        default_bundle_path(tmp_path / "empty")


def test_a_fresh_install_starts_on_the_default(tmp_path):
    trust = TrustStore.load([REPO / "resources" / "trusted_keys"])
    registry = ModelRegistry(MODELS, tmp_path / "user-models", trust)
    active, challenger, problems = registry.load_startup(Settings())
    assert active.bundle.path.name == "abuse-lr-2.0.0" and challenger is None and problems == []


def test_existing_settings_naming_1_0_0_keep_it(tmp_path):
    # A settings file written by an earlier install that names 1.0.0: loading it keeps 1.0.0.
    path = tmp_path / "settings.json"
    saved = dict(Settings().to_json(), active_model="abuse-lr-1.0.0")
    path.write_text(json.dumps(saved))
    settings = load_settings(path)
    assert settings.active_model == "abuse-lr-1.0.0" and settings.problems == []
    trust = TrustStore.load([REPO / "resources" / "trusted_keys"])
    registry = ModelRegistry(MODELS, tmp_path / "user-models", trust)
    active, _challenger, problems = registry.load_startup(settings)
    assert active.bundle.path.name == "abuse-lr-1.0.0" and problems == []


def test_settings_from_before_the_rule_that_chose_no_model_keep_1_0_0(tmp_path):
    """An install upgraded from the 1.0.0-default era never silently changes model: its settings
    (no default_model_rule, no active_model) ran on 1.0.0, with a threshold chosen there."""
    path = tmp_path / "settings.json"
    old = {k: v for k, v in Settings().to_json().items() if k != "default_model_rule"}
    path.write_text(json.dumps(dict(old, threshold=0.6)))
    settings = load_settings(path)
    assert settings.active_model == "abuse-lr-1.0.0" and settings.default_model_rule == 2
    trust = TrustStore.load([REPO / "resources" / "trusted_keys"])
    registry = ModelRegistry(MODELS, tmp_path / "user-models", trust)
    active, _challenger, problems = registry.load_startup(settings)
    assert active.bundle.path.name == "abuse-lr-1.0.0" and problems == []
    # saved by this version (rule 2, no model chosen): the rule's default, not 1.0.0
    path.write_text(json.dumps(Settings().to_json()))
    assert load_settings(path).active_model == ""
    assert "default_model_rule" in Settings().to_json()


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


_NO_SCIKIT_LEARN = """
import sys
from pathlib import Path
from app.cli.main import main
from app.core.engine.scoring import Scorer
folder = Path(sys.argv[1])
csv = folder / "in.csv"
csv.write_text("text\\nyou are an idiot\\nhave a lovely day\\nhttp://x.y @bob ça va\\n", "utf-8")
for name in ("abuse-lr-1.0.0", "abuse-lr-2.0.0"):
    scorer = Scorer.load(Path("models") / name)
    scorer.model.build_vectorizers()  # what the GUI's loading worker calls: nothing to build
    scores = scorer.score_many(["you are an idiot", "have a lovely day"])[0]
    assert scores[0] > 0.5 > scores[1], scores
    terms = [c.term for c in scorer.explain("you are an idiot").terms]
    assert "idiot" in terms, terms
    model = ["--model", f"models/{name}"]
    assert main([*model, "score-text", "--explain", "you are an idiot", "hello"]) == 0
    out = folder / (name + ".csv")
    assert main([*model, "score", str(csv), "-o", str(out), "--workers", "1", "--quiet"]) == 0
    assert main([*model, "self-test"]) == 0
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("sklearn", "scipy"))
assert not loaded, loaded
"""


def test_both_bundled_models_score_explain_and_batch_without_scikit_learn_or_scipy(tmp_path):
    """Scoring, explaining (the Score panel's and score-text's), a CSV batch and the self-test
    of both bundled models run on the fast path alone: neither scikit-learn nor SciPy is
    imported (the frozen bundle leaves them out)."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, ABUSE_DESK_HOME=str(tmp_path / "home"), QT_QPA_PLATFORM="offscreen")
    done = subprocess.run(
        [sys.executable, "-c", _NO_SCIKIT_LEARN, str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
