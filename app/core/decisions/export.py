"""Decision records as JSON or CSV (one row per record; the CSV writer neutralises formulas)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any, TextIO, cast

from app.core.common.atomic import atomic_open
from app.core.decisions.records import RATES, DecisionRecord
from app.core.export.csv_writer import CsvExportWriter

CSV_COLUMNS = (
    "id", "time_utc", "author", "threshold", "escalate", "previous_threshold",
    "previous_escalate", "model_version", "manifest_sha256", "source_name", "source_kind",
    "source_sha256", "prevalence", "volume", "n", "tp", "fp", "fn", "tn",
    *(f"{rate}{part}" for rate in RATES for part in ("", "_ci95_lo", "_ci95_hi")),
    "rationale",
)  # fmt: skip


def records_json(records: Sequence[DecisionRecord]) -> str:
    return json.dumps([r.as_dict() for r in records], ensure_ascii=False, indent=2)


def csv_row(record: DecisionRecord) -> list[Any]:
    m, prev = record.at_new, record.previous
    rates = [
        value
        for rate in RATES
        for value in (m.rates[rate].estimate, m.rates[rate].lo, m.rates[rate].hi)
    ]
    return [
        record.id, record.time_utc, record.author, record.policy.threshold,
        record.policy.escalate, None if prev is None else prev.threshold,
        None if prev is None else prev.escalate, record.model_version, record.manifest_sha256,
        record.source.name, record.source.kind, record.source.sha256, record.prevalence,
        record.volume, m.n, m.tp, m.fp, m.fn, m.tn, *rates, record.rationale,
    ]  # fmt: skip


def write_records(records: Sequence[DecisionRecord], path: str | os.PathLike[str]) -> None:
    """Write records to ``path`` atomically: JSON if it ends in .json, else CSV."""
    if str(path).lower().endswith(".json"):
        with atomic_open(path, "w", encoding="utf-8") as fh:
            fh.write(records_json(records) + "\n")
        return
    with atomic_open(path, "w", encoding="utf-8", newline="") as fh:
        writer = CsvExportWriter(cast(TextIO, fh), CSV_COLUMNS)
        writer.write_rows(csv_row(r) for r in records)
