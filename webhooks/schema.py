"""Merchant API for webhooks: endpoints, their deliveries, redelivery.

Endpoints and deliveries are public-schema rows scoped by merchant; their IDs are
plain keys under their type name, and every lookup filters by the merchant the
request is for, so another merchant's ID is null (``node``) or ``NOT_FOUND``.

Roles: viewers read endpoints and deliveries (a delivery's ``payload`` needs the
operator role: order events carry the shipping address in full, as orders show it
to operators); admins create, change, delete and redeliver. An endpoint's secret is
returned only by the mutation that creates or rotates it.
"""

from __future__ import annotations

from typing import Any

import graphene
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from graphene_django import DjangoConnectionField, DjangoObjectType

from api.mutations import DomainMutation
from api.permissions import require_membership
from api.types import PublicNode, choice_value, decode_id
from core.error_codes import CoreErrorCode
from core.errors import DomainError
from tenants.models import Role
from webhooks import services
from webhooks.models import DeliveryStatus, EventType, WebhookDelivery, WebhookEndpoint

WebhookEventTypeEnum = graphene.Enum(
    "WebhookEventType",
    [(value.replace(".", "_").upper(), value) for value in EventType.values],
    description=(
        "code.claimed, questionnaire.answered, order.placed and order.shipped (orders for "
        "your goods), batch.ready. The `type` in a delivery's body is the dotted name."
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
    payload = graphene.JSONString(
        description="The body sent (operators and above; null for viewers)."
    )

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


def _endpoint(info: graphene.ResolveInfo, global_id: str, field: str = "id") -> WebhookEndpoint:
    merchant = require_membership(info).merchant
    endpoint = WebhookEndpoint.objects.filter(
        pk=decode_id(global_id, "WebhookEndpoint", field),
        merchant=merchant,
        deleted_at__isnull=True,
    ).first()
    if endpoint is None:
        raise DomainError(CoreErrorCode.NOT_FOUND, _("No such webhook endpoint."), field)
    return endpoint


def _delivery(info: graphene.ResolveInfo, global_id: str) -> WebhookDelivery:
    merchant = require_membership(info).merchant
    delivery = (
        WebhookDelivery.objects.select_related("endpoint")
        .filter(pk=decode_id(global_id, "WebhookDelivery", "id"), merchant=merchant)
        .first()
    )
    if delivery is None:
        raise DomainError(CoreErrorCode.NOT_FOUND, _("No such webhook delivery."), "id")
    return delivery


# --- Mutations ------------------------------------------------------------------------


class WebhookEndpointCreate(DomainMutation):
    """Register an endpoint (admin). `secret` is shown here once: keep it to verify
    signatures. `INVALID_URL` (https only, public hosts), `INVALID_EVENT_TYPES`,
    `TOO_MANY_ENDPOINTS` (10 per merchant)."""

    class Arguments:
        url = graphene.String(required=True)
        event_types = graphene.List(graphene.NonNull(WebhookEventTypeEnum), required=True)
        description = graphene.String()
        is_active = graphene.Boolean(default_value=True)

    endpoint = graphene.Field(WebhookEndpointNode)
    secret = graphene.String(description="The signing secret. Shown only now.")

    @classmethod
    def perform(
        cls,
        root: Any,
        info: graphene.ResolveInfo,
        url: str,
        event_types: list[Any],
        description: str | None = None,
        is_active: bool = True,
    ) -> WebhookEndpointCreate:
        merchant = require_membership(info, Role.ADMIN).merchant
        made = services.create_endpoint(
            merchant,
            url=url,
            event_types=[choice_value(t) for t in event_types],
            description=description,
            is_active=is_active,
        )
        return cls(endpoint=made.endpoint, secret=made.secret)


class WebhookEndpointUpdate(DomainMutation):
    """Change an endpoint (admin); arguments left out stay. `rotateSecret: true` makes a
    new secret (returned in `secret`, used from the next attempt on)."""

    class Arguments:
        id = graphene.ID(required=True)
        url = graphene.String()
        event_types = graphene.List(graphene.NonNull(WebhookEventTypeEnum))
        description = graphene.String()
        is_active = graphene.Boolean()
        rotate_secret = graphene.Boolean(default_value=False)

    endpoint = graphene.Field(WebhookEndpointNode)
    secret = graphene.String(description="The new secret, when rotated; otherwise null.")

    @classmethod
    def perform(
        cls,
        root: Any,
        info: graphene.ResolveInfo,
        id: str,
        url: str | None = None,
        event_types: list[Any] | None = None,
        description: str | None = None,
        is_active: bool | None = None,
        rotate_secret: bool = False,
    ) -> WebhookEndpointUpdate:
        require_membership(info, Role.ADMIN)
        changed = services.update_endpoint(
            _endpoint(info, id),
            url=url,
            event_types=None if event_types is None else [choice_value(t) for t in event_types],
            description=description,
            is_active=is_active,
            rotate_secret=rotate_secret,
        )
        return cls(endpoint=changed.endpoint, secret=changed.secret)


class WebhookEndpointDelete(DomainMutation):
    """Delete an endpoint (admin): nothing more is sent to it; its deliveries stay listed."""

    class Arguments:
        id = graphene.ID(required=True)

    deleted_id = graphene.ID()

    @classmethod
    def perform(cls, root: Any, info: graphene.ResolveInfo, id: str) -> WebhookEndpointDelete:
        require_membership(info, Role.ADMIN)
        services.delete_endpoint(_endpoint(info, id))
        return cls(deleted_id=id)


class WebhookRedeliver(DomainMutation):
    """Send a delivery again now, whatever its status (admin). Same event id: a receiver
    that has the event already ignores it."""

    class Arguments:
        id = graphene.ID(required=True)

    delivery = graphene.Field(WebhookDeliveryNode)

    @classmethod
    def perform(cls, root: Any, info: graphene.ResolveInfo, id: str) -> WebhookRedeliver:
        require_membership(info, Role.ADMIN)
        return cls(delivery=services.redeliver(_delivery(info, id)))


# --- Roots ----------------------------------------------------------------------------


class MerchantQueries(graphene.ObjectType):
    webhook_endpoints = DjangoConnectionField(
        WebhookEndpointNode, description="Your webhook endpoints, newest first."
    )
    webhook_deliveries = DjangoConnectionField(
        WebhookDeliveryNode,
        endpoint_id=graphene.ID(description="Only this endpoint's deliveries."),
        status=WebhookDeliveryStatusEnum(),
        description="Deliveries, newest first (also those of deleted endpoints).",
    )

    @staticmethod
    def resolve_webhook_endpoints(
        root: Any, info: graphene.ResolveInfo, **kwargs: Any
    ) -> QuerySet[WebhookEndpoint]:
        require_membership(info)
        return WebhookEndpoint.objects.order_by("-created_at", "-id")

    @staticmethod
    def resolve_webhook_deliveries(
        root: Any,
        info: graphene.ResolveInfo,
        endpoint_id: str | None = None,
        status: Any = None,
        **kwargs: Any,
    ) -> QuerySet[WebhookDelivery]:
        merchant = require_membership(info).merchant
        deliveries = WebhookDelivery.objects.order_by("-created_at", "-id")
        if endpoint_id is not None:
            endpoint = decode_id(endpoint_id, "WebhookEndpoint", "endpointId")
            deliveries = deliveries.filter(endpoint_id=endpoint, merchant=merchant)
        if status is not None:
            deliveries = deliveries.filter(status=choice_value(status))
        return deliveries


class MerchantMutations(graphene.ObjectType):
    webhook_endpoint_create = WebhookEndpointCreate.Field()
    webhook_endpoint_update = WebhookEndpointUpdate.Field()
    webhook_endpoint_delete = WebhookEndpointDelete.Field()
    webhook_redeliver = WebhookRedeliver.Field()
