"""User settings, persisted as JSON in the platform's config folder, with a schema version.

A damaged or hand-edited file never stops the app: each field that is missing or of the wrong
type falls back to its default, and the problems are reported so the UI can mention them. A file
written with another schema version is not interpreted at all (a newer app may have changed what a
field means, e.g. a threshold in percent): every field gets its default.

Nor is such a file ever lost: before anything is saved over a damaged file it is renamed to
``settings.json.broken-<UTC time>``; a file of a newer schema is never saved over at all. Defaults
chosen for those reasons pause log retention (``retention_paused``), so they cannot purge events.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app import APP_NAME
from app.core.common.atomic import atomic_write_json
from app.core.common.errors import InputError
from app.core.common.limits import Limits
from app.core.common.paths import user_config_dir
from app.core.common.portable_fs import FileLock, open_regular_file

SCHEMA_VERSION = 1
SETTINGS_FILE = "settings.json"
MAX_RETENTION_DAYS = 36_500  # keeps `now - timedelta(days)` inside the calendar
_LIMIT_FIELDS = ("warn_file_bytes", "max_concurrent_jobs", "max_logged_texts_per_minute")
MAX_BATCH_HISTORY = 100  # as app.core.results.history.MAX_HISTORY (settings imports no results)
MAX_SETTINGS_BYTES = 1 << 20  # a settings file is a few hundred bytes; more is not ours
BROKEN_SUFFIX = ".broken-"
FONT_SCALE_RANGE = (80, 200)  # percent of the desktop's font size
THEMES = ("system", "dark", "high_contrast")


@dataclass
class Settings:
    threshold: float = 0.45
    last_folder: str = ""
    window_geometry: str = ""  # base64 of QMainWindow.saveGeometry(), opaque to the core
    log_retention_days: int = 90
    store_raw_text: bool = False  # activity log stores an HMAC of texts unless this is set
    reference_threshold: float = 0.50
    # Accessibility: the UI's font size in percent, and the colour theme (one of THEMES).
    font_scale: int = 100
    theme: str = "system"
    # Model versions, by bundle folder name ("" = the default bundled model / none).
    active_model: str = ""
    previous_model: str = ""  # what "Roll back" returns to
    challenger_model: str = ""
    # Which rule picks the model of an empty active_model: 1 = abuse-lr-1.0.0 (until issue 16),
    # 2 = the default fast model's rule (app.core.engine.default_model). A file saved before the
    # field existed has none: it ran on 1.0.0, and keeps 1.0.0 (`_keep_the_model_it_ran_on`).
    default_model_rule: int = 2
    # An administrator's explicit choice: accept bundles with no signature (each use is logged).
    allow_unsigned_models: bool = False
    # Limits a user may tune by editing the file (see app.core.common.limits; each must be >= 1).
    warn_file_bytes: int = Limits().warn_file_bytes
    max_concurrent_jobs: int = Limits().max_concurrent_jobs
    max_logged_texts_per_minute: int = Limits().max_logged_texts_per_minute
    # Finished desktop batch jobs kept (results and cache) across restarts; 0 keeps none.
    batch_history_size: int = 10
    # Planning (Threshold panel, `plan`): the supervisor's traffic and review capacity, and the
    # three-band policy's cut points; None until set (see _OPTIONAL for what each accepts).
    expected_prevalence: float | None = None
    daily_volume: float | None = None
    reviewers: int | None = None
    items_per_reviewer_per_day: float | None = None
    band_review_at: float | None = None
    band_escalate_at: float | None = None
    # Set when defaults were chosen because the file could not be used: retention then purges
    # nothing until the user sets it again (Preferences). Saved, so it outlives the first save.
    retention_paused: bool = field(default=False, compare=False)
    problems: list[str] = field(default_factory=list, compare=False)
    # The file held a threshold this version could not use (damaged, newer, invalid): the
    # default stands in for it, and commands say so instead of calling it the app-wide one.
    threshold_fallback: bool = field(default=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("problems")
        data.pop("threshold_fallback")
        return {"schema_version": SCHEMA_VERSION, **data}


def settings_path() -> Path:
    return user_config_dir() / SETTINGS_FILE


class SettingsNotSaved(InputError):
    """The settings file on disk must not be replaced (newer schema, or damaged and it could
    not be kept aside): the change that needed saving is refused instead."""


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and _finite(value)


# Fields unset (None) by default: None is valid, else the check; ints are taken for floats.
_OPTIONAL: dict[str, Any] = {
    "expected_prevalence": lambda v: _is_number(v) and 0.0 < v < 1.0,
    "daily_volume": lambda v: _is_number(v) and v > 0,
    "reviewers": lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 10**6,
    "items_per_reviewer_per_day": lambda v: _is_number(v) and 0 <= v <= 10**9,
    "band_review_at": lambda v: _is_number(v) and 0.0 <= v <= 1.0,
    "band_escalate_at": lambda v: _is_number(v) and 0.0 <= v <= 1.0,
}
_OPTIONAL_INT = ("reviewers",)


def _convert(name: str, value: Any, default: Any) -> Any:
    if name in _OPTIONAL:
        return None if value is None else (value if name in _OPTIONAL_INT else float(value))
    return type(default)(value)


def _crossed(review: Any, escalate: Any) -> bool:
    """Band cut points that cross (review above escalate) make no policy."""
    return _is_number(review) and _is_number(escalate) and bool(review > escalate)


def _valid(name: str, value: Any, default: Any) -> bool:
    if name in _OPTIONAL:
        return value is None or bool(_OPTIONAL[name](value))
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        ok = ok and _finite(value)
        return ok and (0.0 <= value <= 1.0 if "threshold" in name else True)
    if isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
        if name == "log_retention_days":  # 0 days would purge the whole log
            return ok and 1 <= value <= MAX_RETENTION_DAYS
        if name == "batch_history_size":
            return ok and 0 <= value <= MAX_BATCH_HISTORY
        if name in _LIMIT_FIELDS:  # a limit of 0 would block everything
            return ok and value >= 1
        if name == "font_scale":
            return ok and FONT_SCALE_RANGE[0] <= value <= FONT_SCALE_RANGE[1]
        return ok and value >= 0
    if name == "theme":
        return value in THEMES
    return isinstance(value, type(default))


def _finite(value: float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int with hundreds of digits
        return False


def _read(path: Path) -> tuple[str, Any]:
    """(state, payload) of the file: ("missing", None), ("damaged", why), ("newer", version)
    or ("ok", the JSON object). Never follows a link, never blocks on a FIFO, never reads
    more than `MAX_SETTINGS_BYTES`."""
    try:
        fd = open_regular_file(path)
    except FileNotFoundError:
        return "missing", None
    except OSError as exc:
        return "damaged", exc.strerror or str(exc)
    with os.fdopen(fd, "rb") as fh:
        raw = fh.read(MAX_SETTINGS_BYTES + 1)
    if len(raw) > MAX_SETTINGS_BYTES:
        return "damaged", f"larger than {MAX_SETTINGS_BYTES:,} bytes"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "damaged", "not a text file"
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        return "damaged", f"not valid JSON at line {exc.lineno}, column {exc.colno}"
    except (ValueError, RecursionError) as exc:  # RecursionError: absurdly nested JSON
        return "damaged", f"not valid JSON: {str(exc)[:80]}"
    if not isinstance(data, dict):
        return "damaged", "not a JSON object"
    version = data.get("schema_version")
    if isinstance(version, int) and not isinstance(version, bool) and version > SCHEMA_VERSION:
        return "newer", version
    if version != SCHEMA_VERSION or isinstance(version, bool):  # True == 1 in Python
        return "damaged", f"schema version {str(version)[:20]!r} is not {SCHEMA_VERSION}"
    return "ok", data


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number a setting can hold")


def load_settings(path: Path | None = None) -> Settings:
    """The settings at `path`; anything unreadable or invalid gives defaults plus a problem,
    and pauses log retention (defaults must not purge what the user chose to keep)."""
    path = path or settings_path()
    settings = Settings()
    state, payload = _read(path)
    if state == "missing":
        return settings
    if state == "newer":
        settings.retention_paused = settings.threshold_fallback = True
        settings.problems.append(
            f"{path} is from a newer {APP_NAME} (schema version {payload}); using defaults and "
            "saving nothing over it: use the newer version, or move the file aside"
        )
        return settings
    if state == "damaged":
        settings.retention_paused = settings.threshold_fallback = True
        settings.problems.append(
            f"{path} could not be read ({payload}); using defaults, log retention paused; it is "
            f"renamed {path.name}{BROKEN_SUFFIX}<date> before any setting is saved, so nothing "
            "in it is lost"
        )
        return settings
    for f in fields(Settings):
        if f.name in ("problems", "threshold_fallback") or f.name not in payload:
            continue
        default = getattr(settings, f.name)
        value = payload[f.name]
        if _valid(f.name, value, default):
            setattr(settings, f.name, _convert(f.name, value, default))
        else:
            if f.name == "log_retention_days":
                settings.retention_paused = True
            settings.threshold_fallback |= f.name == "threshold"
            settings.problems.append(
                f"{path}: {f.name}={str(value)[:40]!r} is invalid; using {default!r}"
                + ("; log retention paused" if f.name == "log_retention_days" else "")
            )
    _check_bands(settings, path)
    _keep_the_model_it_ran_on(settings, payload)
    return settings


LEGACY_DEFAULT_MODEL = "abuse-lr-1.0.0"  # the default bundled model before rule 2


def _keep_the_model_it_ran_on(settings: Settings, payload: dict[str, Any]) -> None:
    """A settings file from before the default changed, that never chose a model, ran on
    abuse-lr-1.0.0 with a threshold chosen for it: it keeps 1.0.0 (an upgrade never changes
    which model labels a user's texts); only a fresh install starts on the new default."""
    # The earlier app wrote every field: its files hold active_model (empty when none was
    # chosen) and no default_model_rule. A file written by hand with neither is not one of them.
    if payload.get("default_model_rule") != 2:
        settings.default_model_rule = 2
        if payload.get("active_model") == "":
            settings.active_model = LEGACY_DEFAULT_MODEL


def _check_bands(settings: Settings, path: Path) -> None:
    """Cut points that cross (review above escalate) are no policy: both fall back to unset."""
    review, escalate = settings.band_review_at, settings.band_escalate_at
    if _crossed(review, escalate):
        settings.band_review_at = settings.band_escalate_at = None
        settings.problems.append(
            f"{path}: band_review_at={review!r} is above band_escalate_at={escalate!r}; "
            "using None for both"
        )


def settings_notice(settings: Settings) -> str | None:
    """The settings' problems as one line for the command line (None when there are none)."""
    if not settings.problems:
        return None
    text = "; ".join(settings.problems)
    return text if len(text) <= 600 else text[:597] + "..."


def _keep_aside(path: Path) -> Path:
    """Rename a damaged settings file to ``settings.json.broken-<UTC time>`` (never over another
    one): a rename keeps every byte, and works for a folder or an unreadable file too."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    for n in range(100):
        target = path.with_name(f"{path.name}{BROKEN_SUFFIX}{stamp}" + (f"-{n}" if n else ""))
        if not os.path.lexists(target):
            os.rename(path, target)
            return target
    raise FileExistsError(f"too many {path.name}{BROKEN_SUFFIX}{stamp} files")


def save_settings(settings: Settings, path: Path | None = None) -> Path:
    """Write `settings` atomically. What is on disk *now* decides whether that is allowed: a
    newer schema is never replaced (SettingsNotSaved), a damaged file is first kept aside."""
    path = path or settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    check_saveable(path)
    state, payload = _read(path)
    if state == "ok" and not _all_valid(payload):
        state = "damaged"
    if state == "damaged":
        try:
            kept = _keep_aside(path)
        except OSError as exc:
            raise SettingsNotSaved(
                f"{path} is damaged and could not be kept aside ({exc.strerror or exc}); "
                "this change is not saved"
            ) from None
        settings.problems.append(f"the damaged settings file was kept as {kept}")
    atomic_write_json(path, settings.to_json())
    return path


def check_saveable(path: Path | None = None) -> None:
    """Raise SettingsNotSaved now if a later `save_settings` would be refused (a newer schema's
    file, or a file or folder that cannot be written), so a command or panel can refuse before
    it logs or changes anything."""
    path = path or settings_path()
    state, payload = _read(path)
    if state == "newer":
        raise SettingsNotSaved(
            f"{path} is from a newer {APP_NAME} (schema version {payload}); it is kept, so this "
            "change is not made: use the newer version, or move the file aside"
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        probe = path.parent / f".{path.name}.{os.getpid()}.probe"
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        os.unlink(probe)
        if path.is_file():  # replaced by a rename: an immutable or locked file refuses it
            os.close(os.open(path, os.O_WRONLY | os.O_APPEND))
    except OSError as exc:
        raise SettingsNotSaved(
            f"{path} cannot be written ({exc.strerror or exc}); this change is not made"
        ) from None


LOCK_SECONDS = 5.0


def update_settings(values: dict[str, Any], path: Path | None = None) -> Settings:
    """Write `values` (field -> value) over the settings as they are on disk *now*, under a
    lock, and return what was written. Each process saves only what it changed, so the desktop
    app never puts back a model or threshold that a command (or another window) changed since it
    started, and two commands at once never lose one of their changes."""
    path = path or settings_path()
    check_saveable(path)
    lock = FileLock(path.with_name(f".{path.name}.lock"))
    if not lock.acquire_within(LOCK_SECONDS):
        raise SettingsNotSaved(f"{path} is busy (another process is saving it); not saved")
    try:
        current = load_settings(path)
        for name, value in values.items():
            setattr(current, name, value)
        save_settings(current, path)
    finally:
        lock.release()
    return current


def _all_valid(data: dict[str, Any]) -> bool:
    defaults = Settings()
    if _crossed(data.get("band_review_at"), data.get("band_escalate_at")):
        return False
    return all(
        _valid(f.name, data[f.name], getattr(defaults, f.name))
        for f in fields(Settings)
        if f.name != "problems" and f.name in data
    )


# Settings a user changes in the Preferences dialog; each change is logged as an activity event.
USER_EDITABLE = (
    "log_retention_days",
    "store_raw_text",
    "reference_threshold",
    "batch_history_size",
    "font_scale",
    "theme",
    "expected_prevalence",
    "daily_volume",
    "reviewers",
    "items_per_reviewer_per_day",
    "band_review_at",
    "band_escalate_at",
)


def apply_user_changes(settings: Settings, changes: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Validate and apply edits from the Preferences dialog; returns {field: (old, new)}.

    Raises ValueError naming the field for a value ``load_settings`` would also refuse, so a
    value that could not be read back is never saved.
    """
    applied: dict[str, tuple[Any, Any]] = {}
    review = changes.get("band_review_at", settings.band_review_at)
    escalate = changes.get("band_escalate_at", settings.band_escalate_at)
    if _crossed(review, escalate):  # refused before anything changes
        raise ValueError(f"band_review_at={review!r} is above band_escalate_at={escalate!r}")
    for name, value in changes.items():
        if name not in USER_EDITABLE:
            raise ValueError(f"{name} is not a user setting")
        old = getattr(settings, name)
        if not _valid(name, value, old):
            raise ValueError(f"{name}={value!r} is not a valid value")
        if value != old:
            setattr(settings, name, _convert(name, value, old))
            applied[name] = (old, value)
    if "log_retention_days" in changes and settings.retention_paused:
        # The user has now seen and confirmed a retention: it applies again.
        settings.retention_paused = False
        applied["retention_paused"] = (True, False)
    return applied
