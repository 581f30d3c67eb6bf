"""The Score panel's activity-log side: one event per text the user settles on, and the
paste-scoring spam guard's count (see `app.ui.score.panel`).

A mixin of `ScorePanel`: it reads the shown result, challenger and text.
"""

from __future__ import annotations

from typing import Any

from app.core.common.limits import suppressed_note


class ScoreLog:
    """log_current / flush_suppressed (mixed into `ScorePanel`)."""

    # Provided by ScorePanel.
    ctx: Any
    editor: Any
    result: Any
    shadow: Any
    rate_guard: Any
    rate_notice: Any
    _log_timer: Any
    _logged_text: str | None
    _suppressed_text: str | None
    _awaiting: bool
    _log_wanted: bool
    _settle: Any

    def log_current(self, *, force: bool = False) -> None:
        """One activity event for the text now shown (not again if it was already logged).

        Above the rate limit the text is counted instead (once), and the count goes with the
        next logged event; ``force`` (used at shutdown) logs regardless of the limit.
        """
        self._log_timer.stop()
        if self._awaiting:  # the result shown is an older text's
            if not force:
                self._log_wanted = True  # logged when the text's own result comes
                return
            self._settle()
        text = self.editor.toPlainText()
        if self.result is None or self.result.empty or text == self._logged_text:
            return
        if text == self._suppressed_text and not force:
            return  # already counted: a second Ctrl+Enter does not count it twice
        if force:
            self.rate_guard.force()
        elif not self.rate_guard.allow():
            self._suppressed_text = text
            self._show_rate_notice()
            return
        if text == self._suppressed_text:  # forced after being counted: now logged instead
            self.rate_guard.suppressed = max(0, self.rate_guard.suppressed - 1)
        suppressed = self.rate_guard.take_suppressed()
        detail = f"{self.result.label}; {self.result.chars:,} chars"
        detail += "; truncated" if self.result.truncated else ""
        detail += f"; {self.shadow.detail()}" if self.shadow is not None else ""
        detail += f"; {suppressed_note(suppressed)}" if suppressed else ""
        self.ctx.log(
            "score_text",
            text=text,
            score=self.result.score,
            detail=detail,
            counts={"suppressed_since_last": suppressed} if suppressed else None,
        )
        self._logged_text, self._suppressed_text = text, None
        self.rate_notice.hide()

    def _show_rate_notice(self) -> None:
        guard = self.rate_guard
        wait = guard.seconds_until_free()
        self.rate_notice.setText(
            f"Activity log limit ({guard.per_window} texts a minute) reached: "
            f"{suppressed_note(guard.suppressed)}. The next logged text records the count"
            + (f" (logging resumes in about {wait:.0f} s)." if wait >= 1 else ".")
        )
        self.rate_notice.show()

    def flush_suppressed(self) -> None:
        """Record a pending suppressed count now, as a summary event without a text."""
        suppressed = self.rate_guard.take_suppressed()
        if not suppressed:
            return
        self.rate_guard.force()
        self.ctx.log(
            "score_text",
            detail=suppressed_note(suppressed),
            counts={"suppressed_since_last": suppressed},
        )
        self._suppressed_text = None
        self.rate_notice.hide()
