"""The Models and Compare panels with an encoder bundle (abuse-mini) installed: listed with its
engine, imported from a zip, made challenger and active from the panel, and compared with the
linear model item by item (a bundle carrying the linear bundle's evaluation items)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from app.core.context.model_switch import set_challenger
from app.core.engine.scoring import Scorer
from app.ui.compare.panel import ComparePanel
from app.ui.compare.view import CONTENT_BODY
from app.ui.models.panel import ModelsPanel
from app.ui.models.table import ENGINE, NAME, ROLE, VERIFIED
from tests.conftest import REPO
from tests.encoder_fixture import tiny_tokenizer
from tests.encoder_registry import ENCODER_REF, signed_encoder_bundle

TIMEOUT = 10_000
LINEAR = "abuse-lr-2.0.0"  # the default fast model (app_context's scorer)


@pytest.fixture
def ctx(registry_context):
    return registry_context


def cells(panel: ModelsPanel, ref: str, role=Qt.ItemDataRole.DisplayRole) -> dict[int, str]:
    row = panel.model.row_of(ref)
    assert row is not None, f"{ref} is not listed"
    return {c: panel.model.index(row, c).data(role) for c in range(panel.model.columnCount())}


def click(qtbot, panel: ModelsPanel, button) -> None:
    assert button.isEnabled(), f"{button.text()!r} is disabled"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.busy, timeout=TIMEOUT)


def test_import_zip_list_challenge_and_activate(
    qtbot, models_panel, ctx, signing_key, tmp_path, monkeypatch
):
    panel = models_panel
    bundle = signed_encoder_bundle(tmp_path / "src", signing_key[0])
    archive = tmp_path / "mini.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(bundle.iterdir()):
            zf.write(path, f"{ENCODER_REF}/{path.name}")
    panel.choose_import_zip = lambda: archive
    click(qtbot, panel, panel.view.import_zip_button)
    assert panel.view.message_kind == "ok", panel.view.message.text()
    mini, linear = cells(panel, ENCODER_REF), cells(panel, LINEAR)
    assert (mini[NAME], mini[ENGINE], mini[VERIFIED]) == ("abuse-mini", "encoder", "✓")
    assert linear[ENGINE] == "linear"
    vocabulary = len(tiny_tokenizer()["model"]["vocab"])
    tip = cells(panel, ENCODER_REF, Qt.ItemDataRole.ToolTipRole)[ENGINE]
    assert tip == f"encoder (64 tokens, {vocabulary:,}-token vocabulary)"
    # the details of a bundle without a linear model's manifest figures
    assert panel.selected_entry().ref == ENCODER_REF
    facts = panel.view.details.values
    assert facts["engine"].text() == (
        f"encoder (thorough): reads up to 64 tokens, {vocabulary:,}-token vocabulary; "
        "explained by occlusion"
    )
    assert facts["auc"].text() == "–" and facts["items"].text() == "–"

    click(qtbot, panel, panel.view.challenger_button)  # challenger while linear decides
    assert ctx.state.challenger.engine == "encoder"
    assert cells(panel, ENCODER_REF)[ROLE] == "challenger"

    monkeypatch.setattr(QMessageBox, "question", lambda *_a: QMessageBox.StandardButton.Yes)
    click(qtbot, panel, panel.view.activate_button)  # then the deciding model, no restart
    assert ctx.state.scorer.engine == "encoder" and ctx.settings.active_model == ENCODER_REF
    assert cells(panel, ENCODER_REF)[ROLE] == "active"
    assert ctx.state.scorer.score_text("you idiot", 0.45).score is not None


@pytest.fixture
def paired_encoder(signing_key, tmp_path) -> Scorer:
    """An encoder whose evaluation items are the bundled default's (scores of its own)."""
    folder = signed_encoder_bundle(
        tmp_path / "paired", signing_key[0], pair_with=REPO / "models" / LINEAR
    )
    return Scorer.load(folder)


def test_compare_linear_with_encoder(qtbot, app_context, worker_pool, paired_encoder):
    panel = ComparePanel(app_context, worker_pool)
    qtbot.addWidget(panel)
    try:
        set_challenger(app_context, paired_encoder)
        paired = panel.paired
        assert paired is not None and panel.view.body.currentIndex() == CONTENT_BODY
        linear = app_context.state.scorer.bundle.arrays
        mini = paired_encoder.bundle.arrays
        assert len(paired.labels) == len(linear["eval_ids.npy"])  # every item paired
        np.testing.assert_array_equal(paired.champion_scores, linear["eval_scores.npy"])
        np.testing.assert_array_equal(paired.challenger_scores, mini["eval_scores.npy"])
        text = panel.source_bar.models.text()
        assert "<b>Champion</b> abuse-lr 2.0.0 (linear engine; decides)" in text
        assert "<b>challenger</b> abuse-mini 0.0.1 (encoder engine; shadow-scores only)" in text
        assert panel.source_bar.error.isHidden()
        artifacts = Path(__file__).resolve().parent / "_artifacts"
        artifacts.mkdir(exist_ok=True)
        panel.resize(1280, 800)
        panel.show()
        qtbot.waitExposed(panel)
        assert panel.grab().save(str(artifacts / "compare_panel_encoder.png"))
    finally:
        panel.shutdown()
