"""The labels store (app.core.audit.verdicts), the review queue's reader and the export of
verdicts: round trip, undo with history, latest verdict wins, two writers, refused files, and
an export that the estimate's label rule reads as abusive / benign / unlabelled."""

from __future__ import annotations

import csv
import hashlib
import sqlite3
import threading
from pathlib import Path

import pytest

from app.core.analysis.label_mapping import ABUSIVE, BENIGN, REJECTED, LabelRule
from app.core.audit.review_queue import read_review_queue
from app.core.audit.verdict_export import export_verdicts
from app.core.audit.verdicts import LabelsStore, LabelsStoreError
from app.core.common.errors import InputError
from app.core.common.hashing import sha256_stream

SHA = "a" * 64
OTHER = "b" * 64


def write_sample(path: Path, rows: int = 5) -> Path:
    """A SAMPLE.csv as `audit sample` writes it, without its provenance sidecar (copied alone):
    even rows in band clear_low (weight 4), odd rows in band high (weight 2); scored batch
    line 40 + i."""
    lines = [
        "id,text,abuse_score,abuse_label,model_version,abuse_note,"
        "audit_line,audit_stratum,audit_weight,verdict"
    ]
    for i in range(rows):
        band, weight = ("clear_low", 4) if i % 2 == 0 else ("high", 2)
        lines.append(
            f'{i},"message number {i}, long enough",0.{i}5,x,m 1,,{40 + i},{band},{weight},'
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def store(tmp_path: Path):
    with LabelsStore(tmp_path / "labels.sqlite3") as opened:
        yield opened


def test_round_trip_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "labels.sqlite3"
    with LabelsStore(path) as store:
        store.add_sample(SHA, "/x/sample.csv")
        first = store.record(SHA, 2, "abusive", "slur", reviewer="alice")
        store.record(SHA, 3, "skip", reviewer="bob")
        store.record(OTHER, 2, "benign", reviewer="alice")
    with LabelsStore(path) as store:
        current = store.current(SHA)
        assert sorted(current) == [2, 3]
        assert current[2] == first
        assert (current[2].verdict, current[2].note, current[2].reviewer) == (
            "abusive",
            "slur",
            "alice",
        )
        assert current[3].verdict == "skip"
        assert current[2].time_utc.endswith("+00:00")
        assert [s.path for s in store.recent_samples()] == ["/x/sample.csv"]
        assert store.current(OTHER)[2].verdict == "benign"
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()


def test_latest_verdict_wins_and_undo_keeps_history(store: LabelsStore) -> None:
    store.record(SHA, 2, "abusive", reviewer="alice")
    store.record(SHA, 5, "benign", reviewer="alice")
    store.record(SHA, 2, "benign", "second look", reviewer="bob")
    assert store.current(SHA)[2].verdict == "benign"
    withdrawn = store.undo_last(SHA, reviewer="bob")
    assert withdrawn is not None and (withdrawn.item_line, withdrawn.verdict) == (2, "benign")
    assert store.current(SHA)[2].verdict == "abusive"  # the earlier verdict stands again
    assert store.undo_last(SHA).item_line == 5  # type: ignore[union-attr]
    assert store.undo_last(SHA).item_line == 2  # type: ignore[union-attr]
    assert store.current(SHA) == {}
    assert store.undo_last(SHA) is None
    history = store.history(SHA)
    assert [r.verdict for r in history] == [
        "abusive", "benign", "benign", "undo", "undo", "undo",
    ]  # fmt: skip
    assert [r.undoes for r in history[3:]] == [history[2].id, history[1].id, history[0].id]


def test_record_refuses_unknown_verdicts(store: LabelsStore) -> None:
    with pytest.raises(ValueError):
        store.record(SHA, 2, "maybe")
    with pytest.raises(ValueError):
        store.record(SHA, 0, "skip")
    with pytest.raises(ValueError):
        store.record("not-a-hash", 2, "skip")


def test_two_writers_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "labels.sqlite3"
    LabelsStore(path).close()

    def write(line0: int, reviewer: str) -> None:
        with LabelsStore(path) as own:  # each thread its own connection, as two windows
            for i in range(50):
                own.record(SHA, line0 + i, "abusive" if i % 2 else "benign", reviewer=reviewer)

    threads = [threading.Thread(target=write, args=(1 + 100 * k, f"r{k}")) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with LabelsStore(path) as a, LabelsStore(path) as b:
        assert len(a.current(SHA)) == 100
        a.record(SHA, 500, "skip")  # interleaved: each sees the other's commits
        b.record(SHA, 501, "skip")
        b.undo_last(SHA)
        assert sorted(a.current(SHA))[-1] == 500 and len(a.history(SHA)) == 103


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"this is not a database at all", "not an SQLite database"),
        (b"SQLite format 3\x00" + b"\x00" * 84 + b"garbage" * 100, "damaged"),
    ],
)
def test_damaged_file_is_refused_and_kept(tmp_path: Path, content: bytes, words: str) -> None:
    path = tmp_path / "labels.sqlite3"
    path.write_bytes(content)
    with pytest.raises(LabelsStoreError, match=words) as caught:
        LabelsStore(path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)
    assert path.read_bytes() == content


def test_foreign_and_newer_databases_are_refused(tmp_path: Path) -> None:
    foreign = tmp_path / "other.sqlite3"
    con = sqlite3.connect(foreign)
    con.execute("CREATE TABLE customers (name TEXT)")
    con.commit()
    con.close()
    before = foreign.read_bytes()
    with pytest.raises(LabelsStoreError, match="another program"):
        LabelsStore(foreign)
    assert foreign.read_bytes() == before

    newer = tmp_path / "labels.sqlite3"
    LabelsStore(newer).close()
    con = sqlite3.connect(newer)
    con.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    with pytest.raises(LabelsStoreError, match="newer version"):
        LabelsStore(newer)


def test_empty_and_table_less_files_are_refused_not_taken_over(tmp_path: Path) -> None:
    empty = tmp_path / "labels.sqlite3"
    empty.write_bytes(b"")
    foreign = tmp_path / "other.sqlite3"  # another program's database, no tables yet
    con = sqlite3.connect(foreign)
    con.execute("PRAGMA application_id = 1234567")
    con.commit()
    con.close()
    for path, words in ((empty, "empty"), (foreign, "another program")):
        before = path.read_bytes()
        with pytest.raises(LabelsStoreError, match=words) as caught:
            LabelsStore(path)
        assert str(path) in str(caught.value) and "\n" not in str(caught.value)
        assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["labels.sqlite3", "other.sqlite3"]


def test_a_malformed_row_is_refused_not_shown(tmp_path: Path) -> None:
    path = tmp_path / "labels.sqlite3"
    with LabelsStore(path) as store:
        store.record(SHA, 2, "abusive")
    con = sqlite3.connect(path)
    con.execute("UPDATE verdicts SET verdict = 'probably'")
    con.commit()
    con.close()
    with LabelsStore(path) as store, pytest.raises(LabelsStoreError, match="malformed"):
        store.current(SHA)


def test_folder_in_place_of_the_store(tmp_path: Path) -> None:
    (tmp_path / "labels.sqlite3").mkdir()
    with pytest.raises(LabelsStoreError, match="not a regular file"):
        LabelsStore(tmp_path / "labels.sqlite3")


def test_review_queue_reads_a_sample(tmp_path: Path) -> None:
    sample = write_sample(tmp_path / "sample.csv")
    queue = read_review_queue(sample)
    with sample.open("rb") as fh:
        assert queue.sha256 == sha256_stream(fh) == hashlib.sha256(sample.read_bytes()).hexdigest()
    assert queue.text_column == "text"
    assert len(queue.items) == 5
    third = queue.items[2]
    assert (third.index, third.line, third.text) == (2, 4, "message number 2, long enough")
    assert (third.score, third.stratum, third.weight) == (0.25, "clear_low", 4.0)
    assert third.source_line == "42"
    assert queue.sample is not None and queue.sample.provenance is None  # no sidecar: still read
    assert queue.sample.population == {"clear_low": 12, "below_t": 0, "above_t": 0, "high": 4}


_HEAD = "text,abuse_score,abuse_label,model_version,abuse_note,audit_line,audit_stratum,audit_weight,verdict\n"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("id,text,abuse_score\n1,hello there,0.5\n", "not an audit sample: no column"),
        (_HEAD + "hi you,1.5,x,m,,2,high,1,\n", "line 2: abuse score '1.5'"),
        (_HEAD + "hi you,0.5,x,m,,2,high,0,\n", "line 2: audit_weight 0.0 is below 1"),
        (_HEAD + "hi,0.5,x,m,,2,high,nan,\n", "audit_weight 'nan'"),
        (_HEAD + "hi,0.5,x,m,,2,middle,1,\n", "line 2: unknown audit_stratum 'middle'"),
        (_HEAD, "no rows"),
        (_HEAD + '"hi,0.5,x,m,,2,high,1,\n', "line 2"),
    ],
)
def test_review_queue_refuses_what_is_not_a_whole_sample(
    tmp_path: Path, text: str, words: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=words) as caught:
        read_review_queue(path)
    assert str(path) in str(caught.value)


def test_export_reads_back_as_labels(tmp_path: Path, store: LabelsStore) -> None:
    sample = write_sample(tmp_path / "sample.csv")
    queue = read_review_queue(sample)
    store.record(queue.sha256, 2, "abusive", "threat", reviewer="alice")
    store.record(queue.sha256, 3, "benign", reviewer="alice")
    store.record(queue.sha256, 4, "skip", reviewer="bob")
    store.record(queue.sha256, 5, "benign", reviewer="bob")
    store.undo_last(queue.sha256)  # line 5 back to unreviewed
    out = tmp_path / "verdicts.csv"
    labelled = export_verdicts(queue, store.current(queue.sha256), out)
    assert labelled == 2
    with out.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == [
        "id", "text", "abuse_score", "abuse_label", "model_version", "abuse_note", "audit_line",
        "audit_stratum", "audit_weight", "verdict", "verdict_status", "verdict_note", "verdict_reviewer", "verdict_time_utc",
    ]  # fmt: skip
    assert [r["verdict"] for r in rows] == ["abusive", "benign", "", "", ""]
    assert [r["verdict_status"] for r in rows] == [
        "reviewed", "reviewed", "skipped", "unreviewed", "unreviewed",
    ]  # fmt: skip
    assert rows[0]["verdict_note"] == "threat" and rows[2]["verdict_reviewer"] == "bob"
    assert rows[1]["text"] == "message number 1, long enough" and rows[1]["abuse_score"] == "0.15"
    rule = LabelRule.of(None)  # what estimate --label-column verdict takes each value as
    assert [rule.taken_as(r["verdict"]) for r in rows] == [ABUSIVE, BENIGN] + [REJECTED] * 3
    before = sample.read_bytes()
    with pytest.raises(InputError, match="refusing|same"):
        export_verdicts(queue, store.current(queue.sha256), sample)
    assert sample.read_bytes() == before
    with pytest.raises(InputError):
        export_verdicts(queue, {}, store.path)  # never over a database


def test_export_is_read_by_the_labelled_csv_reader(
    tmp_path: Path, store: LabelsStore, bundled_scorer
) -> None:
    """The evaluate/Threshold reader takes the export as it is: the verdict column's abusive
    and benign rows are labelled, skipped and unreviewed rows are left out as unlabelled."""
    from app.core.analysis.labeled import read_labeled_scores

    queue = read_review_queue(write_sample(tmp_path / "sample.csv", rows=4))
    store.record(queue.sha256, 2, "benign")
    store.record(queue.sha256, 3, "abusive")
    store.record(queue.sha256, 4, "skip")
    out = tmp_path / "verdicts.csv"
    export_verdicts(queue, store.current(queue.sha256), out)
    read = read_labeled_scores(bundled_scorer, out, label_column="verdict", text_column="text")
    assert read.labels.tolist() == [0, 1]
    assert read.lines.tolist() == [2, 3]
    assert [r.line for r in read.rejected] == [4, 5]
