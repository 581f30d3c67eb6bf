"""Scoring count-idf-sqrt models without building feature vectors (see `app.core.engine.additive`).

For such a model a block's share of the logit is ``S / sqrt(Q)``, where S sums
``count * idf * coef`` and Q sums ``count * idf**2`` over the block's n-gram occurrences: a text
needs two sums per block, not a sparse matrix. What makes them cheap:

* Both analysers work inside whitespace-separated chunks: ``char_wb`` n-grams never cross a
  space, and a word token (a run of word characters) never contains one. So each distinct chunk
  ("idiot!", "you") is analysed once and cached (`ChunkCache`): its char-block sums and its word
  tokens' vocabulary rows. A batch is then joined into one string, split once, and looked up
  chunk by chunk in C (``map(dict.get)``); everything after that is numpy. The chunks a batch
  meets for the first time are analysed together too (`app.core.engine.fast_chars`): their char
  n-grams become integers looked up in a numpy hash table, and per chunk the values are added
  in the order a one-chunk loop would add them, so a chunk's sums never depend on its batch.
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
from itertools import chain
from typing import Any

import numpy as np

from app.core.engine.fast_chars import CharBlock, PairTable, analysis_reproduced, per_text, segments
from app.core.engine.fast_chars import lookup_rows as _rows
from app.core.engine.occurrences import BlockFeatures, count_idf_sqrt

CACHE_CHUNKS = 300_000
SEP = "\x00"  # joins a batch: neither whitespace nor a word character
_JOIN = " " + SEP + " "
SEPARATOR = -2  # what the cache answers for SEP
_NONE = np.zeros(0, np.int64)


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

    def add(self, chunks: list[str]) -> None:
        """Analyse the chunks not cached yet, all at once, while there is room."""
        with self._lock:
            new = [c for c in dict.fromkeys(chunks) if c not in self.index]
            new = new[: max(0, CACHE_CHUNKS - self.count)]
            if not new:
                return
            row = self.count
            for (s, q), block in zip(self.sums, self.chars, strict=True):
                cs, cq = block.sums_many(new)
                s.put(row, cs)
                q.put(row, cq)
            if self.word is not None:
                tokens, lengths = self.word.token_rows_many(new)
            else:
                tokens, lengths = np.zeros(0, np.int64), np.zeros(len(new), np.int64)
            self.token_start.put(row, self.token_count + np.cumsum(lengths) - lengths)
            self.token_len.put(row, lengths)
            self.tokens.put(self.token_count, tokens)
            self.token_count += len(tokens)
            self.count += len(new)
            # last: readers never see a row before its values are written
            self.index.update(zip(new, range(row, row + len(new)), strict=True))


class _WordBlock:
    def __init__(self, spec: Any, terms: list[str], w: np.ndarray, q: np.ndarray) -> None:
        self.findall = re.compile(spec.token_pattern).findall  # spec: a model.FeatureBlock
        self.bigrams = spec.ngram_range[1] == 2
        unigram_rows = [i for i, term in enumerate(terms) if " " not in term]
        self.unigram_rows = np.array(unigram_rows, dtype=np.int64)  # k -> vocabulary row
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
        self.bigram_rows = rows.astype(np.int64)  # pair -> vocabulary row

    def text_rows(self, chunks: list[str]) -> np.ndarray:
        """Vocabulary rows of one text's known unigrams in text order, then of its bigrams."""
        rows = np.array(self.token_rows(" ".join(chunks)), dtype=np.int64)
        known = rows >= 0
        found = [self.unigram_rows[rows[known]]]
        if self.bigrams and len(rows) > 1 and len(self.pair_w):
            left = np.flatnonzero(known[1:] & known[:-1])
            pair = self.pairs.lookup(rows[left] * self.size + rows[left + 1])
            found.append(self.bigram_rows[pair[pair >= 0]])
        return np.concatenate(found)

    def token_rows(self, chunk: str) -> list[int]:
        return [self.index.get(token, -1) for token in self.findall(chunk)]

    def token_rows_many(self, chunks: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Vocabulary rows of the tokens of all chunks in order (-1 unknown), and their count
        per chunk. Every loop here runs in C."""
        lists = list(map(self.findall, chunks))
        lengths = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
        tokens = list(chain.from_iterable(lists))
        return _rows(self.index, tokens), lengths

    def sums(self, rows: np.ndarray, owner: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """``rows``: vocabulary row of every token in text order (-1 unknown); ``owner``: its text."""
        known = rows >= 0
        s = per_text(owner[known], self.w[rows[known]], n)
        q = per_text(owner[known], self.q[rows[known]], n)
        if self.bigrams and len(rows) > 1 and len(self.pair_w):
            left = np.flatnonzero(known[1:] & known[:-1] & (owner[1:] == owner[:-1]))
            pair = self.pairs.lookup(rows[left] * self.size + rows[left + 1])
            hit = pair >= 0
            s += per_text(owner[left[hit]], self.pair_w[pair[hit]], n)
            q += per_text(owner[left[hit]], self.pair_q[pair[hit]], n)
        return s, q


class FastAdditiveScorer:
    """Raw logits (``x . coef + intercept``) of normalised texts for a count-idf-sqrt model."""

    def __init__(self, blocks: list[Any], coef: np.ndarray, intercept: float) -> None:
        self.intercept = intercept
        self.idf = [block.idf for block in blocks]  # for explanations
        self.order: list[tuple[str, int]] = []  # ("word", 0) or ("char", i), in block order
        word: _WordBlock | None = None
        chars: list[CharBlock] = []
        for block in blocks:  # model.FeatureBlock: settings only, no scikit-learn object
            part = coef[block.offset : block.offset + len(block.terms)]
            w, q = part * block.idf, block.idf * block.idf
            if block.analyzer == "word":
                word = _WordBlock(block, block.terms, w, q)
                self.order.append(("word", 0))
            else:
                self.order.append(("char", len(chars)))
                chars.append(CharBlock(block, block.terms, w, q))
        self.word, self.chars = word, chars
        self.cache = ChunkCache(word, chars)

    @staticmethod
    def supports(blocks: list[Any]) -> bool:
        """Whether every block is one this scorer reproduces exactly (one word block at most)."""
        if not all(block.additive and analysis_reproduced(block) for block in blocks):
            return False
        return sum(block.analyzer == "word" for block in blocks) <= 1

    def text_features(self, normalized: str) -> list[BlockFeatures]:
        """Each block's occurrences and feature values in one normalised text (block order),
        from the same analysis as `logits`: what `app.core.engine.explain` splits into terms."""
        chunks = normalized.lower().split()
        parts = []
        for (kind, i), idf in zip(self.order, self.idf, strict=True):
            if kind == "char":
                rows, chunk = self.chars[i].rows_of(chunks)
                part = BlockFeatures(rows, chunk, chunks, *count_idf_sqrt(rows, idf))
            else:
                assert self.word is not None
                rows = self.word.text_rows(chunks)
                part = BlockFeatures(rows, _NONE, [], *count_idf_sqrt(rows, idf))
            parts.append(part)
        return parts

    def _chunks(
        self, cache: ChunkCache, texts: list[str]
    ) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
        """All whitespace chunks of all texts (with separators), and for each chunk of a text:
        its position in that list, its cache row (-1 if new) and its text."""
        n = len(texts)
        # Lower-cased once for the whole batch: the same as each text's lower(), since even the
        # context rule of the final sigma stops at the separator's spaces as at a text's end.
        joined = _JOIN.join(texts).lower()
        if joined.count(SEP) == n - 1:  # no text holds the separator: one split for all
            chunks = joined.split()
            rows = _rows(cache.index, chunks)
            owner = np.cumsum(rows == SEPARATOR)
            positions = np.flatnonzero(rows != SEPARATOR)
            return chunks, positions, rows[positions], owner[positions]
        lists = [text.lower().split() for text in texts]
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
        all_chunks, positions, rows, owner = self._chunks(cache, normalized)
        missing = np.flatnonzero(rows < 0)  # new chunks (or the text's own SEP chunk)
        if len(missing):
            new = list(map(all_chunks.__getitem__, positions[missing].tolist()))
            cache.add(new)
            rows[missing] = _rows(cache.index, new)
        uncached = np.flatnonzero(rows < 0)  # past the cache's limit, or a literal SEP chunk
        chunks = {int(j): all_chunks[positions[j]] for j in uncached}
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
                if len(uncached):
                    extra = self.chars[i].sums_many([chunks[int(j)] for j in uncached])
                    s_chunk[uncached], q_chunk[uncached] = extra
                s, q = per_text(owner, s_chunk, n), per_text(owner, q_chunk, n)
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
        token_rows = cache.tokens.data[segments(cache.token_start.data[safe], lengths)]
        if len(uncached):  # rare: splice in the tokens of chunks that are not cached
            extra = {int(j): word.token_rows(chunks[int(j)]) for j in uncached}
            lengths = lengths.copy()
            for j, toks in extra.items():
                lengths[j] = len(toks)
            starts = np.cumsum(lengths) - lengths
            spliced = np.empty(int(lengths.sum()), dtype=np.int64)
            spliced[segments(starts[rows >= 0], lengths[rows >= 0])] = token_rows
            for j, toks in extra.items():
                spliced[starts[j] : starts[j] + len(toks)] = toks
            token_rows = spliced
        return word.sums(token_rows, np.repeat(owner, lengths), n)
