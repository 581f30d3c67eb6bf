"""A decision record as the one A4 page a supervisor files.

Reproducible: the page is drawn from the record alone (its matrices, rates and curves), with
the DejaVu fonts that ship inside matplotlib (loaded by file name, so no system font lookup can
change the output) embedded as TrueType, and the PDF's creation date set to the record's time.
The same record gives the same bytes. Written atomically, never over an existing file unless
``overwrite`` is given.
"""

from __future__ import annotations

import io
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
from app.reports.pdf_text import bounded, fit_line, wrap

A4_INCHES = (8.27, 11.69)
_FONTS = Path(mpl.get_data_path()) / "fonts" / "ttf"
REGULAR = FontProperties(fname=_FONTS / "DejaVuSans.ttf", size=8.5)
BOLD = FontProperties(fname=_FONTS / "DejaVuSans-Bold.ttf", size=8.5)
RATIONALE_FONT = FontProperties(fname=_FONTS / "DejaVuSans.ttf", size=8)
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


KIND_WORDS = {"bundled": "bundled evaluation set", "csv": "labelled CSV", "sample": "sample"}


def source_kind_words(record: DecisionRecord) -> str:
    """What the data source is, in words ("audit sample" when its rates are estimates)."""
    if record.at_new.estimated:
        return "audit sample"
    return KIND_WORDS.get(record.source.kind, record.source.kind)


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
        ("Data source", f"{src.name} — {source_kind_words(record)}"),
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
HEADER_ROW = 0.015  # the header's and the rationale's line heights
RATIONALE_ROW = 0.0135
TEXT_X, RIGHT = 0.27, 0.94  # the header's values and the rationale run from TEXT_X to RIGHT
FOOTER_Y = 0.018


def _number_rows(record: DecisionRecord) -> int:
    day = day_rows(record)
    extra = 1 + len(day) if day and record.prevalence is not None and record.volume else 0
    return 1 + len(RATES) + 1 + extra


def _numbers(fig: Figure, record: DecisionRecord, top: float) -> None:
    prev = record.at_previous
    rows = [("", "chosen", "previous" if prev is not None else "")]
    for key in RATES:
        rows.append((RATE_WORDS[key], fmt_rate(record.at_new.rates[key]),
                     fmt_rate(prev.rates[key]) if prev is not None else ""))  # fmt: skip
    rows.append(("items", items_words(record.at_new), items_words(prev) if prev else ""))
    day = day_rows(record)
    if day and record.prevalence is not None and record.volume:
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


def _text_width_pt(left: float) -> float:
    return (RIGHT - left) * A4_INCHES[0] * 72


def _rationale_lines(record: DecisionRecord, room: float) -> list[str]:
    """The rationale wrapped to the text column and cut to the lines that fit in ``room``
    (a fraction of the page height; at least one line)."""
    lines = wrap(record.rationale, _text_width_pt(TEXT_X), RATIONALE_FONT)
    return bounded(lines, max(1, int(room / RATIONALE_ROW)), len(record.rationale))


def render_pdf(record: DecisionRecord) -> bytes:
    """The record's page as PDF bytes (the same record gives the same bytes).

    Laid out from the bottom up: the footer, the numbers table, the curves and the matrices
    have fixed places whatever the record holds; the header's values are cut to one line each
    and the rationale gets the space left (wrapped, with a "continued" line if it does not fit),
    so no text can push the numbers off the page or under another block.
    """
    with mpl.rc_context(RC):
        fig = Figure(figsize=A4_INCHES)
        FigureCanvasPdf(fig)
        title = f"Threshold decision record {'#' + str(record.id) if record.id else ''}".strip()
        fig.text(0.08, 0.955, title, fontproperties=_font(BOLD, 16))
        numbers_top = FOOTER_Y + 0.032 + (_number_rows(record) + 1.4) * ROW
        curves_bottom = numbers_top + 0.055  # room for the x ticks and label
        matrix_bottom = curves_bottom + 0.16 + 0.045  # the curves, their title and labels
        blocks_top = matrix_bottom + 0.11 + 0.05  # the matrices, their ticks and titles
        y = 0.925
        width = _text_width_pt(TEXT_X)
        for label, value in _header_lines(record):
            fig.text(0.08, y, label, fontproperties=BOLD)
            fig.text(TEXT_X, y, fit_line(value, width, REGULAR), fontproperties=REGULAR)
            y -= HEADER_ROW
        y -= 0.004
        fig.text(0.08, y, "Rationale", fontproperties=BOLD)
        for line in _rationale_lines(record, y - blocks_top):
            fig.text(TEXT_X, y, line, fontproperties=RATIONALE_FONT)
            y -= RATIONALE_ROW
        _matrix(fig.add_axes((0.14, matrix_bottom, 0.3, 0.11)), record.at_new, "Chosen")
        if record.at_previous is not None:
            _matrix(fig.add_axes((0.6, matrix_bottom, 0.3, 0.11)), record.at_previous, "Previous")
        _curves(fig.add_axes((0.1, curves_bottom, 0.82, 0.16)), record)
        _numbers(fig, record, numbers_top)
        fig.text(0.08, FOOTER_Y, "abuse-desk decision record — computed offline from the data "
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
