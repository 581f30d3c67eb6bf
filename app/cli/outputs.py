"""The command line's rule for output names that already exist, and what the log says of them.

Before any work, each output of ``score`` (``-o``, ``--report``) and ``log export`` is checked by
`app.core.results.output_names.check_replace`: an earlier output of ours is replaced (said on stderr,
once the command has succeeded), any other file is refused unless ``--overwrite`` was given.
``batch_started``/``batch_finished`` record what was written: the output, its format, the text
column, whether it was a resume and whether an earlier file was replaced.
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from app import APP_NAME
from app.cli.common import say
from app.core.results.output_names import (
    FormatConflict,
    check_replace,
    output_format,
    replaced_note,
)


@dataclass(frozen=True)
class OutputFacts:
    """What a batch job writes, as the activity log records it."""

    path: Path
    fmt: str
    text_column: str | None  # None: chosen automatically
    resume: bool
    replaced: bool

    def detail(self, text_column: str | None = None) -> str:
        """One line for the event's ``detail``; `text_column` is the one used, once known."""
        column = text_column or self.text_column
        return (
            f"output {json.dumps(os.path.abspath(self.path), ensure_ascii=False)}; "
            f"format {self.fmt}; "
            f"text column {json.dumps(column, ensure_ascii=False) if column else 'automatic'}; "
            f"resume {'yes' if self.resume else 'no'}; "
            f"replaced an earlier file {'yes' if self.replaced else 'no'}"
        )


@dataclass
class Outputs:
    facts: OutputFacts
    earlier: list[Path] = field(default_factory=list)  # our own earlier outputs, replaced
    overwritten: list[Path] = field(default_factory=list)  # other files, replaced (--overwrite)

    def say_replaced(self) -> None:
        if note := replaced_note(self.earlier):
            say(f"{APP_NAME}: note: {note}")
        for path in self.overwritten:  # said too: a file that was not ours is gone
            say(f"{APP_NAME}: note: replaced {path} (--overwrite; it was not an abuse-desk output)")


def check_score_outputs(args: argparse.Namespace, fmt: str) -> Outputs:
    """`score`'s outputs against the existing-file rule (InputError, one line, if refused)."""
    states = [(args.output, check_replace(args.output, fmt, overwrite=args.overwrite))]
    if args.report is not None:
        states.append((args.report, check_replace(args.report, "report", overwrite=args.overwrite)))
    facts = OutputFacts(
        args.output, fmt, args.text_column, bool(args.resume), states[0][1] is not None
    )
    return Outputs(
        facts,
        [path for path, state in states if state == "earlier"],
        [path for path, state in states if state == "overwrite"],
    )


def check_log_export(output: Path, overwrite: bool) -> Outputs:
    """`log export`'s output against the existing-file rule."""
    state = check_replace(output, "log", overwrite=overwrite)
    facts = OutputFacts(output, "csv", None, False, state is not None)
    return Outputs(
        facts, [output] if state == "earlier" else [], [output] if state == "overwrite" else []
    )


def format_refusal(output: Path, requested: str | None) -> str:
    """`score`'s usage error (one line) if --format contradicts the output's extension."""
    try:
        output_format(output, requested)
    except FormatConflict as exc:
        return f"{APP_NAME} score: error: {exc} (see {APP_NAME} score --help)"
    return ""
