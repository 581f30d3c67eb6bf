"""The Review panel: a reviewer goes through an audit sample one item at a time and gives each a
verdict (abusive, benign, skip) from the keyboard; verdicts are kept in the local labels store
(``app.core.audit.verdicts``), each one also logged as an ``audit_verdict`` activity event with
the reviewer's workstation name, and exported as a CSV that ``abuse-desk audit estimate`` reads.

Reading the sample (hashing it: its SHA-256 identifies it in the store) runs on the worker
pool; the store's writes are one small transaction each and run here, with a short busy timeout
(a store held by another process is a message at once, not a frozen window). A verdict is stored
first and logged second, and withdrawn if the log cannot record it. Reopening a sample shows
its verdicts from the store and goes to the first item without one: a reviewer resumes where
they left off, in this window or another (every verdict is read back from the store).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtGui import QKeyEvent, QShowEvent
from PySide6.QtWidgets import QFileDialog, QWidget

from app.core.audit.review_queue import (
    ReviewItem,
    ReviewQueue,
    next_unreviewed,
    read_review_queue,
    review_progress,
)
from app.core.audit.verdict_export import export_verdicts
from app.core.audit.verdicts import GUI_BUSY_TIMEOUT_MS, LabelsStore, Verdict
from app.core.common.errors import AbuseDeskError
from app.core.common.messages import fmt_score
from app.core.common.user import workstation_user
from app.core.context.state import THRESHOLD, AppContext
from app.ui.common.colours import error_style, fail_colour, muted_style, ok_colour
from app.ui.common.workers import Worker, WorkerPool, run_in_pool
from app.ui.review import view
from app.ui.review.estimates import EstimatesController
from app.ui.review.view import ReviewWidgets, command_for

VERDICT_WORDS = {"abusive": "Abusive", "benign": "Benign", "skip": "Skipped"}


def _load_job(path: Path, _progress: Any, cancelled: Any) -> ReviewQueue:
    return read_review_queue(path, cancelled=cancelled)


class ReviewPanel(QWidget):
    title = "Review"

    def __init__(
        self,
        ctx: AppContext,
        pool: WorkerPool,
        parent: QWidget | None = None,
        *,
        store_path: Path | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx, self.pool = ctx, pool
        self.reviewer = workstation_user()
        self._store_path = store_path  # None: the user's data folder
        self._store: LabelsStore | None = None
        self.queue: ReviewQueue | None = None
        self.verdicts: dict[int, Verdict] = {}  # by item line: the store's current verdicts
        self.index = 0
        self.loader: Worker | None = None
        self.w = ReviewWidgets(self)
        w = self.w
        w.browse.clicked.connect(self.choose_sample)
        w.open_button.clicked.connect(self._open_typed)
        w.path.lineEdit().returnPressed.connect(self._open_typed)
        w.export_button.clicked.connect(self.export_dialog)
        for button, name in zip(w.verdict_buttons, view.VERDICT_COMMANDS, strict=True):
            button.clicked.connect(partial(self.run_command, name))
        w.undo.clicked.connect(partial(self.run_command, view.UNDO))
        for button, name in zip(w.move_buttons, view.MOVE_COMMANDS, strict=True):
            button.clicked.connect(partial(self.run_command, name))
        self._recent_listed = False  # the store is opened when the panel is first shown
        self.estimates = EstimatesController(w.estimates, pool, ctx.state.threshold)
        self._unobserve = ctx.state.observe(self._on_threshold, THRESHOLD)

    def _on_threshold(self, _name: str, value: float) -> None:
        self.estimates.set_app_threshold(value)

    def _labels_changed(self) -> None:
        self.estimates.set_verdicts({k: v.verdict for k, v in self.verdicts.items()})

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt override)
        if not self._recent_listed:
            self._recent_listed = True
            self._refresh_recent()
        super().showEvent(event)

    # --- the store -----------------------------------------------------------------------------
    def store(self) -> LabelsStore:
        """The labels store, opened on first use (InputError naming it if it cannot be used)."""
        if self._store is None:
            # A short busy timeout: the writes run on the GUI thread, and a store held by
            # another process must give a message at once, not freeze the window for 10 s.
            if self._store_path is None:
                self._store = LabelsStore.open_default(busy_timeout_ms=GUI_BUSY_TIMEOUT_MS)
            else:
                self._store = LabelsStore(self._store_path, busy_timeout_ms=GUI_BUSY_TIMEOUT_MS)
        return self._store

    def _refresh_recent(self) -> None:
        try:
            recent = self.store().recent_samples()
        except AbuseDeskError as exc:
            self._say(str(exc), error=True)
            return
        typed = self.w.path.currentText()
        self.w.path.clear()
        self.w.path.addItems([s.path for s in recent])
        self.w.path.setEditText(typed)

    # --- opening a sample ----------------------------------------------------------------------
    def choose_sample(self) -> None:
        start = self.w.path.currentText() or self.ctx.settings.last_folder or str(Path.home())
        name, _ = QFileDialog.getOpenFileName(self, "Open an audit sample", start, "CSV (*.csv)")
        if name:
            self.open_sample(Path(name))

    def _open_typed(self) -> None:
        typed = self.w.path.currentText().strip()
        if typed:
            self.open_sample(Path(typed))

    def open_sample(self, path: Path) -> None:
        """Read and hash the sample on the worker pool; `_loaded` shows it."""
        if self.loader is not None:
            return  # one at a time: the button is disabled meanwhile
        self.w.path.setEditText(str(path))
        self.w.open_button.setEnabled(False)
        self._say(f"Reading {path.name}…")
        self.loader = run_in_pool(
            partial(_load_job, path),
            self.pool,
            name="reading the audit sample",
            on_finished=self._loaded,
            on_failed=self._load_failed,
            on_done=self._load_done,
        )

    def _loaded(self, queue: ReviewQueue) -> None:
        try:
            store = self.store()
            store.add_sample(queue.sha256, queue.path)
            self.verdicts = store.current(queue.sha256)
        except AbuseDeskError as exc:
            self._say(str(exc), error=True)
            return
        self.queue = queue
        self.estimates.set_sample(queue.sample, {k: v.verdict for k, v in self.verdicts.items()})
        self.w.sample_info.setText(
            f"{queue.path.name} · {len(queue.items):,} items · text column “{queue.text_column}”"
            f" · SHA-256 {queue.sha256[:12]}… · reviewer {self.reviewer}"
        )
        self.w.sample_info.setToolTip(f"{queue.path}\nSHA-256 {queue.sha256}")
        first = next_unreviewed(queue, self.verdicts)
        resumed = bool(self.verdicts)
        self._show(first if first is not None else 0)
        self._refresh_recent()
        self._say(
            f"Resumed: {len(self.verdicts):,} verdicts from the labels store."
            if resumed
            else "Give each item a verdict: A abusive, B benign, S skip."
        )
        self.w.text.setFocus()

    def _load_failed(self, message: str) -> None:
        self._say(message, error=True)

    def _load_done(self) -> None:
        self.loader = None
        self.w.open_button.setEnabled(True)

    # --- keys and commands ---------------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt override)
        command = command_for(event)
        typing = self.w.note.hasFocus() or self.w.estimates.spin.hasFocus()
        if command == view.NEXT_UNREVIEWED and typing:
            self.w.text.setFocus()  # Enter in the note goes back to the item, moves nowhere
            event.accept()
            return
        if command is None or self.queue is None:
            super().keyPressEvent(event)
            return
        event.accept()
        self.run_command(command)

    def run_command(self, command: str) -> None:
        if self.queue is None:
            return
        if command in view.VERDICT_COMMANDS:
            self.give_verdict(command)
        elif command == view.UNDO:
            self.undo()
        elif command == view.PREVIOUS:
            self._show(max(self.index - 1, 0))
        elif command == view.NEXT:
            self._show(min(self.index + 1, len(self.queue.items) - 1))
        elif command == view.NEXT_UNREVIEWED:
            found = next_unreviewed(self.queue, self.verdicts, self.index)
            if found is None:
                self._say("Every item has a verdict.")
            else:
                self._show(found)

    def give_verdict(self, verdict: str) -> None:
        """Store the verdict, then log it; if the log cannot record it the verdict is withdrawn
        (an undo record), so the log never holds a verdict the store does not, nor the store
        one the log does not. Then go to the next item without one."""
        queue, item = self.queue, self.item
        if queue is None or item is None:
            return
        note = self.w.note.text().strip()
        detail = (
            f"{verdict} on line {item.line} (item {item.index + 1} of {len(queue.items)}, "
            f"stratum {item.stratum or '-'}) by {self.reviewer}" + ("; with a note" if note else "")
        )
        what = f"{VERDICT_WORDS[verdict].lower()} on line {item.line}"
        try:
            stored = self.store().record(queue.sha256, item.line, verdict, note, self.reviewer)
        except AbuseDeskError as exc:
            self._say(f"Verdict not saved ({what}; press the key again to retry): {exc}",
                      error=True)  # fmt: skip
            return
        try:
            self._log(detail, item.score)
        except (AbuseDeskError, OSError, RuntimeError) as exc:
            self._say(self._withdraw(stored, what, exc), error=True)
            self._read_back(queue)
            return
        if not self._read_back(queue):
            return
        following = next_unreviewed(queue, self.verdicts, item.index)
        self._show(following if following is not None else item.index)
        self._say_done_or(f"Line {item.line}: {VERDICT_WORDS[verdict].lower()}.")

    def _withdraw(self, stored: Verdict, what: str, exc: Exception) -> str:
        """Take back a stored verdict the activity log could not record; the words to say."""
        why = f"the activity log could not record it ({exc})"
        try:
            self.store().withdraw(stored, self.reviewer)
        except AbuseDeskError as again:
            return f"Verdict {what} saved but {why}, and could not be withdrawn: {again}"
        return f"Verdict not saved ({what}): {why}; it was withdrawn from the labels store."

    def _read_back(self, queue: ReviewQueue) -> bool:
        """The store's current verdicts, with what other windows added meanwhile."""
        try:
            self.verdicts = self.store().current(queue.sha256)
        except AbuseDeskError as exc:
            self._say(f"Saved, but the verdicts could not be read back: {exc}", error=True)
            return False
        self._labels_changed()
        self._show(self.index)
        return True

    def _say_done_or(self, text: str) -> None:
        """``text``, or once every item has a verdict, what to do next (the export button
        focused: Enter exports)."""
        queue = self.queue
        if queue is None or next_unreviewed(queue, self.verdicts) is not None:
            self._say(text)
            return
        skipped = sum(1 for v in self.verdicts.values() if v.verdict == "skip")
        self._say(
            f"{text} All {len(queue.items):,} items reviewed"
            + (f" ({skipped:,} skipped)" if skipped else "")
            + ". Export verdicts… to estimate, or use the sample in the Threshold panel."
        )
        self.w.export_button.setFocus()

    def undo(self) -> None:
        """Withdraw the sample's last standing verdict (the store keeps both records), then log
        it; if the log cannot record the undo, the verdict is put back and nothing changes."""
        queue = self.queue
        if queue is None:
            return
        try:
            last = self.store().undo_last(queue.sha256, self.reviewer)
        except AbuseDeskError as exc:
            self._say(f"Not undone: {exc}", error=True)
            return
        if last is None:
            self._read_back(queue)
            self._say("Nothing to undo.")
            return
        try:
            self._log(f"undo: the {last.verdict} on line {last.item_line} withdrawn by "
                      f"{self.reviewer}", None)  # fmt: skip
        except (AbuseDeskError, OSError, RuntimeError) as exc:
            try:  # put it back as it was: the log and the store agree again
                self.store().record(queue.sha256, last.item_line, last.verdict, last.note,
                                    last.reviewer)  # fmt: skip
                said = f"Not undone: the activity log could not record it ({exc})."
            except AbuseDeskError as again:
                said = f"Undone, but the activity log could not record it ({exc}): {again}"
            self._read_back(queue)
            self._say(said, error=True)
            return
        self._read_back(queue)
        index = next((i.index for i in queue.items if i.line == last.item_line), self.index)
        self._show(index)
        self._say(f"Undone: the {last.verdict} on line {last.item_line}.")

    def _log(self, detail: str, score: float | None) -> None:
        queue = self.queue
        assert queue is not None
        self.ctx.log(
            "audit_verdict",
            file_name=str(queue.path),
            file_sha256=queue.sha256,
            score=score,
            detail=detail,
        )

    # --- showing -------------------------------------------------------------------------------
    @property
    def item(self) -> ReviewItem | None:
        return self.queue.items[self.index] if self.queue is not None else None

    def _show(self, index: int) -> None:
        queue = self.queue
        if queue is None:
            return
        self.index = index
        item = queue.items[index]
        w = self.w
        w.text.setPlainText(item.text or "(empty text)")
        source = f" · scored batch line {item.source_line}" if item.source_line else ""
        w.item_info.setText(
            f"Item {index + 1:,} of {len(queue.items):,} · line {item.line:,}{source} · "
            f"score {fmt_score(item.score)} · stratum {item.stratum or '-'} · "
            f"weight {item.weight:g}"
        )
        current = self.verdicts.get(item.line)
        if current is None:
            w.current.setText("Not reviewed yet")
            w.current.setStyleSheet(muted_style())
        else:
            w.current.setText(
                f"{VERDICT_WORDS[current.verdict]} — {current.reviewer}, "
                f"{current.time_utc[:19].replace('T', ' ')} UTC"
            )
            colour = {"abusive": fail_colour(), "benign": ok_colour()}.get(current.verdict)
            w.current.setStyleSheet(f"color: {colour};" if colour else muted_style())
        w.note.setText(current.note if current is not None else "")
        progress = review_progress(queue, {k: v.verdict for k, v in self.verdicts.items()})
        w.progress_label.setText(progress.words)
        w.progress.setRange(0, progress.total)
        w.progress.setValue(progress.reviewed)
        for button in (*w.verdict_buttons, *w.move_buttons, w.export_button):
            button.setEnabled(True)
        w.undo.setEnabled(bool(self.verdicts))
        w.note.setEnabled(True)
        w.previous.setEnabled(index > 0)
        w.next.setEnabled(index < len(queue.items) - 1)

    def _say(self, text: str, *, error: bool = False) -> None:
        self.w.status.setText(text)
        self.w.status.setStyleSheet(error_style() if error else muted_style())

    # --- export --------------------------------------------------------------------------------
    def export_dialog(self) -> None:
        if self.queue is None:
            return
        suggested = self.queue.path.with_name(f"{self.queue.path.stem}-verdicts.csv")
        name, _ = QFileDialog.getSaveFileName(
            self, "Export verdicts", str(suggested), "CSV (*.csv)"
        )
        if name:
            self.export_to(Path(name))

    def export_to(self, output: Path) -> bool:
        """Write the sample with its verdicts (`export_verdicts`); True if written."""
        if self.queue is None:
            return False
        try:
            self.verdicts = self.store().current(self.queue.sha256)  # other windows' too
            labelled = export_verdicts(self.queue, self.verdicts, output)
        except AbuseDeskError as exc:
            self._say(f"Not exported: {exc}", error=True)
            return False
        self._labels_changed()
        self._show(self.index)
        self._say(f"Exported {len(self.queue.items):,} items ({labelled:,} labelled) to {output}.")
        return True

    def shutdown(self) -> None:
        self._unobserve()
        self.estimates.shutdown()
        if self.loader is not None:
            self.loader.cancel()
        if self._store is not None:
            self._store.close()
            self._store = None
