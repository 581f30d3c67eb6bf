"""Decision records: the matrix and Wilson intervals against hand-computed values, the records
table's round trip, and its refusals (damaged, foreign, newer files are left untouched)."""

from __future__ import annotations

import csv
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from app.core.analysis.thresholds import ThresholdAnalysis
from app.core.decisions.export import CSV_COLUMNS, write_records
from app.core.decisions.records import (
    DataSource,
    DecisionError,
    Policy,
    arrays_sha256,
    build_record,
)
from app.core.decisions.store import DecisionStore, DecisionStoreError, record_decision

SCORES = np.array([0.1, 0.3, 0.5, 0.7, 0.9])
LABELS = np.array([0, 1, 0, 1, 1])  # 1 = abusive
NOW = datetime(2026, 12, 7, 12, 0, 0, tzinfo=UTC)


def make(rationale: str = "fewer false alarms", **kw) -> object:
    args = dict(
        analysis=ThresholdAnalysis(SCORES, LABELS), policy=Policy(0.5), previous=Policy(0.3),
        model_version="m 1.0.0", manifest_sha256="ab" * 32,
        source=DataSource("eval", "bundled", arrays_sha256(SCORES, LABELS)),
        rationale=rationale, author="alice", now=NOW,
    )  # fmt: skip
    args.update(kw)
    return build_record(**args)


def test_matrix_and_wilson_intervals_by_hand():
    r = make()
    # t=0.5 flags 0.5, 0.7, 0.9: caught 0.7 and 0.9, false alarm 0.5, missed 0.3, passed 0.1
    assert (r.at_new.tp, r.at_new.fp, r.at_new.fn, r.at_new.tn) == (2, 1, 1, 1)
    recall = r.at_new.rates["recall"]
    assert recall.estimate == pytest.approx(2 / 3)
    # Wilson 2/3, z=1.96: centre (2/3 + 1.9208/3) / (1 + 3.8415/3) = 0.57309,
    # half 1.96*sqrt(2/9/3 + 3.8415/36) / 2.28049 = 0.36543
    assert (recall.lo, recall.hi) == pytest.approx((0.20766, 0.93852), abs=1e-4)
    fpr = r.at_new.rates["fpr"]  # 1/2: centre 0.5, half 1.96*sqrt(1/8+3.8415/16)/2.92073
    assert (fpr.estimate, fpr.lo, fpr.hi) == pytest.approx((0.5, 0.09453, 0.90547), abs=1e-4)
    assert r.at_new.rates["flag_rate"].estimate == pytest.approx(3 / 5)
    # the previous threshold 0.3 also flags 0.3: every abusive item caught
    assert (r.at_previous.tp, r.at_previous.fp, r.at_previous.fn, r.at_previous.tn) == (
        3, 1, 0, 1,
    )  # fmt: skip
    assert r.at_previous.rates["recall"].hi == 1.0
    assert r.time_utc == "2026-12-07T12:00:00+00:00" and r.author == "alice"
    assert r.prevalence is None and r.volume is None  # not assumed


def test_band_policy_flags_from_the_review_cut_and_bands_scores():
    p = Policy(0.5, escalate=0.8)
    assert p.band(np.array([0.1, 0.5, 0.79, 0.8, np.nan])).tolist() == [0, 1, 1, 2, 0]
    r = make(policy=p)
    assert (r.at_new.tp, r.at_new.fp) == (2, 1)
    assert "escalate ≥ 0.8" in p.describe()


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"rationale": "   "}, "rationale"),
        ({"rationale": "x" * 2001}, "at most"),
        ({"prevalence": 1.5}, "prevalence"),
        ({"volume": float("nan")}, "volume"),
    ],
)
def test_bad_inputs_are_refused(kw, message):
    with pytest.raises(DecisionError, match=message):
        make(**kw)


@pytest.mark.parametrize(("t", "e"), [(1.2, None), (0.6, 0.4), (float("nan"), None)])
def test_bad_policies_are_refused(t, e):
    with pytest.raises(DecisionError):
        Policy(t, e)


class FakeCtx:
    def __init__(self, fail: bool = False) -> None:
        self.events: list[tuple[str, dict]] = []
        self.fail = fail

    def log(self, action: str, **values):
        if self.fail:
            raise DecisionError("activity log is locked")
        self.events.append((action, values))


def test_store_round_trip_and_event(tmp_path: Path):
    db = tmp_path / "decisions.sqlite3"
    ctx = FakeCtx()
    stored = record_decision(ctx, make(prevalence=0.05, volume=20000), db)
    assert stored.id == 1
    ((action, values),) = ctx.events
    assert action == "threshold_decision" and values["threshold"] == 0.5
    assert values["counts"]["record"] == 1 and "fewer false alarms" in values["detail"]
    with DecisionStore(db) as store:
        assert store.get(1) == stored and store.list() == [stored] and store.get(2) is None
    assert sqlite3.connect(db).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    write_records([stored], tmp_path / "r.json")
    assert json.loads((tmp_path / "r.json").read_text())[0]["prevalence"] == 0.05
    write_records([stored], tmp_path / "r.csv")
    with open(tmp_path / "r.csv", encoding="utf-8-sig", newline="") as fh:
        header, row = csv.reader(fh)
    assert header == list(CSV_COLUMNS) and row[0] == "1" and row[-1] == "fewer false alarms"


def test_a_record_whose_event_cannot_be_logged_is_not_kept(tmp_path: Path):
    db = tmp_path / "decisions.sqlite3"
    with pytest.raises(DecisionError, match="locked"):
        record_decision(FakeCtx(fail=True), make(), db)
    with DecisionStore(db) as store:
        assert store.list() == []


def test_damaged_foreign_and_newer_files_are_refused_and_kept(tmp_path: Path):
    damaged = tmp_path / "damaged.sqlite3"
    damaged.write_bytes(b"not a database at all" * 10)
    foreign = tmp_path / "foreign.sqlite3"
    sqlite3.connect(foreign).execute("CREATE TABLE t (x)").connection.commit()
    newer = tmp_path / "newer.sqlite3"
    DecisionStore(newer, create=True).close()
    con = sqlite3.connect(newer)
    con.execute("UPDATE meta SET value = '9' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    for path, words in ((damaged, "not an SQLite"), (foreign, "another program"),
                        (newer, "newer version")):  # fmt: skip
        before = path.read_bytes()
        with pytest.raises(DecisionStoreError, match=words) as info:
            DecisionStore(path)
        assert str(path) in str(info.value) and "\n" not in str(info.value)
        assert path.read_bytes() == before


def test_empty_and_table_less_files_are_refused_by_reads_and_writes(tmp_path: Path):
    empty = tmp_path / "empty.sqlite3"
    empty.write_bytes(b"")
    foreign = tmp_path / "foreign.sqlite3"  # another program's database, no tables yet
    con = sqlite3.connect(foreign)
    con.execute("PRAGMA application_id = 1234567")
    con.execute("PRAGMA user_version = 42")
    con.commit()
    con.close()
    for path, words in ((empty, "empty"), (foreign, "another program")):
        before = path.read_bytes()
        for create in (False, True):
            with pytest.raises(DecisionStoreError, match=words) as info:
                DecisionStore(path, create=create)
            assert str(path) in str(info.value) and "\n" not in str(info.value)
        with pytest.raises(DecisionStoreError, match=words):
            record_decision(FakeCtx(), make(), path)
        assert path.read_bytes() == before
        assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(path.name)) == [
            path.name
        ]


def test_reading_a_missing_store_creates_nothing(tmp_path: Path):
    db = tmp_path / "sub" / "decisions.sqlite3"
    with DecisionStore(db) as store:
        assert store.list() == [] and store.get(1) is None
    assert not (tmp_path / "sub").exists()
    record_decision(FakeCtx(), make(), db)  # a write creates it
    before = db.read_bytes()
    with DecisionStore(db) as store:
        assert [r.id for r in store.list()] == [1]
        assert store.get(2**63) is None and store.get(10**30) is None and store.get(-1) is None
    assert db.read_bytes() == before


def test_a_hand_edited_record_is_reported_by_id(tmp_path: Path):
    db = tmp_path / "d.sqlite3"
    record_decision(FakeCtx(), make(), db)
    con = sqlite3.connect(db)
    con.execute("UPDATE records SET body = '{\"policy\": 3}' WHERE id = 1")
    con.commit()
    con.close()
    with DecisionStore(db) as store, pytest.raises(DecisionStoreError, match="record 1"):
        store.list()


def test_the_data_source_is_named_by_its_hash():
    from app.core.analysis.threshold_sources import Dataset
    from app.core.decisions.evidence import source_of_dataset

    bundled = Dataset.build("eval", SCORES, LABELS)
    assert source_of_dataset(bundled) == DataSource(
        "eval", "bundled", arrays_sha256(SCORES, LABELS)
    )
    csv_ds = Dataset.build("x.csv", SCORES, LABELS, texts=list("abcde"), file_sha256="f" * 64)
    assert source_of_dataset(csv_ds) == DataSource("x.csv", "csv", "f" * 64)
    sample = Dataset.build("batch", SCORES, LABELS, texts=list("abcde"))
    assert source_of_dataset(sample).kind == "sample"
    # the hash changes with any score or label
    assert arrays_sha256(SCORES, 1 - LABELS) != arrays_sha256(SCORES, LABELS)


def test_the_day_at_the_assumed_traffic_is_stored_by_hand():
    r = make(policy=Policy(0.5, 0.8), prevalence=0.05, volume=10_000)
    # t=0.5: recall 2/3, false-positive rate 1/2 on the source; at 5% of 10,000 a day:
    # caught 500·2/3, missed 500/3, false alarms 9,500/2, flagged their sum
    assert r.day_new == pytest.approx({
        "flagged": 5083.333, "caught": 333.333, "missed": 166.667, "false_alarms": 4750.0,
        "precision": 333.333 / 5083.333,
    }, abs=1e-3)  # fmt: skip
    # previous 0.3: recall 1, false-positive rate 1/2
    assert r.day_previous["caught"] == pytest.approx(500) and r.day_previous["missed"] == 0
    # escalate at 0.8 flags 0.9 only (recall 1/3, no false alarm): 166.67 a day
    assert r.bands_per_day == pytest.approx(
        {"clear": 4916.667, "review": 4916.667, "escalate": 166.667}, abs=1e-3
    )
    back = type(r).from_dict(json.loads(json.dumps(r.as_dict())))
    assert back.day_new == r.day_new and back.bands_per_day == r.bands_per_day
    plain = make()  # nothing assumed: no day, no bands
    assert plain.day_new is None and plain.bands_per_day is None


def test_records_written_before_days_and_estimates_still_read():
    raw = make(prevalence=0.05, volume=10_000).as_dict()
    for key in ("day_new", "day_previous", "bands_per_day"):
        del raw[key]
    old = type(make()).from_dict(raw)
    assert old.day_new is None and not old.at_new.estimated
    assert (old.at_new.tp, old.at_new.fn) == (2, 1)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda raw: raw["at_new"].update(tp=2.5), "counts are not counts"),
        (lambda raw: raw["at_new"].update(estimated=True, n_labelled=5), "not an audit sample"),
        (lambda raw: raw.update(day_new={"flagged": 1.0}), "the day is not"),
        (lambda raw: raw["day_new"].update(caught=1e9), "not a count within the volume"),
        (lambda raw: raw["day_new"].update(precision=1.5), "precision is not a rate"),
    ],
)
def test_fractional_counts_and_bad_days_are_refused_on_read(edit, message):
    raw = make(prevalence=0.05, volume=10_000).as_dict()
    edit(raw)
    with pytest.raises(DecisionError, match=message):
        type(make()).from_dict(raw)


def test_estimates_are_read_back_only_for_a_sample_and_checked():
    from app.core.decisions.outcome import Outcome

    cis = {
        "recall": (0.5, 0.9),
        "precision": (0.4, 0.8),
        "fpr": (0.1, 0.6),
        "flag_rate": (0.3, 0.7),
    }
    est = Outcome.from_estimates((70.0, 30.0, 10.0, 90.0), cis, n_labelled=40)
    assert f"{est.tp:,}" == "≈ 70" and est.n_labelled == 40 and est.n == pytest.approx(200)
    assert est.rates["recall"].estimate == pytest.approx(0.875)
    raw = json.loads(json.dumps(est.as_dict()))
    assert Outcome.from_dict(raw, "sample") == est
    with pytest.raises(DecisionError, match="not an audit sample"):
        Outcome.from_dict(raw, "csv")
    bad = json.loads(json.dumps(raw))
    bad["recall"]["ci95"] = [0.9, 0.95]  # does not hold the estimate 0.875
    with pytest.raises(DecisionError, match="does not hold its estimate"):
        Outcome.from_dict(bad, "sample")
    bad = json.loads(json.dumps(raw))
    bad["fp"] = -1.0
    with pytest.raises(DecisionError, match="not numbers"):
        Outcome.from_dict(bad, "sample")


def test_estimated_counts_are_kept_as_the_activity_event_logs_them():
    """Recheck: `decisions show --json` held fp 2.2737367544323206e-12, tn 2866.9999999999977
    and precision 0.9999999999999828 for a sample record."""
    from app.core.analysis.planning import logged_count
    from app.core.decisions.outcome import Outcome

    raw = (131.96, 2.2737367544323206e-12, 0.04, 2866.9999999999977)
    cis = {"recall": (0.9, 0.99), "precision": (0.95, 0.99), "fpr": (0.0, 0.001),
           "flag_rate": (0.04, 0.05)}  # fmt: skip
    out = Outcome.from_estimates(raw, cis, 147)
    d = out.as_dict()
    assert [d[k] for k in ("tp", "fp", "fn", "tn")] == [132.0, 0.0, 0.0, 2867.0]
    assert [d[k] for k in ("tp", "fp", "fn", "tn")] == [logged_count(x) for x in raw]
    assert d["n"] == 2999.0
    # the rates are the kept counts' (132 / 132 exactly), each interval widened to hold them
    assert d["precision"] == {"estimate": 1.0, "ci95": [0.95, 1.0]}
    assert d["recall"] == {"estimate": 1.0, "ci95": [0.9, 1.0]}
    assert d["fpr"] == {"estimate": 0.0, "ci95": [0.0, 0.001]}
    assert d["flag_rate"]["estimate"] == pytest.approx(132 / 2999)
    back = Outcome.from_dict(json.loads(json.dumps(d)), "sample")  # read back unchanged
    assert back.as_dict() == d
