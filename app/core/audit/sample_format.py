"""SAMPLE.csv's columns and sidecar kind, the validated file (`AuditSampleFile`), and the
helpers its writer and reader share (the score columns' run, a score cell, the text column,
the provenance sidecar). See `app.core.audit.sample_file` for the format; it re-exports these.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.core.analysis.label_mapping import ABUSIVE, BENIGN, MISSING_WORDS, LabelMapping, LabelRule
from app.core.audit.sample import STRATA
from app.core.common.errors import InputError
from app.core.common.output_guard import provenance_path
from app.core.csvio.csv_input import choose_text_column

# The columns a `score` job appends (`app.core.batch.rows.OUTPUT_COLUMNS`; a test keeps the two
# equal). Suffixed "_2", "_3"… when the input had them already; ours are the last such run.
SCORE_COLUMNS = ("abuse_score", "abuse_label", "model_version", "abuse_note")
# A job with a band policy writes `rows.BAND_COLUMN` after the label (`rows.added_columns`).
BANDED_SCORE_COLUMNS = (*SCORE_COLUMNS[:2], "abuse_band", *SCORE_COLUMNS[2:])
LINE, STRATUM, WEIGHT, VERDICT = "audit_line", "audit_stratum", "audit_weight", "verdict"
AUDIT_COLUMNS = (LINE, STRATUM, WEIGHT, VERDICT)
SIDECAR_KIND = "abuse-desk audit sample"
FORMAT_VERSION = 1
# A reviewer's "skip" is no verdict, never benign (even with --positive, where every other value
# is benign): these and the usual no-label markers leave the row unlabelled.
SKIP_WORDS = frozenset({"skip", "skipped"}) | MISSING_WORDS
_REL_TOL = 1e-9


@dataclass
class AuditSampleFile:
    """A SAMPLE.csv as read and validated by `read_sample` (one entry per row, file order)."""

    path: Path
    header: list[str]
    rows: list[list[str]]  # every column, cells as the reviewer sees them (neutralising undone)
    file_lines: list[int]  # each row's line in SAMPLE.csv
    lines: np.ndarray  # int64: each row's line in the scored source file (`audit_line`)
    text_column: str
    texts: list[str]
    score_column: str
    scores: np.ndarray  # float64 in [0, 1]
    strata: list[str]
    weights: np.ndarray  # float64, N_h / n_h
    label_column: str
    verdicts: list[str]  # the label column's cells, trimmed ("" = not yet labelled)
    population: dict[str, int]  # N_h per band (every band of `STRATA`, 0 if empty)
    provenance: dict[str, Any] | None = None  # the sidecar, when there is one
    threshold: float | None = None  # the bands' threshold (from the sidecar)
    sha256: str = ""  # of exactly the bytes read: the sample's key in the labels store

    def labels(self, positive_values: Sequence[str] | None = None) -> list[int | None]:
        """Each row's verdict as 1 (abusive), 0 (benign) or None (blank, skip, no-label
        marker), by the app's label rule (`label_mapping.LabelRule`). A value with no standard
        meaning (without ``positive_values``) is refused, listing the column's values."""
        rule = LabelRule.of(positive_values)
        mapping = LabelMapping(str(self.path), self.label_column, rule)
        out: list[int | None] = []
        for value in self.verdicts:
            if value.casefold() in SKIP_WORDS or not value:
                out.append(None)
                continue
            taken = mapping.add(value)
            out.append(1 if taken == ABUSIVE else 0 if taken == BENIGN else None)
        if any(rule.taken_as(v) is None for v in mapping.counts):
            mapping.check()  # raises: lists the values and how to name the abusive ones
        return out


def _score_run(header: Sequence[str]) -> int | None:
    """Index of the last run of the score columns (each possibly suffixed; with or without the
    band after the label), or None."""
    found = None
    for names in (SCORE_COLUMNS, BANDED_SCORE_COLUMNS):
        pats = [re.compile(re.escape(name) + r"(?:_[0-9]+)?") for name in names]
        for i in range(len(header) - len(pats) + 1):
            if all(p.fullmatch(header[i + k]) for k, p in enumerate(pats)):
                found = i if found is None else max(found, i)
    return found


def _score_value(cell: str, path: Path, line: int, blank_ok: bool) -> float:
    text = cell.strip()
    if not text and blank_ok:
        return math.nan
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (0.0 <= value <= 1.0):  # also NaN and ±inf
        raise InputError(
            f"{path}: line {line}: abuse score {text[:20]!r} is not a number from 0 to 1"
        )
    return value


def _text_column(path: Path, header: list[str], preview: list[list[str]], hint: object) -> str:
    if isinstance(hint, str) and header.count(hint) == 1:
        return hint
    ours = set(AUDIT_COLUMNS)
    keep = [
        i
        for i, h in enumerate(header)
        if h not in ours and not h.startswith(BANDED_SCORE_COLUMNS)  # never a tool column
    ]
    return choose_text_column(
        [header[i] for i in keep], [[r[i] for i in keep] for r in preview], source=path
    )


def _sidecar(path: Path) -> dict[str, Any] | None:
    side = provenance_path(path)
    if not side.exists():
        return None
    try:
        data = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: its provenance {side.name} cannot be read: {exc}") from None
    if not isinstance(data, dict) or data.get("kind") != SIDECAR_KIND:
        raise InputError(f"{path}: {side.name} is not the provenance of an audit sample")
    strata = data.get("strata")
    ok = isinstance(strata, list) and all(
        isinstance(s, dict)
        and s.get("name") in STRATA
        and all(type(s.get(k)) is int and s[k] >= 0 for k in ("population", "sampled"))
        for s in strata
    )
    t, m = data.get("threshold"), data.get("margin")
    if not ok or not all(type(v) in (int, float) for v in (t, m)):
        raise InputError(f"{path}: {side.name} is damaged (its bands, threshold or margin)")
    return data
