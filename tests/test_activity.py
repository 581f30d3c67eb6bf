"""Tests for app.core.activity.log: durability, privacy, tamper evidence, retention, query, export.

Expectations come from the documented behaviour (HMAC-SHA256 with the install secret, a hash
chain, UTC ISO times, formula-safe CSV), checked against independent computations: the stdlib
``hmac``, raw ``sqlite3`` edits, a plain Python filter, the ``csv`` module.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
import math
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.activity.log import ACTIONS, ActivityLog, Event, load_or_create_secret, utc_iso
from app.core.activity.secret import ActivityKeyError
from app.core.export.csv_writer import FORMULA_TRIGGERS

REPO = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def open_log(folder: Path, **kwargs) -> ActivityLog:
    return ActivityLog.open_default(folder, **kwargs)


@pytest.fixture
def log(tmp_path: Path):
    activity = open_log(tmp_path / "data")
    yield activity
    activity.close()


def fill(activity: ActivityLog, n: int = 5) -> list[Event]:
    return [
        activity.record("score_text", text=f"message {i}", score=i / 10, threshold=0.45)
        for i in range(n)
    ]


def raw_db(activity: ActivityLog) -> sqlite3.Connection:
    """A second, independent connection: what someone editing the file by hand would use."""
    return sqlite3.connect(activity.path, isolation_level=None)


# --- durability and privacy --------------------------------------------------------------------


def test_events_survive_reopening_the_database(tmp_path: Path) -> None:
    first = open_log(tmp_path)
    written = [
        first.record("app_started", detail="v1"),
        first.record("score_text", text="hello", score=0.25, threshold=0.45, model_version="m 1"),
        first.record("batch_finished", counts={"rows_read": 10, "flagged": 3}, file_name="a.csv"),
    ]
    first.close()

    second = open_log(tmp_path)
    try:
        assert second.query() == written[::-1]  # newest first, every field intact
        assert second.count() == 3
        assert second.verify() == (True, "3 events, chain intact")
        later = second.record("export", file_name="out.csv")
        assert later.prev_hash == written[-1].hash  # the chain continues across sessions
        assert second.verify()[0]
    finally:
        second.close()


def test_raw_text_is_absent_by_default_and_its_hmac_uses_the_install_secret(tmp_path: Path) -> None:
    activity = open_log(tmp_path)
    text = "Ünïcode secret message 🙂 nobody should read"
    event = activity.record("score_text", text=text, score=0.9)
    activity.close()

    secret = (tmp_path / "activity.key").read_bytes()
    expected = hmac.new(secret, text.encode("utf-8"), hashlib.sha256).hexdigest()
    assert event.text is None and event.text_hmac == expected
    reopened = open_log(tmp_path)
    try:
        [stored] = reopened.query()
        assert stored.text is None and stored.text_hmac == expected
        assert reopened.text_hmac(text) == expected
    finally:
        reopened.close()
    # Not in any file of the database either (main file, WAL, shared memory).
    for path in tmp_path.iterdir():
        assert text.encode("utf-8") not in path.read_bytes(), path.name
    if os.name == "posix":
        assert (tmp_path / "activity.key").stat().st_mode & 0o777 == 0o600


def test_raw_text_is_stored_when_the_setting_allows_it(tmp_path: Path) -> None:
    activity = open_log(tmp_path, store_raw_text=True)
    try:
        activity.record("score_text", text="keep me", score=0.1)
        [stored] = activity.query()
        assert stored.text == "keep me"
        assert stored.text_hmac == activity.text_hmac("keep me")
    finally:
        activity.close()


def test_secret_is_created_once_and_kept(tmp_path: Path) -> None:
    key_path = tmp_path / "nested" / "activity.key"
    key = load_or_create_secret(key_path)
    assert len(key) == 32 and load_or_create_secret(key_path) == key
    assert not [p for p in key_path.parent.iterdir() if p != key_path]  # no temporary left
    if os.name == "posix":
        os.chmod(key_path, 0o644)
        assert load_or_create_secret(key_path) == key
        assert key_path.stat().st_mode & 0o777 == 0o600
    key_path.write_bytes(b"short")  # a damaged key is never replaced (old HMACs would break)
    with pytest.raises(ActivityKeyError, match="damaged"):
        load_or_create_secret(key_path)
    assert key_path.read_bytes() == b"short"


def test_unknown_actions_and_fields_are_refused(log: ActivityLog) -> None:
    with pytest.raises(ValueError, match="unknown activity action"):
        log.record("delete_everything")
    with pytest.raises(ValueError, match="unknown activity fields"):
        log.record("export", colour="red")
    assert log.count() == 0


def test_values_are_stored_as_they_are_hashed(log: ActivityLog) -> None:
    """Ints, NaN, paths, numpy numbers and offset times must not break the chain on re-read."""
    local = datetime(2026, 6, 1, 14, 30, tzinfo=timezone(timedelta(hours=2)))
    event = log.record(
        "batch_finished",
        threshold=1,
        score=float("nan"),
        file_name=Path("folder") / "input.csv",
        counts={"rows": np.int64(7), "rate": np.float64(0.5)},
        time_utc=local.isoformat(),
    )
    [stored] = log.query()
    assert stored == event
    assert stored.threshold == 1.0 and stored.score is None
    assert stored.file_name == str(Path("folder") / "input.csv")
    assert json.loads(stored.counts or "") == {"rate": 0.5, "rows": 7}
    assert stored.time_utc == "2026-06-01T12:30:00.000+00:00"
    assert log.verify()[0]


# --- tamper evidence ---------------------------------------------------------------------------


def test_an_intact_log_verifies(log: ActivityLog) -> None:
    assert log.verify() == (True, "0 events, chain intact")
    fill(log, 5)
    assert log.verify() == (True, "5 events, chain intact")


@pytest.mark.parametrize(
    "column, value", [("score", 0.99), ("action", "export"), ("text_hmac", "0" * 64)]
)
def test_editing_a_row_fails_verification_naming_the_event(
    log: ActivityLog, column: str, value: object
) -> None:
    events = fill(log, 5)
    target = events[2].id
    with raw_db(log) as db:
        db.execute(f"UPDATE events SET {column} = ? WHERE id = ?", [value, target])
    ok, message = log.verify()
    assert not ok
    assert f"event {target}:" in message


def chain_hash(prev_hash: str, event: Event) -> str:
    """The documented canonical form: SHA-256 of the JSON list [prev_hash, [field values]]."""
    names = [f for f in Event.__dataclass_fields__ if f not in ("id", "prev_hash", "hash")]
    canonical = json.dumps(
        [prev_hash, [getattr(event, n) for n in names]], ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def test_hashes_follow_the_documented_chain(log: ActivityLog) -> None:
    events = fill(log, 3)
    assert events[0].prev_hash == "0" * 64
    for before, event in zip([None, *events], events, strict=False):
        assert event.prev_hash == (before.hash if before else "0" * 64)
        assert event.hash == chain_hash(event.prev_hash, event)


def test_rehashing_an_edited_row_breaks_the_next_link(log: ActivityLog) -> None:
    events = fill(log, 5)
    edited = replace(events[2], score=0.0)
    with raw_db(log) as db:
        db.execute(
            "UPDATE events SET score = 0.0, hash = ? WHERE id = ?",
            [chain_hash(edited.prev_hash, edited), edited.id],
        )
    ok, message = log.verify()
    assert not ok and f"event {events[3].id}:" in message and "chain broken" in message


def test_deleting_a_middle_row_fails_verification_naming_the_next_event(log: ActivityLog) -> None:
    events = fill(log, 5)
    with raw_db(log) as db:
        db.execute("DELETE FROM events WHERE id = ?", [events[2].id])
    ok, message = log.verify()
    assert not ok
    assert f"event {events[3].id}:" in message and "chain broken" in message


def test_deleting_the_first_or_the_newest_rows_is_noticed(tmp_path: Path) -> None:
    for victim in ("first", "newest"):
        activity = open_log(tmp_path / victim)
        try:
            events = fill(activity, 4)
            target = events[0] if victim == "first" else events[-1]
            with raw_db(activity) as db:
                db.execute("DELETE FROM events WHERE id = ?", [target.id])
            ok, message = activity.verify()
            assert not ok, victim
            expected = f"event {events[1].id}:" if victim == "first" else "newest events"
            assert expected in message
        finally:
            activity.close()


# --- retention ---------------------------------------------------------------------------------


def test_purge_removes_only_old_events_logs_itself_and_keeps_the_chain(tmp_path: Path) -> None:
    activity = open_log(tmp_path)
    old = [
        activity.record("score_text", text=f"old {i}", time_utc=NOW - timedelta(days=120 - i))
        for i in range(4)
    ]
    recent = [
        activity.record("score_text", text=f"new {i}", time_utc=NOW - timedelta(days=10 - i))
        for i in range(3)
    ]
    cutoff = NOW - timedelta(days=90)

    assert activity.purge_older_than(90, now=NOW) == len(old)

    remaining = activity.query()
    kept_ids = {e.id for e in remaining}
    assert kept_ids >= {e.id for e in recent}
    assert not kept_ids & {e.id for e in old}
    purge = remaining[0]
    assert purge.action == "retention_purge"
    assert json.loads(purge.counts or "") == {"deleted": 4, "retention_days": 90}
    assert all(datetime.fromisoformat(e.time_utc) >= cutoff for e in remaining)
    assert activity.verify() == (True, f"{len(recent) + 1} events, chain intact")

    # Nothing old is left: a second purge deletes nothing and logs nothing.
    assert activity.purge_older_than(90, now=NOW) == 0
    assert activity.count() == len(recent) + 1
    activity.record("export", file_name="after.csv")
    activity.close()
    reopened = open_log(tmp_path)
    try:
        assert reopened.verify()[0]
    finally:
        reopened.close()


def test_purging_everything_still_verifies(log: ActivityLog) -> None:
    fill(log, 3)
    assert log.purge_older_than(0, now=datetime.now(UTC) + timedelta(days=1)) == 3
    assert [e.action for e in log.query()] == ["retention_purge"]
    assert log.verify()[0]


def test_purge_argument_limits(log: ActivityLog) -> None:
    fill(log, 2)
    with pytest.raises(ValueError):
        log.purge_older_than(-1)
    assert log.purge_older_than(10**9) == 0  # further back than the calendar goes
    assert log.count() == 2


# --- query -------------------------------------------------------------------------------------

NEEDLES = [
    "",
    "message",
    "MESSAGE",
    "straße",
    "STRASSE",
    "é",
    "%",
    "_",
    "a%b",
    "rows",
    "export",
    "abuse-lr",
    "=",
    "csv",
    "exact text one",
]
TEXTS = ["exact text one", "Straße message", "café 50% off", "snake_case", "=1+1", "plain"]


@pytest.fixture(scope="module")
def populated(tmp_path_factory: pytest.TempPathFactory):
    """A log with varied events: times over 60 days in several offsets, tricky strings."""
    rng = random.Random(11)
    activity = open_log(tmp_path_factory.mktemp("query"), store_raw_text=False)
    for i in range(120):
        offset = timezone(timedelta(hours=rng.choice([-8, 0, 2, 5.5])))
        moment = (NOW - timedelta(minutes=rng.randrange(60 * 24 * 60))).astimezone(offset)
        activity.record(
            rng.choice(ACTIONS[:8]),
            text=rng.choice([*TEXTS, None]),
            counts=rng.choice([None, {"rows_read": i, "flagged": i % 7}]),
            model_version=rng.choice(["abuse-lr 1.0.0", "tiny 0.0.1", None]),
            file_name=rng.choice([None, "in.csv", "Été_100%.xlsx"]),
            detail=rng.choice([None, "done", "a%b literal", "ÉCOLE"]),
            score=rng.random(),
            time_utc=moment.isoformat(),
        )
    yield activity
    activity.close()


def python_filter(activity: ActivityLog, events, action, since, until, search) -> list[int]:
    def as_utc(value):
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    keep = []
    for e in events:
        when = datetime.fromisoformat(e.time_utc)
        if action and e.action != action:
            continue
        if since and when < as_utc(since):
            continue
        if until and when >= as_utc(until):
            continue
        if search:
            fields = [e.action, e.model_version, e.file_name, e.file_sha256, e.text_hmac]
            fields += [e.text, e.detail, e.counts, e.user]
            hit = any(search.casefold() in f.casefold() for f in fields if f)
            if not hit and e.text_hmac != activity.text_hmac(search):
                continue
        keep.append(e.id)
    return keep


moments = st.datetimes(min_value=datetime(2026, 9, 20), max_value=datetime(2026, 12, 3)).flatmap(
    lambda d: st.sampled_from(
        [d, d.replace(tzinfo=UTC), d.replace(tzinfo=timezone(timedelta(hours=-3)))]
    )
)


@settings(max_examples=150, deadline=None)
@given(
    action=st.sampled_from([None, *ACTIONS[:8], "app_started"]),
    since=st.none() | moments | moments.map(lambda d: d.isoformat()),
    until=st.none() | moments,
    search=st.sampled_from(NEEDLES) | st.text("aAeé%_ßs-1", min_size=1, max_size=3),
)
def test_query_filters_equal_a_plain_python_filter(populated, action, since, until, search):
    everything = populated.query()
    assert [e.id for e in everything] == sorted((e.id for e in everything), reverse=True)
    got = populated.query(action=action, since=since, until=until, search=search)
    assert [e.id for e in got] == python_filter(populated, everything, action, since, until, search)


def test_search_finds_a_text_by_its_content_without_storing_it(populated) -> None:
    hits = populated.query(search="exact text one")
    assert hits and all(e.text is None for e in hits)
    assert all(e.text_hmac == populated.text_hmac("exact text one") for e in hits)
    assert populated.query(search="exact text on") == []  # a fragment of an HMAC'd text: no


def test_query_limit(populated) -> None:
    assert len(populated.query(limit=7)) == 7
    assert len(populated.query(limit=None)) == populated.count() == 120
    assert populated.last_id() == populated.query(limit=1)[0].id


def test_utc_iso_makes_text_order_time_order() -> None:
    assert utc_iso("2026-01-02") == "2026-01-02T00:00:00.000+00:00"
    assert utc_iso("2026-01-02T01:00:00+02:00") == "2026-01-01T23:00:00.000+00:00"
    assert utc_iso(datetime(2026, 1, 2, 3, 4, 5, 678999)) == "2026-01-02T03:04:05.678+00:00"


# --- export ------------------------------------------------------------------------------------


def test_export_csv_round_trips_and_neutralises_formulas(tmp_path: Path) -> None:
    activity = open_log(tmp_path / "data", store_raw_text=True)
    try:
        activity.record("score_text", text='=HYPERLINK("http://x","y")', score=0.75)
        activity.record("export", file_name="@SUM(A1).csv", detail="+1 row", threshold=0.5)
        activity.record("batch_finished", counts={"rows_read": 3}, detail="-2", file_sha256="ab")
        activity.record("score_text", text='line\nbreak, "quoted" ünï 🙂', score=1e-9)
        events = activity.query()
        out = tmp_path / "out" / "log.csv"
        out.parent.mkdir()
        assert activity.export_csv(out, events) == len(events)
    finally:
        activity.close()

    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    assert os.listdir(out.parent) == ["log.csv"]  # atomic: no temporary left behind
    with open(out, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    assert header[:3] == ["id", "time_utc", "action"] and header[-2:] == ["prev_hash", "hash"]
    assert len(body) == len(events)
    for event, row in zip(events, body, strict=True):
        for name, cell in zip(header, row, strict=True):
            value = getattr(event, name)
            if value is None:
                assert cell == "", name
            elif isinstance(value, float):
                assert not math.isnan(float(cell)) and float(cell) == value, name
            elif isinstance(value, int):
                assert int(cell) == value
            elif value.lstrip(" ")[:1] in FORMULA_TRIGGERS and not value.lstrip("+-").isdigit():
                assert cell == "'" + value, name  # neutralised, and reversible
            else:
                assert cell == value, name
    texts = {row[header.index("text")] for row in body}
    assert '\'=HYPERLINK("http://x","y")' in texts


# --- crash safety ------------------------------------------------------------------------------

CHILD = """
import sys
from pathlib import Path
from app.core.activity.log import ActivityLog
log = ActivityLog.open_default(Path(sys.argv[1]))
print("ready", flush=True)
i = 0
while True:
    event = log.record("score_text", text=f"text {i}", score=(i % 100) / 100, counts={"i": i})
    print(event.id, flush=True)  # printed only after record() returned: acknowledged
    i += 1
"""


def _run_kill_trials(tmp_path: Path, trials: int) -> None:
    if not hasattr(signal, "SIGKILL"):
        pytest.skip("needs SIGKILL")
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    folder = tmp_path / "data"
    for trial in range(trials):
        proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(folder)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ready"
            time.sleep(rng.uniform(0.0, 0.3))
            os.kill(proc.pid, signal.SIGKILL)
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        context = f"seed={seed} trial={trial} stderr={err[-500:]!r}"
        assert proc.returncode == -signal.SIGKILL, context
        acknowledged = {int(line) for line in out.split()}
        db = sqlite3.connect(folder / "activity.sqlite3")
        try:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok", context
            stored = {row[0] for row in db.execute("SELECT id FROM events")}
        finally:
            db.close()
        assert acknowledged <= stored, f"lost {sorted(acknowledged - stored)[:5]}; {context}"
        activity = open_log(folder)
        try:
            assert activity.verify()[0], context  # a crash never looks like tampering
        finally:
            activity.close()


def test_sigkill_never_loses_an_acknowledged_event(tmp_path: Path) -> None:
    _run_kill_trials(tmp_path, trials=5)


@pytest.mark.slow
def test_sigkill_never_loses_an_acknowledged_event_soak(tmp_path: Path) -> None:
    _run_kill_trials(tmp_path, trials=50)


def test_concurrent_first_starts_agree_on_one_secret(tmp_path):
    """Several processes creating the key at once must all end up with the key on disk."""
    import subprocess
    import sys

    from tests.conftest import REPO

    key_path = tmp_path / "activity.key"
    code = (
        "import sys; from pathlib import Path; from app.core.activity.secret import load_or_create_secret;"
        f"print(load_or_create_secret(Path({str(key_path)!r})).hex())"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True)
        for _ in range(6)
    ]
    keys = {p.communicate(timeout=60)[0].strip() for p in procs}
    assert keys == {key_path.read_bytes().hex()}
