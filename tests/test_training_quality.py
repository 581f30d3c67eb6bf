"""Training quality measurements: identity-term sets and bias arithmetic, leave-one-dataset-out,
calibration per origin, candidate selection, and the model card sections that report them."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from app.core.analysis.calibration import expected_calibration_error
from app.core.engine.scoring import Scorer
from app.core.training import identity_terms
from app.core.training.candidates import select
from app.core.training.data import load_corpus, split_corpus
from app.core.training.fit import AUGMENT_ORIGIN, capped_features, fit_candidate
from app.core.training.generalization import leave_one_dataset_out
from app.core.training.platt import compare_platt
from app.core.training.recipe import train_bundle
from app.core.training.report import identity_bias, target_checks
from tests.synthetic import tiny_additive_candidates, tiny_candidates

# --- identity sentences -------------------------------------------------------------------------


def test_identity_evaluation_set_sizes_and_labels():
    texts, labels, groups = identity_terms.evaluation_set()
    assert len(texts) == len(labels) == len(groups)
    assert labels.count(0) >= 200 and labels.count(1) >= 200
    assert len(set(texts)) == len(texts)  # no sentence twice
    assert set(groups) == {g.name for g in identity_terms.GROUPS}
    assert "I am a proud gay man" in texts
    assert "my Muslim neighbours invited us to dinner" in texts
    categories = {g.category for g in identity_terms.GROUPS}
    assert {"religion", "ethnicity", "sexual orientation", "gender identity", "disability"} <= (
        categories
    )


def test_identity_sets_are_deterministic():
    assert identity_terms.evaluation_set() == identity_terms.evaluation_set()
    assert identity_terms.tuning_set() == identity_terms.tuning_set()
    assert identity_terms.mitigation_set(3, 2) == identity_terms.mitigation_set(3, 2)


def test_evaluation_tuning_and_mitigation_sets_share_no_sentence():
    identity_terms.check_disjoint()
    evaluation = {t.lower() for t in identity_terms.evaluation_set()[0]}
    tuning = {t.lower() for t in identity_terms.tuning_set()[0]}
    mitigation = {t.lower() for t in identity_terms.mitigation_set()[0]}
    assert not evaluation & mitigation
    assert not evaluation & tuning
    assert not tuning & mitigation


def test_mitigation_subset_counts():
    n = len(identity_terms.GROUPS)
    texts, labels = identity_terms.mitigation_set(2, 1)
    assert len(texts) == 3 * n and labels.count(0) == 2 * n and labels.count(1) == n
    words = identity_terms.identity_words()
    assert {"gay", "muslim", "muslims", "women"} <= set(words)
    assert not set(words) & identity_terms.GENERIC_NOUNS


# --- bias arithmetic ----------------------------------------------------------------------------


def test_identity_bias_arithmetic():
    scores = [0.9, 0.1, 0.45, 0.2, 0.3, 0.8, 0.44, 0.6]
    labels = [0, 0, 0, 0, 1, 1, 1, 1]
    groups = ["a", "a", "b", "b", "a", "a", "b", "b"]
    bias = identity_bias(scores, labels, groups, overall_fpr=0.2, threshold=0.45)
    assert bias["benign_fpr"] == pytest.approx(2 / 4)  # 0.9 and 0.45 (at the threshold counts)
    assert bias["ratio"] == pytest.approx(0.5 / 0.2)
    assert bias["abusive_tpr"] == pytest.approx(2 / 4)
    assert bias["per_group"]["a"] == {"benign_fpr": 0.5, "abusive_tpr": 0.5}
    assert bias["per_group"]["b"] == {"benign_fpr": 0.5, "abusive_tpr": 0.5}
    assert bias["groups_above_limit"] == ["a", "b"]  # 0.5 > 1.5 * 0.2
    assert identity_bias(scores, labels, groups, overall_fpr=0.0)["ratio"] is None
    assert identity_bias(scores, labels, groups, 0.4)["groups_above_limit"] == []


def test_selection_prefers_less_biased_candidate_within_tolerance():
    def row(score, over, selectable=True):
        return {
            "selection_score": score,
            "identity_tuning": {"groups_above_limit": ["g"] * over},
            "selectable": selectable,
        }

    assert select([row(0.900, 3), row(0.899, 0), row(0.95, 0, False)]) == 1
    assert select([row(0.900, 3), row(0.890, 0)]) == 0  # outside the tolerance
    assert select([row(0.900, 1), row(0.901, 1)]) == 1


def test_target_checks():
    test = {"davidson": {"auc": 0.99}, "olid": {"auc": 0.80}}
    lodo = {"directions": [{"train": "davidson", "test": "olid", "test_part_auc": 0.7}]}
    ref = {"candidate": "v1", "directions": [dict(lodo["directions"][0], test_part_auc=0.72)]}
    checks = target_checks(test, {"ratio": 1.2}, lodo, [ref])
    assert [c["met"] for c in checks] == [True, False, True, False]


# --- calibration per origin ---------------------------------------------------------------------


def test_compare_platt_reports_ece_per_origin():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=400)
    labels = (rng.random(400) < 1 / (1 + np.exp(-2 * logits))).astype(int)
    origins = np.array(["a", "b"] * 200)
    result = compare_platt(logits, labels, seed=1, origins=origins)
    raw = 1 / (1 + np.exp(-logits))
    for origin in ("a", "b"):
        mask = origins == origin
        assert result["by_origin"][origin]["raw_ece"] == pytest.approx(
            expected_calibration_error(raw[mask], labels[mask])
        )
    assert result["platt_ece_cv"] < result["raw_ece"]  # the logits were too flat: Platt helps


# --- leave one dataset out ----------------------------------------------------------------------


def test_leave_one_dataset_out_structure_and_numbers(tiny_data_dir):
    corpus = load_corpus(tiny_data_dir)
    split = split_corpus(corpus, 3)
    candidate = tiny_candidates()[1]  # has an olid expert: dropped when olid is left out
    result = leave_one_dataset_out(candidate, split, seed=3)
    assert [(d["train"], d["test"]) for d in result["directions"]] == [
        ("davidson", "olid"),
        ("olid", "davidson"),
    ]
    development = split.train.concat(split.validation)
    everything = development.concat(split.test)
    for d in result["directions"]:
        train = development.subset(np.flatnonzero(development.origins == d["train"]))
        model = fit_candidate(candidate, train, 3)
        assert {e.subset for e in model.experts} <= {"all", d["train"]}
        test = split.test.subset(np.flatnonzero(split.test.origins == d["test"]))
        whole = everything.subset(np.flatnonzero(everything.origins == d["test"]))
        home = split.test.subset(np.flatnonzero(split.test.origins == d["train"]))
        assert d["train_items"] == len(train.texts)
        assert d["test_part_items"] == len(test.texts)
        assert d["all_items"] == len(whole.texts) == int((corpus.origins == d["test"]).sum())
        assert d["test_part_auc"] == pytest.approx(
            roc_auc_score(test.labels, model.logits(test.texts))
        )
        assert d["all_items_auc"] == pytest.approx(
            roc_auc_score(whole.labels, model.logits(whole.texts))
        )
        assert d["in_domain_test_auc"] == pytest.approx(
            roc_auc_score(home.labels, model.logits(home.texts))
        )
    assert result["mean_test_part_auc"] == pytest.approx(
        np.mean([d["test_part_auc"] for d in result["directions"]])
    )


# --- mitigation ---------------------------------------------------------------------------------


def test_identity_cap_and_augmentation(tiny_data_dir):
    corpus = load_corpus(tiny_data_dir)
    mitigated = tiny_additive_candidates()[1]
    model = fit_candidate(mitigated, corpus, seed=3)
    word = dict(model.union.transformer_list)["word"]
    char = dict(model.union.transformer_list)["char"]
    offset = len(word.vocabulary_)
    capped = set(model.capped.tolist())
    assert word.vocabulary_["gay"] in capped  # learned from the mitigation sentences
    assert word.vocabulary_["gay people"] in capped
    assert word.vocabulary_["people"] not in capped
    assert offset + char.vocabulary_[" gay"] in capped
    assert offset + char.vocabulary_["ga"] not in capped  # too short to name a group
    assert np.all(model.coef_[model.capped] <= 0)
    assert np.array_equal(model.capped, capped_features(model.union, "words+char"))
    assert len(capped_features(model.union, "words")) < len(model.capped)
    # mitigation sentences are training items only, and never evaluation sentences
    texts, _labels = mitigated.augmentation_items()
    assert texts and not set(texts) & set(identity_terms.evaluation_set()[0])
    assert AUGMENT_ORIGIN not in set(corpus.origins.tolist())


# --- a training run with the count-idf-sqrt map -------------------------------------------------


@pytest.fixture(scope="module")
def additive_training(tiny_data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("quality") / "tiny-add-0.0.2"
    return train_bundle(
        tiny_data_dir,
        out,
        name="tiny-add",
        version="0.0.2",
        seed=3,
        candidates=tiny_additive_candidates(),
        references=tiny_candidates()[:1],
    )


def test_additive_training_round_trips_through_the_fast_path(additive_training):
    assert additive_training.roundtrip_max_abs_diff <= 1e-9
    scorer = Scorer.load(additive_training.bundle_path)
    assert scorer.model.fast is not None
    features = json.loads((additive_training.bundle_path / "features.json").read_text())
    assert {b["settings"]["weighting"] for b in features["blocks"]} == {"count-idf-sqrt"}


def test_manifest_records_quality_figures(additive_training):
    manifest = additive_training.manifest
    metrics = manifest["metrics"]
    assert {"davidson", "olid", "all"} <= set(metrics["test"])
    assert all("ece" in m for m in metrics["test"].values())
    identity = metrics["identity_terms"]
    assert identity["benign_items"] >= 200 and identity["abusive_items"] >= 200
    scores = np.load(additive_training.bundle_path / "eval_scores.npy")
    labels = np.load(additive_training.bundle_path / "eval_labels.npy")
    assert identity["overall_fpr"] == pytest.approx(np.mean(scores[labels == 0] >= 0.45))
    lodo = metrics["leave_one_dataset_out"]
    assert lodo["selected"]["candidate"] == manifest["training"]["selected"]
    assert [r["candidate"] for r in lodo["references"]] == [tiny_candidates()[0].name]
    compared = manifest["training"]["compared"]
    assert [r["selectable"] for r in compared] == [True, True, False]
    assert manifest["training"]["selected"] != tiny_candidates()[0].name
    assert set(manifest["training"]["calibration"]["by_origin"]) == {"davidson", "olid"}
    assert len(metrics["targets"]) == 5


def test_model_card_has_the_quality_sections(additive_training):
    card = (additive_training.bundle_path / "MODEL_CARD.md").read_text()
    for heading in (
        "## Quality targets",
        "## Generalization: leave one dataset out",
        "## Identity terms",
        "## Calibration (out-of-fold",
        "| origin | out-of-fold ROC-AUC | ECE raw | ECE Platt |",
        "count-idf-sqrt",
    ):
        assert heading in card, heading
    identity = additive_training.manifest["metrics"]["identity_terms"]
    assert f"**{identity['benign_fpr']:.4f}** against **{identity['overall_fpr']:.4f}**" in card
    for run in additive_training.manifest["metrics"]["leave_one_dataset_out"]["references"]:
        for d in run["directions"]:
            assert f"{d['test_part_auc']:.4f} ({d['test_part_items']:,})" in card
