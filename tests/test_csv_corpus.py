"""The malformed/awkward CSV corpus (tests/make_csv_corpus.py) against the reader and run_batch.

For every file: the reader returns exactly the rows, lines, rejections and blanks the file was
built with; run_batch balances its ledger and writes exactly the accepted rows, in order; a file
that cannot be read at all gives one InputError sentence naming it. A fuzz of run_batch on
garbage files checks the ledger where no expectation can be computed.
"""

from __future__ import annotations

import csv
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.batch.run import OUTPUT_COLUMNS, BatchOptions, run_batch
from app.core.common.errors import InputError
from app.core.csvio.csv_header import dedupe_header
from app.core.csvio.csv_input import CsvFormat, iter_chunks, sniff
from app.core.engine.scoring import Scorer
from app.core.export.csv_writer import neutralize_cell
from tests.make_csv_corpus import Expectation, build_corpus, write_corpus

pytestmark = pytest.mark.usefixtures("private_home")  # checkpoints need a workstation key

NAMES = [item.exp.name for item in build_corpus()]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Expectation]]:
    folder = tmp_path_factory.mktemp("corpus")
    return folder, {e.name: e for e in write_corpus(folder)}


@pytest.fixture(scope="module")
def scorer(tiny_training) -> Scorer:
    return Scorer.load(tiny_training.bundle_path)


def _assert_one_sentence_naming(exc: InputError, path: Path, keyword: str) -> None:
    message = str(exc)
    assert keyword in message and path.name in message, message
    assert "\n" not in message and message.endswith(".") and ". " not in message, message


# Characters a rejected row's excerpt must show escaped: controls (bar tab) and text reordering.
HIDDEN = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")


def _read(path: Path, fmt: CsvFormat, block_bytes: int) -> tuple[list, list, list, int]:
    rows, lines, rejected, blank = [], [], [], 0
    for chunk in iter_chunks(path, fmt, chunk_rows=3, block_bytes=block_bytes):
        assert len(chunk.rows) == len(chunk.lines)
        rows += chunk.rows
        lines += chunk.lines
        rejected += chunk.rejected
        blank += chunk.blank_lines
    return rows, lines, rejected, blank


def test_corpus_covers_the_issue() -> None:
    assert len(NAMES) >= 30 and len(set(NAMES)) == len(NAMES)
    exps = [item.exp for item in build_corpus()]
    encodings = {e.encoding for e in exps}
    assert {"utf-8", "utf-8-sig", "cp1252", "utf-16", "utf-16-le", "utf-16-be"} <= encodings
    assert {",", ";", "\t", "|"} <= {e.delimiter for e in exps if not e.unreadable}
    assert any(e.sep_line for e in exps) and sum(bool(e.unreadable) for e in exps) >= 3
    reasons = " ".join(why for e in exps for _, why in e.rejected)
    for keyword in ("NUL", "undecodable", "unterminated quote", "bad quoting", "longer than"):
        assert keyword in reasons
    assert max(len(v) for e in exps for _, row in e.rows for v in row) > 131_072


def test_script_writes_the_corpus(tmp_path: Path) -> None:
    script = Path(__file__).with_name("make_csv_corpus.py")
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path)], capture_output=True, text=True, check=True
    )
    assert f"wrote {len(NAMES)} files" in done.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*NAMES, "expectations.json"])


@pytest.mark.parametrize("name", NAMES)
def test_reader_returns_exactly_what_the_file_holds(corpus, name: str) -> None:
    folder, expectations = corpus
    exp, path = expectations[name], folder / name
    if exp.unreadable:
        with pytest.raises(InputError) as info:
            sniff(path)
        _assert_one_sentence_naming(info.value, path, exp.unreadable)
        return
    result = sniff(path)
    assert result.format == CsvFormat(exp.encoding, exp.delimiter, exp.sep_line)
    assert result.header == dedupe_header(exp.header)  # repeated names made unique
    small = path.stat().st_size < 100_000  # 7-byte reads split BOMs, \r\n and code units
    for block in (1 << 16, 7) if small else (1 << 16,):
        rows, lines, rejected, blank = _read(path, result.format, block)
        assert list(zip(lines, rows, strict=True)) == exp.rows  # nothing shifted or padded
        assert [r.line for r in rejected] == [line for line, _ in exp.rejected]
        for row, (_, why) in zip(rejected, exp.rejected, strict=True):
            assert why in row.reason and not HIDDEN.search(row.excerpt), (row, why)
        assert blank == exp.blank
        assert len(rows) + len(rejected) + blank == exp.records  # nothing silently dropped


@pytest.mark.parametrize("name", NAMES)
def test_run_batch_ledger_and_output(corpus, scorer, tmp_path: Path, name: str) -> None:
    folder, expectations = corpus
    exp, path = expectations[name], folder / name
    out = tmp_path / "out.csv"
    options = BatchOptions(path, out, threshold=0.5, text_column=exp.text_column, chunk_rows=4)
    if exp.unreadable:
        with pytest.raises(InputError) as info:
            run_batch(scorer, options)
        _assert_one_sentence_naming(info.value, path, exp.unreadable)
        assert list(tmp_path.iterdir()) == []
        return
    if not exp.rows and not exp.rejected:  # a header and nothing to score: refused, no output
        with pytest.raises(InputError) as info:
            run_batch(scorer, options)
        _assert_one_sentence_naming(info.value, path, "no rows to score")
        assert list(tmp_path.iterdir()) == []
        return
    report = run_batch(scorer, options)
    assert report.balanced and report.rows_read == exp.records
    assert report.rows_rejected == len(exp.rejected) and report.rows_written == len(exp.rows)
    assert report.rows_scored + report.rows_blank == len(exp.rows) + exp.blank
    assert [r["line"] for r in report.rejected] == [line for line, _ in exp.rejected]
    for entry, (_, why) in zip(report.rejected, exp.rejected, strict=True):
        assert why in entry["reason"] and entry["excerpt"] is not None
    csv.field_size_limit(max(csv.field_size_limit(), 1 << 21))
    with open(out, encoding="utf-8-sig", newline="") as fh:
        written = list(csv.reader(fh))
    width = len(exp.header)
    assert written[0][:width] == [neutralize_cell(h) for h in dedupe_header(exp.header)]
    assert written[0][width:] == list(OUTPUT_COLUMNS)
    assert [row[:width] for row in written[1:]] == [
        [neutralize_cell(v) for v in values] for _, values in exp.rows
    ]
    assert all(len(row) == width + len(OUTPUT_COLUMNS) for row in written)


def test_formula_text_gets_exactly_one_quote(corpus, scorer, tmp_path: Path) -> None:
    folder, _ = corpus
    out = tmp_path / "f.csv"
    run_batch(scorer, BatchOptions(folder / "formula_text.csv", out, threshold=0.5))
    with open(out, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["text"] for r in rows[:3]] == ["'=1+1", "'+cmd|' /C calc'!A0", "'-2+3"]
    assert rows[0]["id"] == "'=1" and rows[1]["id"] == "2" and rows[9]["text"] == "plain"


def test_excerpts_show_controls_and_bidi_overrides_escaped(corpus) -> None:
    folder, _ = corpus
    got = {}
    for name in ("control_chars.csv", "bidi.csv"):
        path = folder / name
        got[name] = [r.excerpt for c in iter_chunks(path, sniff(path).format) for r in c.rejected]
    assert got["control_chars.csv"] == ["5,\\x1b[31mred\\x1b[0m,\\x07bell,0"]
    assert got["bidi.csv"] == ["4,evil\\u202e,gpj.exe,0"]


# --- fuzz: run_batch on garbage ------------------------------------------------------------

FRAGMENTS = [
    b"text",
    b"id",
    b",",
    b";",
    b"\t",
    b"|",
    b'"',
    b"\r",
    b"\n",
    b"\r\n",
    b"\x00",
    b"\xff",
    b"\xc3\xa9",
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"sep=;",
    b"=1+1",
    b" ",
    b"you idiot",
]
GARBAGE = st.one_of(
    st.binary(max_size=200),
    st.lists(st.sampled_from(FRAGMENTS), max_size=60).map(b"".join),
    st.tuples(
        st.sampled_from([b"id,text\n", b"text;n\r\n", b"\xef\xbb\xbftext|x\r", b"sep=,\ntext,a\n"]),
        st.lists(st.sampled_from(FRAGMENTS), max_size=60).map(b"".join),
    ).map(b"".join),
)


def _batch_on_garbage(scorer: Scorer, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path, out = Path(tmp) / "g.csv", Path(tmp) / "out.csv"
        path.write_bytes(data)
        try:
            header = sniff(path).header
        except InputError as exc:
            with pytest.raises(InputError) as info:
                run_batch(scorer, BatchOptions(path, out, threshold=0.5))
            assert str(info.value) == str(exc) and "\n" not in str(exc)
            assert not out.exists()
            return
        unique = [h for h in header if header.count(h) == 1]
        if not unique:
            return
        if not sniff(path).has_records:  # nothing but a header: refused before any work
            with pytest.raises(InputError, match="no rows to score"):
                run_batch(scorer, BatchOptions(path, out, threshold=0.5, text_column=unique[0]))
            assert not out.exists()
            return
        seen: list[int] = []
        options = BatchOptions(path, out, threshold=0.5, text_column=unique[0], chunk_rows=3)
        report = run_batch(scorer, options, on_rows=lambda _rows, lines: seen.extend(lines))
        assert report.balanced and report.rows_written == len(seen)
        rejected = [r["line"] for r in report.rejected]
        assert all(r["reason"] and not HIDDEN.search(r["excerpt"]) for r in report.rejected)
        starts = sorted(seen + rejected)
        assert len(set(starts)) == len(starts) and seen == sorted(seen)
        assert all(line >= 1 for line in starts)
        # the ledger agrees with a direct read of the file
        fmt = sniff(path).format
        chunks = list(iter_chunks(path, fmt))
        assert report.rows_read == sum(
            len(c.rows) + len(c.rejected) + c.blank_lines for c in chunks
        )
        assert rejected == [r.line for c in chunks for r in c.rejected]
        with open(out, encoding="utf-8-sig", newline="") as fh:
            assert len(list(csv.reader(fh))) == 1 + report.rows_written


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=GARBAGE)
def test_run_batch_on_garbage_balances(scorer, data: bytes) -> None:
    _batch_on_garbage(scorer, data)


@pytest.mark.slow
@settings(
    max_examples=10_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=GARBAGE)
def test_run_batch_on_garbage_balances_long(scorer, data: bytes) -> None:
    _batch_on_garbage(scorer, data)
