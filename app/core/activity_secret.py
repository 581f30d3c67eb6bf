"""The per-install secret that keys the activity log's text HMACs.

With this key an analyst can prove a given text was scored, while the log itself never reveals
the text; without it, the HMACs cannot be checked against guessed texts.
"""

from __future__ import annotations

import os
import secrets
from contextlib import suppress
from pathlib import Path

SECRET_BYTES = 32


def load_or_create_secret(path: Path) -> bytes:
    """The per-install HMAC key: 32 random bytes, created once, readable by the owner only.

    Written to a temporary file and linked into place only when complete, so a crash never
    leaves a short key and two processes starting together agree on one key.
    """
    damaged = False
    if path.exists():
        key = path.read_bytes()
        if len(key) >= SECRET_BYTES:
            if os.name == "posix" and path.stat().st_mode & 0o077:
                os.chmod(path, 0o600)  # a copied or restored key file may have become readable
            return key
        damaged = True
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(SECRET_BYTES)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.partial")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(key)
            fh.flush()
            os.fsync(fh.fileno())
        if damaged:
            os.replace(tmp, path)  # a short key is useless: replace it
        else:
            try:
                os.link(tmp, path)  # fails if another process created the key first
            except FileExistsError:
                return load_or_create_secret(path)  # use theirs, so both agree on one key
    finally:
        with suppress(FileNotFoundError):
            os.unlink(tmp)
    return key
