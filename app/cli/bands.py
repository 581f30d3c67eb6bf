"""``--bands REVIEW ESCALATE`` / ``--no-bands`` of ``score`` and ``score-text``: the three-band
policy (clear / review / escalate, `app.core.analysis.bands`) a run reports beside the
threshold's label. Without either, the settings' policy (``band_review_at``, ``band_escalate_at``)
is used when both are set.
"""

from __future__ import annotations

import argparse
from typing import Any

from app import APP_NAME
from app.cli.common import threshold_arg

BANDS_HELP = (
    "also give each row a band: clear below REVIEW, review from REVIEW, escalate from ESCALATE "
    "(default: the settings' band policy, if set); the label stays the threshold's decision"
)


def add_band_args(p: argparse.ArgumentParser) -> None:
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--bands",
        nargs=2,
        type=threshold_arg,
        metavar=("REVIEW", "ESCALATE"),
        help=BANDS_HELP,
    )
    group.add_argument(
        "--no-bands", action="store_true", help="no band, even if the settings set a policy"
    )


def bands_refusal(args: argparse.Namespace) -> str | None:
    """One line refusing a crossed ``--bands`` (a usage error), or None."""
    given = getattr(args, "bands", None)
    if given is None or given[0] <= given[1]:
        return None
    return (
        f"{APP_NAME} {args.command}: error: argument --bands: REVIEW ({given[0]:g}) must not be "
        f"above ESCALATE ({given[1]:g})"
    )


def band_policy(args: argparse.Namespace, ctx: Any) -> tuple[float, float] | None:
    """The run's policy: --no-bands, --bands, else the settings' (both cut points set), else None.

    The settings loader has already refused a crossed or out-of-range pair (`settings._check_bands`),
    and BandPolicy checks again, so a policy used here is always a valid one.
    """
    from app.core.analysis.bands import BandPolicy

    if getattr(args, "no_bands", False):
        return None
    given = getattr(args, "bands", None)
    if given is None:
        review, escalate = ctx.settings.band_review_at, ctx.settings.band_escalate_at
        if review is None or escalate is None:
            return None
        given = (review, escalate)
    policy = BandPolicy(float(given[0]), float(given[1]))
    return policy.review_at, policy.escalate_at
