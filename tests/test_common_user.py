"""The workstation user recorded as the author of verdicts, decisions and events."""

from __future__ import annotations

import getpass

import pytest

from app.core.common.user import UNKNOWN_USER, workstation_user


def test_the_account_name_is_returned_printable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(getpass, "getuser", lambda: "ana\x1b[31m.lopez\n")
    assert workstation_user() == "ana[31m.lopez"


@pytest.mark.parametrize("error", [KeyError("uid"), OSError("no login")])
def test_an_account_without_a_name_is_unknown(monkeypatch, error) -> None:
    def fail() -> str:
        raise error

    monkeypatch.setattr(getpass, "getuser", fail)
    assert workstation_user() == UNKNOWN_USER


def test_a_blank_name_is_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(getpass, "getuser", lambda: " \t ")
    assert workstation_user() == UNKNOWN_USER
