"""Batches and exports carry the band (issue 15): the abuse_band column after abuse_label, its
counts in the report and provenance, resume with the same policy only, exports, history, the
results table's band filter and sort, and audit samples drawn from a banded file."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from app.core.analysis.bands import BANDS, BandPolicy
from app.core.analysis.bands import band_codes as analysis_band_codes
from app.core.audit.sample_file import read_sample, write_sample
from app.core.batch.checkpoint import work_paths
from app.core.batch.options import BatchReport, band_threshold_note
from app.core.batch.rows import (
    BAND_COLUMN,
    BAND_NAMES,
    OUTPUT_COLUMNS,
    band_codes,
    score_rows,
)
from app.core.batch.run import BatchOptions, run_batch
from app.core.common.errors import InputError
from app.core.engine.scoring import Scorer
from app.core.results.cache import score_file
from app.core.results.export import export_scored
from app.core.results.history import BatchHistory
from app.core.results.table import ResultsTable, ViewSpec, compute_view, filter_mask

pytestmark = pytest.mark.usefixtures("private_home")  # checkpoints need a workstation key

POLICY = (0.3, 0.7)


@pytest.fixture
def scorer(tiny_training) -> Scorer:
    return Scorer.load(tiny_training.bundle_path)


class _FixedScorer:
    """Gives each text the score written in it ("0.3" scores 0.3), so cut points are exact."""

    version_label = "fixed 1"
    max_chars = 1_000

    def score_many(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        empty = np.array([not t for t in texts])
        scores = np.array([float(t) if t else np.nan for t in texts])
        return scores, np.zeros(len(texts), bool), empty


def test_the_band_rule_is_the_analysis_rule() -> None:
    assert BAND_NAMES == BANDS
    scores = np.r_[np.random.default_rng(1).random(500), 0.3, 0.7, 0.0, 1.0, np.nan]
    for cuts in ((0.3, 0.7), (0.5, 0.5), (0.0, 1.0)):
        assert (band_codes(scores, cuts) == analysis_band_codes(scores, BandPolicy(*cuts))).all()


def test_rows_carry_the_band_after_the_label_and_a_cut_point_is_in_the_higher_band() -> None:
    report = BatchReport("in", "out", "csv")
    texts = ["0.2", "0.3", "0.5", "0.69", "0.7", "0.9", ""]
    rows = [[str(i), t] for i, t in enumerate(texts)]
    out = score_rows(_FixedScorer(), None, rows, 1, 0.45, report, bands=POLICY)  # type: ignore[arg-type]
    # By hand: below 0.3 clear; 0.3 (the review cut) to below 0.7 review; 0.7 and up escalate.
    assert [r[4] for r in out] == [
        "clear",
        "review",
        "review",
        "review",
        "escalate",
        "escalate",
        "",
    ]
    assert [r[3] for r in out] == [
        "benign",
        "benign",
        "abusive",
        "abusive",
        "abusive",
        "abusive",
        "",
    ]
    assert [r[5] for r in out] == ["fixed 1"] * 7 and out[-1][6] == "blank text"
    assert (report.rows_clear, report.rows_review, report.rows_escalate) == (1, 3, 2)
    plain = score_rows(_FixedScorer(), None, rows, 1, 0.45, BatchReport("i", "o", "csv"))  # type: ignore[arg-type]
    assert [len(r) for r in plain] == [2 + len(OUTPUT_COLUMNS)] * 7  # without a policy: unchanged


def _input(path: Path, n: int = 300) -> Path:
    lines = ["id,comment"]
    for i in range(n):
        text = "" if i % 13 == 4 else f"message {i} {'you stupid moron' if i % 3 else 'nice day'}"
        lines.append(f"{i},{text}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _read(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_a_banded_job_reports_and_records_the_policy_and_counts(scorer, tmp_path) -> None:
    src, out = _input(tmp_path / "in.csv"), tmp_path / "scored.csv"
    report = run_batch(scorer, BatchOptions(src, out, 0.45, chunk_rows=40, bands=POLICY))
    rows = _read(out)
    header = list(rows[0])
    assert header[header.index("abuse_label") + 1] == BAND_COLUMN
    expected = {
        name: sum(1 for r in rows if r["abuse_score"] and r[BAND_COLUMN] == name) for name in BANDS
    }
    for r in rows:  # each row's band is its score's, by the rule
        want = (
            ""
            if not r["abuse_score"]
            else BANDS[int(band_codes(np.array([float(r["abuse_score"])]), POLICY)[0])]
        )
        assert r[BAND_COLUMN] == want
    assert report.band_counts() == expected and sum(expected.values()) == report.rows_scored
    provenance = json.loads(Path(f"{out}.provenance.json").read_text())
    assert provenance["bands"] == {"review_at": 0.3, "escalate_at": 0.7, "rows": expected}
    summary = report.summary()
    assert f"bands: {expected['clear']:,} clear, {expected['review']:,} review" in summary
    assert "(review at 0.30, escalate at 0.70)" in summary


def test_resume_keeps_the_policy_or_refuses_a_changed_one(scorer, tmp_path) -> None:
    src = _input(tmp_path / "in.csv", 600)
    (tmp_path / "base").mkdir()
    expected_out = tmp_path / "base" / "scored.csv"
    run_batch(scorer, BatchOptions(src, expected_out, 0.45, chunk_rows=40, bands=POLICY))
    out = tmp_path / "scored.csv"
    calls = {"n": 0}

    def stop(_progress) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_batch(scorer, BatchOptions(src, out, 0.45, chunk_rows=40, bands=POLICY), progress=stop)
    for other, said in (((0.3, 0.8), "escalate at 0.8 now"), (None, "none now")):
        with pytest.raises(InputError, match="band policy changed") as err:
            run_batch(scorer, BatchOptions(src, out, 0.45, chunk_rows=40, bands=other), resume=True)
        assert said in str(err.value) and "\n" not in str(err.value)
    assert all(p.exists() for p in work_paths(out))  # the work is kept for the user to decide
    report = run_batch(
        scorer, BatchOptions(src, out, 0.45, chunk_rows=40, bands=POLICY), resume=True
    )
    assert out.read_bytes() == expected_out.read_bytes()
    assert sum(report.band_counts().values()) == report.rows_scored


def test_an_unbanded_checkpoint_refuses_a_banded_resume(scorer, tmp_path) -> None:
    src, out = _input(tmp_path / "in.csv", 600), tmp_path / "scored.csv"
    calls = {"n": 0}

    def stop(_progress) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_batch(scorer, BatchOptions(src, out, 0.45, chunk_rows=40), progress=stop)
    with pytest.raises(InputError, match=r"band policy changed \(none then"):
        run_batch(scorer, BatchOptions(src, out, 0.45, chunk_rows=40, bands=POLICY), resume=True)


@pytest.fixture
def banded(scorer, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text(
        "id,text,class\n1,you stupid moron,1\n2,,0\n3,lovely sunny garden,0\n4,idiot,1\n",
        encoding="utf-8",
    )
    options = BatchOptions(src, tmp_path / "cache.csv", 0.45, text_column="text", bands=POLICY)
    return score_file(scorer, options, "class")


def test_exports_carry_the_band_in_csv_and_xlsx(banded, tmp_path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    table, report = banded.table, banded.report
    assert table.bands == POLICY
    codes = table.band_codes()
    assert codes is not None
    names = [BANDS[c] if c >= 0 else "" for c in codes.tolist()]
    csv_out, xlsx_out = tmp_path / "e.csv", tmp_path / "e.xlsx"
    # Relabelled at 0.95: the labels change, the bands (the policy's) do not.
    export_scored(banded.cache_path, csv_out, "csv", report=report, threshold=0.95)
    rows = _read(csv_out)
    assert list(rows[0])[3:6] == ["abuse_score", "abuse_label", BAND_COLUMN]
    assert [r[BAND_COLUMN] for r in rows] == names
    assert [r["abuse_label"] for r in rows] == [
        "" if not r["abuse_score"] else "abusive" if float(r["abuse_score"]) >= 0.95 else "benign"
        for r in rows
    ]
    export_scored(banded.cache_path, xlsx_out, "xlsx", report=report, threshold=0.45)
    book = openpyxl.load_workbook(xlsx_out)
    values = [[c.value for c in row] for row in book["scored"].iter_rows()]
    assert values[0][3:7] == ["abuse_score", "abuse_label", BAND_COLUMN, "model_version"]
    assert [v[5] or "" for v in values[1:]] == names
    provenance = {r[0].value: r[1].value for r in book["provenance"].iter_rows()}
    assert "review_at" in str(provenance["bands"])


def test_a_banded_challenger_export_relabels_the_right_columns(scorer, tmp_path) -> None:
    src = _input(tmp_path / "in.csv", 20)
    options = BatchOptions(src, tmp_path / "cache.csv", 0.45, bands=POLICY)
    result = score_file(scorer, options, None, challenger=scorer)
    assert result.table.challenger_scores is not None
    assert np.array_equal(result.table.challenger_scores, result.table.scores, equal_nan=True)
    dest = tmp_path / "e.csv"
    export_scored(result.cache_path, dest, "csv", report=result.report, threshold=0.45)
    rows = _read(dest)
    assert all(r["challenger_label"] == r["abuse_label"] for r in rows)
    assert all(r["challenger_score"] == r["abuse_score"] for r in rows)


def test_history_reopens_the_band_and_old_entries_without_one(banded, tmp_path) -> None:
    history = BatchHistory(tmp_path / "jobs" / "history")
    entry = history.record(banded, keep=5, input_size=1)
    assert entry is not None
    again = history.load(entry)
    assert again.table.bands == POLICY and again.report.bands == list(POLICY)
    assert again.report.band_counts() == banded.report.band_counts()
    # An entry written before bands existed: its report has no band fields.
    report_path = history.folder(entry.id) / "report.json"
    data = json.loads(report_path.read_text())
    for key in ("bands", "rows_clear", "rows_review", "rows_escalate"):
        data.pop(key)
    report_path.write_text(json.dumps(data))
    old = history.load(entry)
    assert old.table.bands is None and old.report.bands == [] and old.report.band_line() == ""
    data["bands"], data["rows_clear"] = [0.9, 0.1], 0  # crossed: a damaged report is refused
    report_path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="bands"):
        history.load(entry)


def test_the_table_filters_and_sorts_by_band() -> None:
    table = ResultsTable.from_arrays(
        [2, 3, 4, 5, 6, 7], [0.9, 0.1, 0.3, np.nan, 0.7, 0.5], list("abcdef"), bands=POLICY
    )
    assert filter_mask(table, ViewSpec(band="review"), 0.45).tolist() == [0, 0, 1, 0, 0, 1]
    assert filter_mask(table, ViewSpec(band="escalate"), 0.45).tolist() == [1, 0, 0, 0, 1, 0]
    assert compute_view(table, ViewSpec(sort_key="band"), 0.45).tolist() == [1, 2, 5, 0, 4, 3]
    assert compute_view(table, ViewSpec(sort_key="band", descending=True), 0.45).tolist() == [
        0, 4, 2, 5, 1, 3,
    ]  # fmt: skip
    assert ViewSpec(band="review").describe() == "band review"
    plain = ResultsTable.from_arrays([2], [0.9], ["a"])
    assert not filter_mask(plain, ViewSpec(band="review"), 0.45).any()


def test_an_audit_sample_of_a_banded_file(scorer, tmp_path) -> None:
    src, out = _input(tmp_path / "in.csv", 200), tmp_path / "scored.csv"
    run_batch(scorer, BatchOptions(src, out, 0.45, bands=POLICY))
    sample = tmp_path / "sample.csv"
    written = write_sample(out, sample, size=40, seed=3, threshold=0.45)
    read = read_sample(sample)
    assert read.text_column == "comment" and len(read.rows) == written.rows_written
    assert BAND_COLUMN in read.header
    scored = {r["id"]: r for r in _read(out)}
    for row in _read(sample):  # every row's band travels with it
        assert row[BAND_COLUMN] == scored[row["id"]][BAND_COLUMN]


def test_the_note_when_policy_and_threshold_disagree() -> None:
    assert band_threshold_note(0.45, (0.3, 0.7)) == ""
    assert band_threshold_note(0.45, (0.45, 0.45)) == ""
    low = band_threshold_note(0.45, (0.2, 0.4))
    assert "escalate cut 0.40 is below the threshold 0.45" in low and "labelled benign" in low
    high = band_threshold_note(0.45, (0.5, 0.8))
    assert "review cut 0.50 is above the threshold 0.45" in high and "cleared" in high


def test_a_signed_checkpoint_whose_bands_do_not_add_up_is_not_believed(scorer, tmp_path) -> None:
    from app.core.batch import checkpoint_schema as schema
    from app.core.batch.checkpoint import workstation_key

    src, out = _input(tmp_path / "in.csv", 600), tmp_path / "scored.csv"
    calls = {"n": 0}

    def stop(_progress) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt

    options = BatchOptions(src, out, 0.45, chunk_rows=40, bands=POLICY)
    with pytest.raises(KeyboardInterrupt):
        run_batch(scorer, options, progress=stop)
    path = work_paths(out)[1]
    key = schema.mac_key(workstation_key())
    for damage in ({"rows_clear": 10**6}, {"bands": [0.9, 0.1]}):
        body = json.loads(path.read_text())
        if "bands" in damage:
            body["job"]["bands"] = damage["bands"]
        else:
            body["ledger"].update(damage)
        body["mac"] = schema.sign(body, key)  # even with a valid MAC (the workstation's key)
        with pytest.raises(schema.BadCheckpoint, match="band"):
            schema.parse(json.dumps(body).encode(), key)
    notes: list[str] = []
    run_batch(scorer, options, resume=True, notice=notes.append)  # the sound one resumes
    assert any("resuming" in n for n in notes)
