"""Scoring count-idf-sqrt models without building feature vectors (see `app.core.additive`).

For such a model a block's share of the logit is ``S / sqrt(Q)``, where S sums
``count * idf * coef`` and Q sums ``count * idf**2`` over the block's n-gram occurrences. So a
batch needs two sums per text and block, not a sparse matrix, and they are computed a batch at a
time with C-level loops (``map`` over dictionary lookups) and numpy, never a Python loop per
token:

* word n-grams: each token's vocabulary index by one lookup; a bigram is a pair of known
  unigrams (checked when the model loads), so bigram lookups are a vectorised binary search
  of ``left * V + right`` in the sorted pair keys;
* ``char_wb`` n-grams never cross a space, so each distinct word's (S, Q) is computed once from
  its n-grams and cached: a text then costs one lookup per word.

The result equals the reference (`CountIdfVectorizer` + dot product) up to floating-point
summation order (checked to 1e-9 in tests and at every training). The cache holds at most
`CACHE_WORDS` words (about 40 MB); words past that are computed each time, never dropped.
"""

from __future__ import annotations

import re
import threading
from itertools import chain, repeat
from typing import Any

import numpy as np

from app.core.additive import CountIdfVectorizer

CACHE_WORDS = 250_000


def _indices(lookup: dict[str, int], items: list[str]) -> np.ndarray:
    """Vocabulary index of each item, -1 when unknown (the loop runs in C)."""
    return np.fromiter(map(lookup.get, items, repeat(-1)), dtype=np.int64, count=len(items))


def _per_text(owner: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(owner, weights=values, minlength=n) if len(owner) else np.zeros(n)


class _WordBlock:
    def __init__(self, vectorizer: Any, terms: list[str], w: np.ndarray, q: np.ndarray) -> None:
        self.pattern = re.compile(vectorizer.token_pattern)
        self.bigrams = vectorizer.ngram_range[1] == 2
        unigram_ids = [i for i, term in enumerate(terms) if " " not in term]
        self.index = {terms[i]: k for k, i in enumerate(unigram_ids)}
        self.w, self.q = w[unigram_ids], q[unigram_ids]
        # Bigram "a b" as the key a*V + b over unigram indices. With min_df pruning a pair is never
        # more frequent than its words, so every vocabulary pair has two known words; checked.
        size = len(unigram_ids)
        keys, rows = [], []
        for i, term in enumerate(terms):
            if " " in term:
                left, right = term.split(" ", 1)
                if left not in self.index or right not in self.index or " " in right:
                    raise ValueError(f"bigram {term!r} has a word outside the vocabulary")
                keys.append(self.index[left] * size + self.index[right])
                rows.append(i)
        order = np.argsort(keys)
        self.pair_keys = np.asarray(keys, dtype=np.int64)[order]
        pair_rows = np.asarray(rows, dtype=np.int64)[order]
        self.pair_w, self.pair_q, self.size = w[pair_rows], q[pair_rows], size

    def sums(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        n = len(texts)
        token_lists = list(map(self.pattern.findall, texts))
        lengths = np.fromiter(map(len, token_lists), dtype=np.int64, count=n)
        ids = _indices(self.index, list(chain.from_iterable(token_lists)))
        owner = np.repeat(np.arange(n), lengths)
        known = ids >= 0
        s = _per_text(owner[known], self.w[ids[known]], n)
        q = _per_text(owner[known], self.q[ids[known]], n)
        if self.bigrams and len(ids) > 1 and len(self.pair_keys):
            both = known[1:] & known[:-1] & (owner[1:] == owner[:-1])
            left = np.flatnonzero(both)
            keys = ids[left] * self.size + ids[left + 1]
            pos = np.minimum(np.searchsorted(self.pair_keys, keys), len(self.pair_keys) - 1)
            hit = self.pair_keys[pos] == keys
            s += _per_text(owner[left[hit]], self.pair_w[pos[hit]], n)
            q += _per_text(owner[left[hit]], self.pair_q[pos[hit]], n)
        return s, q


class _CharBlock:
    def __init__(self, vectorizer: Any, terms: list[str], w: np.ndarray, q: np.ndarray) -> None:
        self.min_n, self.max_n = vectorizer.ngram_range
        self.grams = {term: (wi, qi) for term, wi, qi in zip(terms, w.tolist(), q.tolist())}  # noqa: B905
        self.cache: dict[str, int] = {}  # word -> row of self.cache_s / self.cache_q
        self.cache_s = np.zeros(1024)
        self.cache_q = np.zeros(1024)
        self._lock = threading.Lock()  # only misses write; threads may score concurrently

    def word_sums(self, word: str) -> tuple[float, float]:
        """(S, Q) of one whitespace-separated word, n-grams exactly as scikit-learn's char_wb."""
        padded = " " + word + " "
        length = len(padded)
        grams = self.grams
        s = q = 0.0
        for n in range(self.min_n, self.max_n + 1):
            offset = 0
            while True:
                entry = grams.get(padded[offset : offset + n])
                if entry is not None:
                    s += entry[0]
                    q += entry[1]
                if offset + n >= length:
                    break
                offset += 1
            if offset == 0:  # the word is shorter than n: counted once, longer n-grams skipped
                break
        return s, q

    def _add(self, words: set[str]) -> dict[str, tuple[float, float]]:
        """Cache new words (values first, then the index, so readers never see a gap);
        return the sums of those past the cache's limit."""
        extra: dict[str, tuple[float, float]] = {}
        with self._lock:
            for word in words:
                if word in self.cache:
                    continue
                sums = self.word_sums(word)
                row = len(self.cache)
                if row >= CACHE_WORDS:
                    extra[word] = sums
                    continue
                if row >= len(self.cache_s):
                    self.cache_s = np.concatenate([self.cache_s, np.zeros(len(self.cache_s))])
                    self.cache_q = np.concatenate([self.cache_q, np.zeros(len(self.cache_q))])
                self.cache_s[row], self.cache_q[row] = sums
                self.cache[word] = row
        return extra

    def sums(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        n = len(texts)
        word_lists = list(map(str.split, texts))
        lengths = np.fromiter(map(len, word_lists), dtype=np.int64, count=n)
        words = list(chain.from_iterable(word_lists))
        rows = _indices(self.cache, words)
        owner = np.repeat(np.arange(n), lengths)
        extra: dict[str, tuple[float, float]] = {}
        missing = np.flatnonzero(rows < 0)
        if len(missing):
            extra = self._add({words[i] for i in missing})
            rows[missing] = _indices(self.cache, [words[i] for i in missing])
        cached = rows >= 0
        values_s, values_q = self.cache_s, self.cache_q  # read after the rows: never too short
        s = _per_text(owner[cached], values_s[rows[cached]], n)
        q = _per_text(owner[cached], values_q[rows[cached]], n)
        for i in np.flatnonzero(~cached):  # only past the cache's limit
            ws, wq = extra[words[i]]
            s[owner[i]] += ws
            q[owner[i]] += wq
        return s, q


class FastAdditiveScorer:
    """Raw logits (``x . coef + intercept``) of normalised texts for a count-idf-sqrt model."""

    def __init__(self, blocks: list[Any], coef: np.ndarray, intercept: float) -> None:
        self.intercept = intercept
        self.blocks: list[_WordBlock | _CharBlock] = []
        for block in blocks:
            vec = block.vectorizer
            part = coef[block.offset : block.offset + len(block.terms)]
            w, q = part * vec.idf_, vec.idf_ * vec.idf_
            kind = _WordBlock if vec.analyzer == "word" else _CharBlock
            self.blocks.append(kind(vec, block.terms, w, q))

    @staticmethod
    def supports(blocks: list[Any]) -> bool:
        """Whether every block is one this scorer reproduces exactly."""
        for block in blocks:
            vec = block.vectorizer
            if not isinstance(vec, CountIdfVectorizer) or vec.strip_accents is not None:
                return False
            if not vec.lowercase:
                return False
            low, high = vec.ngram_range
            if vec.analyzer == "word":
                if vec.stop_words is not None or low != 1 or high not in (1, 2):
                    return False
                if re.compile(vec.token_pattern).groups > 1:
                    return False
            elif vec.analyzer != "char_wb" or low < 1:
                return False
        return True

    def logits(self, normalized: list[str]) -> np.ndarray:
        lowered = [text.lower() for text in normalized]  # every supported block lower-cases
        total = np.full(len(lowered), self.intercept)
        for block in self.blocks:
            s, q = block.sums(lowered)
            share = np.zeros_like(s)
            np.divide(s, np.sqrt(q), out=share, where=q > 0)
            total += share
        return total
