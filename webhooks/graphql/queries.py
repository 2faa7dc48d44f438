"""Merchant API: webhook endpoints and deliveries, newest first."""

from __future__ import annotations

from typing import Any

import graphene
from django.db.models import QuerySet
from graphene_django import DjangoConnectionField

from api.permissions import require_membership
from api.types import choice_value, decode_id
from webhooks.graphql.types import (
    WebhookDeliveryNode,
    WebhookDeliveryStatusEnum,
    WebhookEndpointNode,
)
from webhooks.models import WebhookDelivery, WebhookEndpoint


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
