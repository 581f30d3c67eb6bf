"""Private temporary folders for files that hold scored text (XLSX row files, overflow spools).

The system temp folder is shared and often world-readable; scored messages may hold personal
data. So such files live under the app's own data folder, in ``<data>/tmp/<pid>-<random>``
(mode 0700, `portable_fs.make_private_dir`), removed when the job ends however it ends. A run
killed outright cannot remove its folder: `clean_stale` removes folders whose process is gone,
and is called at every start of the CLI and of the GUI.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import weakref
from contextlib import suppress
from pathlib import Path

from app.core.common import portable_fs
from app.core.common.paths import user_data_dir

__all__ = ["PrivateTmp", "clean_stale", "tmp_root"]

_NAME = re.compile(r"(\d+)-[0-9a-f]{12}")


def tmp_root() -> Path:
    return user_data_dir() / "tmp"


class PrivateTmp:
    """A fresh private folder for one job's temporary files; `cleanup` removes it (idempotent)."""

    def __init__(self) -> None:
        root = portable_fs.make_private_dir(tmp_root())
        self.name = str(root / f"{os.getpid()}-{secrets.token_hex(6)}")
        os.mkdir(self.name, 0o700)  # a new name: never adopt someone else's folder
        portable_fs.make_private_dir(Path(self.name))  # mkdir's mode is masked by the umask
        # Also removed if the owner is dropped without cleanup (as tempfile.TemporaryDirectory).
        self._finalizer = weakref.finalize(self, shutil.rmtree, self.name, True)

    def cleanup(self) -> None:
        self._finalizer()


def clean_stale(root: Path | None = None) -> int:
    """Remove the folders of processes that are no longer running; returns how many."""
    base = root or tmp_root()
    removed = 0
    with suppress(OSError):
        for entry in base.iterdir():
            match = _NAME.fullmatch(entry.name)
            if not match or portable_fs.pid_alive(int(match.group(1))):
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
                removed += 1
    return removed
