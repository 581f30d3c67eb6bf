"""What the command line records in the activity log, as the GUI does.

The CLI logs every action that scores, evaluates or changes state (scoring, evaluation, model
changes). An event is written before the change it records, or the change is undone: if the log
cannot be written (damaged key, read-only or full database, a head file that does not match),
nothing changes and the command fails with one line, exit 3. The log is the context's
(`app.cli.context.cli_context`), opened before the command does anything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.cli.outputs import OutputFacts
    from app.core.batch.run import BatchReport
    from app.core.context.state import AppContext
    from app.core.engine.scoring import Scorer


def log_one(ctx: AppContext, action: str, **values: Any) -> None:
    """Record one event, stamped like the GUI's (the active model and threshold unless given)."""
    ctx.log(action, **values)


@contextmanager
def batch_logged(
    ctx: AppContext,
    input_path: Path,
    threshold: float,
    scorer: Scorer,
    challenger: Scorer | None = None,
    output: OutputFacts | None = None,
    *,
    note: str | None = None,
) -> Iterator[Callable[[BatchReport], None]]:
    """Log ``batch_started`` before a CSV is scored (no log, no scoring), and yield the
    function that logs ``batch_finished`` with the report; a failure or interruption is
    logged too (best effort: the error being raised is what the user must see). `output`
    says what is written and `note` how the run was decided (`app.cli.context.run_note`), so
    an auditor sees both in each event."""
    from app.core.common.errors import JobCancelled

    def detail(*parts: str | None, text_column: str | None = None) -> str | None:
        written = output.detail(text_column) if output is not None else None
        return "; ".join(p for p in (written, *parts, note) if p) or None

    model = {"model_version": scorer.version_label}
    shadow = f"challenger {challenger.version_label}" if challenger is not None else None
    ctx.log(
        "batch_started",
        file_name=input_path.name,
        threshold=threshold,
        detail=detail(shadow),
        **model,
    )

    def finished(report: BatchReport) -> None:
        from app.core.batch.options import summary_counts

        ctx.log(
            "batch_finished",
            counts=summary_counts(report),
            file_name=input_path.name,
            file_sha256=report.input_sha256,
            threshold=report.threshold,
            model_version=report.model_version,
            detail=detail(
                report.disagreement(), report.rescored_line(), text_column=report.text_column
            ),
        )

    try:
        yield finished
    except (KeyboardInterrupt, JobCancelled):
        with suppress(Exception):
            ctx.log("batch_cancelled", file_name=input_path.name, threshold=None, **model)
        raise
    except Exception as exc:
        with suppress(Exception):
            why = str(exc)[:300]
            ctx.log("batch_failed", file_name=input_path.name, detail=why, threshold=None, **model)
        raise
