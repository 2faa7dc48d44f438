"""The consumer's consents to share with merchants, as the account screen lists them."""

from __future__ import annotations

from typing import Any

import graphene
from django.db.models import QuerySet
from graphene_django import DjangoObjectType

from api.permissions import require_consumer
from api.types import PublicNode
from privacy.models import MerchantConsent


class MerchantConsentNode(PublicNode, DjangoObjectType):
    """The signed-in consumer's live consent to share their data with one merchant."""

    merchant_name = graphene.String(required=True)

    class Meta:
        name = "MerchantConsent"
        model = MerchantConsent
        interfaces = (graphene.relay.Node,)
        fields = ("id", "version", "given_at")

    @classmethod
    def get_queryset(
        cls, queryset: QuerySet[MerchantConsent], info: graphene.ResolveInfo
    ) -> QuerySet:
        return queryset.filter(user=require_consumer(info), withdrawn_at__isnull=True)

    @staticmethod
    def resolve_merchant_name(consent: MerchantConsent, info: graphene.ResolveInfo) -> Any:
        return consent.merchant.name
