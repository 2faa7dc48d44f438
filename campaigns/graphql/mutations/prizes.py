"""The prize table mutations of the merchant API (operator): define a draft campaign's
tiers, or clear them (the campaign pays fixed points again)."""

from __future__ import annotations

from typing import Any, ClassVar

import graphene

from api.mutations import DomainMutation
from api.permissions import require_membership
from api.scalars import JSONString
from api.types import decode_id
from campaigns.error_codes import PrizeErrorCode
from campaigns.graphql.types.campaigns import CampaignNode, campaign_by_id
from campaigns.graphql.types.prizes import PrizeTableType
from campaigns.models.prizes import terms_from_json
from campaigns.prizes import services
from core.errors import ErrorCodeEnum
from tenants.models import Role


class SetPrizeTable(DomainMutation):
    """Make a draft scan campaign pay a prize table instead of fixed points (operator).

    Tiers in the order published, the top prize first and "thank you" (0 points, no cap)
    last. A batch then reserves Σ over tiers of min(cap, size) x points. The terms lock
    when the campaign is activated (`PRIZE_TERMS_LOCKED` after that, or once it has
    batches); a prize worth more than ¥50,000 is `PRIZE_ABOVE_LEGAL_CEILING`.
    """

    refusal_codes: ClassVar[dict[str, ErrorCodeEnum]] = {
        "periodDays": PrizeErrorCode.INVALID_PRIZE_TABLE,
    }

    class Arguments:
        campaign_id = graphene.ID(required=True)
        tiers = JSONString(
            required=True,
            description='The tiers, top prize first and "thank you" last: a list of '
            '{"name": at most 40 characters, "points": 0 (last tier) or 1 to 10,000,000, '
            '"weight": 1 to 1,000,000, "cap": 1 to 10,000,000 or null}; 2 to 10 of them. '
            'A tier may pay a mall coupon instead: "coupon": the ID of a listed coupon '
            "SuppliedProduct of this merchant (points: leave out, the coupon's price is "
            "used); each batch sets aside min(cap, size) of its coupons.",
        )
        period_days = graphene.Int(
            description="A fresh seed every 1 to 366 days (its predecessor revealed); "
            "none: one seed, revealed at the end."
        )
        first_scan_guarantee = graphene.Boolean(
            default_value=False,
            description="A consumer's first scan in the campaign always wins at least the "
            'lowest prize (the one above "thank you", which then has no cap).',
        )

    prize_table = graphene.Field(PrizeTableType)

    @classmethod
    def perform(
        cls,
        root: Any,
        info: graphene.ResolveInfo,
        campaign_id: str,
        tiers: Any,
        period_days: int | None = None,
        first_scan_guarantee: bool = False,
    ) -> SetPrizeTable:
        require_membership(info, Role.OPERATOR)
        campaign = campaign_by_id(info, campaign_id, "campaignId")
        terms = terms_from_json(_coupon_ids(tiers))
        table = services.set_prize_table(campaign, terms, period_days, first_scan_guarantee)
        return cls(prize_table=table)


class ClearPrizeTable(DomainMutation):
    """Make a draft campaign pay fixed points again (operator): its saved prize table is
    removed. Refused with `PRIZE_TERMS_LOCKED` as `setPrizeTable` is, once the campaign was
    activated or has batches; a campaign without a table is answered unchanged."""

    class Arguments:
        campaign_id = graphene.ID(required=True)

    campaign = graphene.Field(CampaignNode)

    @classmethod
    def perform(cls, root: Any, info: graphene.ResolveInfo, campaign_id: str) -> ClearPrizeTable:
        require_membership(info, Role.OPERATOR)
        campaign = campaign_by_id(info, campaign_id, "campaignId")
        return cls(campaign=services.clear_prize_table(campaign))


def _coupon_ids(tiers: Any) -> Any:
    """The tiers with each coupon's global ID (a ``SuppliedProduct``) turned into its key;
    the shape itself is ``terms_from_json``'s to check."""
    if not isinstance(tiers, list):
        return tiers
    return [
        {**tier, "coupon": decode_id(tier["coupon"], "SuppliedProduct", f"tiers.{i}.coupon")}
        if isinstance(tier, dict) and tier.get("coupon") is not None
        else tier
        for i, tier in enumerate(tiers)
    ]
