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
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from app.core.audit.sample import STRATA, stratum_bounds
from app.core.audit.sample_format import (
    _REL_TOL,
    AUDIT_COLUMNS,
    BANDED_SCORE_COLUMNS,
    FORMAT_VERSION,
    LINE,
    SCORE_COLUMNS,
    SIDECAR_KIND,
    SKIP_WORDS,
    STRATUM,
    VERDICT,
    WEIGHT,
    AuditSampleFile,
    _score_run,
    _score_value,
    _sidecar,
    _text_column,
)
from app.core.audit.sample_write import SampleWritten, write_sample
from app.core.common.errors import InputError
from app.core.common.output_guard import provenance_path
from app.core.csvio.csv_input import iter_chunks, sniff
from app.core.export.cells import restore_cell

# The format's names and the writer live in `sample_format` and `sample_write` (this module was
# all three); re-exported here, where callers import them from.
__all__ = [
    "AUDIT_COLUMNS",
    "BANDED_SCORE_COLUMNS",
    "FORMAT_VERSION",
    "LINE",
    "SCORE_COLUMNS",
    "SIDECAR_KIND",
    "SKIP_WORDS",
    "STRATUM",
    "VERDICT",
    "WEIGHT",
    "AuditSampleFile",
    "SampleWritten",
    "read_sample",
    "write_sample",
]


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
