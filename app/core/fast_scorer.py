"""Scoring count-idf-sqrt models without building feature vectors (see `app.core.additive`).

For such a model a block's share of the logit is ``S / sqrt(Q)``, where S sums
``count * idf * coef`` and Q sums ``count * idf**2`` over the block's n-gram occurrences: a text
needs two sums per block, not a sparse matrix. What makes them cheap:

* Both analysers work inside whitespace-separated chunks: ``char_wb`` n-grams never cross a
  space, and a word token (a run of word characters) never contains one. So each distinct chunk
  ("idiot!", "you") is analysed once and cached (`ChunkCache`): its char-block sums and its word
  tokens' vocabulary rows. A batch is then joined into one string, split once, and looked up
  chunk by chunk in C (``map(dict.get)``); everything after that is numpy.
* Word bigrams pair adjacent tokens. A bigram is in the vocabulary only if both words are (with
  min_df pruning a pair is never more frequent than its words; checked when the model loads),
  so pairs are looked up by the integer key ``left * V + right`` in a numpy hash table.

The result equals the reference (`CountIdfVectorizer` + dot product) up to floating-point
summation order (checked to 1e-9 in tests and at every training). The cache holds at most
`CACHE_CHUNKS` chunks (about 60 MB); when full, the next batch starts an empty one.
"""

from __future__ import annotations

import re
import threading
from itertools import chain, repeat
from typing import Any

import numpy as np

from app.core.additive import CountIdfVectorizer

CACHE_CHUNKS = 300_000
SEP = "\x00"  # joins a batch: neither whitespace nor a word character
_JOIN = " " + SEP + " "
SEPARATOR = -2  # what the cache answers for SEP


def _rows(lookup: dict[Any, int], items: list[Any]) -> np.ndarray:
    """Row of each item in ``lookup``, -1 when absent (the loop runs in C)."""
    return np.array(list(map(lookup.get, items, repeat(-1))), dtype=np.int64).reshape(-1)


def _per_text(owner: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(owner, weights=values, minlength=n) if len(owner) else np.zeros(n)


def _segments(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Indices ``starts[i] .. starts[i] + lengths[i] - 1`` for every i, concatenated."""
    total = int(lengths.sum())
    offsets = np.cumsum(lengths) - lengths
    return np.arange(total) + np.repeat(starts - offsets, lengths)


class PairTable:
    """An open-addressing hash table of int64 keys in numpy, looked up a whole array at once."""

    def __init__(self, keys: np.ndarray) -> None:
        keys = np.asarray(keys, dtype=np.int64)
        bits = max(4, (2 * max(1, len(keys)) - 1).bit_length())
        self.mask, self.shift = (1 << bits) - 1, np.uint64(64 - bits)
        self.keys = np.full(1 << bits, -1, dtype=np.int64)
        self.values = np.full(1 << bits, -1, dtype=np.int64)
        # Linear probing, inserted in rounds: in round p every unplaced key tries home + p, and
        # where several want the same free slot the first wins. A key placed in round p found
        # home .. home+p-1 taken, and nothing is ever removed, so lookups probe the same way.
        home = self._slots(keys)
        todo = np.arange(len(keys))
        probe = 0
        while len(todo):
            slots = (home[todo] + probe) & self.mask
            free = self.keys[slots] == -1
            _, first = np.unique(slots[free], return_index=True)
            won = todo[free][first]
            self.keys[slots[free][first]] = keys[won]
            self.values[slots[free][first]] = won
            placed = np.zeros(len(todo), dtype=bool)
            placed[np.flatnonzero(free)[first]] = True
            todo = todo[~placed]
            probe += 1
        self.max_probe = max(0, probe - 1)

    def _slots(self, keys: np.ndarray) -> np.ndarray:
        mixed = keys.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing
        return (mixed >> self.shift).astype(np.int64)

    def lookup(self, keys: np.ndarray) -> np.ndarray:
        """The value of each key, -1 when absent (keys must be >= 0)."""
        found = np.full(len(keys), -1, dtype=np.int64)
        pending = np.arange(len(keys))
        slots = self._slots(keys)
        for probe in range(self.max_probe + 1):
            if not len(pending):
                break
            at = (slots[pending] + probe) & self.mask
            hit = self.keys[at] == keys[pending]
            found[pending[hit]] = self.values[at[hit]]
            pending = pending[~hit & (self.keys[at] != -1)]
        return found


class _Growing:
    """A numpy array that doubles when full (rows are written once, never moved for readers:
    a reader holding the old array still sees every row it could have been told about)."""

    def __init__(self, dtype: Any) -> None:
        self.data = np.zeros(1024, dtype=dtype)

    def put(self, start: int, values: list[Any]) -> None:
        end = start + len(values)
        if end > len(self.data):
            grown = np.zeros(max(end, 2 * len(self.data)), dtype=self.data.dtype)
            grown[: len(self.data)] = self.data
            self.data = grown
        self.data[start:end] = values


class ChunkCache:
    """Per whitespace chunk: each char block's (S, Q), and the rows of its word tokens."""

    def __init__(self, word: Any, chars: list[Any]) -> None:
        self.word, self.chars = word, chars
        self.index: dict[str, int] = {SEP: SEPARATOR}
        self.count = self.token_count = 0
        self.sums = [(_Growing(np.float64), _Growing(np.float64)) for _ in chars]
        self.token_start, self.token_len = _Growing(np.int64), _Growing(np.int64)
        self.tokens = _Growing(np.int64)
        self._lock = threading.Lock()  # only misses write; threads may score concurrently

    def add(self, chunks: set[str]) -> None:
        with self._lock:
            for chunk in chunks:
                if chunk in self.index or self.count >= CACHE_CHUNKS:
                    continue
                row = self.count
                for (s, q), block in zip(self.sums, self.chars, strict=True):
                    cs, cq = block.chunk_sums(chunk)
                    s.put(row, [cs])
                    q.put(row, [cq])
                tokens = self.word.token_rows(chunk) if self.word is not None else []
                self.token_start.put(row, [self.token_count])
                self.token_len.put(row, [len(tokens)])
                self.tokens.put(self.token_count, tokens)
                self.token_count += len(tokens)
                self.count += 1
                self.index[chunk] = row  # last: readers never see a half-written row


class _WordBlock:
    def __init__(self, vectorizer: Any, terms: list[str], w: np.ndarray, q: np.ndarray) -> None:
        self.findall = re.compile(vectorizer.token_pattern).findall
        self.bigrams = vectorizer.ngram_range[1] == 2
        unigram_rows = [i for i, term in enumerate(terms) if " " not in term]
        self.index = {terms[i]: k for k, i in enumerate(unigram_rows)}
        self.w, self.q, self.size = w[unigram_rows], q[unigram_rows], len(unigram_rows)
        rows = np.flatnonzero(np.fromiter((" " in t for t in terms), dtype=bool, count=len(terms)))
        halves = [terms[i].split(" ", 1) for i in rows]
        left = np.array([self.index.get(h[0], -1) for h in halves], dtype=np.int64)
        right = np.array([self.index.get(h[1], -1) for h in halves], dtype=np.int64)
        if len(rows) and (left.min() < 0 or right.min() < 0):
            raise ValueError("a bigram has a word outside the vocabulary")
        keys = left * self.size + right
        self.pairs = PairTable(keys)
        self.pair_w, self.pair_q = w[rows], q[rows]

    def token_rows(self, chunk: str) -> list[int]:
        return [self.index.get(token, -1) for token in self.findall(chunk)]

    def sums(self, rows: np.ndarray, owner: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """``rows``: vocabulary row of every token in text order (-1 unknown); ``owner``: its text."""
        known = rows >= 0
        s = _per_text(owner[known], self.w[rows[known]], n)
        q = _per_text(owner[known], self.q[rows[known]], n)
        if self.bigrams and len(rows) > 1 and len(self.pair_w):
            left = np.flatnonzero(known[1:] & known[:-1] & (owner[1:] == owner[:-1]))
            pair = self.pairs.lookup(rows[left] * self.size + rows[left + 1])
            hit = pair >= 0
            s += _per_text(owner[left[hit]], self.pair_w[pair[hit]], n)
            q += _per_text(owner[left[hit]], self.pair_q[pair[hit]], n)
        return s, q


class _CharBlock:
    def __init__(self, vectorizer: Any, terms: list[str], w: np.ndarray, q: np.ndarray) -> None:
        self.min_n, self.max_n = vectorizer.ngram_range
        self.grams = {term: (wi, qi) for term, wi, qi in zip(terms, w.tolist(), q.tolist())}  # noqa: B905

    def chunk_sums(self, chunk: str) -> tuple[float, float]:
        """(S, Q) of one whitespace-separated chunk, n-grams exactly as scikit-learn's char_wb."""
        padded = " " + chunk + " "
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
            if offset == 0:  # the chunk is shorter than n: counted once, longer n-grams skipped
                break
        return s, q


class FastAdditiveScorer:
    """Raw logits (``x . coef + intercept``) of normalised texts for a count-idf-sqrt model."""

    def __init__(self, blocks: list[Any], coef: np.ndarray, intercept: float) -> None:
        self.intercept = intercept
        self.order: list[tuple[str, int]] = []  # ("word", 0) or ("char", i), in block order
        word: _WordBlock | None = None
        chars: list[_CharBlock] = []
        for block in blocks:
            vec = block.vectorizer
            part = coef[block.offset : block.offset + len(block.terms)]
            w, q = part * vec.idf_, vec.idf_ * vec.idf_
            if vec.analyzer == "word":
                word = _WordBlock(vec, block.terms, w, q)
                self.order.append(("word", 0))
            else:
                self.order.append(("char", len(chars)))
                chars.append(_CharBlock(vec, block.terms, w, q))
        self.word, self.chars = word, chars
        self.cache = ChunkCache(word, chars)

    @staticmethod
    def supports(blocks: list[Any]) -> bool:
        """Whether every block is one this scorer reproduces exactly (one word block at most)."""
        words = 0
        for block in blocks:
            vec = block.vectorizer
            if not isinstance(vec, CountIdfVectorizer) or vec.strip_accents is not None:
                return False
            if not vec.lowercase:
                return False
            low, high = vec.ngram_range
            if vec.analyzer == "word":
                words += 1
                if vec.stop_words is not None or low != 1 or high not in (1, 2):
                    return False
                if re.compile(vec.token_pattern).groups > 1:
                    return False
            elif vec.analyzer != "char_wb" or low < 1:
                return False
        return words <= 1

    def _chunks(
        self, cache: ChunkCache, texts: list[str]
    ) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
        """All whitespace chunks of all texts (with separators), and for each chunk of a text:
        its position in that list, its cache row (-1 if new) and its text."""
        n = len(texts)
        joined = _JOIN.join(texts)
        if joined.count(SEP) == n - 1:  # no text holds the separator: one split for all
            chunks = joined.split()
            rows = _rows(cache.index, chunks)
            owner = np.cumsum(rows == SEPARATOR)
            positions = np.flatnonzero(rows != SEPARATOR)
            return chunks, positions, rows[positions], owner[positions]
        lists = list(map(str.split, texts))
        chunks = list(chain.from_iterable(lists))
        owner = np.repeat(np.arange(n), np.fromiter(map(len, lists), dtype=np.int64, count=n))
        rows = _rows(cache.index, chunks)
        return chunks, np.arange(len(chunks)), rows, owner

    def logits(self, normalized: list[str]) -> np.ndarray:
        n = len(normalized)
        total = np.full(n, self.intercept)
        if not n:
            return total
        # One cache for the whole batch (rows and values must come from the same one). A full
        # cache is replaced by an empty one, so a long session keeps caching the chunks it sees
        # now instead of only those it saw first.
        cache = self.cache
        if cache.count >= CACHE_CHUNKS:
            cache = self.cache = ChunkCache(self.word, self.chars)
        all_chunks, positions, rows, owner = self._chunks(cache, [t.lower() for t in normalized])
        missing = np.flatnonzero(rows < 0)  # new chunks (or the text's own SEP chunk)
        chunks = {int(i): all_chunks[positions[i]] for i in missing}
        if len(missing):
            cache.add(set(chunks.values()))
            rows[missing] = _rows(cache.index, [chunks[int(i)] for i in missing])
        uncached = np.flatnonzero(rows < 0)  # past the cache's limit, or a literal SEP chunk
        cached = rows >= 0
        shares: list[tuple[np.ndarray, np.ndarray]] = []
        for kind, i in self.order:
            if kind == "char":
                # Per-chunk values first, then one sum per text in chunk order: the same
                # additions whether a chunk came from the cache or not, so a score never
                # depends on the cache's state (resumed and parallel jobs write the same bytes).
                s_chunk = np.zeros(len(rows))
                q_chunk = np.zeros(len(rows))
                s_chunk[cached] = cache.sums[i][0].data[rows[cached]]
                q_chunk[cached] = cache.sums[i][1].data[rows[cached]]
                for j in uncached:
                    s_chunk[j], q_chunk[j] = self.chars[i].chunk_sums(chunks[int(j)])
                s, q = _per_text(owner, s_chunk, n), _per_text(owner, q_chunk, n)
            else:
                s, q = self._word_sums(cache, chunks, rows, owner, uncached, n)
            shares.append((s, q))
        for s, q in shares:
            share = np.zeros(n)
            np.divide(s, np.sqrt(q), out=share, where=q > 0)
            total += share
        return total

    def _word_sums(
        self,
        cache: ChunkCache,
        chunks: dict[int, str],
        rows: np.ndarray,
        owner: np.ndarray,
        uncached: np.ndarray,
        n: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        word = self.word
        assert word is not None
        safe = np.where(rows >= 0, rows, 0)
        lengths = np.where(rows >= 0, cache.token_len.data[safe], 0)
        token_rows = cache.tokens.data[_segments(cache.token_start.data[safe], lengths)]
        if len(uncached):  # rare: splice in the tokens of chunks that are not cached
            extra = {int(j): word.token_rows(chunks[int(j)]) for j in uncached}
            lengths = lengths.copy()
            for j, toks in extra.items():
                lengths[j] = len(toks)
            starts = np.cumsum(lengths) - lengths
            spliced = np.empty(int(lengths.sum()), dtype=np.int64)
            spliced[_segments(starts[rows >= 0], lengths[rows >= 0])] = token_rows
            for j, toks in extra.items():
                spliced[starts[j] : starts[j] + len(toks)] = toks
            token_rows = spliced
        return word.sums(token_rows, np.repeat(owner, lengths), n)
