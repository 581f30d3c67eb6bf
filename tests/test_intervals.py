"""Confidence intervals: Wilson's against hand-computed values."""

from __future__ import annotations

import math

import pytest

from app.core.analysis.intervals import wilson


def _roots(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson's bounds as the roots of (p - k/n)^2 = z^2 p (1 - p) / n, solved independently."""
    ph = k / n
    a, b, c = 1 + z * z / n, -(2 * ph + z * z / n), ph * ph
    d = math.sqrt(b * b - 4 * a * c)
    return ((-b - d) / (2 * a), (-b + d) / (2 * a))


@pytest.mark.parametrize(("k", "n"), [(81, 263), (1, 3), (1620, 1821), (50, 100)])
def test_wilson_is_the_root_of_its_defining_equation(k: int, n: int) -> None:
    assert wilson(k, n) == pytest.approx(_roots(k, n), abs=1e-12)
    assert wilson(81, 263) == pytest.approx((0.25529, 0.36621), abs=1e-5)  # by hand


def test_wilson_stays_inside_zero_and_one_at_the_edges() -> None:
    lo, hi = wilson(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.27753, abs=1e-4)
    lo, hi = wilson(10, 10)
    assert hi == 1.0 and lo == pytest.approx(0.72247, abs=1e-4)


def test_wilson_of_nothing_is_undefined_and_bad_counts_are_refused() -> None:
    assert all(math.isnan(v) for v in wilson(0, 0))
    with pytest.raises(ValueError):
        wilson(5, 3)
