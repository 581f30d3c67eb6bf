"""Every limit of the app in one place (the original service's rate limiting, on a desktop).

Each limit, when hit, produces a clear message and loses nothing:

* ``max_text_chars``: a longer text is scored on its first ``max_text_chars`` characters and
  marked truncated (Score panel notice, batch ledger note).
* ``max_field_chars``: a CSV row with a longer field is rejected with its line and reason; the
  rejected row is counted in the ledger, the other rows are scored.
* ``warn_file_bytes``: the Batch panel warns about a larger file; it can still be scored.
* ``max_concurrent_jobs``: further scoring jobs wait in the queue (and say so) until one ends.
* ``max_logged_texts_per_minute``: the Score panel's activity log takes at most this many texts a
  minute; the rest are counted by a `RateGuard` and the count is recorded with the next event.

Qt-free: the UI and the CLI read the same values.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

DEFAULT_MAX_TEXT_CHARS = 20_000
DEFAULT_MAX_FIELD_CHARS = 1_048_576  # the same value as app.core.csvio.csv_input's default
DEFAULT_WARN_FILE_BYTES = 500_000_000
DEFAULT_MAX_CONCURRENT_JOBS = 1
DEFAULT_MAX_LOGGED_TEXTS_PER_MINUTE = 60
RATE_WINDOW_SECONDS = 60.0


@dataclass(frozen=True)
class Limits:
    max_text_chars: int = DEFAULT_MAX_TEXT_CHARS
    max_field_chars: int = DEFAULT_MAX_FIELD_CHARS
    warn_file_bytes: int = DEFAULT_WARN_FILE_BYTES
    max_concurrent_jobs: int = DEFAULT_MAX_CONCURRENT_JOBS
    max_logged_texts_per_minute: int = DEFAULT_MAX_LOGGED_TEXTS_PER_MINUTE

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{f.name} must be a whole number of at least 1, not {value!r}")

    @classmethod
    def from_settings(cls, settings: Any) -> Limits:
        """The limits a `Settings` object (or anything with some of these attributes) sets;
        a missing or unusable value keeps its default."""
        values: dict[str, int] = {}
        for f in fields(cls):
            value = getattr(settings, f.name, None)
            if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
                values[f.name] = value
        return cls(**values)

    def file_size_warning(self, size_bytes: int) -> str | None:
        """A message for a file above ``warn_file_bytes``, else None. Scoring is still allowed."""
        if size_bytes <= self.warn_file_bytes:
            return None
        return (
            f"Large file: {format_bytes(size_bytes)} is above the {format_bytes(self.warn_file_bytes)} "
            "warning size. Scoring it will take a while and its scored copy needs about as much "
            "disk space again; you can still start it."
        )

    def queue_message(self, running: int) -> str | None:
        """Why a newly queued job waits, when ``running`` jobs fill the limit; else None."""
        if running < self.max_concurrent_jobs:
            return None
        jobs = "job runs" if self.max_concurrent_jobs == 1 else "jobs run"
        return (
            f"Queued: at most {self.max_concurrent_jobs} scoring {jobs} at a time; "
            "it starts when a running job ends."
        )


def format_bytes(size: int) -> str:
    kb = size / 1000
    if kb >= 1_000_000:
        return f"{kb / 1_000_000:,.1f} GB"
    return f"{kb / 1000:,.1f} MB" if kb >= 1000 else f"{max(kb, 0.1):,.1f} kB"


def suppressed_note(count: int) -> str:
    """What an activity event says about the texts the rate limit kept out of the log."""
    texts = "text" if count == 1 else "texts"
    return f"{count:,} further {texts} scored but not logged individually (rate limit)"


class RateGuard:
    """A sliding-window rate limit that counts what it refuses.

    ``allow()`` says whether an event may be logged now (at most ``per_window`` in any
    ``window`` seconds); a refused event is counted, and ``take_suppressed()`` hands the count
    over (and resets it) so the next logged event can record it. Nothing is silently dropped.
    """

    def __init__(
        self,
        per_window: int,
        window: float = RATE_WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_window < 1 or window <= 0:
            raise ValueError("a rate guard needs at least one event per positive window")
        self.per_window, self.window, self.clock = per_window, window, clock
        self._times: deque[float] = deque()
        self.suppressed = 0  # refused since the last take_suppressed()

    def _expire(self, now: float) -> None:
        while self._times and now - self._times[0] >= self.window:
            self._times.popleft()

    def allow(self) -> bool:
        now = self.clock()
        self._expire(now)
        if len(self._times) < self.per_window:
            self._times.append(now)
            return True
        self.suppressed += 1
        return False

    def force(self) -> None:
        """Record an event logged regardless of the limit (e.g. a summary at shutdown)."""
        self._times.append(self.clock())

    def seconds_until_free(self) -> float:
        now = self.clock()
        self._expire(now)
        if len(self._times) < self.per_window:
            return 0.0
        return max(0.0, self._times[0] + self.window - now)

    def take_suppressed(self) -> int:
        count, self.suppressed = self.suppressed, 0
        return count
