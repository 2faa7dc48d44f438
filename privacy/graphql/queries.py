"""Consumer API: the merchants the consumer shares their data with."""

from __future__ import annotations

from typing import Any

import graphene
from django.db.models import QuerySet
from graphene_django import DjangoConnectionField

from privacy.graphql.types import MerchantConsentNode
from privacy.models import MerchantConsent


class ConsumerQueries(graphene.ObjectType):
    merchant_consents = DjangoConnectionField(
        MerchantConsentNode,
        description="The merchants you share your data with (PIPL consent), newest first.",
    )

    @staticmethod
    def resolve_merchant_consents(root: Any, info: graphene.ResolveInfo, **kwargs: Any) -> QuerySet:
        return MerchantConsent.objects.select_related("merchant").order_by("-given_at", "-id")
