"""Scoring sublinear TF-IDF models (bundle 1.0.0's features) without scikit-learn.

scikit-learn's TfidfVectorizer with ``sublinear_tf`` and L2 norm gives a text the features
``x_f = (1 + ln c_f) * idf_f / ||(1 + ln c) * idf||``, where ``c_f`` counts term f in the text.
Unlike the count-idf-sqrt map (`app.core.engine.fast_scorer`) a term's value depends on its count in
the whole text, so nothing can be summed per whitespace chunk; but the n-grams themselves can
be found without Python code per n-gram:

* char_wb n-grams become exact integers and are looked up in a numpy hash table
  (`app.core.engine.fast_chars.CharBlock`), all chunks of a batch at once;
* word tokens are looked up in a dict in one C-level map, and bigrams by the integer key
  ``left * V + right`` in a numpy hash table;
* then one ``np.unique`` over ``(text, term)`` keys gives every count, and two bincounts per
  block give each text's dot product and norm.

The logits equal scikit-learn's within 1e-9 (tests, and every training run's round trip), and a
model scored this way never imports scikit-learn (~90 MB and ~0.6 s per process).
"""

from __future__ import annotations

import re
from itertools import chain, compress
from operator import itemgetter, methodcaller
from typing import Any

import numpy as np

from app.core.engine.fast_chars import CharBlock, PairTable, analysis_reproduced
from app.core.engine.fast_chars import lookup_rows as _rows
from app.core.engine.occurrences import BlockFeatures, sublinear_l2

SLICE_TEXTS = 1000
_HAS_SPACE = methodcaller("__contains__", " ")
_PARTITION = methodcaller("partition", " ")


class _Words:
    """Vocabulary rows of a word block's unigrams and bigrams in each text."""

    def __init__(self, spec: Any) -> None:
        terms = spec.terms
        self.findall = re.compile(spec.token_pattern).findall
        self.bigrams = spec.ngram_range[1] == 2
        self.size = len(terms)
        # C-level loops throughout: a model switch builds this (1.0.0: 242,072 terms)
        spaced = np.fromiter(map(_HAS_SPACE, terms), dtype=bool, count=len(terms))
        single = np.flatnonzero(~spaced)
        self.index = dict(zip(compress(terms, ~spaced), single.tolist(), strict=True))
        pairs = np.flatnonzero(spaced)
        halves = list(map(_PARTITION, compress(terms, spaced)))
        left = _rows(self.index, list(map(itemgetter(0), halves)))
        right = _rows(self.index, list(map(itemgetter(2), halves)))
        if len(pairs) and (left.min() < 0 or right.min() < 0):
            raise ValueError("a bigram has a word outside the vocabulary")
        self.pair_table = PairTable(left * self.size + right)
        self.pair_rows = np.asarray(pairs, dtype=np.int64)

    def rows(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(term row, text) of every known unigram and bigram occurrence."""
        lists = list(map(self.findall, texts))
        lengths = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
        rows = _rows(self.index, list(chain.from_iterable(lists)))
        owner = np.repeat(np.arange(len(texts)), lengths)
        known = rows >= 0
        found_rows, found_owner = [rows[known]], [owner[known]]
        if self.bigrams and len(rows) > 1:
            # an unknown word makes both its bigrams unknown (their words would be in the
            # vocabulary: checked above)
            left = np.flatnonzero(known[1:] & known[:-1] & (owner[1:] == owner[:-1]))
            pair = self.pair_table.lookup(rows[left] * self.size + rows[left + 1])
            hit = pair >= 0
            found_rows.append(self.pair_rows[pair[hit]])
            found_owner.append(owner[left[hit]])
        return np.concatenate(found_rows), np.concatenate(found_owner)


class _Chars:
    """Vocabulary rows of a char_wb block's n-grams in each text."""

    def __init__(self, spec: Any) -> None:
        zeros = np.zeros(len(spec.terms))
        self.block = CharBlock(spec, spec.terms, zeros, zeros)
        if self.block.table is None:
            raise ValueError("the char vocabulary's alphabet is too large for integer keys")

    def rows(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        lists = [text.split() for text in texts]
        lengths = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
        chunks = list(chain.from_iterable(lists))
        if not chunks:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        chunk_owner = np.repeat(np.arange(len(texts)), lengths)
        return self.block.rows_many(chunks, chunk_owner)


class SublinearTfidfScorer:
    """Raw logits (``x . coef + intercept``) of normalised texts for sublinear-TF-IDF blocks."""

    def __init__(self, blocks: list[Any], coef: np.ndarray, intercept: float) -> None:
        self.intercept = intercept
        self.blocks: list[tuple[Any, np.ndarray, np.ndarray]] = []
        for block in blocks:  # model.FeatureBlock: settings only, no scikit-learn object
            finder = _Words(block) if block.analyzer == "word" else _Chars(block)
            part = coef[block.offset : block.offset + len(block.terms)]
            self.blocks.append((finder, block.idf, part))

    @staticmethod
    def supports(blocks: list[Any]) -> bool:
        """Whether every block is sublinear, L2-normalised TF-IDF this scorer reproduces."""
        for block in blocks:
            s = block.settings
            if block.additive or not s.get("sublinear_tf") or s.get("norm", "l2") != "l2":
                return False
            if not s.get("use_idf", True) or not analysis_reproduced(block):
                return False
        return True

    def text_features(self, normalized: str) -> list[BlockFeatures]:
        """Each block's occurrences and feature values in one normalised text (block order),
        from the same analysis as `logits`: what `app.core.engine.explain` splits into terms."""
        lowered = normalized.lower()
        chunks = lowered.split()
        parts = []
        for finder, idf, _ in self.blocks:
            if isinstance(finder, _Words):
                rows = finder.rows([lowered])[0]
                part = BlockFeatures(rows, np.zeros(0, np.int64), [], *sublinear_l2(rows, idf))
            else:
                rows, chunk = finder.block.rows_of(chunks)
                part = BlockFeatures(rows, chunk, chunks, *sublinear_l2(rows, idf))
            parts.append(part)
        return parts

    def logits(self, normalized: list[str]) -> np.ndarray:
        # Slices keep the temporaries (a few int64 arrays per n-gram) to ~20 MB at a time.
        parts = [
            self._logits(normalized[start : start + SLICE_TEXTS])
            for start in range(0, len(normalized), SLICE_TEXTS)
        ]
        return np.concatenate(parts) if parts else np.zeros(0)

    def _logits(self, normalized: list[str]) -> np.ndarray:
        n = len(normalized)
        total = np.full(n, self.intercept)
        lowered = [text.lower() for text in normalized]
        for finder, idf, coef in self.blocks:
            rows, owner = finder.rows(lowered)
            if not len(rows):
                continue
            size = len(idf)
            keys, counts = np.unique(owner * size + rows, return_counts=True)
            text, term = keys // size, keys % size
            value = (1.0 + np.log(counts)) * idf[term]  # scikit-learn's sublinear tf x idf
            norm2 = np.bincount(text, weights=value * value, minlength=n)
            dot = np.bincount(text, weights=value * coef[term], minlength=n)
            share = np.zeros(n)
            np.divide(dot, np.sqrt(norm2), out=share, where=norm2 > 0)
            total += share
        return total
