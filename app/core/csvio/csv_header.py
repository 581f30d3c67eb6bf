"""Duplicate column names made readable: ``text, text`` becomes ``text, text.1`` (pandas' rule).

A name is how a column is chosen (``--text-column``, the automatic rule) and how an export's
header reads, so every name must be unique. The first occurrence keeps its name; later ones get
``.1``, ``.2``... skipping any suffix the header already uses as a real name (``text, text,
text.1`` becomes ``text, text.2, text.1``). The reader applies this once, when it reads the
header, so the preview, the run, the CLI and the GUI and every export see the same names.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.core.common.messages import capped_list, printable

NAMES_SHOWN = 3  # per renamed name: "text → text, text.1, text.2 … and 997 more"
GROUPS_SHOWN = 8  # renamed names listed before "; … and N more names"


def dedupe_header(names: Sequence[str]) -> list[str]:
    """Unique names: repeats suffixed ``.1``, ``.2``... (never a name the header already has)."""
    taken = set(names)
    seen: set[str] = set()
    out: list[str] = []
    for name in names:
        if name not in seen:
            seen.add(name)
            out.append(name)
            continue
        n = 1
        while f"{name}.{n}" in taken:
            n += 1
        unique = f"{name}.{n}"
        taken.add(unique)
        out.append(unique)
    return out


def renamed_note(original: Sequence[str], names: Sequence[str]) -> str:
    """What the reports say of a renaming: ``text → text, text.1; id → id, id.1`` ("" if none).

    Bounded (1,000 repeats of a name read "text → text, text.1, text.2 … and 997 more") and
    escaped: a header name is the file's text, and may hold ESC or a bidi override."""
    groups: dict[str, list[str]] = {}
    for old, new in zip(original, names, strict=True):
        groups.setdefault(old, []).append(new)
    parts = [
        f"{printable(old)} → {printable(capped_list(new, NAMES_SHOWN, quote=False))}"
        for old, new in groups.items()
        if len(new) > 1
    ]
    more = len(parts) - GROUPS_SHOWN
    return "; ".join(parts[:GROUPS_SHOWN]) + (f"; … and {more:,} more names" if more > 0 else "")
