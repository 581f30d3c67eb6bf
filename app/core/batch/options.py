"""What a batch job is given and what it reports: `BatchOptions`, `BatchProgress`, `BatchReport`.

Plain data, below the job itself (`app.core.batch.run`) and its checkpoints
(`app.core.batch.checkpoint_schema` names a job by its options and report), so neither of those
has to import the other. May import `app.core.common`, `app.core.batch.words` and the
constants of `app.core.batch.rows`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from app import __version__
from app.core.batch.rows import BAND_COUNT_KEYS
from app.core.batch.words import counted, ledger_counts, renamed_line
from app.core.common.messages import fmt_threshold
from app.core.export.xlsx_writer import control_note

DEFAULT_CHUNK_ROWS = 5_000


@dataclass(frozen=True)
class BatchOptions:
    input_path: Path
    output_path: Path
    threshold: float
    text_column: str | None = None  # None: the automatic rule of csv_sniff.choose_text_column
    output_format: str = "csv"  # "csv" or "xlsx"
    encoding: str | None = None  # None: detected
    delimiter: str | None = None  # None: detected
    chunk_rows: int = DEFAULT_CHUNK_ROWS
    # Worker processes that score ahead of the reader/writer (app.core.batch.parallel); 1 scores in
    # this process. Files under PARALLEL_MIN_BYTES are always scored here (start-up would cost
    # more than it saves).
    workers: int = 1
    # Where the rejected rows are written at the end (`app.core.batch.rejected`); None: nowhere.
    rejected_path: Path | None = None
    # True when the user named `rejected_path` and allowed replacing a file there that is not ours
    # (``--rejected FILE --overwrite``); the default name never replaces a file that is not ours.
    rejected_replace: bool = False
    # --no-rejected: the default name, where none is written but an earlier file of ours (stale:
    # the new provenance will not name it) is removed, as after a run with none rejected.
    rejected_stale: Path | None = None
    # The band policy (review_at, escalate_at), checked by `analysis.bands.BandPolicy`; None: no
    # abuse_band column (`app.core.batch.rows`).
    bands: tuple[float, float] | None = None


@dataclass(frozen=True)
class BatchProgress:
    bytes_read: int
    bytes_total: int
    rows_read: int
    rows_scored: int
    elapsed: float

    @property
    def fraction(self) -> float:
        return min(1.0, self.bytes_read / self.bytes_total) if self.bytes_total else 1.0

    @property
    def rows_per_second(self) -> float:
        return self.rows_read / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def seconds_left(self) -> float | None:
        done = self.fraction
        return self.elapsed * (1 - done) / done if done > 0 else None


@dataclass
class BatchReport:
    input: str
    output: str
    output_format: str
    rows_read: int = 0
    rows_scored: int = 0
    rows_rejected: int = 0
    rows_blank: int = 0
    rows_written: int = 0
    rows_flagged: int = 0
    rows_truncated: int = 0
    rows_disagreeing: int = 0  # scored rows the challenger labels differently (0 without one)
    # The band policy [review_at, escalate_at] ([] without one) and the scored rows per band.
    bands: list[float] = field(default_factory=list)
    rows_clear: int = 0
    rows_review: int = 0
    rows_escalate: int = 0
    control_cells_replaced: int = 0  # XLSX only: cells whose control characters became U+FFFD
    rejected: list[dict[str, Any]] = field(default_factory=list)
    encoding: str = ""
    delimiter: str = ""
    text_column: str = ""
    columns_renamed: str = ""  # duplicate header names made unique (`csv_header.renamed_note`)
    rejected_file: str = ""  # the name of the rejected-rows file written, "" if none
    rejected_sha256: str = ""  # its SHA-256, recorded so a later run can tell it is untouched
    rejected_not_written: str = ""  # why rows were rejected but no file was written, "" if not
    model_version: str = ""
    challenger_version: str = ""  # "" when the job had no challenger
    challenger_manifest_sha256: str = ""
    # The scoring mode (`app.core.batch.cascade`): fast, cascade or thorough. In cascade mode the
    # thorough engine that re-scored the rows in its band [cascade_low, cascade_high], and how many.
    mode: str = "fast"
    rescored_by: str = ""
    rescored_manifest_sha256: str = ""
    cascade_low: float = 0.0
    cascade_high: float = 0.0
    rows_rescored: int = 0
    threshold: float = 0.0
    input_sha256: str = ""
    started_utc: str = ""
    seconds: float = 0.0
    app_version: str = __version__

    @property
    def balanced(self) -> bool:
        return self.rows_read == self.rows_scored + self.rows_rejected + self.rows_blank

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def provenance(self) -> dict[str, Any]:
        keys = (
            "model_version",
            "threshold",
            "input",
            "input_sha256",
            "text_column",
            "encoding",
            "delimiter",
            "started_utc",
            "app_version",
            "rows_read",
            "rows_scored",
            "rows_rejected",
            "rows_blank",
        )
        provenance = {key: getattr(self, key) for key in keys}
        for key in ("columns_renamed", "rejected_file", "rejected_sha256"):  # absent when empty
            if getattr(self, key):
                provenance[key] = getattr(self, key)
        if self.rejected_not_written:
            provenance.update(rejected_file=None, rejected_not_written=self.rejected_not_written)
        if self.challenger_version:  # absent without a challenger: such outputs are unchanged
            provenance.update(
                challenger_version=self.challenger_version,
                challenger_manifest_sha256=self.challenger_manifest_sha256,
                rows_disagreeing=self.rows_disagreeing,
            )
        if self.mode != "fast":  # absent in fast mode: such outputs are unchanged
            provenance["mode"] = self.mode
        if self.rescored_by:
            provenance["cascade"] = {
                "rescored_by": self.rescored_by,
                "rescored_manifest_sha256": self.rescored_manifest_sha256,
                "low": self.cascade_low,
                "high": self.cascade_high,
                "rows_rescored": self.rows_rescored,
            }
        if self.bands:  # absent without a policy: such outputs are unchanged
            provenance["bands"] = {
                "review_at": self.bands[0],
                "escalate_at": self.bands[1],
                "rows": self.band_counts(),
            }
        return provenance

    def band_counts(self) -> dict[str, int]:
        """Scored rows per band, low to high ({} without a band policy)."""
        if not self.bands:
            return {}
        return {key[5:]: int(getattr(self, key)) for key in BAND_COUNT_KEYS}

    def band_line(self) -> str:
        """One line on the bands ("" without a policy), for summaries and the Batch status."""
        if not self.bands:
            return ""
        counts = ", ".join(f"{n:,} {name}" for name, n in self.band_counts().items())
        review, escalate = (fmt_threshold(cut) for cut in self.bands)
        return f"bands: {counts} (review at {review}, escalate at {escalate})"

    def band_status(self) -> str:
        """The band line and, when the policy contradicts the threshold, why (one line; ""
        without a policy): the Batch panel's status after a job."""
        note = band_threshold_note(self.threshold, self.bands) if self.bands else ""
        return self.band_line() + (f"; note: {note}" if note else "")

    def disagreement(self) -> str:
        """One line on the challenger ("" without one), for summaries and the log."""
        if not self.challenger_version:
            return ""
        return (
            f"challenger {self.challenger_version} disagrees on {self.rows_disagreeing:,} of "
            f"{self.rows_scored:,} scored rows"
        )

    def rescored_line(self) -> str:
        """ "N rows re-scored by abuse-mini 1.0.0 (...)" in cascade mode, else ""."""
        if not self.rescored_by:
            return ""
        # Four significant digits: the band ends are validation quantiles, not chosen numbers
        # (the report's JSON keeps them exact).
        low, high = f"{self.cascade_low:.4g}", f"{self.cascade_high:.4g}"
        return (
            f"{counted(self.rows_rescored)} re-scored by {self.rescored_by} "
            f"(cascade: fast score from {low} to {high})"
        )

    def summary(self) -> str:
        rate = self.rows_read / self.seconds if self.seconds > 0 else 0.0
        counts = ledger_counts(
            self.rows_read, self.rows_scored, self.rows_rejected, self.rows_blank
        ).replace(
            " scored,",
            f" scored ({self.rows_flagged:,} flagged at {fmt_threshold(self.threshold)}),",
        )
        text = f"{counts}; wrote {self.output} in {self.seconds:.1f} s ({rate:,.0f} rows/s)"
        if self.columns_renamed:
            text += f"\n{renamed_line(self.columns_renamed)}"
        if self.control_cells_replaced:
            text += f"\nnote: {control_note(self.control_cells_replaced)}"
        if self.challenger_version:
            text += f"\n{self.disagreement()}"
        if self.rescored_by:
            text += f"\n{self.rescored_line()}"
        if self.bands:
            text += f"\n{self.band_line()}"
            if note := band_threshold_note(self.threshold, self.bands):
                text += f"\nnote: {note}"
        if self.rejected:
            first = self.rejected[0]
            text += f"\nfirst rejected row: line {first['line']}: {first['reason']}"
            if self.rejected_file:
                text += f"\nrejected rows written to {self.rejected_file}"
            # An unterminated quote swallows the lines after it into one rejected row: the
            # row count alone would hide them, so say how many lines went that way.
            spans = [r for r in self.rejected if "consumed)" in str(r.get("reason", ""))]
            if spans:
                text += (
                    f"\nwarning: {len(spans):,} rejected row(s) took several lines each (an "
                    f"unterminated quote runs on to the next quote), first at line "
                    f"{spans[0]['line']}: those lines were not scored; fix the quote and score again"
                )
        return text


def band_threshold_note(threshold: float, bands: list[float] | tuple[float, float]) -> str:
    """Why a band policy and the threshold may confuse an analyst ("" when they agree).

    ``abuse_label`` is the threshold's decision and the band a separate one: a review cut below
    the threshold is the usual policy (benign-labelled rows near it are reviewed); an escalate
    cut below the threshold, or a review cut above it, puts rows in a band that contradicts
    their label, and is said so.
    """
    review_at, escalate_at = bands
    t = fmt_threshold(threshold)
    if escalate_at < threshold:
        return (
            f"the escalate cut {fmt_threshold(escalate_at)} is below the threshold {t}: rows "
            f"scored from {fmt_threshold(escalate_at)} to below {t} are escalated but labelled "
            "benign"
        )
    if review_at > threshold:
        return (
            f"the review cut {fmt_threshold(review_at)} is above the threshold {t}: rows scored "
            f"from {t} to below {fmt_threshold(review_at)} are labelled abusive but cleared"
        )
    return ""


def line_span(entry: Mapping[str, Any]) -> str:
    """A rejected row's physical lines as the ledger shows them: "12", or "12–24" for a record
    that spans lines (lists written before spans were recorded have no "last")."""
    first, last = entry["line"], entry.get("last", entry["line"])
    return f"{first}–{last}" if last > first else str(first)


def summary_counts(report: BatchReport) -> Mapping[str, int]:
    """The ledger as logged with batch_finished (with the disagreements, given a challenger)."""
    keys = ["rows_read", "rows_scored", "rows_rejected", "rows_blank", "rows_flagged"]
    keys += ["rows_disagreeing"] if report.challenger_version else []
    keys += ["rows_rescored"] if report.rescored_by else []
    return {key: int(getattr(report, key)) for key in keys}
