"""``evaluate``: confusion matrices and metrics of the active model on a labelled CSV.

The matrices are reported at the app-wide threshold (the one the desktop app decides with) unless
``--threshold`` or ``--thresholds`` name others; the run is logged as the GUI's evaluations are.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from app import APP_NAME
from app.cli.common import EXIT_OK, EXIT_USAGE, say
from app.cli.context import active_scorer, cli_context, run_note, threshold_kind, threshold_source
from app.cli.labels import flatten_positive, mapping_json, print_mapping
from app.cli.score import print_json
from app.core.batch.words import BLANK, DEFINITIONS, REJECTED, renamed_line
from app.core.common.messages import capped_list, fmt_number, fmt_threshold, printable

if TYPE_CHECKING:
    from app.core.analysis.labeled import LabeledScores
    from app.core.context.state import AppContext


def evaluated_thresholds(args: argparse.Namespace, app_wide: float) -> list[float]:
    """``--thresholds`` or ``--threshold`` if given, else the app-wide threshold."""
    if args.thresholds is not None:
        return list(args.thresholds)
    return [app_wide if args.threshold is None else args.threshold]


def _source(args: argparse.Namespace, ctx: AppContext) -> tuple[str, str]:
    """Where the thresholds came from: a word a script can test, and the words a person reads."""
    if args.thresholds is not None:
        return "option", "given with --thresholds"
    return threshold_kind(args, ctx), threshold_source(args, ctx)


def label_column(args: argparse.Namespace, command: str = "evaluate") -> str | None:
    """``--label-column``, else the column the app would preselect (`guess_label_column`: a usual
    label name, never the text column), said on stderr; None when there is none (said too, as a
    usage error naming the file and its columns)."""
    from app.core.analysis.labeled import guess_label_column
    from app.core.csvio.csv_input import choose_text_column, sniff

    if args.label_column is not None:
        return str(args.label_column)
    sniffed = sniff(args.input)  # before the model loads: a bad file fails first
    text = sniffed.text_column
    if args.text_column is not None:  # the same exact/fuzzy rule as when the file is read
        text = choose_text_column(
            sniffed.header, sniffed.preview, args.text_column, source=args.input
        )
    found = guess_label_column(sniffed.header, text)
    if found is None:
        say(
            f"{APP_NAME} {command}: error: {args.input}: no label column found among the columns "
            f"{capped_list(sniffed.header)}; name it with --label-column "
            f"(see {APP_NAME} {command} --help)"
        )
    else:
        say(f"{APP_NAME}: note: label column {found!r} of {args.input.name} (found by its name; "
            "--label-column chooses another)")  # fmt: skip
    return found


def cmd_evaluate(args: argparse.Namespace) -> int:
    from app.core.analysis.evaluation import summarize
    from app.core.analysis.labeled import read_labeled_scores

    label = label_column(args)
    if label is None:
        return EXIT_USAGE
    with cli_context(args) as ctx:
        scorer = active_scorer(ctx)
        thresholds = evaluated_thresholds(args, ctx.state.threshold)
        data = read_labeled_scores(
            scorer,
            args.input,
            label_column=label,
            positive_values=flatten_positive(args.positive),
            text_column=args.text_column,
        )
        summary = summarize(data.scores, data.labels, thresholds)
        ctx.log(
            "evaluate",
            file_name=args.input.name,
            model_version=scorer.version_label,
            threshold=thresholds[0] if len(thresholds) == 1 else None,
            counts={"n": summary["n"], "positives": summary["positives"]}
            | {"rows_rejected": len(data.rejected), "rows_blank": data.blank},
            detail="thresholds "
            + ", ".join(fmt_threshold(t) for t in thresholds)
            + f"; {run_note(args, ctx)}",
        )
    kind, source = _source(args, ctx)
    if args.json:
        _print_json(summary, data, scorer.version_label, kind)
    else:
        _print_text(summary, data, scorer.version_label, source)
    return EXIT_OK


def _print_json(summary: dict[str, Any], data: LabeledScores, model: str, source: str) -> None:
    print_json(
        {
            "auc": summary["auc"],
            "best_f1_threshold": summary["best_f1_threshold"],
            "n": summary["n"],
            "positives": summary["positives"],
            "model_version": model,
            "rows_rejected": len(data.rejected),
            "rows_blank": data.blank,
            "rejected": [r.__dict__ for r in data.rejected],
            "definitions": {k: DEFINITIONS[k] for k in ("rows_rejected", "rows_blank")},
            "thresholds": summary["thresholds"],
            "threshold_source": source,
            "notes": summary["notes"],
            "text_column": data.text_column,
            "columns_renamed": data.columns_renamed,
        }
        | mapping_json(data.mapping)
    )


def left_out_line(data: LabeledScores) -> str:
    """ "1 rejected (first: line 1502: …), 20 blank": the batch job's words (`words`)."""
    parts = []
    if data.rejected:
        first = data.rejected[0]
        parts.append(
            f"{len(data.rejected):,} {REJECTED} (first: line {first.line}: {first.reason})"
        )
    if data.blank:
        parts.append(f"{data.blank:,} {BLANK} (empty text, not scored)")
    return "left out: " + ", ".join(parts) if parts else ""


def _print_text(summary: dict[str, Any], data: LabeledScores, model: str, source: str) -> None:
    print(f"{summary['n']:,} labelled rows ({summary['positives']:,} abusive), model {model}")
    print(printable(f"text column {data.text_column!r}, label column {data.label_column!r}"))
    if data.columns_renamed:  # a repeated name: say which of them was read
        print(renamed_line(data.columns_renamed))
    print_mapping(data.mapping)
    left_out = left_out_line(data)
    if left_out:
        print(left_out)
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
    shown = ", ".join(fmt_threshold(m["threshold"]) for m in summary["thresholds"])
    print(f"\nmodel {model} at threshold {shown} ({source})")
