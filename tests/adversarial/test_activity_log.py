"""The activity log as evidence, under careless and hostile use.

A damaged or missing key is never replaced; the CLI logs every state-changing command before
the change, and refuses the change when it cannot log; the head file beside the database catches
events removed at the end, renumbered or dropped; `log verify` and `log export` read the database
read-only and stream; malformed rows and files that are not logs give one line, never a traceback.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

from app.core.activity.chain import FIELDS, GENESIS, content_hash, normalise_row
from app.core.activity.log import ActivityLog
from tests.cli_runner import run_cli
from tests.conftest import REPO

EVENTS = 5


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A user folder whose log holds a few events, with its key and head file."""
    home = tmp_path / "home"
    log = ActivityLog.open_default(home / "data")
    for n in range(EVENTS):
        log.record("app_started", detail=f"start {n}")
    log.close()
    return home


def _db(home: Path) -> Path:
    return home / "data" / "activity.sqlite3"


def _key(home: Path) -> Path:
    return home / "data" / "activity.key"


def _head(home: Path) -> Path:
    return home / "data" / "activity.head"


def _sql(db: Path, *statements: str) -> None:
    with closing(sqlite3.connect(db)) as conn:
        for statement in statements:
            conn.execute(statement)
        conn.commit()


def _count(db: Path) -> int:
    with closing(sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])


def _actions(db: Path) -> list[str]:
    with closing(sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)) as conn:
        return [row[0] for row in conn.execute("SELECT action FROM events ORDER BY id")]


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, timeout=120, ABUSE_DESK_HOME=str(home))


def _one_line_error(result: subprocess.CompletedProcess[str], code: int, *names: str) -> None:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.endswith("\n"), result.stderr
    for name in names:
        assert name in result.stderr, (name, result.stderr)


def _verify(home: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return _cli(home, "log", "verify", *extra)


def _snapshot(*paths: Path) -> dict[Path, bytes | None]:
    return {p: p.read_bytes() if p.is_file() else None for p in paths}


# --- a CSV to score and a labelled one to evaluate -------------------------------------------


@pytest.fixture
def csv_in(tmp_path: Path) -> Path:
    path = tmp_path / "messages.csv"
    path.write_text("text\nyou are an idiot\nhave a nice day\n", encoding="utf-8")
    return path


@pytest.fixture
def labelled(tmp_path: Path) -> Path:
    path = tmp_path / "labelled.csv"
    rows = ["text,label", "you are an idiot,1", "have a nice day,0", "shut up moron,1", "hi,0"]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _settings(home: Path, **values: object) -> Path:
    path = home / "config" / "settings.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"schema_version": 1, **values}))
    return path


# Every state-changing command; each must refuse to run when its event cannot be logged.
COMMANDS = {
    "score-text": lambda home, tmp, csv_in, labelled: ["score-text", "you idiot"],
    "score": lambda home, tmp, csv_in, labelled: ["score", str(csv_in), "-o", str(tmp / "o.csv")],
    "evaluate": lambda home, tmp, csv_in, labelled: [
        "evaluate", str(labelled), "--label-column", "label", "--positive", "1",
    ],
    "activate": lambda home, tmp, csv_in, labelled: ["models", "activate", "2.0.0"],
    "rollback": lambda home, tmp, csv_in, labelled: ["models", "rollback"],
    "challenger": lambda home, tmp, csv_in, labelled: ["models", "challenger", "2.0.0"],
    "challenger-clear": lambda home, tmp, csv_in, labelled: ["models", "challenger", "--clear"],
}  # fmt: skip
ROLES = {
    "rollback": {"active_model": "abuse-lr-1.0.0", "previous_model": "abuse-lr-2.0.0"},
    "challenger-clear": {"challenger_model": "abuse-lr-2.0.0"},
}


@pytest.mark.parametrize("command", COMMANDS)
def test_a_damaged_key_stops_every_command_before_it_changes_anything(
    home, tmp_path, csv_in, labelled, command
):
    settings = _settings(home, **ROLES.get(command, {}))
    _key(home).write_bytes(b"short")
    kept = _snapshot(_key(home), _db(home), _head(home), settings)
    result = _cli(home, *COMMANDS[command](home, tmp_path, csv_in, labelled))
    _one_line_error(result, 3, str(_key(home)), "restore")
    assert result.stdout == ""  # no score, no metrics, no "active model" line
    assert _snapshot(*kept) == kept  # key, log, head and settings untouched
    assert not (tmp_path / "o.csv").exists()


def test_the_models_import_is_undone_when_its_event_cannot_be_logged(
    home, signed_tiny_bundle, signing_key
):
    trusted = _cli(home, "models", "trust", str(signing_key[1] / "test-team.pem"))
    assert trusted.returncode == 0, trusted.stderr
    _key(home).write_bytes(b"")  # damaged after trusting
    result = _cli(home, "models", "import", str(signed_tiny_bundle))
    _one_line_error(result, 3, str(_key(home)))
    user_models = home / "data" / "models"
    assert not user_models.exists() or not [p for p in user_models.iterdir() if "tiny" in p.name]


@contextmanager
def _locked(db: Path) -> Iterator[None]:
    """Another process holds the database's write lock (as a stuck writer would)."""
    code = (
        "import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1], isolation_level=None); "
        "c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); time.sleep(60)"
    )
    holder = subprocess.Popen([sys.executable, "-c", code, str(db)], stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == b"locked"
        yield
    finally:
        holder.kill()
        holder.wait()


def _forge_head(home: Path) -> None:
    data = json.loads(_head(home).read_text())
    data["count"] += 10  # without the key, the MAC cannot follow
    _head(home).write_text(json.dumps(data))


def _lock_is_a_folder(home: Path) -> None:
    (home / "data" / "activity.head.lock").mkdir()


def _db_is_a_folder(home: Path) -> None:
    _db(home).unlink()
    _db(home).mkdir()


def _db_not_sqlite(home: Path) -> None:
    _db(home).write_bytes(b"\x89PNG\r\n\x1a\n" * 512)


def _truncated(home: Path) -> None:
    """The newest two events deleted, and the database made consistent with itself."""
    _sql(
        _db(home),
        f"DELETE FROM events WHERE id > {EVENTS - 2}",
        "UPDATE meta SET value = (SELECT hash FROM events ORDER BY id DESC LIMIT 1) "
        "WHERE key = 'chain_head'",
        f"UPDATE meta SET value = '{EVENTS - 2}' WHERE key = 'event_count'",
    )


CANNOT_LOG = {
    "forged-head": (_forge_head, "activity.head"),
    "lock-is-a-folder": (_lock_is_a_folder, "activity.sqlite3"),
    "db-is-a-folder": (_db_is_a_folder, "activity.sqlite3"),
    "db-not-sqlite": (_db_not_sqlite, "activity.sqlite3"),
    "truncated-at-the-end": (_truncated, "activity.sqlite3"),
}


@pytest.mark.parametrize("damage", CANNOT_LOG.values(), ids=CANNOT_LOG.keys())
def test_score_text_prints_nothing_when_the_log_cannot_be_written(home, damage):
    make, named = damage
    make(home)
    result = _cli(home, "score-text", "you idiot")
    _one_line_error(result, 3, named)
    assert result.stdout == ""


def test_a_locked_database_fails_in_bounded_time(home):
    with _locked(_db(home)):
        started = time.monotonic()
        result = _cli(home, "score-text", "you idiot")
    _one_line_error(result, 3, str(_db(home)))
    assert time.monotonic() - started < 60 and result.stdout == ""


def _disk_full(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m app ARGS` with files limited to 4 KiB: the log's next write fails (EFBIG)."""
    code = (
        "import resource, runpy, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
        "resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096)); "
        "sys.argv = ['app', *sys.argv[1:]]; runpy.run_module('app', run_name='__main__')"
    )
    env = dict(os.environ, ABUSE_DESK_HOME=str(home), PYTHONPATH=str(REPO))
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=120
    )


@pytest.mark.parametrize("command", [["score-text", "you idiot"], ["models", "activate", "2.0.0"]])
def test_a_full_disk_stops_the_command_before_its_change(home, command):
    settings = _settings(home)
    (home / "data" / "activity.sqlite3-wal").unlink(missing_ok=True)
    kept = _snapshot(settings)
    before = _count(_db(home))
    result = _disk_full(home, *command)
    _one_line_error(result, 3, str(_db(home)))
    assert result.stdout == "" and _snapshot(settings) == kept
    assert _count(_db(home)) == before


# --- what the CLI logs, as the GUI does -------------------------------------------------------


def test_score_text_logs_each_text_as_an_hmac(home):
    result = _cli(home, "score-text", "you idiot", "hello")
    assert result.returncode == 0, result.stderr
    log = ActivityLog.open_default(home / "data")
    try:
        events = [e for e in log.query(limit=None) if e.action == "score_text"]
        assert len(events) == 2 and {e.text_hmac for e in events} == {
            log.text_hmac("you idiot"),
            log.text_hmac("hello"),
        }
        assert all(e.text is None and e.score is not None for e in events)
    finally:
        log.close()


def test_score_logs_start_and_finish_with_the_input_hash(home, tmp_path, csv_in):
    import hashlib

    result = _cli(home, "score", str(csv_in), "-o", str(tmp_path / "o.csv"), "--quiet")
    assert result.returncode == 0, result.stderr
    assert _actions(_db(home))[-2:] == ["batch_started", "batch_finished"]
    with closing(sqlite3.connect(_db(home))) as conn:
        digest = conn.execute("SELECT file_sha256 FROM events ORDER BY id DESC").fetchone()[0]
    assert digest == hashlib.sha256(csv_in.read_bytes()).hexdigest()


def test_evaluate_is_logged(home, labelled):
    result = _cli(home, "evaluate", str(labelled), "--label-column", "label", "--positive", "1")
    assert result.returncode == 0, result.stderr
    assert _actions(_db(home))[-1] == "evaluate"


# --- the key is never replaced ------------------------------------------------------------------


def _key_symlink_to_a_valid_key(home: Path) -> None:
    elsewhere = home / "elsewhere.key"
    elsewhere.write_bytes(_key(home).read_bytes())
    _key(home).unlink()
    _key(home).symlink_to(elsewhere)


def _key_dangling(home: Path) -> None:
    _key(home).unlink()
    _key(home).symlink_to(home / "nowhere.key")


def _key_fifo(home: Path) -> None:
    _key(home).unlink()
    os.mkfifo(_key(home))


def _key_folder(home: Path) -> None:
    _key(home).unlink()
    _key(home).mkdir()


KEY_DAMAGE = {
    "too-long": lambda home: _key(home).write_bytes(os.urandom(64)),
    "empty": lambda home: _key(home).write_bytes(b""),
    "folder": _key_folder,
    "symlink": _key_symlink_to_a_valid_key,
    "dangling-symlink": _key_dangling,
    "fifo": _key_fifo,
}


@pytest.mark.parametrize("damage", KEY_DAMAGE.values(), ids=KEY_DAMAGE.keys())
def test_a_damaged_key_is_refused_and_never_replaced(home, damage):
    damage(home)
    kind = os.lstat(_key(home)).st_mode
    before = _count(_db(home))
    result = _cli(home, "score-text", "you idiot")
    _one_line_error(result, 3, str(_key(home)), "move")
    assert os.lstat(_key(home)).st_mode == kind  # still the user's (damaged) key
    assert _count(_db(home)) == before


def test_a_missing_key_beside_a_log_with_events_is_not_recreated(home):
    _key(home).unlink()
    result = _cli(home, "score-text", "you idiot")
    _one_line_error(result, 3, str(_key(home)), "missing")
    assert not os.path.lexists(_key(home)) and _count(_db(home)) == EVENTS


def test_a_missing_key_and_log_beside_a_head_file_is_not_a_fresh_start(home):
    _key(home).unlink()
    _db(home).unlink()
    result = _cli(home, "score-text", "you idiot")
    _one_line_error(result, 3, str(_key(home)))
    assert not _db(home).exists() or _count(_db(home)) == 0


# --- the head file catches what the chain alone cannot ------------------------------------------


def _renumber_all(home: Path) -> None:
    _sql(_db(home), "UPDATE events SET id = id + 1000")


def _renumber_last(home: Path) -> None:
    _sql(_db(home), f"UPDATE events SET id = 99 WHERE id = {EVENTS}")


def _drop_chain(home: Path) -> None:
    _sql(_db(home), "DELETE FROM events", "DELETE FROM meta")


def _delete_last_one(home: Path) -> None:
    _sql(
        _db(home),
        f"DELETE FROM events WHERE id = {EVENTS}",
        "UPDATE meta SET value = (SELECT hash FROM events ORDER BY id DESC LIMIT 1) "
        "WHERE key = 'chain_head'",
    )


def _replace_db(home: Path) -> None:
    other = home / "other"
    log = ActivityLog.open_default(other)
    log.record("app_started")
    log.close()
    shutil.copyfile(other / "activity.sqlite3", _db(home))


def _delete_head(home: Path) -> None:
    _head(home).unlink()


def _head_of_another_key(home: Path) -> None:
    other = home / "other"
    log = ActivityLog.open_default(other)
    for _ in range(EVENTS):
        log.record("app_started")
    log.close()
    shutil.copyfile(other / "activity.head", _head(home))


def _delete_db(home: Path) -> None:
    _db(home).unlink()


TAMPERING = {
    "delete-newest-event": _delete_last_one,
    "delete-two-newest-and-fix-count": _truncated,
    "renumber-every-event": _renumber_all,
    "renumber-the-newest": _renumber_last,
    "drop-the-whole-chain": _drop_chain,
    "replace-the-database": _replace_db,
    "delete-the-head-file": _delete_head,
    "edit-the-head-file": _forge_head,
    "head-of-another-install": _head_of_another_key,
    "delete-the-database": _delete_db,
}


@pytest.mark.parametrize("tamper", TAMPERING.values(), ids=TAMPERING.keys())
def test_verify_detects_tampering_the_chain_cannot_see(home, tamper):
    tamper(home)
    result = _verify(home)
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert result.stdout.startswith("broken: ") and result.stdout.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_a_crash_between_commit_and_head_write_is_not_tampering(home):
    stale = _head(home).read_bytes()
    log = ActivityLog.open_default(home / "data")
    log.record("app_started", detail="committed, head not yet written")
    _head(home).write_bytes(stale)  # as if killed just after the commit
    assert _verify(home).stdout.startswith("ok: ")
    log.record("app_started", detail="the next event re-anchors")
    log.close()
    assert _verify(home).stdout == f"ok: {EVENTS + 2} events, chain intact\n"


def test_writers_in_several_processes_keep_log_and_head_in_step(home):
    code = (
        "import sys; from pathlib import Path; from app.core.activity.log import ActivityLog; "
        "log = ActivityLog.open_default(Path(sys.argv[1])); "
        "[log.record('app_started', detail=str(n)) for n in range(25)]; log.close()"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO))
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(home / "data")], env=env)
        for _ in range(4)
    ]
    assert [p.wait(120) for p in procs] == [0, 0, 0, 0]
    assert _verify(home).stdout == f"ok: {EVENTS + 100} events, chain intact\n"
    assert json.loads(_head(home).read_text())["count"] == EVENTS + 100


# --- malformed rows: a verification failure naming the event, never a traceback ----------------

MALFORMED = {
    "text-in-a-number-field": ["UPDATE events SET threshold = 'high' WHERE id = 3"],
    "null-action": ["UPDATE events SET action = NULL WHERE id = 3"],
    "blob-in-a-text-field": ["UPDATE events SET detail = x'00ff00' WHERE id = 3"],
    "extra-column": ["ALTER TABLE events ADD COLUMN note TEXT"],
    "dropped-column": ["ALTER TABLE events DROP COLUMN detail"],
    "retyped-column": [
        "CREATE TABLE e2 AS SELECT * FROM events",
        "DROP TABLE events",
        "ALTER TABLE e2 RENAME TO events",
    ],
    "text-ids": [
        "CREATE TABLE e2 (id TEXT, "
        + ", ".join(f"{name} TEXT" for name in FIELDS)
        + ", prev_hash TEXT, hash TEXT)",
        "INSERT INTO e2 SELECT 'n' || id, " + ", ".join(FIELDS) + ", prev_hash, hash FROM events",
        "DROP TABLE events",
        "ALTER TABLE e2 RENAME TO events",
    ],
}


@pytest.mark.parametrize("statements", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_rows_name_the_event(home, statements):
    _sql(_db(home), *statements)
    result = _verify(home)
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert result.stdout.startswith("broken: event ") and result.stdout.count("\n") == 1
    # Said as what it is, not mistaken for an edited event.
    assert "malformed row" in result.stdout or "columns were changed" in result.stdout
    assert "Traceback" not in result.stderr and result.stderr == ""


# --- verify is read-only ----------------------------------------------------------------------


def test_verify_keeps_a_rollback_journal_log_as_it_is(home):
    _sql(_db(home), "PRAGMA journal_mode=DELETE")
    kept = _snapshot(_db(home), _head(home), _key(home))
    assert _verify(home).returncode == 0
    assert _snapshot(*kept) == kept
    with closing(sqlite3.connect(_db(home))) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"


def test_verify_never_rebuilds_a_dropped_index(home):
    _sql(_db(home), "PRAGMA journal_mode=DELETE", "DROP INDEX events_time")
    kept = _snapshot(_db(home))
    _verify(home)
    assert _snapshot(_db(home)) == kept
    with closing(sqlite3.connect(_db(home))) as conn:
        assert not conn.execute("SELECT 1 FROM sqlite_master WHERE name='events_time'").fetchall()


def test_verify_of_a_copy_elsewhere_writes_nothing_beside_it(home, tmp_path):
    copy = tmp_path / "evidence"
    shutil.copytree(home / "data", copy)
    _sql(copy / "activity.sqlite3", "PRAGMA journal_mode=DELETE")
    kept = _snapshot(*(copy / name for name in os.listdir(copy)))
    result = _verify(home, "--db", str(copy / "activity.sqlite3"))
    assert result.stdout == f"ok: {EVENTS} events, chain intact\n"
    assert _snapshot(*kept) == kept


# --- files that are not a log -----------------------------------------------------------------


def _fifo_db(home: Path) -> None:
    _db(home).unlink()
    os.mkfifo(_db(home))


# (Not SQLite, empty, another database: one line, exit 3, as tests/test_cli_log.py checks.)
NOT_A_LOG = {
    "folder": (_db_is_a_folder, "is a folder"),
    "fifo": (_fifo_db, "not a regular file"),
}


@pytest.mark.parametrize("damage", NOT_A_LOG.values(), ids=NOT_A_LOG.keys())
@pytest.mark.parametrize("action", ["verify", "export"])
def test_a_database_that_is_not_a_file_is_named_for_what_it_is(home, tmp_path, damage, action):
    make, reason = damage
    (home / "data" / "activity.sqlite3-wal").unlink(missing_ok=True)
    (home / "data" / "activity.sqlite3-shm").unlink(missing_ok=True)
    make(home)
    extra = [str(tmp_path / "out.csv")] if action == "export" else []
    result = _cli(home, "log", action, *extra)
    _one_line_error(result, 3, str(_db(home)), reason)
    assert not (tmp_path / "out.csv").exists()


# --- export ---------------------------------------------------------------------------------


def test_export_onto_the_log_itself_is_refused(home):
    kept = _snapshot(_db(home))
    result = _cli(home, "log", "export", str(_db(home)))
    _one_line_error(result, 3, str(_db(home)))
    assert _snapshot(_db(home)) == kept


def test_export_onto_the_head_file_is_refused(home):
    kept = _snapshot(_head(home))
    result = _cli(home, "log", "export", str(_head(home)))
    _one_line_error(result, 3, str(_head(home)))
    assert _snapshot(_head(home)) == kept


def test_export_onto_another_sqlite_database_is_refused(home, tmp_path):
    other = tmp_path / "case-notes.db"
    _sql(other, "CREATE TABLE notes (x)", "INSERT INTO notes VALUES ('keep')")
    kept = _snapshot(other)
    result = _cli(home, "log", "export", str(other))
    _one_line_error(result, 3, str(other))
    assert _snapshot(other) == kept


def test_export_of_a_log_with_an_extra_column_still_works(home, tmp_path):
    _sql(_db(home), "ALTER TABLE events ADD COLUMN note TEXT")
    result = _cli(home, "log", "export", str(tmp_path / "out.csv"))
    assert result.returncode == 0, result.stderr
    lines = (tmp_path / "out.csv").read_text(encoding="utf-8-sig").splitlines()
    assert len(lines) == EVENTS + 1


# --- a million events in bounded memory ---------------------------------------------------------


def _big_log(folder: Path, n: int) -> Path:
    """`n` chained events written directly (as fast as SQLite goes), with a matching head."""
    from app.core.activity.head import Head, write_head

    log = ActivityLog.open_default(folder)
    key = log._secret
    log.close()
    db = folder / "activity.sqlite3"
    row = normalise_row({"action": "score_text", "time_utc": "2026-01-01T00:00:00", "score": 0.5})
    row["detail"] = "x" * 40

    def rows() -> Iterator[list[object]]:
        prev = GENESIS
        for ident in range(1, n + 1):
            digest = content_hash(prev, row)
            yield [ident, *(row[name] for name in FIELDS), prev, digest]
            prev = digest
        rows.last = prev  # type: ignore[attr-defined]

    with closing(sqlite3.connect(db)) as conn:
        conn.executemany(
            f"INSERT INTO events VALUES ({', '.join('?' * (len(FIELDS) + 3))})", rows()
        )
        last = rows.last  # type: ignore[attr-defined]
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('chain_head', ?)", [last])
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('event_count', ?)", [str(n)])
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('head_file', 'required')")
        conn.commit()
    write_head(db, key, Head(n, n, last, GENESIS))
    return db


MEASURE = """
import sys
from app.cli.main import main
import app.cli.log, app.core.activity.verify, app.core.activity.secret, app.core.export.csv_writer
def status_kib(field):
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith(field + ":"))
sys.stdout = open("/dev/null", "w")
with open("/proc/self/clear_refs", "w") as fh:  # restart the peak (VmHWM) from here
    fh.write("5")
base = status_kib("VmRSS")
code = main(["log", sys.argv[1], *sys.argv[2:]])
print(code, status_kib("VmHWM") - base, file=sys.stderr)
"""


def _growth_kib(folder: Path, n: int, action: str) -> int:
    """Peak resident memory added by `log ACTION` over `n` events, in a fresh process."""
    db = _big_log(folder / "data", n)
    extra = [str(folder / "out.csv")] if action == "export" else []
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, action, *extra, "--db", str(db)],
        capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    code, growth = (int(x) for x in done.stderr.split()[-2:])
    assert code == 0, done.stderr
    return growth


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("action", ["verify", "export"])
def test_a_million_events_stream_in_bounded_memory(tmp_path, action):
    """A hundred times more events must not take more memory (a list of a million events
    alone would take ~500 MiB); what is left is the interpreter's fixed overhead."""
    small = _growth_kib(tmp_path / "small", 10_000, action)
    large = _growth_kib(tmp_path / "large", 1_000_000, action)
    print(f"{action}: peak RSS growth {small / 1024:.1f} MiB at 10,000 events, "
          f"{large / 1024:.1f} MiB at 1,000,000")  # fmt: skip
    assert large - small < 16 * 1024 and large < 32 * 1024
