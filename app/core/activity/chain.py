"""Activity events and their hash chain: what an event holds, how it is canonicalised and hashed.

No database here: `app.core.activity.log` stores events and `app.core.activity.verify` checks a
stored sequence of them; this module decides what their hashes are.

Values are normalised before hashing (times to UTC ISO with milliseconds, numbers to float,
NaN to NULL, other values to text) so what is hashed is exactly what SQLite gives back.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64
# Columns SQLite stores as REAL; every other field is TEXT.
REAL_FIELDS = ("threshold", "score")
# Stored and hashed columns, in this order (the hash covers them as a JSON list).
FIELDS: tuple[str, ...] = tuple(
    "time_utc action model_version threshold score counts file_name file_sha256 text_hmac "
    "text detail".split()
)


@dataclass(frozen=True)
class Event:
    # Field order is the table's column order: events are built with ``Event(*row)``.
    id: int
    time_utc: str
    action: str
    model_version: str | None = None
    threshold: float | None = None
    score: float | None = None
    counts: str | None = None  # JSON object, e.g. {"rows_read": 10, ...}
    file_name: str | None = None
    file_sha256: str | None = None
    text_hmac: str | None = None
    text: str | None = None
    detail: str | None = None
    prev_hash: str = GENESIS
    hash: str = GENESIS


def utc_iso(value: str | datetime) -> str:
    """``value`` as the log's time format: UTC, ISO 8601, milliseconds (so text order is time
    order). Naive times and date-only strings are taken as UTC."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def _json_default(value: Any) -> Any:
    item = getattr(value, "item", None)  # numpy scalars
    return item() if callable(item) else str(value)


def encode_counts(counts: Mapping[str, Any]) -> str:
    """The ``counts`` column: a JSON object with sorted keys, so equal counts hash equally."""
    return json.dumps(dict(counts), sort_keys=True, default=_json_default)


def normalise_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """The row as SQLite will return it, so the hash computed now matches the one verified.
    A missing time is now."""
    out: dict[str, Any] = {}
    for name in FIELDS:
        value = row.get(name)
        if name == "time_utc":
            out[name] = utc_iso(value or datetime.now(UTC))
        elif value is None:
            out[name] = None
        elif name in REAL_FIELDS:
            number = float(value)
            out[name] = None if math.isnan(number) else number  # SQLite stores NaN as NULL
        else:
            out[name] = value if isinstance(value, str) else str(value)
    return out


def content_hash(prev_hash: str, values: Mapping[str, Any]) -> str:
    """SHA-256 linking an event to its predecessor: covers ``prev_hash`` and every field."""
    canonical = json.dumps(
        [prev_hash, [values.get(name) for name in FIELDS]],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
