"""What may go into a spreadsheet cell: formula neutralisation and app-written numbers.

Shared by the CSV and XLSX writers (`app.core.export`, `app.core.export_xlsx`), which is why it
is its own module: both writers import it, and `app.core.export` re-exports `neutralize_cell`.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

#: First characters that make Excel, LibreOffice or Google Sheets treat a cell as a formula or
#: command: the OWASP set (= + - @ TAB CR), LF and NUL (some importers strip them and then see the
#: next character), ";" (a separator in some locales, used in DDE payloads) and the full-width
#: forms ＝ ＋ － ＠ that Excel normalises to their ASCII equivalents on some East Asian locales.
FORMULA_TRIGGERS: frozenset[str] = frozenset("=+-@\t\r\n\x00;" + "\uff1d\uff0b\uff0d\uff20")
# Spreadsheet apps skip these before deciding whether a cell is a formula, so " =1+1" is one.
_SKIPPED_LEADING = " \u00a0\u3000"
# A cell whose first character is none of these can be returned at once (most cells).
SUSPECT_FIRST = FORMULA_TRIGGERS | frozenset(_SKIPPED_LEADING)


def neutralize_cell(value: str) -> str:
    """Return `value` with one "'" prefixed if a spreadsheet could read it as a formula.

    The check looks at the first character, or the first one after leading spaces, NBSPs and
    ideographic spaces. Removing exactly one leading "'" restores a neutralized value.
    """
    if not value or value[0] not in SUSPECT_FIRST:
        return value
    first = value.lstrip(_SKIPPED_LEADING)[:1]
    if first and first in FORMULA_TRIGGERS:
        return "'" + value
    return value


def is_bool(value: object) -> bool:
    """True for bool and numpy.bool_ (which is not a bool subclass), checked without numpy."""
    if isinstance(value, bool):
        return True
    dtype = getattr(value, "dtype", None)
    return getattr(dtype, "kind", None) == "b" and getattr(value, "ndim", 1) == 0


def number_text(value: object) -> str | None:
    """Text of an app-written number (never neutralized), or None if `value` is not a number."""
    if is_bool(value):
        return "true" if value else "false"
    if isinstance(value, Integral):
        return str(int(value))
    if isinstance(value, Real):
        number = float(value)
        return "" if math.isnan(number) else repr(number)  # repr round-trips exactly
    return None
