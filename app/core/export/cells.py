"""What may go into a spreadsheet cell: formula neutralisation and numbers.

Shared by the CSV and XLSX writers (`app.core.export.csv_writer`, `app.core.export.xlsx_writer`), which is why it
is its own module: both writers import it, and `app.core.export.csv_writer` re-exports `neutralize_cell`.

Two formats, two rules:

* CSV has no cell types: a spreadsheet decides from the text whether a cell is a formula, so a
  text that could be read as one gets a leading "'" (`neutralize_cell`). A *plain number*
  (`is_plain_number`: "-1.5", "-20", "+5", "1e3", "-1,5", "-5%") cannot call anything and is left
  as it is, so it stays a number when opened.
* XLSX cells are typed: text goes into string cells, which no spreadsheet evaluates, so the
  analyst's text is stored exactly (no "'"). Only an input cell whose text a spreadsheet shows
  back unchanged as a number (`xlsx_number`: "-1.5", "-20", "0.25", not "007", "1e3", "-0" or a
  12-digit id) becomes a numeric cell.
"""

from __future__ import annotations

import math
import re
from numbers import Integral, Real
from unicodedata import east_asian_width

#: First characters that make Excel, LibreOffice or Google Sheets treat a cell as a formula or
#: command: the OWASP set (= + - @ TAB CR), LF and NUL (some importers strip them and then see the
#: next character), ";" (a separator in some locales, used in DDE payloads), the full-width and
#: small forms ＝ ＋ － ＠ ﹦ ﹢ ﹣ ﹫ and the minus sign −, which some locales and importers fold
#: to their ASCII equivalents.
FORMULA_TRIGGERS: frozenset[str] = frozenset(
    "=+-@\t\r\n\x00;" + "\uff1d\uff0b\uff0d\uff20" + "\ufe66\ufe62\ufe63\ufe6b" + "\u2212"
)
# Skipped by spreadsheet apps or invisible to the person who opens the file, so "\u200b=1+1"
# is as much a formula as "=1+1": spaces (ASCII, NBSP, ideographic, U+2000-U+200A), zero-width
# and direction marks (U+200B-U+200F, U+202A-U+202F, U+2060-U+206F, BOM), line and paragraph
# separators (U+2028/9, NEL), and the other C0/C1 controls (VT, FF, FS...). TAB, CR, LF and NUL
# are triggers themselves: a cell starting with one is always neutralised.
_SKIPPED_LEADING = (
    " \u00a0\u1680\u3000\ufeff\u180e"
    + "".join(map(chr, range(0x2000, 0x2010)))
    + "".join(map(chr, range(0x2028, 0x2030)))
    + "".join(map(chr, range(0x205F, 0x2070)))
    + "".join(chr(c) for c in range(0x01, 0x20) if chr(c) not in "\t\r\n")
    + "".join(map(chr, range(0x7F, 0xA0)))
)
# A cell whose first character is none of these can be returned at once (most cells). "'" is
# here because a text that already starts with "'" before a trigger gets one more (see below).
SUSPECT_FIRST = FORMULA_TRIGGERS | frozenset(_SKIPPED_LEADING) | frozenset("'")

# A plain number as spreadsheets read it in some locale: sign, digits with "." or "," between
# groups, exponent, percent. ASCII digits only: [0-9], never \d (which matches ٣ and ３ too).
_PLAIN_NUMBER = re.compile(
    r"[+-]?(?:[0-9]+(?:[.,][0-9]+)*[.,]?|[.,][0-9]+)(?:[eE][+-]?[0-9]+)?%?", re.ASCII
)
# The text of a number Excel's General format shows back unchanged: no sign but "-", no leading
# zero, no trailing fractional zero, no "-0", and at most 11 characters (wider ones are shown
# in scientific notation) and so at most 11 digits (exact in a double).
_CANONICAL_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]*[1-9])?", re.ASCII)
_XLSX_NUMBER_MAX_CHARS = 11


def is_plain_number(value: str) -> bool:
    """True if `value` is a plain number ("-1.5", "+5", "1e3", "-1,5", "-5%"), which no
    spreadsheet can run as a formula even though it may start with "-" or "+"."""
    return _PLAIN_NUMBER.fullmatch(value) is not None


def _needs_quote(value: str) -> bool:
    # Leading quotes are looked through, so "'=1" gets a second one: then exactly the
    # neutralised texts start with "'" + (a text needing a quote), and `restore_cell` can tell.
    rest = value.lstrip("'").lstrip(_SKIPPED_LEADING)
    return bool(rest) and rest[0] in FORMULA_TRIGGERS and not is_plain_number(rest)


def neutralize_cell(value: str) -> str:
    """Return `value` with one "'" prefixed if a spreadsheet could read it as a formula.

    The check looks at the first character after leading quotes, spaces and invisible
    characters; plain numbers are left alone. Removing exactly one leading "'" restores a
    neutralised value, and `restore_cell` knows whether a value was neutralised.
    """
    if not value or value[0] not in SUSPECT_FIRST:
        return value
    return "'" + value if _needs_quote(value) else value


def restore_cell(value: str) -> str:
    """The text `neutralize_cell` was given: the inverse of `neutralize_cell`."""
    if value[:1] == "'" and _needs_quote(value[1:]):
        return value[1:]
    return value


def xlsx_number(value: str) -> float | None:
    """The number an XLSX numeric cell should hold for the input text `value`, or None when
    the text must stay a string cell to be shown exactly as the analyst's file had it."""
    if len(value) > _XLSX_NUMBER_MAX_CHARS or not _CANONICAL_NUMBER.fullmatch(value):
        return None
    return None if value == "-0" else float(value)


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


def shown_width(value: object, limit: int) -> int:
    """About how many character widths a spreadsheet needs to show `value` (its longest line;
    East Asian wide and full-width characters count two), at most `limit`. Only the first
    `limit` characters of each line are looked at, so a huge cell costs no more than a short one.
    """
    if value is None:
        return 0
    if is_bool(value):
        return 5  # FALSE
    number = number_text(value)
    if number is not None:
        return min(len(number), 11, limit)  # General format: at most 11 characters wide
    widest = 0
    for line in str(value).splitlines() or [""]:
        head = line[:limit]
        width = len(head) + sum(east_asian_width(ch) in "WF" for ch in head)
        widest = max(widest, width)
        if widest >= limit:
            return limit
    return widest
