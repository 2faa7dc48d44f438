"""The prize table mutation of the merchant API (operator): define a draft campaign's tiers."""

from __future__ import annotations

from typing import Any, ClassVar

import graphene

from api.mutations import DomainMutation
from api.permissions import require_membership
from campaigns.error_codes import PrizeErrorCode
from campaigns.graphql.types.campaigns import campaign_by_id
from campaigns.graphql.types.prizes import PrizeTableType, PrizeTierInput
from campaigns.models.prizes import TierTerms
from campaigns.prizes import services
from core.errors import ErrorCodeEnum
from core.text import TextKind, clean_text
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
        tiers = graphene.List(graphene.NonNull(PrizeTierInput), required=True)
        period_days = graphene.Int(
            description="A fresh seed every 1 to 366 days (its predecessor revealed); "
            "none: one seed, revealed at the end."
        )

    prize_table = graphene.Field(PrizeTableType)

    @classmethod
    def perform(
        cls,
        root: Any,
        info: graphene.ResolveInfo,
        campaign_id: str,
        tiers: list[Any],
        period_days: int | None = None,
    ) -> SetPrizeTable:
        require_membership(info, Role.OPERATOR)
        campaign = campaign_by_id(info, campaign_id, "campaignId")
        terms = [
            TierTerms(
                clean_text(t.name, TextKind.SINGLE_LINE, 40, f"tiers.{i}.name"),
                t.points,
                t.weight,
                t.cap,
            )
            for i, t in enumerate(tiers)
        ]
        return cls(prize_table=services.set_prize_table(campaign, terms, period_days))
