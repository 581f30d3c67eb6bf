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
