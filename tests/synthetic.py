"""Small synthetic stand-ins for the public datasets, so tests never need ../shared."""

from __future__ import annotations

import csv
import random
from pathlib import Path

ABUSIVE_WORDS = ["idiot", "stupid", "moron", "trash", "loser", "pathetic", "scum", "dumb"]
BENIGN_WORDS = ["lovely", "thanks", "meeting", "sunny", "coffee", "friend", "garden", "music"]
FILLER = ["the", "you", "are", "a", "this", "is", "so", "really", "today", "we", "our", "team"]


def sentence(rng: random.Random, abusive: bool) -> str:
    pool = ABUSIVE_WORDS if abusive else BENIGN_WORDS
    words = [rng.choice(FILLER) for _ in range(rng.randint(3, 8))]
    for _ in range(rng.randint(1, 2)):
        words.insert(rng.randrange(len(words) + 1), rng.choice(pool))
    if rng.random() < 0.3:
        words.insert(0, "@someone" if rng.random() < 0.5 else "@USER")
    if rng.random() < 0.2:
        words.append("http://t.co/x" if rng.random() < 0.5 else "URL")
    return " ".join(words)


def labelled_texts(n: int, seed: int = 7, noise: float = 0.1) -> tuple[list[str], list[int]]:
    rng = random.Random(seed)
    texts, labels = [], []
    for i in range(n):
        abusive = rng.random() < 0.5
        texts.append(f"{sentence(rng, abusive)} #{i}")
        labels.append(int(abusive) if rng.random() > noise else int(not abusive))
    return texts, labels


def write_public_like_data(root: Path, n_davidson: int = 500, n_olid: int = 300) -> Path:
    """Files shaped like davidson/labeled_data.csv and olid/olid-training-v1.0.tsv."""
    (root / "davidson").mkdir(parents=True)
    (root / "olid").mkdir(parents=True)
    texts, labels = labelled_texts(n_davidson, seed=1)
    with open(root / "davidson" / "labeled_data.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            ["", "count", "hate_speech", "offensive_language", "neither", "class", "tweet"]
        )
        for i, (text, label) in enumerate(zip(texts, labels, strict=True)):
            cls = (i % 2) if label else 2
            writer.writerow([i, 3, 0, 3, 0, cls, f"RT {text} &amp; more"])
    texts, labels = labelled_texts(n_olid, seed=2)
    with open(root / "olid" / "olid-training-v1.0.tsv", "w", encoding="utf-8") as fh:
        fh.write("id\ttweet\tsubtask_a\tsubtask_b\tsubtask_c\n")
        for i, (text, label) in enumerate(zip(texts, labels, strict=True)):
            fh.write(f'{i}\t"{text}" said\t{"OFF" if label else "NOT"}\tNULL\tNULL\n')
    return root


def tiny_candidates():
    """Small candidate configurations: training on synthetic data takes seconds."""
    from app.core.training.recipe import Candidate

    word = {"analyzer": "word", "ngram_range": (1, 2), "min_df": 1, "sublinear_tf": True}
    unigram = {"analyzer": "word", "ngram_range": (1, 1), "min_df": 1, "sublinear_tf": True}
    char = {"analyzer": "char_wb", "ngram_range": (2, 4), "min_df": 1, "sublinear_tf": True}
    return (
        Candidate("word", (("word", word),), 4.0, False),
        Candidate(
            "word-char-nb",
            (("word", unigram), ("char", char)),
            4.0,
            True,
            (("all", 1.0), ("olid", 0.5)),
        ),
    )


def tiny_additive_candidates():
    """Count-idf-sqrt candidates (the fast scorer's feature map), one with identity mitigation."""
    from app.core.training.recipe import Candidate

    def block(name, analyzer, ngrams):
        settings = {"analyzer": analyzer, "ngram_range": ngrams, "min_df": 1}
        return name, dict(settings, weighting="count-idf-sqrt")

    blocks = (block("word", "word", (1, 2)), block("char", "char_wb", (2, 4)))
    return (
        Candidate("additive", blocks, 4.0, True, (("all", 1.0), ("olid", 0.5))),
        Candidate(
            "additive-mitigated",
            blocks,
            4.0,
            True,
            (("all", 1.0), ("olid", 0.5)),
            augmentation=(2, 1),
            identity_cap="words+char",
        ),
    )
