"""Prize tables: define (draft only), lock at activation, reveal, rotate seeds, stats.

Run inside the merchant's schema. The draws themselves happen in the claim's one
statement (campaigns/prizes/sql/campaigns_claim_prize.sql, called by
``campaigns.prizes.claims``); this module does what surrounds them.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.error_codes import PrizeErrorCode
from campaigns.models import (
    Campaign,
    CampaignError,
    CampaignKind,
    CampaignStatus,
    PrizeDraw,
    PrizeSeed,
    PrizeTable,
    PrizeTier,
)
from campaigns.models.prizes import TierTerms, reserve_for, validate_terms
from campaigns.prizes import coupons
from campaigns.prizes.draw import commitment, hmac_pads
from core.db import connection

SEED_BYTES = 32


def set_prize_table(
    campaign: Campaign,
    tiers: list[TierTerms],
    period_days: int | None = None,
    first_scan_guarantee: bool = False,
) -> PrizeTable:
    """Give a draft scan or questionnaire campaign a prize table, or replace its draft one.

    Refused once the campaign was activated (the terms are published and locked) or has
    batches (they reserved by these terms). With ``first_scan_guarantee``, a consumer's
    first draw in the campaign wins at least the lowest paying tier (decision 0280).
    """
    if campaign.kind not in (CampaignKind.SCAN, CampaignKind.QUESTIONNAIRE):
        raise CampaignError(
            PrizeErrorCode.INVALID_PRIZE_TABLE,
            _("Prize tables belong to scan and questionnaire campaigns."),
        )
    tiers = coupons.priced(connection.tenant, tiers)
    validate_terms(tiers, period_days, first_scan_guarantee)
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        table = PrizeTable.objects.filter(campaign=campaign).first()
        _ensure_terms_open(campaign, table)
        if table is None:
            table = PrizeTable.objects.create(
                campaign=campaign,
                period_days=period_days,
                first_scan_guarantee=first_scan_guarantee,
            )
        else:
            table.tiers.all().delete()
            table.period_days = period_days
            table.first_scan_guarantee = first_scan_guarantee
            table.save(update_fields=["period_days", "first_scan_guarantee"])
        PrizeTier.objects.bulk_create(
            PrizeTier(
                table=table,
                position=i,
                name=t.name.strip(),
                points=t.points,
                weight=t.weight,
                cap=t.cap,
                coupon_product_id=t.coupon,
            )
            for i, t in enumerate(tiers, start=1)
        )
    return table


def clear_prize_table(campaign: Campaign) -> Campaign:
    """Make a draft campaign pay fixed points again: its saved prize table goes.

    Refused as ``set_prize_table`` is once the terms are locked (activation, or a first
    batch, which reserved by them). A draft table has no seed, no draw and no coupon set
    aside (all come at activation or with a batch), so its tiers are all there is to
    remove. A campaign without a table is left as it is.
    """
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        table = PrizeTable.objects.filter(campaign=campaign).first()
        _ensure_terms_open(campaign, table)
        if table is not None:
            table.tiers.all().delete()
            table.delete()
    return campaign


def _ensure_terms_open(campaign: Campaign, table: PrizeTable | None) -> None:
    """The terms may change only on a draft whose table is not locked and that has no
    batch (the campaign's row locked by the caller)."""
    if campaign.status != CampaignStatus.DRAFT or (table is not None and table.is_locked):
        raise CampaignError(
            PrizeErrorCode.PRIZE_TERMS_LOCKED,
            _(
                "The prize terms were published when the campaign was activated; "
                "promotion rules forbid changing them during the promotion."
            ),
        )
    if campaign.batches.exists():
        raise CampaignError(
            PrizeErrorCode.PRIZE_TERMS_LOCKED,
            _("This campaign's batches reserved points by its terms: they cannot change."),
        )


def table_of(campaign: Campaign) -> PrizeTable | None:
    return PrizeTable.objects.filter(campaign=campaign).first()


@dataclass(frozen=True)
class BatchTerms:
    points_per_code: int
    reserve: int


def batch_terms(campaign: Campaign, size: int) -> BatchTerms | None:
    """A prize campaign's batch: the most a code pays and what the batch reserves; for a
    prize questionnaire, ``size`` is its rewarded responses, which draw as a batch of that
    size would (decision 0283)."""
    table = table_of(campaign)
    if table is None:
        return None
    terms = table.terms()
    return BatchTerms(max(t.points for t in terms), reserve_for(terms, size))


def lock(campaign: Campaign, now: datetime | None = None) -> None:
    """At (first) activation: lock the terms and publish the first seed's commitment.

    Called inside the activation's transaction, with the campaign row locked.
    """
    table = PrizeTable.objects.select_for_update().filter(campaign=campaign).first()
    if table is None or table.is_locked:
        return
    now = now or timezone.now()
    table.locked_at = now
    table.seed = _new_seed(table, 0, now)
    if table.first_scan_guarantee:
        table.player_key = secrets.token_bytes(SEED_BYTES)
    table.save(update_fields=["locked_at", "seed", "player_key"])


def _new_seed(table: PrizeTable, period: int, now: datetime) -> PrizeSeed:
    seed = secrets.token_bytes(SEED_BYTES)
    ends_at = now + timedelta(days=table.period_days) if table.period_days else None
    return PrizeSeed.objects.create(
        table=table,
        period=period,
        seed=seed,
        hmac_pads=hmac_pads(seed),
        commitment=commitment(seed),
        committed_at=now,
        ends_at=ends_at,
    )


def reveal(campaign: Campaign, now: datetime | None = None) -> None:
    """At the campaign's end: reveal the seed in use (its draws are over).

    Called with the campaign's row locked for update, which a draw takes in key share by
    its first read (decision 0318): no draw is in flight, and one that comes after reads
    the campaign ended and draws nothing. The head is locked next, before any reserve.
    """
    table = PrizeTable.objects.select_for_update().filter(campaign=campaign).first()
    if table is None or table.seed_id is None:
        return
    PrizeSeed.objects.filter(pk=table.seed_id, revealed_at__isnull=True).update(
        revealed_at=now or timezone.now()
    )


def rotate_due(now: datetime | None = None) -> int:
    """At each period's end: a fresh seed (its commitment published) takes over and the
    old one is revealed. Returns how many tables rotated (this merchant's schema)."""
    now = now or timezone.now()
    rotated = 0
    due = PrizeTable.objects.filter(
        seed__ends_at__lte=now,
        seed__revealed_at__isnull=True,
        campaign__status__in=[CampaignStatus.ACTIVE, CampaignStatus.PAUSED],
    ).values_list("pk", flat=True)
    for pk in list(due):
        with transaction.atomic():
            table = (
                PrizeTable.objects.select_for_update(of=("self",)).select_related("seed").get(pk=pk)
            )
            old = table.seed
            if old is None or old.revealed_at is not None or old.ends_at is None:
                continue
            if old.ends_at > now:
                continue
            table.seed = _new_seed(table, old.period + 1, now)
            table.save(update_fields=["seed"])
            old.revealed_at = now
            old.save(update_fields=["revealed_at"])
            rotated += 1
    return rotated


# A published tier as a consumer's page shows it: name, points, weight, cap.
PublishedTier = tuple[str, int, int, int | None]


def chances(tiers: tuple[PublishedTier, ...]) -> list[tuple[str, int, float, int | None]]:
    """Each published tier as (name, points, chance, cap): its weight over the total."""
    total = sum(weight for _name, _points, weight, _cap in tiers)
    return [(name, points, weight / total, cap) for name, points, weight, cap in tiers]


@dataclass(frozen=True)
class PublishedTerms:
    """What a consumer sees before drawing (a scan preview, a questionnaire's form): the
    tiers, top prize first, and with the first-scan guarantee the tier it wins at least."""

    tiers: tuple[PublishedTier, ...]
    guarantee: str | None


def published_terms(campaign_id: int) -> PublishedTerms | None:
    """The campaign's published terms (in its merchant's schema); None without a table."""
    rows = list(
        PrizeTier.objects.filter(table__campaign_id=campaign_id)
        .order_by("position")
        .values_list("name", "points", "weight", "cap", "table__first_scan_guarantee")
    )
    if not rows:
        return None
    guarantee = None
    if rows[0][4]:
        # The published terms include the guarantee: the lowest tier that pays.
        guarantee = [name for name, points, *_rest in rows if points > 0][-1]
    return PublishedTerms(tuple(row[:4] for row in rows), guarantee)


@dataclass(frozen=True)
class TierStats:
    tier: PrizeTier
    drawn: int
    won: int

    @property
    def remaining(self) -> int | None:
        return None if self.tier.cap is None else self.tier.cap - self.won


def stats(table: PrizeTable) -> list[TierStats]:
    """Per tier: draws that landed on it, units awarded, units left (capped tiers)."""
    tiers = list(table.tiers.all())
    counts = PrizeDraw.objects.filter(table=table).aggregate(
        **{f"d{t.position}": Count("pk", filter=Q(drawn=t.position)) for t in tiers},
        **{f"w{t.position}": Count("pk", filter=Q(awarded=t.position)) for t in tiers},
    )
    return [
        TierStats(t, counts[f"d{t.position}"] or 0, counts[f"w{t.position}"] or 0) for t in tiers
    ]
