"""Challenger shadow scoring in batch jobs: extra columns, disagreements, provenance, resume,
exports. The challenger decides nothing: the active model's cells are as without it."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

from app.core.batch.checkpoint import work_paths
from app.core.batch.options import summary_counts
from app.core.batch.rows import CHALLENGER_COLUMNS
from app.core.batch.run import OUTPUT_COLUMNS, BatchOptions, run_batch
from app.core.common.errors import InputError
from app.core.engine.scoring import Scorer, label_for
from app.core.results.cache import score_file
from app.core.results.export import export_scored
from app.core.results.table import ViewSpec, compute_view

pytestmark = pytest.mark.usefixtures("private_home")  # checkpoints need a workstation key

CHUNK = 40


class Interrupt(Exception):
    pass


@pytest.fixture(scope="module")
def challenger(tiny_training) -> Scorer:
    return Scorer.load(tiny_training.bundle_path)


@pytest.fixture
def scorer(bundled_scorer) -> Scorer:
    return bundled_scorer


def _input(path: Path, n: int = 300) -> Path:
    """Rows of every kind (rejected, blank line, blank text, formula) across chunk boundaries."""
    words = ["you stupid moron", "nice day", "what an idiot", "lovely garden", "dumb meeting"]
    lines = ["id,comment,channel"]
    for i in range(n):
        kind = i % 11
        if kind == 3:
            lines.append(f"{i},too,many,fields")
        elif kind == 5:
            lines.append("")
        elif kind == 7:
            lines.append(f"{i},,chat")
        elif kind == 10:
            lines.append(f'{i},=HYPERLINK("http://x/{i}"),chat')
        else:
            lines.append(f"{i},message {i} {words[i % len(words)]},chat")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


def _options(src: Path, out: Path, threshold: float = 0.45) -> BatchOptions:
    return BatchOptions(src, out, threshold=threshold, chunk_rows=CHUNK)


def _sidecar(out: Path) -> dict[str, object]:
    return json.loads(Path(f"{out}.provenance.json").read_text())


def _texts(rows: list[dict[str, str]]) -> list[str]:
    return [row["comment"] for row in rows]


def test_columns_and_values_are_each_models_own_scores(scorer, challenger, tmp_path):
    src = _input(tmp_path / "in.csv")
    out = tmp_path / "out.csv"
    report = run_batch(scorer, _options(src, out), challenger=challenger)
    header, rows = _read(out)
    assert header == ["id", "comment", "channel", *OUTPUT_COLUMNS, *CHALLENGER_COLUMNS]
    texts = [row["comment"].removeprefix("'") for row in rows]  # undo formula neutralising
    mine, _, empty = scorer.score_many(texts)
    theirs, _, _ = challenger.score_many(texts)
    assert empty.any() and report.rows_written == len(rows)
    for row, a, b, blank in zip(rows, mine.tolist(), theirs.tolist(), empty.tolist(), strict=True):
        if blank:  # blank text: blank challenger cells
            assert row["abuse_note"] == "blank text"
            assert row["challenger_score"] == row["challenger_label"] == ""
            assert row["challenger_version"] == ""
            continue
        assert float(row["abuse_score"]) == a and row["abuse_label"] == label_for(a, 0.45)
        assert float(row["challenger_score"]) == b
        assert row["challenger_label"] == label_for(b, 0.45)
        assert row["challenger_version"] == challenger.version_label


def test_the_active_models_output_does_not_change(scorer, challenger, tmp_path):
    src = _input(tmp_path / "in.csv")
    plain, shadowed, none = tmp_path / "plain.csv", tmp_path / "shadowed.csv", tmp_path / "n.csv"
    without = run_batch(scorer, _options(src, plain))
    run_batch(scorer, _options(src, none), challenger=None)
    with_it = run_batch(scorer, _options(src, shadowed), challenger=challenger)
    assert plain.read_bytes() == none.read_bytes()
    plain_header, plain_rows = _read(plain)
    _, shadow_rows = _read(shadowed)
    assert [{k: r[k] for k in plain_header} for r in shadow_rows] == plain_rows
    for key in ("rows_read", "rows_scored", "rows_flagged", "rows_blank", "rows_rejected"):
        assert getattr(with_it, key) == getattr(without, key)
    assert without.rows_disagreeing == 0 and without.challenger_version == ""
    assert "challenger" not in " ".join(_sidecar(plain)) and "challenger" not in without.summary()
    assert "rows_disagreeing" not in summary_counts(without)


def test_disagreements_equal_a_direct_count(scorer, challenger, tmp_path):
    src = _input(tmp_path / "in.csv", n=500)
    out = tmp_path / "out.csv"
    report = run_batch(scorer, _options(src, out, threshold=0.5), challenger=challenger)
    _, rows = _read(out)
    scored = [r for r in rows if r["abuse_score"]]
    direct = sum(r["abuse_label"] != r["challenger_label"] for r in scored)
    assert direct > 0 and report.rows_disagreeing == direct
    assert report.rows_disagreeing < report.rows_scored == len(scored)
    assert f"disagrees on {direct:,} of {len(scored):,}" in report.summary()
    assert summary_counts(report)["rows_disagreeing"] == direct


def test_provenance_names_the_challenger(scorer, challenger, tmp_path):
    src = _input(tmp_path / "in.csv", n=50)
    out = tmp_path / "out.csv"
    report = run_batch(scorer, _options(src, out), challenger=challenger)
    provenance = _sidecar(out)
    assert provenance["model_version"] == scorer.version_label
    assert provenance["challenger_version"] == challenger.version_label
    assert provenance["challenger_manifest_sha256"] == challenger.bundle.manifest_sha256
    assert len(challenger.bundle.manifest_sha256) == 64
    assert provenance["rows_disagreeing"] == report.rows_disagreeing


def test_output_column_names_never_hide_input_columns(scorer, challenger, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("text,challenger_score\nyou idiot,old value\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    run_batch(scorer, BatchOptions(src, out, threshold=0.45), challenger=challenger)
    header, rows = _read(out)
    assert header[-3:] == ["challenger_score_2", "challenger_label", "challenger_version"]
    assert rows[0]["challenger_score"] == "old value"
    assert float(rows[0]["challenger_score_2"]) == challenger.score_text("you idiot", 0.45).score


# --- resume: the challenger is part of the job's identity ---------------------------------------


def _interrupt(scorer: Scorer, options: BatchOptions, challenger: Scorer | None) -> None:
    calls = {"n": 0}

    def progress(_) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise Interrupt

    with pytest.raises(Interrupt):
        run_batch(scorer, options, progress=progress, challenger=challenger)
    assert all(p.exists() for p in work_paths(options.output_path))


def test_resume_refuses_another_challenger(scorer, challenger, tmp_path):
    src = _input(tmp_path / "in.csv")
    out = tmp_path / "scored.csv"
    _interrupt(scorer, _options(src, out), challenger)
    name = challenger.version_label
    with pytest.raises(InputError, match=rf"challenger model changed \({name} then, none now\)"):
        run_batch(scorer, _options(src, out), resume=True)
    other = scorer.version_label
    with pytest.raises(InputError, match=rf"challenger model changed \({name} then, {other} now"):
        run_batch(scorer, _options(src, out), resume=True, challenger=scorer)
    assert not out.exists() and all(p.exists() for p in work_paths(out))

    (tmp_path / "base").mkdir()
    expected = tmp_path / "base" / "scored.csv"
    baseline = run_batch(scorer, _options(src, expected), challenger=challenger)
    report = run_batch(scorer, _options(src, out), resume=True, challenger=challenger)
    assert out.read_bytes() == expected.read_bytes()
    assert report.rows_disagreeing == baseline.rows_disagreeing


def test_resume_refuses_a_challenger_the_job_did_not_have(scorer, challenger, tmp_path):
    src = _input(tmp_path / "in.csv")
    out = tmp_path / "scored.csv"
    _interrupt(scorer, _options(src, out), None)
    name = challenger.version_label
    with pytest.raises(InputError, match=rf"challenger model changed \(none then, {name} now\)"):
        run_batch(scorer, _options(src, out), resume=True, challenger=challenger)
    run_batch(scorer, _options(src, out), resume=True)  # without one, it resumes
    assert "challenger_score" not in _read(out)[0]


# --- the results kept for browsing, and their exports -------------------------------------------


@pytest.fixture
def scored(scorer, challenger, tmp_path):
    src = _input(tmp_path / "in.csv", n=120)
    options = BatchOptions(src, tmp_path / "cache.csv", 0.45, text_column="comment")
    return score_file(scorer, options, None, challenger=challenger)


def test_score_file_keeps_the_challengers_scores(scored, challenger):
    table, report = scored.table, scored.report
    assert table.challenger_version == challenger.version_label == report.challenger_version
    assert table.challenger_scores is not None and len(table.challenger_scores) == len(table)
    texts = [t.removeprefix("'") for t in table.texts.tolist()]
    expected, _, _ = challenger.score_many(texts)
    assert np.array_equal(table.challenger_scores, expected, equal_nan=True)
    assert np.array_equal(np.isnan(table.challenger_scores), np.isnan(table.scores))
    view = compute_view(table, ViewSpec(sort_key="challenger_score", descending=True), 0.45)
    shown = table.challenger_scores[view]
    rated = shown[~np.isnan(shown)]
    assert np.all(np.diff(rated) <= 0) and all(math.isnan(s) for s in shown[len(rated) :])


def test_csv_export_relabels_both_models_at_the_export_threshold(scored, tmp_path):
    dest = tmp_path / "export.csv"
    export_scored(scored.cache_path, dest, "csv", report=scored.report, threshold=0.3)
    header, rows = _read(dest)
    assert header[-7:] == [*OUTPUT_COLUMNS, *CHALLENGER_COLUMNS]
    for row in rows:
        for score, label in (
            ("abuse_score", "abuse_label"),
            ("challenger_score", "challenger_label"),
        ):
            expected = label_for(float(row[score]), 0.3) if row[score] else ""
            assert row[label] == expected
    provenance = _sidecar(dest)
    assert provenance["challenger_version"] == scored.report.challenger_version


def test_xlsx_exports_have_the_challenger_columns(scorer, challenger, scored, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    direct = tmp_path / "direct.xlsx"
    run_batch(
        scorer,
        BatchOptions(_input(tmp_path / "x.csv", 60), direct, 0.45, output_format="xlsx"),
        challenger=challenger,
    )
    exported = tmp_path / "export.xlsx"
    export_scored(scored.cache_path, exported, "xlsx", report=scored.report, threshold=0.45)
    for path in (direct, exported):
        book = openpyxl.load_workbook(path)
        values = [[c.value for c in row] for row in book["scored"].iter_rows()]
        assert values[0][-3:] == list(CHALLENGER_COLUMNS)
        at = values[0].index("challenger_score")
        first = values[1]
        assert isinstance(first[at], float)
        assert first[at + 1] == label_for(first[at], 0.45)
        assert first[at + 2] == challenger.version_label
        blank = next(row for row in values[1:] if row[values[0].index("abuse_score")] is None)
        assert blank[at] is None and not blank[at + 1] and not blank[at + 2]
        provenance = {r[0].value: r[1].value for r in book["provenance"].iter_rows()}
        assert provenance["challenger_version"] == challenger.version_label
        assert provenance["challenger_manifest_sha256"] == challenger.bundle.manifest_sha256
