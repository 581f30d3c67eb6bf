"""Writing SAMPLE.csv and its provenance sidecar from a scored batch (`write_sample`; the
format is described in `app.core.audit.sample_file`, which re-exports it)."""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO, cast

import numpy as np

from app.core.audit.sample import AuditSample, draw_sample
from app.core.audit.sample_format import (
    AUDIT_COLUMNS,
    BANDED_SCORE_COLUMNS,
    FORMAT_VERSION,
    SIDECAR_KIND,
    VERDICT,
    _score_run,
    _score_value,
    _text_column,
)
from app.core.audit.sample_replace import check_sample_target
from app.core.common.atomic import atomic_open
from app.core.common.errors import InputError
from app.core.common.output_guard import check_output, output_lock, provenance_path
from app.core.csvio.csv_input import iter_chunks, sniff
from app.core.export.cells import restore_cell
from app.core.export.csv_writer import CsvExportWriter, write_provenance_sidecar


@dataclass
class SampleWritten:
    """What `write_sample` wrote."""

    output: Path
    sidecar: Path
    sample: AuditSample
    rows_written: int
    provenance: dict[str, Any] = field(default_factory=dict)


def _scored_hint(scored: Path) -> object:
    """The scored file's text column, as its provenance names it (None if unknown)."""
    try:
        data = json.loads(provenance_path(scored).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data.get("text_column") if isinstance(data, dict) else None


def _refuse_duplicate_score_columns(scored: Path, header: list[str]) -> None:
    """Two ``abuse_score`` columns (the reader made the second ``abuse_score.1``): which one is
    the score is a guess, and the sample would carry a renamed column; refused."""
    for name in BANDED_SCORE_COLUMNS:
        twin = re.compile(re.escape(name) + r"\.[0-9]+")
        if name in header and any(twin.fullmatch(h) for h in header):
            raise InputError(
                f"{scored}: has more than one {name!r} column; which one is the score is "
                "ambiguous: keep one and try again"
            )


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
    overwrite: bool = False,
) -> SampleWritten:
    """Draw a stratified sample of the scored CSV `scored` and write it to `output` (with its
    provenance sidecar); never over the input, and over an existing file only when it is an
    earlier audit sample and `overwrite` is given (`sample_replace`). InputError for anything
    unusable."""
    scored, output = Path(scored), Path(output)
    check_output(output, {"the input": scored}, sidecar=True)
    check_sample_target(output, overwrite=overwrite)
    sniffed = sniff(scored)
    header = sniffed.header
    _refuse_duplicate_score_columns(scored, header)
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
    try:
        sample = draw_sample(scores, size, threshold=threshold, seed=seed, **extra)
    except InputError as exc:  # the sample size against this file's bands: name the file
        raise InputError(f"{scored}: {exc}") from None
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
