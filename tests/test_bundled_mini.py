"""The shipped thorough engine, abuse-mini 1.0.0: signed by the training key, checked like any
bundle, batched with bit-exact scores, its manifest's figures reproduced from its own arrays and
templates, its cascade band tied to the bundled fast model, its model card rendered from its
manifest; and the Score, Batch (three modes), Models and Compare panels at work with it, with
screenshots at 1280x800 and 1024x700 (tests/_artifacts/mini_*.png)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from app.core.analysis.thresholds import ThresholdAnalysis
from app.core.bundles.bundle import SIGNATURE_NAME, load_verified
from app.core.bundles.signing import TrustStore, check_signature
from app.core.engine.occlusion import OCCLUSION
from app.core.engine.result_view import terms_header
from app.core.engine.scoring import Scorer
from app.core.training.identity_terms import evaluation_set
from app.core.training.mini_weights import OFFICIAL_SAFETENSORS_SHA256
from app.core.training.report import identity_bias
from tests.conftest import REPO
from tests.test_ui_score_encoder import settled

MINI = REPO / "models" / "abuse-mini-1.0.0"
FAST = REPO / "models" / "abuse-lr-2.0.0"
ARTIFACTS = Path(__file__).resolve().parent / "_artifacts"


@pytest.fixture(scope="module")
def mini() -> Scorer:
    return Scorer.load(MINI)


def test_signed_by_the_training_key_and_read_as_an_encoder(mini):
    trust = TrustStore.load([REPO / "resources" / "trusted_keys"])
    manifest, signature = (
        (MINI / "manifest.json").read_bytes(),
        (MINI / SIGNATURE_NAME).read_bytes(),
    )
    status = check_signature(MINI, manifest, signature, trust, allow_unsigned=False)
    assert status.signed and status.key_name == "abuse-desk-training-2026-12"
    assert mini.engine == "encoder" and mini.version_label == "abuse-mini 1.0.0"
    base = mini.bundle.manifest["training"]["base_model"]
    assert base["safetensors_sha256"] == OFFICIAL_SAFETENSORS_SHA256
    assert "Apache License" in (MINI / "BASE_MODEL_LICENSE.md").read_text(encoding="utf-8")


def test_batches_with_each_texts_own_bits_and_ranks_the_obvious(mini):
    assert mini.model.batched  # the shipped graph passes the batching probe
    texts = [
        "you are a pathetic idiot and everyone hates you",
        "thank you so much for the lovely lunch today",
        "shut up you stupid b*tch",
        "my neighbours are gay and they are lovely people",
        "what a great game last night",
    ]
    together = mini.model.predict_proba(texts * 2)
    alone = np.array([mini.model.predict_proba([t])[0] for t in texts])
    np.testing.assert_array_equal(together[: len(texts)], alone)
    np.testing.assert_array_equal(together[len(texts) :], alone)
    assert min(alone[[0, 2]]) > 0.5 > max(alone[[1, 3, 4]])


def test_test_metrics_and_calibration_are_reproduced_from_its_arrays(mini):
    from app.core.analysis.calibration import expected_calibration_error

    metrics = mini.bundle.manifest["metrics"]
    arrays = mini.bundle.arrays
    for origin in ("davidson", "olid"):
        mask = arrays["eval_origin.npy"] == origin
        scores, labels = arrays["eval_scores.npy"][mask], arrays["eval_labels.npy"][mask]
        assert ThresholdAnalysis(scores, labels).roc_auc() == pytest.approx(
            metrics["test"][origin]["auc"], abs=1e-12
        )
        assert expected_calibration_error(scores, labels) == pytest.approx(
            metrics["ece_by_origin"][origin], abs=1e-12
        )
    export = mini.bundle.manifest["training"]["export"]
    for origin, int8_auc in export["test_auc_int8_by_origin"].items():
        assert abs(int8_auc - export["test_auc_fp32_by_origin"][origin]) <= 0.005


def test_identity_term_figures_are_what_the_model_gives(mini):
    claimed = mini.bundle.manifest["metrics"]["identity_terms"]
    texts, labels, groups = evaluation_set()
    measured = identity_bias(mini.score_many(texts)[0], labels, groups, claimed["overall_fpr"])
    for key in ("benign_items", "abusive_items", "benign_fpr", "abusive_tpr", "ratio"):
        assert measured[key] == pytest.approx(claimed[key], abs=1e-9), key
    assert measured["ratio"] <= 1.5


def test_the_cascade_band_is_for_the_bundled_fast_model(mini):
    cascade = mini.model.cascade
    assert cascade is not None and 0 < cascade["low"] < cascade["high"] < 1
    assert cascade["fast_manifest_sha256"] == load_verified(FAST).manifest_sha256


def test_the_model_card_is_rendered_from_the_manifest(mini):
    from app.core.training.mini_card import render_mini_card

    arrays = mini.bundle.arrays
    card = render_mini_card(
        mini.bundle.manifest,
        arrays["eval_scores.npy"],
        arrays["eval_labels.npy"],
        mini.model.cascade,
    )
    assert card == (MINI / "MODEL_CARD.md").read_text(encoding="utf-8")


LOG_TEXTS = (
    "you are a stupid idiot",
    "thanks for the lovely lunch",
    "that game last night was sick",
    "shut up already",
    "go away nobody asked you",
    "my neighbours are gay and lovely",
    "this referee is a joke",
    "what a dumb take lol",
    "I hate mondays so much",
    "you people never learn",
)  # fast scores from 0.03 to 1.0: some fall in the cascade band, some outside it


def _csv(path: Path, rows: int) -> Path:
    lines = ["id,text"] + [f"{i},{LOG_TEXTS[i % len(LOG_TEXTS)]} {i}" for i in range(rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_score_modes_from_the_command_line(tmp_path, monkeypatch):
    from app.cli.main import main

    monkeypatch.setenv("ABUSE_DESK_HOME", str(tmp_path / "home"))
    src = _csv(tmp_path / "in.csv", 120)
    for mode in ("fast", "cascade", "thorough"):
        out = tmp_path / f"{mode}.csv"
        assert main(["score", str(src), "-o", str(out), "--mode", mode, "--quiet"]) == 0
        with open(out, encoding="utf-8-sig", newline="") as fh:
            versions = {row["model_version"] for row in csv.DictReader(fh)}
        expected = {
            "fast": {"abuse-lr 2.0.0"},
            "thorough": {"abuse-mini 1.0.0"},
        }.get(mode)
        if expected is not None:
            assert versions == expected, mode
        else:
            assert "abuse-lr 2.0.0" in versions, versions


@pytest.fixture(params=[(1280, 800), (1024, 700)], ids=["1280x800", "1024x700"])
def size(request):
    return request.param


def test_panels_with_abuse_mini_and_screenshots(
    qtbot, registry_context, worker_pool, monkeypatch, tmp_path, size, mini
):
    """Score with occlusion, a cascade batch, the Models table and Compare (abuse-mini as the
    challenger of the fast model, item by item on the same test part)."""
    from app.core.context.model_switch import set_challenger
    from tests.main_window import shown_main_window

    window = shown_main_window(qtbot, registry_context, worker_pool, monkeypatch)
    window.resize(*size)
    suffix = "" if size == (1280, 800) else f"_{size[0]}x{size[1]}"
    ARTIFACTS.mkdir(exist_ok=True)

    def shot(panel, name: str) -> None:
        window.tabs.setCurrentWidget(panel)
        qtbot.wait(50)
        image = window.grab()
        assert (image.width(), image.height()) == size, name
        assert image.save(str(ARTIFACTS / f"mini_{name}{suffix}.png"))

    registry_context.state.set_scorer(mini)
    text = "Shut up, you pathetic idiot. Nobody wants you here."
    window.score.editor.setPlainText(text)
    window.score.score_now()
    settled(qtbot, window.score, text)
    assert window.score.terms.horizontalHeaderItem(1).text() == terms_header(OCCLUSION)
    assert window.score.result.score > 0.5
    shot(window.score, "score")

    registry_context.state.set_scorer(Scorer.load(FAST))
    window.tabs.setCurrentWidget(window.batch)
    qtbot.waitUntil(lambda: window.batch.mode_box.is_enabled("cascade"), timeout=30_000)
    window.batch.mode_box.set_mode("cascade")
    window.batch.open_file(_csv(tmp_path / "log.csv", 400))
    with qtbot.waitSignal(window.batch.job_done, timeout=120_000) as blocker:
        window.batch.start()
    assert blocker.args[1] == "done", window.batch.status.text()
    report = window.batch.shown.result.report
    assert report.mode == "cascade" and 0 < report.rows_rescored < 400
    assert (
        f"{report.rows_rescored:,} rows re-scored by abuse-mini 1.0.0" in window.batch.status.text()
    )
    shot(window.batch, "batch_cascade")

    set_challenger(registry_context, mini)
    shot(window.compare_tab, "compare")
    qtbot.waitUntil(lambda: window.compare.paired is not None, timeout=30_000)
    shot(window.compare_tab, "compare")
    shot(window.models, "models")
