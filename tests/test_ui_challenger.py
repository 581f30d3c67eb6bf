"""Challenger shadow scoring in the UI: the Score panel's line, and batch jobs that keep the
models they started with. Real widgets and workers, driven like a user would."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.core.batch.rows import CHALLENGER_COLUMNS
from app.core.context import batch_queue as batch_jobs
from app.core.engine.scoring import Scorer, label_for
from app.core.results.table import ResultsTable
from app.ui.batch.panel import BatchPanel
from app.ui.batch.results_view import ResultsView
from app.ui.score.panel import ScorePanel

ARTIFACTS = Path(__file__).resolve().parent / "_artifacts"
TEXT = "shut up"  # the two test models score it far apart


@pytest.fixture(scope="module")
def challenger(tiny_training) -> Scorer:
    return Scorer.load(tiny_training.bundle_path)


def _scores(ctx, challenger: Scorer, text: str) -> tuple[float, float]:
    active = ctx.state.scorer.score_text(text, 0.5).score
    other = challenger.score_text(text, 0.5).score
    assert abs(active - other) > 0.02, "the test needs two models that score the text apart"
    return active, other


def _type(qtbot, panel: ScorePanel, text: str) -> None:
    qtbot.keyClicks(panel.editor, text)
    qtbot.waitUntil(
        lambda: panel.result is not None and panel.result.chars == len(text), timeout=2000
    )


def test_the_line_shows_agreement_and_follows_the_challenger(
    qtbot, score_panel, app_context, challenger
):
    panel, state = score_panel, app_context.state
    _type(qtbot, panel, TEXT)
    assert panel.challenger_line.isHidden()  # no challenger, no line
    active, other = _scores(app_context, challenger, TEXT)
    main = (panel.score_label.text(), panel.verdict.text())

    state.set_threshold(round(min(active, other) - 0.01, 4))  # both abusive
    state.set_challenger(challenger)  # observed: no retyping needed
    line = panel.challenger_line
    assert line.isVisible() and not line.disagrees
    label = label_for(other, state.threshold)
    assert line.text() == f"Challenger {challenger.version_label}: {other:.3f} · {label} — agrees"

    state.set_threshold(round((active + other) / 2, 4))  # between them: the labels differ
    expected = "disagrees"
    assert line.text().endswith(f"— {expected}") and line.disagrees
    assert "background" in line.styleSheet() and "bold" in line.styleSheet()
    # The challenger decides nothing: the main result is the active model's alone.
    assert panel.score_label.text() == main[0] == f"{active:.3f}"
    assert panel.verdict.text() == label_for(active, state.threshold).upper()

    panel.editor.setPlainText("   ")
    panel.score_now()
    assert line.isHidden()  # nothing to compare
    panel.editor.setPlainText(TEXT)
    panel.score_now()
    assert line.isVisible()
    state.set_challenger(None)
    assert line.isHidden() and panel.shadow is None
    assert panel.verdict.text() == label_for(active, state.threshold).upper()


def test_settled_text_event_and_copied_result_name_the_challenger(
    qtbot, score_panel, app_context, challenger
):
    panel = score_panel
    app_context.state.set_challenger(challenger)
    _type(qtbot, panel, TEXT)
    qtbot.waitUntil(lambda: app_context.activity.count() == 1, timeout=5000)
    event = app_context.activity.query()[0]
    other = challenger.score_text(TEXT, app_context.state.threshold)
    note = f"challenger {challenger.version_label} score {other.score:.4f} {other.label}"
    assert event.action == "score_text" and note in event.detail
    assert event.model_version == app_context.state.scorer.version_label
    assert event.score == pytest.approx(panel.result.score)  # the active model's score

    qtbot.mouseClick(panel.copy_json_button, Qt.MouseButton.LeftButton)
    copied = json.loads(QApplication.clipboard().text())
    assert copied["score"] == pytest.approx(panel.result.score)
    assert copied["challenger"]["model_version"] == challenger.version_label
    assert copied["challenger"]["score"] == pytest.approx(other.score)
    assert copied["challenger"]["summary"] == panel.challenger_line.text()
    qtbot.mouseClick(panel.copy_button, Qt.MouseButton.LeftButton)  # the readable block too
    assert panel.challenger_line.text() in QApplication.clipboard().text().splitlines()


def test_screenshot_with_a_disagreeing_challenger(qtbot, score_panel, app_context, challenger):
    panel = score_panel
    text = "Honestly, you are a stupid moron. Thanks for the lovely coffee though."
    active, other = _scores(app_context, challenger, text)
    app_context.state.set_threshold(round((active + other) / 2, 2))
    app_context.state.set_challenger(challenger)
    panel.editor.setPlainText(text)
    panel.score_now()
    assert panel.challenger_line.isVisible() and panel.challenger_line.disagrees
    ARTIFACTS.mkdir(exist_ok=True)
    assert panel.grab().save(str(ARTIFACTS / "score_panel_challenger.png"))
    app_context.state.set_threshold(round(min(active, other) - 0.05, 2))
    assert not panel.challenger_line.disagrees
    assert panel.grab().save(str(ARTIFACTS / "score_panel_challenger_agrees.png"))


# --- batch jobs ---------------------------------------------------------------------------------

TEXTS = ["you stupid moron", "dumb meeting", "lovely garden", "I hate this", "shut up"]


def _write(path: Path, n: int) -> list[str]:
    texts = [f"{TEXTS[i % len(TEXTS)]} {i}" if i % 9 else "" for i in range(n)]
    lines = ["id,text"] + [f"{i},{t}" for i, t in enumerate(texts)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return texts


def _run(qtbot, panel: BatchPanel, path: Path) -> None:
    panel.open_file(path)
    with qtbot.waitSignal(panel.job_done, timeout=60_000) as blocker:
        panel.start()
    assert blocker.args[1] == "done", panel.status.text()


def _expected(scorer: Scorer, texts: list[str]) -> np.ndarray:
    return scorer.score_many(texts)[0]


def test_a_job_keeps_the_models_it_started_with(
    qtbot, batch_panel, app_context, challenger, monkeypatch, tmp_path
):
    """Models swapped mid-run (a promotion, say) do not reach a running job."""
    state, active = app_context.state, app_context.state.scorer
    texts = _write(tmp_path / "in.csv", 1_000)
    monkeypatch.setattr(batch_jobs, "CHUNK_ROWS", 100)  # ten chunks
    paused, go = threading.Event(), threading.Event()
    real = batch_jobs.score_file

    def gated(scorer, options, gold, progress=None, cancelled=None, **kw):
        def hold(p):  # the worker waits after its first chunk until the models are swapped
            if not paused.is_set():
                paused.set()
                go.wait(20)
            progress(p)

        return real(scorer, options, gold, hold, cancelled, **kw)

    monkeypatch.setattr(batch_jobs, "score_file", gated)
    state.set_challenger(challenger)
    batch_panel.open_file(tmp_path / "in.csv")
    try:
        with qtbot.waitSignal(batch_panel.job_done, timeout=60_000) as blocker:
            batch_panel.start()
            qtbot.waitUntil(paused.is_set, timeout=20_000)
            assert state.running_jobs == 1
            state.set_scorer(challenger)
            state.set_challenger(active)
            go.set()
    finally:
        go.set()
    assert blocker.args[1] == "done", batch_panel.status.text()
    result = batch_panel.shown.result
    report, table = result.report, result.table
    assert report.model_version == active.version_label
    assert report.challenger_version == challenger.version_label == table.challenger_version
    assert np.array_equal(table.scores, _expected(active, texts), equal_nan=True)
    assert np.array_equal(table.challenger_scores, _expected(challenger, texts), equal_nan=True)
    finished = app_context.activity.query(action="batch_finished")[0]
    assert finished.model_version == active.version_label  # not the model active now
    assert json.loads(finished.counts)["rows_disagreeing"] == report.rows_disagreeing
    assert f"disagrees on {report.rows_disagreeing:,}" in finished.detail
    started = app_context.activity.query(action="batch_started")[0]
    assert started.detail == f"challenger {challenger.version_label}"

    # The next job starts with the models of its own start.
    _run(qtbot, batch_panel, tmp_path / "in.csv")
    report = batch_panel.shown.result.report
    assert report.model_version == challenger.version_label
    assert report.challenger_version == active.version_label


def test_results_table_ledger_and_export_show_the_challenger(
    qtbot, batch_panel, app_context, challenger, tmp_path
):
    openpyxl = pytest.importorskip("openpyxl")
    texts = _write(tmp_path / "in.csv", 60)
    app_context.state.set_threshold(0.5)
    app_context.state.set_challenger(challenger)
    _run(qtbot, batch_panel, tmp_path / "in.csv")
    report = batch_panel.shown.result.report
    mine, theirs = _expected(app_context.state.scorer, texts), _expected(challenger, texts)
    with np.errstate(invalid="ignore"):
        direct = int(((mine >= 0.5) != (theirs >= 0.5)).sum())
    assert report.rows_disagreeing == direct > 0

    model = batch_panel.results.model
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    assert headers == [
        "Line",
        "Score",
        "Label @ 0.50",
        "Challenger score",
        "Challenger label @ 0.50",
        "Text",
    ]
    proxy = batch_panel.results.proxy
    shown = [proxy.index(r, 3).data(Qt.ItemDataRole.UserRole) for r in range(proxy.rowCount())]
    assert np.array_equal(np.array(shown, dtype=float), theirs, equal_nan=True)
    tinted = [
        r
        for r in range(proxy.rowCount())
        if proxy.index(r, 4).data(Qt.ItemDataRole.BackgroundRole) is not None
    ]
    assert len(tinted) == direct  # the disagreeing rows stand out
    batch_panel.results.view.sortByColumn(4, Qt.SortOrder.DescendingOrder)  # by challenger score
    ordered = [proxy.index(r, 3).data(Qt.ItemDataRole.UserRole) for r in range(proxy.rowCount())]
    rated = [s for s in ordered if not np.isnan(s)]
    assert rated == sorted(rated, reverse=True)

    ledger = batch_panel.ledger
    assert ledger.disagreeing.isVisibleTo(batch_panel)
    assert ledger.disagreeing.text() == f"{direct:,} at 0.50"
    assert f"disagrees on {direct:,}" in batch_panel.progress.format()

    dest = tmp_path / "out.xlsx"
    with qtbot.waitSignal(batch_panel.export_done) as blocker:
        batch_panel.export(dest, "xlsx")
    assert blocker.args[1].startswith("done"), blocker.args
    values = [[c.value for c in row] for row in openpyxl.load_workbook(dest)["scored"].iter_rows()]
    assert values[0][-3:] == list(CHALLENGER_COLUMNS)
    exported = [row[-3] for row in values[1:]]
    expected = theirs[~np.isnan(theirs)].tolist()  # XLSX keeps 15 significant digits
    assert [s for s in exported if s is not None] == pytest.approx(expected, rel=1e-12)
    ARTIFACTS.mkdir(exist_ok=True)
    batch_panel.resize(1280, 800)
    batch_panel.show()
    qtbot.waitExposed(batch_panel)
    assert batch_panel.grab().save(str(ARTIFACTS / "batch_panel_challenger.png"))


def test_without_a_challenger_nothing_changes_in_the_batch_panel(qtbot, batch_panel, tmp_path):
    _write(tmp_path / "in.csv", 20)
    _run(qtbot, batch_panel, tmp_path / "in.csv")
    model = batch_panel.results.model
    assert model.columnCount() == 4 and model.columns == ("line", "score", "label", "text")
    assert not batch_panel.ledger.disagreeing.isVisibleTo(batch_panel)
    assert "challenger" not in batch_panel.progress.format()


def test_results_models_with_a_challenger_pass_qt_model_tester(qtbot, qtmodeltester, worker_pool):
    rng = np.random.default_rng(5)
    n = 300
    scores, other = rng.random(n), rng.random(n)
    scores[::17] = other[::17] = np.nan  # blank texts: no score from either model
    table = ResultsTable.from_arrays(
        np.arange(2, n + 2), scores, [f"text {i}" for i in range(n)],
        challenger_scores=other, challenger_version="tiny 0.0.1",
    )  # fmt: skip
    view = ResultsView()
    qtbot.addWidget(view)
    view.set_results(table, 0.5)
    qtmodeltester.check(view.model)
    qtmodeltester.check(view.proxy)
    view.flagged.setChecked(True)  # flags by the active model's score only
    with np.errstate(invalid="ignore"):
        assert view.proxy.rowCount() == int((scores >= 0.5).sum())
    view.view.sortByColumn(4, Qt.SortOrder.AscendingOrder)  # challenger label: by its score
    view.model.set_threshold(0.3)
    qtmodeltester.check(view.proxy)
    shown = [
        view.proxy.index(r, 3).data(Qt.ItemDataRole.UserRole) for r in range(view.proxy.rowCount())
    ]
    assert shown == sorted(shown)
    tip = view.model.headerData(3, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole)
    assert "tiny 0.0.1" in tip
