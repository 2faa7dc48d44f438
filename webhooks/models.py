"""Webhook endpoints and deliveries, in the public schema.

Public rather than per merchant: the periodic sweep that resends due deliveries is
one indexed query over one table instead of a loop over every merchant's schema,
order events start in the public schema anyway, and tenant transactions still see
these tables (``public`` is on every merchant's search path), so a claim writes
its delivery in its own transaction. Every row carries ``merchant``.
"""

from __future__ import annotations

import uuid
from typing import ClassVar

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone


class EventType(models.TextChoices):
    CODE_CLAIMED = "code.claimed", "Code claimed"
    QUESTIONNAIRE_ANSWERED = "questionnaire.answered", "Questionnaire answered"
    ORDER_PLACED = "order.placed", "Order placed"
    ORDER_SHIPPED = "order.shipped", "Order shipped"
    BATCH_READY = "batch.ready", "Batch ready"
    POINTS_AWARDED = "points.awarded", "Points awarded"
    POINTS_AWARD_REVERSED = "points.award_reversed", "Points award reversed"
    FOLLOW_CREDITED = "follow.credited", "Follow credited"
    DIVERSION_SUSPECTED = "diversion.suspected", "Diversion suspected"


class WebhookEndpoint(models.Model):
    """An HTTPS URL of a merchant's that receives the events it subscribes to.

    Deleting an endpoint only marks it deleted: its deliveries stay as history, and a
    delivery being written by a concurrent claim never points at a vanished row.
    """

    merchant = models.ForeignKey("tenants.Merchant", on_delete=models.CASCADE, related_name="+")
    url = models.URLField(max_length=500)
    # Needed in clear to sign each delivery (HMAC); shown to the merchant only when
    # created or rotated, never read back through the API.
    secret = models.CharField(max_length=80)
    event_types = ArrayField(models.CharField(max_length=40, choices=EventType.choices))
    description = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes: ClassVar = [
            models.Index(
                fields=["merchant"],
                condition=models.Q(is_active=True, deleted_at__isnull=True),
                name="webhook_endpoint_live",
            ),
        ]

    def __str__(self) -> str:
        return f"endpoint {self.pk} of merchant {self.merchant_id}: {self.url}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"  # not tried yet (or redelivery asked)
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"  # the last attempt failed; another is scheduled
    DEAD = "dead", "Dead"  # gave up after the maximum attempts (redeliver to retry)


class WebhookDelivery(models.Model):
    """One event for one endpoint: the outbox row and its delivery status."""

    merchant = models.ForeignKey(
        "tenants.Merchant",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,  # checked by construction, not per row (decision 0342)
    )
    endpoint = models.ForeignKey(
        WebhookEndpoint,
        on_delete=models.CASCADE,
        related_name="deliveries",
        db_index=False,
        db_constraint=False,  # checked by construction, not per row (decision 0342)
    )
    # The same for every endpoint that receives the event: receivers dedupe by it.
    event_id = models.UUIDField(default=uuid.uuid4)
    event_type = models.CharField(max_length=40, choices=EventType.choices)
    payload = models.JSONField()
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    # When the next attempt is due (null when none is: succeeded or dead). An attempt
    # in flight pushes it forward by a lease, so no second worker sends it meanwhile.
    next_attempt_at = models.DateTimeField(null=True, blank=True, default=timezone.now)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["endpoint", "event_id"], name="webhook_delivery_unique_event"
            ),
        ]
        indexes: ClassVar = [
            # The sweep: due deliveries, oldest first, across merchants.
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status__in=["pending", "failed"]),
                name="webhook_delivery_due",
            ),
            models.Index(
                fields=["endpoint", "-created_at", "-id"], name="webhook_delivery_by_endpoint"
            ),
            models.Index(
                fields=["merchant", "-created_at", "-id"], name="webhook_delivery_by_merchant"
            ),
        ]

    def __str__(self) -> str:
        return f"delivery {self.pk} ({self.event_type}) {self.status}"
