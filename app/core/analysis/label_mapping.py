"""What each value of a gold-label column is taken as — the one rule the CLI and the app share.

A value (the cell, trimmed) is taken as *abusive*, *benign* or *rejected* (the row is left out
and counted). Matching ignores case, but every spelling is counted and shown on its own, so
"Abusive" and "abusive" appear as two lines of the mapping with what each became.

* With ``--positive`` values: those mean abusive; blank cells and the usual "no label" markers
  ("?", "n/a", …) are rejected; every other value is benign — and the mapping says so.
* Without: the documented words (``POSITIVE_WORDS`` / ``NEGATIVE_WORDS``) are used. A value
  outside them (e.g. the "2" of Davidson's 0/1/2 classes, where 0 is *hate*) cannot be mapped
  with certainty, so the whole column is refused, listing its values, rather than guessed.

A ``--positive`` value that never occurs is refused too: it is almost always a typo, and every
row would silently have become benign.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from app.core.common.errors import InputError

POSITIVE_WORDS = frozenset(
    {
        "1",
        "true",
        "yes",
        "y",
        "abusive",
        "abuse",
        "off",
        "offensive",
        "hate",
        "toxic",
        "flagged",
        "positive",
    }
)
NEGATIVE_WORDS = frozenset(
    {"0", "false", "no", "n", "benign", "not", "neither", "none", "clean", "ok", "negative"}
)
# Cells that say "no label here": the row is left out (and counted), never taken as benign.
MISSING_WORDS = frozenset(
    {"?", "??", "-", "--", "n/a", "na", "nan", "null", "unknown", "unlabeled", "unlabelled"}
)

ABUSIVE, BENIGN, REJECTED = "abusive", "benign", "rejected"
MAX_DISTINCT = 1000  # a label column has a few values; more means the wrong column was chosen
HOW_TO_NAME = "name them with --positive V[,V...] (in the app: “Abusive values”)"


def _show(value: str, width: int = 16) -> str:
    if not value:
        return "(blank)"
    return repr(value if len(value) <= width else value[: width - 1] + "…")


@dataclass(frozen=True)
class LabelRule:
    """The rule for one read: the values given as abusive (None: the standard words)."""

    positive_values: tuple[str, ...] | None = None

    @classmethod
    def of(cls, positive_values: Sequence[str] | None) -> LabelRule:
        values = tuple(v.strip() for v in positive_values or () if v.strip())
        return cls(values or None)

    @property
    def folded(self) -> frozenset[str]:
        return frozenset(v.casefold() for v in self.positive_values or ())

    def taken_as(self, value: str) -> str | None:
        """ABUSIVE, BENIGN or REJECTED for a trimmed cell; None if it has no known meaning."""
        folded = value.casefold()
        if self.positive_values is not None and folded in self.folded:
            return ABUSIVE
        if not value or folded in MISSING_WORDS:
            return REJECTED
        if self.positive_values is not None:
            return BENIGN
        return ABUSIVE if folded in POSITIVE_WORDS else BENIGN if folded in NEGATIVE_WORDS else None

    def reason(self, value: str) -> str:
        """Why a row with this label was left out (for the rejected-rows list)."""
        if not value:
            return "missing label"
        if self.taken_as(value) == REJECTED:
            return f"label {_show(value)} means no label"
        return f"label {_show(value)} has no standard meaning"


@dataclass
class LabelMapping:
    """The distinct values of one label column, their rows, and what each was taken as."""

    source: str  # the user's file, as named in messages
    column: str
    rule: LabelRule
    counts: Counter[str] = field(default_factory=Counter)

    def add(self, value: str) -> str | None:
        """Count one row's trimmed label; returns what it is taken as (None: unknown)."""
        if value not in self.counts and len(self.counts) >= MAX_DISTINCT:
            raise InputError(
                f"{self.source}: column {self.column!r} holds more than {MAX_DISTINCT:,} "
                "different values: it does not look like a label column"
            )
        self.counts[value] += 1
        return self.rule.taken_as(value)

    def ordered(self) -> list[tuple[str, int]]:
        """Values by rows, most first (then by value, so the order is stable)."""
        return sorted(self.counts.items(), key=lambda item: (-item[1], item[0]))

    def _listing(self, shown: int = 5) -> str:
        items = self.ordered()
        text = ", ".join(f"{_show(v)} ×{n:,}" for v, n in items[:shown])
        return text + (f" … and {len(items) - shown:,} more" if len(items) > shown else "")

    def check(self) -> None:
        """Refuse a column whose values cannot all be mapped with certainty, or a --positive
        value that no row holds; one line naming the file and column, listing the values."""
        if not self.counts:
            return
        unknown = [v for v, _ in self.ordered() if self.rule.taken_as(v) is None]
        if unknown:
            some = ", ".join(_show(v) for v in unknown[:3])
            has = "has" if len(unknown) == 1 else "have"
            raise InputError(
                f"{self.source}: cannot tell which labels in column {self.column!r} mean "
                f"abusive ({some}{' …' if len(unknown) > 3 else ''} {has} no standard meaning): "
                f"{self._listing()}; {HOW_TO_NAME}"
            )
        seen = {v.casefold() for v in self.counts}
        absent = [p for p in self.rule.positive_values or () if p.casefold() not in seen]
        if absent:
            raise InputError(
                f"{self.source}: abusive value {', '.join(_show(p) for p in absent[:3])} does "
                f"not occur in column {self.column!r}; its values: {self._listing()}"
            )

    def rows_taken_as(self, kind: str) -> int:
        return sum(n for v, n in self.counts.items() if self.rule.taken_as(v) == kind)

    def entries(self) -> list[dict[str, Any]]:
        """JSON-ready: [{"value", "rows", "taken_as"}], most rows first (at most MAX_DISTINCT)."""
        return [
            {"value": v, "rows": n, "taken_as": self.rule.taken_as(v) or REJECTED}
            for v, n in self.ordered()
        ]

    def lines(self, shown: int = 20) -> list[str]:
        """One line per value ("'1'  484 rows → abusive"), capped with "… and N more"."""
        items = self.ordered()
        width = max((len(f"{n:,}") for _, n in items), default=1)
        out = [
            f"{_show(v)}  {n:>{width},} rows → {self.rule.taken_as(v) or REJECTED}"
            for v, n in items[:shown]
        ]
        if len(items) > shown:
            rest = sum(n for _, n in items[shown:])
            out.append(f"… and {len(items) - shown:,} more values ({rest:,} rows)")
        return out

    def summary(self, shown: int = 4) -> str:
        """Short, for a panel: "'1' 484 → abusive, '0' 1,000 → benign, … and 2 more"."""
        items = self.ordered()
        text = ", ".join(
            f"{_show(v)} {n:,} → {self.rule.taken_as(v) or REJECTED}" for v, n in items[:shown]
        )
        return text + (f", … and {len(items) - shown:,} more" if len(items) > shown else "")

    def match_note(self) -> str:
        how = "your abusive values" if self.rule.positive_values else "the standard words"
        return f"matched to {how}, ignoring case; each spelling counted on its own"
