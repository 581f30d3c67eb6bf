"""Per-chunk checkpoints for CSV batch jobs, so an interrupted job resumes where it stopped.

Design (CSV output only):

* The job writes into a fixed, hidden work file ``.<out>.partial`` next to the output (the
  suffix no program opens by default, so it never looks finished) and keeps a small checkpoint
  ``.<out>.checkpoint.json`` beside it.
* After every chunk the work file is flushed and fsynced, *then* the checkpoint is replaced
  atomically. It records the job's identity (input path, size and SHA-256 of the whole input,
  model version and bundle fingerprint, the challenger's if any, threshold, text column,
  encoding, delimiter, output format, output header), the chunk size, the chunks done, the work
  file's byte length after them and the ledger so far (counters, rejected rows, start time,
  elapsed seconds). The data a checkpoint vouches for is always on disk before it; bytes
  written after the last checkpoint (a kill mid-chunk) are cut off on resume.
* Resume (``run_batch(..., resume=True)``) loads the checkpoint, refuses with `InputError` if
  anything in the identity differs (the input changed, another model, challenger or
  threshold...), truncates the work file to the recorded length, re-reads and skips the chunks
  already done (parsing is cheap next to scoring, and re-reading keeps line numbers and
  rejections exactly as in one pass) and continues with the recorded chunk size. The result is
  byte-identical to an uninterrupted run. Without ``resume`` a stale checkpoint is discarded
  and the job starts over.
* At the end the work file is renamed over the output, then the checkpoint is removed. A crash
  between the two leaves a checkpoint without a work file: resume starts over.
* Cancellation (`JobCancelled`) is a decision, so it deletes the work file and checkpoint; any
  other interruption (exception, Ctrl+C, SIGKILL, power loss) keeps them for a resume.
* XLSX cannot be appended to: XLSX jobs are not checkpointed and always restart.
* Two jobs writing the same output at once are not supported (they share the work file).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from app.core.atomic import PARTIAL_SUFFIX, atomic_write_json, fsync_dir
from app.core.errors import InputError
from app.core.export import CsvExportWriter

if TYPE_CHECKING:
    from app.core.batch import BatchOptions, BatchReport
    from app.core.scoring import Scorer

FORMAT = 1
_MAX_NAME_BYTES = 180  # keep ".<name>.checkpoint.json" under the usual 255-byte limit


def work_paths(output: Path) -> tuple[Path, Path]:
    """The hidden work file and checkpoint of a job writing `output`."""
    stem = output.name.encode("utf-8", "surrogateescape")[:_MAX_NAME_BYTES]
    name = stem.decode("utf-8", "ignore") or "output"
    return (
        output.with_name(f".{name}{PARTIAL_SUFFIX}"),
        output.with_name(f".{name}.checkpoint.json"),
    )


@dataclass
class Checkpoint:
    job: dict[str, Any]  # the identity; must match exactly to resume
    chunk_rows: int
    chunks_done: int
    partial_bytes: int
    ledger: dict[str, Any]  # BatchReport counters, rejected rows, started_utc, elapsed

    def as_json(self) -> dict[str, Any]:
        return {"format": FORMAT, **self.__dict__}


def load(output: Path) -> Checkpoint | None:
    """The checkpoint of a job writing `output`, or None if there is none to resume from."""
    partial, path = work_paths(output)
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.pop("format") != FORMAT:
            raise ValueError("unknown checkpoint format")
        checkpoint = Checkpoint(**data)
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise InputError(
            f"cannot resume {output}: unreadable checkpoint {path.name} ({exc}); "
            "run without resume to start over"
        ) from None
    if not partial.exists():  # completed (renamed) but not cleaned up, or the work file is gone
        discard(output)
        return None
    if partial.stat().st_size < checkpoint.partial_bytes:
        raise InputError(
            f"cannot resume {output}: {partial.name} is shorter than its checkpoint says; "
            "run without resume to start over"
        )
    return checkpoint


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
) -> dict[str, Any]:
    """What must be the same for a checkpoint to be resumed into this job's output.

    The challenger is part of it: its columns are in every row, so a resumed job must not mix
    two challengers' scores (or rows with and without them) in one file. Without a challenger
    the key is absent, so checkpoints written before challengers existed still resume.
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
    if challenger is not None:
        identity["challenger"] = {
            "version": challenger.version_label,
            "fingerprint": _fingerprint(challenger),
        }
    return identity


def _challenger_name(challenger: Mapping[str, Any] | None) -> str:
    return "none" if not challenger else str(challenger.get("version"))


def mismatch(saved: Mapping[str, Any], current: Mapping[str, Any]) -> str | None:
    """Why a saved job is not this job (first differing item), or None if they are the same."""
    then, now = saved.get("challenger"), current.get("challenger")
    if then != now:  # named first: it also changes the header, which would be less clear
        what = f"{_challenger_name(then)} then, {_challenger_name(now)} now"
        if then and now and then.get("version") == now.get("version"):
            what += ", with other model files"
        return f"challenger model changed ({what})"
    for key in sorted(set(saved) | set(current)):
        if saved.get(key) != current.get(key):
            what = "input file content" if key in ("input_sha256", "input_size") else key
            return f"{what} changed ({saved.get(key)!r} then, {current.get(key)!r} now)"
    return None


def discard(output: Path) -> None:
    """Remove the checkpoint first, then the work file (never a checkpoint without its data)."""
    partial, path = work_paths(output)
    for item in (path, partial):
        with suppress(FileNotFoundError):
            item.unlink()


class _Sink:
    """A text sink that drops writes while `muted` (the header already in a resumed file)."""

    def __init__(self, fh: TextIO) -> None:
        self.fh, self.muted = fh, True

    def write(self, text: str) -> int:
        return len(text) if self.muted else self.fh.write(text)


class CheckpointedCsv:
    """The work file of one CSV job and its checkpoint: open, write, commit, finish or abandon."""

    def __init__(
        self, output: Path, header: list[str], job: dict[str, Any], resume: Checkpoint | None
    ) -> None:
        self.output, self.job = output, job
        self.partial, self.path = work_paths(output)
        if resume is None:
            discard(output)
            self.fh: TextIO = open(self.partial, "w", encoding="utf-8", newline="")
            self.writer = CsvExportWriter(self.fh, header)
        else:
            os.truncate(self.partial, resume.partial_bytes)
            self.fh = open(self.partial, "a", encoding="utf-8", newline="")
            sink = _Sink(self.fh)
            self.writer = CsvExportWriter(sink, header)  # type: ignore[arg-type]
            sink.muted = False

    def commit(self, chunk_rows: int, chunks_done: int, ledger: dict[str, Any]) -> None:
        """Make the rows written so far durable, then record them in the checkpoint."""
        self.fh.flush()
        os.fsync(self.fh.fileno())
        size = os.fstat(self.fh.fileno()).st_size
        atomic_write_json(
            self.path, Checkpoint(self.job, chunk_rows, chunks_done, size, ledger).as_json()
        )

    def finish(self) -> None:
        """Rename the complete work file over the output, then drop the checkpoint."""
        self.fh.flush()
        os.fsync(self.fh.fileno())
        self.fh.close()
        os.replace(self.partial, self.output)
        fsync_dir(self.output.parent)
        with suppress(FileNotFoundError):
            self.path.unlink()

    def abandon(self, keep: bool) -> None:
        """Close after a failure; keep the work for a resume, or delete it (cancelled)."""
        with suppress(OSError):
            self.fh.close()
        if not keep:
            discard(self.output)


def describe(output: Path) -> str | None:
    """One line for the CLI about a job that will be resumed, or None."""
    checkpoint = load(output)
    if checkpoint is None:
        return None
    read = checkpoint.ledger.get("rows_read", 0)
    return f"resuming {output.name} after {read:,} records ({checkpoint.chunks_done} chunks)"
