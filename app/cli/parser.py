"""The command line's parser: one small builder per command, each beside its options' help.

Thresholds default to the app-wide one and the challenger to the app-wide one (`app.cli.context`);
the ``log``, ``models`` and ``history`` groups build their own sub-parsers (`app.cli.log`,
`app.cli.models`, `app.cli.history`).
"""

from __future__ import annotations

import argparse
from typing import Any

from app import APP_NAME, __version__
from app.cli.audit import add_audit_parser
from app.cli.bands import add_band_args
from app.cli.common import (
    JSON_HELP,
    OneLineParser,
    path_arg,
    path_or_version_arg,
    threshold_arg,
    thresholds_arg,
    workers_arg,
)
from app.cli.decisions import add_decisions_parser
from app.cli.history import add_history_parser
from app.cli.labels import positive_arg
from app.cli.log import add_log_parser
from app.cli.models import add_models_parser
from app.cli.plan import add_plan_parser

THRESHOLD_HELP = (
    "decision threshold (default: the app-wide threshold applied in the Threshold panel)"
)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog=APP_NAME, description="Score text for abuse, offline.")
    parser.add_argument("--version", action="version", version=f"{APP_NAME} {__version__}")
    parser.add_argument(
        "--model",
        type=path_or_version_arg,
        help="model bundle folder or installed version (default: the active model)",
    )
    parser.add_argument(
        "--self-test", action="store_true", help="verify the model and the app, then exit"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in (_add_score, _add_score_text, _add_evaluate, _add_info, _add_train):
        add(sub)
    add_log_parser(sub)
    add_models_parser(sub)
    add_history_parser(sub)
    add_audit_parser(sub)
    add_plan_parser(sub)
    add_decisions_parser(sub)
    sub.add_parser("self-test", help="same as --self-test")
    sub.add_parser("gui", help="open the desktop app (the default)")
    return parser


def _add_score(sub: Any) -> None:
    p = sub.add_parser("score", help="score a CSV file (the original /batch)")
    p.add_argument("input", type=path_arg, help="the CSV (or TSV, ';'- or '|'-separated) file")
    p.add_argument(
        "-o",
        "--output",
        type=path_arg,
        required=True,
        help="the scored file to write (.csv or .xlsx); the input's rows plus score and label",
    )
    p.add_argument("--text-column", help="column holding the text (default: automatic)")
    p.add_argument("--threshold", type=threshold_arg, help=THRESHOLD_HELP)
    p.add_argument(
        "--format",
        choices=("csv", "xlsx"),
        help="output format (default: from the extension; must not contradict it)",
    )
    p.add_argument("--report", type=path_arg, help="write the ledger and provenance as JSON")
    rejected = p.add_mutually_exclusive_group()
    rejected.add_argument(
        "--rejected",
        type=path_arg,
        metavar="FILE",
        help="write the rejected rows (line, reason, raw text) to FILE (default: OUT's name "
        "+ .rejected.csv beside it, written only when rows were rejected)",
    )
    rejected.add_argument("--no-rejected", action="store_true", help="write no rejected-rows file")
    p.add_argument("--encoding", help="override the detected encoding (e.g. utf-8, cp1252)")
    p.add_argument("--delimiter", help="override the detected delimiter (',', ';', 'tab', '|')")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.add_argument(
        "--challenger",
        type=path_or_version_arg,  # an empty value is a usage error, not "model '' missing"
        help="also score with this model (folder or installed version): shadow columns only "
        "(default: the app-wide challenger chosen in the Models panel; 'none': no challenger)",
    )
    p.add_argument(
        "--workers",
        type=workers_arg,
        help="processes that score in parallel (default: one per core, up to 4; 1: none; "
        "at most one per core)",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted CSV job from its checkpoint (XLSX jobs restart)",
    )
    p.add_argument(
        "--mode",
        choices=("fast", "cascade", "thorough"),
        default="fast",
        help="fast (default): the linear model scores every row; thorough: the encoder "
        "(abuse-mini) scores every row; cascade: the linear model scores every row and the "
        "rows whose score is in the encoder's cascade band are re-scored by the encoder",
    )
    add_band_args(p)
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace existing files at -o/--report even if they are not earlier outputs",
    )


def _add_score_text(sub: Any) -> None:
    p = sub.add_parser(
        "score-text",
        help="score texts given as arguments, or '-': one per line of standard input "
        "(the original /predict)",
    )
    p.add_argument(
        "texts",
        nargs="+",
        metavar="TEXT",
        help="a text to score; '-' alone reads one text per line of standard input "
        "(UTF-8; blank lines skipped)",
    )
    p.add_argument("--threshold", type=threshold_arg, help=THRESHOLD_HELP)
    p.add_argument(
        "--explain", action="store_true", help="also list the terms that moved each score"
    )
    add_band_args(p)
    p.add_argument("--json", action="store_true", help=JSON_HELP)


def _add_evaluate(sub: Any) -> None:
    p = sub.add_parser("evaluate", help="confusion matrices and metrics on a labelled CSV")
    p.add_argument("input", type=path_arg, help="a CSV with a text column and a label column")
    p.add_argument(
        "--label-column",
        help="column holding the gold label (default: the first column named label, class, "
        "gold, target, subtask_a, abusive, offensive, toxic..., as the app finds it)",
    )
    p.add_argument(
        "--positive",
        nargs="+",
        type=positive_arg,
        metavar="V[,V...]",
        help="label values meaning abusive (any case); every other value is then benign",
    )
    p.add_argument("--text-column", help="column holding the text (default: automatic)")
    at = p.add_mutually_exclusive_group()
    at.add_argument("--threshold", type=threshold_arg, help=THRESHOLD_HELP)
    at.add_argument(
        "--thresholds",
        type=thresholds_arg,
        help="several thresholds, comma-separated, e.g. 0.45,0.5 (default: the app-wide one)",
    )
    p.add_argument("--json", action="store_true", help=JSON_HELP)


def _add_info(sub: Any) -> None:
    p = sub.add_parser(
        "info", help="model name, version, verification and file hashes (the original /health)"
    )
    p.add_argument("--json", action="store_true", help=JSON_HELP)


def _add_train(sub: Any) -> None:
    p = sub.add_parser("train", help="train a model bundle from the public data")
    p.add_argument("--data", type=path_arg, required=True, help="folder with davidson/ and olid/")
    p.add_argument("--out", type=path_arg, required=True, help="bundle folder to create")
    p.add_argument("--name", default="abuse-lr", help="the model's name (default: abuse-lr)")
    p.add_argument(
        "--model-version", default="1.0.0", help="the new bundle's version (default: 1.0.0)"
    )
    p.add_argument(
        "--seed",
        type=int,
        help="random seed for the data split and training (default: the shipped models' seed)",
    )
    p.add_argument("--sign-key", type=path_arg, help="sign the new bundle with this private key")
    p.add_argument(
        "--recipe",
        choices=("v1", "search", "mini"),
        default="v1",
        help="v1: the candidates of the shipped abuse-lr 1.0.0 (reproduces it); search: the "
        "count-idf-sqrt candidates of abuse-lr 2.0.0 (reproduces it with --model-version 2.0.0); "
        "mini: fine-tune the abuse-mini encoder (needs pip install .[train-mini]; about an hour "
        "on 2 cores; --name defaults to abuse-mini)",
    )
    p.add_argument(
        "--fast-model",
        type=path_arg,
        help="mini: the fast bundle its cascade band is chosen with (default: the bundled "
        "default fast model)",
    )
    p.add_argument(
        "--cache",
        type=path_arg,
        help="mini: folder for the fine-tuned weights of each stage, reused by a re-run with "
        "the same data and settings (default: .mini-cache beside --out)",
    )
