"""Tests for app.core.common.atomic and app.core.export.csv_writer.

Expectations are derived from the rules (trigger set, Excel limits, the documented overflow
layout), never copied from the code's output.
"""

from __future__ import annotations

import csv
import hashlib
import inspect
import io
import json
import math
import os
import random
import subprocess
import sys
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl.utils.escape import unescape

from app.core.common.atomic import (
    atomic_open,
    atomic_path,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
)
from app.core.common.errors import JobCancelled
from app.core.export.csv_writer import (
    EXCEL_MAX_CELL_CHARS,
    EXCEL_MAX_ROWS,
    FORMULA_TRIGGERS,
    OVERFLOW_MARKER,
    OVERFLOW_SHEET,
    PROVENANCE_SHEET,
    CsvExportWriter,
    XlsxExportWriter,
    neutralize_cell,
    write_provenance_sidecar,
)

REPO = Path(__file__).resolve().parents[1]

INJECTIONS = [
    '=HYPERLINK("http://x","y")',
    "@SUM(1,1)",
    "-1+1",
    "+1+1",
    "\t=1+1",
    "\uff1d1+1",  # ＝
    "\uff0b1",  # ＋
    "\uff0d1",  # －
    "\uff20A1",  # ＠
    "\ufe62A1",  # ﹢
    "\u2212A1",  # −
    " =1+1",
    "\u00a0=1",
    "\u3000=1",
    "-5+A1",
    "\r=1",
    "\n=1",
    "\x00=1",
    ";=1",
    "=cmd|' /C calc'!A0",
    "   \u00a0\u3000+cmd",
    "=1+1\n=2",
]
HARMLESS = [
    *["hello", "a=b", "5-3", "", "'already", "   ", "\u00a0", "x-1", "1e5", "Ünïcødé =1"],
    *["-5", "-1.5", "+5", "-1,5", "-5%", "-1e3"],  # plain numbers stay numbers (README)
]

# Independent statement of the documented rule, used to derive expectations.
DOCUMENTED_TRIGGERS = set("=+-@\t\r\n\x00;") | set(
    "\uff1d\uff0b\uff0d\uff20\ufe66\ufe62\ufe63\ufe6b\u2212"
)
SKIPPED = " \u00a0\u3000\u2000\u200b\ufeff\u2028\u2029\u0085\x0b\x0c\x1c"


def _is_illegal_xml(ch: str) -> bool:
    code = ord(ch)
    return (
        (code < 0x20 and ch not in "\t\n\r") or code in (0xFFFE, 0xFFFF) or 0xD800 <= code <= 0xDFFF
    )


def _xml_safe(text: str) -> str:
    return "".join("\ufffd" if _is_illegal_xml(ch) else ch for ch in text)


def _utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _only_final_or_partials(folder: Path, final: Path) -> list[Path]:
    """Return the leftover temp files; fail if anything else but `final` is in `folder`."""
    leftovers = []
    for entry in folder.iterdir():
        if entry == final:
            continue
        assert entry.name.startswith(".") and entry.name.endswith(".partial"), entry
        leftovers.append(entry)
    return leftovers


# --- neutralize_cell ---------------------------------------------------------------------------


def test_trigger_set_is_the_documented_one() -> None:
    assert set(FORMULA_TRIGGERS) == DOCUMENTED_TRIGGERS


@pytest.mark.parametrize("value", INJECTIONS)
def test_injection_vectors_are_neutralized_reversibly(value: str) -> None:
    out = neutralize_cell(value)
    assert out == "'" + value
    assert out.removeprefix("'") == value  # exactly one quote to remove


@pytest.mark.parametrize("value", HARMLESS)
def test_harmless_text_is_unchanged(value: str) -> None:
    assert neutralize_cell(value) == value


def test_neutralize_matches_rule_on_random_text() -> None:
    rng = random.Random(1234)
    alphabet = sorted(DOCUMENTED_TRIGGERS) + list(SKIPPED) + list("ab'1 é😀\u2028")
    for _ in range(3000):
        value = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))
        stripped = value.lstrip("'").lstrip(SKIPPED)
        number = stripped.lstrip("+-").isdigit() and stripped[:1] in "+-"  # e.g. "-1"
        formula = stripped and stripped[0] in DOCUMENTED_TRIGGERS and not number
        expected = "'" + value if formula else value
        assert neutralize_cell(value) == expected, repr(value)


# --- CSV -----------------------------------------------------------------------------------------

FLOATS = [0.1 + 0.2, 1 / 3, 5e-324, 1.7976931348623157e308, -0.0, 0.9999999999999999, 2.5e-17]


def _csv_rows() -> list[list[object]]:
    rows: list[list[object]] = []
    for i, text in enumerate(INJECTIONS + HARMLESS):
        rows.append([i, text, FLOATS[i % len(FLOATS)], i % 2 == 0, None])
    rows.append([np.int64(7), np.str_("=np"), np.float64(1 / 7), np.bool_(True), float("nan")])
    rows.append([-3, "plain", np.float32(0.1), False, "tail"])
    return rows


def test_csv_export_is_neutralized_quoted_and_exact(tmp_path: Path) -> None:
    header = ["row", "=text", "score", "flag", "extra"]
    rows = _csv_rows()
    out = tmp_path / "scored.csv"
    with atomic_open(out) as fh:
        writer = CsvExportWriter(fh, header)
        writer.write_rows(rows[:5])
        for row in rows[5:]:
            writer.write_row(row)
    assert writer.rows_written == len(rows)

    raw = out.read_bytes()
    assert raw.startswith("\ufeff".encode())
    with out.open(encoding="utf-8-sig", newline="") as fh:
        read = list(csv.reader(fh))
    assert read[0] == [neutralize_cell(h) for h in header]
    assert len(read) == len(rows) + 1

    for original, back in zip(rows, read[1:], strict=True):
        ident, text, score, flag, extra = original
        assert back[0] == str(int(ident))
        assert back[1] == neutralize_cell(str(text))
        assert float(back[2]) == float(score)  # exact round trip, numpy float32 included
        assert back[3] == ("true" if flag else "false")
        if extra is None or (isinstance(extra, float) and math.isnan(extra)):
            assert back[4] == ""
        else:
            assert back[4] == neutralize_cell(str(extra))

    # All fields quoted, CRLF line ends: re-serialising with QUOTE_ALL reproduces the file.
    again = io.StringIO(newline="")
    csv.writer(again, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(read)
    assert raw.decode("utf-8") == "\ufeff" + again.getvalue()


def test_csv_rejects_ragged_rows(tmp_path: Path) -> None:
    with open(tmp_path / "x.csv", "w", encoding="utf-8", newline="") as fh:
        writer = CsvExportWriter(fh, ["a", "b"])
        with pytest.raises(ValueError):
            writer.write_row(["only one"])


def test_provenance_sidecar(tmp_path: Path) -> None:
    csv_path = tmp_path / "out.csv"
    when = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    provenance = {
        "model_version": "1.2.3",
        "threshold": np.float64(0.42),
        "rows": np.int64(10),
        "input_sha256": hashlib.sha256(b"x").hexdigest(),
        "created": when,
        "input": tmp_path / "in.csv",
        "note": "ünï",
    }
    sidecar = write_provenance_sidecar(csv_path, provenance)
    assert sidecar == tmp_path / "out.csv.provenance.json"
    text = sidecar.read_text(encoding="utf-8")
    assert text.endswith("\n") and "ünï" in text  # ensure_ascii=False
    data = json.loads(text)
    assert list(data) == list(provenance)  # key order kept
    assert data["threshold"] == 0.42 and data["rows"] == 10
    assert data["created"] == when.isoformat()
    assert data["input"] == str(tmp_path / "in.csv")
    assert _only_final_or_partials(tmp_path, sidecar) == []


# --- XLSX ----------------------------------------------------------------------------------------


def _assert_no_formulas(path: Path) -> None:
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                xml = zf.read(name).decode("utf-8")
                assert "<f>" not in xml and "<f " not in xml, name
    wb = openpyxl.load_workbook(path)  # data_only=False: formulas would show as type "f"
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    assert cell.data_type == "s"


def _cell_text(value: object) -> str:
    # Excel escapes control characters such as CR as _xHHHH_; openpyxl leaves inline strings raw.
    return unescape(value) if isinstance(value, str) else value


def _write_xlsx(path: Path, header, rows, provenance, **kwargs):
    with atomic_path(path) as tmp:
        writer = XlsxExportWriter(tmp, header, **kwargs)
        writer.write_rows(rows)
        stats = writer.close(provenance)
    return stats


def test_xlsx_cells_are_text_or_numbers_and_never_formulas(tmp_path: Path) -> None:
    header = ["row", "+text", "score", "flag"]
    rows = [[i, text, FLOATS[i % len(FLOATS)], bool(i % 2)] for i, text in enumerate(INJECTIONS)]
    rows.append([None, None, float("nan"), None])  # a trailing all-blank row would not exist
    rows.append([np.int64(99), np.str_("@np"), np.float32(0.25), np.bool_(False)])
    provenance = {"model_version": "2.0", "threshold": 0.5, "note": "=not a formula"}
    out = tmp_path / "scored.xlsx"
    stats = _write_xlsx(out, header, rows, provenance)
    assert stats.rows_written == len(rows) and stats.sheets == 1

    _assert_no_formulas(out)
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["scored", PROVENANCE_SHEET]
    ws = wb["scored"]
    got = [[_cell_text(c) for c in r] for r in ws.iter_rows(values_only=True)]
    # String cells are never evaluated: text is stored exactly, with no "'" (README, Exports).
    assert got[0] == header
    for original, back in zip(rows[:-2], got[1:], strict=False):
        assert back[0] == original[0] and isinstance(back[0], int)
        assert back[1] == _xml_safe(original[1])
        # Numeric with XlsxWriter's 16 significant digits, or exact text where that would overflow.
        if isinstance(back[2], str):
            assert float(back[2]) == original[2]
        else:
            assert isinstance(back[2], int | float) and math.isclose(
                back[2], original[2], rel_tol=1e-15
            )
        assert back[3] is original[3]
    assert got[-2] == [None, None, None, None]  # None and NaN are blank
    assert got[-1] == [99, "@np", float(np.float32(0.25)), False]

    # Every injection vector without XML-illegal characters is stored exactly as it was.
    stored = {r[0]: r[1] for r in got[1:-2]}
    for i, text in enumerate(INJECTIONS):
        if not any(_is_illegal_xml(ch) for ch in text):
            assert stored[i] == text

    prov = [[c for c in r] for r in wb[PROVENANCE_SHEET].iter_rows(values_only=True)]
    assert prov[0] == ["key", "value"]
    # The cells whose control characters became U+FFFD are counted and said in the provenance.
    changed = sum(any(_is_illegal_xml(ch) for ch in text) for text in INJECTIONS)
    assert changed and stats.illegal_cells == changed
    assert [r[0] for r in prov[1:]] == [*provenance, "control_characters_replaced"]
    assert dict(prov[1:])["control_characters_replaced"].startswith(f"{changed:,} cell")
    assert all(isinstance(r[1], str) for r in prov[1:])
    assert dict(prov[1:])["note"] == provenance["note"]
    assert float(dict(prov[1:])["threshold"]) == provenance["threshold"]


def test_xlsx_illegal_xml_characters_replaced_and_counted(tmp_path: Path) -> None:
    texts = ["a\x00b\x01c", "\x0b\x0c\x1f", "ok\ufffe\uffff", "lone \ud800 and \udfff", "\x00=1"]
    out = tmp_path / "illegal.xlsx"
    stats = _write_xlsx(out, ["text"], [[t] for t in texts], {"k": "v"})
    expected_count = sum(_is_illegal_xml(ch) for t in texts for ch in t)
    assert stats.illegal_chars_replaced == expected_count
    got = [
        _cell_text(r[0]) for r in openpyxl.load_workbook(out)["scored"].iter_rows(values_only=True)
    ]
    assert got[1:] == [_xml_safe(t) for t in texts]


def _recover_long_cells(path: Path) -> dict[tuple[str, str], str]:
    """Rebuild full cell texts following the layout documented in app.core.export.csv_writer."""
    wb = openpyxl.load_workbook(path)
    parts: dict[tuple[str, str], list[tuple[int, str]]] = {}
    rows = list(wb[OVERFLOW_SHEET].iter_rows(values_only=True))
    for sheet, cell, _column, part, text in rows[1:]:
        parts.setdefault((sheet, cell), []).append((part, _cell_text(text)))
    full = {}
    for (sheet, cell), pieces in parts.items():
        main = _cell_text(wb[sheet][cell].value)
        assert main.endswith(OVERFLOW_MARKER)
        pieces.sort()
        assert [p for p, _ in pieces] == list(range(1, len(pieces) + 1))
        full[(sheet, cell)] = main.removesuffix(OVERFLOW_MARKER) + "".join(t for _, t in pieces)
    return full


def test_xlsx_long_cells_are_continued_not_truncated(tmp_path: Path) -> None:
    rng = random.Random(7)
    long_ascii = "=" + "".join(rng.choice("abc =+-\n'") for _ in range(39_999))
    long_emoji = "😀" * 20_000 + "x" * 3  # 40,003 UTF-16 units, splits must not cut a pair
    huge = "".join(rng.choice("xyz") for _ in range(3 * EXCEL_MAX_CELL_CHARS + 5))
    rows = [["short", 1.0], [long_ascii, 2.0], [long_emoji, 3.0], [huge, 4.0]]
    provenance = {"long_note": "p" * 40_000, "threshold": 0.5}
    out = tmp_path / "long.xlsx"
    stats = _write_xlsx(out, ["text", "score"], rows, provenance)
    long_cells = [t for t, _ in rows if _utf16_units(t) > EXCEL_MAX_CELL_CHARS]
    assert stats.overflowed_cells == len(long_cells) + 1  # + the provenance value

    _assert_no_formulas(out)
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["scored", OVERFLOW_SHEET, PROVENANCE_SHEET]
    for ws in wb.worksheets:
        for row in ws.iter_rows(values_only=True):
            for value in row:
                if isinstance(value, str):
                    assert _utf16_units(_cell_text(value)) <= EXCEL_MAX_CELL_CHARS

    full = _recover_long_cells(out)
    assert full[("scored", "A3")] == long_ascii
    assert full[("scored", "A4")] == long_emoji
    assert full[("scored", "A5")] == huge
    assert full[(PROVENANCE_SHEET, "B2")] == provenance["long_note"]
    assert len(full) == stats.overflowed_cells
    assert wb["scored"]["A2"].value == "short"


def test_xlsx_rolls_over_to_new_sheets(tmp_path: Path) -> None:
    assert EXCEL_MAX_ROWS == 2**20
    default = inspect.signature(XlsxExportWriter).parameters["max_rows_per_sheet"].default
    assert default == EXCEL_MAX_ROWS

    limit, n_rows = 3, 7  # 2 data rows per sheet under the header
    header = ["id", "-text\x01"]  # an illegal character, repeated on every sheet
    rows = [[i, f"=row {i}"] for i in range(n_rows)]
    out = tmp_path / "roll.xlsx"
    stats = _write_xlsx(out, header, rows, {"k": "v"}, max_rows_per_sheet=limit)
    per_sheet = limit - 1
    n_sheets = math.ceil(n_rows / per_sheet)
    assert stats.sheets == n_sheets and stats.rows_written == n_rows
    assert stats.illegal_chars_replaced == sum(_is_illegal_xml(ch) for ch in "".join(header))

    wb = openpyxl.load_workbook(out)
    names = ["scored"] + [f"scored ({k})" for k in range(2, n_sheets + 1)]
    assert wb.sheetnames == [*names, PROVENANCE_SHEET]
    collected = []
    for name in names:
        got = [list(r) for r in wb[name].iter_rows(values_only=True)]
        assert got[0] == [_xml_safe(h) for h in header]
        assert 1 <= len(got) - 1 <= per_sheet
        collected += got[1:]
    assert collected == [[i, t] for i, t in rows]


def test_xlsx_row_data_is_written_in_large_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # XlsxWriter's own 8 KiB buffer means one write() (and one GIL release) every ~20 rows,
    # which starved the GUI thread for the whole of every chunk; see _enlarge_row_buffer.
    # Row files live in the app's private tmp folder (app.core.common.private_tmp), not the system's.
    monkeypatch.setenv("ABUSE_DESK_HOME", str(tmp_path / "home"))
    scratch = tmp_path / "home" / "data" / "tmp"
    row = [1, "some ordinary text " * 10, 0.5]  # ~250 bytes of XML per row
    with atomic_path(tmp_path / "big.xlsx") as tmp:
        writer = XlsxExportWriter(tmp, ["id", "text", "score"], max_rows_per_sheet=1_500)
        writer.write_rows([row] * 2_000)  # ~500 KB: over 8 KiB, under the 1 MiB buffer
        row_files = [p for p in scratch.rglob("*") if p.is_file()]
        assert len(row_files) == 2  # one per sheet: the rollover sheet is buffered too
        assert [p.stat().st_size for p in row_files] == [0, 0]
        stats = writer.close({"k": "v"})
    assert stats.rows_written == 2_000 and stats.sheets == 2
    wb = openpyxl.load_workbook(tmp_path / "big.xlsx", read_only=True)
    rows = [r for name in ("scored", "scored (2)") for r in wb[name].iter_rows(values_only=True)]
    assert rows.count(("id", "text", "score")) == 2
    assert [list(r) for r in rows if r[0] != "id"] == [row] * 2_000


def test_xlsx_failure_midway_leaves_target_and_no_temp_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Row files live in the app's private tmp folder (app.core.common.private_tmp), not the system's.
    monkeypatch.setenv("ABUSE_DESK_HOME", str(tmp_path / "home"))
    scratch = tmp_path / "home" / "data" / "tmp"
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "scored.xlsx"
    out.write_bytes(b"previous complete export")
    with pytest.raises(JobCancelled):
        with atomic_path(out) as tmp, XlsxExportWriter(tmp, ["text"]) as writer:
            writer.write_rows([["=x"]] * 50)
            raise JobCancelled("user pressed cancel")
    assert out.read_bytes() == b"previous complete export"
    assert _only_final_or_partials(out_dir, out) == []
    assert list(scratch.iterdir()) == []  # the writer's own temp folder is gone too

    with pytest.raises(RuntimeError):  # leaving the block without close() is a bug
        with atomic_path(out) as tmp, XlsxExportWriter(tmp, ["text"]) as writer:
            writer.write_row(["a"])
    assert out.read_bytes() == b"previous complete export"
    assert _only_final_or_partials(out_dir, out) == []

    _write_xlsx(out, ["text"], [["ok"]], {"k": "v"})
    assert zipfile.is_zipfile(out)
    assert list(scratch.iterdir()) == []


# --- atomic --------------------------------------------------------------------------------------


def test_atomic_writes_replace_content(tmp_path: Path) -> None:
    target = tmp_path / "f.txt"
    target.write_text("old")
    atomic_write_text(target, "new\nline\r\n")
    assert target.read_bytes() == b"new\nline\r\n"  # no newline translation
    atomic_write_bytes(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    obj = {"z": 1, "a": ["é", None, 2.5]}
    atomic_write_json(target, obj)
    assert (
        target.read_text(encoding="utf-8") == json.dumps(obj, indent=2, ensure_ascii=False) + "\n"
    )
    assert _only_final_or_partials(tmp_path, target) == []


def test_atomic_path_yields_hidden_partial_in_same_folder(tmp_path: Path) -> None:
    target = tmp_path / "report.xlsx"
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent
        assert tmp.name.startswith(".report.xlsx.") and tmp.name.endswith(".partial")
        assert not target.exists()
        tmp.write_bytes(b"done")
    assert target.read_bytes() == b"done"
    assert _only_final_or_partials(tmp_path, target) == []


@pytest.mark.parametrize("exc_type", [RuntimeError, KeyboardInterrupt, JobCancelled])
@pytest.mark.parametrize("existing", [True, False])
def test_atomic_failure_keeps_previous_file(
    tmp_path: Path, exc_type: type[BaseException], existing: bool
) -> None:
    target = tmp_path / "out.csv"
    if existing:
        target.write_bytes(b"old complete")
    with pytest.raises(exc_type):
        with atomic_open(target) as fh:
            fh.write("half")
            raise exc_type("boom")
    with pytest.raises(exc_type):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise exc_type("boom")
    assert target.read_bytes() == b"old complete" if existing else not target.exists()
    assert _only_final_or_partials(tmp_path, target) == []


def test_atomic_open_refuses_non_write_modes(tmp_path: Path) -> None:
    for mode in ("r", "a", "x", "r+"):
        with pytest.raises(ValueError):
            with atomic_open(tmp_path / "x", mode):
                pass
    assert list(tmp_path.iterdir()) == []


_CHILD = r"""
import sys, time
from app.core.common.atomic import atomic_open
final, chunks, size, delay = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
print("ready", flush=True)
with atomic_open(final, "wb") as fh:
    for i in range(chunks):
        fh.write(bytes([i % 251]) * size)
        fh.flush()
        time.sleep(delay)
"""
_CHUNKS, _SIZE, _DELAY = 40, 64 * 1024, 0.005


def _run_kill_trials(tmp_path: Path, trials: int) -> None:
    seed = random.SystemRandom().randrange(2**32)
    rng = random.Random(seed)
    new = b"".join(bytes([i % 251]) * _SIZE for i in range(_CHUNKS))
    old = b"OLD complete content\n" * 50_000
    digests = {hashlib.sha256(new).hexdigest(): "new", hashlib.sha256(old).hexdigest(): "old"}
    window = _CHUNKS * _DELAY * 1.5
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    )
    for trial in range(trials):
        folder = tmp_path / f"trial{trial}"
        folder.mkdir()
        final = folder / "scored.bin"
        had_old = trial % 2 == 0
        if had_old:
            final.write_bytes(old)
        args = [sys.executable, "-c", _CHILD, str(final), str(_CHUNKS), str(_SIZE), str(_DELAY)]
        with subprocess.Popen(args, stdout=subprocess.PIPE, cwd=REPO, env=env) as proc:
            assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
            # Stratified random moments: early, middle and late kills are all covered.
            time.sleep((trial + rng.random()) / trials * window)
            proc.kill()
            proc.wait(timeout=60)
        context = f"seed={seed} trial={trial}"
        if final.exists():
            outcome = digests.get(hashlib.sha256(final.read_bytes()).hexdigest())
            assert outcome == "new" or (outcome == "old" and had_old), context
        else:
            assert not had_old, context
        _only_final_or_partials(folder, final)


def test_sigkill_never_leaves_a_partial_final_file(tmp_path: Path) -> None:
    _run_kill_trials(tmp_path, trials=5)


@pytest.mark.slow
def test_sigkill_never_leaves_a_partial_final_file_soak(tmp_path: Path) -> None:
    _run_kill_trials(tmp_path, trials=25)


def test_write_rows_equals_write_row_cell_for_cell() -> None:
    """write_rows takes a column-wise fast path; it must write exactly what write_row does."""
    rng = random.Random(1)
    values = [
        "", "=1+1", " -2", "plain", "\ud800x", "ü", "@x", "\t=", "'x", None,
        0.5, float("nan"), float("inf"), 3, True, np.float64(0.25), np.int64(7), np.bool_(False),
    ]  # fmt: skip
    for _ in range(300):
        width = rng.randint(1, 6)
        rows = [[rng.choice(values) for _ in range(width)] for _ in range(rng.randint(0, 20))]
        one, many = io.StringIO(), io.StringIO()
        by_row = CsvExportWriter(one, [f"h{i}" for i in range(width)])
        at_once = CsvExportWriter(many, [f"h{i}" for i in range(width)])
        for row in rows:
            by_row.write_row(row)
        at_once.write_rows(rows)
        assert many.getvalue() == one.getvalue()
        assert at_once.surrogates_replaced == by_row.surrogates_replaced
        assert at_once.rows_written == by_row.rows_written == len(rows)


_CELL_TEXT = st.text(
    alphabet=st.sampled_from(list("ab ,\"'\r\n\x00\t=+-@;\u00a0\u3000\uff1dü🙂") + ["\ud800"]),
    max_size=6,
)
# Columns of one kind each (what the fast paths take), or mixed (what they must leave alone).
_COLUMN = {
    "text": _CELL_TEXT,
    "float": st.floats(allow_nan=True, allow_infinity=True),
    "mixed": st.one_of(_CELL_TEXT, st.none(), st.floats(), st.integers()),
}


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_write_rows_fast_columns_equal_write_row(data: st.DataObject) -> None:
    """Homogeneous text and float columns take write_rows' fast paths (no per-cell call, C-level
    line assembly); the bytes must still be csv.writer's, cell for cell."""
    width = data.draw(st.integers(1, 5))
    kinds = [data.draw(st.sampled_from(sorted(_COLUMN))) for _ in range(width)]
    n = data.draw(st.integers(1, 12))
    rows = [[data.draw(_COLUMN[kind]) for kind in kinds] for _ in range(n)]
    one, many = io.StringIO(), io.StringIO()
    by_row = CsvExportWriter(one, [f"h{i}" for i in range(width)])
    at_once = CsvExportWriter(many, [f"h{i}" for i in range(width)])
    for row in rows:
        by_row.write_row(row)
    at_once.write_rows(rows)
    assert many.getvalue() == one.getvalue()
    assert at_once.surrogates_replaced == by_row.surrogates_replaced
    reread = list(csv.reader(io.StringIO(many.getvalue().lstrip("\ufeff"), newline="")))
    assert len(reread) == n + 1


def test_xlsx_provenance_escapes_controls_so_its_count_is_the_whole_files(tmp_path: Path) -> None:
    """The provenance sheet says how many cells lost control characters; it must not itself be
    one of them (written after the count, it would make its own count untrue). Its values keep
    a control as \\xNN, as the rejected-rows file does; only data-sheet cells are replaced."""
    out = tmp_path / "c.xlsx"
    provenance = {"input": "we\x01ird.csv", "odd\x02key": "bad byte \udc9b, \ufffe"}
    stats = _write_xlsx(out, ["text"], [["a\x07b"], ["plain"]], provenance)
    assert stats.illegal_cells == 1 and stats.illegal_chars_replaced == 1
    wb = openpyxl.load_workbook(out)
    prov = {r[0]: r[1] for r in wb[PROVENANCE_SHEET].iter_rows(values_only=True)}
    assert prov["input"] == "we\\x01ird.csv"
    assert prov["odd\\x02key"] == "bad byte \\x9b, \\ufffe"
    note = "1 cell in the data sheets had control characters replaced with U+FFFD"
    assert prov["control_characters_replaced"].startswith(note)
    assert not any("\ufffd" in str(v) for r in prov.items() for v in r)
