"""The drill-down banner's words (`app.core.common.drill`): where a row came from, and every way
the number the Score panel shows differs from the one shown there."""

from __future__ import annotations

import math

from app.core.common.drill import BATCH, RowOrigin, RowSource, origin_banner

SOURCE = RowSource("log.csv", "abuse-lr 1.0.0", 0.45, key=3)


def _origin(score: float | None = 0.8123, text: str = "you idiot") -> RowOrigin:
    return RowOrigin(BATCH, SOURCE, 41, 1_042, text, score)


def test_the_same_model_text_and_threshold_only_say_where_from():
    assert origin_banner(_origin(), "you idiot", "abuse-lr 1.0.0", 0.8123, 0.45) == (
        "From log.csv, line 1,042."
    )
    blank = _origin(math.nan, "   ")  # a blank text has no score there nor here
    assert origin_banner(blank, "   ", "abuse-lr 1.0.0", None, 0.45) == "From log.csv, line 1,042."


def test_every_difference_is_said():
    text = origin_banner(_origin(), "you idiot", "abuse-lr 2.0.0", 0.9, 0.5)
    assert text == (
        "From log.csv, line 1,042. The model changed: abuse-lr 1.0.0 scored it 0.812 there; "
        "shown here is the active model abuse-lr 2.0.0. Labelled at 0.45 there, at 0.50 here."
    )
    # the same model but another number (never expected): both numbers, not silence
    assert origin_banner(_origin(), "you idiot", "abuse-lr 1.0.0", 0.7, 0.45) == (
        "From log.csv, line 1,042. The results show 0.812; here it scores 0.700."
    )


def test_an_edited_text_is_no_longer_the_row():
    assert origin_banner(_origin(), "you idiot!", "abuse-lr 1.0.0", 0.85, 0.45) == (
        "Edited: no longer the text of log.csv, line 1,042."
    )
    unknown_line = RowOrigin(BATCH, SOURCE, 0, None, "a", 0.1)
    assert origin_banner(unknown_line, "a", "abuse-lr 1.0.0", 0.1, 0.45) == "From log.csv."
