"""The earning API's types, as the merchant API shows them.

An award never says whether its phone has an account (no status, no consumer): the
answer must be the same either way (earning.services).
"""

from __future__ import annotations

from typing import Any

import graphene
from django.db.models import QuerySet
from graphene_django import DjangoObjectType

from api.scalars import BigInt
from api.types import PublicNode
from earning import services
from earning.models import Award, AwardKind, AwardStatus, EarningRule, Rounding, WayToEarn

AwardKindEnum = graphene.Enum(
    "EarningAwardKind", [(value.upper(), value) for value in AwardKind.values]
)
RoundingEnum = graphene.Enum(
    "EarningRounding", [(value.upper(), value) for value in Rounding.values]
)


class EarningAward(graphene.ObjectType):
    """Points a merchant awarded through the earning API."""

    external_id = graphene.String(
        required=True, description="Your id for the award (the order id of a purchase)."
    )
    kind = graphene.Field(AwardKindEnum, required=True)
    points = BigInt(required=True)
    reason = graphene.String(required=True)
    created_at = graphene.DateTime(required=True)
    reversed = graphene.Boolean(required=True)

    @staticmethod
    def resolve_external_id(award: Award, info: graphene.ResolveInfo) -> str:
        return services.merchant_external_id(award)

    @staticmethod
    def resolve_kind(award: Award, info: graphene.ResolveInfo) -> str:
        return str(award.kind)

    @staticmethod
    def resolve_reversed(award: Award, info: graphene.ResolveInfo) -> bool:
        return award.status == AwardStatus.REVERSED


class EarningRuleType(graphene.ObjectType):
    class Meta:
        name = "EarningRule"

    points_per_unit = graphene.String(
        required=True, description="Points per one unit of money (per yuan), 4 decimals at most."
    )
    rounding = graphene.Field(RoundingEnum, required=True)
    daily_cap = graphene.Int(description="Purchase points per consumer per day; null: no cap.")
    welcome_bonus = graphene.Int(required=True)
    birthday_bonus = graphene.Int(required=True)
    pending_days = graphene.Int(
        required=True, description="Days an award to a phone not signed up is held."
    )

    @staticmethod
    def resolve_points_per_unit(rule: EarningRule, info: graphene.ResolveInfo) -> str:
        return format(rule.points_per_unit.normalize(), "f")

    @staticmethod
    def resolve_rounding(rule: EarningRule, info: graphene.ResolveInfo) -> Any:
        return str(rule.rounding)


class WayToEarnNode(PublicNode, DjangoObjectType):
    """An active campaign where a consumer can earn points, of any kind."""

    kind = graphene.String(
        required=True,
        description="The campaign's kind: scan, questionnaire, and the kinds added later "
        "(follow, prize…). Show an unknown kind generically.",
    )
    merchant_name = graphene.String(required=True)
    points = BigInt(description="Points on offer (per code, per response…); null: it varies.")
    url = graphene.String(description="The consumer's page for it; null: none yet.")
    from_known_merchant = graphene.Boolean(
        required=True, description="You have earned from this merchant before."
    )

    class Meta:
        name = "WayToEarn"
        model = WayToEarn
        interfaces = (graphene.relay.Node,)
        fields = ("id", "name", "description", "ends_at")

    @staticmethod
    def resolve_merchant_name(way: WayToEarn, info: graphene.ResolveInfo) -> str:
        return way.merchant.name

    @staticmethod
    def resolve_url(way: WayToEarn, info: graphene.ResolveInfo) -> str | None:
        return way.path or None

    @staticmethod
    def resolve_from_known_merchant(way: WayToEarn, info: graphene.ResolveInfo) -> bool:
        return bool(getattr(way, "known", False))

    @classmethod
    def get_queryset(cls, queryset: QuerySet[WayToEarn], info: graphene.ResolveInfo) -> QuerySet:
        return services.open_ways(queryset).select_related("merchant")
