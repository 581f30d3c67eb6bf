"""This session's figures (the original service's /metrics): counts, throughput, latency."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np


@dataclass
class SessionMetrics:
    started: float = field(default_factory=time.time)  # wall clock, for display
    texts_scored: int = 0
    texts_flagged: int = 0
    batches_run: int = 0
    batch_rows: int = 0
    batch_rows_flagged: int = 0
    batch_seconds: float = 0.0
    _latencies: list[float] = field(default_factory=list, repr=False)
    # The first text a model scores loads its explanation code (~1 s once); kept apart so the
    # latency figures measure scoring, not loading.
    _warmups: list[float] = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    # Uptime is measured on the monotonic clock: a wall-clock change must not make it negative.
    _started_monotonic: float = field(default_factory=time.monotonic, repr=False)

    def record_text(self, latency_seconds: float, flagged: bool, *, warmup: bool = False) -> None:
        """One text scored; ``warmup``: its time includes one-time loading, so it is counted
        but kept out of the latency percentiles (reported apart as ``warmup_ms``)."""
        with self._lock:
            self.texts_scored += 1
            self.texts_flagged += int(flagged)
            if warmup:
                self._warmups = [*self._warmups[-99:], latency_seconds]
                return
            self._latencies.append(latency_seconds)
            if len(self._latencies) > 10_000:  # keep the recent window; memory stays flat
                del self._latencies[:5_000]

    def record_batch(self, rows_scored: int, rows_flagged: int, seconds: float) -> None:
        with self._lock:
            self.batches_run += 1
            self.batch_rows += rows_scored
            self.batch_rows_flagged += rows_flagged
            self.batch_seconds += seconds

    def snapshot(self) -> dict[str, float | int | None]:
        with self._lock:
            lat = np.array(self._latencies) * 1000 if self._latencies else None
            scored = self.texts_scored + self.batch_rows
            flagged = self.texts_flagged + self.batch_rows_flagged
            return {
                "texts_scored": self.texts_scored,
                "batches_run": self.batches_run,
                "batch_rows_scored": self.batch_rows,
                "batch_rows_per_s": self.batch_rows / self.batch_seconds
                if self.batch_seconds
                else None,
                "latency_p50_ms": float(np.percentile(lat, 50)) if lat is not None else None,
                "latency_p95_ms": float(np.percentile(lat, 95)) if lat is not None else None,
                "flag_rate": flagged / scored if scored else None,
                "warmup_ms": 1000 * self._warmups[-1] if self._warmups else None,
                "uptime_s": time.monotonic() - self._started_monotonic,
            }
