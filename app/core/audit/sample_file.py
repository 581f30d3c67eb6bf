"""SAMPLE.csv: an audit sample on disk, written from a scored batch and read back validated.

Written by `write_sample` from a ``score`` output (the input's columns, then ``abuse_score``,
``abuse_label``, ``model_version``, ``abuse_note``): every column of the scored file, then

* ``audit_line``    the row's line in the scored file (so a verdict traces back to its row),
* ``audit_stratum`` its score band (`app.core.audit.sample.STRATA`),
* ``audit_weight``  N_h / n_h, the number of batch rows it stands for,
* ``verdict``       empty, for the reviewer (abusive / benign; blank or "skip": not labelled).

Rows are in the scored file's order. The CSV is written like every export (atomically, never
over the input, formula-safe cells: `app.core.export.csv_writer`); cells the scored file had
neutralised with a leading "'" are restored first, so they are neutralised once, not twice.

Beside it, ``SAMPLE.csv.provenance.json`` (`SIDECAR_KIND`) records what the sample is of: the
source file's name and SHA-256 (of the bytes read), the text and score columns, the threshold and
margin the bands were cut at, the seed, the size asked for, the rows left out for having no
score, and every band's bounds, population N_h, sampled count n_h and weight. `read_sample`
checks the CSV against it (band sizes, counts, each score inside its band), so a row deleted or
moved in a spreadsheet is caught. Without the sidecar (the CSV copied alone) the band sizes are
derived from the weights (N_h = weight × n_h, which must be a whole number) and
`AuditSampleFile.provenance` is None.

`read_sample` is THE reader of SAMPLE.csv (the Review panel and ``audit estimate`` both use it):
every problem — a missing column, an unreadable row, a weight that is not a number ≥ 1 or
differs within a band, an unknown band, a score outside [0, 1], a duplicated source line, a
sidecar that disagrees — is one InputError naming the file (and line).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO, cast

import numpy as np

from app.core.analysis.label_mapping import ABUSIVE, BENIGN, MISSING_WORDS, LabelMapping, LabelRule
from app.core.audit.sample import STRATA, AuditSample, draw_sample, stratum_bounds
from app.core.common.atomic import atomic_open
from app.core.common.errors import InputError
from app.core.common.output_guard import check_output, output_lock, provenance_path
from app.core.csvio.csv_input import choose_text_column, iter_chunks, sniff
from app.core.export.cells import restore_cell
from app.core.export.csv_writer import CsvExportWriter, write_provenance_sidecar

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


@dataclass
class SampleWritten:
    """What `write_sample` wrote."""

    output: Path
    sidecar: Path
    sample: AuditSample
    rows_written: int
    provenance: dict[str, Any] = field(default_factory=dict)


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


def _scored_hint(scored: Path) -> object:
    """The scored file's text column, as its provenance names it (None if unknown)."""
    try:
        data = json.loads(provenance_path(scored).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data.get("text_column") if isinstance(data, dict) else None


def _read_scores(scored: Path, sniffed: Any, at: int) -> tuple[np.ndarray, np.ndarray, str]:
    """First read: every row's score (NaN: blank) and line, and the SHA-256 of the bytes read."""
    digest, scores, lines = hashlib.sha256(), [], []
    for chunk in iter_chunks(scored, sniffed.format, header_expected=sniffed.header, digest=digest):
        if chunk.rejected:
            bad = chunk.rejected[0]
            raise InputError(f"{scored}: line {bad.line}: {bad.reason} (a scored file is whole)")
        for row, line in zip(chunk.rows, chunk.lines, strict=True):
            scores.append(_score_value(row[at], scored, line, blank_ok=True))
            lines.append(line)
    return np.asarray(scores, np.float64), np.asarray(lines, np.int64), digest.hexdigest()


def _picked_rows(scored: Path, sniffed: Any, wanted: np.ndarray) -> tuple[list[list[str]], str]:
    """Second read: the sampled rows (cells restored), and the hash again."""
    digest, out, pos, want = hashlib.sha256(), [], 0, set(wanted.tolist())
    for chunk in iter_chunks(scored, sniffed.format, header_expected=sniffed.header, digest=digest):
        for row in chunk.rows:
            if pos in want:
                out.append([restore_cell(cell) for cell in row])
            pos += 1
    return out, digest.hexdigest()


def write_sample(
    scored: Path,
    output: Path,
    *,
    size: int,
    seed: int,
    threshold: float,
    margin: float | None = None,
    text_column: str | None = None,
) -> SampleWritten:
    """Draw a stratified sample of the scored CSV `scored` and write it to `output` (with its
    provenance sidecar); never over the input. InputError for anything unusable."""
    scored, output = Path(scored), Path(output)
    check_output(output, {"the input": scored}, sidecar=True)
    sniffed = sniff(scored)
    header = sniffed.header
    at = _score_run(header)
    if at is None:
        raise InputError(
            f"{scored}: no abuse_score column: audit samples are drawn from a `score` output"
        )
    taken = [c for c in AUDIT_COLUMNS if c in header]
    if taken:
        raise InputError(f"{scored}: already has column {taken[0]!r}; is it an audit sample?")
    text = _text_column(scored, header, sniffed.preview, text_column or _scored_hint(scored))
    scores, lines, sha = _read_scores(scored, sniffed, at)
    extra = {} if margin is None else {"margin": margin}
    sample = draw_sample(scores, size, threshold=threshold, seed=seed, **extra)
    with output_lock(output):
        rows, again = _picked_rows(scored, sniffed, sample.indices)
        if again != sha or len(rows) != sample.indices.size:
            raise InputError(f"{scored}: the file changed while the sample was drawn; try again")
        provenance = _provenance(scored, sha, text, header[at], sample)
        with atomic_open(output) as fh:
            writer = CsvExportWriter(cast(TextIO, fh), [*header, *AUDIT_COLUMNS])
            writer.write_rows(
                [*row, int(line), stratum, float(weight), ""]
                for row, line, stratum, weight in zip(
                    rows, lines[sample.indices], sample.strata, sample.weights, strict=True
                )
            )
            # Provenance first: once the sample appears, what describes it is already there.
            sidecar = write_provenance_sidecar(output, provenance)
    return SampleWritten(output, sidecar, sample, len(rows), provenance)


def _provenance(
    scored: Path, sha: str, text: str, score_column: str, sample: AuditSample
) -> dict[str, Any]:
    weight = sample.weight_of
    return {
        "kind": SIDECAR_KIND,
        "format_version": FORMAT_VERSION,
        "source": scored.name,
        "source_sha256": sha,
        "text_column": text,
        "score_column": score_column,
        "label_column": VERDICT,
        "threshold": sample.threshold,
        "margin": sample.margin,
        "seed": sample.seed,
        "size_requested": sample.size_requested,
        "size": int(sample.indices.size),
        "population": sum(sample.population.values()),
        "left_out_unscored": sample.left_out,
        "strata": [
            {
                "name": b.name,
                "low": b.low if math.isfinite(b.low) else None,
                "high": b.high if math.isfinite(b.high) else None,
                "population": sample.population[b.name],
                "sampled": sample.sampled[b.name],
                "weight": weight.get(b.name),
            }
            for b in sample.bounds
        ],
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _number(cell: str, what: str, path: Path, line: int) -> float:
    try:
        value = float(cell.strip())
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise InputError(f"{path}: line {line}: {what} {cell.strip()[:20]!r} is not a number")
    return value


def _checked_row(
    row: list[str], line: int, cols: dict[str, int], path: Path
) -> tuple[int, str, float, float]:
    """(source line, band, weight, score) of one SAMPLE.csv row, each checked."""
    source = _number(row[cols[LINE]], LINE, path, line)
    if source < 1 or source != int(source):
        raise InputError(f"{path}: line {line}: {LINE} must be a line number (1 or more)")
    stratum = row[cols[STRATUM]].strip()
    if stratum not in STRATA:
        raise InputError(
            f"{path}: line {line}: unknown {STRATUM} {stratum[:20]!r} (one of {', '.join(STRATA)})"
        )
    weight = _number(row[cols[WEIGHT]], WEIGHT, path, line)
    if weight < 1 - _REL_TOL:  # N_h / n_h: a sampled item stands for itself at least
        raise InputError(
            f"{path}: line {line}: {WEIGHT} {weight!r} is below 1 (a weight is N_h/n_h)"
        )
    score = _score_value(row[cols["score"]], path, line, blank_ok=False)
    return int(source), stratum, weight, score


def _population(path: Path, strata: list[str], weights: np.ndarray) -> dict[str, int]:
    """N_h = w_h · n_h per band; the weight must be the same for every row of a band."""
    population = dict.fromkeys(STRATA, 0)
    names = np.asarray(strata)
    for h in STRATA:
        w = weights[names == h]
        if not w.size:
            continue
        if not np.allclose(w, w[0], rtol=_REL_TOL, atol=0):
            raise InputError(
                f"{path}: the {WEIGHT} of band {h!r} differs between its rows "
                f"({float(w.min())!r} to {float(w.max())!r}); every row of a band has N_h/n_h"
            )
        size = w[0] * w.size
        if abs(size - round(size)) > 1e-6 * max(1.0, size):
            raise InputError(
                f"{path}: the {WEIGHT} of band {h!r} ({float(w[0])!r}) times its {w.size} rows is not "
                "a whole number of batch rows"
            )
        population[h] = round(size)
    return population


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


def _check_counts(path: Path, data: dict[str, Any], strata: list[str]) -> None:
    for entry in data["strata"]:
        h, n = entry["name"], strata.count(entry["name"])
        if n != entry["sampled"]:
            raise InputError(
                f"{path}: band {h!r} has {n} rows, its provenance "
                f"{provenance_path(path).name} says {entry['sampled']} (rows added or removed?)"
            )


def _check_against(path: Path, data: dict[str, Any], population: dict[str, int],
                   strata: list[str], scores: np.ndarray, file_lines: list[int]) -> None:  # fmt: skip
    """The rows agree with the sidecar: band sizes and counts, and each score in its band."""
    side = provenance_path(path).name
    for entry in data["strata"]:
        h, n = entry["name"], strata.count(entry["name"])
        if n and population[h] != entry["population"]:
            raise InputError(
                f"{path}: the {WEIGHT} of band {h!r} gives {population[h]:,} batch rows, "
                f"{side} says {entry['population']:,}"
            )
        population[h] = entry["population"]
    try:
        bounds = {
            b.name: b for b in stratum_bounds(float(data["threshold"]), float(data["margin"]))
        }
    except InputError as exc:
        raise InputError(f"{path}: {side}: {exc}") from None
    for i, (h, s) in enumerate(zip(strata, scores.tolist(), strict=True)):
        b = bounds[h]
        if not (b.low <= s < b.high or (h == STRATA[-1] and s >= b.low)):
            raise InputError(
                f"{path}: line {file_lines[i]}: score {s!r} is outside band {h!r} "
                f"(threshold {data['threshold']}, margin {data['margin']})"
            )


def read_sample(
    path: str | Path,
    *,
    label_column: str = VERDICT,
    cancelled: Callable[[], bool] | None = None,
) -> AuditSampleFile:
    """Read and validate a SAMPLE.csv (see the module docstring); InputError naming the file.
    `cancelled` is polled between chunks (a worker's cancel)."""
    path = Path(path)
    sniffed = sniff(path)
    header = sniffed.header
    at = _score_run(header)
    wanted = [c for c in (LINE, STRATUM, WEIGHT, label_column) if c not in header]
    if at is None:
        wanted.insert(0, SCORE_COLUMNS[0])
    if wanted:
        raise InputError(
            f"{path}: not an audit sample: no column {', '.join(map(repr, wanted))} "
            "(written by `audit sample`)"
        )
    assert at is not None
    data = _sidecar(path)
    text = _text_column(path, header, sniffed.preview, data and data.get("text_column"))
    cols = {c: header.index(c) for c in (LINE, STRATUM, WEIGHT)} | {"score": at}
    li, ti = header.index(label_column), header.index(text)
    rows: list[list[str]] = []
    file_lines, checked = [], []
    digest = hashlib.sha256()
    chunks = iter_chunks(
        path, sniffed.format, header_expected=header, cancelled=cancelled, digest=digest
    )
    for chunk in chunks:
        if chunk.rejected:
            bad = chunk.rejected[0]
            raise InputError(f"{path}: line {bad.line}: {bad.reason}")
        for row, line in zip(chunk.rows, chunk.lines, strict=True):
            checked.append(_checked_row(row, line, cols, path))
            rows.append([restore_cell(cell) for cell in row])
            file_lines.append(line)
    if not rows:
        raise InputError(f"{path}: the audit sample has no rows")
    sources = [c[0] for c in checked]
    if len(set(sources)) != len(sources):
        dup = next(s for s in sources if sources.count(s) > 1)
        raise InputError(f"{path}: source line {dup} ({LINE}) is in the sample twice")
    strata = [c[1] for c in checked]
    weights = np.asarray([c[2] for c in checked], np.float64)
    scores = np.asarray([c[3] for c in checked], np.float64)
    if data is not None:  # first: a row added or removed also breaks the weights' sums
        _check_counts(path, data, strata)
    population = _population(path, strata, weights)
    if data is not None:
        _check_against(path, data, population, strata, scores, file_lines)
    return AuditSampleFile(
        path=path,
        header=header,
        rows=rows,
        file_lines=file_lines,
        lines=np.asarray(sources, np.int64),
        text_column=text,
        texts=[r[ti] for r in rows],
        score_column=header[at],
        scores=scores,
        strata=strata,
        weights=weights,
        label_column=label_column,
        verdicts=[r[li].strip() for r in rows],
        population=population,
        provenance=data,
        threshold=None if data is None else float(data["threshold"]),
        sha256=digest.hexdigest(),
    )
