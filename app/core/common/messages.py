"""Messages fit for one line of a terminal: folded, escaped, capped, with honest numbers.

Every CLI failure is one line (`one_line`) of at most `MAX_CHARS` characters: newlines and other
controls are folded so a hostile file name or cell cannot add lines or rewrite the terminal, a
too-long path is shortened in the middle so the reason after it still fits, and a list of
columns is cut with "… and N more" (`capped_list`). `printable` escapes a text echoed back to
the terminal; `fmt_number` prints thresholds and scores without "-0" and without rounding a
0.999999 up to "1.00"; `fmt_score` shows a probability to three decimals, "> 0.999" / "< 0.001"
at the ends.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

MAX_CHARS = 300
ELLIPSIS = "…"
# C0/C1 controls, DEL, line/paragraph separators and the bidirectional controls that let a text
# reorder what the terminal shows ("Trojan Source"): none may reach the terminal as is. Lone
# surrogates too: an argument's or a file's invalid byte 0xNN arrives as U+DC00+NN (Python's
# surrogate escape, the app's ESCAPE_ERRORS) and would be written back out as the raw byte, so
# a 0x9B (the one-byte CSI) could drive the terminal.
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_ESCAPED_BYTES = range(0xDC00, 0xDD00)  # U+DCNN stands for the undecodable byte 0xNN
_FOLD = re.compile("[\r\n\t\x0b\x0c\x1c-\x1e\x85\u2028\u2029]+")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code in _ESCAPED_BYTES:
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """`text` with every control and bidi character escaped (\\x1b, \\r, \\u202e), and every
    undecodable byte shown as \\xNN: what the terminal shows is exactly what the text holds."""
    return _UNSAFE.sub(_escape, text)


def shorten_middle(text: str, limit: int) -> str:
    """`text` cut to `limit` characters by replacing its middle with "…" (keeps both ends of a
    path: the folder it is in and the file name)."""
    if len(text) <= limit:
        return text
    if limit <= 1:
        return ELLIPSIS[:limit]
    head = (limit - 1) // 2
    tail = limit - 1 - head
    return text[:head] + ELLIPSIS + (text[-tail:] if tail else "")


def one_line(message: str, limit: int = MAX_CHARS) -> str:
    """`message` as one line of at most `limit` characters.

    Line breaks and tabs fold to one space, other controls are escaped. If the line is too long,
    its longest words (paths, usually) are shortened in the middle first, so the reason around
    them survives; only then is the end cut with "…".
    """
    text = printable(_FOLD.sub(" ", message).strip())
    while len(text) > limit:
        words = text.split(" ")
        longest = max(range(len(words)), key=lambda i: len(words[i]))
        excess = len(text) - limit
        keep = max(len(words[longest]) - excess, 24)
        if keep >= len(words[longest]):
            break
        words[longest] = shorten_middle(words[longest], keep)
        text = " ".join(words)
    if len(text) > limit:
        text = text[: limit - 1] + ELLIPSIS
    return text


def capped_list(items: Iterable[object], limit: int = 8, *, quote: bool = True) -> str:
    """Comma-separated items (repr-quoted by default), the first `limit` of them, then
    "… and N more": a header of 20,000 columns must not become a 500 KB message."""
    values = list(items)
    shown = [repr(str(v)) if quote else str(v) for v in values[:limit]]
    text = ", ".join(shorten_middle(s, 40) for s in shown)
    if len(values) > limit:
        text += f" {ELLIPSIS} and {len(values) - limit:,} more"
    return text


def fmt_number(value: float | None, digits: int = 4) -> str:
    """`value` with `digits` decimals, as long as that does not lie: "-0" prints as "0", and a
    value that rounding would turn into a different end of the scale (0.999999 → "1.0000",
    1e-7 → "0.0000") is printed in full instead. None and NaN print as "n/a"."""
    if value is None or math.isnan(value):
        return "n/a"
    if value == 0:
        return f"{0.0:.{digits}f}"  # also -0.0
    text = f"{value:.{digits}f}"
    if float(text) in (0.0, 1.0, -1.0) and float(text) != value:
        text = repr(float(value))
    return text.lstrip("-") if float(text) == 0 else text


def fmt_threshold(value: float, max_decimals: int | None = None) -> str:
    """A threshold, written alike everywhere (GUI and CLI text; JSON keeps the number): two
    decimals ("0.45", "0.50", "1.00") or as many more as it takes to read back as the same
    number ("0.999999"), so no threshold is shown rounded to a different one. Never "-0.00".

    `max_decimals` caps the decimals where a control holds no more (the Threshold panel's spin
    box: 4), and a finder's exact threshold (0.98905548...) then reads "0.9891"."""
    value = float(value)
    if not math.isfinite(value):
        return str(value)
    if value == 0:
        value = 0.0  # no "-0.00"
    last = 17 if max_decimals is None else max(2, max_decimals)
    for decimals in range(2, last + 1):
        text = f"{value:.{decimals}f}"
        if float(text) == value:
            return text
    return f"{value:.{last}f}" if max_decimals is not None else repr(value)


def fmt_score(value: float | None, digits: int = 3) -> str:
    """A probability with `digits` decimals that never claims more certainty than it has: above
    1 - 10**-digits it reads "> 0.999" (not "1.000"), below 10**-digits "< 0.001" (not "0.000").
    None and NaN print as "n/a"."""
    if value is None or math.isnan(value):
        return "n/a"
    step = 10.0**-digits
    if value > 1 - step:
        return f"> {1 - step:.{digits}f}"
    if value < step:
        return f"< {step:.{digits}f}"
    return f"{value:.{digits}f}"
