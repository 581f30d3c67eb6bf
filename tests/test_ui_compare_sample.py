"""Compare on an audit sample: both shipped bundles (models/) score its labelled items on the
worker, and the matrices are weighted by band."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.core.analysis.weighted import WeightedThresholdAnalysis
from app.core.audit import sample_source
from app.core.context.model_switch import set_challenger
from app.core.engine.scoring import Scorer
from app.ui.compare.panel import ComparePanel
from app.ui.compare.source import CSV
from tests.test_audit_sources import fill_verdicts, make_sample


@pytest.fixture
def panel(qtbot, app_context, worker_pool):
    widget = ComparePanel(app_context, worker_pool)
    qtbot.addWidget(widget)
    yield widget
    qtbot.wait(20)  # the canvases' pending blits run before the widgets go
    widget.shutdown()


def test_compare_on_an_audit_sample(
    panel, qtbot, app_context, tmp_path: Path, monkeypatch, bundled_scorer, bundled_model_path
) -> None:
    other = Scorer.load(bundled_model_path.parent / "abuse-lr-1.0.0")
    set_challenger(app_context, other)
    path = make_sample(tmp_path)
    fill_verdicts(path)
    monkeypatch.setattr(
        "app.ui.compare.panel.QFileDialog.getOpenFileName", lambda *a, **k: (str(path), "")
    )
    qtbot.mouseClick(panel.source_bar.sample_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.paired is not None and panel.paired.weights is not None,
                    timeout=20_000)  # fmt: skip
    qtbot.waitUntil(lambda: app_context.state.running_jobs == 0)
    assert panel.source_bar.key() == CSV and panel.source_bar.error.isHidden()
    assert panel.source_bar.source.currentText() == "Audit sample: SAMPLE.csv"
    data = sample_source.from_file(path)
    paired = panel.paired
    assert paired.texts == data.texts and paired.labels.tolist() == data.labels.tolist()
    champ, chall = bundled_scorer.score_many(data.texts)[0], other.score_many(data.texts)[0]
    np.testing.assert_allclose(paired.champion_scores, champ)
    np.testing.assert_allclose(paired.challenger_scores, chall)
    np.testing.assert_array_equal(paired.weights, data.weights)
    for canvas, scores in ((panel.champion_matrix, champ), (panel.challenger_matrix, chall)):
        m = WeightedThresholdAnalysis(scores, data.labels, data.weights).at(0.45)
        expected = np.rint(m.matrix_abusive_first()).astype(int)
        np.testing.assert_array_equal(canvas.shown_counts(), expected)
        assert canvas.count_texts[0][0].get_text().startswith("≈ ")
    assert "estimates for the whole batch" in panel.source_bar.note.text()
