"""Both branches of every portable file-system call: POSIX, and the fallback used on Windows."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.core.common import portable_fs
from app.core.common.portable_fs import FileLock, LockBusy, NotARegularFile

BRANCHES = ["posix", "fallback"]


@pytest.fixture(params=BRANCHES)
def branch(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "fallback":  # as on Windows: no O_NOFOLLOW
        monkeypatch.setattr(portable_fs, "_NOFOLLOW_NAME", "O_NOFOLLOW_MISSING")
    return str(request.param)


def test_open_new_file_refuses_existing_and_links(tmp_path: Path, branch: str) -> None:
    target = tmp_path / "victim.csv"
    target.write_text("precious")
    link = tmp_path / "work.partial"
    link.symlink_to(target)
    with pytest.raises(FileExistsError):
        portable_fs.open_new_file(link)
    dangling = tmp_path / "dangling.partial"
    dangling.symlink_to(tmp_path / "nowhere")
    with pytest.raises(FileExistsError):
        portable_fs.open_new_file(dangling)
    assert target.read_text() == "precious"
    assert not (tmp_path / "nowhere").exists()
    fd = portable_fs.open_new_file(tmp_path / "fresh")
    os.close(fd)
    assert (tmp_path / "fresh").stat().st_mode & 0o777 == 0o600


def test_open_regular_file_refuses_link_fifo_and_folder(tmp_path: Path, branch: str) -> None:
    target = tmp_path / "data.csv"
    target.write_text("a\n")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    with pytest.raises(NotARegularFile):
        portable_fs.open_regular_file(link)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(NotARegularFile):  # must not block waiting for a writer
        portable_fs.open_regular_file(fifo)
    with pytest.raises((NotARegularFile, IsADirectoryError)):
        portable_fs.open_regular_file(tmp_path)
    fd = portable_fs.open_regular_file(target)
    assert os.read(fd, 10) == b"a\n"
    os.close(fd)


def test_same_file_sees_links_and_relative_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = tmp_path / "a.csv"
    a.write_text("x")
    hard = tmp_path / "hard.csv"
    os.link(a, hard)
    soft = tmp_path / "soft.csv"
    soft.symlink_to(a)
    monkeypatch.chdir(tmp_path)
    assert portable_fs.same_file(Path("a.csv"), a)
    assert portable_fs.same_file(hard, a)
    assert portable_fs.same_file(soft, a)
    assert not portable_fs.same_file(a, tmp_path / "b.csv")


def test_private_dir_is_tightened(tmp_path: Path) -> None:
    loose = tmp_path / "tmp"
    loose.mkdir(mode=0o755)
    os.chmod(loose, 0o755)
    portable_fs.make_private_dir(loose)
    assert loose.stat().st_mode & 0o777 == 0o700


def test_lock_refuses_second_holder_and_is_freed_by_a_kill(tmp_path: Path) -> None:
    lock_path = tmp_path / ".out.csv.lock"
    first = FileLock(lock_path).acquire()
    with pytest.raises(LockBusy):
        FileLock(lock_path).acquire()
    assert FileLock(lock_path).owner_pid() == os.getpid()
    first.release()
    assert not lock_path.exists()
    # A holder killed with SIGKILL leaves the file but not the lock.
    code = (
        "import sys, time; from pathlib import Path; from app.core.common.portable_fs import FileLock;"
        f"held = FileLock(Path({str(lock_path)!r})).acquire(); print('held', flush=True); time.sleep(60)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    with pytest.raises(LockBusy):
        FileLock(lock_path).acquire()
    proc.kill()
    proc.wait()
    assert lock_path.exists()
    with FileLock(lock_path):
        assert FileLock(lock_path).owner_pid() == os.getpid()


def test_pid_alive() -> None:
    assert portable_fs.pid_alive(os.getpid())
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert not portable_fs.pid_alive(proc.pid)
    assert not portable_fs.pid_alive(0)


def test_open_regular_file_following_links_for_inputs(tmp_path: Path, branch: str) -> None:
    # A user's input may be a link to the real file; what it leads to must still be a file.
    target = tmp_path / "data.csv"
    target.write_text("a\n")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    fd = portable_fs.open_regular_file(link, follow_links=True)
    assert os.read(fd, 10) == b"a\n"
    os.close(fd)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    to_fifo = tmp_path / "to-pipe"
    to_fifo.symlink_to(fifo)
    with pytest.raises(NotARegularFile):  # followed, then refused, without blocking
        portable_fs.open_regular_file(to_fifo, follow_links=True)
    with pytest.raises(NotARegularFile):  # the default still refuses the link itself
        portable_fs.open_regular_file(link)
