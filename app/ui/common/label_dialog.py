"""Opening a labelled CSV, as the Threshold and Compare panels both do: the dialog that asks
which column holds the labels (and texts), the request it yields, and the panels' two actions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QWidget,
)

from app.core.analysis.labeled import guess_label_column
from app.core.common.errors import InputError
from app.core.context.state import AppContext
from app.core.csvio.csv_input import sniff
from app.ui.common.dialogs import ok_cancel_layout


@dataclass(frozen=True)
class LabeledCsvRequest:
    """A labelled CSV and how to read it (kept to score it again when a model changes)."""

    path: Path
    label_column: str
    positive_values: Sequence[str] | None = None
    text_column: str | None = None


class LabelColumnDialog(QDialog):
    """Asks which column holds the labels (and, optionally, the texts and abusive values)."""

    AUTO = "(detect automatically)"

    def __init__(
        self,
        file_name: str,
        header: Sequence[str],
        text_column: str | None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Labelled CSV")
        intro = QLabel(f"Which column of <b>{file_name}</b> says whether a row is abusive?")
        intro.setWordWrap(True)
        self.label_combo = QComboBox()
        self.label_combo.addItems(list(header))
        self.label_combo.setCurrentText(
            guess_label_column(header, text_column, fallback=True) or ""
        )
        self.text_combo = QComboBox()
        self.text_combo.addItems([self.AUTO, *header])
        if text_column in header:
            self.text_combo.setCurrentText(text_column)
        self.positive_edit = QLineEdit()
        self.positive_edit.setPlaceholderText("e.g. offensive, hate   (blank: 1/0, yes/no, …)")
        self.positive_edit.setToolTip(
            "Values meaning abusive, separated by commas (any case); every other value then "
            "means benign, except blank and “?”/“n/a”, which are left out. Blank: the standard "
            "words (1/0, yes/no, true/false, abusive/benign, …); a column with any other value "
            "is refused rather than guessed. The data summary lists what each value became."
        )
        form = QFormLayout()
        form.addRow("Label column", self.label_combo)
        form.addRow("Text column", self.text_combo)
        form.addRow("Abusive values", self.positive_edit)
        ok_cancel_layout(self, intro, form)

    def label_column(self) -> str:
        return self.label_combo.currentText()

    def text_column(self) -> str | None:
        """The chosen text column, or None to let the reader detect it."""
        text = self.text_combo.currentText()
        return None if text == self.AUTO else text

    def positive_values(self) -> list[str] | None:
        """The values typed as meaning abusive, or None for the reader's standard words."""
        values = [v.strip() for v in self.positive_edit.text().split(",") if v.strip()]
        return values or None


class LabeledCsvActions:
    """ "Open labelled CSV" for a panel (a QWidget with an ``_ctx``) that scores such a file.

    ``open_labeled_csv`` asks for the file, then for its label column (and texts);
    ``load_labeled_csv`` is the same without the dialogs. The panel says how to score the
    request (``_score_labeled_csv``) and where to say why a file cannot be read.
    """

    _ctx: AppContext

    def open_labeled_csv(self) -> None:
        """Ask for a file and its label column, then score it in the background."""
        parent = cast(QWidget, self)  # the panel this is mixed into
        chosen, _ = QFileDialog.getOpenFileName(
            parent,
            "Open labelled CSV",
            self._ctx.settings.last_folder,
            "CSV files (*.csv *.tsv *.txt);;All files (*)",
        )
        if not chosen:
            return
        path = Path(chosen)
        try:
            sniffed = sniff(path)
        except (InputError, OSError) as exc:
            self._show_csv_error(f"Cannot read {path.name}: {exc}")
            return
        dialog = LabelColumnDialog(path.name, sniffed.header, sniffed.text_column, parent)
        if dialog.exec():
            self.load_labeled_csv(
                path, dialog.label_column(), dialog.positive_values(), dialog.text_column()
            )

    def load_labeled_csv(
        self,
        path: str | Path,
        label_column: str,
        positive_values: Sequence[str] | None = None,
        text_column: str | None = None,
    ) -> None:
        """Score a labelled CSV on a worker (replacing any running load); shown when done."""
        request = LabeledCsvRequest(Path(path), label_column, positive_values, text_column)
        self._score_labeled_csv(request)

    def _score_labeled_csv(self, request: LabeledCsvRequest) -> None:
        raise NotImplementedError

    def _show_csv_error(self, message: str) -> None:
        raise NotImplementedError
