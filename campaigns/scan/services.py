"""Scan campaigns and their code batches: create, fund, void.

Run inside the merchant's schema (the merchant API switches to it). Every point
moves through the ledger: a batch reserves ``size x points`` from the budget when
it is created, split over ``RESERVE_BUCKETS`` reserve accounts; voiding a batch
or ending its campaign releases exactly what is left in them. Status changes of
the campaign itself are in ``campaigns.services``.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from campaigns import reserves
from campaigns.error_codes import CampaignErrorCode
from campaigns.models import (
    MAX_BATCH_SIZE,
    BatchStatus,
    Campaign,
    CampaignError,
    CampaignKind,
    CampaignStatus,
    CodeBatch,
)
from campaigns.prizes import services as prize_services
from campaigns.scan.codes import MAX_MERCHANT_ID
from campaigns.scan.tasks import generate_codes
from core.db import connection
from points import ledger
from points.error_codes import LedgerErrorCode
from tenants.models import Merchant

MAX_POINTS_PER_CODE = 1_000_000


def create_scan_campaign(
    *,
    name: str,
    description: str = "",
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    max_claims_per_day: int | None = None,
    max_claims_per_consumer: int | None = None,
    created_by: User | None = None,
) -> Campaign:
    """A scan campaign in draft: it takes codes (batches) and claims once activated."""
    Campaign.validate_details(
        name,
        starts_at,
        ends_at,
        {"maxClaimsPerDay": max_claims_per_day, "maxClaimsPerConsumer": max_claims_per_consumer},
    )
    return Campaign.objects.create(
        kind=CampaignKind.SCAN,
        name=name.strip(),
        description=description,
        starts_at=starts_at,
        ends_at=ends_at,
        max_claims_per_day=max_claims_per_day,
        max_claims_per_consumer=max_claims_per_consumer,
        created_by=created_by,
    )


# --- Batches ----------------------------------------------------------------------


def create_batch(
    merchant: Merchant,
    campaign: Campaign,
    *,
    size: int,
    points_per_code: int | None,
    name: str = "",
    sku: str = "",
    created_by: User | None = None,
) -> CodeBatch:
    """Create a batch, reserve its points and queue the generation of its codes.

    A campaign that pays a prize table takes no ``points_per_code``: its batch reserves
    Σ over tiers of min(cap, size) x points (``campaigns.prizes``), in one account.
    All or nothing: with too small a budget (``INSUFFICIENT_BUDGET``) no batch exists.
    """
    if campaign.kind != CampaignKind.SCAN:
        raise CampaignError(
            CampaignErrorCode.WRONG_CAMPAIGN_KIND, _("Codes belong to scan campaigns.")
        )
    if campaign.status == CampaignStatus.ENDED:
        raise CampaignError(CampaignErrorCode.CAMPAIGN_ENDED, _("This campaign has ended."))
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_BATCH_SIZE:
        raise CampaignError(
            CampaignErrorCode.INVALID_BATCH_SIZE,
            _("A batch holds 1 to %(max)s codes.") % {"max": f"{MAX_BATCH_SIZE:,}"},
            "size",
        )
    prize = prize_services.batch_terms(campaign, size)
    if prize is not None:
        if points_per_code is not None:
            raise CampaignError(
                LedgerErrorCode.INVALID_AMOUNT,
                _("A prize campaign's codes pay its prize table: leave points per code out."),
                "pointsPerCode",
            )
        # The most one code can pay; the reserve is the table's own sum.
        points_per_code, reserve_units, reserve_points = prize.points_per_code, 1, prize.reserve
    elif (
        isinstance(points_per_code, bool)
        or not isinstance(points_per_code, int)
        or not 1 <= points_per_code <= MAX_POINTS_PER_CODE
    ):
        raise CampaignError(
            LedgerErrorCode.INVALID_AMOUNT,
            _("Points per code must be 1 to %(max)s.") % {"max": f"{MAX_POINTS_PER_CODE:,}"},
            "pointsPerCode",
        )
    else:
        reserve_units, reserve_points = size, points_per_code
    if reserve_units * reserve_points > ledger.MAX_POINTS:
        raise CampaignError(
            LedgerErrorCode.INVALID_AMOUNT,
            _("A batch may reserve at most %(max)s points; make it smaller.")
            % {"max": f"{ledger.MAX_POINTS:,}"},
            "pointsPerCode",
        )
    if merchant.pk > MAX_MERCHANT_ID:
        raise CampaignError(
            CampaignErrorCode.CODES_UNAVAILABLE, _("This merchant cannot issue codes.")
        )
    schema = connection.schema_name
    with transaction.atomic():
        # Ending the campaign locks it too: no batch slips in after its batches are voided.
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if campaign.status == CampaignStatus.ENDED:
            raise CampaignError(CampaignErrorCode.CAMPAIGN_ENDED, _("This campaign has ended."))
        batch = CodeBatch.objects.create(
            campaign=campaign,
            name=name.strip(),
            sku=sku.strip(),
            size=size,
            points_per_code=points_per_code,
            prize_reserve=prize.reserve if prize is not None else None,
            created_by=created_by,
        )
        reserves.reserve(
            merchant,
            batch.reserve_ref,
            # A prize batch's reserve is one account (its bucket 0): its draws take turns
            # on the campaign's draw log anyway (decision 0213).
            reserve_units,
            reserve_points,
            idempotency_key=f"batch-reserve:{schema}:{batch.pk}",
            memo=_("Codes for %(campaign)s") % {"campaign": campaign.name},
            metadata={"campaign": campaign.pk, "batch": batch.pk, "size": size},
        )
        transaction.on_commit(
            lambda: generate_codes.apply_async((batch.pk,), headers={"_schema_name": schema})
        )
    return batch


def void_batch(merchant: Merchant, batch: CodeBatch) -> CodeBatch:
    """Stop a batch's unclaimed codes working and return their reserve to the budget."""
    with transaction.atomic():
        batch = CodeBatch.objects.select_for_update().get(pk=batch.pk)
        if batch.status == BatchStatus.VOIDED:
            raise CampaignError(CampaignErrorCode.BATCH_VOIDED, _("This batch is already void."))
        _void(merchant, batch, _("Batch voided"))
    return batch


def end_batches(merchant: Merchant, campaign: Campaign) -> None:
    """Void every batch of a campaign that is ending (its row is locked by the caller)."""
    for batch in campaign.batches.exclude(status=BatchStatus.VOIDED):
        _void(merchant, batch, _("Campaign ended"))


def _void(merchant: Merchant, batch: CodeBatch, memo: str) -> None:
    """Mark void, then release what is left in its reserve buckets.

    The bucket rows are locked before their balances are read: a claim in flight
    either committed before (its points are gone from the bucket) or runs after and
    finds the bucket empty, and fails without taking the code.
    """
    schema = connection.schema_name
    batch.status = BatchStatus.VOIDED
    batch.finished_at = batch.finished_at or timezone.now()
    released = reserves.release(
        merchant,
        batch.reserve_ref,
        batch.size,
        idempotency_key=f"batch-release:{schema}:{batch.pk}",
        memo=memo,
        metadata={"batch": batch.pk},
    )
    batch.released_points = released
    batch.save(update_fields=["status", "finished_at", "released_points"])


def reserve_left(merchant: Merchant, batch: CodeBatch) -> int:
    return reserves.left(merchant, batch.reserve_ref, batch.size)
