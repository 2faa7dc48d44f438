"""Scan events in the APIs: the anti-counterfeit answer (consumer) and the merchant's
suspicious codes with their scan history.

The consumer's answer never names who scanned before; the merchant's history tells
devices apart by a short tag of their hash and says only whether the scanner was signed
in, not who it was.
"""

from __future__ import annotations

import graphene
from graphene_django import DjangoObjectType

from api.scalars import BigInt
from campaigns import models
from campaigns.scan.verification import Verification
from core import regions

SuspicionReasonEnum = graphene.Enum(
    "SuspicionReason",
    [(value.upper(), value) for value in models.SuspicionReason.values],
    description=(
        "Why a code looks copied. MANY_LOOKUPS: looked up by several consumers or devices; "
        "FAR_APART: scanned in places hundreds of kilometres apart within an hour."
    ),
)
UserAgentClassEnum = graphene.Enum(
    "UserAgentClass",
    [(value.upper(), value) for value in models.UserAgentClass.values],
    description="Where a scan came from. CRAWLER scans (link previews) are never counted.",
)
ScanSourceEnum = graphene.Enum(
    "ScanSource",
    [(value.upper(), value) for value in models.ScanSource.values],
    description="PAGE: /s/<code> opened; PREVIEW: the code looked up; CLAIM; VERIFY.",
)


def _region_name(code: str) -> str | None:
    return regions.full_name(code) if code else None


class CodeVerification(graphene.ObjectType):
    """The anti-counterfeit answer for a code. Never says who scanned it."""

    genuine = graphene.Boolean(
        required=True, description="True when the code is one of a merchant's printed codes."
    )
    code = graphene.String(description="The code, normalised; null when not genuine.")
    merchant_name = graphene.String()
    campaign_name = graphene.String()
    product_name = graphene.String(description="The batch's product name (or its campaign's).")
    sku = graphene.String(description="The batch's product code, when it has one.")
    claimed = graphene.Boolean(description="Whether its points have been collected.")
    first_scanned_at = graphene.DateTime(description="When the code was first scanned.")
    first_region = graphene.String(description="GB/T 2260 code of where it was first scanned.")
    first_region_name = graphene.String(description="That region's full name, e.g. 广东省深圳市.")
    first_region_approximate = graphene.Boolean(
        description="True when the region comes from the network address (city level)."
    )
    lookups = graphene.Int(
        required=True,
        description="Times looked up, each consumer or device counted once per 10 minutes.",
    )
    warning = graphene.Field(SuspicionReasonEnum, description="Set when the code looks copied.")

    @staticmethod
    def resolve_warning(found: Verification, info: graphene.ResolveInfo) -> str | None:
        return found.warning.value if found.warning else None

    @staticmethod
    def resolve_first_region(found: Verification, info: graphene.ResolveInfo) -> str | None:
        return found.first_region or None

    @staticmethod
    def resolve_first_region_name(found: Verification, info: graphene.ResolveInfo) -> str | None:
        return found.first_region_name or None


class ScanEventRecord(DjangoObjectType):
    """One scan of a code, as the merchant sees it: no identity, a device tag."""

    agent = graphene.Field(UserAgentClassEnum, required=True)
    source = graphene.Field(ScanSourceEnum, required=True)
    region_name = graphene.String()
    device = graphene.String(
        required=True, description="A short tag of the device's hash: equal tags, same device."
    )
    signed_in = graphene.Boolean(required=True, description="Whether a consumer was signed in.")
    latitude = graphene.Float(description="WGS-84, rounded to 0.01°.")
    longitude = graphene.Float(description="WGS-84, rounded to 0.01°.")

    class Meta:
        name = "ScanEvent"
        model = models.ScanEvent
        fields = ("scanned_at", "outcome", "counted", "region", "approximate")
        skip_registry = True

    @staticmethod
    def resolve_agent(event: models.ScanEvent, info: graphene.ResolveInfo) -> str:
        return models.UserAgentClass(event.agent).value

    @staticmethod
    def resolve_source(event: models.ScanEvent, info: graphene.ResolveInfo) -> str:
        return models.ScanSource(event.source).value

    @staticmethod
    def resolve_region_name(event: models.ScanEvent, info: graphene.ResolveInfo) -> str | None:
        return _region_name(event.region)

    @staticmethod
    def resolve_device(event: models.ScanEvent, info: graphene.ResolveInfo) -> str:
        return f"{event.fingerprint & 0xFFFFFF:06x}"

    @staticmethod
    def resolve_signed_in(event: models.ScanEvent, info: graphene.ResolveInfo) -> bool:
        return event.consumer_id is not None

    @staticmethod
    def resolve_latitude(event: models.ScanEvent, info: graphene.ResolveInfo) -> float | None:
        return None if event.latitude is None else float(event.latitude)

    @staticmethod
    def resolve_longitude(event: models.ScanEvent, info: graphene.ResolveInfo) -> float | None:
        return None if event.longitude is None else float(event.longitude)


class CodeScansRecord(DjangoObjectType):
    """A code's scans summed up: first scan, lookups, and why it looks suspicious."""

    scans = BigInt(required=True, description="Every scan but crawlers'.")
    lookups = BigInt(required=True, description="Deduplicated per consumer or device.")
    suspicion = graphene.Field(SuspicionReasonEnum)
    first_region_name = graphene.String()
    region_name = graphene.String(description="Where it was last scanned with a location.")

    class Meta:
        name = "CodeScans"
        model = models.CodeScans
        fields = (
            "code",
            "first_scanned_at",
            "first_region",
            "first_approximate",
            "last_scanned_at",
            "region",
            "suspected_at",
            "distance_km",
        )
        use_connection = True
        skip_registry = True

    @staticmethod
    def resolve_suspicion(summary: models.CodeScans, info: graphene.ResolveInfo) -> str | None:
        return models.SuspicionReason(summary.suspicion).value if summary.suspicion else None

    @staticmethod
    def resolve_first_region_name(
        summary: models.CodeScans, info: graphene.ResolveInfo
    ) -> str | None:
        return _region_name(summary.first_region)

    @staticmethod
    def resolve_region_name(summary: models.CodeScans, info: graphene.ResolveInfo) -> str | None:
        return _region_name(summary.region)


class CodeScanHistory(graphene.ObjectType):
    """One code's product, summary and latest scans (newest first)."""

    code = graphene.String(required=True)
    product_name = graphene.String()
    sku = graphene.String()
    summary = graphene.Field(CodeScansRecord, description="Null until the code is scanned.")
    events = graphene.List(graphene.NonNull(ScanEventRecord), required=True)


class ScanDayTotals(graphene.ObjectType):
    """One day's scans of the merchant's codes (the consumers' calendar)."""

    day = graphene.Date(required=True)
    scans = BigInt(required=True, description="Every scan, crawlers included.")
    lookups = BigInt(required=True, description="Deduplicated per consumer or device.")
    crawlers = BigInt(required=True, description="Crawlers and link previews.")
    claims = BigInt(required=True)
