"""Sending a delivery: lease it, POST it signed, record the outcome, schedule a retry.

At-least-once: a delivery is sent until an endpoint answers 2xx (or the attempts
run out). An attempt takes the row with a conditional update that pushes
``next_attempt_at`` forward by a lease, so the on-commit task, a Celery retry and
the periodic sweep never send it at the same time; a worker that dies mid-send
leaves the lease to expire and the sweep sends it again. A receiver can still see
an event twice (its 2xx lost on the way back, or a lease outlived): it dedupes by
``X-Loyalty-Event-Id``.
"""

from __future__ import annotations

import json
import logging
import random
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from webhooks import signing
from webhooks.models import DeliveryStatus, WebhookDelivery

logger = logging.getLogger(__name__)

LEASE_SECONDS = 120  # longer than any attempt (the HTTP timeout is far below it)
RETRYABLE = (DeliveryStatus.PENDING, DeliveryStatus.FAILED)


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


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A redirect could point the signed request at an internal address: not followed,
    # a 3xx counts as a failure.
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def body_of(delivery: WebhookDelivery) -> bytes:
    return json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":")).encode()


def post(delivery: WebhookDelivery, url: str, secret: str) -> tuple[int | None, str]:
    """POST the delivery; (HTTP status or None, error text or "")."""
    body = body_of(delivery)
    timestamp = int(timezone.now().timestamp())
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "LoyaltyWebhooks/1",
            **signing.standard_headers(secret, str(delivery.event_id), timestamp, body),
            # The earlier signature, kept for one release (decision 0238).
            signing.SIGNATURE_HEADER: signing.sign(secret, body, timestamp),
            signing.EVENT_ID_HEADER: str(delivery.event_id),
            signing.EVENT_TYPE_HEADER: delivery.event_type,
            signing.DELIVERY_ID_HEADER: str(delivery.pk),
            signing.ATTEMPT_HEADER: str(delivery.attempts),
        },
    )
    try:
        with _opener.open(request, timeout=settings.WEBHOOK_TIMEOUT_SECONDS) as response:
            response.read(1024)  # the body is not used; read a little so keep-alive is clean
            return response.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, str(reason)[:300] or exc.__class__.__name__


@dataclass(frozen=True)
class Outcome:
    status: str  # a DeliveryStatus, or "skipped" when the delivery was not due
    retry_in: float | None = None


def attempt(delivery_id: int) -> Outcome:
    """One attempt at a delivery if it is due and its endpoint is live."""
    now = timezone.now()
    leased = WebhookDelivery.objects.filter(
        pk=delivery_id,
        status__in=RETRYABLE,
        next_attempt_at__lte=now,
        endpoint__is_active=True,
        endpoint__deleted_at__isnull=True,
    ).update(
        next_attempt_at=now + timedelta(seconds=LEASE_SECONDS),
        attempts=F("attempts") + 1,
        last_attempt_at=now,
    )
    if not leased:
        return Outcome("skipped")
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    endpoint = delivery.endpoint
    code, error = post(delivery, endpoint.url, endpoint.secret)
    done = timezone.now()
    if code is not None and 200 <= code < 300:
        WebhookDelivery.objects.filter(pk=delivery_id).update(
            status=DeliveryStatus.SUCCEEDED,
            next_attempt_at=None,
            delivered_at=done,
            last_status_code=code,
            last_error="",
        )
        return Outcome(DeliveryStatus.SUCCEEDED)
    if delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        status, retry_in, next_at = DeliveryStatus.DEAD, None, None
    else:
        retry_in = backoff_seconds(delivery.attempts)
        status, next_at = DeliveryStatus.FAILED, done + timedelta(seconds=retry_in)
    WebhookDelivery.objects.filter(pk=delivery_id).update(
        status=status, next_attempt_at=next_at, last_status_code=code, last_error=error[:300]
    )
    logger.info("webhook delivery %s attempt %s failed: %s", delivery_id, delivery.attempts, error)
    return Outcome(status, retry_in)


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
