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
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from app.core.engine.model import FeatureBlock, LinearTextModel
from app.core.engine.normalize import URL_TOKEN, USER_TOKEN, normalize_text, placeholder_pattern
from app.core.engine.occurrences import BlockFeatures

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


SHARES = "shares"  # a linear model: each term's exact share of the logit (they add up)


@dataclass(frozen=True)
class Explanation:
    logit: float  # calibrated logit; probability = sigmoid(logit)
    bias: float  # share of the logit that belongs to no word (NaN when terms are not shares)
    terms: list[TermContribution]  # strongest first (by absolute contribution)
    # SHARES, or "occlusion" (app.core.engine.occlusion): the logit's change without the word
    method: str = SHARES


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
    if model.fast is not None:  # the fast scorer's own analysis: no scikit-learn
        parts = model.fast.text_features(normalized)
    else:  # settings no fast scorer reproduces: the vectorisers (imported here only)
        from app.core.engine.reference import block_features

        parts = [block_features(block, normalized) for block in model.blocks]
    shares: dict[str, float] = defaultdict(float)
    total = 0.0
    for block, part in zip(model.blocks, parts, strict=True):
        weights = part.values * model.coef[block.offset + part.features] * slope
        total += float(weights.sum())
        for key, share in _occurrence_shares(block, part, weights):
            shares[key] += share
    logit = slope * (total / slope + model.intercept) + model.calibration_offset
    bias = slope * model.intercept + model.calibration_offset
    terms = [TermContribution(term, value) for term, value in shares.items() if value != 0.0]
    terms.sort(key=lambda t: abs(t.contribution), reverse=True)
    return Explanation(logit=logit, bias=bias, terms=terms[:top_k] if top_k else terms)


def _occurrence_shares(
    block: FeatureBlock, part: BlockFeatures, weights: np.ndarray
) -> Iterator[tuple[str, float]]:
    """(word, share) pairs of one block, in text order: each feature's weight split evenly
    between its occurrences; a word n-gram's share split between its words, a char n-gram's
    summed per whitespace chunk and split between the chunk's words."""
    rows = part.rows
    at = np.minimum(np.searchsorted(part.features, rows), max(0, len(part.features) - 1))
    found = part.features[at] == rows if len(part.features) else np.zeros(len(rows), bool)
    counts = np.bincount(at[found], minlength=len(part.features))
    per_occurrence = np.zeros(len(rows))  # a row without a value (idf 0) has no share
    per_occurrence[found] = weights[at[found]] / counts[at[found]]
    if block.analyzer == "word":
        for row, share in zip(rows.tolist(), per_occurrence.tolist(), strict=True):
            words = block.terms[row].split(" ")
            for word in words:
                yield word, share / len(words)
        return
    # bincount adds in occurrence order, from 0.0: each chunk's n-grams in the analyser's order
    token_shares = np.bincount(part.chunk, weights=per_occurrence, minlength=len(part.chunks))
    for token, token_share in zip(part.chunks, token_shares.tolist(), strict=True):
        keys = _token_keys(token)
        for key in keys:
            yield key, token_share / len(keys)


def find_spans(text: str, term: str) -> list[tuple[int, int]]:
    """Where ``term`` (from an explanation) occurs in the original, un-normalised text.

    Lets the UI highlight words; placeholders map back to the links or mentions they replaced.
    """
    pattern = placeholder_pattern(term)
    if pattern is None:
        pattern = re.compile(rf"(?<!\w){re.escape(term)}(?!\w)", re.IGNORECASE)
    return [m.span() for m in pattern.finditer(text)]
