"""What a batch checkpoint must look like before anything in it is believed, and which job
it belongs to (`job_identity`, `mismatch`).

A checkpoint (`app.core.batch.checkpoint`) is a claim about a work file: "the first N bytes of
this file are the rows of the first K chunks of this job, and these are their counts". Anyone
with access to the folder can edit it, and a crash or a full disk can damage it, so resuming
trusts it only when:

* it parses as strict JSON (no NaN or Infinity, no repeated keys) and every field has its type
  and range (a bool is not a count, counts are not negative, hashes are 64 hex digits);
* its counts agree with each other (the ledger balances; no more rows flagged than scored; the
  rows read fit the chunks done);
* its MAC verifies: HMAC-SHA256 over the canonical JSON with a key derived from the
  workstation key (the activity log's), so a checkpoint cannot be forged or edited by hand.

The key is derived with a label that starts with a 0xFF byte, which no UTF-8 text contains: the
activity log stores HMACs of scored texts under the same workstation key, and no text anyone
scores can therefore ever produce the checkpoint key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from app.core.batch.cascade import Cascade, job_mode
from app.core.batch.options import BatchOptions, BatchReport
from app.core.engine.scoring import Scorer

FORMAT = 2
_KEY_LABEL = b"\xffabuse-desk batch checkpoint v2"
_HEX = frozenset("0123456789abcdef")
_MAX_COUNT = 1 << 53  # far beyond any real job, and exact in every JSON reader
_MAX_CHUNK_ROWS = 10_000_000

TOP_KEYS = frozenset(
    "format job chunk_rows chunks_done partial_bytes partial_sha256 rejected_bytes "
    "rejected_sha256 ledger mac".split()
)
COUNTS = (
    "rows_read rows_scored rows_rejected rows_blank rows_written rows_flagged rows_truncated "
    "rows_disagreeing".split()
)
LEDGER_KEYS = frozenset([*COUNTS, "started_utc", "seconds"])
BAND_COUNTS = ("rows_clear", "rows_review", "rows_escalate")  # in the ledger iff the job has bands
_JOB_STRINGS = "input model_version text_column encoding delimiter output_format".split()
_JOB_KEYS = frozenset(
    [*_JOB_STRINGS, "input_size", "input_sha256", "model_fingerprint", "threshold"]
    + ["output_header", "challenger", "bands", "mode", "rescorer"]
)
# absent: the job had none (mode: a fast job, whose checkpoints are as before modes existed)
_OPTIONAL_JOB_KEYS = frozenset(["challenger", "bands", "mode", "rescorer"])
_MODES = ("cascade", "thorough")  # a job's "mode" when present


class BadCheckpoint(ValueError):
    """The checkpoint cannot be trusted; the message says why, in a few words."""


def mac_key(workstation_key: bytes) -> bytes:
    return hmac.new(workstation_key, _KEY_LABEL, hashlib.sha256).digest()


def sign(body: dict[str, Any], key: bytes) -> str:
    """The MAC of a checkpoint's fields (every one but ``mac``), canonical JSON."""
    fields = {name: value for name, value in body.items() if name != "mac"}
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hmac.new(key, text.encode("ascii"), hashlib.sha256).hexdigest()


def parse(raw: bytes, key: bytes) -> dict[str, Any]:
    """The checkpoint in `raw`, checked field by field, for consistency and by its MAC."""
    try:
        data = json.loads(
            raw.decode("utf-8"), parse_constant=_no_constant, object_pairs_hook=_no_repeats
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BadCheckpoint(f"not valid JSON: {str(exc)[:80]}") from None
    if not isinstance(data, dict) or set(data) != TOP_KEYS:
        raise BadCheckpoint("unexpected fields")
    if not _is_int(data["format"]) or data["format"] != FORMAT:
        raise BadCheckpoint("unknown format")
    _check_hex(data, "mac")
    if not hmac.compare_digest(data["mac"], sign(data, key)):
        raise BadCheckpoint("its MAC does not verify (edited, or from another workstation)")
    _check_fields(data)
    _check_job(data["job"])
    _check_ledger(data)
    return data


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def _no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in pairs:
        if name in out:
            raise ValueError(f"repeated key {name!r}")
        out[name] = value
    return out


def _is_int(value: Any) -> bool:
    return type(value) is int  # bool is a subclass of int: never a count


def _check_count(where: dict[str, Any], name: str, low: int = 0, high: int = _MAX_COUNT) -> None:
    value = where[name]
    if not _is_int(value) or not low <= value <= high:
        raise BadCheckpoint(f"{name} is not a count in range")


def _check_hex(where: dict[str, Any], name: str) -> None:
    value = where[name]
    if not isinstance(value, str) or len(value) != 64 or not _HEX.issuperset(value):
        raise BadCheckpoint(f"{name} is not a SHA-256")


def _check_fields(data: dict[str, Any]) -> None:
    _check_count(data, "chunk_rows", 1, _MAX_CHUNK_ROWS)
    for name in ("chunks_done", "partial_bytes", "rejected_bytes"):
        _check_count(data, name)
    for name in ("partial_sha256", "rejected_sha256"):
        _check_hex(data, name)
    if not isinstance(data["job"], dict) or not isinstance(data["ledger"], dict):
        raise BadCheckpoint("job or ledger is not an object")


def _check_job(job: dict[str, Any]) -> None:
    if not set(job) <= _JOB_KEYS or not _JOB_KEYS - _OPTIONAL_JOB_KEYS <= set(job):
        raise BadCheckpoint("unexpected job fields")
    if not all(isinstance(job[name], str) for name in _JOB_STRINGS):
        raise BadCheckpoint("a job field is not text")
    _check_count(job, "input_size")
    _check_hex(job, "input_sha256")
    _check_hex(job, "model_fingerprint")
    threshold = job["threshold"]
    if type(threshold) not in (int, float) or not (
        math.isfinite(threshold) and 0 <= threshold <= 1
    ):
        raise BadCheckpoint("threshold is not a number between 0 and 1")
    header = job["output_header"]
    if not isinstance(header, list) or not all(isinstance(name, str) for name in header):
        raise BadCheckpoint("output_header is not a list of names")
    other = job.get("challenger")
    if other is not None and not (
        isinstance(other, dict)
        and set(other) == {"version", "fingerprint"}
        and isinstance(other["version"], str)
    ):
        raise BadCheckpoint("challenger is malformed")
    if other is not None:
        _check_hex(other, "fingerprint")
    _check_mode(job)
    bands = job.get("bands", [0.0, 0.0])
    if not (
        isinstance(bands, list)
        and len(bands) == 2
        and all(type(cut) in (int, float) and math.isfinite(cut) and 0 <= cut <= 1 for cut in bands)
        and bands[0] <= bands[1]
    ):
        raise BadCheckpoint("bands is not a review and an escalate cut point")


def _check_mode(job: dict[str, Any]) -> None:
    """A cascade job names its thorough engine (version, fingerprint, band); others none."""
    mode, rescorer = job.get("mode"), job.get("rescorer")
    if mode is not None and mode not in _MODES:
        raise BadCheckpoint("mode is not a scoring mode")
    if (mode == "cascade") != (rescorer is not None):
        raise BadCheckpoint("rescorer does not match the mode")
    if rescorer is None:
        return
    if not (
        isinstance(rescorer, dict)
        and set(rescorer) == {"version", "fingerprint", "low", "high"}
        and isinstance(rescorer["version"], str)
        and all(
            type(rescorer[k]) in (int, float)
            and math.isfinite(rescorer[k])
            and 0 <= rescorer[k] <= 1
            for k in ("low", "high")
        )
    ):
        raise BadCheckpoint("rescorer is malformed")
    _check_hex(rescorer, "fingerprint")


def _check_ledger(data: dict[str, Any]) -> None:
    ledger = data["ledger"]
    banded = "bands" in data["job"]
    cascade = data["job"].get("mode") == "cascade"
    expected = LEDGER_KEYS | (set(BAND_COUNTS) if banded else set())
    if set(ledger) != expected | ({"rows_rescored"} if cascade else set()):
        raise BadCheckpoint("unexpected ledger fields")
    for name in [*COUNTS, *(BAND_COUNTS if banded else ())]:
        _check_count(ledger, name)
    if cascade:  # re-scored rows are scored rows
        _check_count(ledger, "rows_rescored", 0, ledger["rows_scored"])
    seconds = ledger["seconds"]
    if type(seconds) not in (int, float) or not (math.isfinite(seconds) and seconds >= 0):
        raise BadCheckpoint("seconds is not a duration")
    try:
        datetime.fromisoformat(ledger["started_utc"])
    except (TypeError, ValueError):
        raise BadCheckpoint("started_utc is not a time") from None
    read, scored, rejected, blank = (
        ledger[f"rows_{k}"] for k in ("read", "scored", "rejected", "blank")
    )
    written = ledger["rows_written"]
    if read != scored + rejected + blank:
        raise BadCheckpoint("its ledger does not balance")
    if not scored <= written <= scored + blank:
        raise BadCheckpoint("rows_written disagrees with the rows scored")
    if max(ledger["rows_flagged"], ledger["rows_truncated"], ledger["rows_disagreeing"]) > scored:
        raise BadCheckpoint("more rows flagged, truncated or disagreeing than scored")
    if banded and sum(ledger[name] for name in BAND_COUNTS) != scored:
        raise BadCheckpoint("its rows per band do not add up to the rows scored")
    if ledger["rows_disagreeing"] and "challenger" not in data["job"]:
        raise BadCheckpoint("disagreements without a challenger")
    done, size = data["chunks_done"], data["chunk_rows"]
    if not (done - 1) * size < read <= done * size and not (done == 0 == read):
        raise BadCheckpoint("rows_read does not fit the chunks done")
    if (rejected == 0) != (data["rejected_bytes"] == 0):
        raise BadCheckpoint("rejected rows and their list disagree")


def _fingerprint(scorer: Scorer) -> str:
    """The bundle's files, hashed: two bundles with one version label still differ here."""
    hashes = json.dumps(scorer.bundle.file_hashes, sort_keys=True).encode()
    return hashlib.sha256(hashes).hexdigest()


def job_identity(
    scorer: Scorer,
    options: BatchOptions,
    report: BatchReport,
    header: list[str],
    challenger: Scorer | None = None,
    cascade: Cascade | None = None,
) -> dict[str, Any]:
    """What must be the same for a checkpoint to be resumed into this job's output.

    The input is identified by its content (SHA-256 of every byte, computed for provenance
    anyway) and size, not its modification time: a copied or restored file with the same bytes
    resumes, a file with one byte changed does not. The challenger is part of it: its columns
    are in every row, so a resumed job must not mix two challengers' scores in one file.
    """
    identity = {
        "input": str(options.input_path.resolve()),
        "input_size": options.input_path.stat().st_size,
        "input_sha256": report.input_sha256,
        "model_version": scorer.version_label,
        "model_fingerprint": _fingerprint(scorer),
        "threshold": options.threshold,
        "text_column": report.text_column,
        "encoding": report.encoding,
        "delimiter": report.delimiter,
        "output_format": options.output_format,
        "output_header": header,
    }
    if options.bands is not None:  # absent without a policy: such checkpoints are unchanged
        identity["bands"] = list(options.bands)
    mode = job_mode(scorer, cascade)
    if mode != "fast":  # absent for a fast job: its checkpoints are as before modes existed
        identity["mode"] = mode
    if cascade is not None:
        identity["rescorer"] = {
            "version": cascade.thorough.version_label,
            "fingerprint": _fingerprint(cascade.thorough),
            "low": cascade.low,
            "high": cascade.high,
        }
    if challenger is not None:
        identity["challenger"] = {
            "version": challenger.version_label,
            "fingerprint": _fingerprint(challenger),
        }
    return identity


def _short_rescorer(rescorer: Mapping[str, Any] | None) -> str:
    if not rescorer:
        return "none"
    return f"{rescorer.get('version')} band {rescorer.get('low')}–{rescorer.get('high')}"


def _challenger_name(challenger: Mapping[str, Any] | None) -> str:
    return "none" if not challenger else str(challenger.get("version"))


def _policy_name(bands: Any) -> str:
    if not bands:
        return "none"
    return f"review at {bands[0]:g}, escalate at {bands[1]:g}"


def _short(value: object) -> str:
    """A value for a one-line message: hashes cut to 12 digits (enough to tell two apart)."""
    text = repr(value)
    return text[:13] + "…'" if isinstance(value, str) and len(value) == 64 else text


def mismatch(saved: Mapping[str, Any], current: Mapping[str, Any]) -> str | None:
    """Why a saved job is not this job (first differing item), or None if they are the same."""
    then, now = saved.get("mode", "fast"), current.get("mode", "fast")
    if then != now:  # named first: a mode changes the models too, which would be less clear
        return f"scoring mode changed ({then} then, {now} now)"
    then, now = saved.get("rescorer"), current.get("rescorer")
    if then != now:
        return f"cascade's thorough engine or band changed ({_short_rescorer(then)} then, {_short_rescorer(now)} now)"
    then, now = saved.get("challenger"), current.get("challenger")
    if then != now:  # named first: it also changes the header, which would be less clear
        what = f"{_challenger_name(then)} then, {_challenger_name(now)} now"
        if then and now and then.get("version") == now.get("version"):
            what += ", with other model files"
        return f"challenger model changed ({what})"
    then, now = saved.get("bands"), current.get("bands")
    if then != now:  # before the header, which it also changes
        return f"band policy changed ({_policy_name(then)} then, {_policy_name(now)} now)"
    for key in sorted(set(saved) | set(current)):
        if saved.get(key) != current.get(key):
            what = "input file content" if key in ("input_sha256", "input_size") else key
            return f"{what} changed ({_short(saved.get(key))} then, {_short(current.get(key))} now)"
    return None
