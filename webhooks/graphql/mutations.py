"""Merchant API: create, change and delete webhook endpoints; redeliver (admins)."""

from __future__ import annotations

from typing import Any

import graphene

from api.mutations import DomainMutation
from api.permissions import require_membership
from api.types import choice_value, decode_id
from tenants.models import Role
from webhooks import services
from webhooks.graphql.types import (
    WebhookDeliveryNode,
    WebhookEndpointNode,
    WebhookEventTypeEnum,
)


class WebhookEndpointCreate(DomainMutation):
    """Register an endpoint (admin). `secret` is shown here once: keep it to verify
    signatures. `INVALID_URL` (https only, public hosts), `INVALID_EVENT_TYPES`,
    `TOO_MANY_ENDPOINTS` (10 per merchant)."""

    class Arguments:
        url = graphene.String(required=True, description="At most 500 characters.")
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
        url = graphene.String(description="At most 500 characters.")
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
        merchant = require_membership(info, Role.ADMIN).merchant
        endpoint = services.merchant_endpoint(merchant, decode_id(id, "WebhookEndpoint", "id"))
        changed = services.update_endpoint(
            endpoint,
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
        merchant = require_membership(info, Role.ADMIN).merchant
        services.delete_endpoint(
            services.merchant_endpoint(merchant, decode_id(id, "WebhookEndpoint", "id"))
        )
        return cls(deleted_id=id)


class WebhookRedeliver(DomainMutation):
    """Send a delivery again now, whatever its status (admin). Same event id: a receiver
    that has the event already ignores it."""

    class Arguments:
        id = graphene.ID(required=True)

    delivery = graphene.Field(WebhookDeliveryNode)

    @classmethod
    def perform(cls, root: Any, info: graphene.ResolveInfo, id: str) -> WebhookRedeliver:
        merchant = require_membership(info, Role.ADMIN).merchant
        delivery = services.merchant_delivery(merchant, decode_id(id, "WebhookDelivery", "id"))
        return cls(delivery=services.redeliver(delivery))


class MerchantMutations(graphene.ObjectType):
    webhook_endpoint_create = WebhookEndpointCreate.Field()
    webhook_endpoint_update = WebhookEndpointUpdate.Field()
    webhook_endpoint_delete = WebhookEndpointDelete.Field()
    webhook_redeliver = WebhookRedeliver.Field()
