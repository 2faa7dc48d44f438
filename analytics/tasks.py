"""The periodic rollup. Runs in the public schema: the ledger and the summaries are shared."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task


@shared_task(name="analytics.tasks.rollup")
def rollup() -> str | None:
    """Rebuild the summaries from the last completed day to today (idempotent)."""
    from analytics.rollup import pending_range
    from analytics.rollup import rollup as run

    pending = pending_range()
    if pending is None:
        return None
    result = run(*pending)
    return f"{result.first}..{result.last} in {result.seconds:.1f}s"


@shared_task(name="analytics.tasks.rollup_merchant")
def rollup_merchant(merchant_id: int) -> str:
    """Rebuild one merchant's summaries from the last completed day to today."""
    from analytics.rollup import pending_range, today
    from analytics.rollup import rollup_merchant as run
    from core.db import connection

    # The summaries are public tables, whichever merchant's request queued this.
    connection.set_schema_to_public()
    last = today()
    first, last = pending_range() or (last - timedelta(days=1), last)
    result = run(merchant_id, first, last)
    return f"merchant {merchant_id} {result.first}..{result.last} in {result.seconds:.1f}s"
