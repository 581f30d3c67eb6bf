"""The tokenisation patterns a bundle may use: a fixed list in the code, named by the bundle.

Why no pattern from a bundle is ever compiled: a regular expression is code for the regex engine,
and one like ``(a+)+$`` takes exponential time on a short text, so a bundle (even one signed by
a trusted key) could hang every scoring job. A bundle names a pattern (``token_pattern_name``);
bundles written before names existed give the pattern's text (``token_pattern``), which is
accepted only when it is character for character one of the patterns below.
"""

from __future__ import annotations

from typing import Any

# name -> pattern. scikit-learn's default: words of two or more word characters (what the bundled
# models 1.0.0 and 2.0.0 and every training run use).
TOKEN_PATTERNS: dict[str, str] = {"word2plus": r"(?u)\b\w\w+\b"}
DEFAULT_PATTERN_NAME = "word2plus"
NAME_KEY, TEXT_KEY = "token_pattern_name", "token_pattern"


def pattern_name(pattern: str) -> str:
    """The name of a known pattern's text (training writes names); ValueError if unknown."""
    for name, known in TOKEN_PATTERNS.items():
        if known == pattern:
            return name
    raise ValueError(f"token pattern {pattern[:40]!r} is not one this app knows")


def resolve(settings: dict[str, Any]) -> str:
    """The pattern text a block's settings select, from the fixed list only.

    Raises ValueError for an unknown name, an unknown pattern text, or both keys at once."""
    if NAME_KEY in settings and TEXT_KEY in settings:
        raise ValueError(f"give {NAME_KEY} or {TEXT_KEY}, not both")
    if NAME_KEY in settings:
        name = settings[NAME_KEY]
        if not isinstance(name, str) or name not in TOKEN_PATTERNS:
            shown = name[:40] if isinstance(name, str) else name
            raise ValueError(
                f"token pattern name {shown!r} is unknown (known: {', '.join(TOKEN_PATTERNS)})"
            )
        return TOKEN_PATTERNS[name]
    if TEXT_KEY in settings:
        text = settings[TEXT_KEY]
        if not isinstance(text, str):
            raise ValueError(f"{TEXT_KEY} must be a string")
        return TOKEN_PATTERNS[pattern_name(text)]
    return TOKEN_PATTERNS[DEFAULT_PATTERN_NAME]
