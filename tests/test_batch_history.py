"""The batch history's core: index round-trip, a damaged index, eviction that deletes only our
files, an entry whose cache is gone."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from app.core.batch.options import BatchReport
from app.core.results.cache import ScoredFile
from app.core.results.history import BatchHistory, HistoryNewer, entry_brief, entry_summary
from app.core.results.table import ResultsTable


def _scored(folder: Path, name: str, rows: int = 3) -> ScoredFile:
    """A finished job's result: a cache file (and sidecar) in a session folder."""
    folder.mkdir(parents=True, exist_ok=True)
    cache = folder / f"{name}.scored.csv"
    cache.write_text("text,abuse_score\n" + "x,0.5\n" * rows, encoding="utf-8")
    Path(f"{cache}.provenance.json").write_text("{}", encoding="utf-8")
    report = BatchReport(f"/data/{name}.csv", str(cache), "csv", rows_read=rows + 1,
                         rows_scored=rows, rows_rejected=1, rows_written=rows, rows_flagged=1,
                         model_version="tiny-1", threshold=0.45, text_column="text",
                         input_sha256="ab" * 32, delimiter=",",
                         rejected=[{"line": 3, "reason": "bad", "excerpt": "x", "last": 4}])  # fmt: skip
    texts = ["héllo 🙂", "", "multi\nline"][:rows] + ["t"] * max(0, rows - 3)
    table = ResultsTable.from_arrays(
        np.arange(2, rows + 2), np.linspace(0, 1, rows), texts, ["1"] * rows, "label",
        challenger_scores=np.full(rows, np.nan), challenger_version="other-2",
    )  # fmt: skip
    return ScoredFile(report, table, cache)


def test_record_and_reload_round_trip(tmp_path: Path) -> None:
    history = BatchHistory(tmp_path / "jobs" / "history")
    result = _scored(tmp_path / "jobs" / "session", "in")
    entry = history.record(result, keep=10, input_size=123)
    assert entry is not None and result.cache_path.parent == history.folder(entry.id)
    assert not (tmp_path / "jobs" / "session" / "in.scored.csv").exists()  # moved, not copied
    [listed] = BatchHistory(history.root).entries()  # a new process reads the same
    assert listed == entry and listed.input_size == 123 and listed.threshold == 0.45
    assert listed.counts == {"rows_read": 4, "rows_scored": 3, "rows_blank": 0,
                             "rows_rejected": 1, "rows_flagged": 1}  # fmt: skip
    assert listed.rejected[0]["last"] == 4 and history.available(listed)
    loaded = history.load(listed)
    assert loaded.report == result.report
    table = loaded.table
    assert table.texts.tolist() == ["héllo 🙂", "", "multi\nline"]
    assert table.lines.tolist() == [2, 3, 4] and table.gold_column == "label"
    assert np.array_equal(table.scores, result.table.scores)
    assert table.challenger_version == "other-2" and np.isnan(table.challenger_scores).all()
    assert "in.csv" in entry_summary(listed, True) and "0.45" in entry_summary(listed, True)


def test_eviction_keeps_n_and_deletes_only_our_files(tmp_path: Path) -> None:
    history = BatchHistory(tmp_path / "jobs" / "history")
    user_file = tmp_path / "in.csv"
    user_file.write_text("text\nhello\n", encoding="utf-8")
    first = history.record(_scored(tmp_path / "s", "a"), 2, 1)
    assert first is not None
    # A hand-placed file in the entry's folder is not ours: it survives, and so does its folder.
    (history.folder(first.id) / "notes.txt").write_text("mine", encoding="utf-8")
    history.record(_scored(tmp_path / "s", "b"), 2, 1)
    history.record(_scored(tmp_path / "s", "c"), 2, 1)
    assert [Path(e.input_path).stem for e in history.entries()] == ["b", "c"]
    assert sorted(p.name for p in history.folder(first.id).iterdir()) == ["notes.txt"]
    assert user_file.read_text(encoding="utf-8") == "text\nhello\n"
    assert history.trim(1)[0].input_path.endswith("c.csv") and len(history.entries()) == 1
    history.record(_scored(tmp_path / "s", "d"), 0, 1)  # 0 keeps nothing
    assert history.entries() == []
    assert [p for p in history.root.rglob("*.csv")] == []


def test_an_index_pointing_outside_never_deletes_there(tmp_path: Path) -> None:
    history = BatchHistory(tmp_path / "jobs" / "history")
    history.record(_scored(tmp_path / "s", "a"), 5, 1)
    outside = tmp_path / "precious"
    outside.mkdir()
    (outside / "scored.csv").write_text("keep me", encoding="utf-8")
    data = json.loads(history.index_path.read_text(encoding="utf-8"))
    data["entries"].append(dict(data["entries"][0], id="../../precious"))
    history.index_path.write_text(json.dumps(data), encoding="utf-8")
    assert len(history.entries()) == 1  # the bad id is dropped
    assert not history.remove("../../precious")
    history.trim(0)
    assert (outside / "scored.csv").read_text(encoding="utf-8") == "keep me"


@pytest.mark.parametrize(
    "content",
    ["{not json", "[]", '{"entries": 5}', "\xff\xfe", '{"entries": [1, {"id": "x"}]}'],
)
def test_a_damaged_index_is_ignored_with_a_warning(tmp_path: Path, content: str, caplog) -> None:
    history = BatchHistory(tmp_path / "history")
    history.root.mkdir()
    history.index_path.write_bytes(content.encode("utf-8", "surrogateescape"))
    with caplog.at_level(logging.WARNING):
        assert history.entries() == []
    assert caplog.records
    assert history.record(_scored(tmp_path / "s", "a"), 3, 1) is not None  # and it heals
    assert len(history.entries()) == 1


def test_bad_fields_drop_only_that_entry(tmp_path: Path) -> None:
    history = BatchHistory(tmp_path / "history")
    history.record(_scored(tmp_path / "s", "a"), 5, 1)
    history.record(_scored(tmp_path / "s", "b"), 5, 1)
    data = json.loads(history.index_path.read_text(encoding="utf-8"))
    data["entries"][0]["threshold"] = 7
    data["entries"][1]["counts"]["rows_read"] = -1
    data["entries"].append(dict(data["entries"][1]))
    data["entries"][1] = dict(data["entries"][1], input_size=True)
    history.index_path.write_text(json.dumps(data), encoding="utf-8")
    assert history.entries() == []
    data["entries"][2]["counts"]["rows_read"] = 4
    history.index_path.write_text(json.dumps(data), encoding="utf-8")
    assert [Path(e.input_path).stem for e in history.entries()] == ["b"]


def test_missing_cache_cannot_be_loaded_but_can_be_removed(tmp_path: Path) -> None:
    history = BatchHistory(tmp_path / "history")
    entry = history.record(_scored(tmp_path / "s", "a"), 5, 1)
    assert entry is not None
    history.cache_path(entry).unlink()
    assert not history.available(entry)
    assert "cache gone — rescore" in entry_summary(entry, False)
    with pytest.raises(FileNotFoundError):
        history.load(entry)
    assert history.remove(entry.id) and history.entries() == []
    assert not history.folder(entry.id).exists()


@pytest.mark.parametrize("value,ok", [(0, True), (100, True), (101, False), (-1, False)])
def test_the_history_size_setting_is_0_to_100(tmp_path: Path, value: int, ok: bool) -> None:
    from app.core.context.settings import Settings, apply_user_changes, load_settings

    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"schema_version": 1, "batch_history_size": value}), "utf-8")
    loaded = load_settings(path)
    assert loaded.batch_history_size == (value if ok else 10) and bool(loaded.problems) != ok
    if ok:
        assert apply_user_changes(Settings(), {"batch_history_size": value}) == (
            {} if value == 10 else {"batch_history_size": (10, value)}
        )
    else:
        with pytest.raises(ValueError, match="batch_history_size"):
            apply_user_changes(Settings(), {"batch_history_size": value})


def _edit_index(history: BatchHistory, edit) -> None:
    data = json.loads(history.index_path.read_text(encoding="utf-8"))
    edit(data)
    history.index_path.write_text(json.dumps(data), encoding="utf-8")


def test_the_summary_shows_the_exact_threshold_and_the_ledger_words(tmp_path: Path) -> None:
    history = BatchHistory(tmp_path / "history")
    history.record(_scored(tmp_path / "s", "a"), 5, 1)
    for value, shown in ((0.449, "@ 0.449"), (1e-300, "@ 1e-300"), (0.5, "@ 0.50")):
        _edit_index(history, lambda d, v=value: d["entries"][0].update(threshold=v))
        [entry] = history.entries()
        assert entry_summary(entry, True).endswith(f"tiny-1 {shown}")
        assert entry_brief(entry, True).endswith(f"1 flagged {shown}")
    # the counts the results and the export use: scored, and rejected/blank only when there are
    assert "· 3 scored, 1 rejected, 1 flagged ·" in entry_summary(entry, True)
    assert " rows" not in entry_summary(entry, True) and "blank" not in entry_summary(entry, True)


def test_bad_entries_give_one_warning_naming_the_index(tmp_path: Path, caplog) -> None:
    history = BatchHistory(tmp_path / "history")
    history.record(_scored(tmp_path / "s", "a"), 5, 1)
    _edit_index(history, lambda d: d["entries"].extend([{"id": "../x"}, 3, {"id": "b c"}]))
    with caplog.at_level(logging.WARNING):
        assert len(history.entries()) == 1
    [record] = caplog.records
    assert "index.json: 3 entries dropped (entry 1: " in record.getMessage()


@pytest.mark.parametrize("version", [2, "2", 2.0, 1.5, True, 0, -1, None, "1"])
def test_a_newer_index_is_read_but_never_rewritten(tmp_path: Path, version) -> None:
    """Any schema_version but our own integer (absent counts as ours) is another app's."""
    history = BatchHistory(tmp_path / "history")
    entry = history.record(_scored(tmp_path / "s", "a"), 5, 1)
    assert entry is not None
    _edit_index(history, lambda d: d.update(schema_version=version, future={"kept": True}))
    before = history.index_path.read_bytes()
    assert [e.id for e in history.entries()] == [entry.id]  # still listed and reopenable
    for change in (
        lambda: history.remove(entry.id),
        lambda: history.trim(0),
        lambda: history.record(_scored(tmp_path / "s", "b"), 5, 1),
    ):
        with pytest.raises(HistoryNewer, match="index.json was written by a newer or another"):
            change()
    assert history.index_path.read_bytes() == before and history.available(entry)


@pytest.mark.parametrize(
    "edit",
    [
        lambda r: r.update(rejected=[{"x": 1}]),  # no line: a KeyError in the ledger before
        lambda r: r["rejected"][0].update(line="3"),
        lambda r: r["rejected"][0].update(line=10**30),
        lambda r: r["rejected"][0].update(last=1),  # ends before it starts
        lambda r: r["rejected"][0].pop("excerpt"),
        lambda r: r.update(seconds=float("nan")),
        lambda r: r.update(rows_truncated=-5),
        lambda r: r.update(delimiter="x"),
        lambda r: r.update(encoding=7),
    ],
)
def test_a_hand_edited_report_is_refused(tmp_path: Path, edit) -> None:
    history = BatchHistory(tmp_path / "history")
    entry = history.record(_scored(tmp_path / "s", "a"), 5, 1)
    assert entry is not None
    path = history.folder(entry.id) / "report.json"
    report = json.loads(path.read_text(encoding="utf-8"))
    edit(report)
    path.write_text(json.dumps(report), encoding="utf-8")
    with pytest.raises(ValueError, match="report"):
        history.load(entry)
