"""Scored batch results held in memory: vectorised filter/sort, re-labelling, export, datasets.

The desktop results table must stay smooth at a million rows, so nothing here loops over rows in
Python except the streaming export: a view is a numpy index array computed in one pass (boolean
masks, ``np.strings.find`` on a lower-cased ``StringDType`` copy, stable ``argsort``), and the
Qt proxy only looks rows up in it. Texts are stored as ``StringDType`` (one arena, not a million
``str`` objects). Labels are never stored: a row is abusive iff ``score >= threshold`` (the rule of
`scoring.label_for`), so re-labelling at another threshold is free and always consistent.

The job also writes a scored cache file (every input column); exports stream that file back
through the formula-safe writers with labels recomputed at the export threshold.
"""

from __future__ import annotations

import csv
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO, cast

import numpy as np

from app.core.atomic import atomic_open, atomic_path
from app.core.batch import OUTPUT_COLUMNS, BatchOptions, BatchProgress, BatchReport, run_batch
from app.core.csv_sniff import choose_text_column, sniff
from app.core.errors import InputError, JobCancelled
from app.core.export import CsvExportWriter, XlsxExportWriter, write_provenance_sidecar
from app.core.labeled import label_parser
from app.core.paths import user_data_dir
from app.core.scoring import Scorer, label_for

STRINGS = np.dtypes.StringDType()
SORT_KEYS = ("line", "score", "text", "gold")
LABEL_COLUMN_NAMES = ("label", "labels", "class", "gold", "subtask_a", "is_abusive", "toxic")
_CANCEL_EVERY = 2_000  # rows between cancel checks in the export: well under 0.1 s


@dataclass
class ResultsTable:
    """One scored file, column-wise, in file order. NaN score = the text cell was blank."""

    lines: np.ndarray  # int64, input line of each row
    scores: np.ndarray  # float64
    texts: np.ndarray  # StringDType
    gold: np.ndarray | None = None  # StringDType raw cells of the file's label column, if chosen
    gold_column: str | None = None
    _lower: np.ndarray | None = field(default=None, init=False, repr=False)  # for search

    @classmethod
    def from_arrays(
        cls,
        lines: Sequence[int] | np.ndarray,
        scores: Sequence[float] | np.ndarray,
        texts: Sequence[str] | np.ndarray,
        gold: Sequence[str] | np.ndarray | None = None,
        gold_column: str | None = None,
    ) -> ResultsTable:
        table = cls(
            np.asarray(lines, dtype=np.int64),
            np.asarray(scores, dtype=np.float64),
            np.asarray(texts, dtype=STRINGS),
            None if gold is None else np.asarray(gold, dtype=STRINGS),
            gold_column if gold is not None else None,
        )
        sizes = {len(table.lines), len(table.scores), len(table.texts)}
        if table.gold is not None:
            sizes.add(len(table.gold))
        if len(sizes) != 1:
            raise ValueError(f"results columns differ in length: {sorted(sizes)}")
        return table

    def __len__(self) -> int:
        return len(self.scores)

    def contains(self, needle: str) -> np.ndarray:
        """Case-insensitive substring match on the texts; the lower-cased copy is made once."""
        if self._lower is None:
            self._lower = np.strings.lower(self.texts)
        return cast(np.ndarray, np.strings.find(self._lower, needle.lower()) >= 0)


def flagged_mask(scores: np.ndarray, threshold: float) -> np.ndarray:
    """Abusive rows at `threshold` (blank texts, NaN, never are): `label_for`, vectorised."""
    with np.errstate(invalid="ignore"):
        return scores >= threshold


@dataclass(frozen=True)
class ViewSpec:
    """What the results table shows. A score bound of None excludes nothing, not even blank
    texts (which have no score); any numeric bound excludes them."""

    flagged_only: bool = False
    min_score: float | None = None
    max_score: float | None = None
    search: str = ""
    sort_key: str = "line"
    descending: bool = False

    def describe(self) -> str:
        parts = ["flagged only"] if self.flagged_only else []
        if self.min_score is not None or self.max_score is not None:
            low, high = self.min_score or 0.0, 1.0 if self.max_score is None else self.max_score
            parts.append(f"score {low:.3f}-{high:.3f}")
        if self.search:
            parts.append(f"text contains {self.search!r}")
        return ", ".join(parts) or "all rows"


def filter_mask(table: ResultsTable, spec: ViewSpec, threshold: float) -> np.ndarray:
    mask = np.ones(len(table), dtype=bool)
    scores = table.scores
    with np.errstate(invalid="ignore"):
        if spec.flagged_only:
            mask &= scores >= threshold
        if spec.min_score is not None:
            mask &= scores >= spec.min_score
        if spec.max_score is not None:
            mask &= scores <= spec.max_score
    if spec.search:
        mask &= table.contains(spec.search)
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
    if spec.sort_key == "score":
        scores = table.scores[idx]
        blank = np.isnan(scores)
        rated, unrated = idx[~blank], idx[blank]
        return np.concatenate([rated[_stable_order(scores[~blank], spec.descending)], unrated])
    if spec.sort_key == "gold" and table.gold is None:
        return idx
    column = table.gold if spec.sort_key == "gold" else table.texts
    assert column is not None
    return idx[_stable_order(column[idx], spec.descending)]


@dataclass
class ThresholdDataset:
    """What the Threshold panel needs from a labelled file, and what was left out and why."""

    scores: np.ndarray
    labels: np.ndarray  # int8, 1 = abusive
    texts: list[str]
    blank_text: int = 0
    unknown: dict[str, int] = field(default_factory=dict)  # label value -> rows

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
    )


def guess_label_column(header: Sequence[str], text_column: str | None) -> str | None:
    """The first column with a usual gold-label name (label, class, toxic...), never the text."""
    for name in header:
        if name != text_column and " ".join(name.split()).casefold() in LABEL_COLUMN_NAMES:
            return name
    return None


class _Collector:
    """Turns `run_batch`'s ``on_rows`` chunks into column arrays (runs on the worker thread)."""

    def __init__(self, text_index: int, gold_index: int | None) -> None:
        self.text_index, self.gold_index = text_index, gold_index
        self.parts: list[tuple[np.ndarray, ...]] = []

    def add(self, rows: list[list[object]], lines: list[int]) -> None:
        score_at = -len(OUTPUT_COLUMNS)  # output rows end with our four columns
        part = [
            np.asarray(lines, dtype=np.int64),
            np.array([row[score_at] for row in rows], dtype=np.float64),  # None -> NaN
            np.array([row[self.text_index] for row in rows], dtype=STRINGS),
        ]
        if self.gold_index is not None:
            part.append(np.array([row[self.gold_index] for row in rows], dtype=STRINGS))
        self.parts.append(tuple(part))

    def column(self, i: int, dtype: Any) -> np.ndarray:
        arrays = [part[i] for part in self.parts]
        return np.concatenate(arrays) if arrays else np.empty(0, dtype=dtype)


@dataclass
class ScoredFile:
    report: BatchReport
    table: ResultsTable
    cache_path: Path


def score_file(
    scorer: Scorer,
    options: BatchOptions,
    gold_column: str | None,
    progress: Callable[[BatchProgress], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> ScoredFile:
    """`run_batch` into the cache file named by ``options.output_path``, keeping the results."""
    sniffed = sniff(options.input_path, encoding=options.encoding, delimiter=options.delimiter)
    text_column = choose_text_column(sniffed.header, sniffed.preview, options.text_column)
    gold_index = None
    if gold_column is not None:
        gold_column = choose_text_column(sniffed.header, [], gold_column)
        if gold_column == text_column:
            raise InputError(f"The text and the label column are both {text_column!r}.")
        gold_index = sniffed.header.index(gold_column)
    collector = _Collector(sniffed.header.index(text_column), gold_index)
    report = run_batch(scorer, options, progress, cancelled, on_rows=collector.add)
    table = ResultsTable.from_arrays(
        collector.column(0, np.int64),
        collector.column(1, np.float64),
        collector.column(2, STRINGS),
        collector.column(3, STRINGS) if gold_index is not None else None,
        gold_column,
    )
    return ScoredFile(report, table, options.output_path)


def export_provenance(
    report: BatchReport, threshold: float, rows: int, spec: ViewSpec | None
) -> dict[str, Any]:
    """The job's provenance, with ``threshold`` the one the exported labels were computed at."""
    provenance = report.provenance()
    provenance.update(
        threshold=threshold,
        job_threshold=report.threshold,
        relabelled=threshold != report.threshold,
        exported_utc=datetime.now(UTC).replace(microsecond=0).isoformat(),
        rows_exported=rows,
        export_filter=(spec or ViewSpec()).describe(),
    )
    return provenance


def export_scored(
    cache: Path,
    dest: Path,
    fmt: str,
    *,
    report: BatchReport,
    threshold: float,
    keep: np.ndarray | None = None,
    spec: ViewSpec | None = None,
    progress: Callable[[int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> int:
    """Stream the scored cache into `dest` (csv or xlsx), relabelled at `threshold`.

    `keep` (a boolean mask in file order, e.g. `filter_mask`) selects rows; `spec` only names
    that filter in the provenance. Returns the number of rows written. The cache's cells are
    already neutralised; neutralising again is a no-op, so nothing is quoted twice.
    """
    if fmt not in ("csv", "xlsx"):
        raise InputError(f"unknown export format {fmt!r} (use csv or xlsx)")
    if dest.resolve() == cache.resolve():
        raise InputError(f"{dest} is the job's own cache file; choose another name.")
    with open(cache, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        score_at = len(header) - len(OUTPUT_COLUMNS)
        written = [0]

        def rows() -> Any:
            index = -1
            for index, row in enumerate(reader):
                if index % _CANCEL_EVERY == 0:
                    if cancelled and cancelled():
                        raise JobCancelled("Export cancelled.")
                    if progress:
                        progress(index)
                if keep is not None and (index >= len(keep) or not keep[index]):
                    continue
                cell = row[score_at]
                score = float(cell) if cell else None
                label = "" if score is None else label_for(score, threshold)
                written[0] += 1
                yield [*row[:score_at], score, label, *row[score_at + 2 :]]
            if keep is not None and index + 1 != len(keep):  # cache and table out of step
                raise RuntimeError(f"{cache} holds {index + 1} rows, the table {len(keep)}")

        if fmt == "csv":
            with atomic_open(dest) as out:
                CsvExportWriter(cast(TextIO, out), header).write_rows(rows())
            write_provenance_sidecar(dest, export_provenance(report, threshold, written[0], spec))
        else:
            with atomic_path(dest) as tmp, XlsxExportWriter(tmp, header) as xlsx:
                xlsx.write_rows(rows())
                xlsx.close(export_provenance(report, threshold, written[0], spec))
    return written[0]


def jobs_folder(root: Path | None = None) -> Path:
    """A private cache folder for this session's scored files (removed by `remove_jobs_folder`).

    Folders older than a day are crash leftovers and are pruned: scored texts may hold personal
    data, which the app keeps no longer than the session (the activity log keeps none by default).
    """
    base = (root or user_data_dir()) / "jobs"
    base.mkdir(parents=True, exist_ok=True)
    for old in base.iterdir():
        if old.is_dir() and time.time() - old.stat().st_mtime > 86_400:
            shutil.rmtree(old, ignore_errors=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    for n in range(1000):
        folder = base / f"{stamp}-{n}"
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        return folder
    raise OSError(f"could not create a job folder in {base}")


def remove_cache(path: Path) -> None:
    """Delete a scored cache file and its provenance sidecar, if present."""
    for target in (path, Path(f"{path}.provenance.json")):
        target.unlink(missing_ok=True)


def summary_counts(report: BatchReport) -> Mapping[str, int]:
    """The ledger as logged with batch_finished."""
    keys = ("rows_read", "rows_scored", "rows_rejected", "rows_blank", "rows_flagged")
    return {key: int(getattr(report, key)) for key in keys}
