"""A decision record as the one A4 page a supervisor files.

Reproducible: the page is drawn from the record alone (its matrices, rates and curves), with
the DejaVu fonts that ship inside matplotlib (loaded by file name, so no system font lookup can
change the output) embedded as TrueType, and the PDF's creation date set to the record's time.
The same record gives the same bytes. Written atomically, never over an existing file unless
``overwrite`` is given.
"""

from __future__ import annotations

import io
import textwrap
from datetime import datetime
from pathlib import Path

import matplotlib as mpl
import matplotlib.patches
from matplotlib.axes import Axes
from matplotlib.backends.backend_pdf import FigureCanvasPdf
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties

from app.core.common.atomic import atomic_write_bytes
from app.core.common.errors import InputError
from app.core.common.messages import printable
from app.core.decisions.outcome import BANDS, DAY_KEYS, DAY_WORDS
from app.core.decisions.records import RATE_WORDS, RATES, DecisionRecord, Outcome, Rate

A4_INCHES = (8.27, 11.69)
_FONTS = Path(mpl.get_data_path()) / "fonts" / "ttf"
REGULAR = FontProperties(fname=_FONTS / "DejaVuSans.ttf", size=8.5)
BOLD = FontProperties(fname=_FONTS / "DejaVuSans-Bold.ttf", size=8.5)
RC = {"pdf.fonttype": 42, "pdf.compression": 6, "svg.hashsalt": "abuse-desk"}


def _font(base: FontProperties, size: float) -> FontProperties:
    f = base.copy()
    f.set_size(size)
    return f


def fmt_rate(rate: Rate) -> str:
    if rate.estimate is None:
        return "undefined (no items)"
    return f"{rate.estimate:.1%}  [{rate.lo:.1%}, {rate.hi:.1%}]"


def _day_value(day: dict[str, float | None] | None, key: str, approx: bool) -> str:
    if day is None:
        return ""
    value = day[key]
    if key == "precision":
        return "undefined (nothing flagged)" if value is None else f"{value:.1%}"
    return f"{'≈ ' if approx else ''}{value:,.0f}"


def day_rows(record: DecisionRecord) -> list[tuple[str, str, str]]:
    """(what, chosen, previous) of the day at the assumed traffic, as stored when the record
    was made; [] when no traffic was assumed (or the source lacked a class)."""
    if record.day_new is None:
        return []
    approx = record.at_new.estimated  # rates of an audit sample: estimates for the batch
    return [(DAY_WORDS[key], _day_value(record.day_new, key, approx),
             _day_value(record.day_previous, key, approx)) for key in DAY_KEYS]  # fmt: skip


def bands_words(record: DecisionRecord) -> str:
    """ "clear 9,120 · review 780 · escalate 100 per day", "" without bands per day."""
    b = record.bands_per_day
    if b is None:
        return ""
    return " · ".join(f"{name} {b[name]:,.0f}" for name in BANDS) + " per day"


def items_words(outcome: Outcome) -> str:
    """ "1,234" items, or "≈ 20,000 (from 180 labelled)" for an audit sample's estimates."""
    if outcome.estimated:
        return f"{outcome.n:,} (from {outcome.n_labelled:,} labelled)"
    return f"{outcome.n:,}"


def _header_lines(record: DecisionRecord) -> list[tuple[str, str]]:
    prev = "none recorded" if record.previous is None else record.previous.describe()
    src = record.source
    if record.prevalence is None and record.volume is None:
        assumed = "not assumed: counts and rates are those of the data source"
    else:
        parts = []
        if record.prevalence is not None:
            parts.append(f"prevalence {record.prevalence:.1%}")
        if record.volume is not None:
            parts.append(f"volume {record.volume:,.0f} messages a day")
        assumed = ", ".join(parts)
    estimates = []
    if record.at_new.estimated:
        estimates = [("Estimates", f"weighted (≈) for the whole batch, from "
                      f"{record.at_new.n_labelled:,} labelled items")]  # fmt: skip
    applied = record.policy.describe()
    if record.policy.is_band and (bands := bands_words(record)):
        applied += f" — {bands}"
    return [
        ("Applied", applied),
        ("Previous", prev),
        ("By", f"{record.author}, {record.time_utc} (UTC)"),
        ("Model", record.model_version),
        ("Manifest SHA-256", record.manifest_sha256 or "unknown"),
        ("Data source", f"{src.name} ({src.kind})"),
        *estimates,
        ("Data SHA-256", src.sha256),
        ("Assumed", assumed),
    ]


def _matrix(ax: Axes, outcome: Outcome, title: str) -> None:
    cells = [[outcome.tp, outcome.fn], [outcome.fp, outcome.tn]]
    words = [["caught", "missed"], ["false alarms", "passed"]]
    colours = [["#cfe8cf", "#f4c7c3"], ["#f4c7c3", "#cfe8cf"]]
    ax.set_xlim(0, 2)
    ax.set_ylim(2, 0)
    for r in range(2):
        for c in range(2):
            ax.add_patch(
                mpl.patches.Rectangle((c, r), 1, 1, facecolor=colours[r][c], edgecolor="#555")
            )
            ax.text(c + 0.5, r + 0.45, f"{cells[r][c]:,}", ha="center", va="center",
                    fontproperties=_font(BOLD, 13))  # fmt: skip
            ax.text(c + 0.5, r + 0.75, words[r][c], ha="center", va="center",
                    fontproperties=_font(REGULAR, 7.5), color="#333")  # fmt: skip
    ax.set_xticks([0.5, 1.5], ["flagged", "not flagged"], fontproperties=REGULAR)
    ax.set_yticks([0.5, 1.5], ["abusive", "benign"], fontproperties=REGULAR)
    ax.xaxis.tick_top()
    ax.tick_params(length=0)
    ax.set_title(title, fontproperties=_font(BOLD, 9), pad=18)


def _curves(ax: Axes, record: DecisionRecord) -> None:
    c = record.curves or {}
    t = c.get("threshold") or []
    nan = float("nan")
    for key, colour in (("precision", "#1f77b4"), ("recall", "#d62728")):
        ys = [nan if v is None else v for v in c.get(key) or []]
        ax.plot(t, ys, color=colour, label=key, linewidth=1.4)
    points = [(record.policy.threshold, record.at_new, "chosen", "#000000", "o")]
    if record.previous is not None and record.at_previous is not None:
        points.append((record.previous.threshold, record.at_previous, "previous", "#888888", "s"))
    others = [p[0] for p in points]
    for x, outcome, name, colour, marker in points:
        # two labels close together would overlap: each reads away from the other line
        ha = "left" if x > min(others) else "right" if x < max(others) else "center"
        ax.axvline(x, color=colour, linestyle="--", linewidth=0.8)
        for key in ("precision", "recall"):
            y = outcome.rates[key].estimate
            if y is not None:
                ax.plot([x], [y], marker=marker, color=colour, markersize=5)
        ax.text(
            x,
            1.05,
            f"{name} {x:g}",
            ha=ha,
            va="center",
            color=colour,
            fontproperties=REGULAR,
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 1},
        )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.12)
    ax.set_xlabel("threshold (flag iff score ≥ threshold)", fontproperties=REGULAR)
    ax.grid(True, linewidth=0.3)
    for label in ax.get_xticklabels() + ax.get_yticklabels():
        label.set_fontproperties(REGULAR)
    ax.legend(prop=REGULAR, loc="lower left")
    ax.set_title(
        "Precision and recall by threshold (data source)", fontproperties=_font(BOLD, 9), pad=4
    )


ROW = 0.0165  # the numbers table's line height (fraction of the page)


def _numbers(fig: Figure, record: DecisionRecord, top: float) -> None:
    prev = record.at_previous
    rows = [("", "chosen", "previous" if prev is not None else "")]
    for key in RATES:
        rows.append((RATE_WORDS[key], fmt_rate(record.at_new.rates[key]),
                     fmt_rate(prev.rates[key]) if prev is not None else ""))  # fmt: skip
    rows.append(("items", items_words(record.at_new), items_words(prev) if prev else ""))
    day = day_rows(record)
    if day and record.prevalence is not None and record.volume is not None:
        rows.append((f"At {record.prevalence:.1%} abusive, {record.volume:,.0f} a day", "", ""))
        rows.extend(day)
    for i, row in enumerate(rows):
        y = top - i * ROW
        heading = i == 0 or (day and i == len(rows) - len(day) - 1)
        for x, cell in zip((0.08, 0.36, 0.64), row, strict=True):
            fig.text(x, y, cell, fontproperties=BOLD if heading or x == 0.08 else REGULAR)
    how = (
        "Weighted estimates (≈) for the whole batch with stratified-bootstrap 95 % intervals"
        if record.at_new.estimated
        else "Rates with Wilson 95 % intervals"
    )
    for i, note in enumerate(
        (
            f"{how}; review and escalate bands both count as flagged.",
            "Per-day numbers as shown when the record was made.",
        )
    ):
        fig.text(0.08, top - (len(rows) + i * 0.7) * ROW, note,
                 fontproperties=_font(REGULAR, 7), color="#555")  # fmt: skip


def render_pdf(record: DecisionRecord) -> bytes:
    """The record's page as PDF bytes (the same record gives the same bytes)."""
    with mpl.rc_context(RC):
        fig = Figure(figsize=A4_INCHES)
        FigureCanvasPdf(fig)
        title = f"Threshold decision record {'#' + str(record.id) if record.id else ''}".strip()
        fig.text(0.08, 0.955, title, fontproperties=_font(BOLD, 16))
        y = 0.925
        for label, value in _header_lines(record):
            fig.text(0.08, y, label, fontproperties=BOLD)
            fig.text(0.27, y, printable(value), fontproperties=REGULAR)
            y -= 0.016
        fig.text(0.08, y - 0.004, "Rationale", fontproperties=BOLD)
        lines = textwrap.wrap(printable(record.rationale), 100)[:22]
        for line in lines:
            fig.text(0.27, y - 0.004, line, fontproperties=REGULAR)
            y -= 0.0145
        top = min(y - 0.05, 0.70)
        _matrix(fig.add_axes((0.14, top - 0.15, 0.3, 0.15)), record.at_new, "Chosen")
        if record.at_previous is not None:
            _matrix(fig.add_axes((0.6, top - 0.15, 0.3, 0.15)), record.at_previous, "Previous")
        _curves(fig.add_axes((0.1, top - 0.40, 0.82, 0.19)), record)
        _numbers(fig, record, top - 0.45)
        fig.text(0.08, 0.018, "abuse-desk decision record — computed offline from the data "
                 "source named above", fontproperties=_font(REGULAR, 7), color="#555")  # fmt: skip
        out = io.BytesIO()
        created = datetime.fromisoformat(record.time_utc)
        fig.savefig(out, format="pdf", metadata={
            "Title": title, "Author": record.author, "Creator": "abuse-desk",
            "Producer": "abuse-desk", "CreationDate": created,
        })  # fmt: skip
    return out.getvalue()


def write_pdf(record: DecisionRecord, path: Path, *, overwrite: bool = False) -> None:
    """Render and write atomically; InputError if ``path`` exists and ``overwrite`` is not set."""
    data = render_pdf(record)
    if path.exists() and not overwrite:
        raise InputError(f"{printable(str(path))}: already exists (use --overwrite to replace it)")
    atomic_write_bytes(path, data)
