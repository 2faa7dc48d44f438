"""Dealers, their assignments and diversion events in the merchant API."""

from __future__ import annotations

import graphene
from django.utils.translation import gettext as _
from graphene_django import DjangoObjectType

from api.scalars import BigInt
from campaigns.graphql.nodes import MerchantNode, node_or_not_found
from campaigns.graphql.types.campaigns import CodeBatchNode
from core import regions
from dealers import models, stats

RegionLevelEnum = graphene.Enum(
    "RegionLevel",
    [(level.name, level.value) for level in regions.Level],
    description="A GB/T 2260 division's level.",
)
DiversionActionEnum = graphene.Enum(
    "DiversionAction",
    [(value.upper(), value) for value in models.DiversionAction.values],
    description=(
        "FLAG: a claim outside the sales regions is only listed and sent as a webhook. "
        "REFUSE: it is also refused (DIVERSION_REFUSED), but only when the consumer shared a "
        "precise location; a region from the network address never refuses."
    ),
)
StatsGroupingEnum = graphene.Enum(
    "StatsGrouping",
    [(value.name, value.value) for value in stats.Grouping],
    description="Group by the scan's province, its city, or the dealer the goods went to.",
)


class SalesRegion(graphene.ObjectType):
    """A GB/T 2260 division (province, city or district)."""

    code = graphene.String(required=True, description="Six digits, e.g. 440300 (深圳市).")
    name = graphene.String(required=True, description="Its own name, e.g. 深圳市.")
    full_name = graphene.String(required=True, description="e.g. 广东省深圳市.")
    level = graphene.Field(RegionLevelEnum, required=True)

    @staticmethod
    def of(code: str) -> SalesRegion:
        found = regions.division(code)
        return SalesRegion(
            code=code,
            name=found.name if found else code,
            full_name=regions.full_name(code) or code,
            level=(found.level if found else regions.Level.DISTRICT).value,
        )


class DealerNode(MerchantNode, DjangoObjectType):
    """A dealer (经销商) and the regions it sells in."""

    regions = graphene.List(graphene.NonNull(SalesRegion), required=True)

    class Meta:
        name = "Dealer"
        model = models.Dealer
        interfaces = (graphene.relay.Node,)
        fields = ("id", "name", "created_at")
        skip_registry = True

    @staticmethod
    def resolve_regions(dealer: models.Dealer, info: graphene.ResolveInfo) -> list[SalesRegion]:
        return [SalesRegion.of(code) for code in dealer.regions]


class DealerAssignmentNode(MerchantNode, DjangoObjectType):
    """A batch's serials ``firstSerial`` to ``lastSerial`` (inclusive) went to a dealer."""

    dealer = graphene.Field(DealerNode, required=True)
    batch = graphene.Field(CodeBatchNode, required=True)
    first_serial = graphene.Int(required=True)
    last_serial = graphene.Int(required=True)

    node_related = ("dealer", "batch")

    class Meta:
        name = "DealerAssignment"
        model = models.DealerAssignment
        interfaces = (graphene.relay.Node,)
        fields = ("id", "created_at")
        skip_registry = True


class DiversionEventNode(MerchantNode, DjangoObjectType):
    """A code scanned outside its dealer's sales regions: one per code and region."""

    dealer = graphene.Field(DealerNode, required=True)
    batch = graphene.Field(CodeBatchNode, required=True)
    region = graphene.Field(SalesRegion, required=True)
    province = graphene.Field(SalesRegion, required=True)
    scans = BigInt(required=True, description="Scans of the code in this region.")
    approximate = graphene.Boolean(
        required=True,
        description="True while every scan there was located by network address only "
        "(city level, often the SIM's home province): a hint, never a refusal.",
    )
    refused = graphene.Boolean(required=True, description="A claim here was refused.")
    latitude = graphene.Float(description="WGS-84, rounded to 0.01°.")
    longitude = graphene.Float(description="WGS-84, rounded to 0.01°.")

    node_related = ("dealer", "batch")

    class Meta:
        name = "DiversionEvent"
        model = models.DiversionEvent
        interfaces = (graphene.relay.Node,)
        fields = ("id", "code", "first_scanned_at", "last_scanned_at")
        use_connection = True
        skip_registry = True

    @staticmethod
    def resolve_region(event: models.DiversionEvent, info: graphene.ResolveInfo) -> SalesRegion:
        return SalesRegion.of(event.region)

    @staticmethod
    def resolve_province(event: models.DiversionEvent, info: graphene.ResolveInfo) -> SalesRegion:
        return SalesRegion.of(event.region[:2] + "0000")

    @staticmethod
    def resolve_latitude(event: models.DiversionEvent, info: graphene.ResolveInfo) -> float | None:
        return None if event.latitude is None else float(event.latitude)

    @staticmethod
    def resolve_longitude(event: models.DiversionEvent, info: graphene.ResolveInfo) -> float | None:
        return None if event.longitude is None else float(event.longitude)


class ScanStatsRow(graphene.ObjectType):
    """Scans of people (crawlers left out) of one region or one dealer's goods."""

    key = graphene.String(required=True, description="The region's code, or the dealer's id.")
    name = graphene.String(required=True)
    scans = BigInt(required=True)
    claims = BigInt(required=True)
    consumers = BigInt(required=True, description="Distinct signed-in consumers.")
    diverted_scans = BigInt(required=True, description="Scans outside the dealer's regions.")
    diversion_share = graphene.Float(required=True, description="divertedScans / scans.")


class DiversionTotalRow(graphene.ObjectType):
    """Diversions first seen in the period, of one province, city or dealer."""

    key = graphene.String(required=True, description="The region's code, or the dealer's id.")
    name = graphene.String(required=True)
    diversions = BigInt(required=True, description="Codes seen outside, once per region.")
    scans = BigInt(required=True)
    precise = BigInt(required=True, description="Located by a consented location at least once.")
    refused = BigInt(required=True)


def dealer_by_id(info: graphene.ResolveInfo, global_id: str, field: str = "id") -> models.Dealer:
    return node_or_not_found(info, global_id, DealerNode, field, _("No such dealer."))


def assignment_by_id(
    info: graphene.ResolveInfo, global_id: str, field: str = "id"
) -> models.DealerAssignment:
    return node_or_not_found(info, global_id, DealerAssignmentNode, field, _("No such assignment."))
