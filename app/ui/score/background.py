"""Scoring and explaining one text off the GUI thread, for models too slow to do it while typing.

A linear model scores and explains a text in a millisecond or two, so the Score panel does that
on the GUI thread. An encoder (abuse-mini) takes a few milliseconds to score and tens to
explain a long text (every word removed in turn, one batched session call), so with an encoder
active, or as the challenger, the panel hands the work to the pool here: one job at a time, the
newest request waiting behind it (older ones are dropped: only the text now shown matters).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.core.engine.explain import Explanation
from app.core.engine.scoring import Scorer, TextScore
from app.core.engine.shadow import ShadowScore, shadow_score
from app.ui.common.workers import Worker, WorkerPool, run_in_pool


def needs_background(scorer: Scorer | None, challenger: Scorer | None) -> bool:
    """Whether a model involved is an encoder (too slow for the GUI thread)."""
    return any(s is not None and s.engine == "encoder" for s in (scorer, challenger))


@dataclass(frozen=True)
class ScoreRequest:
    """What to score: the models and threshold of the moment, and the text."""

    scorer: Scorer
    challenger: Scorer | None
    text: str
    threshold: float

    def __call__(self, _progress: Any, _cancelled: Any) -> ScoredText:
        started = time.perf_counter()
        result = self.scorer.score_text(self.text, self.threshold)
        explanation = None if result.empty else self.scorer.explain(self.text, top_k=None)
        seconds = time.perf_counter() - started
        shadow = shadow_score(self.challenger, self.text, result)
        return ScoredText(self, result, explanation, shadow, seconds)


@dataclass(frozen=True)
class ScoredText:
    request: ScoreRequest
    result: TextScore
    explanation: Explanation | None
    shadow: ShadowScore | None
    seconds: float  # scoring and explaining (the challenger's shadow score not included)


class BackgroundScorer(QObject):
    """Runs `ScoreRequest`s on the pool, one at a time, the newest waiting behind it."""

    scored = Signal(object)  # ScoredText, on the GUI thread
    failed = Signal(str)

    def __init__(self, pool: WorkerPool, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = pool
        self._worker: Worker | None = None
        self._waiting: ScoreRequest | None = None

    @property
    def busy(self) -> bool:
        return self._worker is not None or self._waiting is not None

    def submit(self, request: ScoreRequest) -> None:
        if self._worker is not None:
            self._waiting = request  # replaces an older waiting request
            return
        self._worker = run_in_pool(
            request,
            self._pool,
            name="scoring a text",
            on_finished=self._on_finished,
            on_failed=self._on_failed,
            on_done=self._on_done,
        )

    def forget(self) -> None:
        """Drop the waiting request and ignore the running one's result (closing)."""
        self._waiting = None
        if self._worker is not None:
            self._worker.cancel()
            self._worker = None

    def _current(self) -> bool:
        return self._worker is not None and self.sender() is self._worker.signals

    def _on_finished(self, scored: ScoredText) -> None:
        if self._current() and self._waiting is None:  # else already out of date
            self.scored.emit(scored)

    def _on_failed(self, message: str) -> None:
        if self._current():
            self.failed.emit(message)

    def _on_done(self) -> None:
        if not self._current():
            return
        self._worker = None
        waiting, self._waiting = self._waiting, None
        if waiting is not None:
            self.submit(waiting)


class ScoreInBackground:
    """The Score panel's side of `BackgroundScorer` (mixed into `ScorePanel`)."""

    # Provided by ScorePanel.
    ctx: Any
    editor: Any
    background: BackgroundScorer
    last_score_ms: float
    _awaiting: bool
    _log_wanted: bool
    _present: Any
    _show_origin: Any
    _show_empty: Any
    log_current: Any

    def _on_scored(self, scored: ScoredText) -> None:
        """A background result: shown if it is still for the text, models and threshold shown
        (else a newer request is on its way)."""
        request, state = scored.request, self.ctx.state
        current = (state.scorer, state.challenger, self.editor.toPlainText(), state.threshold)
        if (request.scorer, request.challenger, request.text, request.threshold) != current:
            return
        self._awaiting = False
        self.last_score_ms = 1000 * scored.seconds
        try:
            self._present(scored.result, scored.explanation, scored.shadow, request.text)
        finally:
            self._show_origin(request.text)
        if self._log_wanted:
            self._log_wanted = False
            self.log_current()

    def _on_failed(self, message: str) -> None:
        self._awaiting = False
        self._show_empty(message)

    def _settle(self) -> None:
        """Score the text shown now, on this thread, if its background result is yet to come
        (closing: the last text is logged with its own score, never the previous text's)."""
        scorer = self.ctx.state.scorer
        if self._awaiting and scorer is not None:
            self.background.forget()
            state, text = self.ctx.state, self.editor.toPlainText()
            self._on_scored(ScoreRequest(scorer, state.challenger, text, state.threshold)(0, 0))
