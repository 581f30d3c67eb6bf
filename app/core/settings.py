"""User settings, persisted as JSON in the platform's config folder, with a schema version.

A damaged or hand-edited file never stops the app: each field that is missing or of the wrong
type falls back to its default, and the problems are reported so the UI can mention them. A file
written with another schema version is not interpreted at all (a newer app may have changed what a
field means, e.g. a threshold in percent): every field gets its default.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from app.core.atomic import atomic_write_json
from app.core.limits import Limits
from app.core.paths import user_config_dir

SCHEMA_VERSION = 1
SETTINGS_FILE = "settings.json"
MAX_RETENTION_DAYS = 36_500  # keeps `now - timedelta(days)` inside the calendar
_LIMIT_FIELDS = ("warn_file_bytes", "max_concurrent_jobs", "max_logged_texts_per_minute")


@dataclass
class Settings:
    threshold: float = 0.45
    last_folder: str = ""
    window_geometry: str = ""  # base64 of QMainWindow.saveGeometry(), opaque to the core
    log_retention_days: int = 90
    store_raw_text: bool = False  # activity log stores an HMAC of texts unless this is set
    reference_threshold: float = 0.50
    # Model versions, by bundle folder name ("" = the default bundled model / none).
    active_model: str = ""
    previous_model: str = ""  # what "Roll back" returns to
    challenger_model: str = ""
    # An administrator's explicit choice: accept bundles with no signature (each use is logged).
    allow_unsigned_models: bool = False
    # Limits a user may tune by editing the file (see app.core.limits; each must be >= 1).
    warn_file_bytes: int = Limits().warn_file_bytes
    max_concurrent_jobs: int = Limits().max_concurrent_jobs
    max_logged_texts_per_minute: int = Limits().max_logged_texts_per_minute
    problems: list[str] = field(default_factory=list, compare=False)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("problems")
        return {"schema_version": SCHEMA_VERSION, **data}


def settings_path() -> Path:
    return user_config_dir() / SETTINGS_FILE


def _valid(name: str, value: Any, default: Any) -> bool:
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return ok and (0.0 <= value <= 1.0 if "threshold" in name else True)
    if isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
        if name == "log_retention_days":  # 0 days would purge the whole log
            return ok and 1 <= value <= MAX_RETENTION_DAYS
        if name in _LIMIT_FIELDS:  # a limit of 0 would block everything
            return ok and value >= 1
        return ok and value >= 0
    return isinstance(value, type(default))


def load_settings(path: Path | None = None) -> Settings:
    path = path or settings_path()
    settings = Settings()
    if not path.exists():
        return settings
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError, RecursionError) as exc:  # RecursionError: absurdly nested JSON
        settings.problems.append(f"{path} could not be read ({exc}); using defaults")
        return settings
    version = data.get("schema_version")
    if version != SCHEMA_VERSION or isinstance(version, bool):  # True == 1 in Python
        settings.problems.append(
            f"{path}: schema version {version!r} is not {SCHEMA_VERSION}; using defaults"
        )
        return settings
    for f in fields(Settings):
        if f.name == "problems" or f.name not in data:
            continue
        default = getattr(settings, f.name)
        if _valid(f.name, data[f.name], default):
            setattr(settings, f.name, type(default)(data[f.name]))
        else:
            settings.problems.append(
                f"{path}: {f.name}={data[f.name]!r} is invalid; using {default!r}"
            )
    return settings


def save_settings(settings: Settings, path: Path | None = None) -> Path:
    path = path or settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(path, settings.to_json())
    return path


# Settings a user changes in the Preferences dialog; each change is logged as an activity event.
USER_EDITABLE = ("log_retention_days", "store_raw_text", "reference_threshold")


def apply_user_changes(settings: Settings, changes: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Validate and apply edits from the Preferences dialog; returns {field: (old, new)}.

    Raises ValueError naming the field for a value ``load_settings`` would also refuse, so a
    value that could not be read back is never saved.
    """
    applied: dict[str, tuple[Any, Any]] = {}
    for name, value in changes.items():
        if name not in USER_EDITABLE:
            raise ValueError(f"{name} is not a user setting")
        old = getattr(settings, name)
        if not _valid(name, value, old):
            raise ValueError(f"{name}={value!r} is not a valid value")
        if value != old:
            setattr(settings, name, type(old)(value))
            applied[name] = (old, value)
    return applied
