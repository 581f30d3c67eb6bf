"""``plan``: a threshold's day at the supervisor's prevalence and volume, with 95 % intervals.

The rates (TPR, FPR) come from a labelled data source — the active model's shipped evaluation
set by default, or a labelled CSV scored with it as ``evaluate`` reads one — and the counts are
re-weighted to ``--prevalence`` and ``--volume`` (`app.core.analysis.workload`). The threshold is
the lowest one whose flagged/day fits ``--capacity``, else the highest whose recall reaches
``--recall-at-least``, else the app-wide one (or ``--threshold``). It changes nothing and logs
nothing, as the Threshold panel's planning does not.

An audit sample given as ``--data`` (its ``audit_*`` columns say so) is labelled by its verdict
column and weighted by band (`app.core.audit.sample_source`): the rates are estimates for the
whole batch, their intervals from the stratified bootstrap; its scores are the sample's own.
"""

from __future__ import annotations

import argparse
import math
from typing import TYPE_CHECKING, Any

from app import APP_NAME
from app.cli.common import EXIT_OK, EXIT_USAGE, JSON_HELP, path_arg, say, threshold_arg
from app.cli.common import finite_arg as _finite
from app.cli.common import positive_number_arg as _positive_number
from app.cli.context import active_scorer, cli_context, threshold_kind
from app.cli.labels import flatten_positive, positive_arg
from app.core.common.errors import InputError
from app.core.common.messages import fmt_threshold, printable

if TYPE_CHECKING:
    from app.core.analysis.thresholds import ThresholdAnalysis
    from app.core.context.state import AppContext

BUNDLED = "bundled"
COUNTS = ("flagged", "caught", "missed", "false_alarms")


def _non_negative(text: str) -> float:
    value = _finite(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text.strip()}")
    return value + 0.0


def _prevalence(text: str) -> float:
    value = _finite(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be above 0 and below 1, got {text.strip()}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"must be from 0 to 2**63 - 1, got {value}")
    return value


def add_plan_parser(sub: Any) -> None:
    p = sub.add_parser(
        "plan", help="flagged, caught, missed and false alarms per day at your prevalence"
    )
    p.add_argument(
        "--prevalence",
        type=_prevalence,
        metavar="P",
        help="expected share of abusive messages, e.g. 0.05 (default: the saved one)",
    )
    p.add_argument(
        "--volume",
        type=_positive_number,
        metavar="V",
        help="messages per day (default: the saved daily volume)",
    )
    p.add_argument(
        "--capacity",
        type=_non_negative,
        metavar="C",
        help="items the reviewers can handle per day: picks the lowest threshold "
        "whose flagged/day fits",
    )
    p.add_argument(
        "--recall-at-least",
        type=threshold_arg,
        metavar="R",
        help="recall floor: the highest threshold catching at least this share",
    )
    p.add_argument(
        "--threshold",
        type=threshold_arg,
        help="the threshold to plan for when neither --capacity nor --recall-at-least "
        "is given (default: the app-wide threshold)",
    )
    p.add_argument(
        "--data",
        metavar="SRC",
        help="'bundled' (default: the model's evaluation set), 'bundled:NAME' (one "
        "of its parts) or a labelled CSV, scored with the model as evaluate reads it",
    )
    p.add_argument("--label-column", help="the CSV's label column (default: found by name)")
    p.add_argument(
        "--positive",
        nargs="+",
        type=positive_arg,
        metavar="V[,V...]",
        help="label values meaning abusive (any case); every other value is benign",
    )
    p.add_argument("--text-column", help="the CSV's text column (default: automatic)")
    p.add_argument(
        "--seed",
        type=_seed,
        default=0,
        help="seed of the bootstrap intervals (default: 0; same seed, same numbers)",
    )
    p.add_argument("--json", action="store_true", help=JSON_HELP)  # fmt: skip


def _source(args: argparse.Namespace, ctx: AppContext) -> tuple[ThresholdAnalysis, str, str]:
    """(analysis, key or file, name in words) of ``--data``."""
    from app.core.analysis.labeled import read_labeled_scores
    from app.core.analysis.threshold_sources import bundled_datasets
    from app.core.analysis.thresholds import ThresholdAnalysis

    scorer = active_scorer(ctx)
    if args.sample is not None:
        ds = args.sample_dataset
        return ds.analysis, str(args.input), ds.name
    given = args.data or BUNDLED
    if given == BUNDLED or given.startswith(BUNDLED + ":"):
        datasets = bundled_datasets(scorer)
        if given not in datasets:
            have = ", ".join(datasets) or "none"
            raise InputError(f"--data {given}: {scorer.version_label} ships no such evaluation "
                             f"set (it has: {have}); give a labelled CSV instead")  # fmt: skip
        return datasets[given].analysis, given, datasets[given].name
    data = read_labeled_scores(
        scorer, args.input, label_column=args.label_column,
        positive_values=flatten_positive(args.positive), text_column=args.text_column,
    )  # fmt: skip
    analysis = ThresholdAnalysis(data.scores, data.labels)
    if analysis.positives in (0, analysis.n):  # the file's fault: name it
        kind = "benign" if analysis.positives == 0 else "abusive"
        raise InputError(f"{args.input}: all {analysis.n:,} labelled rows are {kind}; planning "
                         "at a prevalence needs both abusive and benign rows")  # fmt: skip
    return analysis, str(args.input), args.input.name


def _assumption(args: argparse.Namespace, ctx: AppContext, name: str, option: str) -> float:
    given = getattr(args, name)
    saved = getattr(ctx.settings, {"prevalence": "expected_prevalence",
                                   "volume": "daily_volume"}[name])  # fmt: skip
    if given is None and saved is None:
        raise _Usage(f"{option} is required (no {name} is saved in the settings)")
    return float(saved if given is None else given)


class _Usage(Exception):
    """A usage error found after parsing (exit 2)."""


def cmd_plan(args: argparse.Namespace) -> int:
    if args.threshold is not None and (
        args.capacity is not None or args.recall_at_least is not None
    ):
        say(f"{APP_NAME} plan: error: --threshold plans one threshold; it cannot be given with "
            f"--capacity or --recall-at-least (see {APP_NAME} plan --help)")  # fmt: skip
        return EXIT_USAGE
    csv = args.data is not None and not (
        args.data == BUNDLED or args.data.startswith(BUNDLED + ":")
    )
    args.sample = None
    if csv:
        from app.cli.evaluate import label_column

        try:
            args.input = path_arg(args.data)
        except argparse.ArgumentTypeError as exc:
            say(f"{APP_NAME} plan: error: argument --data: {exc} (see {APP_NAME} plan --help)")
            return EXIT_USAGE
        if _audit_sample(args) is None:
            args.label_column = label_column(args, command="plan")
            if args.label_column is None:
                return EXIT_USAGE
    with cli_context(args, record=False) as ctx:
        try:
            p = _assumption(args, ctx, "prevalence", "--prevalence")
            v = _assumption(args, ctx, "volume", "--volume")
        except _Usage as exc:
            say(f"{APP_NAME} plan: error: {exc} (see {APP_NAME} plan --help)")
            return EXIT_USAGE
        analysis, key, name = _source(args, ctx)
        result = plan(analysis, args, ctx, p, v)
        result |= {
            "data": key,
            "data_name": name,
            "data_kind": "bundled" if args.data is None or not csv else "csv",
            "model_version": active_scorer(ctx).version_label,
        }
        if args.sample is not None:
            result |= _sample_result(args.sample, result, args, p, v)
    if args.json:
        from app.cli.score import print_json

        print_json(result)
    else:
        _print_text(result)
    return EXIT_OK


def _audit_sample(args: argparse.Namespace) -> Any:
    """``--data`` as an audit sample (it has the columns ``audit sample`` adds), labelled in
    its verdict column (or ``--label-column``) and weighted; None for any other CSV."""
    from app.core.audit import sample_source
    from app.core.csvio.csv_input import sniff

    if not sample_source.is_audit_sample(sniff(args.input).header):
        return None
    args.sample = sample_source.from_file(
        args.input, flatten_positive(args.positive), label_column=args.label_column or "verdict"
    )
    args.sample_dataset = sample_source.audit_dataset(args.sample)
    return args.sample


def _sample_result(
    data: Any, result: dict[str, Any], args: argparse.Namespace, p: float, v: float
) -> dict[str, Any]:
    """An audit sample's keys: what the estimates rest on, and intervals from the stratified
    bootstrap (redrawn within each band) in place of the i.i.d. ones."""
    from app.core.analysis import resampled
    from app.core.analysis.thresholds import ThresholdAnalysis
    from app.core.audit import sample_source

    exact = result["threshold_exact"]  # None: flag nothing
    t = args.sample_dataset.analysis.flag_nothing_threshold if exact is None else float(exact)
    ci = sample_source.bootstrap_rates(data, t, p, v, seed=args.seed)
    counted = ThresholdAnalysis(data.scores, data.labels)  # the labelled items themselves
    return {
        "data_kind": "sample",
        "n_labelled": data.n_labelled,
        "n_unlabelled": len(data.sample.texts) - data.n_labelled,
        "population": data.population,
        "n": data.n_labelled,
        "positives": counted.positives,
        "ci95": {
            "recall": _holding(ci["tpr"], result["recall"]),
            "fpr": _holding(ci["fpr"], result["fpr"]),
            "precision": _holding(ci["precision"], result["precision"]),
        }  # fmt: skip
        | {f"{k}_per_day": _holding(ci[k], result[f"{k}_per_day"]) for k in COUNTS},
        "warnings": resampled.warnings(counted, t, args.sample_dataset.resampler),
    }


def plan(analysis: ThresholdAnalysis, args: argparse.Namespace, ctx: AppContext,
         p: float, v: float) -> dict[str, Any]:  # fmt: skip
    """The JSON of ``plan`` (without the data source's names)."""
    from app.core.analysis import intervals, workload

    finder: intervals.Finder | None = None
    cap, floor = args.capacity, args.recall_at_least
    if cap is not None:
        day = workload.capacity_threshold(analysis, p, v, cap)
        finder, rule = intervals.Capacity(p, v, cap), "capacity"
        if floor is not None and day.recall < floor:
            need = workload.recall_floor_threshold(analysis, floor, p, v)
            raise InputError(
                f"a capacity of {cap:,.6g}/day cannot meet recall >= {floor:g}: the lowest "
                f"threshold that fits ({fmt_threshold(analysis.readable(day.threshold))}) has "
                f"recall {day.recall:.4f}; recall {floor:g} needs {need.flagged_per_day:,.0f} "
                f"flagged/day (threshold {fmt_threshold(analysis.readable(need.threshold))})"
            )
    elif floor is not None:
        day = workload.recall_floor_threshold(analysis, floor, p, v)
        finder, rule = intervals.RecallFloor(floor), "recall floor"
    else:
        t = ctx.state.threshold if args.threshold is None else args.threshold
        day, rule = workload.workload_at(analysis, t, p, v), threshold_kind(args, ctx)
    m = analysis.at(day.threshold)
    if getattr(args, "sample", None) is None:
        ci = intervals.bootstrap_rates(analysis, day.threshold, p, v, seed=args.seed)
    else:  # an audit sample: intervals by band, in `_sample_result`
        ci = {k: (math.nan, math.nan) for k in ("tpr", "fpr", "precision", *COUNTS)}
    shown = analysis.readable(day.threshold) if finder else day.threshold
    nothing = day.threshold > 1.0  # no score reaches it: `score` could not take it
    result: dict[str, Any] = {
        "threshold": None if nothing else shown,
        "threshold_exact": None if nothing else day.threshold,
        "rule": rule,
        "prevalence": p,
        "volume": v,
        "flagged_per_day": day.flagged_per_day,
        "caught_per_day": day.caught_per_day,
        "missed_per_day": day.missed_per_day,
        "false_alarms_per_day": day.false_alarms_per_day,
        "recall": day.recall,
        "precision": _json(day.precision),
        "fpr": day.fpr,
        "matrix_per_day": day.matrix_abusive_first().tolist(),
        "ci95": {
            "recall": _pair(ci["tpr"]),
            "fpr": _pair(ci["fpr"]),
            "precision": _pair(ci["precision"]),
        }  # fmt: skip
        | {f"{k}_per_day": _pair(ci[k]) for k in COUNTS},
        "n": analysis.n,
        "positives": analysis.positives,
        "warnings": [] if getattr(args, "sample", None) else intervals.small_cells(m),
        "flag_nothing": day.threshold > 1.0,
    }
    if cap is not None:
        result |= {"capacity": cap, "backlog_per_day": day.backlog_per_day(cap)}
    if finder is not None:
        sample_ds = getattr(args, "sample_dataset", None) if getattr(args, "sample", None) else None
        if sample_ds is None:
            found = intervals.threshold_interval(analysis, finder, seed=args.seed)
        else:  # an audit sample: the finder's threshold resampled within its bands
            from app.core.analysis.resampled import resampled_threshold_interval

            found = resampled_threshold_interval(
                analysis, sample_ds.resampler, finder, seed=args.seed
            )
        result["threshold_ci95"] = _threshold_ci(analysis, found.low, found.high, shown)
    return result


def _threshold_ci(
    analysis: ThresholdAnalysis, low: float, high: float, shown: float
) -> list[float | None]:
    """A finder's interval in the numbers ``plan`` shows: the ends made readable as the
    threshold is (so 0.0 is not outside [0.00028, 0.00085]), widened to hold the threshold;
    an end above 1 ("flag nothing") is null, as no threshold `score` takes is above 1."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return [None, None]
    ends = [_readable_end(analysis, low, up=False), _readable_end(analysis, high, up=True)]
    if shown <= 1.0:
        ends = [min(ends[0], shown), max(ends[1], shown)]
    return [x if x <= 1.0 else None for x in ends]


END_DECIMALS = 9  # an interval end's digits at most: a short decimal, never 0.9999994137146853


def _readable_end(analysis: ThresholdAnalysis, x: float, up: bool) -> float:
    """An end of a threshold's interval as a short decimal: one deciding the sample's items as
    ``x`` does when there is one (as the threshold is made readable), else ``x`` rounded
    outwards (the low end down, the high end up), so the interval shown only ever widens."""
    if not 0.0 <= x <= 1.0:
        return x  # above every score: "flag nothing" (null in JSON)
    short = analysis.readable(x, max_decimals=END_DECIMALS)
    if short != x or round(x, END_DECIMALS) == x:
        return short
    scale = 10**END_DECIMALS
    return min((math.ceil(x * scale) if up else math.floor(x * scale)) / scale, 1.0)


def _json(x: float) -> float | None:
    return x if math.isfinite(x) else None  # undefined (NaN) is null, never NaN in JSON


def _holding(pair: tuple[float, float], point: float | None) -> list[float | None]:
    """An audit sample's interval widened to hold its estimate, as ``audit estimate`` does:
    the estimate counts the verdicts seen, the smoothed replicates also what they could have
    missed (recall 1.0 when no labelled abusive item was missed), so it may sit at an end."""
    lo, hi = _pair(pair)
    if lo is None or hi is None or point is None or not math.isfinite(point):
        return [lo, hi]
    return [min(lo, point), max(hi, point)]


def _pair(pair: tuple[float, float]) -> list[float | None]:
    return [_json(pair[0]), _json(pair[1])]


_NOTHING = {
    "capacity": "no threshold flags few enough items for the capacity",
    "recall floor": "the recall floor is met without flagging anything",
}

_RULES = {
    "capacity": "the lowest threshold whose flagged/day fits the capacity",
    "recall floor": "the highest threshold whose recall reaches the floor",
    "option": "given with --threshold",
    "app-wide": "the app-wide threshold",
    "default": "the default threshold (none applied yet)",
}


def _ci(pair: list[float | None], fmt: str = ",.0f") -> str:
    if pair[0] is None or pair[1] is None:
        return "(95% interval n/a)"
    return f"(95% interval {pair[0]:{fmt}} – {pair[1]:{fmt}})"


def _print_text(r: dict[str, Any]) -> None:
    print(printable(f"data: {r['data_name']} ({r['n']:,} labelled items, {r['positives']:,} "
                    f"abusive), model {r['model_version']}"))  # fmt: skip
    if r.get("data_kind") == "sample":  # weighted: the rates are the batch's, not the sample's
        print(f"weighted by band: estimates for the whole batch ({r['population']:,} rows)")
    v = r["volume"]  # 1.5 messages a day is not "2"
    volume = f"{v:,.0f}" if v == round(v) else f"{v:,.2f}".rstrip("0")
    print(f"re-weighted to prevalence {r['prevalence']:.2%} and {volume} messages a day")
    if r["threshold"] is None:  # above every score: no threshold, the answer is flag nothing
        line = f"no threshold: flag nothing ({_NOTHING[r['rule']]})"
    else:
        line = f"threshold {fmt_threshold(r['threshold'])}: {_RULES[r['rule']]}"
    lo, hi = r.get("threshold_ci95", (None, None))
    if lo is not None or hi is not None:  # null end: "flag nothing", never shown as a number
        ends = ["flag nothing" if x is None else fmt_threshold(x) for x in (lo, hi)]
        if r["threshold"] is not None:
            line += f" (95% interval {ends[0]} – {ends[1]})"
    elif "threshold_ci95" in r and r["threshold"] is not None:
        line += " (95% interval n/a: the rule has no answer in most resamples)"
    print(line)
    for key, words in (("flagged", "flagged"), ("caught", "caught"), ("missed", "missed"),
                       ("false_alarms", "false alarms")):  # fmt: skip
        # the estimate and its interval in the same decimals: a rounded interval never
        # excludes its estimate ("0.2 (95% interval 0 – 0)" at 1.5 messages a day)
        ci = _ci(r["ci95"][f"{key}_per_day"], ",.1f")
        print(f"  {words + ' per day':<22}{r[f'{key}_per_day']:>12,.1f}  {ci}")
    for key in ("recall", "precision"):
        value = "n/a" if r[key] is None else f"{r[key]:.4f}"  # JSON keeps every digit
        print(f"  {key:<22}{value:>12}  {_ci(r['ci95'][key], '.4f')}")
    if "capacity" in r:
        print(f"capacity {r['capacity']:,.6g}/day; backlog {r['backlog_per_day']:,.1f}/day")
    for warning in r["warnings"]:
        print(f"warning: {warning}")
