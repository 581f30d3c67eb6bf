"""``score-text -``: the texts to score read from standard input, one per line.

Read before the model loads, so bad input fails first: bytes that are not UTF-8 are one error
line naming standard input (exit 3), never a guess at another encoding. Blank lines are skipped
and counted in a note; a line over the length limit is scored as ``score-text`` scores any long
text (on a truncated copy, marked so).
"""

from __future__ import annotations

import sys
from typing import BinaryIO

from app import APP_NAME
from app.cli.common import say
from app.core.common.errors import InputError

STDIN = "-"


def wants_stdin(texts: list[str]) -> bool:
    """``-`` as the only TEXT means standard input."""
    return texts == [STDIN]


def stdin_refusal(texts: list[str]) -> str | None:
    """``-`` among other texts is ambiguous (a dash to score, or standard input?): a usage error."""
    if STDIN in texts and len(texts) > 1:
        return (
            f"{APP_NAME} score-text: error: '-' (read the texts from standard input) must be "
            f"the only TEXT (see {APP_NAME} score-text --help)"
        )
    return None


def read_stdin_texts(stream: BinaryIO | None = None) -> list[str]:
    """The non-blank lines of `stream` (standard input), without their line ends."""
    raw = (stream or sys.stdin.buffer).read()
    try:
        text = raw.decode("utf-8-sig")  # a BOM from a Windows editor is not part of the text
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(
            f"standard input: line {line}: not valid UTF-8 (byte 0x{raw[exc.start]:02x}); "
            "convert it to UTF-8 first"
        ) from None
    # Only \n (and \r\n) end a line: a form feed or U+2028 inside a text is part of it.
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final line end does not start an empty line
    texts = [line.removesuffix("\r") for line in lines]
    kept = [t for t in texts if t.strip()]
    blank = len(texts) - len(kept)
    if not kept:
        raise InputError(f"standard input: no text to score ({blank:,} blank lines)")
    if blank:
        say(f"{APP_NAME}: note: standard input: {blank:,} blank lines skipped, not scored")
    return kept
