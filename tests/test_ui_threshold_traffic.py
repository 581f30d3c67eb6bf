"""Issue 15, new-user pass: the Threshold panel's planning UI at the supervisor's traffic —
curves re-weighted to the prevalence, labelled precisions, band warnings and labels, the
estimate "from this batch", rounded logged counts, and Apply saving bands and threshold together.
"""

from __future__ import annotations

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
    bp.review_spin.setValue(0.9)  # close: pushed apart, one each side of its line
    assert review.get_visible() and review.get_text() == "review"
    assert (review.get_ha(), escalate.get_ha()) == ("right", "left")
    bp.review_spin.setValue(0.3)  # far apart: centred on their lines
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
