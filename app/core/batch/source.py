"""A batch job's input, read once: its format, header, preview and text column (`resolve_input`),
and the SHA-256 of its bytes (`file_sha256`, for the provenance and the checkpoint's identity).

A desktop job resolves its input before scoring (it needs the column positions for its results
table) and hands the result to `run_batch` as ``sniffed``, so the file is sniffed and its text
column chosen once per job, not once per layer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.core.batch.options import BatchOptions
from app.core.common.errors import InputError
from app.core.common.hashing import sha256_stream
from app.core.common.input_guard import open_input
from app.core.csvio.csv_input import SniffResult, choose_text_column, sniff


def file_sha256(path: Path, cancelled: Callable[[], bool] | None = None) -> str:
    with open_input(path) as fh:
        return sha256_stream(fh, 1 << 22, cancelled)


@dataclass(frozen=True)
class BatchInput:
    """A job's input as read once: its format, header and preview, and the text column."""

    sniffed: SniffResult
    text_column: str

    @property
    def text_index(self) -> int:
        return self.sniffed.header.index(self.text_column)


def resolve_input(options: BatchOptions, sniffed: SniffResult | None = None) -> BatchInput:
    """Sniff ``options.input_path`` (unless ``sniffed`` is given: the caller read it with the
    options' encoding and delimiter) and resolve the text column, once for the whole job."""
    if sniffed is None:
        sniffed = sniff(options.input_path, encoding=options.encoding, delimiter=options.delimiter)
    if not sniffed.has_records:
        raise InputError(f"{options.input_path} has a header line but no rows to score.")
    text_column = choose_text_column(
        sniffed.header, sniffed.preview, options.text_column, source=options.input_path
    )
    return BatchInput(sniffed, text_column)
