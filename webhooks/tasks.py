"""Celery tasks for webhooks. They read only public tables, so they work in whatever
schema tenant-schemas-celery runs them in."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from webhooks import delivery


@shared_task(name="webhooks.tasks.relay", ignore_result=True)
def relay() -> int:
    """Send every due delivery in batches (woken by commits, retries and the sweep).

    Long countdowns are not left to Celery: with the Redis broker a task held past the
    visibility timeout is delivered again, and the database already knows when each
    delivery is due (the sweep queues the relay for those).
    """
    eager = relay.app.conf.task_always_eager  # eagerly it would run now, before it is due
    full_run = delivery.BATCHES_PER_RUN * delivery.BATCH  # more may be due after one
    attempted, _soonest = delivery.relay()
    if attempted >= full_run and not eager:
        relay.delay()  # more may be due: another turn (the flag kept), so others get theirs
        return attempted
    # Nothing more was due. From here a commit queues the next relay; one that met the
    # flag before this line committed before it too, so the look below sends its rows.
    delivery.clear_wake()
    more, _soonest = delivery.relay()
    if more >= full_run and not eager:
        relay.delay()
    retry_in = delivery.next_retry_in()
    if retry_in is not None and retry_in <= settings.WEBHOOK_CELERY_RETRY_MAX_SECONDS and not eager:
        relay.apply_async(countdown=retry_in)
    return attempted + more


@shared_task(name="webhooks.tasks.deliver", ignore_result=True)
def deliver(delivery_id: int) -> str:
    """One attempt at one delivery. Nothing queues it any more (the relay sends in
    batches, decision 0310); kept for one release so that tasks queued before an
    upgrade still run."""
    return delivery.attempt(delivery_id).status


@shared_task(name="webhooks.tasks.send_due")
def send_due() -> int:
    """Beat: wake the relay when a delivery is due (failed ones waiting for their retry,
    and any whose relay was lost). Safe to run often: attempts lease rows."""
    waiting = len(delivery.due())
    if waiting:
        relay.delay()
    return waiting
