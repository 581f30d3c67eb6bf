"""The Compare panel, driven through its real widgets; every number is checked independently.

The challenger that shares the bundled evaluation set is the bundled model with a steeper Platt
calibration (slope x 1.3), written as a real, verified bundle: its shipped evaluation scores are
the old ones mapped through the calibration change, which is exactly what scoring the texts
again would give (checked below on texts), since only the calibration differs.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from scipy.special import expit, logit

from app.core.analysis.compare import migrate_threshold, score_labeled_pair
from app.core.analysis.thresholds import ThresholdAnalysis
from app.core.bundles.bundle import load_verified, write_bundle
from app.core.context.model_switch import activate, set_challenger
from app.core.engine.scoring import Scorer
from app.ui.common.label_dialog import LabelColumnDialog
from app.ui.common.threshold_widgets import fmt_threshold
from app.ui.compare.panel import ComparePanel
from app.ui.compare.source import CSV
from app.ui.compare.view import COMPARE_PAGE, CONTENT_BODY, MESSAGE_BODY, NO_CHALLENGER, NONE_PAGE
from tests.synthetic import labelled_texts

ARTIFACTS = Path(__file__).resolve().parent / "_artifacts"
SLOPE_FACTOR = 1.3


def recalibrate(scores: np.ndarray, b: float) -> np.ndarray:
    """p = expit(a*z + b)  ->  expit(1.3*a*z + b) = expit(1.3*(logit(p) - b) + b)."""
    return expit(SLOPE_FACTOR * (logit(scores) - b) + b)


@pytest.fixture(scope="session")
def recalibrated(bundled_model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Scorer:
    """The bundled model with calibration slope x 1.3, as version 1.0.1-test."""
    source = load_verified(bundled_model_path)
    manifest = {k: v for k, v in source.manifest.items() if k != "files"}
    manifest["version"] = "1.0.1-test"
    files: dict = {
        name: (bundled_model_path / name).read_bytes() for name in source.manifest["files"]
    }
    classifier = dict(source.json_files["classifier.json"])
    calibration = dict(classifier["calibration"])
    calibration["a"] *= SLOPE_FACTOR
    classifier["calibration"] = calibration
    files["classifier.json"] = classifier
    files["eval_scores.npy"] = recalibrate(source.arrays["eval_scores.npy"], calibration["b"])
    folder = tmp_path_factory.mktemp("bundles") / "abuse-lr-1.0.1-test"
    return Scorer.load(write_bundle(folder, manifest, files))


@pytest.fixture(scope="session")
def tiny(tiny_training) -> Scorer:
    return Scorer.load(tiny_training.bundle_path)


@pytest.fixture
def panel(qtbot, app_context, worker_pool):
    widget = ComparePanel(app_context, worker_pool)
    qtbot.addWidget(widget)
    yield widget
    widget.shutdown()


def by_id_pairing(champion: Scorer, challenger: Scorer):
    """The shared items, paired with a dict (not the core's intersect1d), champion order."""
    a, b = champion.bundle.arrays, challenger.bundle.arrays
    where = {int(i): k for k, i in enumerate(b["eval_ids.npy"])}
    ia = [k for k, i in enumerate(a["eval_ids.npy"]) if int(i) in where]
    ib = [where[int(a["eval_ids.npy"][k])] for k in ia]
    return a["eval_scores.npy"][ia], b["eval_scores.npy"][ib], a["eval_labels.npy"][ia]


def assert_agreement_shown(panel: ComparePanel, champ, chall, t: float) -> None:
    c, h = champ >= t, chall >= t
    n = len(champ)
    for label, count in (
        ("Both flag", np.sum(c & h)),
        ("Neither flags", np.sum(~c & ~h)),
        ("Only the champion flags", np.sum(c & ~h)),
        ("Only the challenger flags", np.sum(~c & h)),
    ):
        assert panel.agreement_box.value(label) == f"{count:,} ({100 * count / n:.1f}%)"
    rate = 100 * np.mean(c == h)
    assert f"<b>{rate:.1f}%</b> of {n:,} items alike" in panel.agreement_box.headline.text()
    assert panel.agreement_box.value("Mean |score difference|") == (
        f"{np.mean(np.abs(champ - chall)):.4f}"
    )
    assert panel.disagreements.model.rowCount() == np.sum(c != h)


def test_the_recalibrated_challenger_scores_texts_as_its_bundle_says(bundled_scorer, recalibrated):
    texts, _ = labelled_texts(200, seed=4)
    b = recalibrated.model.calibration_offset
    np.testing.assert_allclose(
        recalibrated.score_many(texts)[0],
        recalibrate(bundled_scorer.score_many(texts)[0], b),
        rtol=0,
        atol=1e-9,
    )


def test_without_a_challenger_it_says_where_to_choose_one(panel):
    assert panel.view.pages.currentIndex() == NONE_PAGE
    assert panel.view.no_challenger.text() == NO_CHALLENGER
    assert panel.paired is None and panel.migration is None


def test_bundled_pairing_shows_the_agreement_counted_independently(
    panel, app_context, bundled_scorer, recalibrated
):
    set_challenger(app_context, recalibrated)
    assert panel.view.pages.currentIndex() == COMPARE_PAGE
    assert panel.view.body.currentIndex() == CONTENT_BODY
    champ, chall, labels = by_id_pairing(bundled_scorer, recalibrated)
    assert panel.paired.n == len(champ) == 5650
    assert panel.source_bar.note.text().endswith(
        "5,650 items are in both held-out test sets (of 5,650 in abuse-lr 2.0.0's and "
        "5,650 in abuse-lr 1.0.1-test's)."
    )
    assert_agreement_shown(panel, champ, chall, 0.45)
    for canvas, scores in ((panel.champion_matrix, champ), (panel.challenger_matrix, chall)):
        expected = ThresholdAnalysis(scores, labels).at(0.45).matrix_abusive_first()
        np.testing.assert_array_equal(canvas.shown_counts(), expected)
    model = panel.disagreements.model
    diffs = [abs(float(model.data(model.index(r, 3)))) for r in range(model.rowCount())]
    assert diffs == sorted(diffs, reverse=True)
    assert panel.scatter.shown_points() == 5650
    # Plain language: the source and each shipped item are named for what they are (issue 14).
    assert panel.source_bar.source.currentText().startswith("Evaluation sets shipped with both")
    assert panel.source_bar.key() == "bundled"
    names = {str(model.data(model.index(r, 0))).split(" · ")[1] for r in range(model.rowCount())}
    assert names <= {
        "Tweets labelled for hate and offence (Davidson et al.)",
        "Tweets labelled offensive or not (OLID)",
    }
    assert names


def test_a_threshold_change_updates_everything(panel, app_context, bundled_scorer, recalibrated):
    set_challenger(app_context, recalibrated)
    champ, chall, labels = by_id_pairing(bundled_scorer, recalibrated)
    app_context.state.set_threshold(0.62)
    assert_agreement_shown(panel, champ, chall, 0.62)
    expected = ThresholdAnalysis(chall, labels).at(0.62).matrix_abusive_first()
    np.testing.assert_array_equal(panel.challenger_matrix.shown_counts(), expected)
    assert panel.migration.champion.threshold == 0.62


def test_migration_proposal_is_the_cores(panel, app_context, bundled_scorer, recalibrated):
    set_challenger(app_context, recalibrated)
    champ, chall, labels = by_id_pairing(bundled_scorer, recalibrated)
    a, b = ThresholdAnalysis(champ, labels), ThresholdAnalysis(chall, labels)
    box = panel.migration_box
    for index, keep in enumerate(("recall", "precision", "queue_rate")):
        box.keep.setCurrentIndex(index)
        expected = migrate_threshold(a, b, 0.45, keep, champion_label="abuse-lr 2.0.0")
        assert panel.migration == expected and expected.reachable
        t = fmt_threshold(expected.threshold)
        assert f"<b>{t}</b>" in box.proposed.text()
        assert box.sentence.text() == expected.describe()
        assert box.promote_button.text() == f"Promote challenger at {t}…"
        assert box.promote_button.isEnabled()
        np.testing.assert_array_equal(
            box.matrix.shown_counts(), b.at(expected.threshold).matrix_abusive_first()
        )


def test_promotion_through_the_confirm_hook(panel, qtbot, app_context, recalibrated):
    set_challenger(app_context, recalibrated)
    migration = panel.migration
    asked: list[str] = []
    panel.confirm_promotion = lambda message: asked.append(message) or True
    qtbot.mouseClick(panel.migration_box.promote_button, Qt.MouseButton.LeftButton)
    assert len(asked) == 1 and migration.describe() in asked[0]
    assert app_context.state.scorer is recalibrated
    assert app_context.state.threshold == migration.threshold
    assert app_context.state.challenger is None  # promoted: nothing left to compare with
    assert app_context.settings.active_model == "abuse-lr-1.0.1-test"
    (promoted,) = app_context.activity.query(action="model_promoted")
    assert promoted.model_version == "abuse-lr 1.0.1-test"
    applied = app_context.activity.query(action="threshold_applied")[0]
    assert applied.threshold == migration.threshold
    assert applied.detail.endswith(f"on promotion: {migration.describe()}")
    assert panel.view.pages.currentIndex() == NONE_PAGE
    assert "abuse-lr 1.0.1-test is now the deciding model" in panel.view.promoted.text()


def test_refusing_the_confirmation_changes_nothing(
    panel, qtbot, app_context, bundled_scorer, recalibrated
):
    set_challenger(app_context, recalibrated)
    before = app_context.activity.count()
    panel.confirm_promotion = lambda message: False
    qtbot.mouseClick(panel.migration_box.promote_button, Qt.MouseButton.LeftButton)
    assert app_context.state.scorer is bundled_scorer
    assert app_context.state.challenger is recalibrated
    assert app_context.state.threshold == 0.45
    assert app_context.activity.count() == before
    assert panel.view.pages.currentIndex() == COMPARE_PAGE


def test_challenger_with_another_test_set_says_to_use_a_labelled_csv(panel, app_context, tiny):
    set_challenger(app_context, tiny)
    error = panel.source_bar.error
    assert not error.isHidden()
    assert "share no items" in error.text()
    assert "compare the two models on a labelled CSV instead" in error.text()
    assert panel.view.body.currentIndex() == MESSAGE_BODY
    assert not panel.view.message_open_button.isHidden()
    assert panel.paired is None and not panel.migration_box.promote_button.isEnabled()


def write_labelled_csv(path: Path, texts: list[str], labels: list[int]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["comment", "label"])
        writer.writerows(zip(texts, labels, strict=True))
    return path


def test_labelled_csv_end_to_end_through_the_worker(
    panel, qtbot, app_context, tmp_path, monkeypatch, bundled_scorer, tiny, recalibrated
):
    set_challenger(app_context, tiny)
    texts, labels = labelled_texts(600, seed=21)
    path = write_labelled_csv(tmp_path / "sample.csv", texts, labels)
    monkeypatch.setattr(
        "app.ui.common.label_dialog.QFileDialog.getOpenFileName", lambda *a, **k: (str(path), "")
    )
    monkeypatch.setattr(LabelColumnDialog, "exec", lambda self: 1)  # accepts its guesses
    qtbot.mouseClick(panel.view.message_open_button, Qt.MouseButton.LeftButton)
    assert app_context.state.running_jobs == 1
    qtbot.waitUntil(lambda: panel.paired is not None, timeout=20_000)
    qtbot.waitUntil(lambda: app_context.state.running_jobs == 0)
    assert panel.source_bar.key() == CSV and panel.source_bar.error.isHidden()
    assert panel.source_bar.progress.isHidden()
    assert panel.paired.texts == texts
    champ, chall = bundled_scorer.score_many(texts)[0], tiny.score_many(texts)[0]
    np.testing.assert_allclose(panel.paired.challenger_scores, chall)
    assert_agreement_shown(panel, champ, chall, 0.45)
    model = panel.disagreements.model
    first = int(np.argmax(np.where((champ >= 0.45) != (chall >= 0.45), np.abs(champ - chall), -1)))
    assert model.data(model.index(0, 0)) == texts[first]
    assert model.headerData(0, Qt.Orientation.Horizontal) == "text"

    # A new challenger: the CSV is scored again by the new pair, never shown with old scores.
    set_challenger(app_context, recalibrated)
    assert panel.paired is None
    qtbot.waitUntil(lambda: panel.paired is not None, timeout=20_000)
    qtbot.waitUntil(lambda: app_context.state.running_jobs == 0)
    assert panel.source_bar.key() == CSV
    assert panel.paired.challenger_label == "abuse-lr 1.0.1-test"
    direct = score_labeled_pair(bundled_scorer, recalibrated, path, label_column="label")
    np.testing.assert_array_equal(panel.paired.challenger_scores, direct.challenger_scores)


def test_failed_and_cancelled_scoring_is_reported(
    panel, qtbot, app_context, tmp_path, recalibrated
):
    set_challenger(app_context, recalibrated)
    path = write_labelled_csv(tmp_path / "x.csv", ["hello there"] * 3, [0] * 3)
    panel.load_labeled_csv(path, "no such column")
    qtbot.waitUntil(lambda: app_context.state.running_jobs == 0)
    assert "Cannot compare on x.csv" in panel.source_bar.error.text()
    assert "no such column" in panel.source_bar.error.text()
    assert panel.paired.name.startswith("Evaluation sets shipped")  # still shown
    texts, labels = labelled_texts(30_000, seed=5)
    panel.load_labeled_csv(write_labelled_csv(tmp_path / "big.csv", texts, labels), "label")
    assert not panel.source_bar.progress.isHidden()
    qtbot.mouseClick(panel.source_bar.cancel_button, Qt.MouseButton.LeftButton)
    assert app_context.state.running_jobs == 0
    assert panel.source_bar.note.text() == "Scoring cancelled."
    assert panel.paired.name.startswith("Evaluation sets shipped")


def test_cancelling_keeps_the_pairing_error_in_view(panel, qtbot, app_context, tmp_path, tiny):
    set_challenger(app_context, tiny)
    texts, labels = labelled_texts(30_000, seed=6)
    panel.load_labeled_csv(write_labelled_csv(tmp_path / "big.csv", texts, labels), "label")
    panel.cancel_loading()
    assert app_context.state.running_jobs == 0
    assert "share no items" in panel.source_bar.error.text()
    assert panel.view.body.currentIndex() == MESSAGE_BODY


def test_a_new_active_model_is_paired_again(panel, app_context, bundled_scorer, tiny, recalibrated):
    set_challenger(app_context, recalibrated)
    assert panel.paired.champion_label == "abuse-lr 2.0.0"
    activate(app_context, tiny)  # tiny's test set shares nothing with the challenger's
    assert panel.paired is None and "share no items" in panel.source_bar.error.text()
    assert "<b>Champion</b> tiny 0.0.1" in panel.source_bar.models.text()
    activate(app_context, bundled_scorer)
    assert panel.paired.champion_label == "abuse-lr 2.0.0"
    assert panel.view.body.currentIndex() == CONTENT_BODY
    assert panel.source_bar.error.isHidden()


def test_shutdown_stops_following_the_state(panel, app_context, recalibrated):
    panel.shutdown()
    set_challenger(app_context, recalibrated)
    assert panel.view.pages.currentIndex() == NONE_PAGE


def _screenshot(panel, qtbot, name: str) -> None:
    panel.resize(1280, 800)
    panel.show()
    qtbot.waitExposed(panel)
    for canvas in (panel.scatter, panel.champion_matrix, panel.challenger_matrix):
        canvas.draw()
    panel.migration_box.matrix.draw()
    QApplication.processEvents()
    ARTIFACTS.mkdir(exist_ok=True)
    assert panel.grab().save(str(ARTIFACTS / name))


def test_screenshot_at_1280x800(panel, qtbot, app_context, recalibrated):
    set_challenger(app_context, recalibrated)
    _screenshot(panel, qtbot, "compare_panel.png")


def test_screenshot_on_a_labelled_csv(panel, qtbot, app_context, tmp_path, tiny):
    set_challenger(app_context, tiny)
    texts, labels = labelled_texts(800, seed=22)
    panel.load_labeled_csv(write_labelled_csv(tmp_path / "sample.csv", texts, labels), "label")
    qtbot.waitUntil(lambda: panel.paired is not None, timeout=20_000)
    qtbot.waitUntil(lambda: app_context.state.running_jobs == 0)
    _screenshot(panel, qtbot, "compare_panel_csv.png")


def test_the_shipped_pair_1_0_0_and_2_0_0_is_compared_on_the_shared_test_items(
    panel, app_context, v1_scorer, bundled_model_path
):
    """What a supervisor sees when weighing 2.0.0 against 1.0.0 (the README's pairing: 1.0.0
    active, 2.0.0 as challenger): both were trained on the same split, so every held-out item
    pairs; the counts are recomputed here by item id."""
    v2 = Scorer.load(bundled_model_path.parent / "abuse-lr-2.0.0")
    app_context.state.set_scorer(v1_scorer)
    set_challenger(app_context, v2)
    assert panel.view.pages.currentIndex() == COMPARE_PAGE
    champ, chall, labels = by_id_pairing(v1_scorer, v2)
    assert panel.paired.n == len(champ) == 5650
    assert_agreement_shown(panel, champ, chall, 0.45)
    for canvas, scores in ((panel.champion_matrix, champ), (panel.challenger_matrix, chall)):
        expected = ThresholdAnalysis(scores, labels).at(0.45).matrix_abusive_first()
        np.testing.assert_array_equal(canvas.shown_counts(), expected)
    # The README's figures: 2.0.0 catches 34 fewer abusive items at 0.45 for one more false alarm
    caught = [int(np.sum((s >= 0.45) & (labels == 1))) for s in (champ, chall)]
    alarms = [int(np.sum((s >= 0.45) & (labels == 0))) for s in (champ, chall)]
    assert (caught, alarms) == ([3327, 3293], [214, 215])
    panel.resize(1280, 820)
    QApplication.processEvents()
    ARTIFACTS.mkdir(exist_ok=True)
    panel.grab().save(str(ARTIFACTS / "compare_panel_v1_v2.png"))
