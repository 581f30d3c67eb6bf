"""``decisions list|show ID|report ID -o FILE.pdf`` and ``replay --threshold T [--review R
--escalate E]``: the decision records and the replay of a proposed policy, headless.

Reading records and replaying change nothing and log nothing (like ``history list``); no command
line command applies a threshold, so none creates a record: records come from the Threshold
panel's Apply. A damaged, foreign or newer records file is one line naming it, exit 3.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from app import APP_NAME
from app.cli.common import EXIT_USAGE, JSON_HELP, path_arg, say, threshold_arg
from app.core.common.messages import printable


def add_decisions_parser(sub: Any) -> None:
    p = sub.add_parser("decisions", help="list, show or print the threshold decision records")
    actions = p.add_subparsers(dest="decisions_command", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="every record, oldest first")
    listing.add_argument("--json", action="store_true", help=JSON_HELP)
    show = actions.add_parser("show", help="one record in full")
    show.add_argument("id", type=int, help="the record's id, as `decisions list` shows it")
    show.add_argument("--json", action="store_true", help=JSON_HELP)
    report = actions.add_parser("report", help="one record as a one-page PDF")
    report.add_argument("id", type=int, help="the record's id, as `decisions list` shows it")
    report.add_argument("-o", "--output", type=path_arg, required=True, help="the PDF to write")
    report.add_argument("--overwrite", action="store_true", help="replace an existing file")

    r = sub.add_parser("replay", help="which rows of the kept batches a proposed policy changes")
    r.add_argument("--threshold", type=threshold_arg, help="a proposed single threshold")
    r.add_argument("--review", type=threshold_arg, help="band policy: review from this score")
    r.add_argument("--escalate", type=threshold_arg, help="band policy: escalate from this score")
    r.add_argument("--rows", type=int, default=20, help="changed rows listed per batch (20)")
    r.add_argument("--json", action="store_true", help=JSON_HELP)


def _store() -> Any:
    from app.core.decisions.store import DecisionStore

    return DecisionStore()


def _summary(record: Any) -> str:
    m = record.at_new
    return printable(
        f"{record.id}  {record.time_utc}  {record.author}  {record.policy.describe()}  "
        f"{record.model_version}  on {record.source.name}  (n {m.n:,}: caught {m.tp:,}, "
        f"missed {m.fn:,}, false alarms {m.fp:,})  {record.rationale[:60]}"
    )


def cmd_decisions(args: argparse.Namespace) -> int:
    from app.cli.context import cli_context
    from app.core.common.errors import InputError

    with cli_context(args, load_models=False, record=False), _store() as store:
        if args.decisions_command == "list":
            records = store.list()
            if args.json:
                print(json.dumps([r.as_dict() for r in records], indent=2, ensure_ascii=False))
            else:
                for r in records:
                    print(_summary(r))
                if not records:
                    print("no decision records yet (the Threshold panel's Apply creates them)")
            return 0
        record = store.get(args.id)
    if record is None:
        raise InputError(f"no decision record {args.id} (see: decisions list)")
    if args.decisions_command == "show":
        if args.json:
            print(json.dumps(record.as_dict(), indent=2, ensure_ascii=False))
        else:
            from app.reports.decision_pdf import fmt_rate

            print(_summary(record))
            for key, rate in record.at_new.rates.items():
                print(f"  {key}: {fmt_rate(rate)}")
            print(printable(f"  rationale: {record.rationale}"))
        return 0
    from app.core.common.output_guard import check_output
    from app.reports.decision_pdf import write_pdf

    check_output(args.output, {})
    write_pdf(record, args.output, overwrite=args.overwrite)
    say(f"wrote decision record {record.id} to {printable(str(args.output))}")
    return 0


def _policy(args: argparse.Namespace) -> Any:
    """The proposed policy, or None after one usage line (exit 2)."""
    from app.core.decisions.records import Policy

    single = args.threshold is not None
    band = args.review is not None or args.escalate is not None
    problem = ""
    if single == band or (band and (args.review is None or args.escalate is None)):
        problem = "give --threshold T, or --review R with --escalate E"
    elif args.rows < 0:
        problem = "argument --rows: must be 0 or more"
    elif band and args.escalate < args.review:
        problem = "argument --escalate: must be at least --review"
    if problem:
        say(f"{APP_NAME} replay: error: {problem} (see {APP_NAME} replay --help)")
        return None
    return Policy(args.threshold) if single else Policy(args.review, args.escalate)


def cmd_replay(args: argparse.Namespace) -> int:
    from app.cli.context import cli_context
    from app.core.decisions.replay import replay
    from app.core.results.history import BatchHistory

    policy = _policy(args)
    if policy is None:
        return EXIT_USAGE
    with cli_context(args, load_models=False, record=False):  # the app's data folder
        results = list(replay(BatchHistory(), policy, max_rows=args.rows))
    if args.json:
        body = {"policy": policy.as_dict(), "batches": [b.as_dict() for b in results]}
        print(json.dumps(body, indent=2, ensure_ascii=False))
        return 0
    print(f"replaying {policy.describe()} over {len(results)} kept batch job(s)")
    for b in results:
        head = f"{b.entry_id}  {b.file_name}  (decided at {b.threshold:g}, {b.model_version})"
        if b.error:
            print(printable(f"{head}: {b.error}"))
            continue
        print(printable(f"{head}: {b.rows:,} rows; newly flagged {b.newly_flagged:,}, no "
                        f"longer flagged {b.no_longer_flagged:,}, band changes "
                        f"{b.band_changes:,}"))  # fmt: skip
        for row in b.changed:
            print(f"  line {row.line}: score {row.score:.4f}  {row.before} -> {row.after}")
    return 0
