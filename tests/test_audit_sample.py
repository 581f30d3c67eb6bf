"""Audit samples: the stratified draw (`app.core.audit.sample`) and SAMPLE.csv
(`app.core.audit.sample_file`): sizes, bands, weights, seeds, the file round trip and every
validation error of `read_sample`."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from app.core.audit.sample import STRATA, allocate, assign_strata, draw_sample, minimum_size
from app.core.audit.sample_file import (
    AUDIT_COLUMNS,
    SCORE_COLUMNS,
    AuditSampleFile,
    read_sample,
    write_sample,
)
from app.core.batch.rows import OUTPUT_COLUMNS
from app.core.common.errors import InputError


def _scores(n: int = 5000, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.beta(1.5, 6, n - n // 10), rng.beta(4, 2, n // 10)])


def test_score_columns_are_the_batch_output_columns() -> None:
    assert SCORE_COLUMNS == OUTPUT_COLUMNS


def test_bands_follow_the_decision_rule_at_their_edges() -> None:
    scores = np.array([0.0, 0.349, 0.35, 0.449, 0.45, 0.549, 0.55, 1.0, np.nan])
    band = assign_strata(scores, 0.45, 0.1)
    assert band.tolist() == [0, 0, 1, 1, 2, 2, 3, 3, -1]


@pytest.mark.parametrize("size", [40, 41, 200, 1000])  # 40: 10 in each of 4 bands (H2)
def test_size_is_exact_every_band_present_and_weights_add_up(size: int) -> None:
    scores = _scores()
    scores[:7] = np.nan  # blank texts: not in the population
    sample = draw_sample(scores, size, threshold=0.5, seed=11)
    assert sample.indices.size == size and sample.left_out == 7
    assert not np.isnan(scores[sample.indices]).any()
    assert len(set(sample.indices.tolist())) == size
    assert set(sample.strata) == set(STRATA)  # every non-empty band sampled
    pop = sample.population
    assert sum(pop.values()) == scores.size - 7
    for h in STRATA:
        in_h = np.asarray(sample.strata) == h
        assert in_h.sum() == sample.sampled[h]
        assert np.allclose(sample.weights[in_h], pop[h] / sample.sampled[h])
        band = assign_strata(scores[sample.indices[in_h]], 0.5)
        assert (band == STRATA.index(h)).all()
    assert sample.weights.sum() == pytest.approx(scores.size - 7)


def test_more_weight_near_the_threshold_and_high_than_proportional() -> None:
    sample = draw_sample(_scores(), 400, threshold=0.5, seed=1)
    frac = {h: sample.sampled[h] / sample.population[h] for h in STRATA}
    assert frac["below_t"] > frac["clear_low"] and frac["above_t"] > frac["clear_low"]
    assert frac["high"] > frac["clear_low"]


def test_allocation_minimum_caps_and_small_batches() -> None:
    # A band smaller than its share is taken whole; its surplus goes to the others.
    alloc = allocate({"clear_low": 10_000, "below_t": 3, "above_t": 50, "high": 1000}, 300)
    assert sum(alloc.values()) == 300 and alloc["below_t"] == 3
    assert alloc["clear_low"] >= 10
    assert allocate({"clear_low": 5, "below_t": 0, "above_t": 2, "high": 1}, 50) == {
        "clear_low": 5, "below_t": 0, "above_t": 2, "high": 1,
    }  # fmt: skip
    with pytest.raises(InputError, match="at least 3"):
        allocate({"clear_low": 100, "below_t": 0, "above_t": 100, "high": 100}, 2)


@pytest.mark.parametrize("size", [4, 12, 39])
def test_a_size_below_ten_per_band_is_refused(size: int) -> None:
    """Issue 15 (H2): sizes 4 to 39 gave bands of 1 to 9 rows and intervals that said nothing;
    the README promises every non-empty band 10 rows (all of a smaller band)."""
    with pytest.raises(InputError, match="ask for at least 40"):
        draw_sample(_scores(), size, threshold=0.5, seed=11)
    # A band smaller than 10 needs only its own rows: 10 + 10 + 3 + 10.
    sizes = {"clear_low": 500, "below_t": 50, "above_t": 3, "high": 80}
    assert minimum_size(sizes) == 33 and sum(allocate(sizes, 33).values()) == 33
    with pytest.raises(InputError, match="at least 33"):
        allocate(sizes, 32)


def test_whole_batch_when_it_is_smaller_than_the_size() -> None:
    scores = np.array([0.1, 0.2, np.nan, 0.9])
    sample = draw_sample(scores, 10, threshold=0.45, seed=0)
    assert sample.indices.tolist() == [0, 1, 3] and sample.weights.tolist() == [1.0] * 3
    assert sample.left_out == 1


def test_same_seed_same_sample_other_seed_other_sample() -> None:
    scores = _scores()
    a, b = (draw_sample(scores, 300, threshold=0.5, seed=42) for _ in range(2))
    c = draw_sample(scores, 300, threshold=0.5, seed=43)
    assert a.indices.tolist() == b.indices.tolist() and a.strata == b.strata
    assert a.indices.tolist() != c.indices.tolist()


# --- the file ----------------------------------------------------------------------------------


def _write_scored(path: Path, n: int = 400, seed: int = 5) -> list[float | None]:
    """A `score` output: id, text, then the four score columns (cells neutralised as the
    export writer does); every 50th row a blank text with no score."""
    rng = np.random.default_rng(seed)
    scores: list[float | None] = []
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        w.writerow(["id", "text", *SCORE_COLUMNS])
        for i in range(n):
            if i % 50 == 49:
                w.writerow([i, "", "", "", "m 1", "blank text"])
                scores.append(None)
                continue
            s = float(rng.beta(1.5, 4) if i % 7 else rng.beta(5, 2))
            text = "'=HYPERLINK(1)" if i == 3 else f"message {i}"
            w.writerow([i, text, repr(s), "abusive" if s >= 0.45 else "benign", "m 1", ""])
            scores.append(s)
    return scores


def _sample(tmp_path: Path, size: int = 60) -> tuple[Path, AuditSampleFile]:
    scored = tmp_path / "scored.csv"
    _write_scored(scored)
    out = tmp_path / "SAMPLE.csv"
    write_sample(scored, out, size=size, seed=7, threshold=0.45)
    return out, read_sample(out)


def test_round_trip_keeps_every_column_and_traces_rows(tmp_path: Path) -> None:
    scored = tmp_path / "scored.csv"
    scores = _write_scored(scored)
    out = tmp_path / "SAMPLE.csv"
    done = write_sample(scored, out, size=60, seed=7, threshold=0.45)
    got = read_sample(out)
    assert got.header == ["id", "text", *SCORE_COLUMNS, *AUDIT_COLUMNS]
    assert len(got.rows) == 60 and got.text_column == "text" and got.label_column == "verdict"
    assert got.verdicts == [""] * 60 and got.threshold == 0.45
    assert got.weights.sum() == pytest.approx(392)  # 400 rows, 8 blank
    assert got.population == done.sample.population and sum(got.population.values()) == 392
    for row, line, score in zip(got.rows, got.lines.tolist(), got.scores.tolist(), strict=True):
        assert scores[int(row[0])] == score and line == int(row[0]) + 2  # header is line 1
    prov = json.loads(Path(f"{out}.provenance.json").read_text(encoding="utf-8"))
    assert prov["source"] == "scored.csv" and len(prov["source_sha256"]) == 64
    assert prov["seed"] == 7 and prov["left_out_unscored"] == 8 and prov["size"] == 60
    assert [s["name"] for s in prov["strata"]] == list(STRATA)
    # The formula cell: neutralised once in the file, the text as the analyst wrote it.
    again = write_sample(scored, tmp_path / "all.csv", size=1000, seed=1, threshold=0.45)
    assert again.rows_written == 392
    whole = read_sample(tmp_path / "all.csv")
    assert "=HYPERLINK(1)" in whole.texts
    raw = (tmp_path / "all.csv").read_text(encoding="utf-8-sig")
    assert '"\'=HYPERLINK(1)"' in raw and "''=" not in raw


def test_labels_parse_by_the_app_rule(tmp_path: Path) -> None:
    out, got = _sample(tmp_path, 40)
    got.verdicts[:5] = ["abusive", "Benign", "", "skip", "?"]  # the other 35: blank
    assert got.labels() == [1, 0, None, None, None] + [None] * 35
    got.verdicts[1] = "maybe"
    with pytest.raises(InputError, match="cannot tell which labels"):
        got.labels()
    assert got.labels(["abusive"])[:2] == [1, 0]


def test_never_written_over_the_input(tmp_path: Path) -> None:
    scored = tmp_path / "scored.csv"
    _write_scored(scored)
    before = scored.read_bytes()
    with pytest.raises(InputError, match="the input"):
        write_sample(scored, scored, size=10, seed=1, threshold=0.45)
    assert scored.read_bytes() == before


def test_refuses_a_file_that_is_not_scored(tmp_path: Path) -> None:
    plain = tmp_path / "plain.csv"
    plain.write_text("id,text\n1,hello\n", encoding="utf-8")
    with pytest.raises(InputError, match="no abuse_score column"):
        write_sample(plain, tmp_path / "o.csv", size=1, seed=1, threshold=0.45)


def _edit(path: Path, column: str, row: int, value: str) -> None:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    rows[row + 1][rows[0].index(column)] = value
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("audit_weight", "abc", "audit_weight 'abc' is not a number"),
        ("audit_weight", "nan", "is not a number"),
        ("audit_weight", "-3", "is below 1"),
        ("audit_weight", "0", "is below 1"),
        ("audit_weight", "1.5", "differs between its rows|whole number|provenance"),
        ("audit_stratum", "middle", "unknown audit_stratum 'middle'"),
        ("abuse_score", "1.5", "abuse score '1.5' is not a number from 0 to 1"),
        ("abuse_score", "", "is not a number from 0 to 1"),
        ("audit_line", "x", "audit_line 'x' is not a number"),
        ("audit_line", "0", "must be a line number"),
    ],
)
def test_every_damage_is_one_clear_error(
    tmp_path: Path, column: str, value: str, message: str
) -> None:
    out, _ = _sample(tmp_path)
    _edit(out, column, 1, value)
    with pytest.raises(InputError, match=message) as err:
        read_sample(out)
    assert str(out) in str(err.value)


def test_missing_columns_and_sidecar_disagreements(tmp_path: Path) -> None:
    out, got = _sample(tmp_path)
    with pytest.raises(InputError, match="no column 'label'"):
        read_sample(out, label_column="label")
    # A row removed in a spreadsheet: the band's count no longer matches the provenance.
    with open(out, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    with open(out, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows[:-1])
    with pytest.raises(InputError, match="rows added or removed"):
        read_sample(out)
    # Without the sidecar the band sizes come from the weights (and must be whole numbers).
    Path(f"{out}.provenance.json").unlink()
    with open(out, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    alone = read_sample(out)
    assert alone.provenance is None and alone.threshold is None
    assert alone.population == got.population
    _edit(out, "audit_weight", 0, repr(float(rows[1][rows[0].index("audit_weight")]) * 1.37))
    with pytest.raises(InputError, match="differs between its rows|whole number"):
        read_sample(out)


def test_duplicate_source_line_and_damaged_sidecar(tmp_path: Path) -> None:
    out, got = _sample(tmp_path)
    _edit(out, "audit_line", 2, str(got.lines[1]))
    with pytest.raises(InputError, match="in the sample twice"):
        read_sample(out)
    out2, _ = _sample(tmp_path / "b" if (tmp_path / "b").mkdir() is None else tmp_path)
    Path(f"{out2}.provenance.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match="cannot be read"):
        read_sample(out2)
    Path(f"{out2}.provenance.json").write_text('{"kind": "other"}', encoding="utf-8")
    with pytest.raises(InputError, match="not the provenance of an audit sample"):
        read_sample(out2)


def test_a_score_moved_out_of_its_band_is_caught(tmp_path: Path) -> None:
    out, got = _sample(tmp_path)
    i = got.strata.index("clear_low")
    _edit(out, "abuse_score", i, "0.99")
    with pytest.raises(InputError, match="outside band 'clear_low'"):
        read_sample(out)
