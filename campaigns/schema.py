"""Merchant API for scan campaigns: campaigns, code batches, their stats, failed scans.

Everything here runs in the merchant's schema: ``require_membership`` switches the
connection to it, so the tables queried are the merchant's own and no other
merchant's rows can appear. Global IDs name the merchant as well as the row
(``Campaign:<merchant id>:<pk>``): every merchant's tables number their rows from 1,
so a bare primary key would name a different campaign at every merchant. An ID of
another merchant's object resolves to null (``node``) or ``NOT_FOUND`` (mutations).

Roles: viewers read; operators create, edit, activate and pause campaigns and
create batches; admins end campaigns and void batches (both irreversible).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

import graphene
from django.db.models import Model, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from graphene_django import DjangoConnectionField, DjangoObjectType

from api.errors import ErrorCode
from api.mutations import DomainMutation
from api.permissions import require_membership
from campaigns import dashboard, models, services
from campaigns.scan import services as scan_services
from campaigns.scan import stats
from core.error_codes import CoreErrorCode
from core.errors import DomainError
from tenants.models import Role

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

# scanFailures lists at most this many rows (days x reasons; claims count 4 reasons).
MAX_FAILURE_ROWS = 1000


class MerchantNode:
    """Relay node behaviour for rows of a merchant's schema.

    The ID is ``<merchant id>:<pk>`` under the type name, and ``node(id:)`` answers
    only IDs of the merchant the request is for.
    """

    node_related: tuple[str, ...] = ()

    @staticmethod
    def resolve_id(obj: Model, info: graphene.ResolveInfo) -> str:
        return f"{require_membership(info).merchant_id}:{obj.pk}"

    @classmethod
    def get_node(cls, info: graphene.ResolveInfo, id: str) -> Model | None:
        merchant_id = require_membership(info).merchant_id
        owner, _sep, pk = str(id).partition(":")
        if owner != str(merchant_id) or not pk.isdigit() or len(pk) > 18:
            return None
        model = cls._meta.model  # type: ignore[attr-defined]
        queryset = cls.get_queryset(model.objects.select_related(*cls.node_related), info)  # type: ignore[attr-defined]
        return queryset.filter(pk=int(pk)).first()

    @classmethod
    def get_queryset(cls, queryset: QuerySet, info: graphene.ResolveInfo) -> QuerySet:
        # The schema is the scope: switching to it is the filter. The queryset is
        # returned as it is, so a campaign's prefetched batches stay prefetched.
        require_membership(info)
        return queryset


# --- Stats --------------------------------------------------------------------------


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

    codes_issued = graphene.BigInt(
        required=True, resolver=_total("codes_issued"), description="Codes written."
    )
    codes_claimed = graphene.BigInt(required=True, resolver=_total("codes_claimed"))
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
    points_reserved = graphene.BigInt(
        required=True,
        resolver=_total("points_reserved"),
        description="Taken from the budget for the batches (size x points per code).",
    )
    points_awarded = graphene.BigInt(
        required=True, resolver=_total("points_awarded"), description="Paid to consumers."
    )
    points_returned = graphene.BigInt(
        required=True,
        resolver=_total("points_returned"),
        description="Given back to the budget by voiding batches or ending the campaign.",
    )
    points_outstanding = graphene.BigInt(
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


# --- Connections whose page shares its stats loader ---------------------------------


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


# --- Types --------------------------------------------------------------------------


class CodeBatchNode(MerchantNode, DjangoObjectType):
    """A print run of codes in a campaign. Poll it with `node(id:)` for generation progress."""

    campaign = graphene.Field(lambda: CampaignNode, required=True)
    points_per_code = graphene.BigInt(required=True)
    status = graphene.Field(CodeBatchStatusEnum, required=True)
    progress_percent = graphene.Float(
        required=True, description="Codes written so far, 0 to 100 (one decimal)."
    )
    failure_reason = graphene.String(description="Why generation failed, if it did.")
    reserved_points = graphene.BigInt(
        required=True, description="Taken from the budget at creation: size x points per code."
    )
    released_points = graphene.BigInt(
        required=True, description="Given back to the budget when the batch was voided."
    )
    claimed_count = graphene.Int(required=True)
    stats = graphene.Field(ClaimStats, required=True)

    node_related = ("campaign",)

    class Meta:
        name = "CodeBatch"
        model = models.CodeBatch
        interfaces = (graphene.relay.Node,)
        fields = ("id", "size", "generated", "created_at", "finished_at")
        skip_registry = True

    @staticmethod
    def resolve_status(batch: models.CodeBatch, info: graphene.ResolveInfo) -> str:
        return str(batch.status)  # a plain value, also for a TextChoices member

    @staticmethod
    def resolve_failure_reason(batch: models.CodeBatch, info: graphene.ResolveInfo) -> str | None:
        return batch.failure_reason or None

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


class ScanFailureDay(graphene.ObjectType):
    """Failed scans of one day for one reason (guessing, typos, reused codes)."""

    day = graphene.Date(required=True)
    reason = graphene.Field(ErrorCode, required=True)
    count = graphene.Int(required=True)


# --- Dashboard ----------------------------------------------------------------------


class DashboardDay(graphene.ObjectType):
    day = graphene.Date(required=True, description="The day in the requested time zone.")
    claims = graphene.Int(required=True, description="Scan codes claimed.")
    responses = graphene.Int(required=True, description="Questionnaire responses rewarded.")


class TopCampaign(graphene.ObjectType):
    campaign = graphene.Field(lambda: CampaignNode, required=True)
    points = graphene.BigInt(required=True, description="Points awarded, all time.")
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

    points_reserved = graphene.BigInt(
        required=True, description="Put into campaign reserves (batches, questionnaire caps)."
    )
    points_awarded = graphene.BigInt(required=True, description="Paid to consumers.")
    points_returned = graphene.BigInt(
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


# --- Looking objects up by ID -------------------------------------------------------


def _by_id(
    info: graphene.ResolveInfo, global_id: str, node_type: type, field: str, message: str
) -> Any:
    try:
        obj = graphene.relay.Node.get_node_from_global_id(info, global_id, only_type=node_type)
    except DomainError:
        raise
    except Exception:
        obj = None  # malformed, or an ID of another type: simply not found
    if obj is None:
        raise DomainError(CoreErrorCode.NOT_FOUND, message, field)
    return obj


def campaign_by_id(
    info: graphene.ResolveInfo, global_id: str, field: str = "id"
) -> models.Campaign:
    """The current merchant's campaign with this global ID, or ``NOT_FOUND`` on ``field``."""
    return _by_id(info, global_id, CampaignNode, field, _("No such campaign."))


def batch_by_id(info: graphene.ResolveInfo, global_id: str, field: str = "id") -> models.CodeBatch:
    """The current merchant's code batch with this global ID, or ``NOT_FOUND`` on ``field``."""
    return _by_id(info, global_id, CodeBatchNode, field, _("No such code batch."))


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and timezone.is_naive(value):
        return timezone.make_aware(value)
    return value


# --- Mutations ----------------------------------------------------------------------


class CreateScanCampaign(DomainMutation):
    """Create a scan campaign in draft (operator)."""

    class Arguments:
        name = graphene.String(required=True)
        description = graphene.String(default_value="")
        starts_at = graphene.DateTime()
        ends_at = graphene.DateTime()
        max_claims_per_day = graphene.Int(description="Claims per consumer per 24 hours.")
        max_claims_per_consumer = graphene.Int(description="Claims per consumer in all.")

    campaign = graphene.Field(CampaignNode)

    @classmethod
    def perform(cls, root: Any, info: graphene.ResolveInfo, **kwargs: Any) -> CreateScanCampaign:
        membership = require_membership(info, Role.OPERATOR)
        campaign = scan_services.create_scan_campaign(
            name=kwargs["name"],
            description=kwargs.get("description") or "",
            starts_at=_aware(kwargs.get("starts_at")),
            ends_at=_aware(kwargs.get("ends_at")),
            max_claims_per_day=kwargs.get("max_claims_per_day"),
            max_claims_per_consumer=kwargs.get("max_claims_per_consumer"),
            created_by=membership.acting_user,
        )
        return cls(campaign=campaign)


class UpdateCampaign(DomainMutation):
    """Change a campaign's details (operator). Arguments left out stay; null clears."""

    class Arguments:
        id = graphene.ID(required=True)
        name = graphene.String()
        description = graphene.String()
        starts_at = graphene.DateTime()
        ends_at = graphene.DateTime()
        max_claims_per_day = graphene.Int()
        max_claims_per_consumer = graphene.Int()

    campaign = graphene.Field(CampaignNode)

    @classmethod
    def perform(
        cls, root: Any, info: graphene.ResolveInfo, id: str, **changes: Any
    ) -> UpdateCampaign:
        require_membership(info, Role.OPERATOR)
        campaign = campaign_by_id(info, id)
        if "description" in changes:
            changes["description"] = changes["description"] or ""
        if "name" in changes:
            changes["name"] = changes["name"] or ""
        for field in ("starts_at", "ends_at"):
            if field in changes:
                changes[field] = _aware(changes[field])
        return cls(campaign=services.update_campaign(campaign, **changes))


class _StatusChange(DomainMutation):
    class Meta:
        abstract = True

    class Arguments:
        id = graphene.ID(required=True)

    campaign = graphene.Field(CampaignNode)
    role: str = Role.OPERATOR
    status: str = ""

    @classmethod
    def perform(cls, root: Any, info: graphene.ResolveInfo, id: str) -> _StatusChange:
        merchant = require_membership(info, cls.role).merchant
        campaign = campaign_by_id(info, id)
        return cls(campaign=services.set_status(merchant, campaign, cls.status))


class ActivateCampaign(_StatusChange):
    """Start (or resume) a campaign (operator): its codes can be claimed."""

    status = models.CampaignStatus.ACTIVE


class PauseCampaign(_StatusChange):
    """Stop claims for now (operator); activate again to resume."""

    status = models.CampaignStatus.PAUSED


class EndCampaign(_StatusChange):
    """End a campaign for good (admin): voids its batches, returns their unclaimed reserve."""

    role = Role.ADMIN
    status = models.CampaignStatus.ENDED


class CreateCodeBatch(DomainMutation):
    """Reserve ``size x pointsPerCode`` from the budget and generate the codes (operator).

    Generation runs in the background; poll the batch's ``progressPercent``. With
    too small a budget (``INSUFFICIENT_BUDGET``) nothing is created.
    """

    class Arguments:
        campaign_id = graphene.ID(required=True)
        size = graphene.Int(required=True, description="1 to 5,000,000 codes.")
        points_per_code = graphene.BigInt(required=True, description="1 to 1,000,000.")

    batch = graphene.Field(CodeBatchNode)

    @classmethod
    def perform(
        cls,
        root: Any,
        info: graphene.ResolveInfo,
        campaign_id: str,
        size: int,
        points_per_code: int,
    ) -> CreateCodeBatch:
        membership = require_membership(info, Role.OPERATOR)
        campaign = campaign_by_id(info, campaign_id, "campaignId")
        batch = scan_services.create_batch(
            membership.merchant,
            campaign,
            size=size,
            points_per_code=points_per_code,
            created_by=membership.acting_user,
        )
        return cls(batch=batch)


class VoidCodeBatch(DomainMutation):
    """Stop a batch's unclaimed codes working and return their reserve (admin)."""

    class Arguments:
        id = graphene.ID(required=True)

    batch = graphene.Field(CodeBatchNode)

    @classmethod
    def perform(cls, root: Any, info: graphene.ResolveInfo, id: str) -> VoidCodeBatch:
        merchant = require_membership(info, Role.ADMIN).merchant
        batch = batch_by_id(info, id)
        return cls(batch=scan_services.void_batch(merchant, batch))


# --- Root fields --------------------------------------------------------------------


class MerchantQueries(graphene.ObjectType):
    campaigns = CampaignConnectionField(
        CampaignNode,
        status=CampaignStatusEnum(),
        kind=CampaignKindEnum(),
        description="The merchant's campaigns, newest first.",
    )
    scan_failures = graphene.List(
        graphene.NonNull(ScanFailureDay),
        required=True,
        days=graphene.Int(default_value=30, description=f"1 to {stats.MAX_DAYS}."),
        description="Failed scans of the merchant's codes per day and reason, newest day first.",
    )
    dashboard = graphene.Field(
        Dashboard,
        required=True,
        days=graphene.Int(default_value=30, description=f"1 to {stats.MAX_DAYS}."),
        time_zone=graphene.String(description="IANA name, e.g. Asia/Shanghai (default UTC)."),
        description="Points, earnings per day, active consumers and top campaigns.",
    )

    @staticmethod
    def resolve_campaigns(
        root: Any, info: graphene.ResolveInfo, status: Any = None, kind: Any = None, **kwargs: Any
    ) -> QuerySet[models.Campaign]:
        require_membership(info)
        campaigns = models.Campaign.objects.prefetch_related("batches").order_by(
            "-created_at", "-id"
        )
        if status is not None:
            campaigns = campaigns.filter(status=getattr(status, "value", status))
        if kind is not None:
            campaigns = campaigns.filter(kind=getattr(kind, "value", kind))
        return campaigns

    @staticmethod
    def resolve_dashboard(
        root: Any, info: graphene.ResolveInfo, days: int, time_zone: str | None = None
    ) -> DashboardRoot:
        membership = require_membership(info)
        days = stats.check_window(days, stats.MAX_DAYS, "days")
        return DashboardRoot(membership.merchant_id, days, stats.time_zone(time_zone))

    @staticmethod
    def resolve_scan_failures(
        root: Any, info: graphene.ResolveInfo, days: int
    ) -> list[models.ScanFailure]:
        require_membership(info)
        days = stats.check_window(days, stats.MAX_DAYS, "days")
        since = timezone.localdate() - timedelta(days=days - 1)
        failures = models.ScanFailure.objects.filter(day__gte=since).order_by("-day", "reason")
        return list(failures[:MAX_FAILURE_ROWS])


class MerchantMutations(graphene.ObjectType):
    create_scan_campaign = CreateScanCampaign.Field()
    update_campaign = UpdateCampaign.Field()
    activate_campaign = ActivateCampaign.Field()
    pause_campaign = PauseCampaign.Field()
    end_campaign = EndCampaign.Field()
    create_code_batch = CreateCodeBatch.Field()
    void_code_batch = VoidCodeBatch.Field()
