"""``python -m app history [list|remove ID] [--json]``: the desktop app's batch history.

The same entries the Batch panel's history row shows (`app.core.results.history`), read through
`open_context` like every command (so the data folder is the app's). ``list`` changes nothing;
``remove`` deletes one entry and its cached results (never the input file it was scored from).
Only the desktop app's Batch jobs are kept: a CLI ``score`` job is not recorded, its output file
and provenance are its record.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any

from app import APP_NAME
from app.cli.common import JSON_HELP, say
from app.core.common.messages import printable

NO_ENTRIES = (
    "no earlier batch jobs (the history keeps the desktop app's Batch jobs only; "
    "a CLI `score` job is not recorded: its output file and provenance are its record)"
)


def add_history_parser(sub: Any) -> None:
    p = sub.add_parser(
        "history", help="list or remove the Batch panel's earlier jobs (default: list)"
    )
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    history = p.add_subparsers(dest="history_command", metavar="ACTION")
    listing = history.add_parser("list", help="the kept jobs, newest first")
    # SUPPRESS: `history --json list` keeps the --json given before the action
    listing.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help=JSON_HELP)
    remove = history.add_parser("remove", help="delete one job and its cached results")
    remove.add_argument("id", help="the job's id, as `history list` shows it")
    remove.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help=JSON_HELP)


def cmd_history(args: argparse.Namespace) -> int:
    from app.cli.context import cli_context
    from app.core.common.errors import InputError
    from app.core.context.batch_queue import log_history_removed
    from app.core.results.history import BatchHistory, entry_summary

    removing = args.history_command == "remove"
    # A removal is recorded in the activity log, opened first: a log that cannot be written
    # stops the command before anything is deleted.
    with (
        _index_warnings() as warnings,
        cli_context(args, load_models=False, record=removing) as ctx,
    ):
        history = BatchHistory()
        if removing:
            entry = next((e for e in history.entries() if e.id == args.id), None)
            if entry is None or not history.remove(args.id):
                damaged = f"; {warnings[0]}" if warnings else ""  # one line, however it failed
                warnings.clear()
                raise InputError(f"no batch history entry {args.id!r} (see: history list){damaged}")
            log_history_removed(ctx, entry)
            print(json.dumps({"removed": args.id}) if args.json else f"removed {args.id}")
            return 0
        entries = [(e, history.available(e)) for e in reversed(history.entries())]
    if args.json:
        rows = [asdict(e) | {"available": ok, "cache": str(history.cache_path(e))}
                for e, ok in entries]  # fmt: skip
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    for entry, ok in entries:
        print(printable(f"{entry.id}  {entry_summary(entry, ok)}"))  # a file name may hold ESC
    if not entries:
        print(NO_ENTRIES)
    return 0


@contextmanager
def _index_warnings() -> Iterator[list[str]]:
    """The history's warnings about its index (a damaged entry dropped), held back: a failure
    says them in its one line; otherwise each is said once the command is done."""
    from app.core.results import history as history_module

    collected: list[str] = []

    class _Hold(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            collected.append(printable(record.getMessage()))
            return False

    logger, hold = logging.getLogger(history_module.__name__), _Hold()
    logger.addFilter(hold)
    try:
        yield collected
    finally:
        logger.removeFilter(hold)
    for line in dict.fromkeys(collected):  # the index is read more than once by a removal
        say(f"{APP_NAME}: warning: {line}")
