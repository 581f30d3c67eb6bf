"""Activity events and their hash chain: what an event holds, how it is canonicalised and hashed.

No database here: `app.core.activity.log` stores events and `app.core.activity.verify` checks a
stored sequence of them; this module decides what their hashes are.

Values are normalised before hashing (times to UTC ISO with milliseconds, numbers to float,
NaN to NULL, other values to text) so what is hashed is exactly what SQLite gives back.

Who: every event written since the ``user`` column exists carries the workstation user
(`app.core.common.user.workstation_user`). The hash covers the JSON list
``[prev_hash, [the FIELDS values]]`` for an event without a user (NULL: every event written
before the column existed, so their hashes are unchanged) and ``[prev_hash, [the FIELDS values,
user]]`` for an event with one. The two forms cannot collide (lists of different lengths), so
giving an old event a user, blanking a new event's user or editing it all break its hash.
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
# Added later (`app.core.activity.log` adds the column to older logs); hashed only when set.
USER_FIELD = "user"


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
    # Last: the column older logs gain with ALTER TABLE ADD COLUMN (after ``hash``). None for
    # events from before it; shown through `app.core.common.user.display_user`, never raw.
    user: str | None = None


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
    A missing time is now. ``user`` is kept as text, or None when absent."""
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
    user = row.get(USER_FIELD)
    out[USER_FIELD] = None if user is None else str(user)
    return out


def content_hash(prev_hash: str, values: Mapping[str, Any]) -> str:
    """SHA-256 linking an event to its predecessor: covers ``prev_hash`` and every field, and
    the user when there is one (a NULL user leaves the original form, see the module notes)."""
    hashed = [values.get(name) for name in FIELDS]
    if values.get(USER_FIELD) is not None:
        hashed.append(values[USER_FIELD])
    canonical = json.dumps(
        [prev_hash, hashed],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
