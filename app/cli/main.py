"""Command-line twin of the app: the original service's endpoints, headless.

``python -m app`` with no arguments opens the GUI. Exit codes: 0 success (also when rows were
rejected: they are reported), 2 usage error, 3 input error, 4 model error. Errors are one line on
stderr naming the file (and line), never a traceback.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from app import APP_NAME, __version__
from app.cli.activity import activity_log, cli_settings, log_one
from app.cli.common import (
    EXIT_MODEL,
    EXIT_OK,
    EXIT_USAGE,
    OneLineParser,
    path_arg,
    path_or_version_arg,
    run_command,
    say,
    threshold_arg,
    thresholds_arg,
    workers_arg,
)
from app.cli.labels import flatten_positive, mapping_json, positive_arg, print_mapping
from app.cli.log import add_log_parser, cmd_log
from app.cli.models import add_models_parser, cmd_models
from app.cli.outputs import format_refusal
from app.core.common.messages import fmt_number, fmt_threshold, printable


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

    p = sub.add_parser("score", help="score a CSV file (the original /batch)")
    p.add_argument("input", type=path_arg)
    p.add_argument("-o", "--output", type=path_arg, required=True)
    p.add_argument("--text-column", help="column holding the text (default: automatic)")
    p.add_argument(
        "--threshold",
        type=threshold_arg,
        help="decision threshold (default: the app-wide threshold applied in the Threshold panel)",
    )
    p.add_argument(
        "--format",
        choices=("csv", "xlsx"),
        help="output format (default: from the extension; must not contradict it)",
    )
    p.add_argument("--report", type=path_arg, help="write the ledger and provenance as JSON")
    p.add_argument("--encoding", help="override the detected encoding (e.g. utf-8, cp1252)")
    p.add_argument("--delimiter", help="override the detected delimiter (',', ';', 'tab', '|')")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.add_argument(
        "--challenger",
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
        "--overwrite",
        action="store_true",
        help="replace existing files at -o/--report even if they are not earlier outputs",
    )

    p = sub.add_parser("score-text", help="score texts given as arguments (the original /predict)")
    p.add_argument("texts", nargs="+")
    p.add_argument(
        "--threshold",
        type=threshold_arg,
        help="decision threshold (default: the app-wide threshold applied in the Threshold panel)",
    )
    p.add_argument(
        "--explain", action="store_true", help="also list the terms that moved each score"
    )
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("evaluate", help="confusion matrices and metrics on a labelled CSV")
    p.add_argument("input", type=path_arg)
    p.add_argument("--label-column", required=True)
    p.add_argument(
        "--positive",
        nargs="+",
        type=positive_arg,
        metavar="V[,V...]",
        help="label values meaning abusive (any case); every other value is then benign",
    )
    p.add_argument("--text-column")
    p.add_argument("--thresholds", type=thresholds_arg, default=[0.45, 0.5])
    p.add_argument("--json", action="store_true")

    p = sub.add_parser(
        "info", help="model name, version, verification and file hashes (the original /health)"
    )
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("train", help="train a model bundle from the public data")
    p.add_argument("--data", type=path_arg, required=True, help="folder with davidson/ and olid/")
    p.add_argument("--out", type=path_arg, required=True, help="bundle folder to create")
    p.add_argument("--name", default="abuse-lr")
    p.add_argument("--model-version", default="1.0.0")
    p.add_argument("--seed", type=int)
    p.add_argument("--sign-key", type=path_arg, help="sign the new bundle with this private key")
    p.add_argument(
        "--recipe",
        choices=("v1", "search"),
        default="v1",
        help="v1: the candidates of the shipped abuse-lr 1.0.0 (reproduces it); search: the "
        "count-idf-sqrt candidates of abuse-lr 2.0.0 (reproduces it with --model-version 2.0.0)",
    )

    add_log_parser(sub)
    add_models_parser(sub)
    sub.add_parser("self-test", help="same as --self-test")
    sub.add_parser("gui", help="open the desktop app (the default)")
    return parser


def _load_scorer(args: argparse.Namespace):  # -> Scorer (imported lazily to keep --help fast)
    """``--model`` (a folder or an installed version), else the active model from the settings;
    either way under the signature policy."""
    return _load_models(args)[0]


def _load_models(args: argparse.Namespace):  # -> (Scorer, Scorer | None)
    """The deciding model and the app-wide challenger the settings name (none with ``--model``:
    a challenger is chosen against the active model)."""
    from app.core.models.registry import ModelRegistry

    settings = cli_settings()
    registry = ModelRegistry.default(settings)
    if args.model:
        return registry.load(args.model), None
    scorer, challenger, problems = registry.load_startup(settings)
    for problem in problems:
        say(f"{APP_NAME}: warning: {problem}")
    return scorer, challenger


def _bundle_path(args: argparse.Namespace) -> Path:
    return Path(_load_scorer(args).bundle.path)


def _print_json(obj: object) -> None:
    print(json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=False))


def cmd_info(args: argparse.Namespace) -> int:
    scorer = _load_scorer(args)
    m = scorer.bundle.manifest
    info = {
        "name": m["name"],
        "version": m["version"],
        "verified": True,
        "path": str(scorer.bundle.path),
        "created_utc": m.get("created_utc"),
        "default_threshold": scorer.default_threshold,
        "features": scorer.model.n_features,
        "files": scorer.bundle.file_hashes,
    }
    if args.json:
        _print_json(info)
    else:
        print(
            f"{info['name']} {info['version']}: verified ({len(info['files'])} files match the manifest)"
        )
        print(
            f"  path: {info['path']}\n  created: {info['created_utc']}\n  default threshold: {info['default_threshold']}"
        )
        for name, digest in info["files"].items():
            print(f"  {digest}  {name}")
    return EXIT_OK


def _decision_threshold(args: argparse.Namespace) -> float:
    """``--threshold`` if given, else the app-wide threshold a supervisor applied (the same
    setting the desktop app decides with), never silently the model's own default."""
    return cli_settings().threshold if args.threshold is None else args.threshold


def _threshold_source(args: argparse.Namespace) -> str:
    if args.threshold is not None:
        return "given with --threshold"
    return "the app-wide threshold; --threshold overrides it"


def cmd_score_text(args: argparse.Namespace) -> int:
    scorer = _load_scorer(args)
    threshold = _decision_threshold(args)
    results = []
    for text in args.texts:
        row = scorer.score_text(text, threshold).as_dict()
        if args.explain and row["score"] is not None:
            row["terms"] = [
                {"term": t.display, "contribution": t.contribution}
                for t in scorer.explain(text, top_k=10).terms
            ]
        results.append(row)
    with activity_log() as log:  # logged before anything is shown, as the GUI does
        for text, row in zip(args.texts, results, strict=True):
            log.record(
                "score_text",
                text=text,
                score=row["score"],
                threshold=threshold,
                model_version=scorer.version_label,
                detail=f"{row['label']}; command line",
            )
    if args.json:
        _print_json({"model_version": scorer.version_label, "results": results})
        return EXIT_OK
    for text, row in zip(args.texts, results, strict=True):
        score = "  -   " if row["score"] is None else fmt_number(row["score"])
        note = " (truncated)" if row["truncated"] else ""
        # Escaped: a hostile text must not move the cursor, clear the screen or reorder lines.
        print(f"{score}\t{row['label']}{note}\t{printable(text[:80])}")
        for term in row.get("terms", []):
            print(f"\t\t{term['contribution']:+.3f} {printable(term['term'])}")
    return EXIT_OK


def _score_format(args: argparse.Namespace) -> str:
    """The extension decides (.xlsx: XLSX, else CSV); a contradicting --format was refused."""
    from app.core.results.output_names import output_format

    return output_format(args.output, args.format)


class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP: handled as Ctrl+C (work kept for --resume), exit 128 + signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.exit_code = 128 + signum


def _stop_on_signals() -> None:
    def stop(signum: int, _frame: object) -> None:
        raise Stopped(signum)

    for name in ("SIGTERM", "SIGHUP"):  # SIGHUP does not exist on Windows
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), stop)


def cmd_score(args: argparse.Namespace) -> int:
    from app.cli.outputs import check_score_outputs
    from app.core.batch.parallel import default_workers, usable_workers
    from app.core.batch.run import BatchOptions, run_batch
    from app.core.common.output_guard import check_score_paths

    fmt = _score_format(args)
    check_score_paths(args.input, args.output, args.report, fmt)  # before loading the model
    outputs = check_score_outputs(args, fmt)  # an existing file: ours, --overwrite, or refused
    workers = default_workers()
    if args.workers is not None:  # the parser has refused anything below 1
        workers, note = usable_workers(args.workers)
        if note:
            say(f"{APP_NAME}: note: {note}")
    _stop_on_signals()
    scorer, configured_challenger = _load_models(args)
    delimiter = "\t" if args.delimiter == "tab" else args.delimiter
    options = BatchOptions(
        input_path=args.input,
        output_path=args.output,
        text_column=args.text_column,
        threshold=_decision_threshold(args),
        output_format=fmt,
        encoding=args.encoding,
        delimiter=delimiter,
        workers=workers,
    )
    last = [0.0]

    show_progress = not args.quiet and sys.stderr.isatty()  # a log file gets no \r lines

    def progress(p) -> None:
        now = time.monotonic()
        if show_progress and now - last[0] > 1.0:
            last[0] = now
            print(
                f"\r{p.fraction:6.1%}  {p.rows_read:,} rows  {p.rows_per_second:,.0f} rows/s",
                end="",
                file=sys.stderr,
            )

    if args.challenger is None:  # the app-wide challenger, as the desktop app shadow-scores
        challenger = configured_challenger
    elif args.challenger.strip().lower() == "none":
        challenger = None
    else:
        from app.core.models.registry import ModelRegistry

        challenger = ModelRegistry.default(cli_settings()).load(args.challenger)
    from app.cli.activity import batch_logged

    try:
        with batch_logged(
            args.input, options.threshold, scorer, challenger, outputs.facts
        ) as finished:
            report = run_batch(
                scorer,
                options,
                progress=progress,
                resume=args.resume,
                challenger=challenger,
                notice=lambda note: say(f"{APP_NAME}: note: {note}"),
                before_commit=finished,  # logged before the output appears: no log, no output
            )
    finally:
        if last[0]:
            print(file=sys.stderr)  # end the progress line before a summary or an error
    if args.report:
        from app.core.common.atomic import atomic_write_json

        atomic_write_json(args.report, report.as_dict())
    print(report.summary())
    print(
        f"model {report.model_version} at threshold {fmt_threshold(report.threshold)} "
        f"({_threshold_source(args)})"
    )
    if challenger is not None:
        why = "the app-wide challenger" if args.challenger is None else "given with --challenger"
        print(f"challenger {challenger.version_label} shadow-scored every row ({why})")
    outputs.say_replaced()
    return EXIT_OK


def cmd_evaluate(args: argparse.Namespace) -> int:
    from app.core.analysis.evaluation import summarize
    from app.core.analysis.labeled import read_labeled_scores

    scorer = _load_scorer(args)
    data = read_labeled_scores(
        scorer,
        args.input,
        label_column=args.label_column,
        positive_values=flatten_positive(args.positive),
        text_column=args.text_column,
    )
    summary = summarize(data.scores, data.labels, args.thresholds)
    log_one(
        "evaluate",
        file_name=args.input.name,
        model_version=scorer.version_label,
        counts={"n": summary["n"], "positives": summary["positives"]}
        | {"rows_rejected": len(data.rejected)},
        detail="thresholds " + ", ".join(f"{t:g}" for t in args.thresholds),
    )
    if args.json:
        _print_json(
            {
                "auc": summary["auc"],
                "best_f1_threshold": summary["best_f1_threshold"],
                "n": summary["n"],
                "positives": summary["positives"],
                "model_version": scorer.version_label,
                "rows_rejected": len(data.rejected),
                "rejected": [r.__dict__ for r in data.rejected],
                "thresholds": summary["thresholds"],
                "notes": summary["notes"],
            }
            | mapping_json(data.mapping)
        )
        return EXIT_OK
    print(
        f"{summary['n']:,} labelled rows ({summary['positives']:,} abusive), model {scorer.version_label}"
    )
    print_mapping(data.mapping)
    if data.rejected:
        first = data.rejected[0]
        print(f"{len(data.rejected):,} rows rejected, first: line {first.line}: {first.reason}")
    print(
        f"ROC-AUC {fmt_number(summary['auc'])}; best-F1 threshold "
        f"{fmt_number(summary['best_f1_threshold'])} (F1 {fmt_number(summary['best_f1'])})"
    )
    for note in summary["notes"]:
        print(f"note: {note}")
    for m in summary["thresholds"]:
        print(
            f"\nthreshold {fmt_threshold(m['threshold'])}   [[TP {m['tp']:,}  FN {m['fn']:,}]  "
            f"[FP {m['fp']:,}  TN {m['tn']:,}]] (abusive first)"
        )
        print(
            f"  precision {fmt_number(m['precision'])}  recall {fmt_number(m['recall'])}  "
            f"F1 {fmt_number(m['f1'])}  accuracy {fmt_number(m['accuracy'])}  "
            f"queue {m['queue_rate']:.1%}"
        )
    return EXIT_OK


def cmd_train(args: argparse.Namespace) -> int:
    from app.core.training.recipe import (
        DEFAULT_CANDIDATES,
        DEFAULT_SEED,
        V1_CANDIDATES,
        train_bundle,
    )

    result = train_bundle(
        args.data,
        args.out,
        name=args.name,
        version=args.model_version,
        seed=DEFAULT_SEED if args.seed is None else args.seed,
        candidates=V1_CANDIDATES if args.recipe == "v1" else DEFAULT_CANDIDATES,
        progress=lambda msg: print(msg, file=sys.stderr),
    )
    if args.sign_key:  # so it imports on workstations that refuse unsigned bundles
        from app.core.bundles.signing import sign_bundle

        key = sign_bundle(result.bundle_path, args.sign_key)
        print(f"signed with key {key}", file=sys.stderr)
    test = result.manifest["metrics"]["test"]
    print(
        f"bundle {result.bundle_path} in {result.seconds:.0f} s; test ROC-AUC "
        + ", ".join(f"{part} {m['auc']:.4f}" for part, m in test.items())
    )
    return EXIT_OK


def cmd_self_test(args: argparse.Namespace) -> int:
    from app.core.models.registry import ModelRegistry
    from app.core.selftest.checks import Check, run_self_test

    checks = run_self_test(_bundle_path(args), ModelRegistry.default(cli_settings()).check)
    gui: list[Check] = []
    for check in checks:  # printed before Qt starts, so they show even if Qt aborts the process
        print(f"[{'ok' if check.ok else 'FAIL'}] {check.name}: {check.detail}", flush=True)
    if checks[0].ok:  # then prove Qt, fonts and plots work here (no display: offscreen)
        try:
            from app.ui.shell.selfcheck import gui_checks
        except ImportError as exc:  # PySide6 or matplotlib missing or unloadable
            gui = [Check("Qt platform", False, f"the GUI stack cannot be imported: {exc}")]
        else:
            gui = gui_checks()
    for check in gui:
        print(f"[{'ok' if check.ok else 'FAIL'}] {check.name}: {check.detail}")
    checks += gui
    if all(c.ok for c in checks):
        return EXIT_OK
    return EXIT_MODEL if not checks[0].ok else 1


COMMANDS = {
    "info": cmd_info,
    "score-text": cmd_score_text,
    "score": cmd_score,
    "evaluate": cmd_evaluate,
    "train": cmd_train,
    "self-test": cmd_self_test,
    "log": cmd_log,
    "models": cmd_models,
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
    clean_stale()  # temporary files of runs that were killed
    resumable = args.command == "score" and _score_format(args) == "csv"  # XLSX restarts
    hint = "; score again with --resume to continue" if resumable else ""
    return run_command(lambda: COMMANDS[args.command](args), interrupted_hint=hint)
