"""The words a batch job's counts are given in, once, for the CLI, the GUI and the provenance.

* rejected: a record that could not be read (wrong field count, a broken quote, a bad byte, a
  field over the limit): not scored, not in the output, listed with its line span and reason.
* blank: an empty line, or a row whose text cell is empty: not scored; a blank-text row stays in
  the output without a score (noted "blank text").

``read = scored + rejected + blank``. Imports only `common.messages`, so any layer may use it.
"""

from __future__ import annotations

from app.core.common.messages import printable

REJECTED = "rejected"
BLANK = "blank"
DEFINITIONS = {
    "rows_read": "records after the header: read = scored + rejected + blank",
    "rows_scored": "rows whose text was scored",
    "rows_flagged": "scored rows at or above the threshold",
    "rows_rejected": f"{REJECTED}: unreadable records (e.g. a wrong field count or a broken "
    "quote), not scored and not in the output; listed with their lines and reasons",
    "rows_blank": f"{BLANK}: empty lines and rows whose text is empty; not scored",
}


def counted(n: int, noun: str = "row") -> str:
    """ "1 row", "2 rows", "1,000 rows": a count with its noun in agreement."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def ledger_counts(read: int, scored: int, rejected: int, blank: int) -> str:
    """ "1,000 rows read: 990 scored, 4 rejected, 6 blank" (without the flagged count)."""
    return f"{read:,} rows read: {scored:,} scored, {rejected:,} {REJECTED}, {blank:,} {BLANK}"


def renamed_line(note: str) -> str:
    """The line saying duplicate column names were renamed ("" when none were)."""
    # printable: the names are the file's text (a report read back may hold raw controls)
    return f"duplicate column names renamed: {printable(note)}" if note else ""
