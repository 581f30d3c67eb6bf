"""The few file-system calls whose safe form differs between POSIX and Windows.

Every protection that needs one of them (not following symbolic links, exclusive creation, a lock
that the operating system releases when its process dies, "is this process still alive?") goes
through this module, so each has exactly one POSIX branch and one fallback, tested side by side.
On Windows there is no ``O_NOFOLLOW`` and no ``fcntl``: the fallback checks with ``lstat`` before
opening and compares the opened file's identity afterwards, and locks with ``msvcrt.locking``.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
import time
from pathlib import Path
from typing import IO

__all__ = [
    "FileLock",
    "LockBusy",
    "NotARegularFile",
    "make_private_dir",
    "open_new_file",
    "open_regular_file",
    "pid_alive",
    "same_file",
]

IS_WINDOWS = sys.platform == "win32"
# Read at call time (not import time) so tests can take the fallback branch on POSIX.
_NOFOLLOW_NAME = "O_NOFOLLOW"


class NotARegularFile(OSError):
    """The path is a symbolic link, a folder, a FIFO, a device or a socket."""


class LockBusy(OSError):
    """Another live process holds the lock."""


def _nofollow_flag() -> int:
    return getattr(os, _NOFOLLOW_NAME, 0)


def _refuse_link(path: Path) -> None:
    """The fallback's check before opening: refuse a link or anything that is not a file."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISREG(info.st_mode):
        raise NotARegularFile(errno.ELOOP, "not a regular file", str(path))


def open_new_file(path: Path, mode: int = 0o600) -> int:
    """Create `path`, which must not exist, and return a write-only descriptor.

    ``O_EXCL`` refuses an existing name, link or not (a dangling link included), so nothing is
    ever written through a link planted at a work file's name.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _nofollow_flag() | getattr(os, "O_BINARY", 0)
    return os.open(path, flags, mode)


def open_regular_file(
    path: Path, flags: int = os.O_RDONLY, mode: int = 0o600, *, follow_links: bool = False
) -> int:
    """Open `path` without following a final symbolic link; refuse anything but a regular file.

    A FIFO is opened non-blocking so that checking it can never hang; it is then refused.
    ``follow_links=True`` is for a user's input, which may well be a link to the real file: the
    link is followed, and what it leads to must still be a regular file.
    """
    nofollow = 0 if follow_links else _nofollow_flag()
    if not nofollow and not follow_links:
        _refuse_link(path)
    extra = getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0) | nofollow
    try:
        fd = os.open(path, flags | extra, mode)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EMLINK):  # O_NOFOLLOW met a link
            raise NotARegularFile(errno.ELOOP, "is a symbolic link", str(path)) from None
        raise
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise NotARegularFile(errno.EINVAL, "not a regular file", str(path))
    if not nofollow and not follow_links and not same_inode(path, info):
        os.close(fd)  # swapped for a link between the check and the open
        raise NotARegularFile(errno.ELOOP, "changed while opening", str(path))
    if extra & getattr(os, "O_NONBLOCK", 0):
        os.set_blocking(fd, True)
    return fd


HEAD_BYTES = 1 << 20  # a CSV header or a JSON file's first keys are well within this


def read_head(path: Path, limit: int = HEAD_BYTES) -> bytes | None:
    """The first ``limit`` bytes of a regular file (never blocks on a FIFO), None if it cannot
    be read: how the app recognises a file it wrote before replacing it."""
    try:
        fd = open_regular_file(path, follow_links=True)
    except OSError:
        return None
    try:
        return os.read(fd, limit)
    except OSError:
        return None
    finally:
        os.close(fd)


def same_inode(path: Path, info: os.stat_result) -> bool:
    try:
        now = os.lstat(path)
    except OSError:
        return False
    return (now.st_dev, now.st_ino) == (info.st_dev, info.st_ino)


def same_file(a: Path, b: Path) -> bool:
    """True if `a` and `b` name the same file: equal resolved paths, or the same inode
    (hard links, bind mounts, case-insensitive file systems)."""
    if Path(os.path.abspath(a)).resolve() == Path(os.path.abspath(b)).resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def make_private_dir(path: Path) -> Path:
    """Create `path` (and parents) readable only by this user; tighten it if it exists."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not IS_WINDOWS:  # Windows folders under the user's profile are private already
        info = os.lstat(path)
        if not stat.S_ISDIR(info.st_mode):
            raise NotARegularFile(errno.ENOTDIR, "not a folder", str(path))
        if info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) != 0o700:
            os.chmod(path, 0o700)
    return path


def pid_alive(pid: int) -> bool:
    """True if a process with this id exists (it may belong to another user)."""
    if pid <= 0:
        return False
    if IS_WINDOWS:
        return _windows_pid_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _windows_pid_alive(pid: int) -> bool:  # pragma: no cover - Windows only
    import ctypes

    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return False
    code = ctypes.c_ulong()
    kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
    kernel32.CloseHandle(handle)
    return code.value == 259  # STILL_ACTIVE


class FileLock:
    """An exclusive, non-blocking lock held through a small file beside what it protects.

    The lock is the operating system's (``flock`` on POSIX, ``msvcrt.locking`` on Windows), not the
    file's existence: a process killed with SIGKILL releases it, so a leftover lock file never
    blocks the next run. The file holds the owner's pid for the message shown to a second job.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[bytes] | None = None

    def acquire(self) -> FileLock:
        fd = os.open(
            self.path, os.O_RDWR | os.O_CREAT | _nofollow_flag() | getattr(os, "O_BINARY", 0), 0o600
        )
        handle = os.fdopen(fd, "r+b")
        try:
            _lock(handle)
        except OSError:
            handle.close()
            raise LockBusy(errno.EAGAIN, "in use by another job", str(self.path)) from None
        if not same_inode(self.path, os.fstat(fd)):
            # The holder unlinked the file as we opened it: our lock is on a dead inode.
            handle.close()
            raise LockBusy(errno.EAGAIN, "in use by another job", str(self.path))
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()).encode())
        handle.flush()
        self._file = handle
        return self

    def release(self) -> None:
        handle, self._file = self._file, None
        if handle is None:
            return
        try:
            self.path.unlink(missing_ok=True)  # while still locked: no one else is using it
        finally:
            _unlock(handle)
            handle.close()

    def owner_pid(self) -> int | None:
        try:
            return int(self.path.read_text(encoding="ascii").strip() or 0) or None
        except (OSError, ValueError):
            return None

    def acquire_within(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for the lock; whether it was acquired."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.acquire()
                return True
            except LockBusy:
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.01)

    def __enter__(self) -> FileLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _lock(handle: IO[bytes]) -> None:
    if IS_WINDOWS:  # pragma: no cover - Windows only
        import msvcrt

        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
    else:
        import fcntl

        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


def _unlock(handle: IO[bytes]) -> None:
    if IS_WINDOWS:  # pragma: no cover - Windows only
        import msvcrt

        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]
    else:
        import fcntl

        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
