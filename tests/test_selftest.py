"""The self-test: every check passes on the shipped model, and each file check fails, with a
reason, when the code it guards is broken (simulated here by patching that code)."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pytest

from app.cli import main as cli
from app.core.activity import log as activity
from app.core.activity.log import ActivityLog
from app.core.export import csv_writer as export
from app.core.export import xlsx_writer as export_xlsx
from app.core.export.csv_writer import CsvExportWriter, XlsxExportWriter
from app.core.selftest import checks as selftest
from app.core.selftest import report as selftest_io
from tests.cli_runner import run_cli

NAMES = [
    "bundle verified",
    "sample texts scored",
    "explanation adds up",
    "threshold arithmetic",
    "activity log",
    "exports",
]


def by_name(checks: list[selftest.Check]) -> dict[str, selftest.Check]:
    return {check.name: check for check in checks}


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The system temp folder, redirected so a test can see what the self-test leaves behind."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_every_check_passes_on_the_bundled_model(bundled_model_path, scratch):
    checks = selftest.run_self_test(bundled_model_path)
    assert [check.name for check in checks] == NAMES
    assert len(checks) == selftest.CHECK_COUNT
    failed = [check for check in checks if not check.ok]
    assert not failed
    details = by_name(checks)
    assert "2 events written, reopened and read back" in details["activity log"].detail
    assert "chain intact" in details["activity log"].detail
    assert "no formula cells" in details["exports"].detail
    assert list(scratch.iterdir()) == []  # the temporary folder and its files are gone


def test_a_refused_bundle_is_the_only_check(tmp_path):
    checks = selftest.run_self_test(tmp_path / "missing-bundle")
    assert [(check.name, check.ok) for check in checks] == [("bundle verified", False)]


def failed_check(bundled_model_path: Path, name: str) -> selftest.Check:
    check = by_name(selftest.run_self_test(bundled_model_path))[name]
    assert not check.ok, check.detail
    return check


# --- activity log -----------------------------------------------------------------------------
def test_activity_log_check_fails_when_hashes_do_not_chain(bundled_model_path, monkeypatch):
    monkeypatch.setattr(activity, "content_hash", lambda prev, values: "f" * 64)
    detail = failed_check(bundled_model_path, "activity log").detail
    assert detail.startswith("hash chain of a fresh log: event 1:")


def test_activity_log_check_fails_when_tampering_goes_unnoticed(bundled_model_path, monkeypatch):
    monkeypatch.setattr(ActivityLog, "verify", lambda self: (True, "always fine"))
    detail = failed_check(bundled_model_path, "activity log").detail
    assert detail == "an event edited in the database was not detected"


def test_activity_log_check_fails_when_events_are_not_read_back(bundled_model_path, monkeypatch):
    monkeypatch.setattr(ActivityLog, "query", lambda self, **kwargs: [])
    detail = failed_check(bundled_model_path, "activity log").detail
    assert detail.startswith("read back [] after reopening")


def test_activity_log_check_fails_when_the_text_hmac_changes(tmp_path, monkeypatch):
    keys = iter([b"k" * 32, b"x" * 32, b"x" * 32])  # the reopened log gets a different key
    monkeypatch.setattr(selftest_io, "load_or_create_secret", lambda path: next(keys))
    with pytest.raises(selftest_io.SelfTestFailure, match="HMAC did not survive reopening"):
        selftest_io.check_activity_log(tmp_path)


# --- exports ----------------------------------------------------------------------------------
def test_exports_check_fails_when_the_csv_keeps_a_formula(bundled_model_path, monkeypatch):
    monkeypatch.setattr(export, "neutralize_cell", lambda value: value)
    detail = failed_check(bundled_model_path, "exports").detail
    assert detail == "CSV text cell '=1+1', expected \"'=1+1\""


def test_exports_check_fails_when_the_xlsx_alters_the_text(bundled_model_path, monkeypatch):
    # XLSX text is a string cell, stored exactly: a writer that still prefixes "'" is caught.
    monkeypatch.setattr(export_xlsx, "xlsx_number", lambda text: None)
    real = XlsxExportWriter._prepare
    monkeypatch.setattr(
        XlsxExportWriter, "_prepare", lambda self, text, *a, **k: real(self, "'" + text, *a, **k)
    )
    detail = failed_check(bundled_model_path, "exports").detail
    assert detail.startswith("the XLSX lacks the text(s) [") and "'=1+1'" in detail


def test_exports_check_fails_on_a_formula_element(bundled_model_path, monkeypatch):
    real = XlsxExportWriter._put_text

    def put_text(ws, row, col, text, text_format=None):  # a careless writer's "=..." text
        if text.startswith("="):
            ws.write_formula(row, col, text)
        else:
            real(ws, row, col, text, text_format)

    monkeypatch.setattr(XlsxExportWriter, "_put_text", staticmethod(put_text))
    detail = failed_check(bundled_model_path, "exports").detail
    assert detail == "the XLSX holds 1 formula element(s)"


def test_exports_check_fails_when_scores_do_not_round_trip(tmp_path, monkeypatch):
    monkeypatch.setattr(CsvExportWriter, "float_text", staticmethod(lambda value: "0.3"))
    with pytest.raises(selftest_io.SelfTestFailure, match=r"^CSV score '0.3' is not 0.25$"):
        selftest_io.check_exports(tmp_path, [("=1+1", 0.25, "benign")])


def test_an_export_error_is_a_failed_check_not_a_crash(bundled_model_path, monkeypatch, scratch):
    def disk_full(self, rows):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(CsvExportWriter, "write_rows", disk_full)
    detail = failed_check(bundled_model_path, "exports").detail
    assert "No space left on device" in detail
    assert list(scratch.iterdir()) == []


def test_exports_check_needs_a_formula_looking_text(tmp_path):
    with pytest.raises(selftest_io.SelfTestFailure, match="no formula-looking text"):
        selftest_io.check_exports(tmp_path, [("hello", 0.1, "benign")])


# --- the command line: core checks, then the GUI checks ----------------------------------------
def test_cli_self_test_adds_the_gui_checks():
    result = run_cli("--self-test")
    assert result.returncode == 0, result.stdout + result.stderr
    for name in [*NAMES, "Qt platform", "fonts render", "plot stack"]:
        assert f"[ok] {name}: " in result.stdout
    assert "[FAIL]" not in result.stdout


def test_cli_self_test_reports_a_missing_gui_stack(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("ABUSE_DESK_HOME", str(tmp_path))
    monkeypatch.setitem(sys.modules, "app.ui.shell.selfcheck", None)  # import fails like a lost Qt
    assert cli.main(["--self-test"]) == 1
    out = capsys.readouterr().out
    assert out.count("[ok]") == len(NAMES)
    assert "[FAIL] Qt platform: the GUI stack cannot be imported" in out
