"""Shadow scoring of one text by the challenger: its result beside the active model's.

The challenger never decides anything; this only says what it would have said and whether that
agrees with the active model (same text, same threshold, same rule `scoring.label_for`), in the
words the Score panel shows, the activity log records and the copied result carries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.core.common.messages import fmt_score
from app.core.engine.scoring import Scorer, TextScore


@dataclass(frozen=True)
class ShadowScore:
    version: str  # the challenger's version label
    result: TextScore  # never empty: there is no shadow score of an empty text
    agrees: bool  # same label as the active model at the same threshold

    @property
    def verdict(self) -> str:
        return "agrees" if self.agrees else "disagrees"

    def line(self) -> str:
        """For people: "Challenger tiny 0.0.1: 0.621 · abusive — agrees"."""
        assert self.result.score is not None
        score, label = self.result.score, self.result.label
        return f"Challenger {self.version}: {fmt_score(score)} · {label} — {self.verdict}"

    def detail(self) -> str:
        """For the activity log's detail: "challenger tiny 0.0.1 score 0.6210 abusive"."""
        assert self.result.score is not None
        return f"challenger {self.version} score {self.result.score:.4f} {self.result.label}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "model_version": self.version,
            "score": self.result.score,
            "label": self.result.label,
            "agrees": self.agrees,
            "summary": self.line(),
        }


def shadow_score(challenger: Scorer | None, text: str, active: TextScore) -> ShadowScore | None:
    """The challenger's score of `text` at the active result's threshold, or None if there is
    no challenger or nothing to compare (an empty text)."""
    if challenger is None or active.empty:
        return None
    result = challenger.score_text(text, active.threshold)
    if result.empty:
        return None
    return ShadowScore(challenger.version_label, result, result.label == active.label)
