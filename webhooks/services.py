"""Managing endpoints and redelivering: what the merchant API calls."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from core.error_codes import CoreErrorCode
from core.errors import DomainError
from tenants.error_codes import MerchantErrorCode
from tenants.models import Merchant
from webhooks import events, signing
from webhooks.error_codes import WebhookErrorCode
from webhooks.models import DeliveryStatus, EventType, WebhookDelivery, WebhookEndpoint

MAX_ENDPOINTS_PER_MERCHANT = 10
MAX_URL_LENGTH = 500


class WebhookError(DomainError):
    pass


def validate_url(raw: str) -> str:
    """An https URL to a public host (http only for hosts in WEBHOOK_ALLOW_HTTP_HOSTS).

    Literal private, loopback and link-local addresses and ``localhost`` are refused
    unless allowed there: the platform's own network is not a merchant's endpoint.
    """
    url = (raw or "").strip()
    invalid = WebhookError(
        WebhookErrorCode.INVALID_URL, _("Enter an https:// URL of at most 500 characters."), "url"
    )
    if not url or len(url) > MAX_URL_LENGTH:
        raise invalid
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 — raises ValueError for a bad port
    except ValueError as exc:
        raise invalid from exc
    allowed_http = {h.strip("[]").lower() for h in settings.WEBHOOK_ALLOW_HTTP_HOSTS}
    if not host or parts.username or parts.password or parts.fragment:
        raise invalid
    if parts.scheme == "http" and host in allowed_http:
        return url
    if parts.scheme != "https":
        raise WebhookError(
            WebhookErrorCode.INVALID_URL, _("The URL must start with https://."), "url"
        )
    if host in allowed_http:
        return url
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if host == "localhost" or host.endswith(".localhost") or (address and not address.is_global):
        raise WebhookError(
            WebhookErrorCode.INVALID_URL, _("The URL must point to a public address."), "url"
        )
    return url


def validate_event_types(values: Iterable[str]) -> list[str]:
    chosen = sorted({str(v) for v in values})
    if not chosen or any(v not in EventType.values for v in chosen):
        raise WebhookError(
            WebhookErrorCode.INVALID_EVENT_TYPES,
            _("Choose at least one known event type."),
            "eventTypes",
        )
    return chosen


def _description(value: str | None) -> str:
    text = (value or "").strip()
    if len(text) > 200:
        raise WebhookError(
            MerchantErrorCode.INVALID_NAME,
            _("A description has at most 200 characters."),
            "description",
        )
    return text


def live_endpoints(merchant: Merchant) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(merchant=merchant, deleted_at__isnull=True)


def merchant_endpoint(merchant: Merchant, endpoint_id: int) -> WebhookEndpoint:
    """One of the merchant's endpoints; a deleted one, or another merchant's, is not found."""
    endpoint = live_endpoints(merchant).filter(pk=endpoint_id).first()
    if endpoint is None:
        raise WebhookError(CoreErrorCode.NOT_FOUND, _("No such webhook endpoint."), "id")
    return endpoint


def merchant_delivery(merchant: Merchant, delivery_id: int) -> WebhookDelivery:
    """One of the merchant's deliveries (those of deleted endpoints too: they stay listed)."""
    delivery = (
        WebhookDelivery.objects.select_related("endpoint")
        .filter(pk=delivery_id, merchant=merchant)
        .first()
    )
    if delivery is None:
        raise WebhookError(CoreErrorCode.NOT_FOUND, _("No such webhook delivery."), "id")
    return delivery


@dataclass(frozen=True)
class EndpointWithSecret:
    endpoint: WebhookEndpoint
    secret: str | None  # only when created or rotated


def create_endpoint(
    merchant: Merchant,
    *,
    url: str,
    event_types: Iterable[str],
    description: str | None = None,
    is_active: bool = True,
) -> EndpointWithSecret:
    url = validate_url(url)
    types = validate_event_types(event_types)
    text = _description(description)
    with transaction.atomic():
        # Serialise creations per merchant so that the limit holds.
        Merchant.objects.select_for_update().filter(pk=merchant.pk).exists()
        if live_endpoints(merchant).count() >= MAX_ENDPOINTS_PER_MERCHANT:
            raise WebhookError(
                WebhookErrorCode.TOO_MANY_ENDPOINTS,
                _("A merchant has at most %(n)d webhook endpoints.")
                % {"n": MAX_ENDPOINTS_PER_MERCHANT},
            )
        endpoint = WebhookEndpoint.objects.create(
            merchant=merchant,
            url=url,
            secret=signing.new_secret(),
            event_types=types,
            description=text,
            is_active=is_active,
        )
    events.forget(merchant.pk)
    return EndpointWithSecret(endpoint, endpoint.secret)


def update_endpoint(
    endpoint: WebhookEndpoint,
    *,
    url: str | None = None,
    event_types: Iterable[str] | None = None,
    description: str | None = None,
    is_active: bool | None = None,
    rotate_secret: bool = False,
) -> EndpointWithSecret:
    """Change what is given; ``rotate_secret`` makes a new secret, used from the next
    attempt on (deliveries still pending are signed with it)."""
    if url is not None:
        endpoint.url = validate_url(url)
    if event_types is not None:
        endpoint.event_types = validate_event_types(event_types)
    if description is not None:
        endpoint.description = _description(description)
    if is_active is not None:
        endpoint.is_active = is_active
    if rotate_secret:
        endpoint.secret = signing.new_secret()
    endpoint.updated_at = timezone.now()
    endpoint.save()
    events.forget(endpoint.merchant_id)
    return EndpointWithSecret(endpoint, endpoint.secret if rotate_secret else None)


def delete_endpoint(endpoint: WebhookEndpoint) -> None:
    """Stop sending to it. Its deliveries stay visible as history; none is sent again."""
    now = timezone.now()
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        deleted_at=now, is_active=False, updated_at=now
    )
    events.forget(endpoint.merchant_id)


def redeliver(delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery again now, whatever its status, with a fresh count of attempts.

    The event id stays the same, so a receiver that already has it ignores it.
    """
    if delivery.endpoint.deleted_at is not None:
        raise WebhookError(CoreErrorCode.NOT_FOUND, _("This endpoint was deleted."), "id")
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=timezone.now()
    )
    events.wake_on_commit()
    delivery.refresh_from_db()
    return delivery
