"""Issue 15, new-user pass: the Threshold panel's planning UI at the supervisor's traffic —
curves re-weighted to the prevalence, labelled precisions, band warnings and labels, the
estimate "from this batch", rounded logged counts, and Apply saving bands and threshold together.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.core.analysis.thresholds import ThresholdAnalysis
from app.core.analysis.workload import workload_at
from app.ui.threshold.panel import ThresholdPanel


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


def set_traffic(panel, prevalence_pct: float, volume: int, rev: int = 0, items: int = 0) -> None:
    tb = panel.planner.traffic
    tb.prevalence_spin.setValue(prevalence_pct)
    tb.volume_spin.setValue(volume)
    tb.reviewers_spin.setValue(rev)
    tb.items_spin.setValue(items)


def curve_at(canvas, key: str, threshold: float) -> float:
    x, y = canvas.lines[key].get_data()
    return float(np.asarray(y)[int(np.argmin(np.abs(np.asarray(x) - threshold)))])


def test_curves_and_pr_plot_follow_the_prevalence(panel, bundled_scorer):
    set_traffic(panel, 4.0, 20_000)
    panel.spin.setValue(0.45)
    w = workload_at(bundled(bundled_scorer), 0.45, 0.04, 20_000)
    assert w.precision < 0.4  # the source's own is ~0.9: the plots must say the day's
    assert curve_at(panel.curves, "precision", 0.45) == pytest.approx(w.precision)
    assert curve_at(panel.curves, "queue_rate", 0.45) == pytest.approx(w.flagged_per_day / 20_000)
    assert curve_at(panel.curves, "recall", 0.45) == pytest.approx(w.recall)
    p, r = w.precision, w.recall
    assert curve_at(panel.curves, "f1", 0.45) == pytest.approx(2 * p * r / (p + r))
    x, y = panel.pr_plot.exploring.get_data()
    assert (x[0], y[0]) == (pytest.approx(r), pytest.approx(p))
    rx, ry = panel.pr_plot.curve.get_data()
    assert np.nanmax(ry) <= 1.0 and np.nanmin(ry) < 0.1  # near 4% at recall 1
    assert "at 4% abusive" in panel.curves.title.get_text().replace("\n", " ")
    assert "at 4% abusive" in panel.pr_plot.title.get_text().replace("\n", " ")
    # off: the data source's own curves, titled so
    panel.planner.traffic.per_day_check.setChecked(False)
    m = bundled(bundled_scorer).at(0.45)
    assert curve_at(panel.curves, "precision", 0.45) == pytest.approx(m.precision)
    assert curve_at(panel.curves, "queue_rate", 0.45) == pytest.approx(m.queue_rate)
    a = bundled(bundled_scorer)
    share = 100 * a.positives / a.n
    for canvas in (panel.curves, panel.pr_plot):
        title = canvas.title.get_text().replace("\n", " ")
        assert f"in the data source ({share:.1f}% abusive)" in title


def test_equal_or_close_band_cuts_never_print_over_each_other(panel):
    bp = panel.planner.bands
    bp.escalate_spin.setValue(0.94)
    bp.review_spin.setValue(0.94)
    review, escalate = panel.curves.band_texts
    assert not review.get_visible() and escalate.get_visible()
    assert escalate.get_text() == "review = escalate 0.94"
    bp.review_spin.setValue(0.9)  # close: one label for both
    assert not review.get_visible() and escalate.get_text() == "review 0.90 · escalate 0.94"
    bp.escalate_spin.setValue(0.8)
    bp.review_spin.setValue(0.3)  # far apart: one label each, centred on its line
    assert review.get_visible() and review.get_text() == "review"
    assert escalate.get_text() == "escalate"
    assert (review.get_ha(), escalate.get_ha()) == ("center", "center")


def test_confidence_names_which_precision_is_the_traffics_and_puts_it_first(panel, qtbot):
    set_traffic(panel, 5.0, 20_000)
    panel.spin.setValue(0.6)
    conf = panel.planner.confidence
    qtbot.waitUntil(lambda: "flagged" in conf.day_label.text(), timeout=20_000)
    assert "precision at your traffic (5% abusive) " in conf.day_label.text()
    share = panel.dataset.analysis.positives / panel.dataset.analysis.n
    assert f"precision in the data source ({100 * share:.1f}% abusive)" in conf.source_label.text()
    layout = conf.layout()
    assert layout.indexOf(conf.day_label) < layout.indexOf(conf.source_label)


def test_band_finder_warns_about_capacity_and_an_empty_review_band(panel, qtbot, bundled_scorer):
    from app.core.analysis.bands import band_counts_per_day

    set_traffic(panel, 4.0, 20_000, rev=3, items=150)  # capacity 450 a day
    bp = panel.planner.bands
    qtbot.mouseClick(bp.find_button, Qt.MouseButton.LeftButton)
    counts = band_counts_per_day(bundled(bundled_scorer), panel.planner.policy(), 0.04, 20_000)
    need = counts["review"] + counts["escalate"]
    assert need > 450
    assert not bp.warnings.isHidden()
    assert f"Bands need {need:,.0f} items/day; capacity 450" in bp.warnings.text()
    assert ">=" not in bp.result.text() and "≥" in bp.result.text()
    bp.review_spin.setValue(bp.escalate_spin.value())  # an empty review band
    assert "The review band is empty (review = escalate ≥" in bp.warnings.text()
    bp.escalate_spin.setValue(0.3)
    bp.review_spin.setValue(0.2)  # escalating below the app-wide 0.45
    assert "is below the app-wide threshold 0.45" in bp.warnings.text()
    assert len(panel.planner.band_warnings) == 2  # over capacity, and below the app-wide


def test_the_finders_message_in_the_apps_wording_when_escalation_alone_meets_the_floor(
    panel, qtbot
):
    # 9 abusive at 0.99, 1 at 0.5, 10 benign at 0.1: precision 100% from 0.5 (escalate), recall
    # 80% up to 0.99 (review): escalating from 0.5 catches all, so the review band is empty
    scores = np.array([0.99] * 9 + [0.5] + [0.1] * 10)
    panel.show_dataset("separable", scores, np.array([1] * 10 + [0] * 10))
    set_traffic(panel, 5.0, 10_000)
    bp = panel.planner.bands
    qtbot.mouseClick(bp.find_button, Qt.MouseButton.LeftButton)
    assert bp.result.text() == (
        "Found at 5% abusive: escalate ≥ 0.50, review ≥ 0.50; the escalate band alone catches "
        "100% of the abuse (recall floor 80%): the review band is empty"
    )
    assert "review band is empty" in bp.warnings.text()


def test_logged_counts_of_an_audit_sample_are_rounded_estimates(panel, app_context, tmp_path):
    from app.core.analysis.planning import logged_count
    from app.core.audit.sample_source import audit_dataset, from_file
    from tests.test_audit_sources import fill_verdicts, make_sample

    # by hand: whole counts unchanged, estimates to 1 decimal, float noise to 0
    assert [logged_count(x) for x in (3, 2.2737367544323206e-12, 2866.9999999999977,
                                      6.59999999999998, -1e-13)] == [3, 0.0, 2867.0, 6.6, 0.0]  # fmt: skip
    path = make_sample(tmp_path)
    fill_verdicts(path)
    ds = audit_dataset(from_file(path))
    panel._sources.add(ds)
    panel.spin.setValue(0.5)
    m = ds.analysis.at(0.5)
    noisy = [k for k in ("tp", "fp", "fn", "tn") if getattr(m, k) != round(getattr(m, k), 1)]
    assert noisy  # weighted sums carry float noise (the pass saw fp 2.27e-12)
    panel.apply_threshold(rationale="weighted sample")
    events = app_context.activity.query(action="threshold_applied")
    assert len(events) == 1, panel.controls.notice.text()
    counts = json.loads(events[0].counts)
    for key in ("n", "tp", "fp", "fn", "tn"):
        expected = round(getattr(m, key), 1)
        assert counts[key] == (0.0 if abs(getattr(m, key)) < 1e-9 else expected)
        assert len(repr(counts[key])) <= 8, counts


def test_apply_with_bands_saves_bands_and_threshold_together_in_a_script_built_window(
    qtbot, tmp_path, monkeypatch, worker_pool
):
    """As a user script builds it: `MainWindow(open_context())`, no app-start saver."""
    from app.core.context.bootstrap import open_context
    from app.core.context.settings import settings_path
    from app.ui.shell.main_window import MainWindow

    monkeypatch.setenv("ABUSE_DESK_HOME", str(tmp_path / "home"))
    window = MainWindow(open_context())
    qtbot.addWidget(window)
    try:
        panel = window.threshold
        bp = panel.planner.bands
        bp.escalate_spin.setValue(0.94)
        bp.review_spin.setValue(0.7)
        panel.apply_threshold(rationale="script", bands=panel.planner.policy())
        saved = json.loads(settings_path().read_text())
        assert (saved["threshold"], saved["band_review_at"], saved["band_escalate_at"]) == (
            0.7,
            0.7,
            0.94,
        )
        panel.spin.setValue(0.6)  # a single threshold afterwards: no bands kept, saved so
        panel.apply_threshold(rationale="single")
        saved = json.loads(settings_path().read_text())
        assert (saved["threshold"], saved["band_review_at"], saved["band_escalate_at"]) == (
            0.6,
            None,
            None,
        )
    finally:
        window.close()


def test_from_this_batch_needs_no_labels_and_says_why_when_unavailable(panel, qtbot):
    tb = panel.planner.traffic
    assert not tb.estimate_button.isEnabled()  # the bundled set, no batch scored
    assert "Score a batch first" in tb.estimate_button.toolTip()
    scores = np.array([0.02, 0.04, 0.06, 0.9, 0.03])  # an unlabelled day: mean 0.21
    panel.planner.batch_scores = lambda: ("monday.csv", scores)
    panel.spin.setValue(0.5)  # any refresh notices the scored batch
    assert tb.estimate_button.isEnabled()
    assert "“monday.csv”" in tb.estimate_button.toolTip()
    qtbot.mouseClick(tb.estimate_button, Qt.MouseButton.LeftButton)
    assert tb.prevalence_spin.value() == 21.0
    assert "21% over 5 scored rows of “monday.csv”" in tb.caveat.text()
    assert "mean calibrated score" in tb.caveat.text()


def test_from_this_batch_on_an_audit_sample_is_its_weighted_estimate(panel, qtbot, tmp_path):
    from app.core.analysis.planning import fmt_interval, sample_prevalence
    from app.core.audit.sample_source import audit_dataset, from_file
    from tests.test_audit_sources import fill_verdicts, make_sample

    path = make_sample(tmp_path)
    fill_verdicts(path)
    ds = audit_dataset(from_file(path))
    panel._sources.add(ds)
    tb = panel.planner.traffic
    assert tb.estimate_button.isEnabled() and "weighted estimate" in tb.estimate_button.toolTip()
    qtbot.mouseClick(tb.estimate_button, Qt.MouseButton.LeftButton)
    share = ds.analysis.positives / ds.analysis.n
    value, iv = sample_prevalence(ds.analysis, ds.resampler)
    assert value == share and iv[0] <= share <= iv[1]
    assert tb.prevalence_spin.value() == round(100 * share, 1)
    assert f"(95% interval {fmt_interval(iv, True)})" in tb.caveat.text()
    assert "Audit sample: SAMPLE.csv" in tb.caveat.text()


def test_the_main_window_offers_the_batch_panels_scored_batch(qtbot, app_context, worker_pool,
                                                              monkeypatch):  # fmt: skip
    from types import SimpleNamespace

    from tests.main_window import shown_main_window

    window = shown_main_window(qtbot, app_context, worker_pool, monkeypatch)
    window.tabs.setCurrentWidget(window.threshold_tab)
    button = window.threshold.planner.traffic.estimate_button
    assert not button.isEnabled()
    scores = np.array([0.1, 0.3])  # an unlabelled batch, scored in the Batch panel
    table = SimpleNamespace(scores=scores)
    job = SimpleNamespace(
        path=SimpleNamespace(name="tuesday.csv"), result=SimpleNamespace(table=table)
    )
    monkeypatch.setattr(window.batch, "shown", job)
    window.tabs.setCurrentWidget(window.batch)
    window.tabs.setCurrentWidget(window.threshold_tab)
    assert button.isEnabled() and "“tuesday.csv”" in button.toolTip()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert window.threshold.planner.traffic.prevalence_spin.value() == 20.0
    monkeypatch.setattr(window.batch, "shown", None)  # the window closes without this job


@pytest.mark.parametrize("size", [(1024, 700), (1280, 800)])
def test_the_left_columns_tab_names_fit_without_scrolling(panel, qtbot, size):
    panel.resize(*size)
    panel.show()
    qtbot.waitExposed(panel)
    panel.show_dataset("tiny", np.array([0.9, 0.8, 0.2, 0.1]), np.array([1, 0, 1, 0]))  # "⚠"
    bar = panel.controls.pages.tabBar()
    names = [bar.tabText(i) for i in range(bar.count())]
    assert names == ["Reference", "Traffic", "Confidence ⚠"]
    right = max(bar.tabRect(i).right() for i in range(bar.count()))
    assert right <= bar.width(), (right, bar.width())
    for i in range(bar.count()):  # not elided: each tab is as wide as its name
        assert bar.tabRect(i).width() >= bar.fontMetrics().horizontalAdvance(bar.tabText(i))


def test_a_point_at_recall_1_is_drawn_whole_inside_the_pr_plot(panel):
    ax = panel.pr_plot.axes
    assert ax.get_xlim()[1] >= 1.02 and ax.get_ylim()[1] >= 1.02  # room for the marker
    for marker in (panel.pr_plot.app_wide, panel.pr_plot.exploring):
        assert not marker.get_clip_on()  # never cut in half by the axes' edge


@pytest.mark.parametrize("width", [1024, 1280])
def test_band_labels_never_overlap_at_the_window_width(panel, qtbot, width):
    """Recheck N8: review 0.843 / escalate 0.99 (the bundled "Find bands" answer) read
    "reviewescalate" at 1024 px: the merge follows the labels' measured extents."""
    panel.resize(width, 700)
    panel.show()
    qtbot.waitExposed(panel)
    canvas = panel.curves
    canvas.setVisible(True)
    bp = panel.planner.bands
    for review, escalate in ((0.843, 0.99), (0.3, 0.8), (0.7, 0.84), (0.5, 0.6), (0.2, 0.26)):
        bp.escalate_spin.setValue(escalate)
        bp.review_spin.setValue(review)
        canvas.draw()  # a full draw at this width: the layout, then the moving artists
        renderer = canvas.get_renderer()
        shown = [t for t in canvas.band_texts if t.get_visible() and t.get_text()]
        assert shown, (review, escalate)
        if len(shown) == 2:
            a, b = (t.get_window_extent(renderer) for t in shown)
            assert a.x1 <= b.x0 or b.x1 <= a.x0, (width, review, escalate, a, b)
        else:  # one label for both, naming both cuts
            assert "review" in shown[0].get_text() and "escalate" in shown[0].get_text()
