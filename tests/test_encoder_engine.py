"""The thorough engine (encoder bundles): the ONNX graph computes the network it claims, scores
are batch-invariant and calibrated, occlusion explanations measure what they say, and damaged or
hostile encoder bundles are refused with one line naming the file."""

from __future__ import annotations

import json
import math
import threading
from pathlib import Path

import numpy as np
import pytest

from app.core.bundles.bundle import load_verified, write_bundle
from app.core.common.errors import ModelError
from app.core.engine.encoder import EncoderTextModel, text_logits
from app.core.engine.encoder_text import encoder_text
from app.core.engine.explain import find_spans
from app.core.engine.occlusion import OCCLUSION, word_key
from app.core.engine.scoring import Scorer
from tests.encoder_fixture import (
    tiny_int8_onnx,
    tiny_onnx,
    tiny_tokenizer,
    tiny_weights,
    tool_int8_onnx,
    write_tiny_encoder_bundle,
)

TEXTS = [
    "you are an idiot",
    "thank you so much for your help today!",
    "hello",
    "I hate you, stupid man @bob http://x.co/abc",
    "proud gay man living here with my neighbours",
    "ok " * 30,
]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Scorer:
    return Scorer.load(write_tiny_encoder_bundle(tmp_path_factory.mktemp("enc")))


def _layer_norm(x: np.ndarray, g: np.ndarray, b: np.ndarray) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + 1e-12) * g + b


def _reference_logit(w: dict[str, np.ndarray], ids: np.ndarray, heads: int = 2) -> float:
    """The network written out in plain numpy (one text, no padding)."""
    x = w["words.weight"][ids] + w["positions.weight"][: len(ids)] + w["token_type"]
    x = _layer_norm(x, w["embedding_norm.weight"], w["embedding_norm.bias"])
    layers = len({k.split(".")[1] for k in w if k.startswith("layers.")})
    width = x.shape[1] // heads

    def lin(v: np.ndarray, p: str) -> np.ndarray:
        return v @ w[f"{p}.weight"].T + w[f"{p}.bias"]

    for i in range(layers):
        p = f"layers.{i}"
        q, k, v = (
            lin(x, f"{p}.{n}").reshape(len(ids), heads, width) for n in ("query", "key", "value")
        )
        scores = np.einsum("thd,shd->hts", q, k) / math.sqrt(width)
        attn = np.exp(scores - scores.max(-1, keepdims=True))
        attn /= attn.sum(-1, keepdims=True)
        context = np.einsum("hts,shd->thd", attn, v).reshape(len(ids), -1)
        x = _layer_norm(
            lin(context, f"{p}.attention_out") + x,
            w[f"{p}.attention_norm.weight"],
            w[f"{p}.attention_norm.bias"],
        )
        inner = lin(x, f"{p}.inner")
        gelu = inner * 0.5 * (1 + np.vectorize(math.erf)(inner / math.sqrt(2)))
        x = _layer_norm(
            lin(gelu, f"{p}.outer") + x, w[f"{p}.output_norm.weight"], w[f"{p}.output_norm.bias"]
        )
    return float(x.mean(0) @ w["head.weight"][0] + w["head.bias"][0])


def test_the_graph_computes_the_network(tiny: Scorer) -> None:
    weights = {
        k: v.astype(np.float64)
        for k, v in tiny_weights(len(tiny_tokenizer()["model"]["vocab"])).items()
    }
    model = tiny.model
    for text in TEXTS:
        ids = model.token_ids([encoder_text(text)])[0]
        expected = _reference_logit(weights, ids)
        assert model.raw_logits([text])[0] == pytest.approx(expected, abs=1e-4)


def test_scores_do_not_depend_on_the_batch(tiny: Scorer) -> None:
    alone = np.array([tiny.model.predict_proba([t])[0] for t in TEXTS])
    together = tiny.model.predict_proba(TEXTS)
    reversed_ = tiny.model.predict_proba(TEXTS[::-1])[::-1]
    np.testing.assert_array_equal(together, alone)
    np.testing.assert_array_equal(reversed_, alone)
    assert np.all((together > 0) & (together < 1))


def test_the_shipped_int8_graph_batches_and_gives_each_text_its_own_bits(tmp_path: Path) -> None:
    """abuse-mini's int8 graph quantises activations per token: the engine batches texts of one
    length, and every score is bit-identical to the text scored alone, in any company, order or
    thread count; the int8 logits stay near fp32's."""
    scorer = Scorer.load(write_tiny_encoder_bundle(tmp_path, onnx_model=tiny_int8_onnx(seed=3)))
    assert scorer.model.batched
    many = [*TEXTS, *(f"you {w} idiot" for w in ("are", "were", "stupid", "all")), "idiot " * 50]
    alone = np.array([scorer.model.predict_proba([t])[0] for t in many])
    mixed = scorer.model.predict_proba([*many, *many[::-1]])
    np.testing.assert_array_equal(mixed[: len(many)], alone)
    np.testing.assert_array_equal(mixed[len(many) :], alone[::-1])
    one_thread = EncoderTextModel(scorer.bundle, threads=1).predict_proba(many)
    np.testing.assert_array_equal(one_thread, alone)
    fp32 = Scorer.load(write_tiny_encoder_bundle(tmp_path / "fp32", onnx_model=tiny_onnx(seed=3)))
    int8_logits, fp32_logits = scorer.model.raw_logits(many), fp32.model.raw_logits(many)
    assert 0 < np.abs(int8_logits - fp32_logits).max() < 0.1 * np.ptp(fp32_logits)
    assert np.corrcoef(int8_logits, fp32_logits)[0, 1] > 0.99


def test_a_graph_with_one_activation_scale_per_run_is_scored_one_text_at_a_time(
    tmp_path: Path,
) -> None:
    """onnxruntime's dynamic quantisation scales a run's activations as a whole: the batching
    probe catches it, and each text runs alone, so its score is its own."""
    int8 = tool_int8_onnx(3, tmp_path / "q")
    scorer = Scorer.load(write_tiny_encoder_bundle(tmp_path, onnx_model=int8))
    assert not scorer.model.batched
    alone = np.array([scorer.model.predict_proba([t])[0] for t in TEXTS])
    mixed = scorer.model.predict_proba([*TEXTS, "idiot " * 50, *TEXTS])
    np.testing.assert_array_equal(mixed[: len(TEXTS)], alone)
    np.testing.assert_array_equal(mixed[len(TEXTS) + 1 :], alone)
    rows = scorer.model.token_ids(
        [encoder_text(t) for t in ("you are an idiot", "thank you all today")]
    )
    together = text_logits(scorer.model.session, rows, batched=True)
    assert not np.array_equal(together, text_logits(scorer.model.session, rows))


def test_calibration_is_applied(tmp_path: Path, tiny: Scorer) -> None:
    calibrated = Scorer.load(write_tiny_encoder_bundle(tmp_path, calibration=(2.0, -1.0)))
    raw = tiny.model.raw_logits(TEXTS)
    expected = 1 / (1 + np.exp(-(2.0 * raw - 1.0)))
    np.testing.assert_allclose(calibrated.model.predict_proba(TEXTS), expected, rtol=1e-9)


def test_long_texts_are_read_up_to_max_tokens(tmp_path: Path) -> None:
    scorer = Scorer.load(write_tiny_encoder_bundle(tmp_path, max_tokens=16))
    ids = scorer.model.token_ids([encoder_text("idiot " * 100)])[0]
    assert len(ids) == 16
    assert scorer.model.predict_proba(["idiot " * 100])[0] == pytest.approx(
        scorer.model.predict_proba(["idiot " * 14])[0], abs=1e-6
    )


def test_a_text_past_max_tokens_is_marked_as_read_in_part(tmp_path: Path) -> None:
    """Words past the token limit are never read: the score says so, like a linear model's
    character cut, in score-text's flag and in a batch row's note."""
    from app.core.batch.rows import _rows_with_notes

    scorer = Scorer.load(write_tiny_encoder_bundle(tmp_path, max_tokens=16))
    texts = ["idiot " * 14, "idiot " * 15, "hello friend"]  # 14 words + [CLS] [SEP] = 16 tokens
    scores, truncated, empty = scorer.score_many(texts)
    assert truncated.tolist() == [False, True, False] and not empty.any()
    assert scorer.score_text("idiot " * 15, 0.45).truncated
    assert scorer.truncation_note == "read the first 16 tokens"
    rows = _rows_with_notes(scorer, [["a"], ["b"], ["c"]], scores, truncated, empty, 0.45)
    assert [row[-1] for row in rows] == ["", "read the first 16 tokens", ""]


def test_empty_texts_get_no_score_and_the_engine_is_named(tiny: Scorer) -> None:
    scores, _, empty = tiny.score_many(["", "  ", "hello"])
    assert np.isnan(scores[:2]).all() and empty.tolist() == [True, True, False]
    assert tiny.engine == "encoder" and tiny.bundle.engine == "encoder"


def test_concurrent_scoring_gives_the_same_numbers(tiny: Scorer) -> None:
    expected = tiny.model.predict_proba(TEXTS)
    results: list[np.ndarray] = []
    threads = [
        threading.Thread(target=lambda: results.append(tiny.model.predict_proba(TEXTS)))
        for _ in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 6
    for r in results:
        np.testing.assert_allclose(r, expected, atol=1e-6)


def test_occlusion_effect_is_the_logit_without_the_word(tiny: Scorer) -> None:
    text = "You idiot, you are stupid! Thanks @bob http://x.co"
    explanation = tiny.explain(text, top_k=None)
    assert explanation.method == OCCLUSION and math.isnan(explanation.bias)
    model = tiny.model
    full = model.calibrated_logits([text])[0]
    assert explanation.logit == full
    by_term = {t.term: t.contribution for t in explanation.terms}
    # "you" occurs twice (once capitalised): both are removed together
    without_you = "idiot, are stupid! Thanks @bob http://x.co"
    assert by_term["you"] == pytest.approx(
        full - model.calibrated_logits([without_you])[0], abs=1e-6
    )
    assert by_term["idiot"] == pytest.approx(
        full - model.calibrated_logits(["You you are stupid! Thanks @bob http://x.co"])[0], abs=1e-6
    )
    assert set(by_term) <= {"you", "idiot", "are", "stupid", "thanks", "xxuser", "xxurl"}
    # strongest first, and each term is found in the original text (placeholders included)
    sizes = [abs(t.contribution) for t in explanation.terms]
    assert sizes == sorted(sizes, reverse=True)
    for term in explanation.terms:
        assert find_spans(text, term.term), term
    assert word_key("Idiot!!") == "idiot" and word_key("!!!") == "!!!"


def test_occlusion_of_a_text_longer_than_the_window_reads_what_the_encoder_reads(
    tmp_path: Path,
) -> None:
    """Variants of a long text are tokenised only up to what fits the window: every effect is
    still the logit of the whole text minus that of the whole text without the word."""
    from app.core.engine.occlusion import occlusion_effects, word_key

    scorer = Scorer.load(write_tiny_encoder_bundle(tmp_path, max_tokens=16))
    words = "you idiot are stupid thanks friend hello good bad nice people live here".split()
    text = " ".join(words[(i * 5) % len(words)] for i in range(60))  # 60 words, 16 tokens read
    model = scorer.model
    full = model.calibrated_logits([text])[0]
    keys = list(dict.fromkeys(word_key(w) for w in text.split()))
    expected = [
        full - model.calibrated_logits([" ".join(w for w in text.split() if w != key)])[0]
        for key in keys
    ]
    np.testing.assert_allclose(occlusion_effects(model, text), expected, rtol=0, atol=1e-9)


def test_occlusion_of_a_one_word_text(tiny: Scorer) -> None:
    explanation = tiny.explain("idiot")
    assert [t.term for t in explanation.terms] in ([], ["idiot"])


def _rewrite(folder: Path, **changes: object) -> Path:
    """The bundle with some files replaced (a new, consistent manifest: as a signer could)."""
    bundle = load_verified(folder)
    files: dict[str, object] = {}
    for name in bundle.manifest["files"]:
        files[name] = (folder / name).read_bytes()
    files.update(changes)
    manifest = {
        k: v for k, v in bundle.manifest.items() if k not in ("files", "format", "format_version")
    }
    out = folder.parent / f"{folder.name}-changed"
    return write_bundle(out, manifest, files)  # type: ignore[arg-type]


def _refused(folder: Path, *fragments: str) -> None:
    with pytest.raises(ModelError) as caught:
        Scorer.load(folder)
    message = str(caught.value)
    assert "\n" not in message and str(folder) in message
    for fragment in fragments:
        assert fragment in message, message


def test_a_tokenizer_of_another_kind_is_refused(tmp_path: Path) -> None:
    folder = write_tiny_encoder_bundle(tmp_path)
    tokenizer = tiny_tokenizer()
    tokenizer["model"]["type"] = "BPE"
    _refused(
        _rewrite(folder, **{"tokenizer.json": json.dumps(tokenizer).encode()}),
        "tokenizer.json",
        "WordPiece",
    )


@pytest.mark.parametrize(
    ("part", "key", "value"),
    [
        ("model", "max_input_chars_per_word", 10**9),  # one long word would take minutes
        ("model", "continuing_subword_prefix", "@@"),
        ("normalizer", "lowercase", False),  # "IDIOT" read as an unknown word
        ("normalizer", "strip_accents", True),
        ("post_processor", "single", [{"Sequence": {"id": "A", "type_id": 0}}]),
        ("", "truncation", {"max_length": 4, "strategy": "LongestFirst", "stride": 0}),
    ],
)
def test_tokenizer_settings_other_than_trainings_are_refused(
    tmp_path: Path, part: str, key: str, value: object
) -> None:
    tokenizer = tiny_tokenizer()
    (tokenizer[part] if part else tokenizer)[key] = value
    folder = write_tiny_encoder_bundle(tmp_path)
    _refused(
        _rewrite(folder, **{"tokenizer.json": json.dumps(tokenizer).encode()}),
        "tokenizer.json",
        key,
    )


def test_tokens_past_the_embedding_table_are_refused_at_load(tmp_path: Path) -> None:
    """A vocabulary with a few ids beyond the graph's embedding table: refused when the bundle
    is loaded (the widest probe), not when a batch reaches the one row that uses them."""
    tokenizer = tiny_tokenizer()
    vocab = tokenizer["model"]["vocab"]
    size = len(vocab)
    for i in range(3):
        vocab[f"zzextra{i}"] = size + i
    folder = write_tiny_encoder_bundle(tmp_path, onnx_model=tiny_onnx(vocab=size))
    _refused(_rewrite(folder, **{"tokenizer.json": json.dumps(tokenizer).encode()}), "probe")


def test_a_vocabulary_with_shared_ids_is_refused(tmp_path: Path) -> None:
    folder = write_tiny_encoder_bundle(tmp_path)
    tokenizer = tiny_tokenizer()
    tokenizer["model"]["vocab"]["idiot"] = tokenizer["model"]["vocab"]["hello"]
    _refused(
        _rewrite(folder, **{"tokenizer.json": json.dumps(tokenizer).encode()}), "tokenizer.json"
    )


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"max_tokens": 100000}, "max_tokens"),
        ({"calibration": {"method": "platt", "a": -1.0, "b": 0.0}}, "calibration.a"),
        ({"type": "linear"}, ""),
        ({"model": "../model.onnx"}, "model"),
        (
            {
                "cascade": {
                    "fast_model": "abuse-lr 2.0.0",
                    "fast_manifest_sha256": "0" * 64,
                    "low": 0.8,
                    "high": 0.2,
                }
            },
            "cascade",
        ),
    ],
)
def test_classifier_fields_are_checked(
    tmp_path: Path, change: dict[str, object], fragment: str
) -> None:
    folder = write_tiny_encoder_bundle(tmp_path)
    classifier = json.loads((folder / "classifier.json").read_text())
    classifier.update(change)
    _refused(_rewrite(folder, **{"classifier.json": json.dumps(classifier).encode()}), fragment)


def test_a_tokenizer_larger_than_the_embedding_is_refused_on_the_probe(tmp_path: Path) -> None:
    vocab = len(tiny_tokenizer()["model"]["vocab"])
    folder = write_tiny_encoder_bundle(tmp_path, onnx_model=tiny_onnx(vocab=vocab // 2))
    _refused(folder, "probe")


def test_a_model_giving_nan_is_refused(tmp_path: Path) -> None:
    from app.core.training.mini_onnx import build_graph

    weights = tiny_weights(len(tiny_tokenizer()["model"]["vocab"]))
    weights["head.bias"] = np.array([np.nan], np.float32)
    folder = write_tiny_encoder_bundle(
        tmp_path, onnx_model=build_graph(weights, 2).SerializeToString()
    )
    _refused(folder, "probe")


def test_garbage_instead_of_a_graph_is_refused(tmp_path: Path) -> None:
    folder = write_tiny_encoder_bundle(tmp_path)
    _refused(_rewrite(folder, **{"model.onnx": b"\x08\x07" + b"\xff" * 64}), "model.onnx")
