"""The schema of an encoder bundle's own files (abuse-mini): ``classifier.json`` of type
``encoder`` and the WordPiece ``tokenizer.json``. The ONNX graph itself is checked by
`app.core.bundles.onnx_check`. Like `app.core.bundles.bundle_schema`, every field the app reads
is checked for type, range and size before anything is built from it, and each problem raises
`BundleDataError` with the field's path.
"""

from __future__ import annotations

import re
from typing import Any

from app.core.bundles.bundle_schema import (
    CLASSES,
    MAX_CALIBRATION,
    POSITIVE_LABEL,
    SAFE_PART,
    SHA256,
    _fail,
    _keys,
    _number,
    _text,
    _type,
)

ENCODER_TYPE = "encoder"
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
MAX_TOKENS_RANGE = (8, 512)
MAX_VOCABULARY = 250_000
MAX_TOKEN_CHARS = 100
MAX_ADDED_TOKENS = 1_000
# The tokenizer pieces abuse-mini's recipe writes (a BERT WordPiece tokenizer); anything else
# would tokenise differently from training and is refused rather than trusted.
TOKENIZER_PARTS = {
    "model": "WordPiece",
    "normalizer": "BertNormalizer",
    "pre_tokenizer": "BertPreTokenizer",
    "post_processor": "TemplateProcessing",
    "decoder": "WordPiece",
}
# Every setting that changes how text becomes tokens, pinned to the values training used
# (all-MiniLM-L6-v2's): a bundle that lowercases differently, splits differently, reads 10^9
# characters per word (a hang on one long word) or frames texts differently is refused.
PINNED_SETTINGS: dict[str, dict[str, object]] = {
    "model": {"continuing_subword_prefix": "##", "max_input_chars_per_word": 100},
    "normalizer": {
        "clean_text": True,
        "handle_chinese_chars": True,
        "strip_accents": None,
        "lowercase": True,
    },
}
SINGLE_TEMPLATE = [
    {"SpecialToken": {"id": "[CLS]", "type_id": 0}},
    {"Sequence": {"id": "A", "type_id": 0}},
    {"SpecialToken": {"id": "[SEP]", "type_id": 0}},
]
LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+ -]{0,128}")


def check_encoder_classifier(classifier: Any) -> None:
    """classifier.json of an encoder bundle: the files it names, its token limit, calibration and
    the optional cascade band (the fast model it was chosen with, and the band's ends)."""
    allowed = {"type", "positive_label", "classes", "model", "tokenizer", "max_tokens"}
    allowed |= {"calibration", "cascade", "explanation"}
    _keys(classifier, "", {"type", "model", "tokenizer", "max_tokens", "calibration"}, allowed)
    if classifier["type"] != ENCODER_TYPE:
        raise _fail("type", f"{str(classifier['type'])[:40]!r} is not {ENCODER_TYPE!r}")
    if (
        _text(classifier.get("positive_label", POSITIVE_LABEL), "positive_label", 64)
        != POSITIVE_LABEL
    ):
        raise _fail("positive_label", f"this app scores only {POSITIVE_LABEL!r}")
    if "classes" in classifier and classifier["classes"] != list(CLASSES):
        raise _fail("classes", f"must be {list(CLASSES)!r} in this order (the app's scale)")
    if classifier["model"] != MODEL_FILE or classifier["tokenizer"] != TOKENIZER_FILE:
        raise _fail("model", f"an encoder bundle names {MODEL_FILE} and {TOKENIZER_FILE}")
    _type(classifier["max_tokens"], (int,), "max_tokens")
    _number(classifier["max_tokens"], "max_tokens", *MAX_TOKENS_RANGE)
    calibration = classifier["calibration"]
    _keys(calibration, "calibration", {"method", "a", "b"}, {"method", "a", "b"})
    if calibration["method"] not in ("platt", "none"):
        raise _fail("calibration.method", f"{str(calibration['method'])[:40]!r} is unknown")
    _number(calibration["a"], "calibration.a", 1e-6, MAX_CALIBRATION)
    _number(calibration["b"], "calibration.b", -MAX_CALIBRATION, MAX_CALIBRATION)
    if "cascade" in classifier:
        check_cascade(classifier["cascade"])


def check_cascade(cascade: Any) -> None:
    required = {"fast_model", "fast_manifest_sha256", "low", "high"}
    _keys(cascade, "cascade", required, required | {"rule", "validation"})
    label = _text(cascade["fast_model"], "cascade.fast_model", 130)
    name, _, version = label.rpartition(" ")
    if not (SAFE_PART.fullmatch(name) and SAFE_PART.fullmatch(version)):
        raise _fail("cascade.fast_model", f"{label[:64]!r} is not 'name version'")
    if not SHA256.fullmatch(
        _text(cascade["fast_manifest_sha256"], "cascade.fast_manifest_sha256", 64)
    ):
        raise _fail("cascade.fast_manifest_sha256", "is not 64 lower-case hex digits")
    low = _number(cascade["low"], "cascade.low", 0.0, 1.0)
    high = _number(cascade["high"], "cascade.high", 0.0, 1.0)
    if not low <= high:
        raise _fail("cascade", f"low {low:g} is above high {high:g}")
    if "rule" in cascade:
        _text(cascade["rule"], "cascade.rule", 400)


def check_tokenizer(tokenizer: Any) -> int:
    """tokenizer.json: a BERT WordPiece tokenizer of bounded size. Returns the vocabulary size."""
    _type(tokenizer, (dict,), "tokenizer")
    for part, kind in TOKENIZER_PARTS.items():
        section = _type(tokenizer.get(part), (dict,), f"tokenizer.{part}")
        if section.get("type") != kind:
            raise _fail(f"tokenizer.{part}.type", f"must be {kind!r}")
    model = tokenizer["model"]
    vocab = _type(model.get("vocab"), (dict,), "tokenizer.model.vocab")
    if not 0 < len(vocab) <= MAX_VOCABULARY:
        raise _fail(
            "tokenizer.model.vocab", f"holds {len(vocab):,} tokens (1 to {MAX_VOCABULARY:,})"
        )
    ids = set()
    for token, index in vocab.items():
        if len(token) > MAX_TOKEN_CHARS or type(index) is not int or not 0 <= index < len(vocab):
            raise _fail("tokenizer.model.vocab", f"entry {token[:40]!r}: {str(index)[:20]}")
        ids.add(index)
    if len(ids) != len(vocab):
        raise _fail("tokenizer.model.vocab", "two tokens share an id")
    if _text(model.get("unk_token"), "tokenizer.model.unk_token", MAX_TOKEN_CHARS) not in vocab:
        raise _fail("tokenizer.model.unk_token", "is not in the vocabulary")
    _check_pinned(tokenizer, vocab)
    added = _type(tokenizer.get("added_tokens", []), (list,), "tokenizer.added_tokens")
    if len(added) > MAX_ADDED_TOKENS:
        raise _fail("tokenizer.added_tokens", f"holds {len(added):,} tokens")
    for i, token in enumerate(added):
        where = f"tokenizer.added_tokens[{i}]"
        _type(token, (dict,), where)
        if token.get("content") not in vocab or vocab[token["content"]] != token.get("id"):
            raise _fail(where, "is not the vocabulary's own token")
    return len(vocab)


def _check_pinned(tokenizer: dict[str, Any], vocab: dict[str, Any]) -> None:
    """The tokenizer's settings are training's (`PINNED_SETTINGS`), it frames a text as
    [CLS] text [SEP] with the vocabulary's own ids, and it neither truncates nor pads by itself
    (the engine does both)."""
    for part, settings in PINNED_SETTINGS.items():
        for key, expected in settings.items():
            if tokenizer[part].get(key, "missing") != expected:
                got = str(tokenizer[part].get(key, "missing"))[:40]
                raise _fail(f"tokenizer.{part}.{key}", f"is {got}, training used {expected}")
    processor = tokenizer["post_processor"]
    if processor.get("single") != SINGLE_TEMPLATE:
        raise _fail("tokenizer.post_processor.single", "must frame a text as [CLS] text [SEP]")
    specials = _type(processor.get("special_tokens"), (dict,), "tokenizer.post_processor")
    for token in ("[CLS]", "[SEP]"):
        entry = specials.get(token)
        if token not in vocab or entry != {"id": token, "ids": [vocab[token]], "tokens": [token]}:
            raise _fail(
                f"tokenizer.post_processor.special_tokens.{token}", "is not the vocabulary's"
            )
    for part in ("truncation", "padding"):
        if tokenizer.get(part) is not None:
            raise _fail(f"tokenizer.{part}", "must be null (the engine truncates, never pads)")
