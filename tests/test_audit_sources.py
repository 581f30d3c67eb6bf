"""An audit sample as a data source: weighted Dataset from the file's verdicts or the labels
store, the Threshold panel showing it (estimates, items open in Score), and Apply's record."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.core.analysis.planning import logged_count
from app.core.analysis.weighted import WeightedThresholdAnalysis
from app.core.audit import sample_source
from app.core.audit.estimate import band_weights, estimate
from app.core.audit.review_queue import read_review_queue
from app.core.audit.sample_file import read_sample, write_sample
from app.core.audit.verdicts import LabelsStore
from app.core.common.errors import InputError
from app.core.decisions.store import DecisionStore
from tests.test_audit_sample import _write_scored

ARTIFACTS = Path(__file__).resolve().parent / "_artifacts"


def truth(score: float, i: int) -> str:
    """A reviewer's verdict: mostly the score's side of 0.4, every 5th one the other way."""
    abusive = (score >= 0.4) != (i % 5 == 0)
    return "abusive" if abusive else "benign"


def make_sample(folder: Path, size: int = 60) -> Path:
    scored = folder / "scored.csv"
    _write_scored(scored)
    out = folder / "SAMPLE.csv"
    write_sample(scored, out, size=size, seed=7, threshold=0.45)
    return out


def fill_verdicts(path: Path, skip_every: int = 7) -> None:
    """Write verdicts into the sample's verdict column (in place; the sidecar stays valid)."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    v, s = header.index("verdict"), header.index("abuse_score")
    for i, row in enumerate(body):
        row[v] = "skip" if i % skip_every == 3 else truth(float(row[s]), i)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\r\n").writerows([header, *body])


def record_verdicts(sample: Path) -> str:
    """The same verdicts given in the Review panel's store (the file itself left blank)."""
    queue = read_review_queue(sample)
    with LabelsStore.open_default() as store:
        store.add_sample(queue.sha256, sample)
        for i, item in enumerate(queue.items):
            verdict = "skip" if i % 7 == 3 else truth(item.score, i)
            store.record(queue.sha256, item.line, verdict, reviewer="alice")
    return queue.sha256


def test_the_dataset_is_weighted_like_audit_estimate(tmp_path: Path) -> None:
    path = make_sample(tmp_path)
    fill_verdicts(path)
    data = sample_source.from_file(path)
    sample = read_sample(path)
    labels = sample.labels()
    assert data.n_labelled == sum(v is not None for v in labels) < len(labels)
    weights, _ = band_weights(sample.strata, labels, sample.population)
    assert np.array_equal(data.weights, weights[data.keep])
    ds = sample_source.audit_dataset(data)
    assert isinstance(ds.analysis, WeightedThresholdAnalysis)
    assert ds.name == "Audit sample: SAMPLE.csv" and ds.file_sha256 == data.sha256
    assert f"from {data.n_labelled:,} labelled items" in ds.note
    assert ds.analysis.n == pytest.approx(sum(sample.population.values()))
    est = estimate(sample.scores, sample.strata, labels, sample.population, [0.45], n_boot=10)
    m, e = ds.analysis.at(0.45), est.thresholds[0]
    assert m.precision == pytest.approx(e.precision.estimate)
    assert m.recall == pytest.approx(e.recall.estimate)
    assert m.queue_rate == pytest.approx(e.flag_rate.estimate)
    assert (m.tp + m.fn) / m.n == pytest.approx(e.prevalence.estimate)
    # each item keeps its line in the scored batch and its text (a cell opens it in Score)
    assert ds.lines is not None and ds.texts is not None
    assert ds.lines.tolist() == sample.lines[data.keep].tolist()


def test_store_verdicts_need_the_unchanged_file_and_every_band(tmp_path: Path, private_home):
    path = make_sample(tmp_path)
    sha = record_verdicts(path)
    with LabelsStore.open_default() as store:
        data = sample_source.from_path(path, store)
        assert data.labels_from == "the labels store" and data.sha256 == sha
        assert [k.path for k in sample_source.reviewed_samples(store)] == [str(path)]
        verdicts = store.current(sha)
    with pytest.raises(InputError, match="no labelled item in band"):
        sample_source.from_path(path)  # without the store: its own (blank) verdict column
    path.write_bytes(path.read_bytes().replace(b"message", b"massage", 1))
    with pytest.raises(InputError, match="changed since it was reviewed"):
        sample_source.from_store(path, sha, verdicts)


def test_a_band_without_labels_is_refused(tmp_path: Path) -> None:
    path = make_sample(tmp_path)  # verdict column empty
    with pytest.raises(InputError, match="no labelled item in band"):
        sample_source.from_file(path)


def test_threshold_panel_on_a_reviewed_sample(
    qtbot, app_context, worker_pool, tmp_path: Path, monkeypatch
) -> None:
    from app.ui.threshold.panel import ThresholdPanel
    from app.ui.threshold.source_picker import KNOWN_SAMPLE
    from tests.test_ui_threshold import answer_rationale

    path = make_sample(tmp_path)
    sha = record_verdicts(path)
    panel = ThresholdPanel(app_context, worker_pool)
    qtbot.addWidget(panel)
    try:
        combo = panel.controls.source
        index = combo.findData(KNOWN_SAMPLE + str(path))
        assert combo.itemText(index) == "Audit sample: SAMPLE.csv (reviewed)"
        combo.setCurrentIndex(index)
        ds = panel.dataset
        assert ds is not None and ds.name == "Audit sample: SAMPLE.csv"
        assert combo.currentText() == ds.name
        summary = panel.controls.summary.text()
        assert summary.startswith("≈ ") and "estimates for the whole batch" in summary
        panel.slider.setValue(45)
        m = ds.analysis.at(0.45)
        shown = panel.matrix.shown_counts()
        assert shown.tolist() == [[round(m.tp), round(m.fn)], [round(m.fp), round(m.tn)]]
        assert panel.matrix.count_texts[0][0].get_text().startswith("≈ ")
        # a cell's items list and open in Score with their line in the scored batch
        panel.show_cell(0, 0)
        qtbot.waitUntil(lambda: panel.cell_items.table.rowCount() > 0)
        opened = []
        panel.open_in_score.connect(opened.append)
        first = int(panel.cell_items.table.item(0, 0).text())
        assert first in set(ds.lines.tolist())
        panel.cell_items.table.selectRow(0)
        panel.cell_items.table.activated.emit(panel.cell_items.table.model().index(0, 0))
        assert opened and opened[0].line == first
        # Apply: the record names the sample file (kind "sample", its SHA-256)
        panel.slider.setValue(50)  # 0.45 is app-wide already
        answer_rationale(qtbot, "Audit of Monday's batch")
        qtbot.mouseClick(panel.controls.apply_button, Qt.MouseButton.LeftButton)
        with DecisionStore() as store:
            (record,) = store.list()
        assert record.source.kind == "sample" and record.source.sha256 == sha
        assert record.source.name == f"Audit sample: SAMPLE.csv ({len(ds.scores):,} labelled items)"
        # the weighted matrix (estimates for the whole batch), and the labelled items counted
        m = ds.analysis.at(0.5)
        assert record.at_new.estimated and record.at_new.n_labelled == len(ds.scores)
        # kept as the activity event logs them (1 decimal: no float noise in the record)
        kept = [logged_count(x) for x in (m.tp, m.fp, m.fn, m.tn)]
        assert [record.at_new.tp, record.at_new.fp, record.at_new.fn, record.at_new.tn] == kept
        assert record.at_new.n == pytest.approx(sum(read_sample(path).population.values()))
        assert f"{record.at_new.tp:,}".startswith("≈ ")
        recall = record.at_new.rates["recall"]
        assert recall.estimate == pytest.approx(kept[0] / (kept[0] + kept[2]))  # the kept counts'
        assert recall.estimate == pytest.approx(m.recall, abs=1e-3)
        assert recall.lo <= recall.estimate <= recall.hi
        (event,) = app_context.activity.query(action="threshold_applied")
        assert "Audit sample: SAMPLE.csv" in event.detail
        json.loads(event.counts)  # the event's counts stay JSON
    finally:
        qtbot.wait(20)  # let the canvases' pending blits run before the widgets go
        panel.shutdown()


def test_open_audit_sample_from_the_combo(
    qtbot, app_context, worker_pool, tmp_path: Path, monkeypatch
) -> None:
    from PySide6.QtWidgets import QFileDialog

    from app.ui.threshold.panel import ThresholdPanel
    from app.ui.threshold.source_picker import OPEN_SAMPLE

    path = make_sample(tmp_path)
    fill_verdicts(path)
    (tmp_path / "blank").mkdir()
    blank = make_sample(tmp_path / "blank")
    panel = ThresholdPanel(app_context, worker_pool)
    qtbot.addWidget(panel)
    try:
        combo = panel.controls.source
        before = panel.dataset
        monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(blank), ""))
        combo.setCurrentIndex(combo.findData(OPEN_SAMPLE))
        assert panel.dataset is before  # refused: one line, the data shown unchanged
        assert "no labelled item in band" in panel.controls.notice.text()
        monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
        combo.setCurrentIndex(combo.findData(OPEN_SAMPLE))
        assert panel.dataset is not None and panel.dataset.weights is not None
        assert "labels from its verdict column" in panel.dataset.note
        assert panel.controls.notice.text() == ""
    finally:
        qtbot.wait(20)  # let the canvases' pending blits run before the widgets go
        panel.shutdown()


def test_screenshot_on_an_audit_sample_at_1280x800(
    qtbot, app_context, worker_pool, tmp_path: Path
) -> None:
    from app.ui.threshold.panel import ThresholdPanel
    from app.ui.threshold.source_picker import KNOWN_SAMPLE

    path = make_sample(tmp_path, size=200)
    record_verdicts(path)
    panel = ThresholdPanel(app_context, worker_pool)
    qtbot.addWidget(panel)
    try:
        combo = panel.controls.source
        combo.setCurrentIndex(combo.findData(KNOWN_SAMPLE + str(path)))
        panel.slider.setValue(45)
        panel.resize(1280, 800)
        panel.show()
        qtbot.waitExposed(panel)
        for canvas in (panel.matrix, panel.pr_plot, panel.curves):
            canvas.draw()
        ARTIFACTS.mkdir(exist_ok=True)
        assert panel.grab().save(str(ARTIFACTS / "threshold_sample.png"))
    finally:
        qtbot.wait(20)
        panel.shutdown()


def test_threshold_panel_intervals_on_a_sample_use_the_stratified_bootstrap(
    qtbot, app_context, worker_pool, tmp_path: Path, caplog
) -> None:
    from app.ui.threshold.panel import ThresholdPanel
    from app.ui.threshold.source_picker import KNOWN_SAMPLE

    path = make_sample(tmp_path)
    record_verdicts(path)
    panel = ThresholdPanel(app_context, worker_pool)
    qtbot.addWidget(panel)
    failures: list[str] = []
    try:
        combo = panel.controls.source
        combo.setCurrentIndex(combo.findData(KNOWN_SAMPLE + str(path)))
        assert panel.dataset is not None and panel.dataset.weights is not None
        panel.planner._on_failed = failures.append  # type: ignore[method-assign]
        conf = panel.planner.confidence
        # no Wilson on weighted counts: the source's intervals come from the stratified bootstrap
        qtbot.waitUntil(lambda: "stratified bootstrap" in conf.source_label.text(), timeout=20_000)
        qtbot.waitUntil(lambda: "recall" in conf.source_label.text(), timeout=20_000)
        assert "Wilson" not in conf.source_label.text()
        tb = panel.planner.traffic
        tb.prevalence_spin.setValue(5.0)
        tb.volume_spin.setValue(10_000)
        qtbot.waitUntil(lambda: "flagged" in conf.day_label.text(), timeout=20_000)
        assert "stratified bootstrap" in conf.day_label.text()
        # a finder's threshold: its interval resampled within the sample's bands
        panel.find_best_f1()
        finder = conf.finder_label
        qtbot.waitUntil(lambda: not finder.text().endswith("…"), timeout=20_000)
        assert "95% interval of this threshold" in finder.text(), finder.text()
        assert "stratified" in finder.text()
        assert failures == []
        assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
    finally:
        qtbot.wait(20)
        panel.shutdown()
        worker_pool.wait()


def test_sample_intervals_are_stratified_and_iid_ones_refuse_weights(tmp_path: Path) -> None:
    from app.core.analysis import intervals, resampled
    from app.core.analysis.thresholds import ThresholdInputError

    path = make_sample(tmp_path)
    fill_verdicts(path)
    ds = sample_source.audit_dataset(sample_source.from_file(path))
    assert ds.resampler is not None
    with pytest.raises(ThresholdInputError, match="within their bands"):
        intervals.bootstrap_rates(ds.analysis, 0.45, 0.05, 10_000)
    with pytest.raises(ThresholdInputError, match="within their bands"):
        intervals.threshold_interval(ds.analysis, intervals.BestF1())
    rates = resampled.resampled_rates(ds.resampler, 0.45, reps=300, seed=1)
    m = ds.analysis.at(0.45)
    fpr = m.fp / (m.fp + m.tn)
    for key, point in (("tpr", m.recall), ("fpr", fpr), ("precision_source", m.precision)):
        lo, hi = rates[key]
        assert lo <= point <= hi, key
    assert "flagged" not in rates  # per-day counts only with a prevalence and volume
    found = resampled.resampled_threshold_interval(
        ds.analysis, ds.resampler, intervals.BestF1(), reps=200, seed=1
    )
    assert found.threshold == ds.analysis.best_f1().threshold  # the finder's own answer
    assert found.low <= found.threshold <= found.high and found.answered == 200
    again = resampled.resampled_threshold_interval(
        ds.analysis, ds.resampler, intervals.BestF1(), reps=200, seed=1
    )
    assert again == found  # reproducible from the seed


def test_panel_confidence_on_a_sample_holds_the_estimates_shown(tmp_path: Path) -> None:
    """The Confidence tab's intervals (bootstrap_confidence) hold the estimates the Traffic
    tab shows beside them at every threshold, as `plan` and `audit estimate` do (recheck N1:
    recall 39.5–98.2% beside a recall of 99.2%)."""
    from app.core.analysis.planning import Planning, bootstrap_confidence, planning_day

    path = make_sample(tmp_path)
    fill_verdicts(path)
    ds = sample_source.audit_dataset(sample_source.from_file(path))
    planning = Planning(prevalence=0.04, volume=20_000.0)
    assert planning.reweighting
    for t in (0.05, 0.3, 0.45, 0.6, 0.8, 0.9, 0.95, 0.99):
        c = bootstrap_confidence(ds.analysis, t, planning, seed=1, resampler=ds.resampler)
        m, day = ds.analysis.at(t), planning_day(ds.analysis, t, planning)
        shown = {
            ("wilson", "tpr"): m.recall,
            ("wilson", "fpr"): m.fp / (m.fp + m.tn),
            ("wilson", "precision_source"): m.precision,
            ("day", "flagged"): day.flagged_per_day,
            ("day", "caught"): day.caught_per_day,
            ("day", "missed"): day.missed_per_day,
            ("day", "false_alarms"): day.false_alarms_per_day,
            ("day", "precision"): day.precision,
        }
        for (part, key), point in shown.items():
            if point is None or not np.isfinite(point):
                continue
            lo, hi = (c.wilson if part == "wilson" else c.day or {})[key]
            if not (np.isfinite(lo) and np.isfinite(hi)):
                continue  # undefined (nothing flagged in any replicate): shown as n/a
            assert lo - 1e-9 <= point <= hi + 1e-9, (t, key, lo, point, hi)
