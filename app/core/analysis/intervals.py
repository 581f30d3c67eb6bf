"""Confidence intervals of the rates the app reports.

Wilson's score interval where a rate is one binomial proportion (recall = caught / abusive,
precision = caught / flagged): it stays inside [0, 1] and behaves at 0 and n, where the normal
approximation does not. Bootstrap intervals (resampling the data source) live beside it for
quantities that are not one proportion (counts re-weighted to a prevalence, a finder's threshold).
"""

from __future__ import annotations

import math

Z95 = 1.959963984540054  # the standard normal's 97.5th percentile
SMALL_CELL = 30  # a confusion-matrix cell with fewer items than this carries a warning


def wilson(successes: float, trials: float, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of ``successes / trials`` (95 % by default); ``(nan, nan)`` when
    there are no trials (the rate is undefined, so is its interval)."""
    if trials < 0 or successes < 0 or successes > trials:
        raise ValueError(f"wilson: need 0 <= successes <= trials, got {successes}/{trials}")
    if trials == 0:
        return (math.nan, math.nan)
    p = successes / trials
    z2 = z * z
    centre = (p + z2 / (2 * trials)) / (1 + z2 / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / (1 + z2 / trials)
    # at 0 and n the bounds are exactly 0 and 1 (rounding would leave 1 - 1e-16)
    lo = 0.0 if successes == 0 else max(0.0, centre - half)
    hi = 1.0 if successes == trials else min(1.0, centre + half)
    return (lo, hi)
