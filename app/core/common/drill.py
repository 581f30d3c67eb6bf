"""Drill-down: a row of the batch results (or an item of a Threshold matrix cell) opened in the
Score panel, and the banner that says where it came from.

The Score panel rescores the text with the active model; the banner must never let that number
pass for the row's if it is not: a different model, a differing score or another label threshold
is said in words. Once the text is edited it is no longer that row's text, and the banner says
so too. Here, below `analysis` and `results`, because both hand rows on. Qt-free: the panels only show `origin_banner`'s text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from app.core.common.messages import fmt_score

BATCH, THRESHOLD = "batch", "threshold"  # where "Back" returns
SAME_SCORE = 1e-9  # the same model on the same text: equal but for float summation order


@dataclass(frozen=True)
class RowSource:
    """What a list of rows was scored from: the file, the model, the labels' threshold."""

    file_name: str
    model_version: str
    threshold: float | None = None  # the threshold its labels were shown at, if any
    key: int = 0  # which job or sample: "Back" selects the row only in the same one


@dataclass(frozen=True)
class RowOrigin:
    """One row opened in the Score panel: where to return to and what it showed there."""

    panel: str  # BATCH or THRESHOLD
    source: RowSource
    row: int  # index of the row in its table or sample
    line: int | None  # input line (None: unknown)
    text: str
    score: float | None  # as scored there (None or NaN: a blank text)

    def where(self) -> str:
        line = f", line {self.line:,}" if self.line is not None else ""
        return f"{self.source.file_name}{line}"


def origin_banner(
    origin: RowOrigin, text: str, version: str, score: float | None, threshold: float
) -> str:
    """The banner over the Score panel's result for ``text`` scored ``score`` by ``version`` at
    ``threshold``: where the row came from, and every way the number shown differs from it."""
    if text != origin.text:
        return f"Edited: no longer the text of {origin.where()}."
    parts = [f"From {origin.where()}."]
    there, src = origin.score, origin.source
    if src.model_version and src.model_version != version:
        parts.append(
            f"The model changed: {src.model_version} scored it {fmt_score(there)} there; "
            f"shown here is the active model {version}."
        )
    elif not _same(there, score):
        parts.append(f"The results show {fmt_score(there)}; here it scores {fmt_score(score)}.")
    if src.threshold is not None and src.threshold != threshold:
        parts.append(f"Labelled at {_fmt_t(src.threshold)} there, at {_fmt_t(threshold)} here.")
    return " ".join(parts)


def _fmt_t(t: float) -> str:
    """A threshold as the panels show one (0.45, 0.50; 0.4537 exactly when it is that)."""
    for digits in (2, 3, 4):
        if float(f"{t:.{digits}f}") == t:
            return f"{t:.{digits}f}"
    return f"{t:.4f}"


def _same(a: float | None, b: float | None) -> bool:
    blank_a = a is None or math.isnan(a)
    blank_b = b is None or math.isnan(b)
    if blank_a or blank_b:
        return blank_a and blank_b
    assert a is not None and b is not None
    return abs(a - b) <= SAME_SCORE
