"""The Review panel's whole-batch estimates, and the full round trip a supervisor makes:
``audit sample`` (CLI) → verdicts in the Review panel (keys) → "Export verdicts…" →
``audit estimate EXPORT.csv --json`` (CLI) gives the same numbers the panel shows. Also the
missing-band warning, the try-threshold spin box (typing there gives no verdict), the app-wide
threshold followed, and screenshots with estimates at two window sizes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.core.audit.estimate import estimate
from app.core.audit.sample_file import read_sample
from app.core.common.output_guard import provenance_path
from app.ui.review.estimates import shown
from tests.cli_runner import run_cli
from tests.test_audit_sample import _write_scored
from tests.test_ui_review import key, make_panel, open_sample

SHOTS = Path(__file__).resolve().parent / "_artifacts"


def _sample(tmp_path: Path, size: int = 40) -> Path:
    scored, out = tmp_path / "scored.csv", tmp_path / "SAMPLE.csv"
    _write_scored(scored)
    done = run_cli("audit", "sample", str(scored), "--size", str(size), "--seed", "11",
                   "--threshold", "0.45", "-o", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    return out


def _truth(score: float) -> int:
    """The reviewer's verdict in these tests: abusive from 0.4 up (not the model's 0.45)."""
    return int(score >= 0.4)


def _settled(qtbot, panel) -> None:
    qtbot.waitUntil(lambda: not panel.estimates.busy, timeout=10_000)


def _review_all(qtbot, panel, skip_every: int = 0) -> list[int | None]:
    """Give every item a verdict with the keys; returns the labels given, in sample order."""
    labels: list[int | None] = []
    for i, item in enumerate(panel.queue.items):
        assert panel.item.line == item.line
        if skip_every and i % skip_every == skip_every - 1:
            key(qtbot, panel, Qt.Key.Key_S)
            labels.append(None)
            continue
        label = _truth(item.score)
        key(qtbot, panel, Qt.Key.Key_A if label else Qt.Key.Key_B)
        labels.append(label)
    return labels


def test_round_trip_sample_review_export_estimate(
    qtbot, app_context, worker_pool, tmp_path
) -> None:
    sample = _sample(tmp_path)
    panel = make_panel(qtbot, app_context, worker_pool, tmp_path / "labels.sqlite3")
    open_sample(qtbot, panel, sample)
    _settled(qtbot, panel)
    box = panel.w.estimates
    assert box.warning.isVisible() and "No item labelled yet" in box.warning.text()
    labels = _review_all(qtbot, panel, skip_every=5)
    _settled(qtbot, panel)
    read = read_sample(sample)
    want = estimate(read.scores, read.strata, labels, read.population, [0.45, 0.45])
    at = want.thresholds[0]
    for rate in ("precision", "recall", "prevalence", "flag_rate"):
        assert box.text_of(rate, 0) == shown(getattr(at, rate)) != "undefined"
    assert box.heads[0].text() == "App 0.45" and box.heads[1].text() == "Tried 0.45"
    assert box.counts.text().startswith("32 labelled · 8 unlabelled")
    assert f"of a batch of {sum(read.population.values()):,} rows" in box.counts.text()
    assert not box.warning.isVisible()

    export = tmp_path / "export" / "verdicts.csv"
    export.parent.mkdir()
    assert panel.export_to(export)
    assert provenance_path(export).exists()  # the sample's provenance travels with it
    done = run_cli("audit", "estimate", str(export), "--threshold", "0.45", "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert (doc["n_labelled"], doc["n_unlabelled"]) == (32, 8)
    cli = doc["thresholds"][0]
    for rate in ("precision", "recall", "prevalence", "flag_rate"):
        mine = getattr(at, rate)
        assert cli[rate]["estimate"] == pytest.approx(mine.estimate)
        assert cli[rate]["ci95"] == pytest.approx([mine.low, mine.high])  # same seed, same data
    panel.shutdown()


def test_an_export_without_provenance_still_estimates(
    qtbot, app_context, worker_pool, tmp_path
) -> None:
    """A sample copied without its sidecar opens and exports; the export has none either, and
    a stale sidecar at the export's name is refused, never deleted nor trusted."""
    alone = tmp_path / "alone"
    alone.mkdir()
    sample = alone / "SAMPLE.csv"
    shutil.copy(_sample(tmp_path, size=40), sample)  # 10 a band (issue 15, H2)
    panel = make_panel(qtbot, app_context, worker_pool, tmp_path / "labels.sqlite3")
    open_sample(qtbot, panel, sample)
    _review_all(qtbot, panel)
    export = alone / "verdicts.csv"
    assert panel.export_to(export) and not provenance_path(export).exists()
    done = run_cli("audit", "estimate", str(export), "--threshold", "0.5", "--json")
    assert done.returncode == 0 and json.loads(done.stdout)["n_labelled"] == 40
    stale = alone / "other.csv"
    provenance_path(stale).write_text("{}", encoding="utf-8")
    assert not panel.export_to(stale) and "earlier file" in panel.w.status.text()
    assert provenance_path(stale).read_text(encoding="utf-8") == "{}" and not stale.exists()
    panel.shutdown()


def test_warning_names_the_band_without_labels_and_the_spin_box(
    qtbot, app_context, worker_pool, tmp_path
) -> None:
    sample = _sample(tmp_path)
    panel = make_panel(qtbot, app_context, worker_pool, tmp_path / "labels.sqlite3")
    open_sample(qtbot, panel, sample)
    box = panel.w.estimates
    # Label every item except those of band below_t: that band is named, the rates undefined.
    for item in panel.queue.items:
        panel.index = item.index
        if item.stratum == "below_t":
            continue
        key(qtbot, panel, Qt.Key.Key_A if _truth(item.score) else Qt.Key.Key_B)
    _settled(qtbot, panel)
    read = read_sample(sample)
    assert box.warning.isVisible()
    assert (
        box.warning.text()
        .replace("\n", " ")
        .startswith(f"No labelled item in band below_t ({read.population['below_t']:,} batch rows)")
    )
    assert box.text_of("recall", 0) == "undefined"
    assert "below_t" in box.cells[("recall", 0)].toolTip()
    reviewed = panel.w.progress_label.text()

    box.spin.setFocus()
    box.spin.selectAll()
    qtbot.keyClicks(box.spin, "0.6")  # digits and a letter typed here give no verdict
    qtbot.keyClick(box.spin, Qt.Key.Key_A)
    qtbot.keyClick(box.spin, Qt.Key.Key_Return)  # Enter goes back to the item, moves nowhere
    assert panel.w.progress_label.text() == reviewed and panel.w.text.hasFocus()
    assert box.spin.value() == pytest.approx(0.6)
    assert panel.estimates.busy  # debounced, not computed on the keystroke
    for item in panel.queue.items:  # now label the band: the estimates are defined
        if item.stratum == "below_t":
            panel.index = item.index
            key(qtbot, panel, Qt.Key.Key_A if _truth(item.score) else Qt.Key.Key_B)
    _settled(qtbot, panel)
    assert not box.warning.isVisible()
    assert box.heads[1].text() == "Tried 0.60"
    labels = [_truth(s) for s in read.scores.tolist()]
    want = estimate(read.scores, read.strata, labels, read.population, [0.45, 0.6])
    assert box.text_of("precision", 1) == shown(want.thresholds[1].precision)

    app_context.state.set_threshold(0.5)  # the app-wide threshold moves; the tried one stays
    _settled(qtbot, panel)
    assert box.heads[0].text() == "App 0.50" and box.spin.value() == pytest.approx(0.6)
    box.reset.click()
    _settled(qtbot, panel)
    assert box.heads[1].text() == "Tried 0.50"
    panel.shutdown()


@pytest.mark.parametrize("size", [(1280, 800), (1024, 700)])
def test_screenshot_with_estimates(qtbot, app_context, worker_pool, tmp_path, size) -> None:
    sample = _sample(tmp_path, size=60)
    panel = make_panel(qtbot, app_context, worker_pool, tmp_path / "labels.sqlite3", size)
    open_sample(qtbot, panel, sample)
    for i, item in enumerate(panel.queue.items[:50]):
        key(qtbot, panel, Qt.Key.Key_S if i % 9 == 8 else
            (Qt.Key.Key_A if _truth(item.score) else Qt.Key.Key_B))  # fmt: skip
    panel.w.estimates.spin.setValue(0.6)
    _settled(qtbot, panel)
    assert panel.w.estimates.text_of("flag_rate", 0).endswith("(exact)")  # the bands' edge
    qtbot.wait(50)  # the layout follows the new texts
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert panel.grab().save(str(SHOTS / f"review_estimates_{size[0]}x{size[1]}.png"))
    panel.shutdown()
