"""The Batch panel's mode selector: entries disabled (with the reason) when no encoder is
installed or the cascade band is for another fast model, and a cascade run's summary."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.core.bundles.signing import TrustStore
from app.core.engine.scoring import Scorer
from app.core.models.registry import ModelRegistry
from tests.cascade_fixture import (
    FAST_FOLDER,
    OTHER_FAST_FOLDER,
    band_for,
    texts,
    write_csv,
    write_encoder,
)

ENCODER = "abuse-mini 0.0.1"
TIP = Qt.ItemDataRole.ToolTipRole


@pytest.fixture(scope="module")
def fast() -> Scorer:
    return Scorer.load(FAST_FOLDER)


@pytest.fixture(scope="module")
def bundled(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("bundled")
    for source in (FAST_FOLDER, OTHER_FAST_FOLDER):
        shutil.copytree(source, folder / source.name)
    return folder


def _use_registry(ctx, bundled: Path, user: Path) -> None:
    ctx.registry = ModelRegistry(bundled, user, TrustStore(), allow_unsigned=True)


def test_no_encoder_disables_thorough_and_cascade(
    qtbot, batch_panel, app_context, bundled, tmp_path
):
    _use_registry(app_context, bundled, tmp_path / "user")
    batch_panel.show()
    qtbot.waitExposed(batch_panel)
    box = batch_panel.mode_box
    assert box.is_enabled("fast") and box.mode() == "fast"
    for mode in ("cascade", "thorough"):
        assert not box.is_enabled(mode)
        tip = box.itemData(["fast", "cascade", "thorough"].index(mode), TIP)
        assert tip.startswith("Unavailable: no thorough engine")
    assert box.itemData(0, TIP) == "The fast (linear) model scores every row."
    assert "re-scored by the thorough engine" in box.toolTip()
    # An encoder installed while the panel is open: seen the next time it looks.
    write_encoder(tmp_path / "user", None, (0.0, 0.0))
    batch_panel.refresh_modes()
    assert box.is_enabled("thorough") and not box.is_enabled("cascade")
    assert "has no cascade band" in box.problem("cascade")


def test_band_for_another_fast_model_disables_cascade_only(
    qtbot, batch_panel, app_context, bundled, fast, tmp_path
):
    user = tmp_path / "user"
    write_encoder(user, fast, band_for(fast, texts(60)))
    _use_registry(app_context, bundled, user)
    app_context.state.set_scorer(Scorer.load(OTHER_FAST_FOLDER))  # 1.0.0: not the band's model
    batch_panel.show()
    qtbot.waitExposed(batch_panel)
    box = batch_panel.mode_box
    assert box.is_enabled("fast") and box.is_enabled("thorough")
    assert not box.is_enabled("cascade")
    reason = box.problem("cascade")
    assert "abuse-lr 1.0.0" in reason and ENCODER in reason and "abuse-lr 2.0.0" in reason
    assert box.itemData(1, TIP) == f"Unavailable: {reason}."
    # Switching to the model the band was chosen for enables cascade.
    box.set_mode("thorough")
    app_context.state.set_scorer(fast)
    assert box.is_enabled("cascade") and box.mode() == "thorough"


def test_a_cascade_run_reports_the_rows_rescored(
    qtbot, batch_panel, app_context, bundled, fast, tmp_path
):
    rows = texts(60)
    low, high = band_for(fast, rows)
    user = tmp_path / "user"
    write_encoder(user, fast, (low, high))
    _use_registry(app_context, bundled, user)
    app_context.state.set_scorer(fast)
    batch_panel.show()
    qtbot.waitExposed(batch_panel)
    batch_panel.mode_box.set_mode("cascade")
    src = write_csv(tmp_path / "in.csv", rows)
    batch_panel.open_file(src)
    with qtbot.waitSignal(batch_panel.job_done, timeout=60_000) as blocker:
        batch_panel.start()
    assert blocker.args[1] == "done", batch_panel.status.text()
    expected = sum(low <= s <= high for s in fast.score_many(rows)[0].tolist())
    assert 0 < expected < len(rows)
    report = batch_panel.shown.result.report
    assert report.mode == "cascade" and report.rows_rescored == expected
    assert f"{expected:,} rows re-scored" in batch_panel.progress.format()
    assert f"{expected:,} rows re-scored by {ENCODER}" in batch_panel.status.text()
    with open(batch_panel.shown.result.cache_path, encoding="utf-8-sig", newline="") as fh:
        versions = [row["model_version"] for row in csv.DictReader(fh)]
    assert versions.count(ENCODER) == expected
    started = [e for e in app_context.activity.query() if e.action == "batch_started"]
    assert started and "mode cascade" in (started[0].detail or "")
