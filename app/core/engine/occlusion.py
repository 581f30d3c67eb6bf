"""Why the encoder gave its score: the effect of removing each word (occlusion).

An encoder's score is not a sum of word shares, so its explanation measures instead: for each
distinct word of the text, the calibrated logit of the text with every occurrence of that word
removed, subtracted from the full text's. A positive effect means the word pushed the score
towards "abusive". All the shortened texts are scored in one batched call. The effects do not
add up to the logit (words act together), which the Score panel says beside them.

Words are the whitespace tokens of the normalised text, keyed in lower case without edge
punctuation, so a term is found in the original text the same way as a linear model's term
(`app.core.engine.explain.find_spans`), placeholders included.
"""

from __future__ import annotations

import re

import numpy as np

from app.core.engine.encoder import EncoderTextModel
from app.core.engine.encoder_text import placeholders_as_words
from app.core.engine.explain import Explanation, TermContribution
from app.core.engine.normalize import normalize_text

OCCLUSION = "occlusion"
MAX_OCCLUDED_WORDS = 128  # distinct words measured per text (the first ones); a bound on cost
_EDGE_PUNCT = re.compile(r"^\W+|\W+$")


def word_key(token: str) -> str:
    """The term a whitespace token counts as: lower case, without edge punctuation."""
    return _EDGE_PUNCT.sub("", token.lower()) or token.lower()


def occlusion_explain(model: EncoderTextModel, text: str, top_k: int | None = None) -> Explanation:
    tokens = normalize_text(text).split(" ")
    keys = [word_key(t) for t in tokens] if tokens != [""] else []
    distinct = list(dict.fromkeys(keys))[:MAX_OCCLUDED_WORDS]
    variants = [" ".join(tokens)]
    for key in distinct:
        variants.append(" ".join(t for t, k in zip(tokens, keys, strict=True) if k != key))
    ids = _variant_ids(model, variants)
    logits = model.calibrate(model.logits_of_ids(ids))
    full = float(logits[0])
    effects = full - logits[1:]
    terms = [
        TermContribution(key, float(effect))
        for key, effect in zip(distinct, effects.tolist(), strict=True)
        if effect != 0.0
    ]
    terms.sort(key=lambda t: abs(t.contribution), reverse=True)
    return Explanation(
        logit=full, bias=float("nan"), terms=terms[:top_k] if top_k else terms, method=OCCLUSION
    )


def _variant_ids(model: EncoderTextModel, variants: list[str]) -> list[np.ndarray]:
    """Token ids of the texts as the encoder reads them, tokenising only what can be read.

    BERT tokenises word by word, so the tokens of a text's first words are the first tokens of
    the whole text: a text cut after ``max_tokens`` words that still fills the token window
    reads exactly as the whole text does. A long text's 128 variants are tokenised that way
    (not tens of thousands of unread tokens each); a cut text that no longer fills the window
    (words that give no token) is tokenised whole."""
    words = model.max_tokens
    cut = [" ".join(v.split(" ")[:words]) for v in variants]
    ids, overflowed = model.encode([placeholders_as_words(v) for v in cut])
    redo = [
        i
        for i, (a, b) in enumerate(zip(cut, variants, strict=True))
        if a != b and not overflowed[i]
    ]
    if redo:
        whole, _ = model.encode([placeholders_as_words(variants[i]) for i in redo])
        for i, seq in zip(redo, whole, strict=True):
            ids[i] = seq
    return ids


def occlusion_effects(model: EncoderTextModel, text: str) -> np.ndarray:
    """The effects in word order (testing and reports): one per distinct word measured."""
    explanation = occlusion_explain(model, text)
    by_term = {t.term: t.contribution for t in explanation.terms}
    tokens = normalize_text(text).split(" ")
    distinct = list(dict.fromkeys(word_key(t) for t in tokens))[:MAX_OCCLUDED_WORDS]
    return np.array([by_term.get(k, 0.0) for k in distinct])
