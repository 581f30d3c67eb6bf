"""The colours that mean the same thing on every panel: passed (green), failed or refused (red),
and the current appearance (theme and font scale, set by ``app.ui.shell.appearance``) that
panels and plots read when they build or restyle themselves.

The constants are the light theme's; ``ok_colour()`` / ``fail_colour()`` / ``muted_colour()``
give the colour readable on the current theme's background (a dark red on black is not).
"""

from __future__ import annotations

OK_COLOUR, FAIL_COLOUR = "#1b7f3b", "#b3261e"
MUTED_COLOUR = "#555555"
WARN_COLOUR, _WARN_DARK = "#8a5a00", "#ffcc66"
# (ok, fail, muted) on a dark or a black background: light tints keep >= 4.5:1 contrast.
_DARK = {
    "dark": ("#7bd88f", "#ff8a80", "#bbbbbb"),
    "high_contrast": ("#00ff7f", "#ff6e6e", "#ffffff"),
}

_appearance = {"theme": "system", "scale": 1.0}


def set_appearance(theme: str, scale: float) -> None:
    _appearance.update(theme=theme, scale=scale)


def theme() -> str:
    return str(_appearance["theme"])


def ui_scale() -> float:
    """The user's font-size preference as a factor (1.0 = 100 %): hard-coded sizes multiply it."""
    return float(_appearance["scale"])


def is_dark() -> bool:
    return theme() in _DARK


def ok_colour() -> str:
    return _DARK[theme()][0] if is_dark() else OK_COLOUR


def fail_colour() -> str:
    return _DARK[theme()][1] if is_dark() else FAIL_COLOUR


def muted_colour() -> str:
    return _DARK[theme()][2] if is_dark() else MUTED_COLOUR


def warn_colour() -> str:
    """A caution (amber) readable on the current background."""
    return _WARN_DARK if is_dark() else WARN_COLOUR


def muted_style() -> str:
    """The stylesheet of secondary text (notes, captions) on the current theme."""
    return f"color: {muted_colour()};"


def error_style() -> str:
    """The stylesheet of an inline error message on the current theme."""
    return f"color: {fail_colour()};"
