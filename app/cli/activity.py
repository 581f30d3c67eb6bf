"""What the command line records in the activity log, and the settings it runs with.

The CLI logs every state-changing action as the GUI does (scoring, evaluation, model changes).
An event is written before the change it records, or the change is undone: if the log cannot be
written (damaged key, read-only or full database, a head file that does not match), nothing
changes and the command fails with one line, exit 3. The settings are loaded once per command,
and a settings problem is said once, on one line of stderr.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

from app import APP_NAME
from app.core.common.errors import InputError

_loaded: list[Any] = []  # the settings of this command (a CLI process runs one command)


def cli_settings() -> Any:  # -> app.core.context.settings.Settings
    """The user's settings, loaded once; their problems go to stderr as one warning line."""
    if not _loaded:
        from app.core.context.settings import load_settings, settings_notice

        settings = load_settings()
        if notice := settings_notice(settings):
            print(f"{APP_NAME}: warning: settings: {notice}", file=sys.stderr)
        _loaded.append(settings)
    return _loaded[0]


def open_activity(settings: Any = None) -> Any:  # -> app.core.activity.log.ActivityLog
    """The user's activity log, ready to write; InputError (one line) if it cannot be."""
    from app.core.activity.log import ActivityLog
    from app.core.common.paths import user_data_dir

    settings = settings or cli_settings()
    folder = user_data_dir()
    try:
        return ActivityLog.open_default(folder, store_raw_text=settings.store_raw_text)
    except (sqlite3.Error, OSError) as exc:
        why = getattr(exc, "strerror", None) or exc
        raise InputError(
            f"cannot open the activity log {folder / 'activity.sqlite3'}: {why}; nothing was "
            "changed"
        ) from None


@contextmanager
def activity_log(settings: Any = None) -> Iterator[Any]:
    """The log, open for the length of a command (opened first, so a log that cannot be
    written stops the command before it changes anything)."""
    log = open_activity(settings)
    try:
        yield log
    finally:
        log.close()


def log_one(action: str, **values: Any) -> None:
    """Open the log, record one event, close it."""
    with activity_log() as log:
        log.record(action, **values)


@contextmanager
def batch_logged(
    input_path: Any, threshold: float, scorer: Any, challenger: Any = None, output: Any = None
) -> Iterator[Callable[[Any], None]]:
    """Log ``batch_started`` before a CSV is scored (no log, no scoring), and yield the
    function that logs ``batch_finished`` with the report; a failure or interruption is
    logged too (best effort: the error being raised is what the user must see). `output`
    (`app.cli.outputs.OutputFacts`) says what is written, so an auditor sees it in both."""
    from app.core.common.errors import JobCancelled

    def detail(*parts: str | None, text_column: str | None = None) -> str | None:
        written = output.detail(text_column) if output is not None else None
        return "; ".join(p for p in (written, *parts) if p) or None

    with activity_log() as log:
        model = {"model_version": scorer.version_label}
        shadow = f"challenger {challenger.version_label}" if challenger is not None else None
        log.record(
            "batch_started",
            file_name=input_path.name,
            threshold=threshold,
            detail=detail(shadow),
            **model,
        )

        def finished(report: Any) -> None:
            from app.core.batch.options import summary_counts

            log.record(
                "batch_finished",
                counts=summary_counts(report),
                file_name=input_path.name,
                file_sha256=report.input_sha256,
                threshold=report.threshold,
                model_version=report.model_version,
                detail=detail(report.disagreement(), text_column=report.text_column),
            )

        try:
            yield finished
        except (KeyboardInterrupt, JobCancelled):
            with suppress(Exception):
                log.record("batch_cancelled", file_name=input_path.name, **model)
            raise
        except Exception as exc:
            with suppress(Exception):
                detail = str(exc)[:300]
                log.record("batch_failed", file_name=input_path.name, detail=detail, **model)
            raise
