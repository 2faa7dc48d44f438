"""The earning API's queries (merchant API)."""

from __future__ import annotations

from typing import Any

import graphene
from django.db.models import QuerySet
from graphene_django import DjangoConnectionField

from api.permissions import require_membership
from earning import services
from earning.graphql.types import EarningRuleType, WayToEarnNode
from earning.models import EarningRule, WayToEarn


class MerchantQueries(graphene.ObjectType):
    earning_rule = graphene.Field(
        EarningRuleType, description="How purchases earn (null until set)."
    )

    @staticmethod
    def resolve_earning_rule(root: Any, info: graphene.ResolveInfo) -> EarningRule | None:
        return services.rule_of(require_membership(info).merchant)


class ConsumerQueries(graphene.ObjectType):
    ways_to_earn = DjangoConnectionField(
        WayToEarnNode,
        description=(
            "Active campaigns where points can be earned, of every kind; signed in: those "
            "of merchants you earned from first, without questionnaires you answered. Public."
        ),
    )

    @staticmethod
    def resolve_ways_to_earn(
        root: Any, info: graphene.ResolveInfo, **kwargs: Any
    ) -> QuerySet[WayToEarn]:
        user = info.context.user
        consumer_id = user.pk if user.is_authenticated and user.is_consumer else None
        return services.ways_to_earn(consumer_id)
