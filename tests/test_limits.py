"""Every limit in one place (`app.core.common.limits`): defaults, validation, messages, the rate guard."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.common.limits import Limits, RateGuard, format_bytes, suppressed_note
from app.core.context.settings import SCHEMA_VERSION, Settings, load_settings, save_settings
from app.core.csvio import csv_input
from app.core.engine.scoring import DEFAULT_MAX_CHARS, Scorer


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_defaults_are_the_ones_the_app_uses():
    limits = Limits()
    assert limits.max_text_chars == DEFAULT_MAX_CHARS == 20_000
    assert inspect.signature(Scorer).parameters["max_chars"].default == limits.max_text_chars
    assert limits.max_field_chars == csv_input.DEFAULT_MAX_FIELD_CHARS
    default = inspect.signature(csv_input.iter_chunks).parameters["max_field_chars"].default
    assert default == limits.max_field_chars
    assert limits.warn_file_bytes == 500_000_000
    assert limits.max_concurrent_jobs == 1
    assert limits.max_logged_texts_per_minute == 60


@pytest.mark.parametrize("bad", [0, -1, True, 1.5, "3", None])
def test_a_limit_must_be_a_whole_number_of_at_least_one(bad):
    with pytest.raises(ValueError, match="max_concurrent_jobs"):
        Limits(max_concurrent_jobs=bad)


def test_limits_from_settings_and_unusable_values_keep_defaults():
    s = Settings(warn_file_bytes=1_000, max_concurrent_jobs=3, max_logged_texts_per_minute=5)
    limits = Limits.from_settings(s)
    assert (limits.warn_file_bytes, limits.max_concurrent_jobs) == (1_000, 3)
    assert limits.max_logged_texts_per_minute == 5
    assert limits.max_text_chars == Limits().max_text_chars  # not a setting: the default

    class Odd:
        warn_file_bytes = 0
        max_concurrent_jobs = True
        max_logged_texts_per_minute = "many"

    assert Limits.from_settings(Odd()) == Limits()
    assert Limits.from_settings(object()) == Limits()


def test_file_size_warning_only_above_the_limit():
    limits = Limits(warn_file_bytes=2_000_000)
    assert limits.file_size_warning(2_000_000) is None
    message = limits.file_size_warning(2_500_000)
    assert message and "2.5 MB" in message and "2.0 MB" in message and "still start" in message
    assert format_bytes(1_500_000_000) == "1.5 GB" and format_bytes(10) == "0.1 kB"


def test_queue_message_names_the_concurrency_limit():
    limits = Limits(max_concurrent_jobs=1)
    assert limits.queue_message(0) is None
    assert "at most 1 scoring job runs at a time" in (limits.queue_message(1) or "")
    assert "at most 2 scoring jobs run" in (Limits(max_concurrent_jobs=2).queue_message(2) or "")


def test_suppressed_note_wording():
    assert suppressed_note(1) == "1 further text scored but not logged individually (rate limit)"
    assert suppressed_note(1234).startswith("1,234 further texts scored")


# --- the rate guard ------------------------------------------------------------------------


def test_rate_guard_allows_up_to_the_limit_then_counts_what_it_refuses():
    clock = FakeClock()
    guard = RateGuard(3, window=60, clock=clock)
    assert [guard.allow() for _ in range(5)] == [True, True, True, False, False]
    assert guard.suppressed == 2
    assert guard.seconds_until_free() == pytest.approx(60)
    clock.now += 59.9
    assert not guard.allow() and guard.suppressed == 3
    clock.now += 0.1  # the first event leaves the window
    assert guard.seconds_until_free() == 0.0
    assert guard.allow()
    assert guard.take_suppressed() == 3 and guard.suppressed == 0 and guard.take_suppressed() == 0


def test_rate_guard_forced_events_count_against_the_window():
    clock = FakeClock()
    guard = RateGuard(2, window=10, clock=clock)
    guard.force()
    guard.force()
    assert not guard.allow() and guard.suppressed == 1
    clock.now += 10
    assert guard.allow()


@pytest.mark.parametrize("per_window, window", [(0, 60), (1, 0), (1, -5)])
def test_rate_guard_rejects_a_useless_configuration(per_window, window):
    with pytest.raises(ValueError):
        RateGuard(per_window, window=window)


@settings(max_examples=80, deadline=None)
@given(
    per_window=st.integers(1, 5),
    gaps=st.lists(st.floats(0, 30, allow_nan=False), min_size=1, max_size=60),
)
def test_rate_guard_never_exceeds_its_rate_and_loses_nothing(per_window, gaps):
    clock = FakeClock(0.0)
    guard = RateGuard(per_window, window=60, clock=clock)
    allowed: list[float] = []
    taken = 0
    for i, gap in enumerate(gaps):
        clock.now += gap
        if guard.allow():
            allowed.append(clock.now)
        if i % 7 == 6:
            taken += guard.take_suppressed()
    assert len(allowed) + taken + guard.suppressed == len(gaps)  # every event accounted for
    for t in allowed:  # in any 60 s window, at most per_window allowed
        assert sum(1 for u in allowed if t <= u < t + 60) <= per_window


# --- settings ------------------------------------------------------------------------------


def test_old_settings_files_without_limits_still_load(tmp_path: Path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"schema_version": SCHEMA_VERSION, "threshold": 0.3}))
    loaded = load_settings(path)
    assert loaded.problems == [] and loaded.threshold == 0.3
    assert Limits.from_settings(loaded) == Limits()


def test_limit_settings_round_trip_and_zero_falls_back(tmp_path: Path):
    path = tmp_path / "settings.json"
    original = Settings(warn_file_bytes=123, max_concurrent_jobs=2, max_logged_texts_per_minute=9)
    save_settings(original, path)
    assert load_settings(path) == original
    data = json.loads(path.read_text())
    data.update(max_concurrent_jobs=0, max_logged_texts_per_minute=False)
    path.write_text(json.dumps(data))
    loaded = load_settings(path)
    assert loaded.max_concurrent_jobs == 1 and loaded.max_logged_texts_per_minute == 60
    assert loaded.warn_file_bytes == 123
    assert len(loaded.problems) == 2
