"""The Score panel's copies: "Copy result" (a readable block) and "Copy as JSON" (the keys of
``score-text --json``, from `app.core.engine.result_view`).

A mixin of `ScorePanel`: it reads the shown result, explanation and challenger line.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtGui import QGuiApplication

from app.core.engine.explain import SHARES
from app.core.engine.result_view import result_json, result_text


class ScoreCopy:
    """Copy result / Copy as JSON (mixed into `ScorePanel`)."""

    # Provided by ScorePanel.
    ctx: Any
    result: Any
    explanation: Any
    shadow: Any
    editor: Any
    _top_terms: Any

    def result_summary(self) -> dict[str, Any]:
        """The shown result as JSON: a `score-text --json` result's keys, plus the model version
        (top-level there) and the challenger's view when one is set."""
        if self.result is None or self.result.empty or self.explanation is None:
            return {"score": None, "label": "empty"}
        return {
            **result_json(self.result, self._top_terms(), self.explanation.method),
            "model_version": self.ctx.state.scorer.version_label,
            **({"challenger": self.shadow.as_dict()} if self.shadow is not None else {}),
        }

    def result_block(self) -> str:
        """The shown result as a readable block (what "Copy result" copies)."""
        if self.result is None or self.result.empty:
            return "Nothing scored: the text is empty."
        return result_text(
            self.editor.toPlainText(),
            self.result,
            self.ctx.state.scorer.version_label,
            self._top_terms(),
            [self.shadow.line()] if self.shadow is not None else [],
            self.explanation.method if self.explanation is not None else SHARES,
        )

    def copy_result(self) -> None:
        QGuiApplication.clipboard().setText(self.result_block())

    def copy_json(self) -> None:
        QGuiApplication.clipboard().setText(
            json.dumps(self.result_summary(), indent=2, ensure_ascii=False)
        )
