"""Small widgets of the Score panel: the score gauge, the challenger's line, the
highlighted-text renderer, the legend of its tints and the banner of a drilled-down row.

Colours are the Okabe-Ito orange/blue pair, told apart with every common colour-vision
deficiency; term signs are also given by a symbol (▲ raises, ▼ lowers), never by colour alone.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPalette, QPen
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QWidget,
)

from app.core.common.drill import BATCH, RowOrigin, origin_banner
from app.core.common.messages import fmt_score, fmt_threshold
from app.core.engine.explain import SHARES, Explanation, find_spans
from app.core.engine.occlusion import OCCLUSION
from app.core.engine.result_view import (
    FULL_TINT_LOGIT,
    LOWERS,
    MIN_TINT_LOGIT,
    RAISES,
    sign_symbol,
    tint_strength,
)
from app.core.engine.shadow import ShadowScore
from app.ui.common.colours import muted_colour, muted_style, ui_scale

ABUSIVE_COLOUR = QColor(213, 94, 0)  # Okabe-Ito vermilion #D55E00
BENIGN_COLOUR = QColor(0, 114, 178)  # Okabe-Ito blue #0072B2
MIN_ALPHA, MAX_ALPHA = 0.12, 0.6  # tint opacity of the weakest shown and of a full-scale share


class ScoreGauge(QWidget):
    """A horizontal bar from 0 to 1 filled up to the score, with the threshold marked."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Score gauge")
        self.score: float | None = None
        self.threshold = 0.45
        self.setMinimumHeight(44)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:
        return QSize(320, 44)

    def set_values(self, score: float | None, threshold: float) -> None:
        self.score, self.threshold = score, threshold
        shown = "no score" if score is None else f"score {fmt_score(score)}"
        self.setAccessibleDescription(
            f"{shown}, threshold {fmt_threshold(threshold)}"
        )  # what it draws
        self.update()

    def caption_font(self) -> QFont:
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() - 1))
        return font

    def threshold_label(self) -> tuple[str, QRectF]:
        """The words under the threshold mark and where they go: as wide as the words,
        centred on the mark but kept inside the widget, so never clipped at either end."""
        label = f"threshold {fmt_threshold(self.threshold)}"
        metrics = QFontMetricsF(self.caption_font())
        width = metrics.horizontalAdvance(label) + 6
        x = 8 + (self.width() - 16) * self.threshold  # the mark, as paintEvent draws it
        left = max(0.0, min(x - width / 2, self.width() - width))
        return label, QRectF(left, 28, width, metrics.height())

    def end_labels_shown(self) -> tuple[bool, bool]:
        """Whether the "0" and "1" at the bar's ends are drawn: they give way to the threshold
        label near an end ("threshold 0.96948" and "1" would run together)."""
        _label, rect = self.threshold_label()
        room = QFontMetricsF(self.caption_font()).horizontalAdvance("0") + 6
        return rect.left() > 8 + room, rect.right() < self.width() - 8 - room

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt API)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        bar = QRectF(8, 8, self.width() - 16, 18)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(225, 225, 225))
        painter.drawRoundedRect(bar, 5, 5)
        if self.score is not None:
            colour = ABUSIVE_COLOUR if self.score >= self.threshold else BENIGN_COLOUR
            painter.setBrush(colour)
            painter.drawRoundedRect(
                QRectF(bar.left(), bar.top(), bar.width() * self.score, bar.height()), 5, 5
            )
        x = bar.left() + bar.width() * self.threshold
        painter.setPen(QPen(self.palette().color(QPalette.ColorRole.WindowText), 2))
        painter.drawLine(int(x), int(bar.top()) - 4, int(x), int(bar.bottom()) + 4)
        painter.setFont(self.caption_font())
        painter.setPen(QColor(muted_colour()))  # readable on the theme's background
        label, rect = self.threshold_label()
        zero, one = self.end_labels_shown()
        if zero:
            painter.drawText(
                QRectF(bar.left(), bar.bottom() + 2, 40, 14), Qt.AlignmentFlag.AlignLeft, "0"
            )
        if one:
            painter.drawText(
                QRectF(bar.right() - 40, bar.bottom() + 2, 40, 14), Qt.AlignmentFlag.AlignRight, "1"
            )
        painter.drawText(rect, Qt.AlignmentFlag.AlignHCenter, label)
        painter.end()


# A disagreement is what a reviewer looks for: the Batch panel's notice colours, not grey text.
_DISAGREES_STYLE = (
    "background: #fff4ce; color: #4d3800; border: 1px solid #e0c060; border-radius: 4px;"
    " padding: 3px 8px; margin-bottom: 4px; font-weight: bold;"
)


class ChallengerLine(QLabel):
    """What the challenger says about the text, under the main result; hidden without one."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Challenger's score")
        self.setObjectName("scoreChallenger")
        self.setWordWrap(True)
        self.setIndent(0)  # else a once-bordered (disagreeing) style leaves the text indented
        self.setTextFormat(Qt.TextFormat.PlainText)  # a version label is shown, never rendered
        self.setToolTip("A second model scores the same text; it never decides anything.")
        self.disagrees = False
        self.hide()

    def show_shadow(self, shadow: ShadowScore | None) -> None:
        self.disagrees = shadow is not None and not shadow.agrees
        if shadow is None:
            self.clear()
            self.hide()
            return
        self.setText(shadow.line())
        self.setStyleSheet(
            _DISAGREES_STYLE if self.disagrees else f"{muted_style()} margin-bottom: 4px;"
        )
        self.show()


def tint_rgba(contribution: float) -> str:
    """The CSS background of a term's share: its sign's colour, opacity on the fixed scale."""
    colour = ABUSIVE_COLOUR if contribution > 0 else BENIGN_COLOUR
    alpha = MIN_ALPHA + (MAX_ALPHA - MIN_ALPHA) * tint_strength(contribution)
    return f"rgba({colour.red()},{colour.green()},{colour.blue()},{alpha:.2f})"


def highlighted_html(text: str, explanation: Explanation, max_terms: int = 40) -> str:
    """The text as HTML with each explained word tinted by its share of the score.

    Orange (and ▲) raises the score, blue (and ▼) lowers it. The tint follows one fixed scale
    (`tint_strength`: ±FULL_TINT_LOGIT is full), so a share looks the same in every text; shares
    under MIN_TINT_LOGIT stay plain. Overlapping spans keep the strongest term (terms arrive
    strongest first).
    """
    terms = [t for t in explanation.terms[:max_terms] if abs(t.contribution) >= MIN_TINT_LOGIT]
    marks: list[tuple[int, int, float]] = []
    taken = [False] * len(text)
    for term in terms:
        for start, end in find_spans(text, term.term):
            if any(taken[start:end]):
                continue
            taken[start:end] = [True] * (end - start)
            marks.append((start, end, term.contribution))
    marks.sort()
    parts, pos = [], 0
    for start, end, share in marks:
        parts.append(html.escape(text[pos:start]))
        colour = (ABUSIVE_COLOUR if share > 0 else BENIGN_COLOUR).name()
        parts.append(
            f'<span style="background-color: {tint_rgba(share)};">'
            f"{html.escape(text[start:end])}</span>"
            f'<sup style="color: {colour};">{sign_symbol(share)}</sup>'
        )
        pos = end
    parts.append(html.escape(text[pos:]))
    body = "".join(parts).replace("\n", "<br>")
    return f'<div style="font-size: {12 * ui_scale():g}pt; line-height: 150%;">{body}</div>'


def _signed(value: float) -> str:
    return f"{value:+.1f}".replace("-", "\u2212")  # a typographic minus, as wide as the plus


def legend_html(method: str = SHARES) -> str:
    """The key to the tints: a few swatches from lowers to raises on the fixed scale, of
    shares of the logit or (an encoder's occlusion) effects on it."""
    steps = (-FULL_TINT_LOGIT, -FULL_TINT_LOGIT / 2, FULL_TINT_LOGIT / 2, FULL_TINT_LOGIT)
    swatches = "".join(
        f'<span style="background-color: {tint_rgba(v)};">&nbsp;{_signed(v)}&nbsp;</span> '
        for v in steps
    )
    return (
        f'<span style="color: {BENIGN_COLOUR.name()};">{LOWERS}</span> lowers the score '
        f"{swatches}"
        f'<span style="color: {ABUSIVE_COLOUR.name()};">{RAISES}</span> raises it '
        f"· {'logit with the word minus without it' if method == OCCLUSION else 'share of the logit'}"
        f", full tint at ±{FULL_TINT_LOGIT:.1f} on every text"
    )


class OriginBanner(QFrame):
    """Where the shown text came from (a Batch row, a matrix cell's item) and the way back.

    Hidden while the text is the user's own. Its words are `app.core.common.drill`'s."""

    back_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("scoreOrigin")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet("#scoreOrigin { background: #eef4fb; }")
        self.label = QLabel()
        self.label.setObjectName("scoreOriginText")
        self.label.setWordWrap(True)
        self.back_button = QPushButton("Back to results")
        self.back_button.setObjectName("scoreOriginBack")
        self.back_button.setToolTip("Return to the row in its list (Alt+Left)")
        self.back_button.clicked.connect(self.back_requested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.back_button)
        self.setAccessibleName("Where this text came from")
        # as tall as its words: the text and its explanation keep the room
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.hide()

    def show_origin(
        self, origin: RowOrigin, text: str, version: str, score: float | None, threshold: float
    ) -> None:
        """Say where ``text`` (scored ``score`` by ``version``) came from and how it differs."""
        self.label.setText(origin_banner(origin, text, version, score, threshold))
        self.back_button.setText(
            "Back to results" if origin.panel == BATCH else "Back to Threshold"
        )
        self.show()
