"""Per-chunk checkpoints for CSV batch jobs, so an interrupted job resumes where it stopped.

Design (CSV output only):

* The job writes into a fixed, hidden work file ``.<out>.partial`` next to the output (the
  suffix no program opens by default, so it never looks finished), appends its rejected rows to
  ``.<out>.rejected.jsonl`` (one JSON object a line: appending keeps 200,000 rejected rows as
  cheap as 200,000 good ones, where rewriting the list every chunk was quadratic) and keeps a
  small checkpoint ``.<out>.checkpoint.json`` beside them.
* Work files are created exclusively and never through a link (`portable_fs.open_new_file`);
  a link, FIFO or file left at their names is removed first (the link itself, never its
  target), a folder there is refused. On resume they are opened with
  `portable_fs.open_regular_file`, so a link planted since is never followed.
* After every chunk both work files are flushed and fsynced, *then* the checkpoint is replaced
  atomically. It records the job's identity (input path, size and SHA-256 of the whole input,
  model and challenger fingerprints, threshold, text column, encoding, delimiter, format,
  output header), the chunk size, the chunks done, each work file's length and the SHA-256 of
  its bytes, the ledger so far, and a MAC (`app.core.batch.checkpoint_schema`).
* Resume (``run_batch(..., resume=True)``) believes a checkpoint only if every field checks out,
  its MAC verifies and both work files hold exactly the hashed bytes (a longer file -- a chunk
  half-written when the process died -- is cut back to the recorded length once the bytes
  before it match). Anything else starts the job over, with a note naming the output: a resume
  never continues into missing, duplicated or cut rows. A job whose identity differs (another
  input, model, threshold...) is refused instead, keeping the work, so the user decides.
  Chunks already done are re-read and skipped (re-reading keeps line numbers and rejections
  exactly as in one pass); the result is byte-identical to an uninterrupted run.
* At the end the work file is renamed over the output, then the checkpoint and the rejected
  list are removed. A crash between the two leaves a checkpoint without a work file: resume
  starts over.
* Cancellation (`JobCancelled`) is a decision, so it deletes the work; any other interruption
  (exception, Ctrl+C, SIGTERM, SIGKILL, power loss) keeps it for a resume.
* XLSX cannot be appended to: XLSX jobs are not checkpointed and always restart.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.core.batch import checkpoint_schema
from app.core.batch.checkpoint_schema import BadCheckpoint, mismatch
from app.core.common.atomic import atomic_write_json, fsync_dir
from app.core.common.errors import InputError
from app.core.common.output_guard import job_work_paths as _all_paths  # the names, in one place
from app.core.common.portable_fs import NotARegularFile, open_new_file, open_regular_file
from app.core.export.csv_writer import CsvExportWriter

_MAX_CHECKPOINT_BYTES = 16 << 20  # a header of thousands of columns fits many times over
_BLOCK = 1 << 20


def work_paths(output: Path) -> tuple[Path, Path]:
    """The hidden work file and checkpoint of a job writing `output`."""
    partial, checkpoint, _ = _all_paths(output)
    return partial, checkpoint


def rejected_path(output: Path) -> Path:
    """The append-only list of a job's rejected rows."""
    return _all_paths(output)[2]


def workstation_key() -> bytes:
    """The checkpoint MAC key, derived from the activity log's workstation key, by the log's own
    loader: created only if this is the first thing the workstation does, never beside a log
    that already holds events (its old HMACs would stop matching)."""
    from app.core.activity.secret import workstation_secret
    from app.core.common.paths import activity_db_path, activity_key_path

    db = activity_db_path()
    try:
        return checkpoint_schema.mac_key(workstation_secret(db))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot use the workstation key {activity_key_path(db)}: {exc}") from None


class _HashedFile:
    """An append-only binary file that hashes what it holds: the bytes a checkpoint vouches for
    are hashed as they are written, never read back."""

    def __init__(self, fd: int, digest: Any, size: int) -> None:
        self.fh = os.fdopen(fd, "ab", buffering=_BLOCK)
        self.digest, self.size = digest, size

    def write(self, text: str) -> int:
        data = text.encode("utf-8")
        self.digest.update(data)
        self.size += len(data)
        self.fh.write(data)
        return len(text)

    def sync(self) -> None:
        self.fh.flush()
        os.fsync(self.fh.fileno())

    def close(self) -> None:
        with suppress(OSError):
            self.fh.close()


@dataclass
class Checkpoint:
    """A verified checkpoint and its work files, open and cut back to what it vouches for."""

    job: dict[str, Any]
    chunk_rows: int
    chunks_done: int
    ledger: dict[str, Any]  # BatchReport counters, started_utc, elapsed seconds
    rejected: list[dict[str, Any]] = field(default_factory=list)
    files: tuple[_HashedFile, _HashedFile] | None = None

    def close(self) -> None:
        for item in self.files or ():
            item.close()


def load(output: Path, job: Mapping[str, Any]) -> tuple[Checkpoint | None, str]:
    """The checkpoint to resume `output` from, or None and a note saying why the job starts
    from the beginning. InputError if it is sound but belongs to another job."""
    partial, path, rejected = _all_paths(output)
    _refuse_folders(output)
    try:
        raw = _read_small(path)
    except FileNotFoundError:
        return None, f"no checkpoint for {output}; starting from the beginning"
    except OSError as exc:
        return None, _start_over(output, exc.strerror or str(exc))
    key = workstation_key()
    try:
        data = checkpoint_schema.parse(raw, key)
    except BadCheckpoint as exc:
        return None, _start_over(output, str(exc))
    if why := mismatch(data["job"], job):
        raise InputError(f"cannot resume {output}: {why}; run without resume to start over")
    opened: list[_HashedFile] = []
    try:
        opened.append(_adopt(partial, data["partial_bytes"], data["partial_sha256"], "work"))
        listed: list[bytes] = []  # the list's bytes as hashed: never read again by name
        opened.append(
            _adopt(rejected, data["rejected_bytes"], data["rejected_sha256"], "list", listed)
        )
        entries = _rejected_entries(b"".join(listed))
        if len(entries) != data["ledger"]["rows_rejected"]:
            raise BadCheckpoint("rejected rows and their list disagree")
    except (BadCheckpoint, OSError) as exc:
        for item in opened:
            item.close()
        why = str(exc) if isinstance(exc, BadCheckpoint) else exc.strerror or str(exc)
        return None, _start_over(output, why)
    checkpoint = Checkpoint(
        data["job"], data["chunk_rows"], data["chunks_done"], data["ledger"], entries
    )
    checkpoint.files = (opened[0], opened[1])
    read = checkpoint.ledger["rows_read"]
    return (
        checkpoint,
        f"resuming {output.name} after {read:,} records ({data['chunks_done']} chunks)",
    )


def _start_over(output: Path, why: str) -> str:
    return f"checkpoint for {output} does not match its work file ({why}); starting over"


def _read_small(path: Path) -> bytes:
    try:
        fd = open_regular_file(path)
    except NotARegularFile as exc:
        raise OSError(exc.errno, "the checkpoint is not a regular file") from None
    with os.fdopen(fd, "rb") as fh:
        raw = fh.read(_MAX_CHECKPOINT_BYTES + 1)
    if len(raw) > _MAX_CHECKPOINT_BYTES:
        raise OSError(0, "the checkpoint is too large")
    return raw


def _adopt(
    path: Path, size: int, sha256: str, what: str, keep: list[bytes] | None = None
) -> _HashedFile:
    """Open a work file for appending after its first `size` bytes, if they hash to `sha256`
    (a longer file is cut back to `size`; a shorter or different one is not resumable).
    ``keep`` receives those bytes, block by block."""
    try:
        fd = open_regular_file(path, os.O_RDWR)
    except FileNotFoundError:
        raise BadCheckpoint(f"the {what} file is missing") from None
    except NotARegularFile:
        raise BadCheckpoint(f"the {what} file is not a regular file") from None
    try:
        if os.fstat(fd).st_size < size:
            raise BadCheckpoint(f"the {what} file is shorter than recorded")
        digest, left = hashlib.sha256(), size
        os.lseek(fd, 0, os.SEEK_SET)
        while left:
            block = os.read(fd, min(left, _BLOCK))
            if not block:
                raise BadCheckpoint(f"the {what} file is shorter than recorded")
            digest.update(block)
            left -= len(block)
            if keep is not None:
                keep.append(block)
        if digest.hexdigest() != sha256:
            raise BadCheckpoint(f"the {what} file's bytes differ from the recorded hash")
        os.ftruncate(fd, size)  # bytes after the checkpoint: a chunk cut short by the crash
        os.lseek(fd, size, os.SEEK_SET)
    except BaseException:
        os.close(fd)
        raise
    return _HashedFile(fd, digest, size)


def _rejected_entries(data: bytes) -> list[dict[str, Any]]:
    """The rejected rows listed in `data` (the hash-checked bytes of the list)."""
    if not data:
        return []
    lines = data.split(b"\n")
    if lines.pop() != b"":
        raise BadCheckpoint("the rejected list ends mid-line")
    entries = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            raise BadCheckpoint("the rejected list is not JSON lines") from None
        if not (
            isinstance(entry, dict)
            # older lists have no last; text (and its note): only the first MAX_REJECTED_TEXTS
            and set(entry) - {"last", "text", "note"} == {"line", "reason", "excerpt"}
            and isinstance(entry.get("text", ""), str)
            and isinstance(entry.get("note", ""), str)
            and type(entry["line"]) is int
            and type(entry.get("last", 0)) is int
            and isinstance(entry["reason"], str)
            and isinstance(entry["excerpt"], str)
        ):
            raise BadCheckpoint("the rejected list has a malformed row")
        entries.append(entry)
    return entries


def _refuse_folders(output: Path) -> None:
    """A folder at a work file's name is not ours to delete: refuse before anything else."""
    for item in _all_paths(output):
        with suppress(OSError):
            if stat.S_ISDIR(os.lstat(item).st_mode):
                raise InputError(
                    f"cannot write {output}: a folder is in the way of its work file "
                    f"{item.name}; move it away and try again"
                )


def discard(output: Path) -> None:
    """Remove the checkpoint first, then the work files (never a checkpoint without its data).

    A link at one of these names is removed itself (unlink never follows it); a folder there is
    refused."""
    _refuse_folders(output)
    partial, checkpoint, rejected = _all_paths(output)
    for item in (checkpoint, partial, rejected):
        with suppress(FileNotFoundError):
            item.unlink()


@contextmanager
def naming(output: Path) -> Iterator[None]:
    """A failure on a work file (full disk, no permission...) is reported as one on the output:
    the user knows that name, not ours."""
    try:
        yield
    except OSError as exc:
        raise InputError(f"cannot write {output}: {exc.strerror or exc}") from None


class _Sink:
    """Text for the work file; dropped while `muted` (the header already in a resumed file)."""

    def __init__(self, target: _HashedFile, output: Path, muted: bool) -> None:
        self.target, self.output, self.muted = target, output, muted

    def write(self, text: str) -> int:
        if self.muted:
            return len(text)
        with naming(self.output):
            return self.target.write(text)


class CheckpointedCsv:
    """The work files of one CSV job and its checkpoint: write, commit, finish or abandon."""

    def __init__(
        self, output: Path, header: list[str], job: dict[str, Any], resume: Checkpoint | None
    ) -> None:
        self.output, self.job, self.key = output, job, workstation_key()
        self.partial, self.path, rejected = _all_paths(output)
        resumed = resume is not None and resume.files is not None
        with naming(output):
            if not resumed:
                discard(output)
                self.work = _HashedFile(_create(output, self.partial, 0o666), hashlib.sha256(), 0)
                # 0600: the rejected rows' excerpts are the analyst's texts
                self.rejected = _HashedFile(_create(output, rejected, 0o600), hashlib.sha256(), 0)
                self.listed = 0
            else:
                assert resume is not None and resume.files is not None
                self.work, self.rejected = resume.files
                self.listed = len(resume.rejected)
            sink = _Sink(self.work, output, muted=resumed)  # a resumed file has its header
            self.writer = CsvExportWriter(sink, header)  # type: ignore[arg-type]
            sink.muted = False

    def commit(
        self,
        chunk_rows: int,
        chunks_done: int,
        ledger: dict[str, Any],
        rejected: list[dict[str, Any]],
    ) -> None:
        """Make the rows written so far durable, then record them in the checkpoint."""
        with naming(self.output):
            for entry in rejected[self.listed :]:
                self.rejected.write(json.dumps(entry, ensure_ascii=True) + "\n")
            self.listed = len(rejected)
            self.work.sync()
            self.rejected.sync()
            body: dict[str, Any] = {
                "format": checkpoint_schema.FORMAT,
                "job": self.job,
                "chunk_rows": chunk_rows,
                "chunks_done": chunks_done,
                "partial_bytes": self.work.size,
                "partial_sha256": self.work.digest.hexdigest(),
                "rejected_bytes": self.rejected.size,
                "rejected_sha256": self.rejected.digest.hexdigest(),
                "ledger": ledger,
            }
            body["mac"] = checkpoint_schema.sign(body, self.key)
            atomic_write_json(self.path, body)

    def finish(self) -> None:
        """Rename the complete work file over the output, then drop the checkpoint and list."""
        with naming(self.output):
            self.work.sync()
            self.work.close()
            self.rejected.close()
            os.replace(self.partial, self.output)
        fsync_dir(self.output.parent)
        for item in (self.path, rejected_path(self.output)):
            with suppress(FileNotFoundError):
                item.unlink()

    def abandon(self, keep: bool) -> None:
        """Close after a failure; keep the work for a resume, or delete it (cancelled)."""
        self.work.close()
        self.rejected.close()
        if not keep:
            with suppress(InputError):
                discard(self.output)


def _create(output: Path, path: Path, mode: int) -> int:
    try:
        return open_new_file(path, mode)
    except FileExistsError:
        raise InputError(
            f"cannot write {output}: another process is creating its work files; try again"
        ) from None
