"""Adversarial paths for outputs: collisions, special files, databases, long names, locks, temp files.

Each case runs the real command line (or the core entry point the GUI uses) and asserts the exact
outcome: the exit code, one line on stderr naming the user's path, no traceback, and every file
that was there before byte-for-byte unchanged.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli_runner import run_cli
from tests.conftest import REPO


def lock_path(output: Path) -> Path:
    """The lock beside a short-named output (imported lazily so this file loads on old code)."""
    from app.core.common.output_guard import lock_path as real

    return real(output)


CSV = b"id,text\n1,you are an idiot\n2,have a nice day\n3,thanks for the help\n"
Setup = Callable[[Path], tuple[list[str], str]]


def _snapshot(folder: Path) -> dict[str, bytes | str]:
    """Every entry under `folder`: file bytes, or what a link/FIFO/folder is."""
    seen: dict[str, bytes | str] = {}
    for path in sorted(folder.rglob("*")):
        key = str(path.relative_to(folder))
        if path.is_symlink():
            seen[key] = f"link->{os.readlink(path)}"
        elif path.is_file():
            seen[key] = path.read_bytes()
        else:
            seen[key] = "special" if not path.is_dir() else "dir"
    return seen


def _refused(tmp_path: Path, args: list[str], needle: str, code: int = 3) -> str:
    """Run `args`, assert a one-line refusal naming `needle` and an untouched folder."""
    work = tmp_path / "w"
    before = _snapshot(work)
    result = run_cli(*args, ABUSE_DESK_HOME=str(tmp_path / "home"), timeout=60)
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert needle in lines[0], lines[0]
    assert _snapshot(work) == before
    return lines[0]


@pytest.fixture
def work(tmp_path: Path) -> Path:
    folder = tmp_path / "w"
    folder.mkdir()
    (folder / "in.csv").write_bytes(CSV)
    return folder


def _db(path: Path) -> Path:
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, action TEXT)")
        con.execute("INSERT INTO events (action) VALUES ('precious')")
    return path


def _activity_db(tmp_path: Path) -> Path:
    data = tmp_path / "home" / "data"
    data.mkdir(parents=True, exist_ok=True)
    return _db(data / "activity.sqlite3")


# --- 1. Outputs that are the input or another output of the same command --------------------


def _same(w: Path) -> tuple[list[str], str]:
    return ["-o", str(w / "in.csv")], "in.csv"


def _dotted(w: Path) -> tuple[list[str], str]:
    (w / "sub").mkdir()
    return ["-o", f"{w}/sub/../././in.csv"], "in.csv"


def _hard_link(w: Path) -> tuple[list[str], str]:
    os.link(w / "in.csv", w / "alias.csv")
    return ["-o", str(w / "alias.csv")], "alias.csv"


def _symlink(w: Path) -> tuple[list[str], str]:
    (w / "link.csv").symlink_to(w / "in.csv")
    return ["-o", str(w / "link.csv")], "link.csv"


def _folder_link(w: Path) -> tuple[list[str], str]:
    (w / "via").symlink_to(w, target_is_directory=True)
    return ["-o", str(w / "via" / "in.csv")], "in.csv"


def _report_is_input(w: Path) -> tuple[list[str], str]:
    return ["-o", str(w / "out.csv"), "--report", str(w / "in.csv")], "in.csv"


def _report_is_output(w: Path) -> tuple[list[str], str]:
    return ["-o", str(w / "out.csv"), "--report", str(w / "out.csv")], "out.csv"


def _report_is_sidecar(w: Path) -> tuple[list[str], str]:
    target = w / "out.csv.provenance.json"
    return ["-o", str(w / "out.csv"), "--report", str(target)], "out.csv"


def _report_hard_link(w: Path) -> tuple[list[str], str]:
    os.link(w / "in.csv", w / "r.json")
    return ["-o", str(w / "out.csv"), "--report", str(w / "r.json")], "r.json"


def _sidecar_is_input(w: Path) -> tuple[list[str], str]:
    (w / "in.csv").rename(w / "x.csv.provenance.json")
    (w / "in.csv").write_bytes(CSV)
    return ["-o", str(w / "x.csv"), "--report", str(w / "x.csv.provenance.json")], "x.csv"


def _sidecar_over_input(w: Path) -> tuple[list[str], str]:
    # The input itself is named like -o's sidecar: writing provenance would destroy it.
    (w / "in.csv").rename(w / "out.csv.provenance.json")
    return ["-o", str(w / "out.csv")], "out.csv"


COLLISIONS: dict[str, Setup] = {
    "o-equals-input": _same,
    "o-dotted-path": _dotted,
    "o-hard-link": _hard_link,
    "o-symlink-to-input": _symlink,
    "o-through-folder-link": _folder_link,
    "report-equals-input": _report_is_input,
    "report-equals-o": _report_is_output,
    "report-equals-o-sidecar": _report_is_sidecar,
    "report-hard-link-to-input": _report_hard_link,
    "report-equals-sidecar-and-input": _sidecar_is_input,
}


@pytest.mark.parametrize("case", COLLISIONS)
def test_score_output_collisions_are_refused(tmp_path: Path, work: Path, case: str) -> None:
    extra, needle = COLLISIONS[case](work)
    source = work / "in.csv"
    if case == "report-equals-sidecar-and-input":
        source = work / "x.csv.provenance.json"
    line = _refused(tmp_path, ["score", str(source), *extra, "--quiet"], needle)
    assert "refusing to write there" in line


def test_sidecar_named_like_the_input_is_refused(tmp_path: Path, work: Path) -> None:
    extra, needle = _sidecar_over_input(work)
    source = work / "out.csv.provenance.json"
    line = _refused(tmp_path, ["score", str(source), *extra, "--quiet"], needle)
    assert "provenance file is the input" in line


def test_input_symlink_and_output_its_target(tmp_path: Path, work: Path) -> None:
    (work / "link.csv").symlink_to(work / "in.csv")
    args = ["score", str(work / "link.csv"), "-o", str(work / "in.csv"), "--quiet"]
    _refused(tmp_path, args, "in.csv")


def test_relative_paths_are_resolved(tmp_path: Path, work: Path) -> None:
    # run_cli's working folder is the repository: a relative path from there to the same file.
    rel = os.path.relpath(work / "in.csv", REPO)
    _refused(tmp_path, ["score", str(work / "in.csv"), "-o", rel, "--quiet"], "in.csv")


# --- 1b. Databases: the activity log and any SQLite file ---------------------------------------


def _db_target(tmp_path: Path, work: Path, kind: str) -> Path:
    if kind == "activity":
        return _activity_db(tmp_path)
    if kind == "sqlite-any-name":
        return _db(work / "notes.csv")
    if kind == "link-to-activity":
        (work / "events.csv").symlink_to(_activity_db(tmp_path))
        return work / "events.csv"
    if kind == "hard-link-to-activity":
        os.link(_activity_db(tmp_path), work / "events.csv")
        return work / "events.csv"
    if kind == "wal-beside-db":
        _db(work / "store.db")
        (work / "store.db-wal").write_bytes(b"\x37\x7f\x06\x82 wal frames")
        return work / "store.db-wal"
    raise AssertionError(kind)


DB_KINDS = [
    "activity",
    "sqlite-any-name",
    "link-to-activity",
    "hard-link-to-activity",
    "wal-beside-db",
]


@pytest.mark.parametrize("kind", DB_KINDS)
def test_score_never_writes_onto_a_database(tmp_path: Path, work: Path, kind: str) -> None:
    target = _db_target(tmp_path, work, kind)
    activity = tmp_path / "home" / "data" / "activity.sqlite3"
    kept = activity.read_bytes() if activity.exists() else None
    args = ["score", str(work / "in.csv"), "-o", str(target), "--quiet"]
    line = _refused(tmp_path, args, target.name)
    assert "refusing" in line
    assert (activity.read_bytes() if activity.exists() else None) == kept


@pytest.mark.parametrize("kind", DB_KINDS)
def test_log_export_never_writes_onto_a_database(tmp_path: Path, work: Path, kind: str) -> None:
    target = _db_target(tmp_path, work, kind)
    activity = tmp_path / "home" / "data" / "activity.sqlite3"
    if not activity.exists():  # the log must exist for export to get as far as writing
        _activity_db(tmp_path)
    kept = activity.read_bytes()
    line = _refused(tmp_path, ["log", "export", str(target)], target.name)
    assert "refusing" in line
    assert activity.read_bytes() == kept


def test_log_export_onto_its_own_db_option(tmp_path: Path, work: Path) -> None:
    db = _db(work / "copy-of-log.bin")
    _refused(tmp_path, ["log", "export", str(db), "--db", str(db)], "copy-of-log.bin")


def test_report_onto_a_database(tmp_path: Path, work: Path) -> None:
    db = _db(work / "r.json")
    args = ["score", str(work / "in.csv"), "-o", str(work / "o.csv"), "--report", str(db)]
    _refused(tmp_path, [*args, "--quiet"], "r.json")


# --- 1c. Outputs that are not files ------------------------------------------------------------


def _special(work: Path, kind: str) -> Path:
    target = work / f"target-{kind}"
    if kind == "folder":
        target.mkdir()
        (target / "keep.txt").write_text("keep")
    elif kind == "fifo":
        os.mkfifo(target)
    elif kind == "socket":
        target = Path(f"/tmp/ad-sock-{os.getpid()}-{time.monotonic_ns()}")
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(target))
        sock.close()
    elif kind == "device":
        # A private twin of /dev/null: code that renames over its output (as the code before
        # this check did) must never get the chance to replace the system's own device.
        try:
            os.mknod(target, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        except (PermissionError, AttributeError):
            pytest.skip("creating a device node needs root")
    elif kind == "link-to-folder":
        (work / "real").mkdir()
        target.symlink_to(work / "real", target_is_directory=True)
    return target


SPECIALS = ["folder", "fifo", "socket", "device", "link-to-folder"]


@pytest.mark.parametrize("kind", SPECIALS)
def test_score_output_that_is_not_a_file(tmp_path: Path, work: Path, kind: str) -> None:
    target = _special(work, kind)
    try:
        args = ["score", str(work / "in.csv"), "-o", str(target), "--quiet"]
        line = _refused(tmp_path, args, str(target))
        assert "not a file" in line
    finally:
        if kind == "socket":
            target.unlink()


def test_report_that_is_a_folder(tmp_path: Path, work: Path) -> None:
    target = _special(work, "folder")
    args = ["score", str(work / "in.csv"), "-o", str(work / "o.csv"), "--report", str(target)]
    _refused(tmp_path, [*args, "--quiet"], str(target))


def test_log_export_to_a_fifo_does_not_hang(tmp_path: Path, work: Path) -> None:
    _activity_db(tmp_path)
    target = _special(work, "fifo")
    line = _refused(tmp_path, ["log", "export", str(target)], str(target))
    assert "FIFO" in line


# --- 2. Writable folder and names that fit, checked before scoring ----------------------------


def _long(stem_bytes: int, suffix: str = ".csv", char: str = "a") -> str:
    width = len(char.encode())
    return char * (stem_bytes // width) + suffix


NAMES = {
    # 251 bytes fit, but "<name>.provenance.json" (267) does not: found before scoring.
    "sidecar-too-long": _long(247),
    "name-itself-too-long": _long(260),
    # 240 bytes of two-byte letters: 120 characters, yet over the limit once the sidecar is added.
    "multibyte-sidecar": _long(240, char="é"),
}


@pytest.mark.parametrize("case", NAMES)
def test_names_that_do_not_fit_are_refused_first(tmp_path: Path, work: Path, case: str) -> None:
    name = NAMES[case]
    args = ["score", str(work / "in.csv"), "-o", str(work / name), "--quiet"]
    line = _refused(tmp_path, args, name[:60])
    assert "file name too long" in line


def test_report_name_too_long(tmp_path: Path, work: Path) -> None:
    name = _long(258, ".json")
    args = ["score", str(work / "in.csv"), "-o", str(work / "o.csv"), "--report", str(work / name)]
    line = _refused(tmp_path, [*args, "--quiet"], name[:60])
    assert "file name too long" in line


def test_long_xlsx_name_without_sidecar_is_accepted(tmp_path: Path, work: Path) -> None:
    out = work / _long(246, ".xlsx")  # 251 bytes: no sidecar, work names are cut to fit
    result = run_cli("score", str(work / "in.csv"), "-o", str(out), "--quiet")
    assert result.returncode == 0, result.stderr
    assert out.exists() and (work / "in.csv").read_bytes() == CSV


def test_long_xlsx_name_with_rejected_rows_scores_and_says_where_they_are_not(
    tmp_path: Path, work: Path
) -> None:
    """The default OUT.rejected.csv beside a 251-byte OUT.xlsx would need 259 bytes: the scored
    output is still written; the rejected rows are not, which stderr and the provenance say."""
    src = work / "bad.csv"
    src.write_bytes(CSV + b'1,"never closed\n')
    out = work / _long(246, ".xlsx")
    result = run_cli("score", str(src), "-o", str(out), "--quiet")
    assert result.returncode == 0, result.stderr
    assert out.exists() and "rejected rows not written" in result.stderr
    assert "--rejected FILE" in result.stderr and not list(work.glob("*.rejected.csv"))


FOLDERS = {
    "missing-folder": lambda w: w / "nope" / "o.csv",
    "folder-is-a-file": lambda w: w / "in.csv" / "o.csv",
}


@pytest.mark.parametrize("case", FOLDERS)
def test_output_folder_must_exist(tmp_path: Path, work: Path, case: str) -> None:
    target = FOLDERS[case](work)
    _refused(tmp_path, ["score", str(work / "in.csv"), "-o", str(target), "--quiet"], str(target))


@pytest.mark.skipif(getattr(os, "geteuid", lambda: 1)() == 0, reason="root ignores permissions")
def test_read_only_folder_is_refused_before_scoring(tmp_path: Path, work: Path) -> None:
    locked = work / "ro"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        args = ["score", str(work / "in.csv"), "-o", str(locked / "o.csv"), "--quiet"]
        assert "permission denied" in _refused(tmp_path, args, "o.csv")
    finally:
        locked.chmod(0o700)


def test_unwritable_folder_is_found_by_a_probe(tmp_path: Path, monkeypatch) -> None:
    # Root ignores permissions, so make creation fail the way a read-only share does.
    from app.core.common import output_guard, portable_fs
    from app.core.common.errors import InputError

    def refuse(path: Path, mode: int = 0o600) -> int:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(portable_fs, "open_new_file", refuse)
    with pytest.raises(InputError, match=r"o\.csv: cannot write in the folder .*permission denied"):
        output_guard.check_output(tmp_path / "o.csv", {})
    assert list(tmp_path.iterdir()) == []


# --- 3. Two jobs writing one output -------------------------------------------------------------

_HOLDER = """
import sys, time
from pathlib import Path
from app.core.common.portable_fs import FileLock
lock = FileLock(Path(sys.argv[1])).acquire()
print("held", flush=True)
time.sleep(60)
"""


def test_second_job_on_the_same_output_is_refused(tmp_path: Path, work: Path) -> None:
    out = work / "out.csv"
    out.write_bytes(b"previous result")
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(lock_path(out))],
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        # --overwrite: "previous result" is not our output; the lock is what refuses here.
        args = ["score", str(work / "in.csv"), "-o", str(out), "--quiet", "--overwrite"]
        line = _refused(tmp_path, args, str(out))
        assert f"is being written by another job (pid {holder.pid})" in line
    finally:
        holder.kill()
        holder.wait()
    # The holder died without releasing: the OS did, so the next job runs.
    result = run_cli("score", str(work / "in.csv"), "-o", str(out), "--quiet", "--overwrite")
    assert result.returncode == 0, result.stderr
    assert not lock_path(out).exists()


def test_stale_lock_file_does_not_block(tmp_path: Path, work: Path) -> None:
    out = work / "out.csv"
    lock_path(out).write_text("999999999")  # a crashed job's leftover
    result = run_cli("score", str(work / "in.csv"), "-o", str(out), "--quiet")
    assert result.returncode == 0, result.stderr
    assert out.exists() and not lock_path(out).exists()


def test_lock_file_planted_as_a_link_is_not_followed(tmp_path: Path, work: Path) -> None:
    victim = work / "victim.txt"
    victim.write_bytes(b"do not truncate")
    out = work / "out.csv"
    lock_path(out).symlink_to(victim)
    line = _refused(tmp_path, ["score", str(work / "in.csv"), "-o", str(out), "--quiet"], "out.csv")
    assert "cannot lock" in line


def test_gui_job_is_refused_while_the_output_is_locked(tmp_path: Path, bundled_scorer) -> None:
    from app.core.batch.run import BatchOptions, run_batch
    from app.core.common.errors import InputError
    from app.core.common.portable_fs import FileLock

    src, out = tmp_path / "in.csv", tmp_path / "cache.csv"
    src.write_bytes(CSV)
    with FileLock(lock_path(out)):
        with pytest.raises(InputError, match=r"cache\.csv is being written by another job"):
            run_batch(bundled_scorer, BatchOptions(src, out, threshold=0.5))
    assert not out.exists()


def test_lock_is_released_when_the_job_fails(tmp_path: Path, bundled_scorer) -> None:
    from app.core.batch.run import BatchOptions, run_batch
    from app.core.common.errors import JobCancelled

    src, out = tmp_path / "in.csv", tmp_path / "o.xlsx"
    src.write_bytes(CSV)
    with pytest.raises(JobCancelled):
        run_batch(
            bundled_scorer,
            BatchOptions(src, out, threshold=0.5, output_format="xlsx"),
            cancelled=lambda: True,
        )
    assert not lock_path(out).exists() and not out.exists()


# --- 3b. The input changing under the job -------------------------------------------------------


def _grow(path: Path) -> None:
    with open(path, "ab") as fh:
        fh.write(b"4,an extra line\n")


def _swap(path: Path) -> None:
    other = path.with_name("other.csv")
    other.write_bytes(CSV.replace(b"idiot", b"angel"))
    os.replace(other, path)


def _touch(path: Path) -> None:
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 5_000_000_000))


CHANGES = {"appended": _grow, "replaced": _swap, "rewritten-same-size": _touch}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("change", CHANGES)
def test_input_changed_during_the_job_fails(
    tmp_path: Path, bundled_scorer, change: str, fmt: str
) -> None:
    from app.core.batch.run import BatchOptions, run_batch
    from app.core.common.errors import InputError

    src, out = tmp_path / "in.csv", tmp_path / f"o.{fmt}"
    src.write_bytes(CSV)
    done = []

    def progress(_p: object) -> None:
        if not done:
            done.append(CHANGES[change](src))

    options = BatchOptions(src, out, threshold=0.5, output_format=fmt, chunk_rows=1)
    with pytest.raises(InputError, match=r"in\.csv changed while it was being scored"):
        run_batch(bundled_scorer, options, progress=progress)
    assert not out.exists() and not Path(f"{out}.provenance.json").exists()
    assert not lock_path(out).exists()
    # Work files of scored text that no resume could use (the input is not the same) are gone.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


def test_provenance_hashes_the_bytes_scored(tmp_path: Path, work: Path) -> None:
    import hashlib
    import json

    out = work / "o.csv"
    result = run_cli("score", str(work / "in.csv"), "-o", str(out), "--quiet")
    assert result.returncode == 0, result.stderr
    sidecar = json.loads(Path(f"{out}.provenance.json").read_text())
    assert sidecar["input_sha256"] == hashlib.sha256(CSV).hexdigest()


# --- 5. Private temporary folders for scored text ----------------------------------------------


def test_xlsx_row_files_live_in_a_private_folder(tmp_path: Path, monkeypatch) -> None:
    from app.core.common.atomic import atomic_path
    from app.core.export.csv_writer import XlsxExportWriter

    monkeypatch.setenv("ABUSE_DESK_HOME", str(tmp_path / "home"))
    root = tmp_path / "home" / "data" / "tmp"
    with atomic_path(tmp_path / "o.xlsx") as tmp, XlsxExportWriter(tmp, ["text"]) as xlsx:
        xlsx.write_rows([["secret text"]] * 10)
        (folder,) = root.iterdir()
        assert folder.name.startswith(f"{os.getpid()}-")
        assert folder.stat().st_mode & 0o777 == 0o700 and root.stat().st_mode & 0o777 == 0o700
        xlsx.close({"k": "v"})
    assert list(root.iterdir()) == []


@pytest.mark.parametrize("failure", [KeyboardInterrupt, RuntimeError])
def test_private_folder_removed_on_interrupt_and_error(
    tmp_path: Path, monkeypatch, failure: type[BaseException]
) -> None:
    from app.core.common.atomic import atomic_path
    from app.core.export.csv_writer import XlsxExportWriter

    monkeypatch.setenv("ABUSE_DESK_HOME", str(tmp_path / "home"))
    with pytest.raises(failure):
        with atomic_path(tmp_path / "o.xlsx") as tmp, XlsxExportWriter(tmp, ["text"]) as xlsx:
            xlsx.write_rows([["secret text"]] * 10)
            raise failure()
    assert list((tmp_path / "home" / "data" / "tmp").iterdir()) == []
    assert list(tmp_path.glob("*.xlsx")) == []


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_leftovers_of_killed_runs_are_cleaned_at_cli_start(tmp_path: Path) -> None:
    root = tmp_path / "home" / "data" / "tmp"
    dead = root / f"{_dead_pid()}-0123456789ab"
    dead.mkdir(parents=True)
    (dead / "rows.tmp").write_text("scored secret")
    alive = root / f"{os.getpid()}-0123456789ab"
    alive.mkdir()
    other = root / "not-ours"
    other.mkdir()
    result = run_cli("score-text", "hello", ABUSE_DESK_HOME=str(tmp_path / "home"))
    assert result.returncode == 0, result.stderr
    assert not dead.exists() and alive.exists() and other.exists()


def test_cleaning_never_follows_a_planted_link(tmp_path: Path) -> None:
    from app.core.common.private_tmp import clean_stale

    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("keep")
    root = tmp_path / "tmp"
    root.mkdir()
    (root / f"{_dead_pid()}-0123456789ab").symlink_to(victim, target_is_directory=True)
    assert clean_stale(root) == 0
    assert (victim / "keep.txt").read_text() == "keep"


def test_gui_start_cleans_leftovers(monkeypatch, tmp_path: Path) -> None:
    from app.ui.shell import application

    monkeypatch.setenv("ABUSE_DESK_HOME", str(tmp_path / "home"))
    dead = tmp_path / "home" / "data" / "tmp" / f"{_dead_pid()}-0123456789ab"
    dead.mkdir(parents=True)
    monkeypatch.setattr(application, "has_display", lambda: True)
    monkeypatch.setattr(application, "install_file_log", _stop)
    with pytest.raises(_Stop):
        application.run_gui()
    assert not dead.exists()


class _Stop(Exception):
    pass


def _stop() -> None:
    raise _Stop


# --- 6. Ctrl+C messages -------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "hint"), [("o.xlsx", False), ("o.csv", True)])
def test_interrupt_suggests_resume_only_for_csv(
    tmp_path: Path, monkeypatch, capsys, name: str, hint: bool
) -> None:
    from app.cli import main as cli
    from app.core.batch import run as batch

    def interrupted(*_a: object, **_k: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setenv("ABUSE_DESK_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(batch, "run_batch", interrupted)
    src = tmp_path / "in.csv"
    src.write_bytes(CSV)
    assert cli.main(["score", str(src), "-o", str(tmp_path / name)]) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "interrupted; no output was written" in err[0]
    assert ("--resume" in err[0]) is hint
