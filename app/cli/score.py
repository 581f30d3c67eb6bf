"""``score`` (a CSV file, the original /batch) and ``score-text`` (texts given as arguments, the
original /predict): both decide at the app-wide threshold unless ``--threshold``, log what they
score before showing or writing it, and end by naming the model and threshold they used.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app import APP_NAME
from app.cli.activity import batch_logged
from app.cli.bands import band_policy
from app.cli.common import EXIT_OK, say
from app.cli.context import (
    active_scorer,
    challenger_for,
    challenger_line,
    cli_context,
    decision_threshold,
    run_note,
    threshold_kind,
    used_line,
)
from app.cli.stdin_texts import read_stdin_texts, wants_stdin
from app.core.common.messages import fmt_score, printable

if TYPE_CHECKING:
    from app.core.batch.run import BatchProgress


def print_json(obj: object) -> None:
    print(json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=False))


def cmd_score_text(args: argparse.Namespace) -> int:
    if wants_stdin(args.texts):  # read (and refused if not UTF-8) before the model loads
        args.texts = read_stdin_texts()
    with cli_context(args) as ctx:
        scorer = active_scorer(ctx)
        threshold = decision_threshold(args, ctx)
        bands = band_policy(args, ctx)
        results = [_scored(scorer, text, threshold, args.explain, bands) for text in args.texts]
        for text, row in zip(args.texts, results, strict=True):  # logged before it is shown
            ctx.log(
                "score_text",
                text=text,
                score=row["score"],
                threshold=threshold,
                model_version=scorer.version_label,
                detail=f"{row['label']}; {run_note(args, ctx)}",
            )
    if args.json:
        print_json(
            {
                "model_version": scorer.version_label,
                "threshold": threshold,
                "threshold_source": threshold_kind(args, ctx),
                "results": results,
            }
        )
        return EXIT_OK
    from app.core.engine.occlusion import OCCLUSION
    from app.core.engine.result_view import OCCLUSION_NOTE

    for text, row in zip(args.texts, results, strict=True):
        # Three decimals as the GUI shows them, never "1.000" below 1 (--json has the number).
        score = "  -   " if row["score"] is None else fmt_score(row["score"])
        note = " (truncated)" if row["truncated"] else ""
        if bands is not None:  # the band beside the label: "abusive, escalate"
            note += f", {row['band'] or 'no band'}"
        # Escaped: a hostile text must not move the cursor, clear the screen or reorder lines.
        print(f"{score}\t{row['label']}{note}\t{printable(text[:80])}")
        if row.get("explanation") == OCCLUSION and row["terms"]:  # not shares: said so
            print(f"\t\t({OCCLUSION_NOTE}; logit)")
        for term in row.get("terms", []):
            print(f"\t\t{term['contribution']:+.3f} {printable(term['term'])}")
    print(used_line(scorer.version_label, threshold, args, ctx))
    return EXIT_OK


def _scored(
    scorer: Any, text: str, threshold: float, explain: bool, bands: tuple[float, float] | None
) -> dict[str, Any]:
    from app.core.engine.explain import SHARES
    from app.core.engine.result_view import result_json  # the keys the GUI copies too

    result = scorer.score_text(text, threshold)
    explanation = scorer.explain(text, top_k=10) if explain and not result.empty else None
    terms = explanation.terms if explanation is not None else None
    row = result_json(result, terms, explanation.method if explanation is not None else SHARES)
    if bands is not None:  # "band": "" for a blank text (no score), as in the score output
        from app.core.analysis.bands import BandPolicy, band_of

        score = float("nan") if row["score"] is None else row["score"]
        row["band"] = str(band_of([score], BandPolicy(*bands))[0])
    return row


def score_format(args: argparse.Namespace) -> str:
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


def _workers(args: argparse.Namespace) -> int:
    from app.core.batch.parallel import default_workers, usable_workers

    if args.workers is None:
        return default_workers()
    workers, note = usable_workers(args.workers)  # the parser has refused anything below 1
    if note:
        say(f"{APP_NAME}: note: {note}")
    return workers


class _Progress:
    """A progress line on stderr, at most once a second, only on a terminal (a log file gets
    no \\r lines)."""

    def __init__(self, quiet: bool) -> None:
        self.shown = not quiet and sys.stderr.isatty()
        self.last = 0.0

    def __call__(self, p: BatchProgress) -> None:
        now = time.monotonic()
        if self.shown and now - self.last > 1.0:
            self.last = now
            print(
                f"\r{p.fraction:6.1%}  {p.rows_read:,} rows  {p.rows_per_second:,.0f} rows/s",
                end="",
                file=sys.stderr,
            )

    def end(self) -> None:
        if self.last:
            print(file=sys.stderr)  # end the progress line before a summary or an error


def _rejected_path(args: argparse.Namespace, fmt: str) -> tuple[Path | None, bool]:
    """Where the rejected rows go (None: --no-rejected), checked before any work, and whether a
    file there that is not ours may be replaced (only one named with --rejected, --overwrite)."""
    import os

    from app.core.batch.rejected import check_rejected_target, default_rejected_path
    from app.core.batch.rejected_record import recorded_rejected
    from app.core.common.errors import InputError
    from app.core.common.output_guard import names_fit
    from app.core.common.portable_fs import same_file

    if args.no_rejected:
        return None, False
    protected = {"the input": args.input, "the output": args.output, "the report": args.report}
    if args.rejected is None:
        path = default_rejected_path(args.output)
        if args.report is not None and same_file(path, args.report):
            raise InputError(
                f"{args.report}: --report names {path.name}, where the rejected rows of "
                f"{args.output.name} go by default; choose another report name, or give "
                "--rejected FILE or --no-rejected"
            )
        # A file there that is not ours is decided at the end: kept, and the rows not written;
        # so is a default name too long for the folder (an output name near the limit).
        if names_fit(path):
            check_rejected_target(path, args.output, protected, overwrite=True)
        return path, False
    previous = recorded_rejected(args.output, fmt)
    check_rejected_target(
        args.rejected, args.output, protected, overwrite=args.overwrite, previous=previous
    )
    return args.rejected, bool(args.overwrite) and os.path.lexists(args.rejected)


def _stale_rejected(args: argparse.Namespace) -> Path | None:
    """With --no-rejected: the default name, where an earlier file of ours is removed at the end
    (`finish_rejected`), unless it is the input or the report (never removed)."""
    from app.core.batch.rejected import default_rejected_path
    from app.core.common.portable_fs import same_file

    if not args.no_rejected:
        return None
    path = default_rejected_path(args.output)
    users = [args.input] + ([args.report] if args.report is not None else [])
    return None if any(same_file(path, p) for p in users) else path


def _mode_scorers(args: argparse.Namespace, ctx: Any) -> tuple[Any, Any]:
    """The models of ``--mode`` (`app.core.context.engines`): ModelError, one line, if refused."""
    from app.core.context.bootstrap import registry_of
    from app.core.context.engines import mode_scorers

    return mode_scorers(
        registry_of(ctx),
        active_scorer(ctx),
        getattr(args, "mode", "fast"),
        given=getattr(args, "model", None) is not None,
    )


def _mode_note(args: argparse.Namespace, note: str) -> str:
    mode = getattr(args, "mode", "fast")
    return note if mode == "fast" else f"{note}; mode {mode} given with --mode"


def cmd_score(args: argparse.Namespace) -> int:
    from app.cli.outputs import check_score_outputs
    from app.core.batch import run as batch
    from app.core.common.output_guard import check_score_paths

    fmt = score_format(args)
    check_score_paths(args.input, args.output, args.report, fmt)  # before loading the model
    outputs = check_score_outputs(args, fmt)  # an existing file: ours, --overwrite, or refused
    rejected, replace = _rejected_path(args, fmt)
    workers = _workers(args)
    _stop_on_signals()
    with cli_context(args) as ctx:
        scorer, rescorer = _mode_scorers(args, ctx)
        challenger = challenger_for(args, ctx)
        options = batch.BatchOptions(
            input_path=args.input,
            output_path=args.output,
            text_column=args.text_column,
            threshold=decision_threshold(args, ctx),
            output_format=fmt,
            encoding=args.encoding,
            delimiter="\t" if args.delimiter == "tab" else args.delimiter,
            workers=workers,
            rejected_path=rejected,
            rejected_replace=replace,
            rejected_stale=_stale_rejected(args),
            bands=band_policy(args, ctx),
        )
        progress = _Progress(args.quiet)
        try:
            with batch_logged(
                ctx,
                args.input,
                options.threshold,
                scorer,
                challenger,
                outputs.facts,
                note=_mode_note(args, run_note(args, ctx)),
            ) as finished:
                report = batch.run_batch(
                    scorer,
                    options,
                    progress=progress,
                    resume=args.resume,
                    challenger=challenger,
                    notice=lambda note: say(f"{APP_NAME}: note: {note}"),
                    before_commit=finished,  # logged before the output appears: no log, no output
                    rescorer=rescorer,
                )
        finally:
            progress.end()
    if args.report:
        from app.core.common.atomic import atomic_write_json

        atomic_write_json(args.report, report.as_dict())
    print(report.summary())
    print(used_line(report.model_version, report.threshold, args, ctx))
    if challenger is not None:
        print(challenger_line(challenger, args))
    outputs.say_replaced()
    if replace and report.rejected_file:
        say(f"{APP_NAME}: note: replaced {rejected} with this run's rejected rows (--overwrite)")
    return EXIT_OK
