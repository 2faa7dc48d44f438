"""The merchant API's dealers, diversions and stats by region or dealer (thin resolvers)."""

from __future__ import annotations

from typing import Any, ClassVar

import graphene
from django.db.models import QuerySet
from graphene_django import DjangoConnectionField

from api.permissions import require_membership
from api.types import choice_value
from campaigns.error_codes import CampaignErrorCode
from campaigns.graphql.types.campaigns import batch_by_id, campaign_by_id
from core.errors import ErrorCodeEnum
from dealers import models, services, stats
from dealers.graphql.types import (
    DealerAssignmentNode,
    DealerNode,
    DiversionActionEnum,
    DiversionEventNode,
    DiversionTotalRow,
    ScanStatsRow,
    StatsGroupingEnum,
    dealer_by_id,
)

DAYS = f"1 to {stats.MAX_DAYS}."


class MerchantQueries(graphene.ObjectType):
    refusal_codes: ClassVar[dict[str, dict[str, ErrorCodeEnum]]] = {
        "scanStats": {"days": CampaignErrorCode.INVALID_PERIOD},
        "scanStatsCsv": {"days": CampaignErrorCode.INVALID_PERIOD},
        "diversionTotals": {"days": CampaignErrorCode.INVALID_PERIOD},
    }

    dealers = DjangoConnectionField(
        DealerNode, description="The merchant's dealers by name. One by ID: `node(id:)`."
    )
    dealer_assignments = DjangoConnectionField(
        DealerAssignmentNode,
        dealer_id=graphene.ID(description="Only this dealer's."),
        batch_id=graphene.ID(description="Only this batch's."),
        description="Which serials of which batches went to which dealer, newest first.",
    )
    diversion_events = DjangoConnectionField(
        DiversionEventNode,
        dealer_id=graphene.ID(description="Only this dealer's goods."),
        region=graphene.String(
            description="Only inside this GB/T 2260 province or city; at most 6 characters."
        ),
        description="Codes scanned outside their dealer's sales regions, newest first.",
    )
    diversion_totals = graphene.List(
        graphene.NonNull(DiversionTotalRow),
        required=True,
        by=StatsGroupingEnum(required=True),
        days=graphene.Int(default_value=30, description=DAYS),
        description="Diversions first seen in the last `days`, by province, city or dealer.",
    )
    scan_stats = graphene.List(
        graphene.NonNull(ScanStatsRow),
        required=True,
        by=StatsGroupingEnum(required=True),
        days=graphene.Int(default_value=30, description=DAYS),
        description="Scans, claims, consumers and diversion share by region or dealer.",
    )
    scan_stats_csv = graphene.String(
        required=True,
        by=StatsGroupingEnum(required=True),
        days=graphene.Int(default_value=30, description=DAYS),
        description="`scanStats` as CSV (UTF-8 with a BOM, headed in your language).",
    )
    campaign_diversion_action = graphene.Field(
        DiversionActionEnum,
        required=True,
        campaign_id=graphene.ID(required=True),
        description="What the campaign does with a claim outside the sales regions.",
    )

    @staticmethod
    def resolve_dealers(
        root: Any, info: graphene.ResolveInfo, **kwargs: Any
    ) -> QuerySet[models.Dealer]:
        require_membership(info)
        return models.Dealer.objects.order_by("name", "id")

    @staticmethod
    def resolve_dealer_assignments(
        root: Any,
        info: graphene.ResolveInfo,
        dealer_id: str | None = None,
        batch_id: str | None = None,
        **kwargs: Any,
    ) -> QuerySet[models.DealerAssignment]:
        require_membership(info)
        found = models.DealerAssignment.objects.select_related("dealer", "batch__campaign")
        if dealer_id is not None:
            found = found.filter(dealer=dealer_by_id(info, dealer_id, "dealerId"))
        if batch_id is not None:
            found = found.filter(batch=batch_by_id(info, batch_id, "batchId"))
        return found.order_by("-created_at", "-id")

    @staticmethod
    def resolve_diversion_events(
        root: Any,
        info: graphene.ResolveInfo,
        dealer_id: str | None = None,
        region: str | None = None,
        **kwargs: Any,
    ) -> QuerySet[models.DiversionEvent]:
        require_membership(info)
        found = models.DiversionEvent.objects.select_related("dealer", "batch__campaign")
        if dealer_id is not None:
            found = found.filter(dealer=dealer_by_id(info, dealer_id, "dealerId"))
        if region:
            found = found.filter(region__startswith=services.region_prefix(region))
        return found.order_by("-first_scanned_at", "-id")

    @staticmethod
    def resolve_diversion_totals(
        root: Any, info: graphene.ResolveInfo, by: Any, days: int
    ) -> list[stats.DiversionTotal]:
        require_membership(info)
        return stats.diversion_totals(stats.Grouping(choice_value(by)), days)

    @staticmethod
    def resolve_scan_stats(
        root: Any, info: graphene.ResolveInfo, by: Any, days: int
    ) -> list[stats.Row]:
        require_membership(info)
        return stats.scan_stats(stats.Grouping(choice_value(by)), days)

    @staticmethod
    def resolve_scan_stats_csv(root: Any, info: graphene.ResolveInfo, by: Any, days: int) -> str:
        require_membership(info)
        return stats.stats_csv(stats.Grouping(choice_value(by)), days)

    @staticmethod
    def resolve_campaign_diversion_action(
        root: Any, info: graphene.ResolveInfo, campaign_id: str
    ) -> str:
        require_membership(info)
        campaign = campaign_by_id(info, campaign_id, "campaignId")
        return services.diversion_action(campaign).value
