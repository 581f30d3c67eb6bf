"""Numpy building blocks of the fast scorer: an integer hash table and the char_wb block.

`CharBlock.sums_many` analyses many whitespace chunks at once the way scikit-learn's ``char_wb``
analyser does: every n-gram becomes an exact integer (one digit per character of the
vocabulary's alphabet) and is looked up in a `PairTable`, so no Python code runs per n-gram.
"""

from __future__ import annotations

import re
from functools import cached_property
from itertools import repeat
from typing import Any

import numpy as np


def analysis_reproduced(block: Any) -> bool:
    """Whether the fast paths split a block's text exactly as scikit-learn does: lower-cased,
    no accent stripping (bundles cannot set stop words), word 1-1 or 1-2 grams with at most one
    group in the token pattern, or char_wb n-grams. ``block``: a model.FeatureBlock."""
    if not block.lowercase or block.strip_accents is not None:
        return False
    low, high = block.ngram_range
    if block.analyzer == "word":
        return low == 1 and high in (1, 2) and re.compile(block.token_pattern).groups <= 1
    return block.analyzer == "char_wb" and low >= 1


def lookup_rows(lookup: dict[Any, int], items: list[Any]) -> np.ndarray:
    """Row of each item in ``lookup``, -1 when absent (the loop runs in C)."""
    return np.array(list(map(lookup.get, items, repeat(-1))), dtype=np.int64).reshape(-1)


def per_text(owner: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(owner, weights=values, minlength=n) if len(owner) else np.zeros(n)


def segments(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
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


class CharBlock:
    """One char_wb block. Its n-grams are looked up as integers: each character of the
    vocabulary's alphabet is a digit 1..A, so an n-gram is an exact base-(A+1) number (a
    character outside the alphabet puts its n-grams out of the vocabulary)."""

    def __init__(self, spec: Any, terms: list[str], w: np.ndarray, q: np.ndarray) -> None:
        self.min_n, self.max_n = spec.ngram_range  # spec: a model.FeatureBlock
        self.terms, self.w, self.q = terms, w, q
        self.alphabet = np.array(sorted(map(ord, set("".join(terms)))), np.uint32)
        self.base = len(self.alphabet) + 1
        self.table: PairTable | None = None
        if terms and self.base**self.max_n < 2**62 and max(map(len, terms)) <= self.max_n:
            keys = self._term_keys(terms)
            if len(np.unique(keys)) == len(terms) and keys.min() >= 0:
                self.table = PairTable(keys)

    def _digits(self, strings: list[str]) -> np.ndarray:
        """Each character's digit (0: not in the alphabet) of the strings, concatenated."""
        text = "".join(strings).encode("utf-32-le", "surrogatepass")
        codes = np.frombuffer(text, dtype=np.uint32)
        at = np.minimum(np.searchsorted(self.alphabet, codes), len(self.alphabet) - 1)
        return np.where(self.alphabet[at] == codes, at + 1, 0).astype(np.int64)

    def _prefixes(self, digits: np.ndarray) -> list[np.ndarray]:
        """prefixes[m][p]: the number spelled by digits[p : p + m], -1 if one of them is 0."""
        prefixes = [np.zeros(0, np.int64), np.where(digits > 0, digits, -1)]
        for m in range(2, self.max_n + 1):
            prev, tail = prefixes[-1][:-1], digits[m - 1 :]
            prefixes.append(np.where((prev >= 0) & (tail > 0), prev * self.base + tail, -1))
        return prefixes

    def _term_keys(self, terms: list[str]) -> np.ndarray:
        prefixes = self._prefixes(self._digits(terms))
        lengths = np.fromiter(map(len, terms), dtype=np.int64, count=len(terms))
        starts = np.cumsum(lengths) - lengths
        return np.array([prefixes[n][s] for n, s in zip(lengths, starts)], np.int64)  # noqa: B905

    def _keys(self, digits: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The key of every n-gram scikit-learn's char_wb counts in each (padded) string, in
        its order: by string, then n, then offset; and the string each one belongs to."""
        starts = np.cumsum(lengths) - lengths
        prefix = self._prefixes(digits)
        keys, owners = [], []
        index = np.arange(len(lengths))
        for n in range(self.min_n, self.max_n + 1):
            full = lengths >= n  # offsets 0 .. L - n; L == n is the whole string, counted once
            count = np.where(full, lengths - n + 1, 0)
            at = segments(starts[full], count[full])
            keys.append(prefix[n][at] if len(at) else np.zeros(0, np.int64))
            owners.append(np.repeat(index[full], count[full]))
            if n == self.min_n:  # strings shorter than min_n: the whole string, once
                short = np.flatnonzero(lengths < n)
                for i in short:
                    keys.append(prefix[lengths[i]][starts[i] : starts[i] + 1])
                    owners.append(index[i : i + 1])
        return np.concatenate(keys), np.concatenate(owners)

    def sums_many(self, chunks: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(S, Q) of each chunk: the same additions in the same order as `chunk_sums`."""
        if self.table is None:  # an alphabet too large for integer keys: one chunk at a time
            pairs = [self.chunk_sums(c) for c in chunks]
            return np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
        rows, owner = self.rows_many(chunks, np.arange(len(chunks)))
        # bincount adds in array order: per chunk n = min_n.. then offset, as chunk_sums does
        n = len(chunks)
        return per_text(owner, self.w[rows], n), per_text(owner, self.q[rows], n)

    def rows_many(self, chunks: list[str], owner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The vocabulary row of every n-gram of the chunks that is in the vocabulary, and the
        ``owner`` of its chunk; by n, then chunk, then offset (so within a chunk: by n, then
        offset, scikit-learn's order). Needs ``table``."""
        assert self.table is not None
        padded = " " + "  ".join(chunks) + " "  # " c1 " + " c2 " + ...
        lengths = np.fromiter(map(len, chunks), dtype=np.int64, count=len(chunks)) + 2
        keys, chunk_of = self._keys(self._digits([padded]), lengths)
        valid = np.flatnonzero(keys >= 0)
        rows = self.table.lookup(keys[valid])
        hit = rows >= 0
        return rows[hit], owner[chunk_of[valid[hit]]]

    def rows_of(self, chunks: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """`rows_many` with each occurrence's chunk index as owner, for any alphabet (one
        text's chunks, for an explanation: no cache involved)."""
        if not chunks:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        if self.table is not None:
            return self.rows_many(chunks, np.arange(len(chunks)))
        rows, owner = [], []
        for i, chunk in enumerate(chunks):
            found = self.chunk_rows(chunk)
            rows += found
            owner += [i] * len(found)
        return np.array(rows, dtype=np.int64), np.array(owner, dtype=np.int64)

    @cached_property
    def row_of(self) -> dict[str, int]:
        """term -> vocabulary row, for `chunk_rows` only (built when first needed)."""
        return {term: row for row, term in enumerate(self.terms)}

    def chunk_rows(self, chunk: str) -> list[int]:
        """The rows of one chunk's n-grams in the vocabulary, in `chunk_sums`'s order."""
        padded = " " + chunk + " "
        length = len(padded)
        row_of = self.row_of
        rows: list[int] = []
        for n in range(self.min_n, self.max_n + 1):
            offset = 0
            while True:
                row = row_of.get(padded[offset : offset + n])
                if row is not None:
                    rows.append(row)
                if offset + n >= length:
                    break
                offset += 1
            if offset == 0:  # as in chunk_sums: shorter than n, counted once
                break
        return rows

    @cached_property
    def grams(self) -> dict[str, tuple[float, float]]:
        """term -> (w, q), for `chunk_sums` only (built when first needed: ~15 MB)."""
        pairs = zip(self.w.tolist(), self.q.tolist(), strict=True)
        return dict(zip(self.terms, pairs, strict=True))

    def chunk_sums(self, chunk: str) -> tuple[float, float]:
        """(S, Q) of one whitespace-separated chunk, n-grams exactly as scikit-learn's char_wb
        (the reference for `sums_many`, and its fallback)."""
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
