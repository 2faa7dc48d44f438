"""Each merchant's active campaigns copied to the public "ways to earn" list
(``earning.models.WayToEarn``), for every kind of campaign.

What the list says of a campaign beyond its name and dates (the points on offer, the
consumer's page, whether a consumer earns it once) depends on its kind: each kind
registers a function for it (``register_kind``). A kind that registered nothing is
still listed, with the points unknown: a new kind of campaign appears in the list the
day it can be activated, and its app fills in the rest when it registers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from campaigns.models import (
    BatchStatus,
    Campaign,
    CampaignKind,
    CampaignStatus,
    CodeBatch,
    FollowCampaign,
    Questionnaire,
)
from campaigns.questionnaires.links import questionnaire_link
from earning.models import WayToEarn
from tenants.models import Merchant


@dataclass(frozen=True)
class Offer:
    points: int | None = None
    path: str = ""
    earned_once_ref: str = ""


# kind -> (merchant, that kind's active campaigns) -> offer by campaign pk; one call per
# kind per merchant, so a kind answers all its campaigns with a query or two.
KindOffers = Callable[[Merchant, Sequence[Campaign]], dict[int, Offer]]
_kinds: dict[str, KindOffers] = {}


def register_kind(kind: str, offers: KindOffers) -> None:
    """Called by the module of a kind of campaign; registering a kind again replaces it."""
    _kinds[kind] = offers


def _scan_offers(merchant: Merchant, campaigns: Sequence[Campaign]) -> dict[int, Offer]:
    best: dict[int, int] = {}
    for campaign_id, points in CodeBatch.objects.filter(
        campaign__in=campaigns, status__in=[BatchStatus.GENERATING, BatchStatus.READY]
    ).values_list("campaign_id", "points_per_code"):
        best[campaign_id] = max(points, best.get(campaign_id, 0))
    # Codes are on packaging: the page is the scanner.
    return {c.pk: Offer(points=best.get(c.pk), path="/scan") for c in campaigns}


def _questionnaire_offers(merchant: Merchant, campaigns: Sequence[Campaign]) -> dict[int, Offer]:
    keys = {c.pk: c.link_key for c in campaigns}
    return {
        q.campaign_id: Offer(
            points=q.points_per_response,
            path=f"/q/{questionnaire_link(merchant.pk, keys[q.campaign_id])}",
            earned_once_ref=f"survey:{q.pk}:",
        )
        for q in Questionnaire.objects.filter(campaign__in=campaigns)
    }


def _follow_offers(merchant: Merchant, campaigns: Sequence[Campaign]) -> dict[int, Offer]:
    # The follow page's link is the questionnaire's form of a campaign link
    # (campaigns/graphql/types/follow.py).
    keys = {c.pk: c.link_key for c in campaigns}
    return {
        f.campaign_id: Offer(
            points=f.points_per_follow,
            path=f"/follow/{questionnaire_link(merchant.pk, keys[f.campaign_id])}",
        )
        for f in FollowCampaign.objects.filter(campaign__in=campaigns)
    }


register_kind(CampaignKind.SCAN, _scan_offers)
register_kind(CampaignKind.QUESTIONNAIRE, _questionnaire_offers)
register_kind(CampaignKind.FOLLOW, _follow_offers)


def refresh_merchant(merchant: Merchant) -> int:
    """Replace the merchant's rows with its campaigns active now; how many are listed."""
    if not merchant.is_provisioned:
        return 0
    now = timezone.now()
    with tenant_context(merchant):
        active = [
            c
            for c in Campaign.objects.filter(status=CampaignStatus.ACTIVE)
            if c.ends_at is None or c.ends_at > now
        ]
        offers: dict[int, Offer] = {}
        by_kind: dict[str, list[Campaign]] = {}
        for campaign in active:
            by_kind.setdefault(campaign.kind, []).append(campaign)
        for kind, campaigns in by_kind.items():
            if kind in _kinds:
                offers.update(_kinds[kind](merchant, campaigns))
    listed = active if merchant.is_active else []
    with transaction.atomic():
        WayToEarn.objects.filter(merchant=merchant).exclude(
            campaign_id__in=[c.pk for c in listed]
        ).delete()
        for campaign in listed:
            offer = offers.get(campaign.pk, Offer())
            WayToEarn.objects.update_or_create(
                merchant=merchant,
                campaign_id=campaign.pk,
                defaults={
                    "kind": str(campaign.kind),
                    "name": campaign.name,
                    "description": (campaign.description or "")[:200],
                    "points": offer.points,
                    "path": offer.path,
                    "earned_once_ref": offer.earned_once_ref,
                    "starts_at": campaign.starts_at,
                    "ends_at": campaign.ends_at,
                    # Newest campaigns first, in the order they were made.
                    "created_at": campaign.created_at,
                },
            )
    return len(listed)


def refresh_all() -> int:
    """Every merchant's list (the periodic sweep): how many campaigns are listed."""
    return sum(refresh_merchant(m) for m in Merchant.objects.provisioned())
