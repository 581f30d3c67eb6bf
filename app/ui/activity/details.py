"""One activity event in words, for the Activity panel's detail pane (Qt-free formatting).

The table shows each event on one line with the log's own names (``batch_finished``,
``rows_read``); the detail pane says the same event in full and in words: what happened, when
(local and UTC), with which model and threshold, every count by name ("missed", "false alarms"
rather than fn/fp), the whole detail, file hash and text (or its fingerprint).
"""

from __future__ import annotations

import json
from typing import Any

from app.core.activity.log import Event
from app.core.common.messages import fmt_score, fmt_threshold
from app.core.common.user import display_user

ACTION_WORDS = {
    "score_text": "Text scored",
    "batch_started": "Batch job started",
    "batch_finished": "Batch job finished",
    "batch_cancelled": "Batch job cancelled",
    "batch_failed": "Batch job failed",
    "export": "Exported",
    "threshold_applied": "Threshold applied (app-wide)",
    "model_changed": "Model changed",
    "retention_purge": "Old events purged",
    "settings_changed": "Settings changed",
    "app_started": "App started",
    "model_imported": "Model version imported",
    "model_activated": "Model version made active",
    "model_rolled_back": "Model rolled back",
    "challenger_set": "Challenger chosen",
    "challenger_cleared": "Challenger cleared",
    "model_promoted": "Challenger promoted to decide",
    "unsigned_model_used": "Unsigned model used",
    "key_trusted": "Signing key trusted",
    "evaluate": "Model evaluated on labelled data (command line)",
    "batch_history_removed": "Batch job removed from the history",
    "audit_verdict": "Audit sample item reviewed",
    "threshold_decision": "Decision recorded (threshold and rationale)",
    "audit_sample_drawn": "Audit sample drawn",
}
# The confusion-matrix counts of threshold and evaluation events, as an analyst says them.
MATRIX_WORDS = {
    "tp": "caught",
    "fn": "missed",
    "fp": "false alarms",
    "tn": "correctly passed",
}
USER_DETAIL_CHARS = 200  # far above any real account name
_COUNT_WORDS = {
    "tp": "caught (abusive, flagged)",
    "fn": "missed (abusive, not flagged)",
    "fp": "false alarms (benign, flagged)",
    "tn": "correctly passed (benign, not flagged)",
    "n": "labelled items",
    "positives": "abusive items",
}


def action_words(action: str) -> str:
    """An event type in words ("batch_finished" -> "Batch job finished")."""
    return ACTION_WORDS.get(action, action.replace("_", " ").capitalize())


def count_words(key: str) -> str:
    """A count's name in words: the matrix counts spelled out, "rows_read" -> "rows read"."""
    return _COUNT_WORDS.get(key, key.replace("_", " "))


def _counts(raw: str | None) -> list[tuple[str, str]]:
    try:
        counts: Any = json.loads(raw) if raw else {}
    except ValueError:
        return [("Counts", raw or "")]
    if not isinstance(counts, dict):
        return [("Counts", str(counts))]
    return [
        (count_words(str(key)), f"{value:,}" if type(value) is int else str(value))  # not bools
        for key, value in counts.items()
    ]


# What an event's file and hash are, by event type: the log has one file field for each event.
_FILE_WORDS = {
    "export": ("Exported file", "Exported file SHA-256"),
    "batch_finished": ("Input file", "Input SHA-256"),
    "batch_started": ("Input file", "Input SHA-256"),
    "batch_history_removed": ("Input file", "Input SHA-256"),
    "model_imported": ("Imported bundle", "Manifest SHA-256"),
    "key_trusted": ("Key file", "Key file SHA-256"),
    "audit_verdict": ("Audit sample", "Audit sample SHA-256"),
    "audit_sample_drawn": ("Audit sample", "Audit sample SHA-256"),
}


def file_words(action: str) -> tuple[str, str]:
    """How the detail pane labels an event's file and its hash ("Input SHA-256", ...)."""
    if action in _FILE_WORDS:
        return _FILE_WORDS[action]
    if action.startswith(("model_", "challenger_", "unsigned_model")):  # the model's manifest
        return ("File", "Manifest SHA-256")
    return ("File", "File SHA-256")


def describe(e: Event, local_time: str) -> str:
    """The event in full, one fact per line ("Label: value"); `local_time` as the table shows
    it. Counts are indented under "Counts:"; absent facts are left out."""
    lines = [f"{action_words(e.action)} (event {e.id}, logged as “{e.action}”)", ""]
    lines.append(f"Time: {local_time} (this computer's time; logged in UTC as {e.time_utc})")
    if e.user is not None:  # escaped and cut: a forged name must not add lines to this pane
        lines.append(f"User: {display_user(e.user, USER_DETAIL_CHARS)} (workstation account)")
    if e.model_version:
        lines.append(f"Model: {e.model_version}")
    if e.threshold is not None:
        lines.append(f"Threshold: {fmt_threshold(e.threshold)}")
    if e.score is not None:
        lines.append(f"Score: {fmt_score(e.score)}")  # "> 0.999", never "1.000" below 1
    counts = _counts(e.counts)
    if counts:
        lines.append("Counts:")
        lines += [f"    {name}: {value}" for name, value in counts]
    file_label, hash_label = file_words(e.action)
    if e.file_name:
        lines.append(f"{file_label}: {e.file_name}")
    if e.file_sha256:
        lines.append(f"{hash_label}: {e.file_sha256}")
    if e.text is not None:
        lines.append(f"Text (stored):\n{e.text}")
    elif e.text_hmac:
        lines.append(f"Text: not stored; its HMAC-SHA256 fingerprint is {e.text_hmac}")
    if e.detail:
        lines.append(f"Detail: {e.detail}")
    return "\n".join(lines)
