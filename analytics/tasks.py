"""The periodic rollup. Runs in the public schema: the ledger and the summaries are shared."""

from __future__ import annotations

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
