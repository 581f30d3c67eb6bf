"""The Score panel (the original service's /predict): type or paste, see the score as you type.

Scoring is debounced (about 150 ms after the last keystroke) and takes a millisecond or two for
ordinary texts with a linear model, so it runs on the GUI thread without ever holding up typing;
with an encoder (abuse-mini) active or as the challenger it runs on the pool instead
(`app.ui.score.background`), and its explanation (occlusion effects, which do not add up) is
labelled as such above the terms. Each text the user
settles on is one activity event: the log is written when typing has paused for ``LOG_IDLE_MS``
(or at once with Ctrl+Enter), so a sentence typed letter by letter is not logged forty times.

Paste-scoring spam guard: at most ``Limits.max_logged_texts_per_minute`` texts a minute go to
the log individually. Beyond that a `RateGuard` counts them and a notice says so; the next logged
event carries the count (``counts["suppressed_since_last"]`` and a note in its detail), and
closing the panel records any count still pending, so no scored text goes unaccounted for.

With a challenger set, a line under the result says what it scores and whether it agrees; it
decides nothing, and is recorded in the settled text's event detail and the copied result.

"Copy result" copies a readable block (for a ticket); "Copy as JSON" the result with the keys of a
`score-text --json` result (both built by `app.core.engine.result_view`), plus the model version.

A Batch row or a matrix cell's item opened here (`show_row`) is scored like typed text, under a
banner naming its file and line and saying if the number differs from the one shown there (see
`app.core.common.drill`); "Back" (or Alt+Left) asks the window to return to it. Editing the text
keeps the way back but says it is no longer that row's text; clearing it drops the banner.
"""

from __future__ import annotations

import time
import weakref
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.core.common.drill import RowOrigin
from app.core.common.limits import Limits, RateGuard
from app.core.common.messages import fmt_score, fmt_threshold
from app.core.context.state import ACTIVE_SCORER, CHALLENGER, THRESHOLD, AppContext
from app.core.engine.explain import SHARES, Explanation, TermContribution
from app.core.engine.result_view import method_note, signed_share, terms_header
from app.core.engine.scoring import TextScore
from app.core.engine.shadow import ShadowScore, shadow_score
from app.ui.common.colours import muted_colour, ui_scale, warn_colour
from app.ui.common.workers import WorkerPool
from app.ui.score.background import (
    BackgroundScorer,
    ScoreInBackground,
    ScoreRequest,
    needs_background,
)
from app.ui.score.copy import ScoreCopy
from app.ui.score.log import ScoreLog
from app.ui.score.widgets import (
    ABUSIVE_COLOUR,
    BENIGN_COLOUR,
    ChallengerLine,
    OriginBanner,
    ScoreGauge,
    highlighted_html,
    legend_html,
)

DEBOUNCE_MS = 150
LOG_IDLE_MS = 2_000
TOP_TERMS = 12


class ScorePanel(ScoreCopy, ScoreLog, ScoreInBackground, QWidget):
    title = "Score"
    back_requested = Signal(object)  # RowOrigin of the shown row: return to it

    def __init__(
        self,
        ctx: AppContext,
        pool: WorkerPool,
        parent: QWidget | None = None,
        rate_guard: RateGuard | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        per_minute = Limits.from_settings(ctx.settings).max_logged_texts_per_minute
        self.rate_guard = rate_guard or RateGuard(per_minute)
        self._suppressed_text: str | None = None  # the last text counted instead of logged
        self.result: TextScore | None = None
        self.shadow: ShadowScore | None = None  # the challenger's view of the same text
        self.explanation: Explanation | None = None
        self.last_score_ms = 0.0  # compute time of the last update, for the Session figures
        self._warm: weakref.WeakSet[Any] = weakref.WeakSet()  # scorers that scored a text here
        self._logged_text: str | None = None
        self.origin: RowOrigin | None = None  # the row whose text is shown, if opened from one
        self.background = BackgroundScorer(pool, self)  # an encoder's scoring, off this thread
        self.background.scored.connect(self._on_scored)
        self.background.failed.connect(self._on_failed)
        self._awaiting = False  # a background result for the text shown is still to come
        self._log_wanted = False  # logging was asked for meanwhile: done when it comes
        self._build()
        self._debounce = QTimer(
            self, singleShot=True, interval=DEBOUNCE_MS, objectName="scoreDebounce"
        )
        self._debounce.timeout.connect(self.score_now)
        self._log_timer = QTimer(
            self, singleShot=True, interval=LOG_IDLE_MS, objectName="scoreLogIdle"
        )
        self._log_timer.timeout.connect(self.log_current)
        self.editor.textChanged.connect(self._debounce.start)
        QShortcut(QKeySequence("Ctrl+Return"), self, activated=self._score_and_log)
        QShortcut(QKeySequence("Alt+Left"), self, activated=self.go_back,
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)  # fmt: skip
        self._unsubscribe = ctx.state.observe(self._on_state, None)
        self.score_now()

    # --- layout ---------------------------------------------------------------------------
    def _build(self) -> None:
        self.editor = QPlainTextEdit()
        self.editor.setAccessibleName("Text to score")
        self.editor.setPlaceholderText("Paste or type text here; the score updates as you type.")
        self.editor.setFont(QFont(self.font().family(), round(12 * ui_scale())))
        self.editor.setTabChangesFocus(True)  # keyboard users leave it with Tab (no trap)
        self.notice = QLabel()
        self.notice.setObjectName("scoreNotice")
        self.notice.setWordWrap(True)
        self.rate_notice = QLabel()
        self.rate_notice.setObjectName("scoreRateNotice")
        self.rate_notice.setWordWrap(True)
        self.rate_notice.setStyleSheet(f"color: {warn_colour()};")
        self.rate_notice.hide()

        self.score_label = QLabel("–")
        self.score_label.setObjectName("scoreValue")
        big = QFont(self.font())
        big.setPointSizeF(30 * ui_scale())  # the user's font-size preference
        big.setBold(True)
        self.score_label.setFont(big)
        self.verdict = QLabel()
        self.verdict.setObjectName("scoreVerdict")
        self.verdict.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.verdict.setMinimumWidth(120)
        self.score_label.setAccessibleName("Score")
        self.verdict.setAccessibleName("Verdict")
        self.gauge = ScoreGauge()
        self.copy_button = QPushButton("Copy result")
        self.copy_button.setToolTip("Copy the text excerpt, score, label, model and top terms")
        self.copy_button.clicked.connect(self.copy_result)
        self.copy_json_button = QPushButton("Copy as JSON")
        self.copy_json_button.setToolTip("Copy the result with the keys of score-text --json")
        self.copy_json_button.clicked.connect(self.copy_json)
        self.model_line = QLabel()
        self.model_line.setStyleSheet(f"color: {muted_colour()};")
        self.challenger_line = ChallengerLine()

        headline = QHBoxLayout()
        headline.addWidget(self.score_label)
        headline.addWidget(self.verdict)
        headline.addStretch(1)
        headline.addWidget(self.copy_button)
        headline.addWidget(self.copy_json_button)

        self.highlight = QTextBrowser()
        self.highlight.setAccessibleName("Text with term tints (abusive ▲, benign ▼)")
        self.highlight.setObjectName("scoreHighlight")
        self.highlight.setPlaceholderText(
            "Words that raise the score are tinted orange (▲), words that lower it blue (▼)."
        )
        self.legend = QLabel(legend_html())
        self.legend.setObjectName("scoreLegend")
        self.legend.setWordWrap(True)
        self.legend.setAccessibleName("Tint legend")
        self.terms = QTableWidget(0, 2)
        self.terms.setAccessibleName("Top terms and their contributions")
        self.terms.setHorizontalHeaderLabels(["term", terms_header(SHARES)])
        self.terms.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.terms.horizontalHeader().setSectionResizeMode(
            1, QHeaderView.ResizeMode.ResizeToContents
        )
        self.terms.verticalHeader().setVisible(False)
        self.terms.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)

        left = QVBoxLayout()
        left.addWidget(QLabel("<b>Text</b>"))
        left.addWidget(self.editor, 3)
        left.addWidget(self.notice)
        left.addWidget(self.rate_notice)
        left.addWidget(QLabel("<b>Why</b> — the text with the words that moved the score"))
        left.addWidget(self.highlight, 2)
        left.addWidget(self.legend)
        right = QVBoxLayout()
        right.addWidget(QLabel("<b>Probability abusive</b>"))
        right.addLayout(headline)
        right.addWidget(self.gauge)
        right.addWidget(self.model_line)
        right.addWidget(self.challenger_line)
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        right.addWidget(line)
        right.addWidget(QLabel(f"<b>Top terms</b> (up to {TOP_TERMS}, strongest first)"))
        self.method_note = QLabel()  # what the numbers are when they are not shares
        self.method_note.setObjectName("scoreMethodNote")
        self.method_note.setAccessibleName("How the terms were measured")
        self.method_note.setWordWrap(True)
        self.method_note.setStyleSheet(f"color: {muted_colour()};")
        self.method_note.hide()
        right.addWidget(self.method_note)
        right.addWidget(self.terms, 1)

        left_widget, right_widget = QWidget(), QWidget()
        left_widget.setLayout(left)
        right_widget.setLayout(right)
        splitter = QSplitter()
        splitter.addWidget(left_widget)
        splitter.addWidget(right_widget)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        self.origin_banner = OriginBanner()
        self.origin_banner.back_requested.connect(self.go_back)
        outer = QVBoxLayout(self)
        outer.addWidget(self.origin_banner)
        outer.addWidget(splitter, 1)

    # --- behaviour ------------------------------------------------------------------------
    def _on_state(self, name: str, _value: Any) -> None:
        if name in (THRESHOLD, ACTIVE_SCORER, CHALLENGER):
            self.score_now()  # a new model scores from the next update; a threshold relabels

    def show_row(self, origin: RowOrigin) -> None:
        """Score and explain a row opened from Batch or Threshold, under its banner."""
        self.origin = origin
        self.editor.setPlainText(origin.text)
        self._debounce.stop()
        self.score_now()
        self.editor.setFocus()

    def go_back(self) -> None:
        if self.origin is not None:
            self.back_requested.emit(self.origin)

    def _show_origin(self, text: str) -> None:
        """The banner for the row shown, or none: none once the text is cleared."""
        scorer, origin = self.ctx.state.scorer, self.origin
        if origin is not None and not text:
            self.origin = origin = None
        if origin is None or scorer is None:
            self.origin_banner.hide()
        else:
            score = None if self.result is None else self.result.score
            self.origin_banner.show_origin(
                origin, text, scorer.version_label, score, self.ctx.state.threshold
            )

    def score_now(self) -> None:
        try:
            self._score_now()
        finally:
            if not self._awaiting:  # else with its result: the banner compares the scores
                self._show_origin(self.editor.toPlainText())

    def _score_now(self) -> None:
        scorer = self.ctx.state.scorer
        text = self.editor.toPlainText()
        threshold = self.ctx.state.threshold
        if scorer is None:
            self._show_empty("Loading model…")
            return
        self.model_line.setText(
            f"Model {scorer.version_label} · threshold {fmt_threshold(threshold)}"
        )
        challenger = self.ctx.state.challenger
        if text.strip() and needs_background(scorer, challenger):
            self._awaiting = True
            self.background.submit(ScoreRequest(scorer, challenger, text, threshold))
            return
        self._awaiting = False
        started = time.perf_counter()
        result = scorer.score_text(text, threshold)
        explanation = None if result.empty else scorer.explain(text, top_k=None)
        self.last_score_ms = 1000 * (time.perf_counter() - started)
        self._present(result, explanation, shadow_score(challenger, text, result), text)

    def _present(
        self,
        result: TextScore,
        explanation: Explanation | None,
        shadow: ShadowScore | None,
        text: str,
    ) -> None:
        scorer = self.ctx.state.scorer
        self.result, self.explanation, self.shadow = result, explanation, shadow
        if result.empty or explanation is None:
            self._show_empty("Empty text: nothing to score." if text else "")
            return
        # A model's first text loads its explanation code (about a second, once): counted, but
        # kept out of the latency figures, which measure scoring and explaining a text.
        warmup = scorer not in self._warm
        self._warm.add(scorer)
        self.ctx.session.record_text(
            self.last_score_ms / 1000, result.label == "abusive", warmup=warmup
        )
        self._show(result, explanation, text)
        self._log_timer.start()

    def _show_empty(self, notice: str) -> None:
        self.score_label.setText("–")
        self.score_label.setStyleSheet("color: #aaa;")
        self.verdict.setText("")
        self.verdict.setStyleSheet("")
        self.gauge.set_values(None, self.ctx.state.threshold)
        self.highlight.clear()
        self.terms.setRowCount(0)
        self.method_note.hide()
        self.notice.setText(notice)
        self.challenger_line.show_shadow(None)  # nothing to compare
        self._log_timer.stop()

    def _show(self, result: TextScore, explanation: Explanation, text: str) -> None:
        assert result.score is not None
        abusive = result.label == "abusive"
        colour = ABUSIVE_COLOUR if abusive else BENIGN_COLOUR
        self.score_label.setText(fmt_score(result.score))
        self.score_label.setStyleSheet("")
        self.verdict.setText("ABUSIVE" if abusive else "BENIGN")
        self.verdict.setStyleSheet(
            f"background: {colour.name()}; color: white; font-weight: bold; padding: 6px 12px; border-radius: 6px;"
        )
        self.gauge.set_values(result.score, result.threshold)
        self.challenger_line.show_shadow(self.shadow)
        scorer = self.ctx.state.scorer
        self.notice.setText(
            f"Long text ({result.chars:,} characters): {scorer.truncation_note}."
            if result.truncated
            else ""
        )
        self.highlight.setHtml(highlighted_html(text[: scorer.max_chars], explanation))
        self._show_method(explanation.method)
        top = explanation.terms[:TOP_TERMS]
        self.terms.setRowCount(len(top))
        for row, term in enumerate(top):
            self.terms.setItem(row, 0, QTableWidgetItem(term.display))
            share = QTableWidgetItem(signed_share(term.contribution))
            share.setForeground(ABUSIVE_COLOUR if term.contribution > 0 else BENIGN_COLOUR)
            share.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.terms.setItem(row, 1, share)

    def _show_method(self, method: str) -> None:
        """The terms' header, note and legend for how they were measured (shares: as always)."""
        header = self.terms.horizontalHeaderItem(1)
        if header is not None and header.text() != terms_header(method):
            header.setText(terms_header(method))
            self.legend.setText(legend_html(method))
        self.method_note.setText(method_note(method))
        self.method_note.setVisible(bool(method_note(method)))

    def _score_and_log(self) -> None:
        self._debounce.stop()
        self.score_now()
        self.log_current()

    def _top_terms(self) -> list[TermContribution]:
        return [] if self.explanation is None else self.explanation.terms[:TOP_TERMS]

    def shutdown(self) -> None:
        if self._log_timer.isActive() or self._suppressed_text is not None:
            self.log_current(force=True)  # the last text the user settled on still counts
        self.flush_suppressed()  # texts counted but not yet recorded are not lost
        self._debounce.stop()
        self._log_timer.stop()
        self.background.forget()
        self._unsubscribe()
