"""Realistic generated texts for the benchmarks, deterministic by seed.

Tweet-like texts: words drawn with a Zipf distribution over the bundled model's unigram
vocabulary (ranked by idf, most frequent first) plus out-of-vocabulary words (half from a pool
of 50,000 random strings, misspellings, elongations and numbers that recur, half new random
strings seen once), with @mentions, retweet markers, URLs, hashtags, emoji,
punctuation, capitalisation, HTML entities and the odd line break. A 30-word vocabulary (what the
benchmarks used before) lets every cache and every vectoriser dictionary stay hot; a large Zipf
vocabulary behaves like real traffic: a few words everywhere, a long tail seen once. (The fast
scorer caches per whitespace chunk: only texts like these show what that cache is worth.)

* ``make_texts(n, chars, seed)``: ``n`` texts of exactly ``chars`` characters (latency);
* ``tweet_texts(n, seed)``: lengths from a tweet-like distribution, median ~80, at most 280;
* ``write_csv(path, n, seed)``: an ``id,text`` CSV of ``n`` tweet-like rows, written in chunks
  so that 1,000,000 rows never sit in memory at once.

Usage: python bench/texts.py [--n 10] [--chars 0] (prints samples and length statistics)
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import math
import random
import statistics
import string
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ZIPF_EXPONENT = 1.0  # close to English word frequencies
OOV_RATE = 0.06  # share of tokens that are not in the model's vocabulary
TWEET_MEDIAN_CHARS = 80
TWEET_SIGMA = 0.65  # of log(length): about 2% of tweets reach the 280-character cap
TWEET_MIN_CHARS, TWEET_MAX_CHARS = 8, 280
PLACEHOLDERS = {"xxurl", "xxuser"}  # the normaliser's own tokens (app/core/engine/normalize.py)
EMOJI = "😂🤣😭😍🙄😡🤬💀🔥👍👎🙏❤️💯😤😒🤡🖕🥺😅✨🎉🙃😬"
EMOJI_LIST = [e for e in EMOJI if e != "\ufe0f"]
PUNCT = [",", ",", ".", ".", "!", "?", "...", "!!", "?!", ":", ";", " -"]
ENDINGS = ["", "", ".", ".", "!", "?", "!!!", "...", " lol", " smh"]
ENTITIES = ["&amp;", "&lt;3", "&#8220;", "&quot;"]
FIXED_SEED = 20240101  # vocabulary tie order and OOV pool: fixed, so texts depend on `seed` only


@cache
def vocabulary_source() -> Path:
    """The bundle whose word unigrams the texts draw from (the default bundled model)."""
    from app.core.engine.scoring import default_bundle_path

    return default_bundle_path()


@cache
def _ranked_vocabulary() -> tuple[str, ...]:
    """The bundled model's unigrams, most frequent (lowest idf) first, ties in a fixed order."""
    folder = vocabulary_source()
    features = json.loads((folder / "features.json").read_text(encoding="utf-8"))
    block = next(b for b in features["blocks"] if b["name"] == "word")
    idf = np.load(folder / "word_idf.npy", allow_pickle=False)
    unigrams = [
        (float(idf[i]), term)
        for i, term in enumerate(block["vocabulary"])
        if " " not in term and term not in PLACEHOLDERS
    ]
    random.Random(FIXED_SEED).shuffle(unigrams)
    unigrams.sort(key=lambda pair: pair[0])  # stable: shuffled order within equal idf
    return tuple(term for _, term in unigrams)


@cache
def _oov_pool(size: int = 50_000) -> tuple[str, ...]:
    """Words the model has never seen: random strings, misspellings, elongations, numbers."""
    rng = random.Random(FIXED_SEED)
    vocab = _ranked_vocabulary()
    known = set(vocab)
    pool: list[str] = []
    while len(pool) < size:
        kind = rng.random()
        if kind < 0.4:  # a random "name" or made-up word
            word = "".join(rng.choices(string.ascii_lowercase, k=rng.randint(4, 11)))
        elif kind < 0.7:  # a misspelling of a common word: one letter dropped or swapped
            base = list(vocab[min(int(rng.paretovariate(0.6)), 5000)])
            i = rng.randrange(len(base))
            if rng.random() < 0.5 and len(base) > 3:
                del base[i]
            else:
                base[i] = rng.choice(string.ascii_lowercase)
            word = "".join(base)
        elif kind < 0.9:  # elongation: "sooooo", "noooo"
            base = vocab[min(int(rng.paretovariate(0.6)), 2000)]
            i = rng.randrange(len(base))
            word = base[: i + 1] + base[i] * rng.randint(2, 6) + base[i + 1 :]
        else:  # numbers, times, amounts
            word = rng.choice([str(rng.randint(0, 2030)), f"{rng.randint(1, 12)}pm", "2nd", "10k"])
        if word not in known:
            pool.append(word)
    return tuple(pool)


@cache
def _cum_weights(n: int) -> list[float]:
    return list(itertools.accumulate(1.0 / (rank**ZIPF_EXPONENT) for rank in range(1, n + 1)))


class TextGenerator:
    """Tweet-like texts from one seed. Same seed, same texts (on any machine)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.vocab = _ranked_vocabulary()
        self.oov = _oov_pool()
        self.cum = _cum_weights(len(self.vocab))
        self._words: list[str] = []
        self._pos = 0
        handles = [
            self.rng.choice(self.vocab[:3000])
            + self.rng.choice(["", "_", str(self.rng.randint(1, 99))])
            for _ in range(500)
        ]
        self.handles = [h.capitalize() if self.rng.random() < 0.3 else h for h in handles]

    def _word(self) -> str:
        if self._pos == len(self._words):  # draw Zipf words in chunks (the C loop is fast)
            self._words = self.rng.choices(self.vocab, cum_weights=self.cum, k=65_536)
            self._pos = 0
        self._pos += 1
        return self._words[self._pos - 1]

    def _token(self) -> str:
        rng = self.rng
        r = rng.random()
        if r < OOV_RATE / 2:  # a recurring rare word (a name, a common misspelling)
            word = self.oov[rng.randrange(len(self.oov))]
        elif r < OOV_RATE:  # a word seen once: a typo, a handle, a made-up word
            word = "".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 10)))
        else:
            word = self._word()
        r = rng.random()
        if r < 0.02:
            word = word.upper()
        elif r < 0.07:
            word = word.capitalize()
        elif r < 0.085:
            word = "#" + word
        elif r < 0.095:
            word = "@" + rng.choice(self.handles)
        elif r < 0.100:
            word = rng.choice(ENTITIES)
        elif r < 0.108:
            word = rng.choice(EMOJI_LIST)
        r = rng.random()
        if r < 0.07:
            word += rng.choice(PUNCT)
        elif r < 0.075:
            word += "\n"
        return word

    def _prefix(self) -> str:
        rng = self.rng
        r = rng.random()
        if r < 0.05:
            return f"RT @{rng.choice(self.handles)}: "
        if r < 0.25:
            return (
                " ".join("@" + rng.choice(self.handles) for _ in range(rng.choice((1, 1, 1, 2, 3))))
                + " "
            )
        return ""

    def _suffix(self) -> str:
        rng = self.rng
        parts = [rng.choice(ENDINGS)]
        if rng.random() < 0.12:
            parts.append(" " + "".join(rng.choices(EMOJI_LIST, k=rng.choice((1, 1, 2, 3)))))
        if rng.random() < 0.10:
            parts.append(
                " https://t.co/" + "".join(rng.choices(string.ascii_letters + string.digits, k=10))
            )
        return "".join(parts)

    def text(self, target: int, exact: bool = False) -> str:
        """About ``target`` characters (exactly ``target`` when ``exact``: cut mid-word if need be)."""
        prefix, suffix = self._prefix(), self._suffix()
        words: list[str] = []
        length = len(prefix) + len(suffix)
        while True:
            word = self._token()
            if words and not exact and length + (len(word) + 1) / 2 > target:
                break  # the word would end nearer above the target than we are below it
            words.append(word)
            length += len(word) + 1
            if length >= target:
                break
        body = " ".join(words)
        if self.rng.random() < 0.5:
            body = body[:1].upper() + body[1:]
        text = prefix + body + suffix
        if exact:
            while len(text) < target:
                text += " " + self._token()
            text = text[:target]
        return text

    def tweet_length(self) -> int:
        length = round(math.exp(self.rng.gauss(math.log(TWEET_MEDIAN_CHARS), TWEET_SIGMA)))
        return min(max(length, TWEET_MIN_CHARS), TWEET_MAX_CHARS)

    def tweet(self) -> str:
        return self.text(self.tweet_length())[:TWEET_MAX_CHARS]


def make_texts(n: int, chars: int, seed: int = 1) -> list[str]:
    """``n`` texts of exactly ``chars`` characters each."""
    gen = TextGenerator(seed)
    return [gen.text(chars, exact=True) for _ in range(n)]


def iter_tweets(n: int, seed: int = 1) -> Iterator[str]:
    gen = TextGenerator(seed)
    for _ in range(n):
        yield gen.tweet()


def tweet_texts(n: int, seed: int = 1) -> list[str]:
    """``n`` tweet-like texts (median ~80 characters, at most 280)."""
    return list(iter_tweets(n, seed))


def write_csv(path: Path, n: int, seed: int = 1, chunk: int = 10_000) -> int:
    """Write an ``id,text`` CSV of ``n`` tweet-like rows, ``chunk`` rows at a time."""
    tweets = iter_tweets(n, seed)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "text"])
        for start in range(0, n, chunk):
            writer.writerows(
                (i, text)
                for i, text in zip(range(start, min(start + chunk, n)), tweets, strict=False)
            )
    return n


def describe(texts: list[str]) -> dict[str, float]:
    lengths = sorted(len(t) for t in texts)
    words = [w.lower() for t in texts for w in t.split()]
    vocab = set(_ranked_vocabulary())
    return {
        "texts": len(texts),
        "chars_median": statistics.median(lengths),
        "chars_p90": lengths[int(0.9 * (len(lengths) - 1))],
        "chars_max": lengths[-1],
        "distinct_words": len(set(words)),
        "share_words_in_vocab": sum(w.strip(".,!?:;#") in vocab for w in words)
        / max(len(words), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10)
    parser.add_argument("--chars", type=int, default=0, help="exact length (0: tweet-like)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    texts = (
        make_texts(args.n, args.chars, args.seed) if args.chars else tweet_texts(args.n, args.seed)
    )
    for text in texts[:20]:
        print(repr(text))
    for key, value in describe(texts).items():
        print(f"{key:24s} {value:,.3f}")


if __name__ == "__main__":
    main()
