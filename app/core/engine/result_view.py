"""One text's result as the user sees it outside the app: the JSON a `score-text --json` result
and the Score panel's "Copy as JSON" share (same keys, built once here), the readable block of
"Copy result", and the fixed scale that turns a term's share of the logit into a tint.

The tint scale is fixed (`FULL_TINT_LOGIT`), not relative to the strongest term of each text, so
the same share looks the same in every text; the sign is also given by a symbol (`sign_symbol`)
for readers who cannot tell the two colours apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.core.common.messages import fmt_score, fmt_threshold
from app.core.engine.explain import SHARES, TermContribution
from app.core.engine.occlusion import OCCLUSION
from app.core.engine.scoring import TextScore

FULL_TINT_LOGIT = 2.0  # a share of ±2.0 logit (or more) gets the full tint
MIN_TINT_LOGIT = 0.1  # smaller shares stay plain: a symbol on every "a" and "the" is noise
RAISES, LOWERS = "▲", "▼"
EXCERPT_CHARS = 200
# What an explanation's numbers are, in words: the terms table's header, the note beside it
# (an encoder's effects only), and the heading of the terms in a copied or printed result.
TERMS_HEADER = {SHARES: "share of score (logit)", OCCLUSION: "what the word adds (logit)"}
OCCLUSION_NOTE = (
    "occlusion: what each word adds (the logit with it minus without it); effects do not add up"
)
_TERMS_HEADING = {
    SHARES: "Top terms (share of the score, logit; ▲ raises, ▼ lowers):",
    OCCLUSION: f"Top terms ({OCCLUSION_NOTE}; logit; ▲ raises, ▼ lowers):",
}


def terms_header(method: str) -> str:
    """The header of a terms table's number column for an explanation ``method``."""
    return TERMS_HEADER.get(method, TERMS_HEADER[SHARES])


def method_note(method: str) -> str:
    """The one line said beside an explanation's terms: "" for shares (they add up)."""
    return OCCLUSION_NOTE if method == OCCLUSION else ""


def tint_strength(contribution: float) -> float:
    """0..1: how strongly a term's share is tinted, on the one scale every text uses."""
    return min(1.0, abs(contribution) / FULL_TINT_LOGIT)


def sign_symbol(contribution: float) -> str:
    return RAISES if contribution > 0 else LOWERS


def signed_share(contribution: float) -> str:
    """ "▲ +0.412" / "▼ −0.087": the sign as a symbol and as a (typographic) minus."""
    return f"{sign_symbol(contribution)} {contribution:+.3f}".replace("-", "\u2212")


def result_json(
    result: TextScore, terms: Sequence[TermContribution] | None = None, method: str = SHARES
) -> dict[str, Any]:
    """One scored text as `score-text --json` lists it under "results" (and the GUI copies it):
    the score's fields, plus "terms" (display term and signed logit contribution) and
    "explanation" (how they were measured: "shares" or "occlusion") when explained."""
    row: dict[str, Any] = result.as_dict()
    if terms is not None and result.score is not None:
        row["terms"] = [{"term": t.display, "contribution": t.contribution} for t in terms]
        row["explanation"] = method
    return row


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The text on one line (runs of whitespace folded), cut at `limit` characters with "…"."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def result_text(
    text: str,
    result: TextScore,
    model_version: str,
    terms: Sequence[TermContribution],
    extra_lines: Sequence[str] = (),
    method: str = SHARES,
) -> str:
    """The readable block "Copy result" puts on the clipboard (for a ticket or an e-mail)."""
    lines = [
        f"Text: {excerpt(text)}",
        f"Score: {fmt_score(result.score)} (probability abusive)",
        f"Label: {result.label}",
        f"Threshold: {fmt_threshold(result.threshold)}",
        f"Model: {model_version}",
    ]
    if result.truncated:
        lines.append(f"Note: long text ({result.chars:,} characters); only its start was scored")
    lines.extend(extra_lines)
    if terms:
        lines.append(_TERMS_HEADING.get(method, _TERMS_HEADING[SHARES]))
        lines.extend(f"  {signed_share(t.contribution)}  {t.display}" for t in terms)
    return "\n".join(lines)
