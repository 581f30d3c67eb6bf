"""Loading the public training data and splitting it honestly.

Sources (read from a folder laid out like ``../shared/data``):

* Davidson et al. 2017, ``davidson/labeled_data.csv``: ``class`` 0 hate speech and 1 offensive
  language count as abusive, 2 (neither) as benign.
* OLID v1.0, ``olid/olid-training-v1.0.tsv``: ``subtask_a`` OFF is abusive, NOT benign. The file
  uses bare double quotes inside tweets, so it is read with quoting switched off.

Texts are deduplicated on their normalised form *before* splitting, so no test text also sits in
training. The split is stratified on (dataset, label) and seeded.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from app.core.bundles.bundle import sha256_file
from app.core.common.errors import InputError
from app.core.engine.normalize import dedupe_key

DAVIDSON_FILE = Path("davidson") / "labeled_data.csv"
OLID_FILE = Path("olid") / "olid-training-v1.0.tsv"


@dataclass
class Corpus:
    texts: list[str]
    labels: np.ndarray  # int8, 1 = abusive
    origins: np.ndarray  # dataset name per text
    sources: list[dict[str, object]] = field(default_factory=list)
    dedup: dict[str, int] = field(default_factory=dict)

    def subset(self, index: np.ndarray) -> Corpus:
        return Corpus([self.texts[i] for i in index], self.labels[index], self.origins[index])

    def concat(self, other: Corpus) -> Corpus:
        return Corpus(
            self.texts + other.texts,
            np.concatenate([self.labels, other.labels]),
            np.concatenate([self.origins, other.origins]),
        )

    def strata(self) -> np.ndarray:
        """(dataset, label) per item: what splits and folds are stratified on."""
        return np.char.add(self.origins, self.labels.astype(str))


def _read_davidson(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(
        path, usecols=["class", "tweet"], dtype={"class": "int64", "tweet": "string"}
    )
    return pd.DataFrame(
        {
            "text": frame["tweet"].fillna(""),
            "label": (frame["class"] != 2).astype("int8"),
            "origin": "davidson",
        }
    )


def _read_olid(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(
        path, sep="\t", quoting=csv.QUOTE_NONE, usecols=["tweet", "subtask_a"], dtype="string"
    )
    unknown = set(frame["subtask_a"].unique()) - {"OFF", "NOT"}
    if unknown:
        raise InputError(f"{path}: unexpected subtask_a labels {sorted(unknown)}")
    return pd.DataFrame(
        {
            "text": frame["tweet"].fillna(""),
            "label": (frame["subtask_a"] == "OFF").astype("int8"),
            "origin": "olid",
        }
    )


def load_corpus(data_dir: str | Path) -> Corpus:
    """Read both datasets, record their hashes, and deduplicate on normalised text."""
    data_dir = Path(data_dir)
    frames, sources = [], []
    for name, rel, reader in (
        ("davidson", DAVIDSON_FILE, _read_davidson),
        ("olid", OLID_FILE, _read_olid),
    ):
        path = data_dir / rel
        if not path.is_file():
            raise InputError(f"training data file {path} not found")
        frame = reader(path)
        frames.append(frame)
        sources.append(
            {"name": name, "file": rel.as_posix(), "sha256": sha256_file(path), "rows": len(frame)}
        )
    data = pd.concat(frames, ignore_index=True)
    data["key"] = [dedupe_key(t) for t in data["text"]]
    data = data[data["key"] != ""]
    # One item per normalised text; its label is the majority, and exact ties are dropped as
    # unresolvable rather than guessed.
    grouped = data.groupby("key", sort=False).agg(
        text=("text", "first"),
        origin=("origin", "first"),
        votes=("label", "sum"),
        n=("label", "size"),
    )
    decided = grouped[grouped["votes"] * 2 != grouped["n"]]
    dedup = {
        "rows_in": int(sum(s["rows"] for s in sources)),  # type: ignore[misc]
        "empty_after_normalization": int(sum(s["rows"] for s in sources)) - len(data),  # type: ignore[misc]
        "duplicate_rows_merged": int(len(data) - len(grouped)),
        "tied_label_groups_dropped": int(len(grouped) - len(decided)),
        "items": int(len(decided)),
    }
    labels = (decided["votes"] * 2 > decided["n"]).to_numpy().astype(np.int8)
    return Corpus(
        texts=decided["text"].tolist(),
        labels=labels,
        origins=decided["origin"].to_numpy().astype("<U16"),
        sources=sources,
        dedup=dedup,
    )


@dataclass
class Split:
    train: Corpus
    validation: Corpus
    test: Corpus
    seed: int

    def sizes(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for part_name in ("train", "validation", "test"):
            part: Corpus = getattr(self, part_name)
            counts = {"total": len(part.texts), "abusive": int(part.labels.sum())}
            for origin in sorted(set(part.origins.tolist())):
                counts[origin] = int((part.origins == origin).sum())
            out[part_name] = counts
        return out


def split_corpus(corpus: Corpus, seed: int, validation: float = 0.15, test: float = 0.15) -> Split:
    strata = corpus.strata()
    index = np.arange(len(corpus.texts))
    rest, test_idx = train_test_split(index, test_size=test, random_state=seed, stratify=strata)
    train_idx, val_idx = train_test_split(
        rest, test_size=validation / (1 - test), random_state=seed + 1, stratify=strata[rest]
    )
    return Split(corpus.subset(train_idx), corpus.subset(val_idx), corpus.subset(test_idx), seed)
