"""The Threshold panel, driven through its real widgets; every number is checked against the core.

The panel must show exactly what ``ThresholdAnalysis`` answers, whichever control moved the
threshold (slider, keys, spin box, finders, the app-wide state), and leave nothing running.
"""

from __future__ import annotations

import csv
import json
import statistics
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtWidgets import QApplication

from app.core.analysis.labeled import read_labeled_scores
from app.core.analysis.thresholds import ThresholdAnalysis
from app.core.engine.scoring import Scorer
from app.ui.common.label_dialog import LabelColumnDialog
from app.ui.common.threshold_widgets import fmt_threshold
from app.ui.threshold.cells import MAX_LISTED
from app.ui.threshold.panel import ThresholdPanel

ARTIFACTS = Path(__file__).resolve().parent / "_artifacts"


@pytest.fixture
def panel(qtbot, app_context, worker_pool):
    widget = ThresholdPanel(app_context, worker_pool)
    qtbot.addWidget(widget)
    yield widget
    widget.shutdown()


def bundled_analysis(scorer, origin: str | None = None) -> ThresholdAnalysis:
    arrays = scorer.bundle.arrays
    keep = slice(None) if origin is None else arrays["eval_origin.npy"] == origin
    return ThresholdAnalysis(arrays["eval_scores.npy"][keep], arrays["eval_labels.npy"][keep])


def assert_shows(panel: ThresholdPanel, analysis: ThresholdAnalysis, t: float) -> None:
    """The matrix as written in the cells and the metrics table equal the core's answer at t."""
    m = analysis.at(t)
    np.testing.assert_array_equal(panel.matrix.shown_counts(), m.matrix_abusive_first())
    assert panel.controls.table.value("Precision") == f"{100 * m.precision:.1f}%"
    assert panel.controls.table.value("Flagged per 1,000") == f"{m.flagged_per_1000:,.1f}"


def labelled_sample(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    labels = (rng.random(n) < 0.3).astype(np.int8)
    scores = np.clip(rng.normal(0.3 + 0.4 * labels, 0.2), 0.0, 1.0)
    return scores, labels, [f"text {i}" for i in range(n)]


def test_opens_on_the_bundled_set_at_the_app_wide_threshold(panel, bundled_scorer):
    assert panel.threshold == 0.45
    assert panel.slider.value() == 45 and panel.spin.text() == "0.45"
    names = [panel.controls.source.itemText(i) for i in range(panel.controls.source.count())]
    assert names[:3] == [  # named for what they are; the keys keep the stable ids
        "All evaluation sets shipped with the model",
        "Tweets labelled for hate and offence (Davidson et al.)",
        "Tweets labelled offensive or not (OLID)",
    ]
    keys = [panel.controls.source.itemData(i) for i in range(3)]
    assert keys == ["bundled", "bundled:davidson", "bundled:olid"]
    assert names[-1] == "Open labelled CSV…"
    assert_shows(panel, bundled_analysis(bundled_scorer), 0.45)
    assert panel.controls.reference_spin.value() == 0.50


def test_slider_keys_and_spin_box_show_the_core_counts(panel, qtbot, bundled_scorer):
    analysis = bundled_analysis(bundled_scorer)
    for value in (0, 7, 33, 60, 99, 100):
        panel.slider.setValue(value)
        assert panel.threshold == value / 100
        assert panel.spin.value() == value / 100
        assert_shows(panel, analysis, value / 100)
    panel.slider.setValue(60)
    panel.slider.setFocus()
    qtbot.keyClick(panel.slider, Qt.Key.Key_Right)
    assert panel.threshold == 0.61
    qtbot.keyClick(panel.slider, Qt.Key.Key_PageUp)
    assert panel.threshold == 0.66
    assert_shows(panel, analysis, 0.66)
    panel.spin.setValue(0.3)
    assert panel.slider.value() == 30 and panel.threshold == 0.3
    assert_shows(panel, analysis, 0.3)


def test_each_dataset_of_origin_is_a_source(panel, bundled_scorer):
    panel.controls.source.setCurrentIndex(
        panel.controls.source.findText("Tweets labelled offensive or not (OLID)")
    )
    assert panel.dataset.analysis.n == int(
        (bundled_scorer.bundle.arrays["eval_origin.npy"] == "olid").sum()
    )
    panel.slider.setValue(52)
    assert_shows(panel, bundled_analysis(bundled_scorer, "olid"), 0.52)


def test_finders_set_a_readable_threshold_deciding_as_the_core_one(panel, qtbot, bundled_scorer):
    """A finder's threshold is a score (0.9768937216042155); the panel explores the shortest
    decimal that decides every item alike (ThresholdAnalysis.readable): the same counts."""
    analysis = bundled_analysis(bundled_scorer)

    def same_decisions(exact: float) -> float:
        shown = analysis.readable(exact)
        assert panel.threshold == shown and len(fmt_threshold(shown)) <= 8
        a, b = analysis.at(shown), analysis.at(exact)
        assert (a.tp, a.fp, a.fn, a.tn) == (b.tp, b.fp, b.fn, b.tn)
        assert panel.spin.text() == fmt_threshold(shown)  # digit for digit, as the status bar
        return shown

    qtbot.mouseClick(panel.controls.best_f1_button, Qt.MouseButton.LeftButton)
    best = same_decisions(analysis.best_f1().threshold)
    assert panel.slider.value() == round(100 * best)
    assert_shows(panel, analysis, best)

    panel.controls.cost_spin.setValue(5.0)
    qtbot.mouseClick(panel.controls.cost_button, Qt.MouseButton.LeftButton)
    same_decisions(analysis.cost_threshold(5.0, 1.0).threshold)

    panel.controls.recall_spin.setValue(0.93)
    assert panel.controls.recall_button.text() == "Highest threshold with recall ≥ 0.93"
    qtbot.mouseClick(panel.controls.recall_button, Qt.MouseButton.LeftButton)
    floor = same_decisions(analysis.recall_floor(0.93).threshold)
    assert_shows(panel, analysis, floor)
    assert "recall ≥ 0.93" in panel.controls.status.text()


def test_a_tied_best_f1_says_the_range(panel):
    """Separable data: every threshold from just above the highest benign score up to the
    lowest abusive one decides alike; the finder says so and explores a short decimal."""
    scores = np.array([0.1, 0.2, 0.3871, 0.9768937216042155, 0.99])
    panel.show_dataset("separable", scores, np.array([0, 0, 0, 1, 1]))
    panel.find_best_f1()
    assert panel.threshold == 0.97
    status = panel.controls.status.text()
    assert "<b>0.97</b>" in status and "9768937" not in status
    assert "any threshold from 0.39 to 0.97 decides these items alike" in status


def test_reference_comparison_in_words_and_numbers(panel, bundled_scorer):
    analysis = bundled_analysis(bundled_scorer)
    for t, ref in ((0.45, 0.50), (0.62, 0.50), (0.62, 0.3)):
        panel.slider.setValue(round(100 * t))
        panel.controls.reference_spin.setValue(ref)
        delta = analysis.compare(t, ref)
        text = panel.controls.comparison.text()
        assert f"{delta.extra_caught:+,d} abusive caught" in text
        assert f"{delta.extra_false_alarms:+,d} false alarms" in text
        assert f"review queue {delta.queue_change_per_1000:+,.1f} per 1,000" in text
        assert delta.describe() in text
        assert panel.controls.table.value("Recall", 1) == f"{100 * analysis.at(ref).recall:.1f}%"


def answer_rationale(qtbot, text: str | None) -> list[bool]:
    """Once Apply's rationale dialog is up, type ``text`` and press OK (None: Cancel); the list
    returned gets OK's enabled state before typing."""
    from app.ui.threshold.decision_dialog import RationaleDialog

    seen: list[bool] = []

    def answer() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, RationaleDialog):
            QTimer.singleShot(20, answer)
            return
        seen.append(dialog.ok.isEnabled())
        if text is None:
            dialog.reject()
            return
        qtbot.keyClicks(dialog.text, text)
        qtbot.mouseClick(dialog.ok, Qt.MouseButton.LeftButton)

    QTimer.singleShot(0, answer)
    return seen


def test_apply_makes_it_app_wide_and_logs_one_event(panel, qtbot, app_context, bundled_scorer):
    assert not panel.controls.apply_button.isEnabled()  # exploring == app-wide
    panel.slider.setValue(60)
    assert "not applied" in panel.controls.status.text()
    answer_rationale(qtbot, "fits the review team")
    qtbot.mouseClick(panel.controls.apply_button, Qt.MouseButton.LeftButton)
    assert app_context.state.threshold == 0.6
    events = app_context.activity.query(action="threshold_applied")
    assert len(events) == 1
    m = bundled_analysis(bundled_scorer).at(0.6)
    assert events[0].threshold == 0.6
    assert json.loads(events[0].counts) == {
        "n": m.n,
        "tp": m.tp,
        "fp": m.fp,
        "fn": m.fn,
        "tn": m.tn,
    }
    assert events[0].detail == "from All evaluation sets shipped with the model (previous 0.45)"
    assert events[0].model_version == bundled_scorer.version_label
    assert not panel.controls.apply_button.isEnabled()
    assert "this is the app-wide threshold" in panel.controls.status.text()


def test_follows_the_app_wide_threshold_and_model(panel, app_context, bundled_model_path):
    scores, labels, texts = labelled_sample(50)
    panel.show_dataset("batch: a.csv", scores, labels, texts)
    app_context.state.set_threshold(0.7)
    assert panel.threshold == 0.7 and panel.slider.value() == 70
    assert "App-wide threshold: <b>0.70</b>" in panel.controls.status.text()
    new_model = Scorer.load(bundled_model_path)
    app_context.state.set_scorer(new_model)
    names = [panel.controls.source.itemText(i) for i in range(panel.controls.source.count())]
    assert "batch: a.csv" not in names  # scored by the previous model
    assert panel.dataset.name == "All evaluation sets shipped with the model"
    assert_shows(panel, bundled_analysis(new_model), 0.7)
    assert "Model changed" in panel.controls.notice.text()


def expected_cell(scores, labels, texts, t, row, col) -> list[str]:
    return [
        text
        for s, y, text in zip(scores, labels, texts, strict=True)
        if y == (1 if row == 0 else 0) and (s >= t) == (col == 0)
    ]


def test_clicking_a_cell_lists_exactly_its_texts(panel, qtbot):
    scores, labels, texts = labelled_sample(400)
    panel.show_dataset("batch: sample.csv", scores, labels, texts, np.arange(2, 402))
    assert panel.controls.source.currentText() == "batch: sample.csv"
    panel.slider.setValue(50)
    for row in (0, 1):
        for col in (0, 1):
            panel.show_cell(row, col)
            listed = panel.items.texts()
            assert sorted(listed) == sorted(expected_cell(scores, labels, texts, 0.5, row, col))
            distances = [abs(scores[int(t.split()[1])] - 0.5) for t in listed]
            assert distances == sorted(distances)  # closest to the threshold first
    # A real click on the "missed" cell (actual abusive, predicted benign) of the canvas.
    panel.resize(1280, 800)
    panel.show()
    qtbot.waitExposed(panel)
    canvas = panel.matrix
    canvas.draw()
    x, y = canvas.axes.transData.transform((1, 0)) / canvas.device_pixel_ratio
    qtbot.mouseClick(
        canvas, Qt.MouseButton.LeftButton, pos=QPoint(int(x), int(canvas.height() - y))
    )
    assert sorted(panel.items.texts()) == sorted(expected_cell(scores, labels, texts, 0.5, 0, 1))
    assert panel.tabs.currentIndex() == 1
    # Moving the threshold re-lists the selected cell once the slider settles.
    panel.slider.setValue(40)
    qtbot.waitUntil(
        lambda: (
            sorted(panel.items.texts()) == sorted(expected_cell(scores, labels, texts, 0.4, 0, 1))
        )
    )


def test_cell_list_is_capped(panel):
    n = MAX_LISTED + 500
    panel.show_dataset("big", np.full(n, 0.9), np.ones(n, np.int8), [f"t{i}" for i in range(n)])
    panel.show_cell(0, 0)
    assert len(panel.items.texts()) == MAX_LISTED
    assert f"{n:,} items, showing the 1,000 closest" in panel.items_caption.text()


def test_bundled_set_has_no_texts_to_list(panel):
    panel.show_cell(1, 0)
    assert panel.items.texts() == []
    assert "has no texts" in panel.items_caption.text()


def test_rows_without_a_score_are_left_out(panel):
    panel.show_dataset("blanks", np.array([0.9, np.nan, 0.1]), np.array([1, 0, 0]), ["a", "", "c"])
    assert panel.dataset.analysis.n == 2 and panel.dataset.texts == ["a", "c"]
    assert "1 rows without a score left out" in panel.controls.summary.text()


def write_labelled_csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["comment", "label"])
        writer.writerows(rows)
    return path


def test_labelled_csv_loads_in_a_worker_and_reports_rejected_rows(
    panel, qtbot, app_context, tmp_path
):
    rows = [
        ("you are an idiot and a moron", "1"),
        ("have a lovely day", "0"),
        ("shut up you stupid clown", "abusive"),
        ("see you at the meeting", ""),  # line 5: missing label
        ("thanks for the help", "benign"),
        ("nobody likes you, loser", "?"),  # line 7: no label given
        ("great game last night", "no"),
        ("", "1"),  # line 9: blank text, said as the batch job says it (blank, not rejected)
    ]
    path = write_labelled_csv(tmp_path / "labelled.csv", rows)
    panel.load_labeled_csv(path, "label")
    qtbot.waitUntil(lambda: panel.dataset is not None and panel.dataset.name == "labelled.csv")
    qtbot.waitUntil(lambda: app_context.state.running_jobs == 0)
    assert panel.controls.progress.isHidden()
    direct = read_labeled_scores(
        app_context.state.scorer, path, label_column="label", keep_texts=True
    )
    assert panel.dataset.texts == direct.texts
    rejected = panel.controls.rejected.text()
    assert rejected.startswith(
        "2 of 8 rows rejected: line 5 (missing label), line 7 (label '?' means no label"
    )
    assert rejected.endswith(" 1 blank (empty text, not scored).")
    assert "blank text" not in rejected
    # Each spelling and what it was taken as, with the data shown.
    summary = panel.controls.summary.text()
    for shown in ("'1' 1 → abusive", "(blank) 1 → rejected", "'?' 1 → rejected"):
        assert shown in summary
    panel.slider.setValue(50)
    assert_shows(panel, ThresholdAnalysis(direct.scores, direct.labels), 0.5)
    panel.show_cell(0, 0)
    expected = expected_cell(direct.scores, direct.labels, direct.texts, 0.5, 0, 0)
    assert sorted(panel.items.texts()) == sorted(expected)


def test_failed_and_cancelled_loads_are_reported(panel, qtbot, app_context, tmp_path):
    path = write_labelled_csv(tmp_path / "x.csv", [("hello there", "0")] * 3)
    panel.load_labeled_csv(path, "no such column")
    qtbot.waitUntil(lambda: app_context.state.running_jobs == 0)
    assert "no such column" in panel.controls.notice.text()
    big = write_labelled_csv(tmp_path / "big.csv", [("some words here", "1")] * 20_000)
    panel.load_labeled_csv(big, "label")
    panel.cancel_loading()
    assert app_context.state.running_jobs == 0
    assert panel.controls.notice.text() == "Loading cancelled."
    assert panel.dataset.name == "All evaluation sets shipped with the model"


def test_label_column_dialog_guesses_and_parses(qtbot):
    dialog = LabelColumnDialog("x.csv", ["id", "comment", "class"], "comment")
    qtbot.addWidget(dialog)
    assert dialog.label_column() == "class" and dialog.text_column() == "comment"
    dialog.positive_edit.setText(" offensive, hate ,")
    assert dialog.positive_values() == ["offensive", "hate"]


def test_shutdown_stops_following_the_state(panel, app_context):
    panel.shutdown()
    app_context.state.set_threshold(0.8)
    assert panel.threshold == 0.45


def test_a_million_rows_stay_exact_while_the_slider_moves(panel, qtbot):
    scores, labels, _ = labelled_sample(1_000_000, seed=1)
    panel.resize(1280, 800)
    panel.show()
    qtbot.waitExposed(panel)
    started = time.perf_counter()
    panel.show_dataset("million", scores, labels)
    prepare = time.perf_counter() - started
    analysis = ThresholdAnalysis(scores, labels)
    update, with_redraw = [], []
    for value in [20 + i for i in range(50)]:
        t0 = time.perf_counter()
        panel.slider.setValue(value)
        t1 = time.perf_counter()
        QApplication.processEvents()  # runs the pending draw_idle: the Agg redraw of 3 canvases
        t2 = time.perf_counter()
        update.append(t1 - t0)
        with_redraw.append(t2 - t0)
        np.testing.assert_array_equal(
            panel.matrix.shown_counts(), analysis.at(value / 100).matrix_abusive_first()
        )
    print(
        f"\n1,000,000 rows: show_dataset {1000 * prepare:.0f} ms; per slider move median "
        f"{1000 * statistics.median(update):.2f} ms (panel update), "
        f"{1000 * statistics.median(with_redraw):.1f} ms (including the plots' redraw)"
    )


def test_screenshot_at_1280x800(panel, qtbot):
    panel.slider.setValue(60)
    panel.resize(1280, 800)
    panel.show()
    qtbot.waitExposed(panel)
    for canvas in (panel.matrix, panel.pr_plot, panel.curves):
        canvas.draw()
    QApplication.processEvents()
    ARTIFACTS.mkdir(exist_ok=True)
    assert panel.grab().save(str(ARTIFACTS / "threshold_panel.png"))


def test_open_labelled_csv_from_the_source_combo(panel, qtbot, tmp_path, monkeypatch):
    path = write_labelled_csv(tmp_path / "picked.csv", [("you idiot", "1"), ("hello", "0")])
    monkeypatch.setattr(
        "app.ui.common.label_dialog.QFileDialog.getOpenFileName", lambda *a, **k: (str(path), "")
    )
    asked = []
    monkeypatch.setattr(LabelColumnDialog, "exec", lambda self: asked.append(self) or 1)
    combo = panel.controls.source
    combo.setCurrentIndex(combo.findText("Open labelled CSV…"))
    assert (
        combo.currentText() == "All evaluation sets shipped with the model"
    )  # "Open…" is not a selection
    assert asked[0].label_column() == "label" and asked[0].text_column() == "comment"
    qtbot.waitUntil(lambda: panel.dataset.name == "picked.csv")
    assert combo.currentText() == "picked.csv" and panel.dataset.analysis.n == 2


def test_an_unreadable_labelled_csv_is_reported_in_the_panel(panel, tmp_path, monkeypatch):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    monkeypatch.setattr(
        "app.ui.common.label_dialog.QFileDialog.getOpenFileName", lambda *a, **k: (str(path), "")
    )
    monkeypatch.setattr(LabelColumnDialog, "exec", lambda self: pytest.fail("no column dialog"))
    panel.open_labeled_csv()
    assert panel.controls.notice.text().startswith("Cannot read empty.csv:")
    assert panel.dataset.name == "All evaluation sets shipped with the model"


def test_mismatched_columns_are_refused(panel):
    panel.show_dataset("bad", np.array([0.1, 0.2]), np.array([0, 1]), texts=["only one"])
    assert "differ in length" in panel.controls.notice.text()
    assert panel.dataset.name == "All evaluation sets shipped with the model"


def test_applied_finder_threshold_reads_applied_and_is_logged_once(qtbot, app_context, worker_pool):
    panel = ThresholdPanel(app_context, worker_pool)
    qtbot.addWidget(panel)
    try:
        panel.find_best_f1()
        panel.apply_threshold(rationale="best F1 on the evaluation set")
        panel.apply_threshold(rationale="again")  # already app-wide: nothing more to log
        assert app_context.state.threshold == panel.threshold
        assert len(app_context.activity.query(action="threshold_applied")) == 1
    finally:
        panel.shutdown()


def test_labelled_csv_with_unmappable_labels_is_refused_naming_them(
    panel, qtbot, app_context, tmp_path
):
    rows = [("you idiot", "0"), ("hello", "1"), ("have a nice day", "2"), ("moron", "2")]
    path = write_labelled_csv(tmp_path / "davidson.csv", rows)
    panel.load_labeled_csv(path, "label")
    qtbot.waitUntil(lambda: app_context.state.running_jobs == 0)
    notice = panel.controls.notice.text()
    assert "davidson.csv" in notice and "'2' has no standard meaning" in notice
    assert "'2' ×2" in notice and "Abusive values" in notice
    assert (
        panel.dataset.name == "All evaluation sets shipped with the model"
    )  # nothing guessed, nothing shown
    panel.load_labeled_csv(path, "label", ["0"])
    qtbot.waitUntil(lambda: panel.dataset is not None and panel.dataset.name == "davidson.csv")
    summary = panel.controls.summary.text()
    for shown in ("'2' 2 → benign", "'0' 1 → abusive", "'1' 1 → benign"):
        assert shown in summary
