"""The colours that mean the same thing on every panel: passed (green), failed or refused (red)."""

from __future__ import annotations

OK_COLOUR, FAIL_COLOUR = "#1b7f3b", "#b3261e"
