"""The planning settings (prevalence, volume, capacity, band cut points): unset by default,
saved and loaded, each invalid value refused for that field only, crossing bands refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.core.context.settings import (
    SCHEMA_VERSION,
    Settings,
    apply_user_changes,
    load_settings,
    save_settings,
)

PLANNING = {
    "expected_prevalence": 0.05,
    "daily_volume": 12_000.0,
    "reviewers": 4,
    "items_per_reviewer_per_day": 250.0,
    "band_review_at": 0.3,
    "band_escalate_at": 0.8,
}


def write(path: Path, data: dict) -> Path:
    path.write_text(json.dumps({"schema_version": SCHEMA_VERSION, **data}), encoding="utf-8")
    return path


def test_planning_settings_are_unset_by_default() -> None:
    assert all(getattr(Settings(), name) is None for name in PLANNING)


def test_planning_settings_round_trip(tmp_path: Path) -> None:
    path = save_settings(Settings(**PLANNING), tmp_path / "settings.json")  # type: ignore[arg-type]
    loaded = load_settings(path)
    assert {name: getattr(loaded, name) for name in PLANNING} == PLANNING
    assert loaded.problems == []
    assert json.loads(path.read_text())["expected_prevalence"] == 0.05


def test_ints_are_taken_for_float_fields_and_none_is_unset(tmp_path: Path) -> None:
    data = {"daily_volume": 5000, "items_per_reviewer_per_day": 80, "band_review_at": None}
    loaded = load_settings(write(tmp_path / "settings.json", data))
    assert loaded.daily_volume == 5000.0 and isinstance(loaded.daily_volume, float)
    assert isinstance(loaded.items_per_reviewer_per_day, float)
    assert loaded.band_review_at is None and loaded.problems == []


BAD = [
    ("expected_prevalence", 0), ("expected_prevalence", 1), ("expected_prevalence", 1.5),
    ("expected_prevalence", "0.05"), ("expected_prevalence", True),
    ("daily_volume", 0), ("daily_volume", -10), ("daily_volume", "many"), ("daily_volume", {"a": 1}),
    ("reviewers", -1), ("reviewers", 2.5), ("reviewers", True), ("reviewers", 10**7),
    ("items_per_reviewer_per_day", -1), ("items_per_reviewer_per_day", [1]),
    ("band_review_at", 1.2), ("band_review_at", -0.1), ("band_escalate_at", "high"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "bad"), BAD)
def test_an_invalid_planning_value_falls_back_for_that_field_only(tmp_path, name, bad) -> None:
    data = dict(PLANNING, **{name: bad})
    loaded = load_settings(write(tmp_path / "settings.json", data))
    assert getattr(loaded, name) is None
    others = {k: getattr(loaded, k) for k in PLANNING if k != name}
    assert others == {k: v for k, v in PLANNING.items() if k != name}
    assert len(loaded.problems) == 1 and name in loaded.problems[0]


def test_crossing_band_cut_points_are_both_unset(tmp_path: Path) -> None:
    data = dict(PLANNING, band_review_at=0.9, band_escalate_at=0.4)
    loaded = load_settings(write(tmp_path / "settings.json", data))
    assert loaded.band_review_at is None and loaded.band_escalate_at is None
    assert len(loaded.problems) == 1 and "above band_escalate_at" in loaded.problems[0]
    assert loaded.expected_prevalence == 0.05


def test_a_file_with_crossing_bands_is_kept_aside_before_a_save(tmp_path: Path) -> None:
    path = write(
        tmp_path / "settings.json", dict(PLANNING, band_review_at=0.9, band_escalate_at=0.4)
    )
    original = path.read_bytes()
    save_settings(load_settings(path), path)
    kept = [p for p in tmp_path.iterdir() if p.name.startswith("settings.json.broken-")]
    assert len(kept) == 1 and kept[0].read_bytes() == original


def test_user_changes_validate_planning_values() -> None:
    settings = Settings()
    applied = apply_user_changes(settings, {"expected_prevalence": 0.02, "reviewers": 3})
    assert applied == {"expected_prevalence": (None, 0.02), "reviewers": (None, 3)}
    assert settings.expected_prevalence == 0.02 and settings.reviewers == 3
    for bad in ({"expected_prevalence": 0.0}, {"daily_volume": -1}, {"reviewers": 1.5}):
        with pytest.raises(ValueError):
            apply_user_changes(settings, bad)
    apply_user_changes(settings, {"band_review_at": 0.3, "band_escalate_at": 0.7})
    with pytest.raises(ValueError, match="above band_escalate_at"):
        apply_user_changes(settings, {"band_review_at": 0.8})
    assert settings.band_review_at == 0.3  # refused before anything changed
    assert apply_user_changes(settings, {"band_review_at": None}) == {"band_review_at": (0.3, None)}
