"""The label parts of ``evaluate``: the ``--positive`` option and how the label mapping is shown.

The mapping itself (what each value was taken as) is `app.core.analysis.label_mapping`'s; here it is
only printed — always, so no number of ``evaluate`` rests on a mapping the user did not see.
"""

from __future__ import annotations

import argparse
from typing import Any

from app.core.analysis.label_mapping import REJECTED, LabelMapping
from app.core.common.messages import printable


def positive_arg(text: str) -> list[str]:
    """``--positive``: label values meaning abusive, comma-separated, none empty."""
    parts = [part.strip() for part in text.split(",")]
    if not text.strip() or any(not part for part in parts):
        raise argparse.ArgumentTypeError(
            f"expected label values separated by commas, such as 1 or hate,offensive, got {text!r}"
        )
    return parts


def flatten_positive(given: list[list[str]] | None) -> list[str] | None:
    """``--positive a,b c`` → [a, b, c]; None when the option was not given."""
    return [v for group in given for v in group] if given else None


def mapping_json(mapping: LabelMapping | None) -> dict[str, Any]:
    if mapping is None:
        return {}
    return {
        "label_column": mapping.column,
        "label_match": "case-insensitive, each spelling listed",
        "label_mapping": mapping.entries(),
    }


def print_mapping(mapping: LabelMapping | None) -> None:
    """The mapping, one value a line, and on its own line how many rows a label rejected."""
    if mapping is None:
        return
    print(f"labels in column {printable(repr(mapping.column))} ({mapping.match_note()}):")
    for line in mapping.lines():
        print(f"  {printable(line)}")
    by_label = mapping.rows_taken_as(REJECTED)
    if by_label:
        print(
            f"{by_label:,} rows rejected for their label (blank or a no-label marker); "
            "they are not in any number below"
        )
