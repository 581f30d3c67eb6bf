"""The dialog that asks which column of a labelled CSV holds the labels (and texts)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app.core.analysis.labeled import guess_label_column
from app.core.common.errors import InputError
from app.core.csvio.csv_input import sniff


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
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(buttons)

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


def ask_labeled_csv(
    parent: QWidget, folder: str, show_error: Callable[[str], object]
) -> tuple[Path, tuple[str, list[str] | None, str | None]] | None:
    """Ask for a labelled CSV file, then for its label column (and texts).

    Returns (path, (label column, positive values, text column)), or None if the user cancels
    either dialog or the file cannot be read (then ``show_error`` is given the reason). Shared by
    the Threshold and Compare panels' "open labelled CSV".
    """
    chosen, _ = QFileDialog.getOpenFileName(
        parent, "Open labelled CSV", folder, "CSV files (*.csv *.tsv *.txt);;All files (*)"
    )
    if not chosen:
        return None
    path = Path(chosen)
    try:
        sniffed = sniff(path)
    except (InputError, OSError) as exc:
        show_error(f"Cannot read {path.name}: {exc}")
        return None
    dialog = LabelColumnDialog(path.name, sniffed.header, sniffed.text_column, parent)
    if not dialog.exec():
        return None
    return path, (dialog.label_column(), dialog.positive_values(), dialog.text_column())
