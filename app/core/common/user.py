"""Who is at the workstation: the operating-system account name, recorded as the author of
verdicts, decisions and activity events (no login of our own: the workstation's is the one the
agency already audits)."""

from __future__ import annotations

import getpass

UNKNOWN_USER = "unknown"


def workstation_user() -> str:
    """The logged-in account's name, or ``"unknown"`` where the platform cannot say (a service
    account without a password entry): never an exception, never an empty string."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError, ImportError):  # no USER/LOGNAME and no pwd entry
        return UNKNOWN_USER
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[:128] or UNKNOWN_USER


MAX_USER_CHARS = 128
DISPLAY_USER_CHARS = 40


def clean_user(name: str) -> str:
    """A user name as it is recorded: printable characters only, trimmed, at most
    `MAX_USER_CHARS`; ``"unknown"`` if nothing is left (the rule `workstation_user` follows)."""
    name = "".join(ch for ch in str(name) if ch.isprintable()).strip()
    return name[:MAX_USER_CHARS] or UNKNOWN_USER


def display_user(value: object, limit: int = DISPLAY_USER_CHARS) -> str:
    """A user name read back from a file (a log, a labels store), safe to show: control and
    other unprintable characters escaped (``\\x1b``, ``\\u202e``), cut to `limit` characters
    with "…". What was read is never trusted for layout: a forged name cannot break lines, move
    the cursor, reverse text or widen a column. None is shown as ""."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    text = text[: limit * 8]  # enough to fill `limit` even when escaped; bounded work
    shown = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)
    return shown if len(shown) <= limit else shown[: max(0, limit - 1)] + "…"
