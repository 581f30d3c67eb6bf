"""The files of one batch-history entry: its scored cache (moved in, not copied), the results
table as arrays, and the job's full report (ledger and rejected rows), so a reopened job shows
exactly what it showed when it finished.

The table is saved as a numpy ``.npz`` of plain arrays, never pickles (loaded with
``allow_pickle=False``: the file is in a user-writable folder and must not be able to run
code). Texts are stored as one UTF-8 blob and offsets: ``StringDType`` cannot be saved without
pickling, and a fixed-width copy would be as wide as the longest text times the row count.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np

from app.core.batch.options import BatchReport
from app.core.batch.rows import BAND_COUNT_KEYS
from app.core.common.atomic import atomic_path, atomic_write_json
from app.core.csvio.csv_sniff import DELIMITERS
from app.core.results.table import STRINGS, ResultsTable

CACHE_NAME = "scored.csv"
TABLE_NAME = "table.npz"
REPORT_NAME = "report.json"
# Every file an entry folder may hold: the only names ever deleted from it.
ENTRY_FILES = (CACHE_NAME, f"{CACHE_NAME}.provenance.json", TABLE_NAME, REPORT_NAME)
MAX_COUNT = 2**53  # rows and line numbers beyond any real file (and exact as JSON numbers)


def _pack(strings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    encoded = [s.encode("utf-8", "surrogatepass") for s in strings.tolist()]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    return np.frombuffer(b"".join(encoded), dtype=np.uint8), offsets


def _unpack(blob: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    raw = blob.tobytes()
    bounds = offsets.tolist()
    texts = [
        raw[a:b].decode("utf-8", "surrogatepass")
        for a, b in zip(bounds[:-1], bounds[1:], strict=True)
    ]
    return np.asarray(texts, dtype=STRINGS)


def save_table(table: ResultsTable, path: Path) -> None:
    """Write `table` to `path` atomically (a plain-array ``.npz``)."""
    arrays: dict[str, np.ndarray] = {"lines": table.lines, "scores": table.scores}
    arrays["texts"], arrays["text_offsets"] = _pack(table.texts)
    if table.gold is not None:
        arrays["gold"], arrays["gold_offsets"] = _pack(table.gold)
    if table.challenger_scores is not None:
        arrays["challenger_scores"] = table.challenger_scores
    meta = {"gold_column": table.gold_column, "challenger_version": table.challenger_version}
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)  # type: ignore[arg-type]


def load_table(path: Path) -> ResultsTable:
    """The table `save_table` wrote; ValueError/OSError for a damaged file."""
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(data["meta"].tobytes().decode())
        if not isinstance(meta, dict):
            raise ValueError("table metadata is not an object")
        gold = _unpack(data["gold"], data["gold_offsets"]) if "gold" in data else None
        challenger = data["challenger_scores"] if "challenger_scores" in data else None
        return ResultsTable.from_arrays(
            data["lines"],
            data["scores"],
            _unpack(data["texts"], data["text_offsets"]),
            gold,
            str(meta.get("gold_column") or "") or None,
            challenger_scores=challenger,
            challenger_version=str(meta.get("challenger_version") or ""),
        )


def save_report(report: BatchReport, path: Path) -> None:
    atomic_write_json(path, report.as_dict())


def load_report(path: Path) -> BatchReport:
    """The report `save_report` wrote, every field checked (type, range, the rejected rows'
    keys): a hand-edited report.json is refused with a ValueError, never shown half-read."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError("report is not an object")
    values: dict[str, Any] = {}
    for f in fields(BatchReport):
        if f.name not in data:
            continue
        value, default = data[f.name], getattr(BatchReport("", "", ""), f.name)
        if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if type(value) is not type(default) and not isinstance(default, list):
            raise ValueError(f"report field {f.name} has the wrong type")
        if isinstance(value, int) and not 0 <= value <= MAX_COUNT:
            raise ValueError(f"report field {f.name} is not a count")
        if isinstance(value, float) and not (math.isfinite(value) and value >= 0):
            raise ValueError(f"report field {f.name} is not a number")
        values[f.name] = value
    if values.get("mode", "fast") not in ("fast", "cascade", "thorough"):
        raise ValueError("report field mode is not a scoring mode")
    if values.get("delimiter", ",") not in DELIMITERS:
        raise ValueError("report field delimiter is not a supported delimiter")
    rejected = values.get("rejected", [])
    if not isinstance(rejected, list) or not all(_rejected_row(r) for r in rejected):
        raise ValueError("report field rejected is not a list of rejected rows")
    _check_bands(values)
    report = BatchReport(**values)
    if not report.balanced or len(rejected) > report.rows_rejected:
        raise ValueError("report counts do not add up")
    return report


def _check_bands(values: dict[str, Any]) -> None:
    """A report's band policy: none (reports from before bands have no field), or two cut points
    from 0 to 1, review not above escalate, with rows per band that add up to the rows scored."""
    bands = values.get("bands", [])
    if not bands:
        if any(values.get(key, 0) for key in BAND_COUNT_KEYS):
            raise ValueError("report has rows per band but no band policy")
        return
    if not (
        len(bands) == 2
        and all(type(cut) in (int, float) and math.isfinite(cut) and 0 <= cut <= 1 for cut in bands)
        and bands[0] <= bands[1]
    ):
        raise ValueError("report field bands is not a review and an escalate cut point")
    values["bands"] = [float(cut) for cut in bands]
    if sum(values.get(key, 0) for key in BAND_COUNT_KEYS) != values.get("rows_scored", 0):
        raise ValueError("report rows per band do not add up to the rows scored")


def _rejected_row(row: Any) -> bool:
    """Whether `row` is a rejected row as the job lists it: line (and last) numbers, reason
    and excerpt texts (and the text, when kept)."""
    if not isinstance(row, dict):
        return False
    line, last = row.get("line"), row.get("last", row.get("line"))
    if not (type(line) is int and type(last) is int and 1 <= line <= last <= MAX_COUNT):
        return False
    texts = all(isinstance(row.get(k), str) for k in ("reason", "excerpt"))
    return texts and isinstance(row.get("text", ""), str)


def move_cache_into(cache: Path, folder: Path) -> Path:
    """Move a session cache file and its provenance sidecar into `folder` (a rename: the
    same file system, under the same jobs folder); returns the new cache path."""
    target = folder / CACHE_NAME
    os.replace(cache, target)
    sidecar = Path(f"{cache}.provenance.json")
    if sidecar.exists():
        os.replace(sidecar, Path(f"{target}.provenance.json"))
    return target
