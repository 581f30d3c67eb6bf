"""The fast paths must give the reference's numbers: normalisation, and count-idf-sqrt scoring."""

from __future__ import annotations

import html
import re
import threading

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.engine import fast_scorer
from app.core.engine.fast_scorer import PairTable
from app.core.engine.normalize import URL_TOKEN, USER_TOKEN, normalize_text
from app.core.engine.scoring import Scorer

# --- normalisation ------------------------------------------------------------------------------

_URL = re.compile(r"(?i:https?://|www\.)\S+|\bURL\b")
_MENTION = re.compile(r"@\w+:?")
_RETWEET = re.compile(r"(?<!\w)RT(?!\w)[:\s]*")
_REPEATED = re.compile(rf"\b({URL_TOKEN}|{USER_TOKEN})(?:\s+\1\b)+")


def reference_normalize(text: str) -> str:
    """The normaliser as first written (every rewrite, always): the fast one must equal it."""
    text = html.unescape(html.unescape(text))
    text = _RETWEET.sub(" ", text)
    text = _URL.sub(f" {URL_TOKEN} ", text)
    text = _MENTION.sub(f" {USER_TOKEN} ", text)
    text = re.sub(r"\s+", " ", text).strip()
    return _REPEATED.sub(r"\1", text)


FRAGMENTS = [
    "&amp;", "&amp;#8220;", "&lt;", "&", "RT", "RT:", "rt", "@bob", "@USER", "@", "http://t.co/x",
    "HTTPS://A.B", "wWw.site.org", "WWW.", "URL", "url", "xxurl", "xxuser", " ", "\u00a0", "\u2028",
    "\x1c", "\t", "\n", "idiot", "é", "🙂", ":", ".", "_",
]  # fmt: skip
texts = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=6)), max_size=12).map(
    "".join
)


@settings(max_examples=1500, deadline=None)
@given(texts)
def test_fast_normalize_equals_the_reference(text: str) -> None:
    assert normalize_text(text) == reference_normalize(text)


# --- count-idf-sqrt scoring ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def additive_scorer(tiny_data_dir, tmp_path_factory):
    from app.core.training.recipe import Candidate, train_bundle

    def block(name, analyzer, ngrams):
        settings = {"analyzer": analyzer, "ngram_range": ngrams, "min_df": 1}
        return name, dict(settings, weighting="count-idf-sqrt")

    candidate = Candidate(
        "additive",
        (block("word", "word", (1, 2)), block("char", "char_wb", (2, 4))),
        4.0,
        True,
        (("all", 1.0), ("olid", 0.5)),
    )
    out = tmp_path_factory.mktemp("additive") / "tiny-add-0.0.1"
    result = train_bundle(
        tiny_data_dir, out, name="tiny-add", version="0.0.1", seed=3, candidates=(candidate,)
    )
    assert result.roundtrip_max_abs_diff < 1e-9  # training checks the fast path against itself
    return Scorer.load(result.bundle_path)


def reference_logits(scorer: Scorer, texts: list[str]) -> np.ndarray:
    model = scorer.model
    normalized = [normalize_text(t) for t in texts]
    features = sp.hstack([b.vectorizer.transform(normalized) for b in model.blocks]).tocsr()
    return features @ model.coef + model.intercept


def test_each_feature_map_gets_its_own_fast_path(additive_scorer, v1_scorer, bundled_scorer):
    assert type(additive_scorer.model.fast).__name__ == "FastAdditiveScorer"
    assert type(v1_scorer.model.fast).__name__ == "SublinearTfidfScorer"  # 1.0.0
    assert type(bundled_scorer.model.fast).__name__ == "FastAdditiveScorer"  # the default, 2.0.0


ODD = [
    "", " ", "a", "ab", "\x00", "a \x00 b", "\x00\x00 ab \x00", "héllo wörld ab", "x_y z1 22 3",
    "🙂 ok", "ok  ok", "AB cd", "a b c dd ee f gg", "you.are.an idiot", "idiot,idiot idiot",
    "RT @bob: you idiot http://t.co/x", "&amp; &lt;3", "ﬁne ǅ ß ΣΑΣ",
]  # fmt: skip


@pytest.mark.parametrize("batch", [ODD, ODD[:3], [ODD[5]], ["you are an idiot"], []])
def test_odd_batches_match_the_reference(additive_scorer, batch):
    fast = additive_scorer.model.raw_logits(batch)
    assert fast.shape == (len(batch),)
    np.testing.assert_allclose(fast, reference_logits(additive_scorer, batch), rtol=0, atol=1e-9)


@settings(max_examples=200, deadline=None)
@given(st.lists(texts, min_size=1, max_size=30))
def test_random_batches_match_the_reference(additive_scorer, batch):
    fast = additive_scorer.model.raw_logits(batch)
    np.testing.assert_allclose(fast, reference_logits(additive_scorer, batch), rtol=0, atol=1e-9)


def test_past_the_cache_limit_nothing_changes(additive_scorer, monkeypatch):
    scorer = Scorer(additive_scorer.bundle)  # a fresh, empty cache
    monkeypatch.setattr(fast_scorer, "CACHE_CHUNKS", 5)
    batch = [f"word{i} you idiot number{i} lovely day" for i in range(40)] + ODD
    expected = reference_logits(scorer, batch)
    caches = []
    for _ in range(2):  # the second pass meets a full cache: it starts an empty one
        np.testing.assert_allclose(scorer.model.raw_logits(batch), expected, rtol=0, atol=1e-9)
        caches.append(scorer.model.fast.cache)
        assert caches[-1].count == 5
    assert caches[0] is not caches[1]


def test_threads_scoring_at_once_agree(additive_scorer):
    scorer = Scorer(additive_scorer.bundle)
    batches = [[f"text {t} {i} idiot w{i * t}" for i in range(300)] for t in range(4)]
    expected = [reference_logits(scorer, b) for b in batches]
    results: dict[int, np.ndarray] = {}

    def run(t: int) -> None:
        for _ in range(5):
            results[t] = scorer.model.raw_logits(batches[t])

    threads = [threading.Thread(target=run, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for t in range(4):
        np.testing.assert_allclose(results[t], expected[t], rtol=0, atol=1e-9)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.integers(0, 2**40), max_size=300, unique=True),
    st.lists(st.integers(0, 2**40), max_size=300),
)
def test_pair_table_answers_like_a_dict(keys, probes):
    table = PairTable(keys)
    expected = [{k: i for i, k in enumerate(keys)}.get(p, -1) for p in probes + keys]
    assert table.lookup(np.asarray(probes + keys, dtype=np.int64)).tolist() == expected


def test_scores_do_not_depend_on_the_cache_state(additive_scorer, monkeypatch):
    """Bit for bit: a resumed job (cold cache) or a worker process (its own cache) must write
    the same digits as one uninterrupted run."""
    batch = [f"word{i} you idiot number{i} lovely day {'x' * (i % 7)}!" for i in range(60)] + ODD
    cold = Scorer(additive_scorer.bundle).model.raw_logits(batch)
    warm_scorer = Scorer(additive_scorer.bundle)
    warm_scorer.model.raw_logits(batch[::-1])
    warm = warm_scorer.model.raw_logits(batch)
    monkeypatch.setattr(fast_scorer, "CACHE_CHUNKS", 7)  # most chunks past a full cache
    full = Scorer(additive_scorer.bundle).model.raw_logits(batch)
    assert np.array_equal(cold, warm) and np.array_equal(cold, full)


chunk_texts = st.text(
    alphabet=st.one_of(st.sampled_from(list("abyou!.'_é🙂\x00") + ["\ud800"]), st.characters()),
    min_size=1,
    max_size=9,
).filter(lambda c: not any(ch.isspace() for ch in c))


@settings(max_examples=200, deadline=None)
@given(st.lists(chunk_texts, min_size=1, max_size=40))
def test_vectorised_char_sums_equal_the_per_chunk_loop_bit_for_bit(additive_scorer, chunks):
    """`sums_many` looks n-grams up as integers, all chunks at once; it must add the same values
    in the same order as the per-chunk loop (scikit-learn's char_wb rules, short chunks too)."""
    block = additive_scorer.model.fast.chars[0]
    assert block.table is not None  # the integer path, not its fallback
    s, q = block.sums_many(chunks)
    expected = [block.chunk_sums(c) for c in chunks]
    assert s.tolist() == [e[0] for e in expected] and q.tolist() == [e[1] for e in expected]


def test_char_n_grams_outside_the_alphabet_never_match(additive_scorer):
    block = additive_scorer.model.fast.chars[0]
    outside = chr(0x10FFFD)  # a private-use character no training text contains
    assert ord(outside) not in block.alphabet.tolist()
    s, q = block.sums_many([outside * 3, "ab" + outside, outside])
    assert s.tolist() == [block.chunk_sums(c)[0] for c in (outside * 3, "ab" + outside, outside)]
    assert q[0] == 0.0 and q[2] == 0.0  # no n-gram of a chunk made only of it is known


def test_an_alphabet_too_large_for_integer_keys_falls_back_to_the_loop(additive_scorer):
    from app.core.engine.fast_chars import CharBlock

    block = additive_scorer.model.fast.chars[0]
    terms = list(block.grams)
    w = np.array([block.grams[t][0] for t in terms])
    q = np.array([block.grams[t][1] for t in terms])

    class Wide:  # n-grams so long that base ** max_n does not fit in 62 bits
        ngram_range = (2, 12)

    wide = CharBlock(Wide, terms, w, q)
    assert wide.table is None
    chunks = ["you", "idiot!", "é🙂", "a"]
    s, _ = wide.sums_many(chunks)
    assert s.tolist() == [wide.chunk_sums(c)[0] for c in chunks]


# --- probabilities ------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=50))
def test_sigmoid_is_scipys_expit_bit_for_bit(logits):
    """Scores stay the bytes they were when SciPy computed them (eval arrays, earlier runs)."""
    from scipy.special import expit

    from app.core.engine.reference import sigmoid

    edges = [0.0, -0.0, 708.9, 709.0, 709.5, 709.78, 709.79, 745.2, 1e308, 36.7, -36.7, 1e-300]
    z = np.array(logits + edges + [-e for e in edges], dtype=np.float64)
    got = sigmoid(z)
    np.testing.assert_array_equal(got, expit(z))  # NaN where expit gives NaN
    assert got.dtype == np.float64 and sigmoid(z[:24].reshape(2, 12)).shape == (2, 12)
    rng = np.random.default_rng(7)
    dense = rng.normal(0.0, 6.0, 20_000)
    assert np.array_equal(sigmoid(dense), expit(dense))
