"""``python -m app log verify|export``: check or export the activity log, read-only.

Neither command writes to the log, its head file or its key: the database is opened with
``mode=ro`` and events are streamed (`app.core.activity.verify`), so a log of any size is
checked in bounded memory. A file that is not a log, a folder, a locked or empty database is
one line, exit 3; a log that fails verification prints ``broken: ...`` and exits 1.
"""

from __future__ import annotations

import argparse
import os
from contextlib import closing
from pathlib import Path
from typing import Any, TextIO, cast

from app.cli.common import path_arg


def add_log_parser(sub: Any) -> None:
    p = sub.add_parser("log", help="check or export the activity log")
    log = p.add_subparsers(dest="log_command", metavar="ACTION", required=True)
    p = log.add_parser("verify", help="check the activity log's hash chain and head file")
    p.add_argument("--db", type=path_arg, help="log database (default: the user's activity log)")
    p = log.add_parser("export", help="write every event, oldest first, to a CSV file")
    p.add_argument("output", type=path_arg, help="the CSV file to write")
    p.add_argument("--db", type=path_arg, help="log database (default: the user's activity log)")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing file even if it is not an earlier export",
    )


def _db_path(args: argparse.Namespace) -> Path:
    from app.core.common.paths import activity_db_path

    return Path(args.db) if args.db else activity_db_path()


def cmd_log(args: argparse.Namespace) -> int:
    db = _db_path(args)
    if args.log_command == "verify":
        return _verify(db)
    return _export(db, Path(args.output), args.overwrite)


def _verify(db: Path) -> int:
    from app.core.activity.head import head_path
    from app.core.activity.secret import read_secret
    from app.core.activity.verify import verify_log
    from app.core.common.paths import activity_key_path

    if not os.path.lexists(db) and os.path.lexists(head_path(db)):
        print(f"broken: {db} is missing but its head file {head_path(db).name} remains")
        return 1
    key = read_secret(activity_key_path(db), db)  # a damaged key: one line, exit 3
    ok, message = verify_log(db, key)
    print(f"{'ok' if ok else 'broken'}: {message}")
    return 0 if ok else 1


def _export(db: Path, output: Path, overwrite: bool) -> int:
    import sqlite3

    from app.cli.outputs import check_log_export
    from app.core.activity.verify import EXPORT_COLUMNS, iter_events, open_readonly
    from app.core.common.atomic import atomic_open
    from app.core.common.errors import InputError
    from app.core.export.csv_writer import CsvExportWriter
    from app.core.results.output_names import check_log_export_target

    check_log_export_target(db, output)  # never the log, its head, key, or any database
    outputs = check_log_export(output, overwrite)  # an earlier export, --overwrite, or refused
    with closing(open_readonly(db)) as conn:
        try:
            with atomic_open(output) as fh:
                writer = CsvExportWriter(cast(TextIO, fh), list(EXPORT_COLUMNS))
                for event in iter_events(conn):
                    writer.write_row([getattr(event, name) for name in EXPORT_COLUMNS])
                written = writer.rows_written
        except sqlite3.Error as exc:
            raise InputError(f"cannot read the activity log {db}: {exc}") from None
    print(f"wrote {written:,} events to {output}")
    outputs.say_replaced()
    return 0
