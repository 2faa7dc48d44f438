"""Consumer API: the merchants the consumer shares their data with."""

from __future__ import annotations

from typing import Any

import graphene
from django.db.models import QuerySet
from graphene_django import DjangoConnectionField

from accounts.models import User
from api.permissions import require_consumer
from privacy.graphql.types import MerchantConsentNode, PersonalData
from privacy.models import MerchantConsent


class ConsumerQueries(graphene.ObjectType):
    merchant_consents = DjangoConnectionField(
        MerchantConsentNode,
        description="The merchants you share your data with (PIPL consent), newest first.",
    )

    personal_data = graphene.Field(
        PersonalData, description="Your data copy and account deletion requests (consumers)."
    )

    @staticmethod
    def resolve_personal_data(root: Any, info: graphene.ResolveInfo) -> User:
        return require_consumer(info)

    @staticmethod
    def resolve_merchant_consents(root: Any, info: graphene.ResolveInfo, **kwargs: Any) -> QuerySet:
        return MerchantConsent.objects.select_related("merchant").order_by("-given_at", "-id")
