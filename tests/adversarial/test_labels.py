"""Adversarial labels: `evaluate` never guesses what a label means (issue 12, "every number the
tool reports is true or the command fails").

Each label value is reported with its rows and what it was taken as; a column that cannot be
mapped with certainty, or an abusive value that never occurs, is refused with one line (exit 3)
naming the file and column and listing the values — before anything is scored.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from app.core.analysis.label_mapping import MAX_DISTINCT
from app.core.analysis.labeled import read_labeled_scores
from app.core.common.errors import InputError
from tests.cli_runner import run_cli

TEXTS = ["you are an idiot", "have a nice day", "shut up moron", "thanks a lot", "see you soon"]


def _write(path: Path, labels: list[str], column: str = "label") -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", column])
        writer.writerows([f"{TEXTS[i % len(TEXTS)]} {i}", v] for i, v in enumerate(labels))
    return path


def _refused(src: Path, *args: str, code: int = 3) -> str:
    """Run evaluate expecting one error line naming `src`; the file is left byte for byte."""
    before = src.read_bytes()
    result = run_cli("evaluate", str(src), *args)
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and len(lines[0]) <= 300, result.stderr
    assert code == 2 or src.name in lines[0]  # usage errors are about the option, not the file
    assert src.read_bytes() == before
    return lines[0]


def _evaluated(src: Path, *args: str) -> dict:
    result = run_cli("evaluate", str(src), *args, "--json")
    assert result.returncode == 0, result.stderr
    got = json.loads(result.stdout)
    mapping = got["label_mapping"]
    # The mapping's counts are the numbers evaluated: every row is in exactly one place.
    rows = {kind: sum(e["rows"] for e in mapping if e["taken_as"] == kind) for kind in
            ("abusive", "benign", "rejected")}  # fmt: skip
    assert rows["abusive"] == got["positives"]
    assert rows["benign"] == got["n"] - got["positives"]
    assert rows["rejected"] == got["rows_rejected"]
    return got


def _taken(got: dict) -> dict[str, tuple[int, str]]:
    return {e["value"]: (e["rows"], e["taken_as"]) for e in got["label_mapping"]}


DAVIDSON = ["0"] * 3 + ["1"] * 12 + ["2"] * 5  # 0 = hate, 1 = offensive, 2 = neither


# --- refused: the column cannot be mapped with certainty ----------------------------------------


@pytest.mark.parametrize(
    ("labels", "unknown"),
    [
        (DAVIDSON, "'2' has no standard meaning"),  # 0 would have been counted benign
        (["1"] * 4 + ["2"] * 4, "'2' has no standard meaning"),  # 1/2 classes, 1 = benign?
        (["0.0", "1.0"] * 4, "'0.0', '1.0' have no standard meaning"),  # float-typed labels
        (["abusive", "benign", "maybe"] * 3, "'maybe' has no standard meaning"),
        (["hate", "normal"] * 4, "'normal' has no standard meaning"),  # only two values
        (["-1", "1"] * 4, "'-1' has no standard meaning"),  # -1/1 coded classes
    ],
    ids=["davidson-0-1-2", "one-two", "floats", "unknown-word", "two-values-one-unknown", "pm1"],
)
def test_unmappable_labels_are_refused_listing_the_values(tmp_path, labels, unknown) -> None:
    src = _write(tmp_path / "labels.csv", labels, column="class")
    line = _refused(src, "--label-column", "class")
    assert "column 'class'" in line and unknown in line and "--positive V[,V...]" in line


def test_davidson_refusal_lists_every_value_with_its_count(tmp_path) -> None:
    line = _refused(_write(tmp_path / "d.csv", DAVIDSON, "class"), "--label-column", "class")
    assert "'1' ×12, '2' ×5, '0' ×3" in line


def test_many_unknown_values_are_capped(tmp_path) -> None:
    labels = [f"class-{i:02d}" for i in range(12)] * 2
    line = _refused(_write(tmp_path / "many.csv", labels), "--label-column", "label")
    assert "… and 7 more" in line


def test_a_text_column_taken_as_labels_is_refused_without_holding_it_all(tmp_path) -> None:
    labels = [f"free text number {i}" for i in range(MAX_DISTINCT + 5)]
    line = _refused(_write(tmp_path / "texts.csv", labels), "--label-column", "label")
    assert f"more than {MAX_DISTINCT:,} different values" in line


# --- refused: --positive names something that is not there -------------------------------------


@pytest.mark.parametrize(
    ("given", "absent"),
    [
        ("abusve", "'abusve'"),  # a typo: every row would have become benign
        ("abusive,ofensive", "'ofensive'"),  # one of a list
        ("3", "'3'"),  # a class number the file does not use
    ],
)
def test_absent_positive_value_is_refused(tmp_path, given, absent) -> None:
    src = _write(tmp_path / "p.csv", ["abusive", "offensive", "neither", "0", "1", "2"] * 2)
    line = _refused(src, "--label-column", "label", "--positive", given)
    assert f"abusive value {absent} does not occur in column 'label'" in line
    assert "'abusive' ×2" in line  # the values that do occur


@pytest.mark.parametrize("given", ["", ",", "a,,b"])
def test_empty_positive_values_are_a_usage_error(tmp_path, given) -> None:
    src = _write(tmp_path / "e.csv", ["a", "b"])
    line = _refused(src, "--label-column", "label", f"--positive={given}", code=2)
    assert "--positive" in line


def test_refusal_comes_before_any_scoring(tmp_path) -> None:
    class Scorer:
        calls = 0

        def score_many(self, texts):
            Scorer.calls += 1
            return np.zeros(len(texts)), None

    src = _write(tmp_path / "d.csv", DAVIDSON * 50, "class")
    with pytest.raises(InputError, match="'2' has no standard meaning"):
        read_labeled_scores(Scorer(), src, label_column="class")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="'5' does not occur"):
        read_labeled_scores(Scorer(), src, label_column="class", positive_values=["5"])  # type: ignore[arg-type]
    assert Scorer.calls == 0


def test_a_file_changed_between_the_two_reads_is_refused(tmp_path, bundled_scorer) -> None:
    src = _write(tmp_path / "c.csv", ["0", "1"] * 10)
    swapped = []

    def progress(done: int, total: int) -> None:  # the first call is during the labels' read
        if not swapped:
            swapped.append(_write(src, ["0", "1", "2"] * 7))

    with pytest.raises(InputError, match="'2' has no standard meaning"):
        read_labeled_scores(bundled_scorer, src, label_column="label", progress=progress)


# --- accepted: the mapping is reported, value by value -------------------------------------------


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        (["yes", "no", "no"] * 3, {"yes": (3, "abusive"), "no": (6, "benign")}),
        (["true", "false"] * 3, {"true": (3, "abusive"), "false": (3, "benign")}),
        (  # case is ignored for the meaning, but each spelling is listed with what it became
            ["Abusive", "abusive", "ABUSIVE", "benign", "Benign"],
            {
                "Abusive": (1, "abusive"),
                "abusive": (1, "abusive"),
                "ABUSIVE": (1, "abusive"),
                "benign": (1, "benign"),
                "Benign": (1, "benign"),
            },
        ),  # fmt: skip
        (  # "?" is no label: left out and counted, never benign
            ["1", "0", "?", "1", "0", "n/a"],
            {"1": (2, "abusive"), "0": (2, "benign"), "?": (1, "rejected"), "n/a": (1, "rejected")},
        ),
        (["1", "", "0", " ", "1"], {"1": (2, "abusive"), "0": (1, "benign"), "": (2, "rejected")}),
        (
            ["hate", "offensive", "neither"] * 2,
            {"hate": (2, "abusive"), "offensive": (2, "abusive"), "neither": (2, "benign")},
        ),
    ],  # fmt: skip
    ids=["yes-no", "true-false", "mixed-case", "question-marks", "blank", "davidson-words"],
)
def test_standard_labels_are_mapped_and_reported(tmp_path, labels, expected) -> None:
    got = _evaluated(_write(tmp_path / "s.csv", labels), "--label-column", "label")
    assert _taken(got) == expected


def test_single_class_is_reported_with_null_metrics(tmp_path) -> None:
    got = _evaluated(_write(tmp_path / "one.csv", ["1"] * 5), "--label-column", "label")
    assert _taken(got) == {"1": (5, "abusive")} and got["auc"] is None


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (["0,1"], {"0": (3, "abusive"), "1": (12, "abusive"), "2": (5, "benign")}),
        (["0", "1"], {"0": (3, "abusive"), "1": (12, "abusive"), "2": (5, "benign")}),
        (["0"], {"0": (3, "abusive"), "1": (12, "benign"), "2": (5, "benign")}),
    ],
    ids=["comma-list", "space-list", "hate-only"],
)
def test_positive_list_on_davidson(tmp_path, given, expected) -> None:
    src = _write(tmp_path / "d.csv", DAVIDSON, "class")
    got = _evaluated(src, "--label-column", "class", "--positive", *given)
    assert _taken(got) == expected


def test_positive_ignores_case_and_lists_each_spelling(tmp_path) -> None:
    labels = ["abusive", "ABUSIVE", "offensive", "?", "neither"]
    got = _evaluated(_write(tmp_path / "c.csv", labels), "--label-column", "label",
                     "--positive", "Abusive")  # fmt: skip
    assert _taken(got) == {
        "abusive": (1, "abusive"), "ABUSIVE": (1, "abusive"), "offensive": (1, "benign"),
        "?": (1, "rejected"), "neither": (1, "benign"),
    }  # fmt: skip
    assert got["label_match"].startswith("case-insensitive")


def test_text_output_shows_the_mapping_and_label_rejections_on_their_own_line(tmp_path) -> None:
    src = _write(tmp_path / "t.csv", ["1", "0", "?", "", "1", "0"])
    result = run_cli("evaluate", str(src), "--label-column", "label")
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert out[1] == "text column 'text', label column 'label'"  # the columns used, then how
    assert "labels in column 'label' (matched to the standard words, ignoring case; " in out[2]
    assert "  '1'  2 rows → abusive" in out and "  '?'  1 rows → rejected" in out
    assert "  (blank)  1 rows → rejected" in out
    assert any(line.startswith("2 rows rejected for their label") for line in out)
