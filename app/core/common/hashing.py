"""SHA-256 of a stream, read in blocks: the one digest loop behind every file hash the app
reports (bundle manifests, a batch's input, an export, a rejected-rows file)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import BinaryIO

from app.core.common.errors import JobCancelled


def sha256_stream(
    fh: BinaryIO, chunk_size: int = 1 << 20, cancelled: Callable[[], bool] | None = None
) -> str:
    """The hex SHA-256 of what is left to read in `fh`; JobCancelled when `cancelled` says so
    between blocks (a large input's hash is a long operation)."""
    digest = hashlib.sha256()
    while block := fh.read(chunk_size):
        if cancelled is not None and cancelled():
            raise JobCancelled("cancelled")
        digest.update(block)
    return digest.hexdigest()
