"""Batch scoring modes: fast, cascade (the band's rows re-scored by the encoder) and thorough;
their refusals, checkpoints that never mix modes, cancel, and where the models come from."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from app.core.batch import run as batch_run
from app.core.batch.cascade import MODES, cascade_scores
from app.core.batch.checkpoint import work_paths
from app.core.batch.options import summary_counts
from app.core.batch.run import BatchOptions, run_batch
from app.core.bundles.signing import TrustStore, sign_bundle
from app.core.common.errors import InputError, JobCancelled, ModelError
from app.core.context.engines import NO_ENCODER, mode_problems, mode_scorers
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

pytestmark = pytest.mark.usefixtures("private_home")  # checkpoints need a workstation key

CHUNK = 25
BLANK_EVERY = 13


class Interrupt(Exception):
    pass


@pytest.fixture(scope="module")
def fast() -> Scorer:
    return Scorer.load(FAST_FOLDER)


@pytest.fixture(scope="module")
def rows() -> list[str]:
    return texts(120)


@pytest.fixture(scope="module")
def band(fast, rows) -> tuple[float, float]:
    return band_for(fast, rows)


@pytest.fixture(scope="module")
def encoder(fast, band, tmp_path_factory) -> Scorer:
    return Scorer.load(write_encoder(tmp_path_factory.mktemp("enc"), fast, band))


def _options(src: Path, out: Path, **kw) -> BatchOptions:
    return BatchOptions(src, out, threshold=0.45, chunk_rows=CHUNK, **kw)


def _read(out: Path) -> list[dict[str, str]]:
    with open(out, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_the_runtime_rule_is_the_training_rule():
    from app.core.training.mini_cascade import cascade_scores as training_rule

    rng = np.random.default_rng(1)
    fast, thorough = rng.uniform(0, 1, 500), rng.uniform(0, 1, 500)
    fast[:5] = [0.2, 0.6, np.nan, 0.2 - 1e-12, 0.6 + 1e-12]
    for low, high in [(0.2, 0.6), (0.0, 0.0), (0.0, 1.0)]:
        np.testing.assert_array_equal(
            cascade_scores(fast, thorough, low, high), training_rule(fast, thorough, low, high)
        )


def test_cascade_rescores_exactly_the_rows_in_the_band(fast, encoder, band, rows, tmp_path):
    src = write_csv(tmp_path / "in.csv", rows, blank_every=BLANK_EVERY)
    out = tmp_path / "out.csv"
    report = run_batch(fast, _options(src, out), rescorer=encoder)
    low, high = band
    got = _read(out)
    assert len(got) == len(rows)
    expected_rescored = differ = 0
    for i, (text, row) in enumerate(zip(rows, got, strict=True)):
        if i % BLANK_EVERY == 0:  # blank text: no score, never in the band
            assert row["abuse_score"] == "" and row["model_version"] == fast.version_label
            continue
        fast_score = float(fast.score_many([text])[0][0])
        if low <= fast_score <= high:
            expected_rescored += 1
            want = float(encoder.score_many([text])[0][0])
            assert row["model_version"] == encoder.version_label
            differ += abs(want - fast_score) > 1e-3
            tolerance = 1e-6  # float32 sums vary with the padding of the batch a text is in
        else:
            want = fast_score
            assert row["model_version"] == fast.version_label
            tolerance = 1e-12
        assert float(row["abuse_score"]) == pytest.approx(want, abs=tolerance)
        assert row["abuse_label"] == ("abusive" if want >= 0.45 else "benign")
    blanks = len(range(0, len(rows), BLANK_EVERY))
    assert 0 < expected_rescored < len(rows) - blanks  # the band holds some rows, not all
    assert differ > expected_rescored // 2  # the encoder's scores, not the fast ones again
    assert report.rows_rescored == expected_rescored
    assert report.mode == "cascade" and report.rescored_by == encoder.version_label
    assert report.model_version == fast.version_label
    line = f"{expected_rescored:,} rows re-scored by {encoder.version_label}"
    assert line in report.summary()
    assert summary_counts(report)["rows_rescored"] == expected_rescored
    provenance = json.loads(Path(f"{out}.provenance.json").read_text())
    assert provenance["mode"] == "cascade"
    assert provenance["cascade"]["rows_rescored"] == expected_rescored
    assert provenance["cascade"]["low"] == low and provenance["cascade"]["high"] == high


def test_fast_mode_is_unchanged_and_says_nothing_of_modes(fast, rows, tmp_path):
    src = write_csv(tmp_path / "in.csv", rows)
    report = run_batch(fast, _options(src, tmp_path / "out.csv"))
    assert report.mode == "fast" and report.rows_rescored == 0 and not report.rescored_line()
    assert "re-scored" not in report.summary()
    provenance = json.loads(Path(f"{tmp_path / 'out.csv'}.provenance.json").read_text())
    assert "mode" not in provenance and "cascade" not in provenance
    assert "rows_rescored" not in summary_counts(report)


def test_thorough_scores_every_row_in_this_process(encoder, rows, tmp_path, monkeypatch):
    def no_pool(*_args, **_kw):
        raise AssertionError("an encoder job must not start worker processes")

    monkeypatch.setattr(batch_run, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr("app.core.batch.parallel.ChunkScorer", no_pool)
    src = write_csv(tmp_path / "in.csv", rows)
    out = tmp_path / "out.csv"
    report = run_batch(encoder, _options(src, out, workers=4))
    want = encoder.score_many(rows)[0]
    got = _read(out)
    assert [float(r["abuse_score"]) for r in got] == pytest.approx(want.tolist(), abs=1e-6)
    assert {r["model_version"] for r in got} == {encoder.version_label}
    assert report.mode == "thorough" and report.rows_rescored == 0
    assert json.loads(Path(f"{out}.provenance.json").read_text())["mode"] == "thorough"


def test_cascade_with_worker_processes_writes_the_same_bytes(
    fast, encoder, rows, tmp_path, monkeypatch
):
    src = write_csv(tmp_path / "in.csv", rows * 3, blank_every=BLANK_EVERY)
    one, many = tmp_path / "one.csv", tmp_path / "many.csv"
    first = run_batch(fast, _options(src, one), rescorer=encoder, checkpoint=False)
    monkeypatch.setattr(batch_run, "PARALLEL_MIN_BYTES", 0)
    second = run_batch(fast, _options(src, many, workers=2), rescorer=encoder, checkpoint=False)
    assert one.read_bytes() == many.read_bytes()
    assert first.rows_rescored == second.rows_rescored > 0


def test_a_band_chosen_for_another_fast_model_is_refused(encoder, tmp_path, rows):
    other = Scorer.load(OTHER_FAST_FOLDER)
    src = write_csv(tmp_path / "in.csv", rows)
    with pytest.raises(ModelError) as caught:
        run_batch(other, _options(src, tmp_path / "out.csv"), rescorer=encoder)
    message = str(caught.value)
    assert "\n" not in message
    assert other.version_label in message and encoder.version_label in message
    assert "abuse-lr 2.0.0" in message  # the model the band was chosen for
    assert not (tmp_path / "out.csv").exists()


def test_a_band_for_another_build_of_the_same_version_names_both_hashes():
    """Same name, other bytes: the refusal says the hashes differ (not "for X, not for X")."""
    from types import SimpleNamespace

    from app.core.batch.cascade import cascade_band

    section = {"fast_model": "abuse-lr 2.0.0", "fast_manifest_sha256": "a" * 64, "low": 0.1,
               "high": 0.2}  # fmt: skip
    thorough = SimpleNamespace(
        json_files={"classifier.json": {"cascade": section}}, engine="encoder", label="abuse-mini 1"
    )
    fast = SimpleNamespace(engine="linear", label="abuse-lr 2.0.0", manifest_sha256="b" * 64)
    with pytest.raises(ModelError) as caught:
        cascade_band(fast, thorough)
    message = str(caught.value)
    assert (
        "(manifest SHA-256 aaaaaaaaaaaa…), not for this abuse-lr 2.0.0 (bbbbbbbbbbbb…)" in message
    )


def test_an_encoder_without_a_band_is_refused_for_cascade(fast, tmp_path, rows, band):
    plain = Scorer.load(write_encoder(tmp_path, None, band, version="0.0.2"))
    src = write_csv(tmp_path / "in.csv", rows)
    with pytest.raises(ModelError, match="has no cascade band"):
        run_batch(fast, _options(src, tmp_path / "out.csv"), rescorer=plain)


def _interrupt(scorer: Scorer, options: BatchOptions, **kw) -> None:
    def progress(p) -> None:
        if p.rows_read >= 2 * CHUNK:
            raise Interrupt

    with pytest.raises(Interrupt):
        run_batch(scorer, options, progress=progress, **kw)


def test_resume_continues_a_cascade_job_byte_identical(fast, encoder, rows, tmp_path):
    src = write_csv(tmp_path / "in.csv", rows, blank_every=BLANK_EVERY)
    whole = run_batch(fast, _options(src, tmp_path / "whole.csv"), rescorer=encoder)
    out = tmp_path / "out.csv"
    _interrupt(fast, _options(src, out), rescorer=encoder)
    resumed = run_batch(fast, _options(src, out), rescorer=encoder, resume=True)
    assert out.read_bytes() == (tmp_path / "whole.csv").read_bytes()
    assert resumed.rows_rescored == whole.rows_rescored > 0


@pytest.mark.parametrize(
    ("then", "now", "words"),
    [
        ("cascade", "fast", "scoring mode changed (cascade then, fast now)"),
        ("fast", "cascade", "scoring mode changed (fast then, cascade now)"),
        ("fast", "thorough", "scoring mode changed (fast then, thorough now)"),
    ],
)
def test_a_checkpoint_never_resumes_in_another_mode(
    fast, encoder, rows, tmp_path, then, now, words
):
    def args(mode: str) -> tuple[Scorer, dict]:
        if mode == "thorough":
            return encoder, {}
        return fast, ({"rescorer": encoder} if mode == "cascade" else {})

    src = write_csv(tmp_path / "in.csv", rows)
    out = tmp_path / "out.csv"
    scorer, kw = args(then)
    _interrupt(scorer, _options(src, out), **kw)
    scorer, kw = args(now)
    with pytest.raises(InputError) as caught:
        run_batch(scorer, _options(src, out), resume=True, **kw)
    assert words in str(caught.value) and "\n" not in str(caught.value)
    assert all(path.exists() for path in work_paths(out))  # the work is kept for the user


def test_cancel_mid_cascade_leaves_nothing(fast, encoder, rows, tmp_path):
    src = write_csv(tmp_path / "in.csv", rows)
    progress: list[int] = []

    def cancelled() -> bool:  # after the first chunk (whose band rows the encoder scored)
        return bool(progress)

    with pytest.raises(JobCancelled):
        run_batch(
            fast,
            _options(src, tmp_path / "out.csv"),
            progress=lambda p: progress.append(p.rows_read),
            cancelled=cancelled,
            rescorer=encoder,
        )
    assert list(tmp_path.iterdir()) == [src]
    assert progress == [CHUNK]


# --- where the models come from -------------------------------------------------------------


@pytest.fixture(scope="module")
def bundled_copy(tmp_path_factory) -> Path:
    """The bundled linear models alone (a real abuse-mini in models/ must not change these
    tests)."""
    folder = tmp_path_factory.mktemp("bundled")
    for source in (FAST_FOLDER, OTHER_FAST_FOLDER):
        shutil.copytree(source, folder / source.name)
    return folder


def _registry(bundled: Path, user: Path, keys: Path) -> ModelRegistry:
    trust = TrustStore.load(
        [Path(__file__).resolve().parents[1] / "resources" / "trusted_keys", keys]
    )
    return ModelRegistry(bundled, user, trust)


def test_without_an_encoder_thorough_and_cascade_are_refused(
    bundled_copy, tmp_path, fast, signing_key
):
    registry = _registry(bundled_copy, tmp_path / "user", signing_key[1])
    assert mode_scorers(registry, fast, "fast") == (fast, None)
    for mode in ("thorough", "cascade"):
        with pytest.raises(ModelError, match=re.escape(f"{mode} refused: {NO_ENCODER}")):
            mode_scorers(registry, fast, mode)
    assert mode_problems(registry, fast) == {
        "fast": "",
        "cascade": NO_ENCODER,
        "thorough": NO_ENCODER,
    }


def test_modes_resolve_to_the_right_models(bundled_copy, tmp_path, fast, band, signing_key):
    user = tmp_path / "user"
    old = write_encoder(user, fast, band, version="0.0.1")
    new = write_encoder(user, fast, band, version="0.0.10")  # newer by version, not by name
    for folder in (old, new):
        sign_bundle(folder, signing_key[0])
    registry = _registry(bundled_copy, user, signing_key[1])
    scorer, rescorer = mode_scorers(registry, fast, "cascade")
    assert scorer is fast and rescorer is not None and rescorer.bundle.path == new
    thorough, none = mode_scorers(registry, fast, "thorough")
    assert thorough.bundle.path == new and none is None
    assert mode_problems(registry, fast) == dict.fromkeys(MODES, "")
    # An encoder active: fast is the default bundled model, thorough the active one.
    active = registry.load(old)
    default = registry.default_bundled()
    fast_scorer, _ = mode_scorers(registry, active, "fast")
    assert fast_scorer.bundle.path.name == default.name
    assert mode_scorers(registry, active, "thorough")[0] is active
    # The band was chosen for 2.0.0: with 1.0.0 active, cascade is refused, naming both.
    other = Scorer.load(OTHER_FAST_FOLDER)
    problem = mode_problems(registry, other)["cascade"]
    assert other.version_label in problem and "abuse-mini 0.0.10" in problem
    with pytest.raises(ModelError, match="cascade refused"):
        mode_scorers(registry, other, "cascade")


def test_the_history_keeps_a_cascade_report_and_refuses_an_unknown_mode(
    fast, encoder, rows, tmp_path
):
    from app.core.results.history_files import load_report, save_report

    src = write_csv(tmp_path / "in.csv", rows)
    report = run_batch(fast, _options(src, tmp_path / "out.csv"), rescorer=encoder)
    save_report(report, tmp_path / "report.json")
    again = load_report(tmp_path / "report.json")
    assert again.rescored_line() == report.rescored_line() and again.mode == "cascade"
    data = json.loads((tmp_path / "report.json").read_text())
    data["mode"] = "turbo"
    (tmp_path / "report.json").write_text(json.dumps(data))
    with pytest.raises(ValueError, match="mode"):
        load_report(tmp_path / "report.json")


def _mode_turbo(data):
    data["job"]["mode"] = "turbo"


def _no_rescorer(data):
    del data["job"]["rescorer"]


def _too_many_rescored(data):
    data["ledger"]["rows_rescored"] = data["ledger"]["rows_scored"] + 1


def _no_rescored_count(data):
    del data["ledger"]["rows_rescored"]


def _band_out_of_range(data):
    data["job"]["rescorer"]["low"] = 2


@pytest.mark.parametrize(
    "edit",
    [_mode_turbo, _no_rescorer, _too_many_rescored, _no_rescored_count, _band_out_of_range],
)
def test_a_resigned_cascade_checkpoint_is_checked_field_by_field(
    fast, encoder, rows, tmp_path, edit
):
    from app.core.batch import checkpoint_schema
    from app.core.batch.checkpoint import workstation_key

    src = write_csv(tmp_path / "in.csv", rows)
    out = tmp_path / "out.csv"
    _interrupt(fast, _options(src, out), rescorer=encoder)
    path = work_paths(out)[1]
    data = json.loads(path.read_text())
    key = workstation_key()
    checkpoint_schema.parse(json.dumps(data).encode(), key)  # sound as written
    edit(data)
    data["mac"] = checkpoint_schema.sign(data, key)
    with pytest.raises(checkpoint_schema.BadCheckpoint):
        checkpoint_schema.parse(json.dumps(data).encode(), key)
