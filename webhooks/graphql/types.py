"""Webhook endpoints and deliveries, as the merchant API shows them."""

from __future__ import annotations

from typing import Any

import graphene
from django.db.models import QuerySet
from graphene_django import DjangoObjectType

from api.permissions import require_membership
from api.scalars import JSONString
from api.types import PublicNode, choice_value
from tenants.models import Role
from webhooks.models import DeliveryStatus, EventType, WebhookDelivery, WebhookEndpoint

WebhookEventTypeEnum = graphene.Enum(
    "WebhookEventType",
    [(value.replace(".", "_").upper(), value) for value in EventType.values],
    description=(
        "code.claimed, questionnaire.answered, order.placed and order.shipped (orders for "
        "your goods), batch.ready, follow.credited, diversion.suspected. The `type` in a "
        "delivery's body is the dotted name."
    ),
)
WebhookDeliveryStatusEnum = graphene.Enum(
    "WebhookDeliveryStatus",
    [(value.upper(), value) for value in DeliveryStatus.values],
    description=(
        "pending (not tried yet) → succeeded, or failed (retrying with backoff) → "
        "succeeded or dead (attempts exhausted; redeliver to try again)."
    ),
)


class WebhookEndpointNode(PublicNode, DjangoObjectType):
    """An HTTPS URL that receives the events it subscribes to, signed with its secret."""

    event_types = graphene.List(graphene.NonNull(WebhookEventTypeEnum), required=True)
    secret_hint = graphene.String(
        required=True, description="The secret's last 4 characters, to tell secrets apart."
    )

    class Meta:
        name = "WebhookEndpoint"
        model = WebhookEndpoint
        interfaces = (graphene.relay.Node,)
        fields = ("id", "url", "description", "is_active", "created_at", "updated_at")
        skip_registry = True

    @staticmethod
    def resolve_event_types(endpoint: WebhookEndpoint, info: graphene.ResolveInfo) -> list[str]:
        return list(endpoint.event_types)

    @staticmethod
    def resolve_secret_hint(endpoint: WebhookEndpoint, info: graphene.ResolveInfo) -> str:
        return "…" + endpoint.secret[-4:]

    @classmethod
    def get_queryset(cls, queryset: QuerySet, info: graphene.ResolveInfo) -> QuerySet:
        merchant = require_membership(info).merchant
        return queryset.filter(merchant=merchant, deleted_at__isnull=True)


class WebhookDeliveryNode(PublicNode, DjangoObjectType):
    """One event sent (or being sent) to one endpoint."""

    endpoint = graphene.Field(WebhookEndpointNode, required=True)
    event_id = graphene.String(required=True, description="X-Loyalty-Event-Id: dedupe by it.")
    event_type = graphene.Field(WebhookEventTypeEnum, required=True)
    status = graphene.Field(WebhookDeliveryStatusEnum, required=True)
    payload = JSONString(description="The body sent (operators and above; null for viewers).")

    class Meta:
        name = "WebhookDelivery"
        model = WebhookDelivery
        interfaces = (graphene.relay.Node,)
        fields = (
            "id",
            "attempts",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "created_at",
            "last_attempt_at",
            "delivered_at",
        )
        skip_registry = True

    @staticmethod
    def resolve_endpoint(delivery: WebhookDelivery, info: graphene.ResolveInfo) -> WebhookEndpoint:
        return delivery.endpoint

    @staticmethod
    def resolve_event_id(delivery: WebhookDelivery, info: graphene.ResolveInfo) -> str:
        return str(delivery.event_id)

    @staticmethod
    def resolve_event_type(delivery: WebhookDelivery, info: graphene.ResolveInfo) -> str:
        return choice_value(delivery.event_type)

    @staticmethod
    def resolve_status(delivery: WebhookDelivery, info: graphene.ResolveInfo) -> str:
        return choice_value(delivery.status)

    @staticmethod
    def resolve_payload(delivery: WebhookDelivery, info: graphene.ResolveInfo) -> Any:
        if not require_membership(info).has_role(Role.OPERATOR):
            return None
        return delivery.payload

    @classmethod
    def get_queryset(cls, queryset: QuerySet, info: graphene.ResolveInfo) -> QuerySet:
        merchant = require_membership(info).merchant
        return queryset.filter(merchant=merchant).select_related("endpoint")
