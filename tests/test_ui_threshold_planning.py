"""The Threshold panel's planning: the supervisor's traffic, capacity, bands and confidence,
driven through the real widgets; every number checked against the core (and one by hand)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.core.analysis.bands import band_counts_per_day, find_bands
from app.core.analysis.planning import Planning
from app.core.analysis.thresholds import ThresholdAnalysis
from app.core.analysis.workload import capacity_threshold, workload_at
from app.core.common.messages import fmt_threshold
from app.core.decisions.store import DecisionStore
from app.ui.threshold.panel import BANDS_TAB, ThresholdPanel

SHOTS = Path(__file__).resolve().parent / "_artifacts"


@pytest.fixture
def panel(qtbot, app_context, worker_pool):
    widget = ThresholdPanel(app_context, worker_pool)
    qtbot.addWidget(widget)
    yield widget
    widget.shutdown()
    worker_pool.wait()


def bundled(scorer) -> ThresholdAnalysis:
    a = scorer.bundle.arrays
    return ThresholdAnalysis(a["eval_scores.npy"], a["eval_labels.npy"])


def set_traffic(panel, qtbot, prevalence_pct: float, volume: int, rev: int = 0, items: int = 0):
    tb = panel.planner.traffic
    tb.prevalence_spin.setValue(prevalence_pct)
    tb.volume_spin.setValue(volume)
    tb.reviewers_spin.setValue(rev)
    tb.items_spin.setValue(items)


def test_prevalence_and_volume_reweight_every_count(panel, qtbot, bundled_scorer):
    set_traffic(panel, qtbot, 5.0, 10_000)
    panel.slider.setValue(60)
    w = workload_at(bundled(bundled_scorer), 0.60, 0.05, 10_000)
    expected = np.rint([[w.caught_per_day, w.missed_per_day],
                        [w.false_alarms_per_day, w.cleared_per_day]])  # fmt: skip
    np.testing.assert_array_equal(panel.matrix.shown_counts(), expected)
    title = panel.matrix.title.get_text()
    assert "per day at 5% abusive, 10,000 messages" in title
    assert f"{w.flagged_per_day:,.0f} flagged" in title
    day = panel.planner.traffic.day_label.text()
    for words in (f"flagged {w.flagged_per_day:,.0f}", f"caught {w.caught_per_day:,.0f}",
                  f"missed {w.missed_per_day:,.0f}",
                  f"false alarms {w.false_alarms_per_day:,.0f}"):  # fmt: skip
        assert words in day
    # the data source's own counts stay one click away
    panel.planner.traffic.per_day_check.setChecked(False)
    m = bundled(bundled_scorer).at(0.60)
    np.testing.assert_array_equal(panel.matrix.shown_counts(), m.matrix_abusive_first())


def test_hand_computed_day_on_a_crafted_dataset(panel, qtbot):
    # 10 abusive (8 score 0.9, 2 score 0.2), 10 benign (1 at 0.9, 9 at 0.1): at 0.5
    # TPR 0.8, FPR 0.1. At 5% of 10,000: caught 400, missed 100, false alarms 950, cleared 8,550.
    scores = np.array([0.9] * 8 + [0.2] * 2 + [0.9] + [0.1] * 9)
    labels = np.array([1] * 10 + [0] * 10)
    panel.show_dataset("crafted", scores, labels)
    set_traffic(panel, qtbot, 5.0, 10_000)
    panel.spin.setValue(0.5)
    np.testing.assert_array_equal(panel.matrix.shown_counts(), [[400, 100], [950, 8550]])
    assert "flagged 1,350" in panel.planner.traffic.day_label.text()
    assert "precision 29.6%" in panel.planner.traffic.day_label.text()  # 400 / 1,350


def test_inputs_are_saved_and_restored(panel, qtbot, app_context, worker_pool):
    set_traffic(panel, qtbot, 5.0, 20_000, rev=4, items=100)
    panel.planner.save()
    saved = json.loads(app_context.settings_path.read_text())
    assert saved["expected_prevalence"] == pytest.approx(0.05)
    assert saved["daily_volume"] == 20_000 and saved["reviewers"] == 4
    assert saved["items_per_reviewer_per_day"] == 100
    again = ThresholdPanel(app_context, worker_pool)
    qtbot.addWidget(again)
    assert again.planner.planning == Planning(0.05, 20_000.0, 4, 100.0)
    assert again.planner.traffic.prevalence_spin.value() == 5.0
    again.shutdown()


def test_capacity_move_button_and_backlog(panel, qtbot, bundled_scorer):
    set_traffic(panel, qtbot, 5.0, 10_000, rev=2, items=250)  # 500 a day
    fit = capacity_threshold(bundled(bundled_scorer), 0.05, 10_000, 500)
    tb = panel.planner.traffic
    shown = fmt_threshold(bundled(bundled_scorer).readable(fit.threshold))  # as `plan` prints it
    assert f"at ≥ {shown}: recall {100 * fit.recall:.0f}%" in tb.capacity_label.text()
    panel.slider.setValue(10)
    over = workload_at(bundled(bundled_scorer), 0.10, 0.05, 10_000).flagged_per_day - 500
    assert over > 0 and tb.backlog_label.text().startswith(f"+{over:,.0f} items/day over")
    qtbot.mouseClick(tb.capacity_button, Qt.MouseButton.LeftButton)
    analysis = bundled(bundled_scorer)
    assert panel.threshold == analysis.readable(fit.threshold)
    assert tb.backlog_label.text().startswith("Within capacity")
    # the capacity finder's threshold carries its interval once the worker is back
    label = panel.planner.confidence.finder_label
    assert label.text().endswith("…")
    qtbot.waitUntil(lambda: "95% interval of this threshold: 0." in label.text(), timeout=20_000)


def test_find_bands_and_apply_stores_settings_and_record(panel, qtbot, app_context, bundled_scorer):
    set_traffic(panel, qtbot, 5.0, 10_000)
    panel.tabs.setCurrentIndex(BANDS_TAB)
    bp = panel.planner.bands
    assert (bp.precision_spin.value(), bp.recall_spin.value()) == (90.0, 80.0)  # defaults
    qtbot.mouseClick(bp.find_button, Qt.MouseButton.LeftButton)
    review, escalate = bp.review_spin.value(), bp.escalate_spin.value()
    found = find_bands(bundled(bundled_scorer), 0.05, 10_000, min_precision=0.9, min_recall=0.8)
    analysis = bundled(bundled_scorer)
    assert found.policy is not None
    assert review == analysis.readable(found.policy.review_at)
    assert escalate == analysis.readable(found.policy.escalate_at)
    assert 0 < review < escalate < 1, bp.result.text()
    counts = band_counts_per_day(analysis, panel.planner.policy(), 0.05, 10_000)
    assert f"review <b>{counts['review']:,.0f}</b>" in bp.counts.text()
    assert f"escalate <b>{counts['escalate']:,.0f}</b>" in bp.counts.text()
    assert "per day" in bp.counts.text()
    assert all(line.get_visible() for line in panel.curves.band_lines)
    panel.apply_threshold(rationale="bands for the night shift", bands=panel.planner.policy())
    assert app_context.state.threshold == review
    saved = json.loads(app_context.settings_path.read_text())
    assert (saved["band_review_at"], saved["band_escalate_at"]) == (review, escalate)
    with DecisionStore() as store:
        (record,) = store.list()
    assert record.policy.threshold == review and record.policy.escalate == escalate
    assert record.prevalence == pytest.approx(0.05) and record.volume == 10_000


def test_intervals_appear_after_the_worker(panel, qtbot, bundled_scorer):
    label = panel.planner.confidence.source_label
    assert "recall" in label.text() and "–" in label.text()  # Wilson: at once
    set_traffic(panel, qtbot, 5.0, 10_000)
    day = panel.planner.confidence.day_label
    assert day.text().endswith("…")
    qtbot.waitUntil(lambda: "flagged" in day.text(), timeout=20_000)
    assert "precision" in day.text()


def test_small_sample_warning_on_a_tiny_dataset(panel, qtbot):
    panel.show_dataset("tiny", np.array([0.9, 0.8, 0.2, 0.1]), np.array([1, 0, 1, 0]))
    warnings = panel.planner.confidence.warnings
    assert not warnings.isHidden()
    assert "caught (TP) has only 1 item (under 30)" in warnings.text()


def test_unset_inputs_keep_the_source_counts(panel, bundled_scorer):
    panel.slider.setValue(45)
    m = bundled(bundled_scorer).at(0.45)
    np.testing.assert_array_equal(panel.matrix.shown_counts(), m.matrix_abusive_first())
    assert "per day" not in panel.matrix.title.get_text()
    assert panel.planner.traffic.day_label.isHidden()


@pytest.mark.parametrize(
    ("size", "scale", "name"),
    [((1280, 800), 100, "1280x800"), ((1024, 700), 100, "1024x700"),
     ((1280, 800), 150, "1280x800_150pct")],
)  # fmt: skip
def test_screenshots_at_5_percent(qtbot, app_context, worker_pool, size, scale, name):
    from app.ui.shell.appearance import apply_appearance

    app = QApplication.instance()
    apply_appearance(app, scale, "system")
    try:
        panel = ThresholdPanel(app_context, worker_pool)
        qtbot.addWidget(panel)
        set_traffic(panel, qtbot, 5.0, 20_000, rev=3, items=150)
        panel.slider.setValue(60)
        panel.resize(*size)
        panel.show()
        qtbot.waitExposed(panel)
        day = panel.planner.confidence.day_label
        qtbot.waitUntil(lambda: "flagged" in day.text(), timeout=20_000)
        for canvas in (panel.matrix, panel.pr_plot, panel.curves):
            canvas.draw()
        QApplication.processEvents()
        SHOTS.mkdir(parents=True, exist_ok=True)
        panel.controls.pages.setCurrentWidget(panel.planner.traffic)
        QApplication.processEvents()
        assert panel.grab().save(str(SHOTS / f"threshold_{name}.png"))
        assert not panel.controls.horizontalScrollBar().isVisible()
        # the bands on the curves, and the confidence page
        qtbot.mouseClick(panel.planner.bands.find_button, Qt.MouseButton.LeftButton)
        panel.tabs.setCurrentIndex(BANDS_TAB)
        panel.controls.pages.setCurrentWidget(panel.planner.confidence)
        QApplication.processEvents()
        assert panel.grab().save(str(SHOTS / f"threshold_{name}_bands_confidence.png"))
        panel.tabs.setCurrentIndex(0)
        QApplication.processEvents()
        assert panel.grab().save(str(SHOTS / f"threshold_{name}_band_lines.png"))
        panel.shutdown()
    finally:
        apply_appearance(app, 100, "system")


def test_estimate_from_a_batch_with_its_caveat(panel, qtbot):
    from app.core.common.drill import RowSource

    scores = np.array([0.02, 0.04, 0.06, 0.9, 0.03])  # mean 0.21
    panel.show_dataset("batch", scores, np.array([0, 0, 0, 1, 0]), [f"t{i}" for i in range(5)],
                       source=RowSource("log.csv", "m"))  # fmt: skip
    tb = panel.planner.traffic
    assert tb.estimate_button.isEnabled()
    qtbot.mouseClick(tb.estimate_button, Qt.MouseButton.LeftButton)
    assert tb.prevalence_spin.value() == 21.0
    assert not tb.caveat.isHidden() and "mean calibrated score" in tb.caveat.text()
    assert "21%" in tb.caveat.text() and "5 scored rows" in tb.caveat.text()
    # the bundled set is no batch: no estimate from it
    panel.controls.source.setCurrentIndex(0)
    assert not tb.estimate_button.isEnabled()


def test_small_cells_mark_the_confidence_tab(panel):
    pages, page = panel.controls.pages, panel.planner.confidence
    assert pages.tabText(pages.indexOf(page)) == "Confidence"  # the bundled set: big cells
    panel.show_dataset("tiny", np.array([0.9, 0.8, 0.2, 0.1]), np.array([1, 0, 1, 0]))
    assert pages.tabText(pages.indexOf(page)) == "Confidence ⚠"


def test_planning_words_by_hand():
    from app.core.analysis.planning import backlog_words, capacity_words, fmt_percent
    from app.core.analysis.workload import Workload

    assert [fmt_percent(x) for x in (0.05, 0.025, 0.0025, 0.125)] == ["5%", "2.5%", "0.25%",
                                                                       "12.5%"]  # fmt: skip
    w = Workload(0.62, 0.05, 20_000, 0.71, 0.01, 900.0, 710.0, 290.0, 190.0, 18_810.0, 0.79)
    assert backlog_words(w, 560) == "+340 items/day over capacity: the backlog grows"
    assert backlog_words(w, 1_000) == "Within capacity (100 spare/day)"
    assert capacity_words(w, 1_000) == (
        "Fits capacity (1,000/day) at ≥ 0.62: recall 71%, 900 flagged/day"
    )


def test_capacity_stays_shown_with_the_source_counts(panel, bundled_scorer):
    set_traffic(panel, None, 5.0, 10_000, rev=2, items=250)
    panel.planner.traffic.per_day_check.setChecked(False)
    fit = capacity_threshold(bundled(bundled_scorer), 0.05, 10_000, 500)
    shown = fmt_threshold(bundled(bundled_scorer).readable(fit.threshold))
    assert f"at ≥ {shown}" in panel.planner.traffic.capacity_label.text()
    assert panel.planner.traffic.capacity_button.isEnabled()


def test_a_source_with_one_class_says_why_counts_are_not_per_day(panel):
    set_traffic(panel, None, 5.0, 10_000)
    panel.show_dataset("benign only", np.array([0.1, 0.7, 0.2]), np.array([0, 0, 0]))
    np.testing.assert_array_equal(panel.matrix.shown_counts(), [[0, 0], [1, 2]])
    text = panel.planner.traffic.day_label.text()
    assert text.startswith("Counts are the data source's own: all 3 labelled items are benign")


def test_capacity_words_show_the_readable_threshold_never_a_rounded_one():
    """Recheck: "Fits capacity (450/day) at ≥ 1" for 0.9999989647934867 — 1 flags nothing."""
    from app.core.analysis.planning import capacity_words
    from app.core.analysis.thresholds import ThresholdAnalysis
    from app.core.analysis.workload import Workload

    t = 0.9999989647934867
    analysis = ThresholdAnalysis([0.2, 0.9999971, t, 0.9999999], [0, 1, 1, 1])
    w = Workload(t, 0.28, 10_000, 0.08, 0.0, 449.0, 224.0, 2576.0, 225.0, 6975.0, 0.5)
    words = capacity_words(w, 450, analysis)
    # 0.999998: the shortest decimal above 0.9999971 and at or below t (the same items flagged)
    assert words.startswith("Fits capacity (450/day) at ≥ 0.999998: ")
    assert analysis.at(0.999998).tp == analysis.at(t).tp and analysis.at(1.0).tp == 0
    assert "at ≥ 0.9999989647934867:" in capacity_words(w, 450)  # no analysis: every digit
