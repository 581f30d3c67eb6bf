"""The Batch panel with real widgets and real workers: score, cancel, filter, export, send."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from app.core.results.table import ResultsTable
from app.ui.batch.panel import BatchPanel
from app.ui.batch.results_view import ResultsView

ARTIFACTS = Path(__file__).resolve().parent / "_artifacts"
LABELS = ["1", "0", "abusive", "benign", "maybe"]  # "maybe" is neither: counted, not sent
TEXTS = ["you stupid moron", "lovely sunny garden", "what an idiot", "thanks for the coffee"]


def _write(path: Path, n: int, *, broken: bool = True, formulas: bool = False) -> Path:
    """id,text,label rows; optionally a too-long row (line 4) and a blank line (line 6)."""
    lines = ["id,text,label"]
    for i in range(n):
        text = TEXTS[i % len(TEXTS)] + f" #{i}"
        if formulas and i == 1:
            text = '=HYPERLINK("http://evil","click")'
        lines.append(f'{i},"{text.replace(chr(34), chr(34) * 2)}",{LABELS[i % len(LABELS)]}')
    if broken:
        lines.insert(3, "x,too,many,fields")  # line 4
        lines.insert(5, "")  # line 6
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def panel(batch_panel):
    return batch_panel


def _run(qtbot, panel: BatchPanel, path: Path, timeout: int = 60_000) -> None:
    panel.open_file(path)
    with qtbot.waitSignal(panel.job_done, timeout=timeout) as blocker:
        panel.start()
    assert blocker.args[1] == "done", panel.status.text()


def _actions(ctx) -> list[str]:
    return [event.action for event in reversed(ctx.activity.query())]


def _cache_files(ctx) -> list[Path]:
    """The session's cache files (the batch history's folder is not the session's)."""
    jobs = Path(ctx.settings_path).parents[1] / "data" / "jobs"
    return [
        p for p in jobs.rglob("*") if p.is_file() and "history" not in p.relative_to(jobs).parts
    ]


def _history_files(ctx) -> list[Path]:
    jobs = Path(ctx.settings_path).parents[1] / "data" / "jobs" / "history"
    return [p for p in jobs.rglob("*") if p.is_file()]


def test_open_preview_score_and_ledger(qtbot, panel, app_context, tmp_path):
    src = _write(tmp_path / "in.csv", 40)
    panel.open_file(src)
    assert panel.preview.choices() == ("utf-8", ",", "text", "label")  # label auto-selected
    assert panel.preview.model.rowCount() == 20 and panel.start_button.isEnabled()
    _run(qtbot, panel, src)
    report = panel.shown.result.report
    assert (report.rows_read, report.rows_scored, report.rows_rejected, report.rows_blank) == (
        42,
        40,
        1,
        1,
    )
    assert panel.results.proxy.rowCount() == 40 == panel.results.model.rowCount()
    assert panel.ledger.values["rows_rejected"].text() == "1"
    assert panel.ledger.rejected.index(0, 0).data() == "4"
    assert "expected 3 fields" in panel.ledger.rejected.index(0, 1).data()
    tip = panel.ledger.rejected.index(0, 1).data(Qt.ItemDataRole.ToolTipRole)
    assert tip.endswith("<pre>x,too,many,fields</pre>")  # the excerpt of the raw row, as text
    assert _actions(app_context) == ["batch_started", "batch_finished"]
    finished = app_context.activity.query(action="batch_finished")[0]
    assert json.loads(finished.counts)["rows_read"] == 42 and finished.file_name == "in.csv"
    assert finished.file_sha256 == report.input_sha256
    assert app_context.session.batches_run == 1 and app_context.state.running_jobs == 0
    # The batch history keeps the job (closing loses nothing): not "unexported results".
    assert not panel.has_running_jobs() and not panel.has_unexported_results()


def test_cancel_takes_effect_within_a_second_and_keeps_nothing(qtbot, panel, app_context, tmp_path):
    src = _write(tmp_path / "big.csv", 200_000, broken=False)
    panel.open_file(src)
    with qtbot.waitSignal(panel.job_progress, timeout=30_000):
        panel.start()
    assert panel.has_running_jobs() and app_context.state.running_jobs == 1
    with qtbot.waitSignal(panel.job_done, timeout=5_000) as blocker:
        started = time.monotonic()
        panel.cancel()
    elapsed = time.monotonic() - started
    print(f"\ncancel -> done: {elapsed * 1000:.0f} ms")
    assert elapsed < 1.0 and blocker.args == ["big.csv", "cancelled"]
    assert _cache_files(app_context) == []  # not even a .partial
    assert _actions(app_context) == ["batch_started", "batch_cancelled"]
    assert app_context.state.running_jobs == 0 and panel.shown is None
    assert panel.results.model.rowCount() == 0


def test_shutdown_cancels_the_running_job_and_deletes_caches(qtbot, panel, app_context, tmp_path):
    _run(qtbot, panel, _write(tmp_path / "small.csv", 10))
    assert _cache_files(app_context) == []  # the history took the finished job's cache over
    kept = sorted(p.name for p in _history_files(app_context))
    assert kept == ["index.json", "report.json", "scored.csv", "scored.csv.provenance.json",
                    "table.npz"]  # fmt: skip
    panel.open_file(_write(tmp_path / "big.csv", 200_000, broken=False))
    with qtbot.waitSignal(panel.job_progress, timeout=30_000):
        panel.start()
    panel.shutdown()
    assert _cache_files(app_context)  # still in use by the cancelled worker: kept until done
    qtbot.waitUntil(lambda: not panel.has_running_jobs(), timeout=2_000)
    assert _cache_files(app_context) == []
    assert sorted(p.name for p in _history_files(app_context)) == kept  # the history outlives it
    assert _actions(app_context)[-1] == "batch_cancelled"


def test_failed_job_is_logged(qtbot, panel, app_context, tmp_path):
    src = _write(tmp_path / "gone.csv", 5)
    panel.open_file(src)
    src.unlink()
    with qtbot.waitSignal(panel.job_done) as blocker:
        panel.start()
    assert blocker.args[1] == "failed" and "gone.csv" in panel.status.text()
    assert _actions(app_context) == ["batch_started", "batch_failed"]


def test_export_csv_and_xlsx(qtbot, panel, app_context, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    _run(qtbot, panel, _write(tmp_path / "in.csv", 30, formulas=True))
    table = panel.shown.result.table
    for fmt in ("csv", "xlsx"):
        with qtbot.waitSignal(panel.export_done) as blocker:
            panel.export(tmp_path / f"out.{fmt}", fmt)
        assert blocker.args[1].startswith("done"), blocker.args
    with open(tmp_path / "out.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 30 and rows[1]["text"] == '\'=HYPERLINK("http://evil","click")'
    assert [float(r["abuse_score"]) for r in rows] == table.scores.tolist()
    sidecar = json.loads((tmp_path / "out.csv.provenance.json").read_text())
    assert sidecar["threshold"] == 0.45 and sidecar["relabelled"] is False
    assert sidecar["input_sha256"] == panel.shown.result.report.input_sha256
    book = openpyxl.load_workbook(tmp_path / "out.xlsx")
    cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row]
    assert not [c for c in cells if c.data_type == "f"]
    values = [[c.value for c in row] for row in book["scored"].iter_rows()]
    assert values[2][1] == '=HYPERLINK("http://evil","click")'  # a string cell, exact
    assert all(isinstance(row[3], float) for row in values[1:])
    provenance = {row[0].value: row[1].value for row in book["provenance"].iter_rows()}
    assert {"model_version", "threshold", "input_sha256", "exported_utc"} <= set(provenance)
    assert _actions(app_context) == ["batch_started", "batch_finished", "export", "export"]
    assert app_context.activity.query(action="export")[0].file_name == "out.xlsx"


def test_export_event_names_the_exported_file_and_its_own_hash(qtbot, panel, app_context, tmp_path):
    """The event's file is the export: its name and SHA-256 (of the file written); the input is
    named in the detail with its own hash, and the detail pane labels each hash."""
    import hashlib

    from app.ui.activity.details import describe

    src = tmp_path / "in.csv"
    src.write_text('id,text\n1,"\x01\x02ctrl\x1b[31m you idiot"\n2,nice day\n', encoding="utf-8")
    _run(qtbot, panel, src)
    with qtbot.waitSignal(panel.export_done) as blocker:
        panel.export(tmp_path / "out.xlsx", "xlsx")
    note = "1 cell in the data sheets had control characters replaced with U+FFFD (XLSX cannot hold them)"
    assert blocker.args[1].startswith("done") and note in blocker.args[1]
    assert note in panel.status.text()
    event = app_context.activity.query(action="export")[0]
    exported = hashlib.sha256((tmp_path / "out.xlsx").read_bytes()).hexdigest()
    input_sha = hashlib.sha256(src.read_bytes()).hexdigest()
    assert event.file_name == "out.xlsx" and event.file_sha256 == exported != input_sha
    assert f"of in.csv (input SHA-256 {input_sha})" in (event.detail or "")
    assert json.loads(event.counts or "{}")["control_cells_replaced"] == 1
    text = describe(event, "now")
    assert f"Exported file: out.xlsx\nExported file SHA-256: {exported}" in text
    assert "File SHA-256" not in text
    finished = describe(app_context.activity.query(action="batch_finished")[0], "now")
    assert f"Input file: in.csv\nInput SHA-256: {input_sha}" in finished
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.load_workbook(tmp_path / "out.xlsx")
    provenance = {row[0].value: row[1].value for row in book["provenance"].iter_rows()}
    assert provenance["control_characters_replaced"] == note


def test_threshold_change_offers_relabel_and_export_uses_it(qtbot, panel, app_context, tmp_path):
    _run(qtbot, panel, _write(tmp_path / "in.csv", 30))
    assert not panel.notice.isVisibleTo(panel)
    app_context.state.set_threshold(0.9)
    assert panel.notice.isVisibleTo(panel) and "0.45" in panel.notice.text()
    panel.relabel_button.click()
    assert not panel.notice.isVisibleTo(panel) and panel.results.model.threshold == 0.9
    panel.results.flagged.setChecked(True)
    scores = panel.shown.result.table.scores
    assert panel.results.proxy.rowCount() == int((scores >= 0.9).sum())
    panel.shown_only.setChecked(True)  # export only the flagged rows, labelled at 0.9
    with qtbot.waitSignal(panel.export_done):
        panel.export(tmp_path / "flagged.csv", "csv")
    with open(tmp_path / "flagged.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == int((scores >= 0.9).sum())
    assert all(r["abuse_label"] == "abusive" for r in rows)
    sidecar = json.loads((tmp_path / "flagged.csv.provenance.json").read_text())
    assert (sidecar["threshold"], sidecar["job_threshold"], sidecar["relabelled"]) == (
        0.9,
        0.45,
        True,
    )
    assert sidecar["export_filter"] == "flagged only"


def test_relabel_updates_the_ledger(qtbot, panel, app_context, tmp_path):
    _run(qtbot, panel, _write(tmp_path / "in.csv", 30))
    flagged = panel.ledger.values["rows_flagged"]
    report = panel.shown.result.report
    assert flagged.text() == f"{report.rows_flagged:,} at 0.45"
    app_context.state.set_threshold(0.001)
    assert flagged.text() == f"{report.rows_flagged:,} at 0.45"  # still the labels shown
    panel.relabel_button.click()
    now = int(np.count_nonzero(panel.shown.result.table.scores >= 0.001))
    assert now != report.rows_flagged
    assert flagged.text() == f"{now:,} at 0.001 (scored: {report.rows_flagged:,} at 0.45)"


def test_label_header_follows_relabel_and_is_not_clipped(qtbot, panel, app_context, tmp_path):
    _run(qtbot, panel, _write(tmp_path / "in.csv", 10, broken=False))
    view, model = panel.results.view, panel.results.model
    col = model.columns.index("label")
    app_context.state.set_threshold(0.40705543868933947)
    panel.relabel_button.click()
    title = model.headerData(col, Qt.Orientation.Horizontal)
    assert title == "Label @ 0.40705543868933947"  # the labels' threshold, as fmt_threshold
    needed = view.horizontalHeader().fontMetrics().horizontalAdvance(title)
    assert view.columnWidth(col) > needed


def test_relabel_after_a_model_switch_names_both_models(
    qtbot, panel, app_context, model_registry, tmp_path
):
    """A job scored by 2.0.0 and a threshold set for 1.0.0: said before and after re-labelling,
    and the export's provenance names both."""
    _run(qtbot, panel, _write(tmp_path / "in.csv", 30))
    app_context.state.set_scorer(model_registry.load("abuse-lr-1.0.0"))
    app_context.state.set_threshold(0.4071)
    notice = panel.notice.text()
    assert panel.notice.isVisibleTo(panel) and panel.relabel_button.isVisibleTo(panel)
    assert "scored by abuse-lr 2.0.0" in notice and "was set for abuse-lr 1.0.0" in notice
    panel.relabel_button.click()  # still allowed: a threshold is a number
    assert panel.results.model.threshold == 0.4071
    assert "set for abuse-lr 1.0.0, on the scores of abuse-lr 2.0.0" in panel.status.text()
    assert panel.notice.isVisibleTo(panel)  # never silent, even once re-labelled
    assert "set for abuse-lr 1.0.0, on the scores of abuse-lr 2.0.0" in panel.notice.text()
    with qtbot.waitSignal(panel.export_done):
        panel.export(tmp_path / "out.csv", "csv")
    sidecar = json.loads((tmp_path / "out.csv.provenance.json").read_text())
    assert sidecar["model_version"] == "abuse-lr 2.0.0"
    assert sidecar["threshold_set_for_model"] == "abuse-lr 1.0.0"
    assert (sidecar["threshold"], sidecar["relabelled"]) == (0.4071, True)


def test_send_to_threshold_panel_emits_parsed_labels(qtbot, panel, tmp_path):
    n = 23
    _run(qtbot, panel, _write(tmp_path / "in.csv", n, broken=False))
    assert panel.send_button.isEnabled()
    with qtbot.waitSignal(panel.labeled_scores_ready) as blocker:
        panel.send_button.click()
    name, data, source = blocker.args
    scores, labels, texts = data.scores, data.labels, data.texts
    known = [i for i in range(n) if LABELS[i % len(LABELS)] != "maybe"]
    expected = [1 if LABELS[i % len(LABELS)] in ("1", "abusive") else 0 for i in known]
    assert "in.csv" in name and labels.dtype == np.int8 and labels.tolist() == expected
    table = panel.shown.result.table
    assert np.array_equal(scores, table.scores[known]) and texts == table.texts[known].tolist()
    assert data.lines.tolist() == table.lines[known].tolist()  # the items can name their line
    assert (source.file_name, source.key) == ("in.csv", panel.shown.id)
    assert "4 rows with an unknown label" in panel.status.text()


def test_sent_status_is_not_left_stale_by_a_model_change(qtbot, panel, app_context, tmp_path):
    """The Threshold panel drops the sent samples when the model changes: the status says so."""
    from types import SimpleNamespace

    _run(qtbot, panel, _write(tmp_path / "in.csv", 23, broken=False))
    with qtbot.waitSignal(panel.labeled_scores_ready):
        panel.send_button.click()
    assert panel.status.text().startswith("Sent to the Threshold panel")
    real = app_context.state.scorer
    app_context.state.set_scorer(SimpleNamespace(version_label="other 9.9"))
    try:
        assert "Sent to the Threshold panel" not in panel.status.text()
        assert panel.status.text().startswith("Model changed to other 9.9: the Threshold panel")
    finally:
        app_context.state.set_scorer(real)
    assert panel.status.text().startswith("Model changed to other 9.9")  # said once, kept


def test_queue_runs_files_in_turn_and_reshows_results(qtbot, panel, app_context, tmp_path):
    first, second = _write(tmp_path / "a.csv", 12), _write(tmp_path / "b.tsv", 7, broken=False)
    second.write_text(second.read_text().replace(",", "\t"))
    panel.open_files([first, second])
    assert panel.jobs.list.count() == 2 and panel.has_running_jobs()
    qtbot.waitUntil(lambda: not panel.has_running_jobs(), timeout=30_000)
    assert [job.status for job in panel.jobs.jobs.values()] == ["done", "done"]
    assert panel.shown.path == second and panel.results.proxy.rowCount() == 7
    assert panel.shown.result.report.delimiter == "\t"
    panel.jobs.list.setCurrentRow(0)
    panel.jobs._clicked(panel.jobs.list.item(0))
    assert panel.shown.path == first and panel.results.proxy.rowCount() == 12
    cache = panel.shown.result.cache_path
    panel.jobs.remove_selected()  # off the session's list; the batch history keeps its cache
    assert panel.shown is None and cache.exists() and panel.jobs.list.count() == 1
    assert app_context.session.batches_run == 2


def test_encoding_and_delimiter_can_be_changed_before_start(panel, tmp_path):
    src = tmp_path / "semi.csv"
    src.write_text("id;text\n1;hello there\n2;you idiot\n", encoding="cp1252")
    panel.open_file(src)
    assert panel.preview.choices()[:3] == ("utf-8", ";", "text")
    panel.preview.delimiter.setCurrentIndex(panel.preview.delimiter.findData(","))
    assert panel.preview.model.columnCount() == 1  # re-read with the chosen delimiter
    assert panel.preview.text_column.currentData() == "id;text"
    panel.preview.encoding.setCurrentIndex(panel.preview.encoding.findData("utf-16"))
    assert not panel.start_button.isEnabled()  # unreadable that way: say so, keep the choices
    panel.preview.encoding.setCurrentIndex(panel.preview.encoding.findData("cp1252"))
    panel.preview.delimiter.setCurrentIndex(panel.preview.delimiter.findData(";"))
    assert panel.preview.choices() == ("cp1252", ";", "text", None)
    assert panel.start_button.isEnabled()


@pytest.mark.filterwarnings("ignore:Function.*QDragEnterEvent:DeprecationWarning")
def test_drag_and_drop_accepts_csv_tsv_txt_only(panel, tmp_path):
    src = _write(tmp_path / "drop.txt", 3, broken=False)

    def event(kind, path: Path):
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(path))])
        buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
        action = Qt.DropAction.CopyAction
        if kind == "enter":
            return QDragEnterEvent(QPoint(5, 5), action, mime, buttons, mods), mime
        return QDropEvent(QPoint(5, 5), action, mime, buttons, mods), mime

    rejected, _keep = event("enter", tmp_path / "book.xlsx")
    QApplication.sendEvent(panel, rejected)
    assert not rejected.isAccepted()
    accepted, _keep2 = event("enter", src)
    QApplication.sendEvent(panel, accepted)
    assert accepted.isAccepted()
    dropped, _keep3 = event("drop", src)
    QApplication.sendEvent(panel, dropped)
    assert "drop.txt" in panel.file_label.text() and panel.start_button.isEnabled()


def _random_table(n: int, seed: int = 5, gold: bool = True) -> ResultsTable:
    rng = np.random.default_rng(seed)
    scores = rng.random(n)
    scores[::13] = np.nan
    words = np.array(["Idiot", "lovely", "team", "moron", "garden"])
    texts = np.strings.add(
        words[rng.integers(0, 5, n)].astype(np.dtypes.StringDType()), np.arange(n).astype(str)
    )
    labels = np.array(["1", "0", "x"])[rng.integers(0, 3, n)] if gold else None
    return ResultsTable.from_arrays(np.arange(2, n + 2), scores, texts, labels, "label")


def test_filters_and_sorting_match_numpy(qtbot, worker_pool):
    view = ResultsView()
    qtbot.addWidget(view)
    table = _random_table(2_000)
    view.set_results(table, 0.5)
    scores, proxy = table.scores, view.proxy
    assert proxy.rowCount() == 2_000
    view.flagged.setChecked(True)
    with np.errstate(invalid="ignore"):
        assert proxy.rowCount() == int((scores >= 0.5).sum())
        view.flagged.setChecked(False)
        view.low.setValue(0.2)
        view.high.setValue(0.7)
        assert proxy.rowCount() == int(((scores >= 0.2) & (scores <= 0.7)).sum())
    view.search.setText("idiot")  # applied after the debounce timer
    expected = np.strings.startswith(table.texts, "Idiot") & (scores >= 0.2) & (scores <= 0.7)
    qtbot.waitUntil(lambda: proxy.rowCount() == int(expected.sum()))
    assert view.count.text() == f"{int(expected.sum()):,} of 2,000 rows"
    view.search.clear()
    view.low.setValue(0.0)
    view.high.setValue(1.0)
    qtbot.waitUntil(lambda: proxy.rowCount() == 2_000)
    for order in (Qt.SortOrder.DescendingOrder, Qt.SortOrder.AscendingOrder):
        view.view.sortByColumn(1, order)
        shown = [proxy.data(proxy.index(r, 1), Qt.ItemDataRole.UserRole) for r in range(2_000)]
        rated = [s for s in shown if not np.isnan(s)]
        assert rated == sorted(rated, reverse=order == Qt.SortOrder.DescendingOrder)
        assert all(np.isnan(s) for s in shown[len(rated) :])  # blank texts last either way
    view.view.sortByColumn(0, Qt.SortOrder.DescendingOrder)
    assert proxy.data(proxy.index(0, 0)) == 2_001


def test_models_pass_qt_model_tester(qtbot, qtmodeltester, worker_pool):
    view = ResultsView()
    qtbot.addWidget(view)
    view.set_results(_random_table(300), 0.5)
    qtmodeltester.check(view.model)
    qtmodeltester.check(view.proxy)
    view.flagged.setChecked(True)
    view.view.sortByColumn(1, Qt.SortOrder.DescendingOrder)
    view.model.set_threshold(0.3)  # relabelling refilters "flagged only"
    qtmodeltester.check(view.proxy)
    assert view.proxy.rowCount() == int((_random_table(300).scores >= 0.3).sum())


def test_million_rows_filter_sort_and_scroll(qtbot, worker_pool):
    n = 1_000_000
    table = _random_table(n, gold=False)
    view = ResultsView()
    qtbot.addWidget(view)
    view.resize(1000, 600)
    view.show()
    qtbot.waitExposed(view)
    timings = {}
    started = time.perf_counter()
    view.set_results(table, 0.5)
    timings["load"] = time.perf_counter() - started
    started = time.perf_counter()
    view.flagged.setChecked(True)
    timings["flagged"] = time.perf_counter() - started
    started = time.perf_counter()
    view.view.sortByColumn(1, Qt.SortOrder.DescendingOrder)
    timings["sort by score"] = time.perf_counter() - started
    flagged = int(np.count_nonzero(table.scores >= 0.5))
    assert view.proxy.rowCount() == flagged
    started = time.perf_counter()
    view.view.scrollToBottom()
    QApplication.processEvents()
    timings["scroll to end"] = time.perf_counter() - started
    viewport = view.view.viewport()
    assert view.view.indexAt(QPoint(5, viewport.height() - 3)).row() == flagged - 1
    last = view.proxy.data(view.proxy.index(flagged - 1, 1), Qt.ItemDataRole.UserRole)
    assert last == np.nanmin(table.scores[table.scores >= 0.5])
    started = time.perf_counter()
    view.flagged.setChecked(False)
    view.search.setText("moron")
    view.apply()
    timings["search"] = time.perf_counter() - started
    assert view.proxy.rowCount() == int(np.strings.startswith(table.texts, "moron").sum())
    print("\n1M rows: " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in timings.items()))


def test_screenshot_1280x800(qtbot, panel, app_context, tmp_path):
    _run(qtbot, panel, _write(tmp_path / "reports-week-12.csv", 400, formulas=True))
    app_context.state.set_threshold(0.5)  # show the re-label notice
    panel.resize(1280, 800)
    panel.show()
    qtbot.waitExposed(panel)
    ARTIFACTS.mkdir(exist_ok=True)
    assert panel.grab().save(str(ARTIFACTS / "batch_panel.png"))


# --- limits: file-size warning, concurrent jobs ----------------------------------------------


def test_a_file_above_the_warning_size_is_flagged_but_can_be_scored(
    qtbot, app_context, worker_pool, tmp_path
):
    src = _write(tmp_path / "big.csv", 30)
    small = tmp_path / "small.csv"
    small.write_text("text\nhello\n", encoding="utf-8")
    app_context.settings.warn_file_bytes = src.stat().st_size - 1
    widget = BatchPanel(app_context, worker_pool)
    qtbot.addWidget(widget)
    try:
        widget.open_file(small)
        assert widget.size_warning is None and "Large file" not in widget.file_label.text()
        widget.open_file(src)
        assert widget.size_warning and "Large file" in widget.size_warning
        assert "Large file" in widget.file_label.text()
        assert widget.file_label.toolTip() == widget.size_warning
        assert widget.start_button.isEnabled()  # a warning, not a refusal
        _run(qtbot, widget, src)
        assert widget.shown.result.report.rows_scored == 30  # nothing lost
    finally:
        widget.shutdown()


def test_one_scoring_job_at_a_time_by_default_and_the_wait_is_explained(
    qtbot, panel, app_context, tmp_path
):
    assert panel.jobs.limits.max_concurrent_jobs == 1
    first, second = _write(tmp_path / "a.csv", 12), _write(tmp_path / "b.csv", 9)
    panel.open_file(first)
    panel.start()
    panel.open_file(second)
    panel.start()
    assert len(panel.jobs.workers) == 1 and list(panel.jobs.queue) == [2]
    assert "at most 1 scoring job runs at a time" in panel.status.text()
    assert "b.csv · queued" in panel.jobs.list.item(1).text()
    qtbot.waitUntil(lambda: not panel.has_running_jobs(), timeout=30_000)
    assert [job.status for job in panel.jobs.jobs.values()] == ["done", "done"]


def test_max_concurrent_jobs_runs_that_many_side_by_side(qtbot, app_context, worker_pool, tmp_path):
    app_context.settings.max_concurrent_jobs = 2
    widget = BatchPanel(app_context, worker_pool)
    qtbot.addWidget(widget)
    progressed: set[str] = set()
    widget.jobs.progress.connect(lambda job, _p: progressed.add(job.path.name))
    try:
        paths = [_write(tmp_path / f"{name}.csv", 3_000, broken=False) for name in "abc"]
        for path in paths:
            widget.open_file(path)
            widget.start()
        assert len(widget.jobs.workers) == 2 and list(widget.jobs.queue) == [3]
        assert "at most 2 scoring jobs run at a time" in widget.status.text()
        assert [job.status for job in widget.jobs.running_jobs()] == ["running", "running"]
        qtbot.waitUntil(lambda: not widget.has_running_jobs(), timeout=60_000)
        jobs = list(widget.jobs.jobs.values())
        assert [job.status for job in jobs] == ["done", "done", "done"]
        assert [job.result.report.rows_scored for job in jobs] == [3_000] * 3
        assert progressed <= {"a.csv", "b.csv", "c.csv"}
        assert _actions(app_context).count("batch_finished") == 3
        assert app_context.state.running_jobs == 0 and app_context.session.batches_run == 3
    finally:
        widget.shutdown()
