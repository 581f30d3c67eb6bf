"""The Review panel driven by keyboard and mouse: a sample opened (read and hashed in a worker),
A/B/S verdicts and Ctrl+Z/U undo, progress, notes, the activity events with the reviewer's name,
resuming from the labels store in a new panel, export, and screenshots at two window sizes."""

from __future__ import annotations

import csv
from functools import partial
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.core.audit.verdicts import LabelsStore
from app.core.common.user import workstation_user
from tests.test_audit_verdicts import write_sample

ARTIFACTS = Path(__file__).resolve().parent / "_artifacts"
CTRL = Qt.KeyboardModifier.ControlModifier


def make_panel(qtbot, app_context, worker_pool, store: Path, size=(1280, 800)):
    from app.ui.review.panel import ReviewPanel

    panel = ReviewPanel(app_context, worker_pool, store_path=store)
    qtbot.addWidget(panel)
    panel.resize(*size)
    panel.show()
    qtbot.waitExposed(panel)
    return panel


def open_sample(qtbot, panel, sample: Path) -> None:
    panel.w.path.setEditText(str(sample))
    qtbot.mouseClick(panel.w.open_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.queue is not None and panel.loader is None, timeout=5000)


def key(qtbot, panel, k, mods=Qt.KeyboardModifier.NoModifier) -> None:
    qtbot.keyClick(panel.w.text, k, mods)


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "labels.sqlite3"


def verdict_events(app_context) -> list:
    return [e for e in app_context.activity.query(action="audit_verdict", limit=100)]


def test_review_with_keys_undo_note_and_resume(
    qtbot, app_context, worker_pool, tmp_path, store_path
):
    sample = write_sample(tmp_path / "sample.csv", rows=6)
    panel = make_panel(qtbot, app_context, worker_pool, store_path)
    assert not panel.w.abusive.isEnabled()
    key(qtbot, panel, Qt.Key.Key_A)  # nothing open: nothing happens
    open_sample(qtbot, panel, sample)
    w = panel.w
    assert w.progress_label.text() == "0 of 6 reviewed · 0 skipped"
    assert w.text.toPlainText() == "message number 0, long enough"
    assert (
        "Item 1 of 6 · line 2 · scored batch line 40 · score 0.050 · stratum clear_low · weight 4"
        == w.item_info.text()
    )
    assert w.current.text() == "Not reviewed yet"

    key(qtbot, panel, Qt.Key.Key_A)  # line 2 abusive, moves to the next item
    assert panel.index == 1 and w.progress_label.text() == "1 of 6 reviewed · 0 skipped"
    w.note.setFocus()
    qtbot.keyClicks(w.note, "sarcasm, ask Sam")  # letters typed in the note are not verdicts
    assert w.progress_label.text() == "1 of 6 reviewed · 0 skipped"
    qtbot.keyClick(w.note, Qt.Key.Key_Return)  # back to the item, not moved
    assert panel.index == 1 and w.text.hasFocus()
    key(qtbot, panel, Qt.Key.Key_B)  # line 3 benign with the note
    key(qtbot, panel, Qt.Key.Key_S)  # line 4 skipped
    assert w.progress_label.text() == "3 of 6 reviewed · 1 skipped"
    assert (w.progress.value(), w.progress.maximum()) == (3, 6)
    assert w.note.text() == ""  # the next item has no note

    store = LabelsStore(store_path)
    sha = panel.queue.sha256
    current = store.current(sha)
    assert {line: v.verdict for line, v in current.items()} == {
        2: "abusive",
        3: "benign",
        4: "skip",
    }
    assert current[3].note == "sarcasm, ask Sam"
    assert {v.reviewer for v in current.values()} == {workstation_user()}

    key(qtbot, panel, Qt.Key.Key_Z, CTRL)  # undo the skip: back on line 4
    assert panel.item.line == 4 and w.progress_label.text() == "2 of 6 reviewed · 0 skipped"
    key(qtbot, panel, Qt.Key.Key_U)  # undo the benign
    assert panel.item.line == 3 and w.current.text() == "Not reviewed yet"
    assert sorted(store.current(sha)) == [2]
    assert [r.verdict for r in store.history(sha)] == [
        "abusive", "benign", "skip", "undo", "undo",
    ]  # fmt: skip

    events = verdict_events(app_context)
    assert len(events) == 5
    assert all(e.file_sha256 == sha and e.file_name == str(sample) for e in events)
    assert all(workstation_user() in e.detail for e in events)
    details = sorted(e.detail for e in events)
    assert any(d.startswith("abusive on line 2 (item 1 of 6, stratum clear_low)") for d in details)
    assert any(d.startswith("benign on line 3") and d.endswith("with a note") for d in details)
    assert any(d.startswith("undo: the skip on line 4") for d in details)

    key(qtbot, panel, Qt.Key.Key_Left)
    assert panel.item.line == 2 and w.current.text().startswith("Abusive — ")
    key(qtbot, panel, Qt.Key.Key_PageDown)
    key(qtbot, panel, Qt.Key.Key_Right)
    assert panel.item.line == 4
    key(qtbot, panel, Qt.Key.Key_Return)  # next unreviewed after line 4: line 5
    assert panel.item.line == 5
    key(qtbot, panel, Qt.Key.Key_PageUp)
    assert panel.item.line == 4
    panel.shutdown()

    # A new panel (a restart) resumes at the first item without a verdict, counts from the store.
    again = make_panel(qtbot, app_context, worker_pool, store_path)
    assert again.w.path.findText(str(sample)) >= 0  # offered as a recent sample
    open_sample(qtbot, again, sample)
    assert again.item.line == 3
    assert again.w.progress_label.text() == "1 of 6 reviewed · 0 skipped"
    assert "Resumed" in again.w.status.text()
    again.shutdown()
    store.close()


def test_export_from_the_panel(qtbot, app_context, worker_pool, tmp_path, store_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    sample = write_sample(tmp_path / "sample.csv", rows=3)
    panel = make_panel(qtbot, app_context, worker_pool, store_path)
    open_sample(qtbot, panel, sample)
    qtbot.mouseClick(panel.w.benign, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(panel.w.abusive, Qt.MouseButton.LeftButton)
    out = tmp_path / "out" / "verdicts.csv"
    out.parent.mkdir()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *_a, **_k: (str(out), "*.csv"))
    qtbot.mouseClick(panel.w.export_button, Qt.MouseButton.LeftButton)
    assert "Exported 3 items (2 labelled)" in panel.w.status.text()
    with out.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["verdict"] for r in rows] == ["benign", "abusive", ""]
    assert rows[0]["verdict_reviewer"] == workstation_user()
    before = sample.read_bytes()
    assert not panel.export_to(sample)  # never over the sample
    assert "Not exported" in panel.w.status.text() and sample.read_bytes() == before
    panel.shutdown()


def test_a_bad_sample_or_store_is_one_line(qtbot, app_context, worker_pool, tmp_path, store_path):
    bad = tmp_path / "scored.csv"
    bad.write_text("text,abuse_score\nhello there,0.5\n", encoding="utf-8")
    panel = make_panel(qtbot, app_context, worker_pool, store_path)
    panel.open_sample(bad)
    qtbot.waitUntil(lambda: panel.loader is None, timeout=5000)
    assert panel.queue is None
    assert str(bad) in panel.w.status.text() and "'audit_stratum'" in panel.w.status.text()
    panel.shutdown()

    damaged = tmp_path / "damaged.sqlite3"
    damaged.write_bytes(b"not a database")
    broken = make_panel(qtbot, app_context, worker_pool, damaged)
    assert str(damaged) in broken.w.status.text()
    broken.open_sample(write_sample(tmp_path / "sample.csv"))
    qtbot.waitUntil(lambda: broken.loader is None, timeout=5000)
    assert broken.queue is None and damaged.read_bytes() == b"not a database"
    broken.shutdown()


@pytest.fixture
def appearance(qapp):
    """Sets the font size and theme for one test, and puts 100 % System back after it."""
    from app.ui.shell.appearance import apply_appearance

    yield partial(apply_appearance, qapp)
    apply_appearance(qapp, 100, "system")


@pytest.mark.parametrize(
    ("size", "scale", "theme"),
    [
        ((1280, 800), 100, "system"),
        ((1024, 700), 100, "system"),
        ((1024, 700), 150, "high_contrast"),
    ],
)
def test_screenshot(
    qtbot, app_context, worker_pool, tmp_path, store_path, appearance, size, scale, theme
):
    appearance(scale, theme)
    sample = tmp_path / "sample.csv"
    sample.write_text(
        "id,text,abuse_score,abuse_label,model_version,abuse_note,audit_line,audit_stratum,"
        "audit_weight,verdict\n"
        '1,"You people are a disgrace and someone should shut you up for good.",0.91,abusive,'
        "m 1,,12,high,4,\n"
        '2,"Thanks for the quick reply, see you at the meeting tomorrow!",0.04,ok,m 1,,57,'
        "clear_low,40,\n"
        '3,"Honestly that referee was blind, worst call of the season",0.47,ok,m 1,,83,'
        "above_t,3,\n",
        encoding="utf-8",
    )
    panel = make_panel(qtbot, app_context, worker_pool, store_path, size)
    open_sample(qtbot, panel, sample)
    key(qtbot, panel, Qt.Key.Key_A)
    key(qtbot, panel, Qt.Key.Key_Left)
    panel.w.note.setText("threat of violence")
    ARTIFACTS.mkdir(exist_ok=True)
    name = f"review_panel_{size[0]}x{size[1]}" + (f"_{theme}_{scale}" if theme != "system" else "")
    assert panel.grab().save(str(ARTIFACTS / f"{name}.png"))
    panel.shutdown()


def test_two_windows_on_one_sample_lose_nothing(
    qtbot, app_context, worker_pool, tmp_path, store_path
):
    """Two Review panels (two windows) give verdicts on the same sample: both are kept, and each
    panel's progress counts the other's once it writes again."""
    sample = write_sample(tmp_path / "sample.csv", rows=4)  # audit_line 40 + i
    first = make_panel(qtbot, app_context, worker_pool, store_path)
    second = make_panel(qtbot, app_context, worker_pool, store_path)
    open_sample(qtbot, first, sample)
    open_sample(qtbot, second, sample)
    assert "scored batch line 40" in first.w.item_info.text()
    key(qtbot, first, Qt.Key.Key_A)  # line 2
    key(qtbot, second, Qt.Key.Key_Right)
    key(qtbot, second, Qt.Key.Key_Right)
    key(qtbot, second, Qt.Key.Key_B)  # line 4
    assert second.w.progress_label.text() == "2 of 4 reviewed · 0 skipped"
    key(qtbot, first, Qt.Key.Key_S)  # line 3
    assert first.w.progress_label.text() == "3 of 4 reviewed · 1 skipped"
    assert first.item.line == 5  # the one item left
    with LabelsStore(store_path) as store:
        current = store.current(first.queue.sha256)
    assert {line: v.verdict for line, v in current.items()} == {
        2: "abusive",
        3: "skip",
        4: "benign",
    }
    first.shutdown()
    second.shutdown()


def test_a_locked_store_says_so_at_once_and_logs_nothing(
    qtbot, app_context, worker_pool, tmp_path, store_path
):
    """Another process holds the labels store: each key press answers within the short busy
    timeout (no 10 s freeze), says which verdict was not saved, and no activity event claims
    it; once the store is free the same key saves it and logs it once."""
    import sqlite3
    import time

    sample = write_sample(tmp_path / "sample.csv", rows=4)
    panel = make_panel(qtbot, app_context, worker_pool, store_path)
    open_sample(qtbot, panel, sample)
    before = len(verdict_events(app_context))
    locker = sqlite3.connect(store_path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        for k in (Qt.Key.Key_A, Qt.Key.Key_B):
            started = time.monotonic()
            key(qtbot, panel, k)
            assert time.monotonic() - started < 3.0
            status = panel.w.status.text()
            assert status.startswith("Verdict not saved (") and "line 2" in status
            assert "locked" in status and panel.item.line == 2
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert len(verdict_events(app_context)) == before
    with LabelsStore(store_path) as store:
        assert store.current(panel.queue.sha256) == {}
        key(qtbot, panel, Qt.Key.Key_A)
        assert sorted(store.current(panel.queue.sha256)) == [2]
    assert len(verdict_events(app_context)) == before + 1
    panel.shutdown()


def test_a_verdict_the_log_cannot_record_is_withdrawn(
    qtbot, app_context, worker_pool, tmp_path, store_path, monkeypatch
):
    sample = write_sample(tmp_path / "sample.csv", rows=4)
    panel = make_panel(qtbot, app_context, worker_pool, store_path)
    open_sample(qtbot, panel, sample)

    def refuse(action, **_values):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(app_context, "log", refuse)
    key(qtbot, panel, Qt.Key.Key_A)
    status = panel.w.status.text()
    assert "Verdict not saved (abusive on line 2)" in status and "withdrawn" in status
    assert panel.item.line == 2 and panel.w.progress_label.text().startswith("0 of 4")
    store = LabelsStore(store_path)
    sha = panel.queue.sha256
    assert store.current(sha) == {}
    assert [r.verdict for r in store.history(sha)] == ["abusive", "undo"]
    monkeypatch.undo()
    key(qtbot, panel, Qt.Key.Key_A)
    monkeypatch.setattr(app_context, "log", refuse)
    key(qtbot, panel, Qt.Key.Key_Z, CTRL)  # the undo cannot be logged: the verdict stands
    assert "Not undone" in panel.w.status.text()
    assert {k: v.verdict for k, v in store.current(sha).items()} == {2: "abusive"}
    store.close()
    panel.shutdown()


def test_the_last_verdict_says_all_reviewed_and_focuses_export(
    qtbot, app_context, worker_pool, tmp_path, store_path
):
    sample = write_sample(tmp_path / "sample.csv", rows=4)
    panel = make_panel(qtbot, app_context, worker_pool, store_path)
    open_sample(qtbot, panel, sample)
    for k in (Qt.Key.Key_A, Qt.Key.Key_S, Qt.Key.Key_B):
        key(qtbot, panel, k)
        assert "reviewed" not in panel.w.status.text()
    key(qtbot, panel, Qt.Key.Key_B)
    assert panel.w.status.text() == (
        "Line 5: benign. All 4 items reviewed (1 skipped). Export verdicts… to estimate, or "
        "use the sample in the Threshold panel."
    )
    assert panel.w.export_button.hasFocus()
    panel.shutdown()
