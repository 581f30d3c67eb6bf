"""An encoder bundle in the core's model machinery: the registry's listing (engine, token
limit, vocabulary), switching the active model and the challenger without a restart, shadow
scoring, the self-test's occlusion check, and the explanation's JSON and text."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from app.core.context import model_switch
from app.core.engine.occlusion import word_key
from app.core.engine.result_view import OCCLUSION_NOTE, result_json, result_text
from app.core.engine.shadow import shadow_score
from app.core.models.model_import import import_bundle
from app.core.selftest import checks as selftest
from tests.conftest import REPO
from tests.encoder_fixture import tiny_tokenizer
from tests.encoder_registry import ENCODER_REF, signed_encoder_bundle


@pytest.fixture
def installed(model_registry, signing_key, tmp_path):
    """The registry with the signed tiny encoder imported (from a folder)."""
    source = signed_encoder_bundle(tmp_path / "src", signing_key[0])
    entry, installed = import_bundle(model_registry, source)
    assert installed and entry.ref == ENCODER_REF
    return model_registry


def test_listing_names_the_engine_token_limit_and_vocabulary(installed):
    entries = {e.ref: e for e in installed.entries()}
    mini, linear = entries[ENCODER_REF], entries["abuse-lr-1.0.0"]
    vocabulary = len(tiny_tokenizer()["model"]["vocab"])
    assert (mini.verified, mini.engine, mini.max_tokens, mini.vocabulary) == (
        True, "encoder", 64, vocabulary)  # fmt: skip
    assert mini.engine_text == f"encoder (64 tokens, {vocabulary:,}-token vocabulary)"
    assert (linear.engine, linear.max_tokens, linear.vocabulary) == ("linear", None, None)
    assert linear.engine_text == "linear"
    row = mini.as_dict()
    assert (row["engine"], row["max_tokens"], row["vocabulary"]) == ("encoder", 64, vocabulary)
    assert "max_tokens" not in linear.as_dict()
    # no manifest figures (an encoder in training may have none): listed all the same
    assert mini.test_auc == {} and mini.eval_items == 0


def test_a_tokenizer_changed_after_signing_is_refused_in_the_listing(installed):
    tokenizer = installed.user_dir / ENCODER_REF / "tokenizer.json"
    tokenizer.write_text(tokenizer.read_text().replace("idiot", "idiom"))
    [mini] = [e for e in installed.entries() if e.ref == ENCODER_REF]
    assert not mini.verified and "tokenizer.json does not match its SHA-256" in mini.problem


def test_switch_active_and_challenger_without_restart(installed, app_context):
    app_context.registry = installed
    linear = app_context.state.scorer
    encoder = installed.load(ENCODER_REF)
    plan = model_switch.plan_activation(app_context, encoder)
    assert not plan.migrates  # no shared evaluation items: the threshold is kept, and said
    assert model_switch.activate_planned(app_context, encoder, plan)
    assert app_context.state.scorer.engine == "encoder"
    assert app_context.settings.active_model == ENCODER_REF
    assert model_switch.set_challenger(app_context, linear)
    result = app_context.state.scorer.score_text("you idiot", 0.45)
    shadow = shadow_score(app_context.state.challenger, "you idiot", result)
    assert shadow is not None and shadow.version == linear.version_label
    # and the other way round: the linear model decides, the encoder shadow-scores
    assert model_switch.rollback(app_context, linear)
    assert model_switch.set_challenger(app_context, encoder)
    result = linear.score_text("you idiot", 0.45)
    shadow = shadow_score(app_context.state.challenger, "you idiot", result)
    assert shadow is not None and shadow.version == "abuse-mini 0.0.1"
    direct = float(encoder.model.predict_proba(["you idiot"])[0])
    assert shadow.result.score == pytest.approx(direct, abs=1e-12)
    assert shadow.agrees == (shadow.result.label == result.label)


def test_self_test_re_measures_occlusion_on_an_encoder(installed):
    checks = selftest.run_self_test(installed.find(ENCODER_REF), installed.check)
    assert len(checks) == selftest.CHECK_COUNT
    by_name = {c.name: c for c in checks}
    occlusion = by_name["explanation re-measured (occlusion)"]
    assert occlusion.ok, occlusion.detail
    assert "explanation adds up" not in by_name  # shares only
    assert by_name["bundle verified"].ok and by_name["threshold arithmetic"].ok


def test_self_test_fails_when_effects_are_wrong(installed, monkeypatch):
    """Effects with the wrong sign (a plausible bug) fail the re-measurement, with a reason."""
    scorer = installed.load(ENCODER_REF)
    real = scorer.explain(selftest.ABUSIVE_SAMPLES[0], top_k=None)
    assert max(abs(t.contribution) for t in real.terms[:2]) > 2 * selftest.OCCLUSION_TOLERANCE
    flipped = type(real)(
        real.logit, real.bias,
        [type(t)(t.term, -t.contribution) for t in real.terms], real.method,
    )  # fmt: skip
    monkeypatch.setattr(type(scorer), "explain", lambda self, text, top_k=None: flipped)
    [check] = [c for c in selftest._model_checks(scorer) if "occlusion" in c.name]
    assert not check.ok and "differ from the shortened texts' logits by up to" in check.detail


def test_shortened_text_is_the_text_without_every_occurrence():
    assert selftest._without_word("You idiot, you!", "you") == "idiot,"
    assert word_key("You!") == "you"


def test_occlusion_in_json_and_text(installed):
    scorer = installed.load(ENCODER_REF)
    explanation = scorer.explain("you idiot hello friend", top_k=None)
    result = scorer.score_text("you idiot hello friend", 0.45)
    row = result_json(result, explanation.terms, explanation.method)
    assert row["explanation"] == "occlusion"
    assert [t["term"] for t in row["terms"]] == [t.display for t in explanation.terms]
    json.dumps(row, allow_nan=False)  # NaN bias never reaches the JSON
    block = result_text("you idiot", result, scorer.version_label, explanation.terms,
                        method=explanation.method)  # fmt: skip
    assert f"Top terms ({OCCLUSION_NOTE}; logit; ▲ raises, ▼ lowers):" in block
    # the terms are the effects: each is the logit's change without the word
    full = math.log(result.score / (1 - result.score))
    assert explanation.logit == pytest.approx(full, abs=1e-6)
    assert np.isnan(explanation.bias)


def test_paired_encoder_compares_with_the_linear_bundle(signing_key, tmp_path):
    from app.core.analysis.compare import pair_bundled_evaluations
    from app.core.engine.scoring import Scorer

    linear = Scorer.load(REPO / "models" / "abuse-lr-2.0.0")
    bundle = signed_encoder_bundle(
        tmp_path / "src", signing_key[0], pair_with=REPO / "models" / "abuse-lr-2.0.0"
    )
    paired = pair_bundled_evaluations(linear, Scorer.load(bundle))
    n = len(linear.bundle.arrays["eval_ids.npy"])
    assert len(paired.labels) == n  # every item paired by its id


@pytest.mark.parametrize("encoder_decides", [False, True])
def test_labelled_csv_compare_scores_with_either_engine(installed, tmp_path, encoder_decides):
    """Compare (and the audit sample's re-scoring, the same `score_many` calls) on a labelled
    CSV: each model's scores are its own, whichever engine decides."""
    import csv

    from app.core.analysis.compare import score_labeled_pair
    from tests.synthetic import labelled_texts

    texts, labels = labelled_texts(150, seed=4)
    path = tmp_path / "labelled.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["comment", "label"])
        writer.writerows(zip(texts, labels, strict=True))
    linear, encoder = installed.load("abuse-lr-1.0.0"), installed.load(ENCODER_REF)
    champion, challenger = (encoder, linear) if encoder_decides else (linear, encoder)
    paired = score_labeled_pair(champion, challenger, path, label_column="label")
    np.testing.assert_allclose(paired.champion_scores, champion.score_many(texts)[0], atol=1e-12)
    np.testing.assert_allclose(
        paired.challenger_scores, challenger.score_many(texts)[0], atol=1e-12
    )
    assert paired.labels.tolist() == labels


def test_self_test_is_exact_on_an_int8_encoder(tmp_path):
    """The shipped int8 graph batches occlusion's shortened texts, yet each effect re-measured
    on its own shortened text alone is exactly the explanation's, and so is the self-test's."""
    from app.core.engine.scoring import Scorer
    from tests.encoder_fixture import tiny_int8_onnx, write_tiny_encoder_bundle

    int8 = tiny_int8_onnx(0)
    bundle = write_tiny_encoder_bundle(tmp_path / "int8", onnx_model=int8)
    scorer = Scorer.load(bundle)
    text = selftest.ABUSIVE_SAMPLES[0]
    explanation = scorer.explain(text, top_k=None)
    alone = [
        float(scorer.model.calibrated_logits([text])[0])
        - float(scorer.model.calibrated_logits([selftest._without_word(text, t.term)])[0])
        for t in explanation.terms[:2]
    ]
    batched = [t.contribution for t in explanation.terms[:2]]
    assert alone == batched
    [check] = [c for c in selftest._model_checks(scorer) if "occlusion" in c.name]
    assert check.ok and "largest difference 0.0e+00" in check.detail, check.detail
