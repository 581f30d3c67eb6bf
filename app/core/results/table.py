"""Scored batch results held in memory: the table, its vectorised filter/sort, labelled datasets.

The desktop results table must stay smooth at a million rows, so nothing here loops over rows in
Python: a view is a numpy index array computed in one pass (boolean masks, ``np.strings.find`` on
a lower-cased ``StringDType`` copy, stable ``argsort``), and the Qt proxy only looks rows up in
it. Texts are stored as ``StringDType`` (one arena, not a million ``str`` objects). Labels are
never stored: a row is abusive iff ``score >= threshold`` (the rule of `scoring.flagged`), so
re-labelling at another threshold is free and always consistent.

Filling a table from a scoring job, and the job's cache file, are `results_cache`; streaming that
cache back out relabelled is `results_export`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast

import numpy as np

from app.core.analysis.bands import BANDS, BandPolicy, band_codes
from app.core.analysis.labeled import label_parser
from app.core.common.errors import InputError
from app.core.engine.scoring import flagged

STRINGS = np.dtypes.StringDType()
SORT_KEYS = ("line", "score", "text", "gold", "challenger_score", "band")


@dataclass
class ResultsTable:
    """One scored file, column-wise, in file order. NaN score = the text cell was blank."""

    lines: np.ndarray  # int64, input line of each row
    scores: np.ndarray  # float64
    texts: np.ndarray  # StringDType
    gold: np.ndarray | None = None  # StringDType raw cells of the file's label column, if chosen
    gold_column: str | None = None
    # A challenger's scores (NaN where the text was blank) when the job had one; they are shown
    # and exported beside the active model's, and never decide anything (labels, filters).
    challenger_scores: np.ndarray | None = None
    challenger_version: str = ""
    # The job's band policy (review_at, escalate_at), None without one; a row's band is computed
    # from its score by `analysis.bands.band_codes`, as its label is, never stored.
    bands: tuple[float, float] | None = None
    _lower: np.ndarray | None = field(default=None, init=False, repr=False)  # for search

    @classmethod
    def from_arrays(
        cls,
        lines: Sequence[int] | np.ndarray,
        scores: Sequence[float] | np.ndarray,
        texts: Sequence[str] | np.ndarray,
        gold: Sequence[str] | np.ndarray | None = None,
        gold_column: str | None = None,
        *,
        challenger_scores: Sequence[float] | np.ndarray | None = None,
        challenger_version: str = "",
        bands: tuple[float, float] | None = None,
    ) -> ResultsTable:
        table = cls(
            np.asarray(lines, dtype=np.int64),
            np.asarray(scores, dtype=np.float64),
            np.asarray(texts, dtype=STRINGS),
            None if gold is None else np.asarray(gold, dtype=STRINGS),
            gold_column if gold is not None else None,
            None if challenger_scores is None else np.asarray(challenger_scores, np.float64),
            challenger_version if challenger_scores is not None else "",
            None if bands is None else (float(bands[0]), float(bands[1])),
        )
        sizes = {len(table.lines), len(table.scores), len(table.texts)}
        for optional in (table.gold, table.challenger_scores):
            if optional is not None:
                sizes.add(len(optional))
        if len(sizes) != 1:
            raise ValueError(f"results columns differ in length: {sorted(sizes)}")
        return table

    def flagged_count(self, threshold: float) -> int:
        """Scored rows at or above ``threshold`` (a blank text has no score: never flagged)."""
        return int(np.count_nonzero(flagged(self.scores, threshold)))

    def band_codes(self) -> np.ndarray | None:
        """Each row's band: 0 clear, 1 review, 2 escalate, -1 no score (None without a policy)."""
        if self.bands is None:
            return None
        return band_codes(self.scores, BandPolicy(*self.bands))

    def __len__(self) -> int:
        return len(self.scores)

    def contains(self, needle: str) -> np.ndarray:
        """Case-insensitive substring match on the texts; the lower-cased copy is made once."""
        if self._lower is None:
            self._lower = np.strings.lower(self.texts)
        return cast(np.ndarray, np.strings.find(self._lower, needle.lower()) >= 0)


@dataclass(frozen=True)
class ViewSpec:
    """What the results table shows. A score bound of None excludes nothing, not even blank
    texts (which have no score); any numeric bound excludes them."""

    flagged_only: bool = False
    min_score: float | None = None
    max_score: float | None = None
    search: str = ""
    band: str = ""  # "" all rows, else one of `analysis.bands.BANDS`
    sort_key: str = "line"
    descending: bool = False

    def describe(self) -> str:
        parts = ["flagged only"] if self.flagged_only else []
        if self.min_score is not None or self.max_score is not None:
            low, high = self.min_score or 0.0, 1.0 if self.max_score is None else self.max_score
            parts.append(f"score {low:.3f}-{high:.3f}")
        if self.search:
            parts.append(f"text contains {self.search!r}")
        if self.band:
            parts.append(f"band {self.band}")
        return ", ".join(parts) or "all rows"


def filter_mask(table: ResultsTable, spec: ViewSpec, threshold: float) -> np.ndarray:
    """The rows `spec`'s filters keep, as a boolean mask in file order (`compute_view` sorts)."""
    mask = np.ones(len(table), dtype=bool)
    scores = table.scores
    if spec.flagged_only:
        mask &= flagged(scores, threshold)
    with np.errstate(invalid="ignore"):  # NaN (blank text) compares False: outside any bound
        if spec.min_score is not None:
            mask &= scores >= spec.min_score
        if spec.max_score is not None:
            mask &= scores <= spec.max_score
    if spec.search:
        mask &= table.contains(spec.search)
    if spec.band:
        if spec.band not in BANDS:
            raise ValueError(f"unknown band {spec.band!r}")
        codes = table.band_codes()  # a table without a policy has no row in any band
        mask &= False if codes is None else codes == BANDS.index(spec.band)
    return mask


def _stable_order(keys: np.ndarray, descending: bool) -> np.ndarray:
    """Stable argsort; descending keeps ties in ascending position order too."""
    if not descending:
        return np.argsort(keys, kind="stable")
    n = len(keys)
    return (n - 1 - np.argsort(keys[::-1], kind="stable"))[::-1]


def compute_view(table: ResultsTable, spec: ViewSpec, threshold: float) -> np.ndarray:
    """Row indices (into `table`) to show, in display order. Ties keep file order; rows without
    a score sort last in both directions (they have nothing to compare)."""
    if spec.sort_key not in SORT_KEYS:
        raise ValueError(f"unknown sort key {spec.sort_key!r}")
    idx = np.flatnonzero(filter_mask(table, spec, threshold))
    if spec.sort_key == "line":
        return idx[::-1].copy() if spec.descending else idx
    if spec.sort_key in ("score", "challenger_score"):
        column = table.scores if spec.sort_key == "score" else table.challenger_scores
        if column is None:
            return idx
        scores = column[idx]
        blank = np.isnan(scores)
        rated, unrated = idx[~blank], idx[blank]
        return np.concatenate([rated[_stable_order(scores[~blank], spec.descending)], unrated])
    if spec.sort_key == "band":  # low to high band, file order within one; no band last
        codes = table.band_codes()
        if codes is None:
            return idx
        rated = idx[codes[idx] >= 0]
        return np.concatenate(
            [rated[_stable_order(codes[rated], spec.descending)], idx[codes[idx] < 0]]
        )
    if spec.sort_key == "gold" and table.gold is None:
        return idx
    strings = table.gold if spec.sort_key == "gold" else table.texts
    assert strings is not None
    return idx[_stable_order(strings[idx], spec.descending)]


@dataclass
class ThresholdDataset:
    """What the Threshold panel needs from a labelled file, and what was left out and why."""

    scores: np.ndarray
    labels: np.ndarray  # int8, 1 = abusive
    texts: list[str]
    blank_text: int = 0
    unknown: dict[str, int] = field(default_factory=dict)  # label value -> rows
    lines: np.ndarray | None = None  # input line of each row, so listed items name theirs

    def describe(self) -> str:
        text = f"{len(self.scores):,} labelled rows"
        skipped = sum(self.unknown.values())
        if skipped:
            top = ", ".join(f"{v!r} x{n:,}" for v, n in sorted(self.unknown.items())[:5])
            text += f"; {skipped:,} rows with an unknown label left out ({top})"
        if self.blank_text:
            text += f"; {self.blank_text:,} blank texts left out"
        return text


def threshold_dataset(
    table: ResultsTable, positive_values: Sequence[str] | None = None
) -> ThresholdDataset:
    """Scores and parsed gold labels (`labeled.label_parser`); unknown labels are counted."""
    if table.gold is None:
        raise InputError("Choose a label column before sending results to the Threshold panel.")
    parse = label_parser(positive_values)
    values, inverse = np.unique(table.gold, return_inverse=True)  # parse each value once
    codes = np.array([-1 if (v := parse(s)) is None else v for s in values.tolist()], np.int8)
    labels = codes[inverse.reshape(-1)]
    blank = np.isnan(table.scores)
    keep = (labels >= 0) & ~blank
    unknown_idx, unknown_counts = np.unique(
        inverse.reshape(-1)[(labels < 0) & ~blank], return_counts=True
    )
    unknown = {str(values[i]): int(n) for i, n in zip(unknown_idx, unknown_counts, strict=True)}
    return ThresholdDataset(
        table.scores[keep].copy(),
        labels[keep].astype(np.int8),
        table.texts[keep].tolist(),
        int(blank.sum()),
        unknown,
        table.lines[keep].copy(),
    )
