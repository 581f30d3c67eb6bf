"""In-memory batch results: views equal plain-Python references; exports relabel honestly."""

from __future__ import annotations

import csv
import json
import math
import os
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.analysis.labeled import guess_label_column
from app.core.batch.run import BatchOptions
from app.core.common.errors import InputError, JobCancelled
from app.core.engine.scoring import Scorer, flagged, label_for
from app.core.results.cache import jobs_folder, score_file
from app.core.results.export import export_scored
from app.core.results.table import (
    ResultsTable,
    ViewSpec,
    compute_view,
    filter_mask,
    threshold_dataset,
)

WORDS = ["Idiot", "lovely", "ab", "AB", "é", "x y", ""]


def _reference(rows: list[tuple[int, float, str, str]], spec: ViewSpec, t: float) -> list[int]:
    """The obvious row-by-row implementation, to compare the vectorised one against."""
    keep = []
    for i, (_, score, text, _gold) in enumerate(rows):
        if spec.flagged_only and not score >= t:
            continue
        if spec.min_score is not None and not score >= spec.min_score:
            continue
        if spec.max_score is not None and not score <= spec.max_score:
            continue
        if spec.search and spec.search.lower() not in text.lower():
            continue
        keep.append(i)
    if spec.sort_key == "line":
        return keep[::-1] if spec.descending else keep
    if spec.sort_key == "score":
        rated = [i for i in keep if not math.isnan(rows[i][1])]
        sign = -1 if spec.descending else 1
        rated.sort(key=lambda i: (sign * rows[i][1], i))
        return rated + [i for i in keep if math.isnan(rows[i][1])]
    col = 2 if spec.sort_key == "text" else 3
    if spec.descending:
        return sorted(keep, key=lambda i: (_Desc(rows[i][col]), i))
    return sorted(keep, key=lambda i: (rows[i][col], i))


class _Desc:
    def __init__(self, value: str) -> None:
        self.value = value

    def __lt__(self, other: _Desc) -> bool:
        return self.value > other.value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Desc) and self.value == other.value


row_strategy = st.tuples(
    st.one_of(st.floats(0, 1), st.just(math.nan), st.sampled_from([0.25, 0.5, 0.75])),
    st.lists(st.sampled_from(WORDS), max_size=3).map(" ".join),
    st.sampled_from(["1", "0", "abusive", "maybe", ""]),
)
spec_strategy = st.builds(
    ViewSpec,
    flagged_only=st.booleans(),
    min_score=st.one_of(st.none(), st.sampled_from([0.0, 0.25, 0.4])),
    max_score=st.one_of(st.none(), st.sampled_from([1.0, 0.75, 0.6])),
    search=st.sampled_from(["", "ab", "IDIOT", "é", "x y", "zzz"]),
    sort_key=st.sampled_from(["line", "score", "text", "gold"]),
    descending=st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(row_strategy, max_size=60), spec_strategy, st.sampled_from([0.0, 0.5, 0.75, 1.0]))
def test_view_equals_reference(raw, spec, threshold):
    rows = [(10 + 3 * i, s, text, gold) for i, (s, text, gold) in enumerate(raw)]
    table = ResultsTable.from_arrays(
        [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows], "g"
    )
    assert compute_view(table, spec, threshold).tolist() == _reference(rows, spec, threshold)
    assert filter_mask(table, spec, threshold).sum() == len(_reference(rows, spec, threshold))


def test_flagged_mask_matches_label_rule():
    scores = np.array([0.2, 0.45, 0.4499, math.nan, 1.0])
    assert flagged(scores, 0.45).tolist() == [False, True, False, False, True]
    # one rule: the vectorised mask and the label of each score agree (NaN is never abusive)
    labels = [label_for(s, 0.45) for s in scores.tolist()]
    assert labels == ["benign", "abusive", "benign", "benign", "abusive"]


def test_threshold_dataset_parses_labels_and_counts_unknowns():
    table = ResultsTable.from_arrays(
        [2, 3, 4, 5, 6, 7],
        [0.9, 0.1, 0.5, math.nan, 0.7, 0.2],
        ["a", "b", "c", "", "e", "f"],
        ["abusive", "0", "maybe", "1", " TRUE ", "maybe"],
        "label",
    )
    data = threshold_dataset(table)
    assert data.labels.tolist() == [1, 0, 1] and data.labels.dtype == np.int8
    assert data.scores.tolist() == [0.9, 0.1, 0.7] and data.texts == ["a", "b", "e"]
    assert data.unknown == {"maybe": 2} and data.blank_text == 1
    assert "2 rows with an unknown label" in data.describe()
    with pytest.raises(InputError):
        threshold_dataset(ResultsTable.from_arrays([1], [0.5], ["a"]))


def test_guess_label_column():
    assert guess_label_column(["id", "text", " Class "], "text") == " Class "
    assert guess_label_column(["label", "x"], "label") is None
    assert guess_label_column(["id", "text"], "text") is None
    assert guess_label_column(["id", "text"], "text", fallback=True) == "id"
    assert guess_label_column(["id", "text", "Target"], "text", fallback=True) == "Target"


def test_million_rows_filter_and_sort():
    n = 1_000_000
    rng = np.random.default_rng(1)
    words = np.array(["you", "lovely", "idiot", "today", "Team", "moron"])
    texts = np.strings.add(
        words[rng.integers(0, 6, n)].astype(np.dtypes.StringDType()), np.arange(n).astype(str)
    )
    scores = rng.random(n)
    scores[::97] = np.nan
    table = ResultsTable.from_arrays(np.arange(2, n + 2), scores, texts)
    started = time.perf_counter()
    view = compute_view(table, ViewSpec(flagged_only=True, sort_key="score", descending=True), 0.5)
    sort_s = time.perf_counter() - started
    started = time.perf_counter()
    found = compute_view(table, ViewSpec(search="IDIOT", min_score=0.2, max_score=0.9), 0.5)
    search_s = time.perf_counter() - started
    print(f"\n1M rows: flagged+sort {sort_s:.3f} s, search+range {search_s:.3f} s")
    with np.errstate(invalid="ignore"):
        assert len(view) == int((scores >= 0.5).sum())
        assert np.all(np.diff(scores[view]) <= 0)
        expected = (scores >= 0.2) & (scores <= 0.9) & np.strings.startswith(texts, "idiot")
    assert len(found) == int(expected.sum())


# --- against real files: scoring into memory, then exporting ---------------------------------


@pytest.fixture(scope="module")
def scorer(tiny_training) -> Scorer:
    return Scorer.load(tiny_training.bundle_path)


@pytest.fixture
def scored(scorer, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text(
        "id,text,class\n"
        "1,you stupid moron,1\n"
        "2,broken,row,here\n"
        "\n"
        "3,,0\n"
        '4,=HYPERLINK("http://x"),0\n'
        "5,lovely sunny garden,abusive\n",
        encoding="utf-8",
    )
    cache = tmp_path / "cache.csv"
    result = score_file(scorer, BatchOptions(src, cache, 0.45, text_column="text"), "class")
    return result


def test_score_file_keeps_results_aligned_with_the_cache(scored):
    table, report = scored.table, scored.report
    assert (report.rows_read, report.rows_scored, report.rows_rejected, report.rows_blank) == (
        6,
        3,
        1,
        2,
    )
    assert table.lines.tolist() == [2, 5, 6, 7] and len(table) == report.rows_written
    assert table.texts.tolist() == [
        "you stupid moron",
        "",
        '=HYPERLINK("http://x")',
        "lovely sunny garden",
    ]
    assert table.gold is not None and table.gold.tolist() == ["1", "0", "0", "abusive"]
    with open(scored.cache_path, encoding="utf-8-sig", newline="") as fh:
        cached = list(csv.DictReader(fh))
    for row, score in zip(cached, table.scores.tolist(), strict=True):
        assert (row["abuse_score"] == "") == math.isnan(score)
        if row["abuse_score"]:
            assert float(row["abuse_score"]) == score


def test_text_and_label_column_must_differ(scorer, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("text\nhello\n")
    with pytest.raises(InputError):
        score_file(scorer, BatchOptions(src, tmp_path / "c.csv", 0.5, text_column="text"), "text")


def test_export_csv_relabels_and_filters(scored, tmp_path):
    table = scored.table
    t = float(np.nanmin(table.scores))  # every scored row is abusive at this threshold
    keep = ~np.isnan(table.scores)
    dest = tmp_path / "export.csv"
    spec = ViewSpec(min_score=0.0)
    n = export_scored(
        scored.cache_path, dest, "csv", report=scored.report, threshold=t, keep=keep, spec=spec
    )
    assert n.rows == 3
    with open(dest, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["id"] for r in rows] == ["1", "4", "5"]
    assert {r["abuse_label"] for r in rows} == {"abusive"}
    assert rows[1]["text"] == '\'=HYPERLINK("http://x")'  # neutralised once, not twice
    provenance = json.loads(Path(f"{dest}.provenance.json").read_text())
    assert provenance["threshold"] == t and provenance["job_threshold"] == 0.45
    assert provenance["relabelled"] is True and provenance["rows_exported"] == 3
    assert provenance["input_sha256"] == scored.report.input_sha256
    assert provenance["export_filter"] == spec.describe()


def test_export_xlsx_has_numbers_no_formulas_and_provenance(scored, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    dest = tmp_path / "export.xlsx"
    export_scored(scored.cache_path, dest, "xlsx", report=scored.report, threshold=0.45)
    book = openpyxl.load_workbook(dest)
    values = [[c.value for c in row] for row in book["scored"].iter_rows()]
    assert values[0][:5] == ["id", "text", "class", "abuse_score", "abuse_label"]
    assert isinstance(values[1][3], float) and values[2][3] is None
    assert values[3][1] == '=HYPERLINK("http://x")'  # the cache's "'" is not carried over
    assert all(c.data_type != "f" for ws in book.worksheets for row in ws.iter_rows() for c in row)
    provenance = {r[0].value: r[1].value for r in book["provenance"].iter_rows()}
    assert provenance["relabelled"] == "false" and provenance["model_version"]


def test_export_cancel_leaves_nothing(scored, tmp_path):
    dest = tmp_path / "out" / "export.csv"
    dest.parent.mkdir()
    with pytest.raises(JobCancelled):
        export_scored(
            scored.cache_path,
            dest,
            "csv",
            report=scored.report,
            threshold=0.5,
            cancelled=lambda: True,
        )
    assert list(dest.parent.iterdir()) == []


def test_jobs_folder_is_private_per_session_and_prunes_leftovers(tmp_path):
    old = tmp_path / "jobs" / "stale"
    old.mkdir(parents=True)
    os.utime(old, (time.time() - 3 * 86_400,) * 2)
    first, second = jobs_folder(tmp_path), jobs_folder(tmp_path)
    assert first != second and first.parent == tmp_path / "jobs" and not old.exists()
