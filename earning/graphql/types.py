"""The earning API's types, as the merchant API shows them.

An award never says whether its phone has an account (no status, no consumer): the
answer must be the same either way (earning.services).
"""

from __future__ import annotations

from typing import Any

import graphene

from api.scalars import BigInt
from earning import services
from earning.models import Award, AwardKind, AwardStatus, EarningRule, Rounding

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
