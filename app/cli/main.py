"""Command-line twin of the app: the original service's endpoints, headless.

``python -m app`` with no arguments opens the GUI. Exit codes: 0 success (also when rows were
rejected: they are reported), 2 usage error, 3 input error, 4 model error. Errors are one line on
stderr naming the file (and line), never a traceback. Each command lives in the module of its
group; this one only dispatches.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from app.cli.audit import cmd_audit
from app.cli.bands import bands_refusal
from app.cli.common import EXIT_USAGE, run_command, say
from app.cli.decisions import cmd_decisions, cmd_replay
from app.cli.evaluate import cmd_evaluate
from app.cli.history import cmd_history
from app.cli.info import cmd_info, cmd_self_test
from app.cli.log import cmd_log
from app.cli.models import cmd_models
from app.cli.outputs import format_refusal
from app.cli.parser import build_parser
from app.cli.plan import cmd_plan
from app.cli.score import cmd_score, cmd_score_text, score_format
from app.cli.stdin_texts import stdin_refusal
from app.cli.train import cmd_train

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "info": cmd_info,
    "score-text": cmd_score_text,
    "score": cmd_score,
    "evaluate": cmd_evaluate,
    "train": cmd_train,
    "self-test": cmd_self_test,
    "log": cmd_log,
    "models": cmd_models,
    "history": cmd_history,
    "audit": cmd_audit,
    "plan": cmd_plan,
    "decisions": cmd_decisions,
    "replay": cmd_replay,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.self_test:
        args.command = "self-test"
    if args.command in (None, "gui"):
        from app.ui.shell.application import run_gui

        return run_gui(args.model)
    from app.core.common.private_tmp import clean_stale

    if args.command == "score" and (refusal := format_refusal(args.output, args.format)):
        say(refusal)  # a usage error, before anything is touched
        return EXIT_USAGE
    if args.command == "score-text" and (refusal := stdin_refusal(args.texts)):
        say(refusal)
        return EXIT_USAGE
    if args.command in ("score", "score-text") and (refusal := bands_refusal(args)):
        say(refusal)  # crossed --bands: a usage error, before anything is touched
        return EXIT_USAGE
    clean_stale()  # temporary files of runs that were killed
    resumable = args.command == "score" and score_format(args) == "csv"  # XLSX restarts
    hint = "; score again with --resume to continue" if resumable else ""
    return run_command(lambda: COMMANDS[args.command](args), interrupted_hint=hint)
