"""The Models panel's details area: facts about the selected version and its model card.

The card is rendered only for bundles that verified (a refused bundle's files are not trusted,
so nothing from it but its folder and the reason it was refused is shown). Links in a card never
open anything: this is an offline app.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QLabel,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.core.common.messages import fmt_threshold
from app.core.models.registry import ModelEntry
from app.ui.common.colours import fail_colour, muted_style
from app.ui.common.model_card_view import MODEL_CARD, model_card_box
from app.ui.models.jobs import ListedModel
from app.ui.models.table import auc_text, created_text

_FACTS = (
    ("folder", "Folder"),
    ("engine", "Engine"),
    ("source", "Source"),
    ("signature", "Signature"),
    ("created", "Created"),
    ("threshold", "Default threshold"),
    ("auc", "Test ROC-AUC"),
    ("items", "Evaluation items"),
    ("size", "Size"),
    ("manifest", "Manifest SHA-256"),
)

_ROLES_HELP = (
    "<b>Active</b>: decides every score and batch started from now on (a running batch keeps "
    "the model it started with). <b>Challenger</b>: scores the same texts in the shadow, for "
    "comparison; it never decides. <b>Previous</b>: the model “Roll back” returns to. "
    "<b>Default fast</b>: the bundled model a fresh install starts on, chosen by a written rule "
    "on validation figures (README, “Two bundled versions”). "
    "Every change is written to the activity log."
)


def format_size(size: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    return ""  # unreachable; keeps type checkers content


def _engine_fact(e: ModelEntry) -> str:
    if e.engine == "encoder":
        return (
            f"encoder (thorough): reads up to {e.max_tokens} tokens, "
            f"{e.vocabulary or 0:,}-token vocabulary; explained by occlusion"
        )
    return "linear (fast): explained by exact term shares"


def facts(listed: ListedModel) -> dict[str, str]:
    """The text of each fact row for one version ("" where the bundle gives nothing)."""
    e = listed.entry
    auc = " · ".join(
        f"{caption} {auc_text(e.test_auc[key])}"
        for key, caption in (("all", "all"), ("davidson", "Davidson"), ("olid", "OLID"))
        if key in e.test_auc
    )
    return {
        "folder": str(e.folder),
        "engine": _engine_fact(e) if e.verified else "",
        "source": "shipped with the app" if e.source == "bundled" else "imported by a user",
        "signature": e.signature_text if e.verified else "—",
        "created": created_text(e.created_utc),
        "threshold": "" if e.default_threshold is None else fmt_threshold(e.default_threshold),
        "auc": auc,
        "items": f"{e.eval_items:,} held-out test items" if e.eval_items else "",
        "size": format_size(e.size_bytes),
        "manifest": listed.manifest_sha256 or "",
    }


class ModelDetails(QSplitter):
    """Facts on the left, the model card on the right."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        facts_box = QGroupBox("Selected version")
        layout = QVBoxLayout(facts_box)
        self.heading = QLabel(objectName="modelHeading")
        heading_font = self.heading.font()
        heading_font.setPointSize(heading_font.pointSize() + 3)
        heading_font.setBold(True)
        self.heading.setFont(heading_font)
        layout.addWidget(self.heading)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.values: dict[str, QLabel] = {}
        fixed = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        for key, caption in _FACTS:
            value = QLabel(wordWrap=True, objectName=f"fact_{key}")
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            if key == "manifest":
                value.setFont(fixed)
                value.setWordWrap(False)  # a hash is one unbreakable word: keep it on a line
            form.addRow(caption, value)
            self.values[key] = value
        layout.addLayout(form)
        self.problem = QLabel(wordWrap=True, objectName="modelProblem")
        self.problem.setStyleSheet(f"color: {fail_colour()};")
        self.problem.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.problem)
        layout.addStretch(1)
        roles = QLabel(_ROLES_HELP, wordWrap=True, objectName="modelRolesHelp")
        roles.setStyleSheet(muted_style())
        layout.addWidget(roles)

        card_box, self.card = model_card_box()

        self.addWidget(facts_box)
        self.addWidget(card_box)
        self.setStretchFactor(0, 2)
        self.setStretchFactor(1, 3)
        self.setSizes([560, 700])  # fixed proportions: whatever the facts' lengths
        self.setChildrenCollapsible(False)
        self.show_version(None)

    def show_version(self, listed: ListedModel | None) -> None:
        if listed is None:
            self.heading.setText("No version selected")
            for label in self.values.values():
                label.setText("")
            self.problem.hide()
            self.card.setPlainText("Select a version to read its model card.")
            return
        entry = listed.entry
        self.heading.setText(entry.label)
        for key, text in facts(listed).items():
            self.values[key].setText(text or "–")
        if entry.verified:
            self.problem.hide()
            if listed.card:
                self.card.setMarkdown(listed.card)
            else:
                self.card.setPlainText(f"This bundle has no {MODEL_CARD}.")
        else:
            self.problem.setText(f"✗ Refused: {entry.problem}")
            self.problem.show()
            self.card.setPlainText(
                "The model card of a refused bundle is not shown: its files did not verify."
            )
