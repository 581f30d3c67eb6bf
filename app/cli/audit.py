"""``audit sample`` and ``audit estimate``: a stratified audit sample of a scored batch, and the
batch's precision, recall, prevalence and flag rate estimated from its reviewed verdicts.

``audit sample SCORED.csv --size N [--seed S] [--threshold T] -o SAMPLE.csv`` cuts the batch into
score bands around T (default: the app-wide threshold) and writes SAMPLE.csv with its provenance
sidecar (`app.core.audit.sample_file`). Without ``--seed`` a seed is drawn and printed, so the
sample can be drawn again. ``audit estimate SAMPLE.csv --threshold T [...]`` reads the verdicts
(`--label-column`, default ``verdict``; `--positive` as in ``evaluate``) and prints the weighted
estimates with stratified-bootstrap 95% intervals (`app.core.audit.estimate`).
"""

from __future__ import annotations

import argparse
import math
import secrets
from typing import TYPE_CHECKING, Any

from app.cli.common import (
    EXIT_OK,
    JSON_HELP,
    path_arg,
    positive_number_arg,
    threshold_arg,
    whole_number_arg,
)
from app.cli.labels import flatten_positive, positive_arg
from app.core.common.messages import fmt_number, fmt_threshold, printable

if TYPE_CHECKING:
    from app.core.audit.estimate import Estimate


def _seed_arg(text: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"must be from 0 to 2^63-1, got {value}")
    return value


def add_audit_parser(sub: Any) -> None:
    p = sub.add_parser("audit", help="audit samples of a scored batch, and estimates from them")
    audit = p.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    s = audit.add_parser("sample", help="draw a stratified audit sample of a `score` output")
    s.add_argument("input", type=path_arg, help="a CSV written by `score`")
    s.add_argument("--size", type=whole_number_arg, required=True, help="items to sample (exactly)")
    s.add_argument("--seed", type=_seed_arg, help="random seed (default: drawn and printed)")
    s.add_argument(
        "--threshold",
        type=threshold_arg,
        help="the threshold the score bands are cut around (default: the app-wide threshold)",
    )
    s.add_argument("-o", "--output", type=path_arg, required=True, help="SAMPLE.csv to write")
    s.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an earlier audit sample at -o (never any other file)",
    )
    s.add_argument("--json", action="store_true", help=JSON_HELP)
    e = audit.add_parser("estimate", help="weighted estimates from a reviewed audit sample")
    e.add_argument("input", type=path_arg, help="a SAMPLE.csv written by `audit sample`")
    e.add_argument(
        "--label-column", default="verdict", help="the verdicts' column (default: verdict)"
    )
    e.add_argument(
        "--positive",
        nargs="+",
        type=positive_arg,
        metavar="V[,V...]",
        help="verdict values meaning abusive (any case); every other value is then benign "
        "(blank, skip and no-label markers are unlabelled)",
    )
    e.add_argument(
        "--threshold",
        type=threshold_arg,
        action="append",
        required=True,
        help="a threshold to estimate at (repeat for several)",
    )
    e.add_argument(
        "--volume",
        type=positive_number_arg,
        help="messages per day: adds false alarms and misses per day",
    )
    e.add_argument("--json", action="store_true", help=JSON_HELP)


def cmd_audit(args: argparse.Namespace) -> int:
    if args.audit_command == "sample":
        return _sample(args)
    return _estimate(args)


def _sample(args: argparse.Namespace) -> int:
    from app.cli.context import cli_context
    from app.cli.score import print_json
    from app.core.audit.sample_file import write_sample
    from app.core.bundles.bundle import sha256_file
    from app.core.context.audit_draw import log_sample_drawn

    # Recorded as `score` records its outputs: the log is opened first (a broken log fails
    # the command before anything is written), the event names the file written and its hash.
    with cli_context(args, load_models=False) as ctx:
        threshold = ctx.state.threshold if args.threshold is None else args.threshold
        seed = secrets.randbelow(2**63) if args.seed is None else args.seed
        done = write_sample(args.input, args.output, size=args.size, seed=seed,
                            threshold=threshold, overwrite=args.overwrite)  # fmt: skip
        log_sample_drawn(ctx, done, sha256_file(done.output))
    prov = done.provenance
    if args.json:
        print_json({"output": str(done.output), "sidecar": str(done.sidecar)} | prov)
        return EXIT_OK
    print(printable(f"wrote {done.rows_written:,} rows to {done.output} (seed {seed})"))
    print(
        f"bands around threshold {fmt_threshold(threshold)} (margin {fmt_number(prov['margin'])}); "
        f"{prov['population']:,} scored rows, {prov['left_out_unscored']:,} without a score left out"
    )
    for band in prov["strata"]:
        weight = "-" if band["weight"] is None else f"{band['weight']:.4g}"
        print(
            f"  {band['name']:<10} {band['population']:>9,} rows  {band['sampled']:>6,} sampled  weight {weight}"
        )
    return EXIT_OK


def _estimate(args: argparse.Namespace) -> int:
    from app.cli.context import cli_context
    from app.cli.score import print_json
    from app.core.audit.estimate import (
        band_weights,
        edge_notes,
        estimate,
        estimate_json,
        small_band_notes,
    )
    from app.core.audit.sample_file import read_sample
    from app.core.common.errors import InputError

    with cli_context(args, load_models=False, record=False):
        sample = read_sample(args.input, label_column=args.label_column)
        labels = sample.labels(flatten_positive(args.positive))
        _, missing = band_weights(sample.strata, labels, sample.population)
        if missing:  # nothing about the batch can be estimated: say what to do, as `plan` does
            raise InputError(
                f"{args.input}: no labelled item in band {', '.join(missing)}: label at least "
                "one item of every band (Review panel) to estimate for the batch"
            )
        result = estimate(sample.scores, sample.strata, labels, sample.population,
                          args.threshold, volume=args.volume)  # fmt: skip
    if args.json:
        print_json(estimate_json(result))
        return EXIT_OK
    print(
        printable(f"{args.input}: {result.n_labelled:,} of {result.n_sample:,} items labelled "
                  f"({result.n_unlabelled:,} without a verdict, left out); batch of {result.population:,}")
    )  # fmt: skip
    for c in result.strata:
        print(
            f"  {c.name:<10} {c.population:>9,} rows  {c.labelled:>5,}/{c.sampled:<5,} labelled  {c.abusive:,} abusive"
        )
    for note in small_band_notes(result):
        print(f"note: {note}")
    for te in result.thresholds:
        print(f"threshold {fmt_threshold(te.threshold)} (weighted, 95% interval):")
        rows = [(n, getattr(te, n)) for n in ("precision", "recall", "prevalence", "flag_rate")]
        if te.false_alarms_per_day is not None and te.misses_per_day is not None:
            rows += [
                ("false alarms/day", te.false_alarms_per_day),
                ("misses/day", te.misses_per_day),
            ]
        for name, est in rows:
            print(f"  {name:<17} {_shown(est, per_day=name.endswith('/day'))}")
        for note in edge_notes(result, te):
            print(f"  note: {note}")
    return EXIT_OK


def _shown(est: Estimate, *, per_day: bool) -> str:
    if not math.isfinite(est.estimate):
        return f"undefined: {est.reason}"

    def count(x: float) -> str:  # 1e308 messages a day: a number a reader can take in
        return f"{x:,.1f}" if x < 1e15 else f"{x:.4g}"

    text = count if per_day else (lambda x: f"{x:.1%}")
    if not math.isfinite(est.low):
        return f"{text(est.estimate)} (no interval: {est.reason})"
    return f"{text(est.estimate)}  [{text(est.low)}, {text(est.high)}]"
