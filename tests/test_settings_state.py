"""Tests for app.core.context.settings, app.core.context.state and app.core.context.session (no Qt).

Settings must never stop the app: damaged files, wrong types and other schema versions give
defaults plus a readable problem. The state notifies observers exactly when something changed.
Session latency percentiles are numpy's, computed independently here.
"""

from __future__ import annotations

import json
import math
import os
import threading
from dataclasses import fields
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.activity.log import ActivityLog
from app.core.context.session import SessionMetrics
from app.core.context.settings import SCHEMA_VERSION, Settings, load_settings, save_settings
from app.core.context.state import AppContext, AppState

DEFAULTS = Settings()

# --- settings ----------------------------------------------------------------------------------


def custom_settings() -> Settings:
    return Settings(
        threshold=0.3,
        last_folder="/home/ana/Données",
        window_geometry="AdnQywADAAAAAA==",
        log_retention_days=30,
        store_raw_text=True,
        reference_threshold=0.6,
    )


def write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_round_trip_keeps_every_field_and_writes_the_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "config" / "settings.json"
    original = custom_settings()
    assert save_settings(original, path) == path
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["schema_version"] == SCHEMA_VERSION
    assert "problems" not in data
    loaded = load_settings(path)
    assert loaded == original and loaded.problems == []
    assert os.listdir(path.parent) == ["settings.json"]  # atomic: no temporary left


@settings(max_examples=60, deadline=None)
@given(
    threshold=st.floats(0, 1),
    reference=st.floats(0, 1),
    days=st.integers(1, 36_500),
    raw=st.booleans(),
    folder=st.text(max_size=40),
)
def test_round_trip_of_any_valid_settings(
    tmp_path_factory, threshold, reference, days, raw, folder
):
    path = tmp_path_factory.mktemp("s") / "settings.json"
    original = Settings(
        threshold=threshold,
        reference_threshold=reference,
        log_retention_days=days,
        store_raw_text=raw,
        last_folder=folder,
    )
    save_settings(original, path)
    loaded = load_settings(path)
    assert loaded == original and not loaded.problems


def test_missing_file_gives_defaults_without_problems(tmp_path: Path) -> None:
    loaded = load_settings(tmp_path / "nope.json")
    assert loaded == DEFAULTS and loaded.problems == []


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{",
        b'{"threshold": 0.3,',
        b"\xff\xfe\x00garbage",
        b"[1, 2]",
        b'"a string"',
        b"null",
        b"NaN",
        b"[" * 100_000 + b"]" * 100_000,
    ],
    ids=["empty", "brace", "truncated", "binary", "list", "string", "null", "nan", "nested"],
)
def test_damaged_files_give_defaults_and_a_problem(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "settings.json"
    path.write_bytes(content)
    loaded = load_settings(path)
    assert loaded == DEFAULTS
    assert len(loaded.problems) == 1 and "using defaults" in loaded.problems[0]


def test_a_folder_in_place_of_the_file_gives_defaults(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.mkdir()
    loaded = load_settings(path)
    assert loaded == DEFAULTS and loaded.problems


BAD_VALUES = [
    ("threshold", "0.5"),
    ("threshold", 1.5),
    ("threshold", -0.01),
    ("threshold", True),
    ("threshold", None),
    ("reference_threshold", [0.5]),
    ("log_retention_days", -1),
    ("log_retention_days", 0),
    ("log_retention_days", 2.5),
    ("log_retention_days", "30"),
    ("log_retention_days", 10**30),
    ("log_retention_days", False),
    ("store_raw_text", "yes"),
    ("store_raw_text", 1),
    ("last_folder", 5),
    ("window_geometry", {"x": 1}),
]


@pytest.mark.parametrize("name, bad", BAD_VALUES)
def test_a_wrong_value_falls_back_for_that_field_only(tmp_path: Path, name: str, bad) -> None:
    data = {"schema_version": SCHEMA_VERSION, **custom_settings().to_json(), name: bad}
    loaded = load_settings(write(tmp_path / "settings.json", data))
    expected = custom_settings()
    setattr(expected, name, getattr(DEFAULTS, name))
    assert loaded == expected
    assert len(loaded.problems) == 1 and name in loaded.problems[0]


def test_ints_are_accepted_for_float_fields_and_unknown_keys_ignored(tmp_path: Path) -> None:
    data = {"schema_version": SCHEMA_VERSION, "threshold": 1, "colour": "blue"}
    loaded = load_settings(write(tmp_path / "settings.json", data))
    assert loaded.threshold == 1.0 and isinstance(loaded.threshold, float)
    assert loaded.problems == []


@pytest.mark.parametrize("version", [2, 0, "1", None, True, "missing"])
def test_another_schema_version_gives_defaults_and_a_problem(tmp_path: Path, version) -> None:
    data = custom_settings().to_json()
    if version == "missing":
        del data["schema_version"]
    else:
        data["schema_version"] = version
    loaded = load_settings(write(tmp_path / "settings.json", data))
    assert loaded == DEFAULTS
    assert len(loaded.problems) == 1 and "schema version" in loaded.problems[0]


def test_problems_are_not_saved_and_do_not_affect_equality(tmp_path: Path) -> None:
    noisy = Settings(problems=["something happened"])
    assert noisy == Settings()
    path = save_settings(noisy, tmp_path / "settings.json")
    assert load_settings(path).problems == []
    in_memory_only = {"problems", "threshold_fallback"}  # what this run found, not a choice
    assert {f.name for f in fields(Settings)} - in_memory_only < set(noisy.to_json())
    assert not in_memory_only & set(noisy.to_json())


# --- application state -------------------------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    def __call__(self, name: str, value: object) -> None:
        self.calls.append((name, value))


def test_observers_hear_their_field_or_everything() -> None:
    state = AppState()
    everything, threshold_only, scorer_only = Recorder(), Recorder(), Recorder()
    state.observe(everything)
    state.observe(threshold_only, "threshold")
    state.observe(scorer_only, "scorer")
    scorer = object()
    state.set_threshold(0.3)
    state.set_scorer(scorer)
    state.job_started()
    assert everything.calls == [("threshold", 0.3), ("scorer", scorer), ("running_jobs", 1)]
    assert threshold_only.calls == [("threshold", 0.3)]
    assert scorer_only.calls == [("scorer", scorer)]
    assert state.threshold == 0.3 and state.scorer is scorer


def test_unsubscribe_stops_notifications_and_is_idempotent() -> None:
    state = AppState()
    first, second = Recorder(), Recorder()
    remove_first = state.observe(first)
    state.observe(second)
    remove_first()
    remove_first()  # a panel closing twice must not raise or remove someone else
    state.set_threshold(0.2)
    assert first.calls == [] and second.calls == [("threshold", 0.2)]


def test_no_notification_when_nothing_changed() -> None:
    scorer = object()
    state = AppState(scorer=scorer, threshold=0.45)
    seen = Recorder()
    state.observe(seen)
    state.set_threshold(0.45)
    state.set_scorer(scorer)
    state.job_finished()  # already 0: stays 0
    assert seen.calls == []
    state.set_scorer(object())
    assert len(seen.calls) == 1


def test_threshold_is_kept_exactly() -> None:
    """A finder's exact threshold must not drift when applied (a score could sit in between)."""
    state = AppState(threshold=0.45)
    state.set_threshold(0.4500000001)
    assert state.threshold == 0.4500000001


@pytest.mark.parametrize("bad", [-0.01, 1.01, math.nan, math.inf, -math.inf])
def test_threshold_is_validated(bad: float) -> None:
    state = AppState(threshold=0.45)
    seen = Recorder()
    state.observe(seen)
    with pytest.raises(ValueError, match="between 0 and 1"):
        state.set_threshold(bad)
    assert state.threshold == 0.45 and seen.calls == []
    state.set_threshold(0)
    state.set_threshold(1)
    assert seen.calls == [("threshold", 0.0), ("threshold", 1.0)]


def test_running_jobs_count_never_goes_negative() -> None:
    state = AppState()
    state.job_started()
    state.job_started()
    state.job_finished()
    state.job_finished()
    state.job_finished()
    assert state.running_jobs == 0


def test_a_failing_observer_does_not_starve_the_others() -> None:
    state = AppState()
    after = Recorder()

    def broken(name: str, value: object) -> None:
        raise RuntimeError("panel bug")

    state.observe(broken)
    state.observe(after)
    with pytest.raises(RuntimeError, match="panel bug"):
        state.set_threshold(0.7)
    assert after.calls == [("threshold", 0.7)] and state.threshold == 0.7


def test_context_log_stamps_model_and_threshold(tmp_path: Path) -> None:
    activity = ActivityLog.open_default(tmp_path)
    try:
        scorer = SimpleNamespace(version_label="abuse-lr 1.0.0")
        ctx = AppContext(AppState(scorer=scorer, threshold=0.4), Settings(), activity, None)
        event = ctx.log("score_text", text="hi", score=0.2)
        assert (event.model_version, event.threshold) == ("abuse-lr 1.0.0", 0.4)
        explicit = ctx.log("export", model_version="other 2.0", threshold=0.9)
        assert (explicit.model_version, explicit.threshold) == ("other 2.0", 0.9)
        ctx.state.set_scorer(None)
        assert ctx.log("app_started").model_version is None
        assert [e.model_version for e in activity.query()] == [None, "other 2.0", "abuse-lr 1.0.0"]
    finally:
        activity.close()


# --- session metrics ---------------------------------------------------------------------------


def test_empty_session_has_no_rates() -> None:
    snap = SessionMetrics().snapshot()
    assert snap["texts_scored"] == snap["batches_run"] == snap["batch_rows_scored"] == 0
    for key in ("batch_rows_per_s", "latency_p50_ms", "latency_p95_ms", "flag_rate"):
        assert snap[key] is None, key
    assert 0 <= float(snap["uptime_s"] or 0) < 60


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.floats(0, 5, allow_nan=False), min_size=1, max_size=300),
    st.lists(st.booleans(), min_size=1, max_size=300),
)
def test_latency_percentiles_equal_numpys(latencies: list[float], flags: list[bool]) -> None:
    metrics = SessionMetrics()
    for i, latency in enumerate(latencies):
        metrics.record_text(latency, flags[i % len(flags)])
    snap = metrics.snapshot()
    ms = np.asarray(latencies) * 1000
    assert snap["latency_p50_ms"] == pytest.approx(np.percentile(ms, 50), rel=1e-12, abs=1e-12)
    assert snap["latency_p95_ms"] == pytest.approx(np.percentile(ms, 95), rel=1e-12, abs=1e-12)
    flagged = sum(flags[i % len(flags)] for i in range(len(latencies)))
    assert snap["flag_rate"] == pytest.approx(flagged / len(latencies))
    assert snap["texts_scored"] == len(latencies)


def test_batches_give_throughput_and_join_the_flag_rate() -> None:
    metrics = SessionMetrics()
    metrics.record_batch(1000, 100, 2.0)
    metrics.record_batch(500, 50, 0.5)
    metrics.record_text(0.01, True)
    snap = metrics.snapshot()
    assert snap["batches_run"] == 2 and snap["batch_rows_scored"] == 1500
    assert snap["batch_rows_per_s"] == pytest.approx(1500 / 2.5)
    assert snap["flag_rate"] == pytest.approx(151 / 1501)
    assert snap["texts_scored"] == 1


def test_latency_memory_is_bounded_and_keeps_the_recent_window() -> None:
    metrics = SessionMetrics()
    for i in range(25_000):
        metrics.record_text(i / 1000, False)
    snap = metrics.snapshot()
    assert snap["texts_scored"] == 25_000
    assert len(metrics._latencies) <= 10_000
    recent = np.arange(25_000 - len(metrics._latencies), 25_000, dtype=float)  # in ms
    assert snap["latency_p50_ms"] == pytest.approx(np.percentile(recent, 50))


def test_recording_from_many_threads_loses_nothing() -> None:
    metrics = SessionMetrics()

    def work() -> None:
        for _ in range(2_000):
            metrics.record_text(0.001, True)
            metrics.record_batch(2, 1, 0.001)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    snap = metrics.snapshot()
    assert snap["texts_scored"] == 8_000 and snap["batches_run"] == 8_000
    assert snap["batch_rows_scored"] == 16_000
