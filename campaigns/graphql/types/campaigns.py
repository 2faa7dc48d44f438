"""Campaigns and their code batches in the merchant API, with claim stats and failed scans.

A campaign of either kind is a ``Campaign``; a questionnaire's own fields are on
``Questionnaire`` (``types.questionnaires``). Stats of a page of campaigns or batches
load together (``campaigns.scan.stats.StatsLoader``): the connection fields below
hand one loader to every item of the page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

import graphene
from django.utils.translation import gettext as _
from graphene_django import DjangoConnectionField, DjangoObjectType

from api.errors import ErrorCode
from api.permissions import require_membership
from api.scalars import BigInt
from campaigns import models
from campaigns.error_codes import CampaignErrorCode
from campaigns.graphql.nodes import MerchantNode, node_or_not_found
from campaigns.preview import PREVIEW_LINK
from campaigns.scan import stats
from core.errors import ErrorCodeEnum

CampaignStatusEnum = graphene.Enum(
    "CampaignStatus",
    [(value.upper(), value) for value in models.CampaignStatus.values],
    description="draft → active ⇄ paused → ended (ended is final).",
)
CampaignKindEnum = graphene.Enum(
    "CampaignKind",
    [(value.upper(), value) for value in models.CampaignKind.values],
    description="Scan codes or questionnaire.",
)
CodeBatchStatusEnum = graphene.Enum(
    "CodeBatchStatus",
    [(value.upper(), value) for value in models.BatchStatus.values],
    description="generating → ready or failed; voided when voided or its campaign ended.",
)


# --- Stats ------------------------------------------------------------------------


class ClaimBucket(graphene.ObjectType):
    bucket = graphene.DateTime(required=True, description="Start of the day or hour.")
    claims = graphene.Int(required=True)


@dataclass
class StatsRoot:
    loader: stats.StatsLoader
    key: int

    @cached_property
    def totals(self) -> stats.Totals:
        return self.loader.totals(self.key)


def _total(name: str) -> Callable[[StatsRoot, graphene.ResolveInfo], Any]:
    return lambda root, info: getattr(root.totals, name)


class ClaimStats(graphene.ObjectType):
    """Claims of a campaign or of one batch (definitions in the API guide)."""

    refusal_codes: ClassVar[dict[str, dict[str, ErrorCodeEnum]]] = {
        "claimsPerDay": {"days": CampaignErrorCode.INVALID_PERIOD},
        "claimsPerHour": {"hours": CampaignErrorCode.INVALID_PERIOD},
    }

    codes_issued = BigInt(
        required=True, resolver=_total("codes_issued"), description="Codes written."
    )
    codes_claimed = BigInt(required=True, resolver=_total("codes_claimed"))
    claim_rate = graphene.Float(
        required=True,
        resolver=_total("claim_rate"),
        description="Claimed / issued, from 0 to 1 (0 when no code is issued).",
    )
    unique_consumers = graphene.Int(required=True, resolver=_total("unique_consumers"))
    repeat_consumers = graphene.Int(
        required=True,
        resolver=_total("repeat_consumers"),
        description="Consumers with two claims or more.",
    )
    points_reserved = BigInt(
        required=True,
        resolver=_total("points_reserved"),
        description="Taken from the budget for the batches (size x points per code).",
    )
    points_awarded = BigInt(
        required=True, resolver=_total("points_awarded"), description="Paid to consumers."
    )
    points_returned = BigInt(
        required=True,
        resolver=_total("points_returned"),
        description="Given back to the budget by voiding batches or ending the campaign.",
    )
    points_outstanding = BigInt(
        required=True,
        resolver=_total("points_outstanding"),
        description="Still in reserve: reserved - awarded - returned.",
    )
    claims_per_day = graphene.List(
        graphene.NonNull(ClaimBucket),
        required=True,
        days=graphene.Int(default_value=30, description=f"1 to {stats.MAX_DAYS}."),
        time_zone=graphene.String(description="IANA name, e.g. Asia/Shanghai (default UTC)."),
        description="Claims on each of the last `days` days (today included), oldest first.",
    )
    claims_per_hour = graphene.List(
        graphene.NonNull(ClaimBucket),
        required=True,
        hours=graphene.Int(default_value=48, description=f"1 to {stats.MAX_HOURS}."),
        time_zone=graphene.String(),
        description="Claims in each of the last `hours` hours (this one included), oldest first.",
    )

    @staticmethod
    def resolve_claims_per_day(
        root: StatsRoot, info: graphene.ResolveInfo, days: int, time_zone: str | None = None
    ) -> list[stats.Bucket]:
        days = stats.check_window(days, stats.MAX_DAYS, "days")
        return root.loader.series(root.key, "day", days, stats.time_zone(time_zone))

    @staticmethod
    def resolve_claims_per_hour(
        root: StatsRoot, info: graphene.ResolveInfo, hours: int, time_zone: str | None = None
    ) -> list[stats.Bucket]:
        hours = stats.check_window(hours, stats.MAX_HOURS, "hours")
        return root.loader.series(root.key, "hour", hours, stats.time_zone(time_zone))


# --- Connections whose page shares its stats loader -------------------------------


class BatchConnectionField(DjangoConnectionField):
    @classmethod
    def resolve_connection(
        cls, connection: Any, args: Any, iterable: Any, max_limit: int | None = None
    ) -> Any:
        result = super().resolve_connection(connection, args, iterable, max_limit)
        stats.share_loader([edge.node for edge in result.edges], "batch")
        return result


class CampaignConnectionField(DjangoConnectionField):
    @classmethod
    def resolve_connection(
        cls, connection: Any, args: Any, iterable: Any, max_limit: int | None = None
    ) -> Any:
        result = super().resolve_connection(connection, args, iterable, max_limit)
        campaigns = [edge.node for edge in result.edges]
        stats.share_loader(campaigns, "campaign")
        # The page's batches were prefetched with it: their stats load together too.
        batches = [
            batch
            for campaign in campaigns
            for batch in getattr(campaign, "_prefetched_objects_cache", {}).get("batches", ())
        ]
        stats.share_loader(batches, "batch")
        return result


# --- Campaigns and batches --------------------------------------------------------


class CodeBatchNode(MerchantNode, DjangoObjectType):
    """A print run of codes in a campaign. Poll it with `node(id:)` for generation progress."""

    campaign = graphene.Field(lambda: CampaignNode, required=True)
    points_per_code = BigInt(required=True)
    status = graphene.Field(CodeBatchStatusEnum, required=True)
    progress_percent = graphene.Float(
        required=True, description="Codes written so far, 0 to 100 (one decimal)."
    )
    failure_reason = graphene.String(description="Why generation failed, if it did.")
    reserved_points = BigInt(
        required=True, description="Taken from the budget at creation: size x points per code."
    )
    released_points = BigInt(
        required=True, description="Given back to the budget when the batch was voided."
    )
    claimed_count = graphene.Int(required=True)
    stats = graphene.Field(ClaimStats, required=True)
    hidden_code = graphene.Boolean(
        required=True, description="Each code has a hidden verification code (刮开涂层)."
    )
    hidden_codes_issued = graphene.Boolean(
        required=True,
        description=(
            "An export has issued the hidden codes (shown once, in that export's one "
            "download); no later CSV or PDF export can."
        ),
    )

    node_related = ("campaign",)

    class Meta:
        name = "CodeBatch"
        model = models.CodeBatch
        interfaces = (graphene.relay.Node,)
        fields = ("id", "name", "sku", "size", "generated", "created_at", "finished_at")
        skip_registry = True

    @staticmethod
    def resolve_status(batch: models.CodeBatch, info: graphene.ResolveInfo) -> str:
        return str(batch.status)  # a plain value, also for a TextChoices member

    @staticmethod
    def resolve_failure_reason(batch: models.CodeBatch, info: graphene.ResolveInfo) -> str | None:
        return batch.failure_reason or None

    @staticmethod
    def resolve_hidden_codes_issued(batch: models.CodeBatch, info: graphene.ResolveInfo) -> bool:
        return batch.hidden_export_id is not None

    @staticmethod
    def resolve_claimed_count(batch: models.CodeBatch, info: graphene.ResolveInfo) -> int:
        return stats.loader_for(batch, "batch").totals(batch.pk).codes_claimed

    @staticmethod
    def resolve_stats(batch: models.CodeBatch, info: graphene.ResolveInfo) -> StatsRoot:
        return StatsRoot(stats.loader_for(batch, "batch"), batch.pk)


class CampaignNode(MerchantNode, DjangoObjectType):
    """A campaign of the merchant: status draft → active ⇄ paused → ended."""

    kind = graphene.Field(CampaignKindEnum, required=True)
    status = graphene.Field(CampaignStatusEnum, required=True)
    batches = BatchConnectionField(CodeBatchNode, description="Newest first.")
    stats = graphene.Field(ClaimStats, required=True)
    preview_url = graphene.String(
        required=True,
        description=(
            "The campaign's consumer page as a consumer sees it, for 15 minutes. Opening "
            "it counts as no scan, lookup or response, and nothing can be collected there."
        ),
    )

    class Meta:
        name = "Campaign"
        model = models.Campaign
        interfaces = (graphene.relay.Node,)
        fields = (
            "id",
            "name",
            "description",
            "starts_at",
            "ends_at",
            "max_claims_per_day",
            "max_claims_per_consumer",
            "created_at",
        )
        skip_registry = True

    @staticmethod
    def resolve_kind(campaign: models.Campaign, info: graphene.ResolveInfo) -> str:
        return str(campaign.kind)  # a plain value, also for a TextChoices member

    @staticmethod
    def resolve_status(campaign: models.Campaign, info: graphene.ResolveInfo) -> str:
        return str(campaign.status)

    @staticmethod
    def resolve_batches(
        campaign: models.Campaign, info: graphene.ResolveInfo, **kwargs: Any
    ) -> Any:
        return campaign.batches.all()  # the prefetched page when listed

    @staticmethod
    def resolve_stats(campaign: models.Campaign, info: graphene.ResolveInfo) -> StatsRoot:
        return StatsRoot(stats.loader_for(campaign, "campaign"), campaign.pk)

    @staticmethod
    def resolve_preview_url(campaign: models.Campaign, info: graphene.ResolveInfo) -> str:
        merchant_id = require_membership(info).merchant_id
        return PREVIEW_LINK.url(info.context, merchant_id, campaign.pk)


class ScanFailureDay(graphene.ObjectType):
    """Failed scans of one day for one reason (guessing, typos, reused codes)."""

    day = graphene.Date(required=True)
    reason = graphene.Field(ErrorCode, required=True)
    count = graphene.Int(required=True)


# --- Looking campaigns and batches up by ID ---------------------------------------


def campaign_by_id(
    info: graphene.ResolveInfo, global_id: str, field: str = "id"
) -> models.Campaign:
    """The current merchant's campaign with this global ID, or ``NOT_FOUND`` on ``field``."""
    return node_or_not_found(info, global_id, CampaignNode, field, _("No such campaign."))


def batch_by_id(info: graphene.ResolveInfo, global_id: str, field: str = "id") -> models.CodeBatch:
    """The current merchant's code batch with this global ID, or ``NOT_FOUND`` on ``field``."""
    return node_or_not_found(info, global_id, CodeBatchNode, field, _("No such code batch."))
