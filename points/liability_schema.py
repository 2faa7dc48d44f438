"""GraphQL for the points liability: the merchant's own share (admin and owner only)."""

from __future__ import annotations

from typing import Any

import graphene

from api.permissions import require_membership
from points import liability
from tenants.models import Role

MAX_MONTHS = 36


class LiabilityExpiring(graphene.ObjectType):
    days = graphene.Int(required=True)
    points = graphene.BigInt(
        required=True, description="Open points expiring before now + `days` (overdue included)."
    )


class LiabilityMonth(graphene.ObjectType):
    month = graphene.Date(required=True, description="First day of the month (server time zone).")
    opening = graphene.BigInt(required=True)
    issued = graphene.BigInt(required=True, description="Awarded to consumers.")
    redeemed = graphene.BigInt(required=True, description="Spent in the mall.")
    expired = graphene.BigInt(required=True)
    award_reversals = graphene.BigInt(required=True, description="Awards taken back.")
    redeem_reversals = graphene.BigInt(
        required=True, description="Spends given back (e.g. cancelled orders)."
    )
    closing = graphene.BigInt(required=True)

    resolve_issued = staticmethod(lambda m, info: m.flows.issued)
    resolve_redeemed = staticmethod(lambda m, info: m.flows.redeemed)
    resolve_expired = staticmethod(lambda m, info: m.flows.expired)
    resolve_award_reversals = staticmethod(lambda m, info: m.flows.award_reversals)
    resolve_redeem_reversals = staticmethod(lambda m, info: m.flows.redeem_reversals)


class PointsLiability(graphene.ObjectType):
    """Points the merchant's campaigns paid that consumers still hold (definitions in
    points/liability.py)."""

    outstanding = graphene.BigInt(required=True, description="Σ remaining of its open lots.")
    overdue = graphene.BigInt(
        required=True, description="Past their expiry date, not yet expired by the hourly task."
    )
    expiring = graphene.List(
        graphene.NonNull(LiabilityExpiring), required=True, description="Within 30, 60, 90 days."
    )
    months = graphene.List(
        graphene.NonNull(LiabilityMonth),
        required=True,
        last=graphene.Int(default_value=12, description=f"1 to {MAX_MONTHS}."),
        description="Months with movements, oldest first: the last `last` of them.",
    )

    @staticmethod
    def resolve_expiring(root: liability.MerchantLiability, info: Any) -> list[LiabilityExpiring]:
        return [LiabilityExpiring(days=d, points=p) for d, p in root.expiring.items()]

    @staticmethod
    def resolve_months(
        root: liability.MerchantLiability, info: Any, last: int
    ) -> list[liability.Month]:
        from campaigns.scan.stats import check_window

        check_window(last, MAX_MONTHS, "last")
        return root.months[-last:]


class MerchantQueries(graphene.ObjectType):
    points_liability = graphene.Field(PointsLiability, required=True)

    @staticmethod
    def resolve_points_liability(root: Any, info: graphene.ResolveInfo) -> Any:
        merchant = require_membership(info, Role.ADMIN).merchant
        return liability.merchant_liability(merchant.pk)
