"""Drawing a stratified audit sample from the scores of a batch, reproducibly from a seed.

Why strata. A day's traffic is mostly clearly benign, so a simple random sample of a few hundred
items holds a handful of flagged ones and says almost nothing about precision, and nothing at all
about the items whose decision is closest to changing. The batch is therefore cut into four score
bands relative to the decision threshold T (``margin`` m, default 0.1):

* ``clear_low``   score < T − m       most of the traffic; sampled a little (its misses matter
                                      for recall, so it is never left out);
* ``below_t``     T − m ≤ score < T   the items a lower threshold would flag;
* ``above_t``     T ≤ score < T + m   the flagged items a higher threshold would clear;
* ``high``        score ≥ T + m       the bulk of the flagged items: what precision rests on.

The two bands next to T get the largest share of the sample (`SHARES`), the high band the next;
every non-empty band gets at least `MIN_PER_STRATUM` items (or all of them, if fewer), so that no
part of the batch is unrepresented. The shares are then filled exactly to the requested size by
largest remainders; a band smaller than its share is taken whole and its surplus goes to the
others. Items are drawn without replacement within each band.

Each sampled item carries its band's name (`audit_stratum`) and inclusion weight
``audit_weight = N_h / n_h`` (band size over items drawn from it): the number of batch items it
stands for. Weighted counts add up to the batch; unweighted ones over-represent the bands next to
T and the high band, which is why estimates must use the weights (`app.core.audit.estimate`).

Rows without a score (blank texts; rejected rows are not in a scored file at all) are not in the
population: they are counted (`AuditSample.left_out`) and never sampled. A batch with no more
scored rows than the requested size is taken whole, every weight 1. The decision rule at the band
edges is the app's (`app.core.engine.scoring.flagged`: flagged iff score ≥ T).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from app.core.common.errors import InputError

STRATA = ("clear_low", "below_t", "above_t", "high")
# Share of the sample each band gets before caps and minimums: half next to T, 30% in high.
SHARES = {"clear_low": 0.2, "below_t": 0.25, "above_t": 0.25, "high": 0.3}
MIN_PER_STRATUM = 10
DEFAULT_MARGIN = 0.1
MAX_SEED = 2**63 - 1


@dataclass(frozen=True)
class StratumBounds:
    """One band: scores in [low, high) (``high`` band: [low, 1])."""

    name: str
    low: float
    high: float


@dataclass
class AuditSample:
    """A drawn sample: positions into the scored population, in ascending order."""

    indices: np.ndarray  # int64 positions into the `scores` array given to `draw_sample`
    strata: list[str]  # each sampled item's band
    weights: np.ndarray  # each sampled item's N_h / n_h
    population: dict[str, int]  # N_h of every band (0 for an empty one), in `STRATA` order
    sampled: dict[str, int]  # n_h of every band
    threshold: float
    margin: float
    seed: int
    size_requested: int
    left_out: int = 0  # rows without a score (blank text): not in the population
    bounds: list[StratumBounds] = field(default_factory=list)

    @property
    def weight_of(self) -> dict[str, float]:
        """N_h / n_h of every sampled band."""
        return {h: self.population[h] / n for h, n in self.sampled.items() if n}


def stratum_bounds(threshold: float, margin: float = DEFAULT_MARGIN) -> list[StratumBounds]:
    """The four bands for threshold T (edges clipped to [0, 1]; a band may then be empty)."""
    if not (0.0 <= threshold <= 1.0) or not (0.0 < margin <= 1.0):
        raise InputError(
            f"audit bands need 0 ≤ T ≤ 1 and 0 < margin ≤ 1 (T={threshold}, m={margin})"
        )
    lo, hi = max(0.0, threshold - margin), min(1.0, threshold + margin)
    edges = [-math.inf, lo, threshold, hi, math.inf]
    return [StratumBounds(h, edges[i], edges[i + 1]) for i, h in enumerate(STRATA)]


def assign_strata(
    scores: np.ndarray, threshold: float, margin: float = DEFAULT_MARGIN
) -> np.ndarray:
    """The band index (0..3, `STRATA` order) of each score; -1 for NaN (no score)."""
    scores = np.asarray(scores, dtype=np.float64)
    bounds = stratum_bounds(threshold, margin)
    # searchsorted with side="right" puts a score equal to an edge in the band above it: the
    # same "score ≥ T is flagged" rule as the app's decisions.
    edges = np.array([b.low for b in bounds[1:]])
    out = np.searchsorted(edges, scores, side="right").astype(np.int64)
    out[np.isnan(scores)] = -1
    return out


def minimum_size(sizes: dict[str, int]) -> int:
    """The smallest sample `allocate` accepts for bands of these sizes: `MIN_PER_STRATUM` rows
    of every non-empty band (all of a smaller one), or the whole batch if it is smaller."""
    return min(sum(sizes.values()), sum(min(n, MIN_PER_STRATUM) for n in sizes.values()))


def allocate(sizes: dict[str, int], size: int) -> dict[str, int]:
    """How many items to draw from each band: exactly ``size`` in all when the bands hold more
    (see the module docstring), every band whole when they hold no more."""
    total = sum(sizes.values())
    if total <= size:
        return dict(sizes)
    filled = [h for h in STRATA if sizes.get(h, 0) > 0]
    least = minimum_size(sizes)
    if size < least:
        # Fewer than MIN_PER_STRATUM rows in a band gives intervals that say nothing (the
        # bootstrap of 2 or 3 verdicts): refused, as the README promises every band 10 rows.
        raise InputError(
            f"an audit sample of {size} cannot give each of the {len(filled)} non-empty score "
            f"bands {MIN_PER_STRATUM} rows (or all of a smaller band); ask for at least {least}"
        )
    floor = MIN_PER_STRATUM
    alloc = {h: min(sizes.get(h, 0), floor) if h in filled else 0 for h in STRATA}
    left = size - sum(alloc.values())
    while left > 0:  # each round fills at least one band or places every remaining item
        open_ = [h for h in filled if alloc[h] < sizes[h]]
        share = sum(SHARES[h] for h in open_)
        want = {h: left * SHARES[h] / share for h in open_}
        give = {h: min(int(want[h]), sizes[h] - alloc[h]) for h in open_}
        placed = sum(give.values())
        # Largest remainders for the items the whole parts did not place (stable order on ties).
        for h in sorted(open_, key=lambda h: -(want[h] - int(want[h]))):
            if placed >= left:
                break
            if alloc[h] + give[h] < sizes[h]:
                give[h] += 1
                placed += 1
        for h in open_:
            alloc[h] += give[h]
        left -= placed
    return alloc


def draw_sample(
    scores: np.ndarray,
    size: int,
    *,
    threshold: float,
    seed: int,
    margin: float = DEFAULT_MARGIN,
) -> AuditSample:
    """A stratified sample of ``size`` items of `scores` (NaN: no score, left out); the same
    scores, size, threshold, margin and seed always give the same sample."""
    if size < 1:
        raise InputError(f"the audit sample size must be 1 or more, got {size}")
    if not 0 <= seed <= MAX_SEED:
        raise InputError(f"the seed must be a whole number from 0 to {MAX_SEED}, got {seed}")
    scores = np.asarray(scores, dtype=np.float64)
    band = assign_strata(scores, threshold, margin)
    members = {h: np.flatnonzero(band == i) for i, h in enumerate(STRATA)}
    population = {h: int(members[h].size) for h in STRATA}
    if sum(population.values()) == 0:
        raise InputError("the batch has no scored row to sample")
    alloc = allocate(population, size)
    rng = np.random.default_rng(seed)
    picked, names, weights = [], [], []
    for h in STRATA:  # a fixed order, so the seed alone decides the draw
        n = alloc[h]
        if n == 0:
            continue
        chosen = rng.choice(members[h], size=n, replace=False) if n < population[h] else members[h]
        picked.append(np.asarray(chosen, dtype=np.int64))
        names.extend([h] * n)
        weights.extend([population[h] / n] * n)
    indices = np.concatenate(picked)
    order = np.argsort(indices, kind="stable")  # the batch's own order, for the reviewer
    return AuditSample(
        indices=indices[order],
        strata=[names[i] for i in order],
        weights=np.asarray(weights, dtype=np.float64)[order],
        population=population,
        sampled=alloc,
        threshold=threshold,
        margin=margin,
        seed=seed,
        size_requested=size,
        left_out=int(np.count_nonzero(band < 0)),
        bounds=stratum_bounds(threshold, margin),
    )
