"""Which words moved a score, and by how much.

For a linear model on TF-IDF features each feature's share of the logit is exact:
``value * coefficient``. Word n-gram shares are split evenly between their words; character
n-gram shares go to the whitespace-separated token they were cut from (``char_wb`` n-grams never
cross a space), and from there to the words inside that token. So the shares of all terms plus
the bias add up to the model's (calibrated) logit: nothing is invented and nothing is dropped.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from app.core.engine.model import LinearTextModel
from app.core.engine.normalize import URL_TOKEN, USER_TOKEN, normalize_text, placeholder_pattern

_WORD = re.compile(r"\w\w+")
_EDGE_PUNCT = re.compile(r"^\W+|\W+$")
_DISPLAY = {URL_TOKEN: "[link]", USER_TOKEN: "[mention]"}


@dataclass(frozen=True)
class TermContribution:
    term: str  # lower-case word as the model saw it
    contribution: float  # signed share of the calibrated logit; > 0 pushes towards "abusive"

    @property
    def display(self) -> str:
        return _DISPLAY.get(self.term, self.term)


@dataclass(frozen=True)
class Explanation:
    logit: float  # calibrated logit; probability = sigmoid(logit)
    bias: float  # share of the logit that belongs to no word (intercept and calibration)
    terms: list[TermContribution]  # strongest first (by absolute contribution)


def _token_keys(token: str) -> list[str]:
    """The words a whitespace token is shown as: its \\w\\w+ words, else the bare token."""
    words = _WORD.findall(token)
    if words:
        return words
    stripped = _EDGE_PUNCT.sub("", token)
    return [stripped or token]


def explain_text(model: LinearTextModel, text: str, top_k: int | None = None) -> Explanation:
    normalized = normalize_text(text)
    slope = model.calibration_slope
    shares: dict[str, float] = defaultdict(float)
    total = 0.0
    for block in model.blocks:
        row = block.vectorizer.transform([normalized])
        weights = np.asarray(row.data) * model.coef[block.offset + row.indices] * slope
        per_feature = dict(zip(row.indices.tolist(), weights.tolist(), strict=True))
        total += float(weights.sum())
        analyzer = block.vectorizer.build_analyzer()
        vocab = block.vectorizer.vocabulary_
        if block.vectorizer.analyzer == "word":
            grams = [g for g in analyzer(normalized) if g in vocab]
            counts: dict[str, int] = defaultdict(int)
            for gram in grams:
                counts[gram] += 1
            for gram in grams:
                share = per_feature[vocab[gram]] / counts[gram]
                words = gram.split(" ")
                for word in words:
                    shares[word] += share / len(words)
        else:
            # char_wb: analyse each whitespace token on its own; the union is the document's grams.
            preprocessed = block.vectorizer.build_preprocessor()(normalized)
            per_token = [
                (tok, [g for g in analyzer(tok) if g in vocab]) for tok in preprocessed.split()
            ]
            counts = defaultdict(int)
            for _, grams in per_token:
                for gram in grams:
                    counts[gram] += 1
            for token, grams in per_token:
                token_share = sum(per_feature[vocab[g]] / counts[g] for g in grams)
                keys = _token_keys(token)
                for key in keys:
                    shares[key] += token_share / len(keys)
    logit = slope * (total / slope + model.intercept) + model.calibration_offset
    bias = slope * model.intercept + model.calibration_offset
    terms = [TermContribution(term, value) for term, value in shares.items() if value != 0.0]
    terms.sort(key=lambda t: abs(t.contribution), reverse=True)
    return Explanation(logit=logit, bias=bias, terms=terms[:top_k] if top_k else terms)


def find_spans(text: str, term: str) -> list[tuple[int, int]]:
    """Where ``term`` (from an explanation) occurs in the original, un-normalised text.

    Lets the UI highlight words; placeholders map back to the links or mentions they replaced.
    """
    pattern = placeholder_pattern(term)
    if pattern is None:
        pattern = re.compile(rf"(?<!\w){re.escape(term)}(?!\w)", re.IGNORECASE)
    return [m.span() for m in pattern.finditer(text)]
