"""A merchant asking for its own figures now (the console's "refresh").

The periodic rollup runs every 15 minutes for everyone; a merchant who just ran a
campaign wants today's figures without waiting. ``request_refresh`` queues a rollup of
that merchant only (``analytics.rollup.rollup_merchant``) from the last day the
periodic rollup completed to today, at most once per ``REFRESH_EVERY_SECONDS`` per
merchant (``RATE_LIMITED`` otherwise): a rebuild reads every award of the days, so
it is not something to run per click.
"""

from __future__ import annotations

from django.db import transaction

from analytics.tasks import rollup_merchant
from core import ratelimit

REFRESH_EVERY_SECONDS = 300


def request_refresh(merchant_id: int) -> None:
    """Queue the merchant's rollup once the request commits (RATE_LIMITED if it asked
    within the last ``REFRESH_EVERY_SECONDS``)."""
    ratelimit.check(f"analytics-refresh:{merchant_id}", 1, REFRESH_EVERY_SECONDS)
    transaction.on_commit(lambda: rollup_merchant.delay(merchant_id))
