"""Recording events: a transactional outbox written inside the business transaction.

``record`` is called inside the transaction that makes the change (a claim, a
response, an order, a finished batch): the delivery rows commit or roll back with
it, so no event is lost and none is invented, and the send is queued only once the
transaction has committed.

Most merchants have no endpoint, and a claim must stay cheap, so which live endpoints
of a merchant subscribe to which event types is cached in the process for a few seconds
(``WEBHOOK_ENDPOINT_CACHE_SECONDS``): a merchant with none costs a dictionary
lookup. A new or changed endpoint takes effect at once in the process that made the
change and within that many seconds elsewhere.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core import redislink
from webhooks import delivery
from webhooks.models import WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

# merchant id -> (expires at, {event type: ids of the live endpoints subscribed to it})
_cache: dict[int, tuple[float, dict[str, tuple[int, ...]]]] = {}
_lock = threading.Lock()


def _subscriptions(merchant_id: int) -> dict[str, tuple[int, ...]]:
    """Each event type's live endpoints of the merchant (cached)."""
    now = time.monotonic()
    cached = _cache.get(merchant_id)
    if cached is not None and cached[0] > now:
        return cached[1]
    by_type: dict[str, list[int]] = {}
    for endpoint_id, types in WebhookEndpoint.objects.filter(
        merchant_id=merchant_id, is_active=True, deleted_at__isnull=True
    ).values_list("pk", "event_types"):
        for event_type in types:
            by_type.setdefault(event_type, []).append(endpoint_id)
    found = {t: tuple(sorted(ids)) for t, ids in by_type.items()}
    with _lock:
        _cache[merchant_id] = (now + settings.WEBHOOK_ENDPOINT_CACHE_SECONDS, found)
    return found


def listens(merchant_id: int, event_type: str) -> bool:
    """Whether a live endpoint of the merchant subscribes to ``event_type`` (cached)."""
    return event_type in _subscriptions(merchant_id)


def forget(merchant_id: int | None = None) -> None:
    """Drop the cached subscriptions (an endpoint of the merchant changed); of every
    merchant without one (a test whose endpoints were rolled back)."""
    with _lock:
        if merchant_id is None:
            _cache.clear()
        else:
            _cache.pop(merchant_id, None)


def subscribers(merchant_id: int, event_type: str) -> tuple[int, ...]:
    """The merchant's live endpoints subscribed to ``event_type`` (cached), for a SQL
    function that writes the outbox rows itself (campaigns_claim_code, decision 0329)."""
    return _subscriptions(merchant_id).get(event_type, ())


def envelope(
    event_id: uuid.UUID, event_type: str, created_at: datetime, data: Any
) -> dict[str, Any]:
    """An event as every endpoint receives it; ``data`` is the type's (webhooks.payloads)."""
    return {
        "id": str(event_id),
        "type": event_type,
        "createdAt": created_at.isoformat(),
        "data": data,
    }


def record(
    merchant_id: int, event_type: str, data: Callable[[], dict[str, Any]]
) -> list[WebhookDelivery]:
    """Write one delivery per live endpoint subscribed to ``event_type``; send on commit.

    ``data`` builds the event's payload; it is called only when someone listens.
    Call inside the business transaction.
    """
    # The endpoints come from the same cache as the subscriptions: an endpoint disabled
    # within the last few seconds may still get a delivery, which is never sent (the
    # sender takes only live endpoints' deliveries).
    endpoints = subscribers(merchant_id, event_type)
    if not endpoints:
        return []
    now = timezone.now()
    event_id = uuid.uuid4()
    payload = envelope(event_id, event_type, now, data())
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(
            merchant_id=merchant_id,
            endpoint_id=endpoint_id,
            event_id=event_id,
            event_type=event_type,
            payload=payload,
            next_attempt_at=now,
            created_at=now,
        )
        for endpoint_id in endpoints
    )
    wake_on_commit()
    return deliveries


# Seconds of commits one wake of the process serves (decision 0346).
WAKE_GATHER_SECONDS = 0.05


def wake_on_commit() -> None:
    """Once the transaction commits, wake the relay that sends due deliveries."""
    transaction.on_commit(_wake_soon)


def _wake_soon() -> None:
    from webhooks.tasks import relay

    if relay.app.conf.task_always_eager:
        # The relay runs in the committing thread, on its connection (tests, and the
        # demo without a broker): a thread of its own would not see that connection's work.
        _wake()
    else:
        # Not the request's round trip: the process's waker asks once for the moment's
        # commits (decision 0346).
        _waker.send(None)


class _Waker(redislink.Gatherer[None]):
    def handle(self, calls: list[None]) -> int:
        _wake()
        return len(calls)


_waker = _Waker(WAKE_GATHER_SECONDS, "webhook-relay-waker")


def _wake() -> None:
    from webhooks.tasks import relay

    try:
        if delivery.claim_wake():
            # Later, not now: the commits of the next moment find the flag set and share
            # this run (eagerly, in tests and the demo without Redis, it runs at once).
            relay.apply_async(countdown=settings.WEBHOOK_RELAY_DELAY_SECONDS)
    except Exception:
        # Redis or the broker is down: the rows are committed, the sweep sends them later.
        logger.exception("could not wake the webhook relay")
