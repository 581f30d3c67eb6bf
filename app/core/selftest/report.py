"""The self-test's file checks: the activity log and the spreadsheet exports, in a scratch folder.

Each check returns a one-line detail when everything held and raises `SelfTestFailure` naming
what did not; `app.core.selftest.checks` turns that (or any error from the code under test) into a
failed check. Both write only inside the folder they are given.
"""

from __future__ import annotations

import csv
import sqlite3
import zipfile
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path
from typing import TextIO, cast
from xml.etree import ElementTree

from app.core.activity.log import ActivityLog, load_or_create_secret
from app.core.common.atomic import atomic_open, atomic_path
from app.core.common.paths import activity_db_path, activity_key_path
from app.core.export.csv_writer import CsvExportWriter, XlsxExportWriter

#: A scored text that a spreadsheet would run as a formula if the export did not neutralise it.
FORMULA_TEXT = "=1+1"
EXPORT_HEADER = ("row", "text", "score", "label")


class SelfTestFailure(Exception):
    """A self-test check found something wrong; the message says what."""


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise SelfTestFailure(message)


def check_activity_log(folder: Path) -> str:
    """Record two events, close, reopen, read them back and verify the hash chain; then edit
    one row behind the log's back and make sure the chain check notices."""
    db = activity_db_path(folder)
    key = activity_key_path(db)
    text = "self-test text"
    log = ActivityLog(db, load_or_create_secret(key))
    try:
        log.record("app_started", detail="self-test")
        log.record("score_text", text=text, score=0.25, threshold=0.45, model_version="self-test")
    finally:
        log.close()

    log = ActivityLog(db, load_or_create_secret(key))
    try:
        events = list(reversed(log.query(limit=None)))
        actions = [event.action for event in events]
        _require(
            actions == ["app_started", "score_text"],
            f"read back {actions} after reopening, expected ['app_started', 'score_text']",
        )
        scored = events[1]
        _require(
            scored.text_hmac == log.text_hmac(text) and scored.text is None,
            "the scored text's HMAC did not survive reopening (or the raw text was stored)",
        )
        _require(
            (scored.score, scored.threshold) == (0.25, 0.45),
            f"score/threshold read back as {scored.score}/{scored.threshold}, wrote 0.25/0.45",
        )
        ok, message = log.verify()
        _require(ok, f"hash chain of a fresh log: {message}")
    finally:
        log.close()

    with closing(sqlite3.connect(db)) as raw:
        raw.execute("UPDATE events SET detail = 'edited' WHERE action = 'app_started'")
        raw.commit()
    log = ActivityLog(db, load_or_create_secret(key))
    try:
        tampered_ok, _ = log.verify()
    finally:
        log.close()
    _require(not tampered_ok, "an event edited in the database was not detected")
    return f"2 events written, reopened and read back; {message}; an edited event is detected"


def _scored_table(rows: Sequence[tuple[str, float | None, str]]) -> list[list[object]]:
    return [[number, text, score, label] for number, (text, score, label) in enumerate(rows, 1)]


def _check_csv(path: Path, table: list[list[object]]) -> None:
    with atomic_open(path) as fh:
        CsvExportWriter(cast(TextIO, fh), EXPORT_HEADER).write_rows(table)
    with open(path, encoding="utf-8-sig", newline="") as fh:
        back = list(csv.reader(fh))
    _require(back[:1] == [list(EXPORT_HEADER)], f"CSV header read back as {back[:1]}")
    _require(len(back) == len(table) + 1, f"CSV has {len(back) - 1} rows, wrote {len(table)}")
    for written, read in zip(table, back[1:], strict=True):
        text, score = str(written[1]), written[2]
        expected = "'" + text if text == FORMULA_TEXT else text
        _require(read[1] == expected, f"CSV text cell {read[1]!r}, expected {expected!r}")
        if isinstance(score, float):
            _require(float(read[2]) == score, f"CSV score {read[2]!r} is not {score!r}")


def _check_xlsx(path: Path, table: list[list[object]]) -> None:
    with atomic_path(path) as tmp, XlsxExportWriter(tmp, EXPORT_HEADER) as xlsx:
        xlsx.write_rows(table)
        xlsx.close({"source": "self-test"})
    texts: list[str] = []
    formulas = 0
    with zipfile.ZipFile(path) as book:  # our own file, just written: plain ElementTree is fine
        parts = [name for name in book.namelist() if name.startswith("xl/worksheets/sheet")]
        parts += [name for name in book.namelist() if name == "xl/sharedStrings.xml"]
        _require(bool(parts), "the XLSX has no worksheet")
        for name in parts:
            for element in ElementTree.fromstring(book.read(name)).iter():
                local = element.tag.rsplit("}", 1)[-1]
                formulas += local == "f"
                if local == "t" and element.text:
                    texts.append(element.text)
    _require(formulas == 0, f"the XLSX holds {formulas} formula element(s)")
    # A string cell is never evaluated: the text is stored exactly, without a "'" prefix.
    missing = [str(row[1]) for row in table if str(row[1]) not in texts]
    _require(not missing, f"the XLSX lacks the text(s) {missing}")


def check_exports(folder: Path, rows: Sequence[tuple[str, float | None, str]]) -> str:
    """Export scored ``(text, score, label)`` rows to CSV and XLSX, read both back, and check
    that a text that looks like a formula stays text. ``rows`` must include `FORMULA_TEXT`."""
    _require(any(text == FORMULA_TEXT for text, _, _ in rows), "no formula-looking text to export")
    table = _scored_table(rows)
    _check_csv(folder / "scored.csv", table)
    _check_xlsx(folder / "scored.xlsx", table)
    return (
        f"CSV and XLSX with {len(table)} scored rows read back; {FORMULA_TEXT!r} kept as text "
        f'("\'{FORMULA_TEXT}" in the CSV, a string cell in the XLSX), no formula cells'
    )
