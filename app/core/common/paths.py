"""Where the app finds its own files and keeps the user's.

One helper resolves bundled files both from a source checkout and inside a PyInstaller bundle,
where everything sits under ``sys._MEIPASS``. User folders come from platformdirs so they follow
each platform's convention (XDG on Linux).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

from app import APP_NAME

_SOURCE_ROOT = Path(__file__).resolve().parents[3]


def install_root() -> Path:
    """The folder holding ``models/`` and ``resources/``: the frozen bundle's, the source
    checkout, or, for an installed wheel, ``<prefix>/share/abuse-desk`` (pyproject data-files)."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root)
    if (_SOURCE_ROOT / "models").is_dir():
        return _SOURCE_ROOT
    return Path(sys.prefix) / "share" / APP_NAME


def resource_path(*parts: str) -> Path:
    """A file under ``resources/`` (icons, style sheets, sample data)."""
    return install_root().joinpath("resources", *parts)


def bundled_models_dir() -> Path:
    """The read-only folder of model bundles shipped with the app."""
    return install_root() / "models"


# One variable moves every user folder (config, data, logs) under one root: tests, portable
# installs on removable media, and a second profile for training all use it.
HOME_ENV = "ABUSE_DESK_HOME"


def _user_dir(kind: str) -> Path:
    root = os.environ.get(HOME_ENV)
    if root:
        return Path(root) / kind
    if kind == "config":
        return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))
    if kind == "data":
        return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def user_config_dir() -> Path:
    return _user_dir("config")


def user_data_dir() -> Path:
    return _user_dir("data")


def user_log_dir() -> Path:
    return _user_dir("log")


def jobs_root(data_dir: Path | None = None) -> Path:
    """Where the desktop app caches the scored files of its session (the one place under the
    app's own folders that batch jobs write to)."""
    return (data_dir or user_data_dir()) / "jobs"


# The activity log's files: named here once, for the log itself, the CLI and every output guard.
ACTIVITY_DB_NAME = "activity.sqlite3"
ACTIVITY_KEY_NAME = "activity.key"
DECISIONS_DB_NAME = "decisions.sqlite3"  # the decision records (app.core.decisions.store)


def activity_db_path(data_dir: Path | None = None) -> Path:
    """The user's activity log database."""
    return (data_dir or user_data_dir()) / ACTIVITY_DB_NAME


def activity_key_path(db: Path) -> Path:
    """The workstation key kept beside the activity log `db`."""
    return db.parent / ACTIVITY_KEY_NAME


# The reviewers' verdicts on audit samples (app.core.audit.verdicts), beside the activity log.
LABELS_DB_NAME = "labels.sqlite3"


def labels_db_path(data_dir: Path | None = None) -> Path:
    """The user's local labels store."""
    return (data_dir or user_data_dir()) / LABELS_DB_NAME


def decisions_db_path(data_dir: Path | None = None) -> Path:
    """The decision records' database, beside the activity log."""
    return (data_dir or user_data_dir()) / DECISIONS_DB_NAME
