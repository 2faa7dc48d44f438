"""What a scanned code offers, before anyone claims it (the phone page shows this).

Public: no sign-in needed, so that the page can show the merchant, the campaign and
the points before asking for a phone number. Three rules keep it from leaking:

- It never says who claimed a code, only that it was claimed.
- The code's shape and check character are checked before any database query;
  a code that fails is refused (``MALFORMED_CODE`` / ``INVALID_CHECK_CHARACTER``).
- Answers that a guesser would learn from (malformed, typo, unknown, already
  claimed) count against the same per-IP failure window as failed claims
  (``campaigns.scan.claims``); past it, previews from that IP are refused with
  ``RATE_LIMITED`` until the window ends. Every preview also counts toward a
  wider per-IP cap, so claimed/unclaimed cannot be harvested at speed either.

An imported code whose claim needs the label's hidden code (刮开涂层, decision 0314) is
described only with it: ``HIDDEN_CODE_REQUIRED`` without it, ``HIDDEN_CODE_WRONG``
(limited per code and per client, ``campaigns.scan.hidden``) for a wrong one, as the
anti-counterfeit answer does; a guesser of a neighbouring printer code learns nothing.

Unknown codes say nothing about their merchant, although its id is inside the code:
otherwise made-up codes would enumerate merchant names.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from django.utils import timezone
from django_tenants.utils import tenant_context

from campaigns.error_codes import CampaignErrorCode
from campaigns.models import BatchStatus, Campaign, Code, CodeBatch
from campaigns.prizes import services as prize_services
from campaigns.scan import claims
from campaigns.scan.routing import route
from core import ratelimit
from core.errors import DomainError
from tenants.models import Merchant

# Every preview from one IP, guesses or not, within the failure window.
MAX_PREVIEWS_PER_IP = 300


class ScanStatus(StrEnum):
    CLAIMABLE = "CLAIMABLE"
    ALREADY_CLAIMED = "ALREADY_CLAIMED"
    NOT_ACTIVE = "NOT_ACTIVE"
    ENDED = "ENDED"
    VOIDED = "VOIDED"
    UNKNOWN = "UNKNOWN"


# Answers that tell a guesser something: counted like failed claims.
GUESS_LIKE = {ScanStatus.UNKNOWN, ScanStatus.ALREADY_CLAIMED}


@dataclass(frozen=True)
class Preview:
    status: ScanStatus
    code: str | None = None
    merchant_name: str | None = None
    campaign_name: str | None = None
    campaign_description: str | None = None
    points: int | None = None
    # A prize code: the published tiers (name, points, weight, cap); points is the top one.
    prize_tiers: tuple[tuple[str, int, int, int | None], ...] | None = None
    # With the first-scan guarantee (decision 0280): the tier a first scan wins at least.
    prize_guarantee: str | None = None


def preview_code(raw_code: str, ip: str | None = None, hidden_code: str | None = None) -> Preview:
    """Describe a code for the scan page; raise ``DomainError`` for malformed codes, and
    for a missing or wrong ``hidden_code`` when the code's claim needs one."""
    window = claims.FAILURE_WINDOW_SECONDS
    failures = f"scan-fail:ip:{ip}" if ip else None
    if failures:
        ratelimit.ensure_below(failures, claims.MAX_FAILURES_PER_IP, window)
        ratelimit.check(f"scan-preview:ip:{ip}", MAX_PREVIEWS_PER_IP, window)
    try:
        parsed = route(raw_code)
    except DomainError:
        if failures:
            ratelimit.hit(failures, claims.MAX_FAILURES_PER_IP, window)
        raise
    if parsed.needs_hidden_code:
        claims.check_hidden_code(parsed.merchant_id, parsed.code, hidden_code, ip)
    preview = _lookup(parsed.merchant_id, parsed.code)
    if failures and preview.status in GUESS_LIKE:
        ratelimit.hit(failures, claims.MAX_FAILURES_PER_IP, window)
    return preview


def _lookup(merchant_id: int, code: str) -> Preview:
    merchant = Merchant.find(merchant_id)
    if merchant is None:
        return Preview(ScanStatus.UNKNOWN)
    with tenant_context(merchant):
        row = (
            Code.objects.select_related("batch__campaign")
            .only(
                "code",
                "claimed_at",
                "batch__status",
                "batch__points_per_code",
                "batch__prize_reserve",
                "batch__campaign__name",
                "batch__campaign__description",
                "batch__campaign__status",
                "batch__campaign__starts_at",
                "batch__campaign__ends_at",
            )
            .filter(code=code)
            .first()
        )
    if row is None:
        return Preview(ScanStatus.UNKNOWN)
    batch, campaign = row.batch, row.batch.campaign
    with tenant_context(merchant):
        prize_tiers, guarantee = _prize_terms(batch, campaign)
    return Preview(
        status=_status(merchant, row),
        code=code,
        merchant_name=merchant.name,
        campaign_name=campaign.name,
        campaign_description=campaign.description,
        points=batch.points_per_code,
        prize_tiers=prize_tiers,
        prize_guarantee=guarantee,
    )


def campaign_offer(merchant: Merchant, campaign: Campaign) -> Preview:
    """What a code of ``campaign`` offers, for the console's preview of its page (in the
    merchant's schema): the newest usable batch's points, the prize terms of a prize
    batch, and whether a claim would be taken now. Names no code and records nothing."""
    batch = (
        campaign.batches.filter(status__in=[BatchStatus.GENERATING, BatchStatus.READY])
        .order_by("-created_at", "-pk")
        .first()
    )
    prize_tiers, guarantee = _prize_terms(batch, campaign)
    return Preview(
        status=_campaign_status(campaign, timezone.now()) or ScanStatus.CLAIMABLE,
        merchant_name=merchant.name,
        campaign_name=campaign.name,
        campaign_description=campaign.description,
        points=batch.points_per_code if batch is not None else None,
        prize_tiers=prize_tiers,
        prize_guarantee=guarantee,
    )


def _prize_terms(
    batch: CodeBatch | None, campaign: Campaign
) -> tuple[tuple[prize_services.PublishedTier, ...] | None, str | None]:
    """A prize batch's published tiers and guarantee (in the merchant's schema); (None,
    None) for a fixed-points batch."""
    if batch is None or batch.prize_reserve is None:
        return None, None
    terms = prize_services.published_terms(campaign.pk)
    return (terms.tiers, terms.guarantee) if terms else ((), None)


def _campaign_status(campaign: Campaign, now: datetime) -> ScanStatus | None:
    """ENDED or NOT_ACTIVE as ``Campaign.ensure_claimable`` decides; None if claimable."""
    try:
        campaign.ensure_claimable(now)
    except DomainError as exc:
        ended = exc.code == CampaignErrorCode.CAMPAIGN_ENDED
        return ScanStatus.ENDED if ended else ScanStatus.NOT_ACTIVE
    return None


def _status(merchant: Merchant, row: Code) -> ScanStatus:
    """The outcome a claim would have now (same order of checks as ``campaigns.scan.claims``)."""
    batch, campaign = row.batch, row.batch.campaign
    now = timezone.now()
    if not merchant.is_active:
        return ScanStatus.NOT_ACTIVE
    if row.claimed_at is not None:
        return ScanStatus.ALREADY_CLAIMED
    campaign_status = _campaign_status(campaign, now)
    if campaign_status is not None:
        return campaign_status
    if batch.status in (BatchStatus.VOIDED, BatchStatus.FAILED):
        return ScanStatus.VOIDED
    return ScanStatus.CLAIMABLE
