"""Sending deliveries: lease them, POST them signed, record the outcome, schedule a retry.

At-least-once: a delivery is sent until an endpoint answers 2xx (or the attempts
run out). An attempt takes its rows with a conditional update that pushes
``next_attempt_at`` forward by a lease, so the relay, a Celery retry and the periodic
sweep never send one at the same time; a worker that dies mid-send leaves the lease
to expire and the sweep sends it again. A receiver can still see an event twice (its
2xx lost on the way back, or a lease outlived): it dedupes by ``webhook-id``.

Deliveries go out in batches (decision 0310): a committed event wakes the relay
(one ``SET NX`` in Redis a moment, asked by a thread of the process, decision 0346; not
one Celery task per event), which leases up to
``BATCH`` due deliveries at a time and sends each endpoint's over one kept-alive
connection. One task and one TCP connection per event cost the worker three times
what the claim that made the event cost the web server (docs/benchmarks.md).

The wake flag stands while a relay is queued *or running* and the relay is queued a
moment after the first commit (``WEBHOOK_RELAY_DELAY_SECONDS``), so that under load
one Celery publish serves every commit of that moment (decision 0328). The relay
clears the flag when it has found nothing more to send and then looks once more: a
commit that met the flag before it was cleared has its rows sent by that look.
"""

from __future__ import annotations

import http.client
import json
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from core import redislink
from webhooks import signing
from webhooks.models import DeliveryStatus, WebhookDelivery

logger = logging.getLogger(__name__)

LEASE_SECONDS = 120  # longer than any attempt (the HTTP timeout is far below it)
RETRYABLE = (DeliveryStatus.PENDING, DeliveryStatus.FAILED)
BATCH = 100  # deliveries leased at once by the relay
BATCHES_PER_RUN = 20  # then the relay queues itself again, so other tasks get their turn
WAKE_KEY = "webhooks:relay-queued"
# While a relay task is queued or running, commits do not queue another. Should that
# task be lost, the flag expires and the next commit (or the sweep) queues one; a run
# longer than this lets a second relay start beside it (they lease different rows).
WAKE_SECONDS = 5


def backoff_seconds(attempts: int, rng: random.Random | None = None) -> float:
    """Delay before the next attempt after ``attempts`` failed ones.

    Exponential (base x 2^(n-1)) capped at ``WEBHOOK_RETRY_MAX_SECONDS``, with "equal
    jitter": half of it fixed, half random, so endpoints that come back are not hit by
    every merchant's backlog in the same second.
    """
    ceiling = min(
        settings.WEBHOOK_RETRY_MAX_SECONDS,
        settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0),
    )
    return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)


def body_of(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Leased:
    """A delivery taken for one attempt, with what sending it needs."""

    id: int
    event_id: str
    event_type: str
    payload: Any
    attempts: int  # this attempt's number
    endpoint_id: int
    url: str
    secret: str


@dataclass(frozen=True)
class Outcome:
    status: str  # a DeliveryStatus, or "skipped" when the delivery was not due
    retry_in: float | None = None


# One statement leases the rows and returns what sending them needs. SKIP LOCKED: two
# relays running at once take different rows instead of waiting for each other.
_LEASE_SQL = """
UPDATE webhooks_webhookdelivery AS d
   SET next_attempt_at = %(lease_until)s, attempts = d.attempts + 1, last_attempt_at = %(now)s
  FROM webhooks_webhookendpoint AS e
 WHERE e.id = d.endpoint_id
   AND d.id IN (
       SELECT due.id
         FROM webhooks_webhookdelivery AS due
         JOIN webhooks_webhookendpoint AS live ON live.id = due.endpoint_id
        WHERE due.status IN ('pending', 'failed')
          AND due.next_attempt_at <= %(now)s
          AND live.is_active AND live.deleted_at IS NULL
          {only}
        ORDER BY due.next_attempt_at
        LIMIT %(limit)s
          FOR UPDATE OF due SKIP LOCKED)
RETURNING d.id, d.event_id, d.event_type, d.payload::text, d.attempts, e.id, e.url, e.secret
"""


def _lease(limit: int, delivery_id: int | None = None) -> list[Leased]:
    now = timezone.now()
    params: dict[str, Any] = {
        "now": now,
        "lease_until": now + timedelta(seconds=LEASE_SECONDS),
        "limit": limit,
        "id": delivery_id,
    }
    only = "AND due.id = %(id)s" if delivery_id is not None else ""
    with connection.cursor() as cursor:
        cursor.execute(_LEASE_SQL.format(only=only), params)
        rows = cursor.fetchall()
    leased = [
        Leased(row[0], str(row[1]), row[2], json.loads(row[3]), row[4], row[5], row[6], row[7])
        for row in rows
    ]
    # The oldest first, each endpoint's together (RETURNING keeps no order).
    return sorted(leased, key=lambda d: (d.endpoint_id, d.id))


# What a kept-alive connection the server closed meanwhile raises on its next request.
_STALE = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)


class _Sender:
    """POSTs over one kept-alive connection per origin for the length of a batch.

    Redirects are not followed (``http.client`` never does): one could point the signed
    request at an internal address; a 3xx counts as a failure.
    """

    def __init__(self) -> None:
        self._connections: dict[tuple[str, str], http.client.HTTPConnection] = {}

    def close(self) -> None:
        for conn in self._connections.values():
            conn.close()
        self._connections.clear()

    def post(self, url: str, headers: dict[str, str], body: bytes) -> tuple[int | None, str]:
        """POST; (HTTP status or None, error text or "")."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return None, f"unsupported URL {url[:200]}"
        origin = (parts.scheme, parts.netloc)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        while True:
            reused = origin in self._connections
            try:
                return self._send(origin, path, headers, body)
            except (OSError, http.client.HTTPException, ValueError) as exc:
                self._drop(origin)
                if not (reused and isinstance(exc, _STALE)):
                    return None, str(exc)[:300] or exc.__class__.__name__
                # A kept-alive connection the server had closed: once more on a fresh one
                # (dropped above, so at most twice; the receiver dedupes by event id should
                # the first have arrived after all).

    def _send(
        self, origin: tuple[str, str], path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int | None, str]:
        conn = self._connections.get(origin)
        if conn is None:
            scheme, netloc = origin
            timeout = settings.WEBHOOK_TIMEOUT_SECONDS
            conn = (
                http.client.HTTPSConnection(netloc, timeout=timeout)
                if scheme == "https"
                else http.client.HTTPConnection(netloc, timeout=timeout)
            )
            self._connections[origin] = conn
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        response.read(1024)  # the body is not used; read a little so keep-alive is clean
        if not response.isclosed():
            # More than we read: this connection cannot be reused.
            self._drop(origin)
        status = response.status
        return status, "" if 200 <= status < 300 else f"HTTP {status}"

    def _drop(self, origin: tuple[str, str]) -> None:
        conn = self._connections.pop(origin, None)
        if conn is not None:
            conn.close()


def _headers(delivery: Leased, body: bytes, timestamp: int) -> dict[str, str]:
    return {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "LoyaltyWebhooks/1",
        **signing.standard_headers(delivery.secret, delivery.event_id, timestamp, body),
        # The earlier signature, kept for one release (decision 0238).
        signing.SIGNATURE_HEADER: signing.sign(delivery.secret, body, timestamp),
        signing.EVENT_ID_HEADER: delivery.event_id,
        signing.EVENT_TYPE_HEADER: delivery.event_type,
        signing.DELIVERY_ID_HEADER: str(delivery.id),
        signing.ATTEMPT_HEADER: str(delivery.attempts),
    }


def _send_all(leased: Sequence[Leased]) -> list[Outcome]:
    """Send the leased deliveries and record each outcome; one outcome per delivery."""
    sender = _Sender()
    outcomes: list[Outcome] = []
    succeeded: dict[int, list[int]] = {}  # HTTP status -> deliveries
    down: dict[int, str] = {}  # endpoint id -> why it could not be reached in this batch
    try:
        for delivery in leased:
            if delivery.endpoint_id in down:
                # Unreachable a moment ago: not waited for again (a timeout would hold
                # every other merchant's deliveries); this attempt fails with the same.
                code, error = None, down[delivery.endpoint_id]
            else:
                body = body_of(delivery.payload)
                timestamp = int(timezone.now().timestamp())
                code, error = sender.post(delivery.url, _headers(delivery, body, timestamp), body)
                if code is None:
                    down[delivery.endpoint_id] = error
            if code is not None and 200 <= code < 300:
                succeeded.setdefault(code, []).append(delivery.id)
                outcomes.append(Outcome(DeliveryStatus.SUCCEEDED))
            else:
                outcomes.append(_fail(delivery, code, error))
    finally:
        sender.close()
    done = timezone.now()
    for code, ids in succeeded.items():  # one statement per status (all 200, as a rule)
        WebhookDelivery.objects.filter(pk__in=ids).update(
            status=DeliveryStatus.SUCCEEDED,
            next_attempt_at=None,
            delivered_at=done,
            last_status_code=code,
            last_error="",
        )
    return outcomes


def _fail(delivery: Leased, code: int | None, error: str) -> Outcome:
    done = timezone.now()
    retry_in: float | None
    next_at: datetime | None
    if delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        status, retry_in, next_at = DeliveryStatus.DEAD, None, None
    else:
        retry_in = backoff_seconds(delivery.attempts)
        status, next_at = DeliveryStatus.FAILED, done + timedelta(seconds=retry_in)
    WebhookDelivery.objects.filter(pk=delivery.id).update(
        status=status, next_attempt_at=next_at, last_status_code=code, last_error=error[:300]
    )
    logger.info("webhook delivery %s attempt %s failed: %s", delivery.id, delivery.attempts, error)
    return Outcome(status, retry_in)


def attempt(delivery_id: int) -> Outcome:
    """One attempt at one delivery if it is due and its endpoint is live."""
    leased = _lease(1, delivery_id)
    if not leased:
        return Outcome("skipped")
    return _send_all(leased)[0]


def relay(batches: int = BATCHES_PER_RUN) -> tuple[int, float | None]:
    """Send what is due, a batch at a time, up to ``batches`` batches.

    Returns how many were attempted and the soonest retry among this run's failures.
    """
    attempted = 0
    soonest: float | None = None
    for _ in range(batches):
        leased = _lease(BATCH)
        attempted += len(leased)
        for outcome in _send_all(leased):
            if outcome.retry_in is not None:
                soonest = outcome.retry_in if soonest is None else min(soonest, outcome.retry_in)
        if len(leased) < BATCH:
            # Drained. Not once more for the few committed meanwhile: under load that
            # loop would lease a row or two at a time; they wait for the next wake.
            break
    return attempted, soonest


def claim_wake() -> bool:
    """Whether the caller should queue a relay: False while one is already queued.

    On a claim's commit: the thread's lean link (decision 0312), else the Django cache."""
    link = redislink.link()
    if link is None:
        return bool(cache.add(WAKE_KEY, 1, timeout=WAKE_SECONDS))
    return link.command("SET", link.make_key(WAKE_KEY), 1, "NX", "EX", WAKE_SECONDS) is not None


def clear_wake() -> None:
    """A relay found nothing more to send: commits from now on queue the next one."""
    cache.delete(WAKE_KEY)


def next_retry_in() -> float | None:
    """Seconds until the soonest delivery waiting for a later attempt (None: none is).

    Read from the table, not from one run's failures: a run that sent only some of the
    failed deliveries (the others not due yet) must still leave a relay for the rest.
    A lease in flight counts too: should its worker die, the lease's end is when the
    delivery is due again.
    """
    soonest = (
        WebhookDelivery.objects.filter(status__in=RETRYABLE, next_attempt_at__gt=timezone.now())
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    if soonest is None:
        return None
    return max((soonest - timezone.now()).total_seconds(), 0.0)


def due(limit: int = 1000) -> list[int]:
    """Deliveries whose next attempt is due (oldest first), for the sweep."""
    return list(
        WebhookDelivery.objects.filter(
            status__in=RETRYABLE,
            next_attempt_at__lte=timezone.now(),
            endpoint__is_active=True,
            endpoint__deleted_at__isnull=True,
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
