"""Free text on a fixed page: measured, wrapped and bounded, so no text a user typed can push the
numbers of a report off its page.

Widths are measured with the font the page draws with (matplotlib's own text layout, per
character and cached), summed: a line never reaches past the width given. A run with no space
(1,999 x's, a URL, emoji) is broken between characters. Controls and bidi marks are escaped
first (`printable`), and the text's own line breaks are kept.
"""

from __future__ import annotations

from functools import lru_cache

from matplotlib.font_manager import FontProperties
from matplotlib.textpath import TextToPath

from app.core.common.messages import ELLIPSIS, printable

_MEASURE = TextToPath()


@lru_cache(maxsize=4096)
def _char_width(ch: str, fname: str, size: float) -> float:
    prop = FontProperties(fname=fname, size=size)
    width, _, _ = _MEASURE.get_text_width_height_descent(ch, prop, ismath=False)
    return float(width) * 1.02  # a little slack for hinting and rounding in the renderer


def text_width(text: str, font: FontProperties) -> float:
    """The width of ``text`` in points, drawn in ``font``."""
    fname, size = str(font.get_file()), float(font.get_size_in_points())
    return sum(_char_width(ch, fname, size) for ch in text)


def _break_word(word: str, width: float, font: FontProperties) -> list[str]:
    """``word`` cut between characters into pieces no wider than ``width``."""
    pieces, current = [], ""
    for ch in word:
        if current and text_width(current + ch, font) > width:
            pieces.append(current)
            current = ""
        current += ch
    return [*pieces, current] if current else pieces


def wrap(text: str, width: float, font: FontProperties) -> list[str]:
    """``text`` (escaped by `printable`) as lines no wider than ``width`` points, its own line
    breaks kept; words wider than a line are broken between characters."""
    space = text_width(" ", font)
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        current, used = "", 0.0
        for word in printable(paragraph).split():
            w = text_width(word, font)
            if current and used + space + w <= width:
                current, used = f"{current} {word}", used + space + w
                continue
            if current:
                lines.append(current)
            if w > width:
                *full, current = _break_word(word, width, font)
                lines.extend(full)
                used = text_width(current, font)
            else:
                current, used = word, w
        lines.append(current)
    return lines


def bounded(lines: list[str], limit: int, total_chars: int) -> list[str]:
    """At most ``limit`` lines; if some are left out, the last one says so (``limit`` >= 1)."""
    if len(lines) <= limit:
        return lines
    more = f"{ELLIPSIS} (continued: the full text is in the record, {total_chars:,} characters)"
    return [*lines[: limit - 1], more]


def fit_line(text: str, width: float, font: FontProperties) -> str:
    """``text`` (escaped) on one line no wider than ``width``: cut at the end with "…"."""
    text = printable(text)
    if text_width(text, font) <= width:
        return text
    while text and text_width(text + ELLIPSIS, font) > width:
        text = text[: max(0, len(text) - max(1, len(text) // 8))]
    return text + ELLIPSIS
