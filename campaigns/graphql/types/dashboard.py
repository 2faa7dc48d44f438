"""The merchant console's dashboard (definitions in ``campaigns.dashboard``)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

import graphene

from api.scalars import BigInt
from campaigns import dashboard
from campaigns.error_codes import CampaignErrorCode
from campaigns.graphql.types.campaigns import CampaignNode
from campaigns.scan import stats
from core.errors import ErrorCodeEnum


class DashboardDay(graphene.ObjectType):
    day = graphene.Date(required=True, description="The day in the requested time zone.")
    claims = graphene.Int(required=True, description="Scan codes claimed.")
    responses = graphene.Int(required=True, description="Questionnaire responses rewarded.")


class TopCampaign(graphene.ObjectType):
    campaign = graphene.Field(lambda: CampaignNode, required=True)
    points = BigInt(required=True, description="Points awarded, all time.")
    earnings = graphene.Int(required=True, description="Claims plus responses, all time.")


@dataclass
class DashboardRoot:
    merchant_id: int
    days: int
    zone: Any

    @cached_property
    def points(self) -> dashboard.PointsTotals:
        return dashboard.points_totals(self.merchant_id)


class Dashboard(graphene.ObjectType):
    """The merchant's campaigns at a glance (definitions in campaigns/dashboard.py)."""

    refusal_codes: ClassVar[dict[str, dict[str, ErrorCodeEnum]]] = {
        "topCampaigns": {"first": CampaignErrorCode.INVALID_PERIOD}
    }

    points_reserved = BigInt(
        required=True, description="Put into campaign reserves (batches, questionnaire caps)."
    )
    points_awarded = BigInt(required=True, description="Paid to consumers.")
    points_returned = BigInt(
        required=True, description="Given back to the budget (voided batches, ended campaigns)."
    )
    active_consumers = graphene.Int(
        required=True, description="Consumers who claimed or responded in the last `days` days."
    )
    earnings_per_day = graphene.List(
        graphene.NonNull(DashboardDay),
        required=True,
        description="Each of the last `days` days (today included), oldest first.",
    )
    top_campaigns = graphene.List(
        graphene.NonNull(TopCampaign),
        required=True,
        first=graphene.Int(default_value=5, description=f"1 to {dashboard.MAX_TOP}."),
        description="Campaigns by points awarded, then newest.",
    )

    @staticmethod
    def resolve_points_reserved(root: DashboardRoot, info: graphene.ResolveInfo) -> int:
        return root.points.reserved

    @staticmethod
    def resolve_points_awarded(root: DashboardRoot, info: graphene.ResolveInfo) -> int:
        return root.points.awarded

    @staticmethod
    def resolve_points_returned(root: DashboardRoot, info: graphene.ResolveInfo) -> int:
        return root.points.returned

    @staticmethod
    def resolve_active_consumers(root: DashboardRoot, info: graphene.ResolveInfo) -> int:
        return dashboard.active_consumers(root.days, root.zone)

    @staticmethod
    def resolve_earnings_per_day(
        root: DashboardRoot, info: graphene.ResolveInfo
    ) -> list[dashboard.Day]:
        return dashboard.earnings_per_day(root.days, root.zone)

    @staticmethod
    def resolve_top_campaigns(
        root: DashboardRoot, info: graphene.ResolveInfo, first: int
    ) -> list[dashboard.TopCampaign]:
        stats.check_window(first, dashboard.MAX_TOP, "first")
        top = dashboard.top_campaigns(first)
        # Their stats, if asked for, load together rather than once per campaign.
        stats.share_loader([item.campaign for item in top], "campaign")
        return top
