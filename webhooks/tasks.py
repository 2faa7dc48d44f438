"""Celery tasks for webhooks. They read only public tables, so they work in whatever
schema tenant-schemas-celery runs them in."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from webhooks import delivery


@shared_task(name="webhooks.tasks.deliver", ignore_result=True)
def deliver(delivery_id: int) -> str:
    """One attempt; a soon retry is queued with a countdown, later ones wait for the sweep.

    Long countdowns are not left to Celery: with the Redis broker a task held past the
    visibility timeout is delivered again, and the database already knows when each
    delivery is due.
    """
    outcome = delivery.attempt(delivery_id)
    if (
        outcome.retry_in is not None
        and outcome.retry_in <= settings.WEBHOOK_CELERY_RETRY_MAX_SECONDS
        and not deliver.app.conf.task_always_eager  # eagerly it would run now, before it is due
    ):
        deliver.apply_async((delivery_id,), countdown=outcome.retry_in)
    return outcome.status


@shared_task(name="webhooks.tasks.send_due")
def send_due() -> int:
    """Beat: queue every delivery that is due (failed ones waiting for their retry,
    and any whose queued task was lost). Safe to run often: attempts lease rows."""
    ids = delivery.due()
    for delivery_id in ids:
        deliver.delay(delivery_id)
    return len(ids)
