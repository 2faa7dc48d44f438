"""Scan campaigns and code batches: create, change status, fund, void.

Run inside the merchant's schema (the merchant API switches to it). Every point
moves through the ledger: a batch reserves ``size x points`` from the budget when
it is created, split over ``RESERVE_BUCKETS`` reserve accounts; voiding a batch
or ending its campaign releases exactly what is left in them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from campaigns import questionnaires, reserves
from campaigns.codes import MAX_MERCHANT_ID
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


def update_campaign(campaign: Campaign, **changes: Any) -> Campaign:
    with transaction.atomic():
        # Locked and re-read, and only the changed fields saved: a stale copy must not
        # write back an old status over a campaign ended meanwhile.
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        return _update_campaign(campaign, changes)


def _update_campaign(campaign: Campaign, changes: dict[str, Any]) -> Campaign:
    if campaign.status == CampaignStatus.ENDED:
        raise CampaignError(
            CampaignErrorCode.CAMPAIGN_ENDED, _("An ended campaign cannot be changed.")
        )
    merged = {
        "name": changes.get("name", campaign.name),
        "starts_at": changes.get("starts_at", campaign.starts_at),
        "ends_at": changes.get("ends_at", campaign.ends_at),
    }
    limits = {
        "maxClaimsPerDay": changes.get("max_claims_per_day", campaign.max_claims_per_day),
        "maxClaimsPerConsumer": changes.get(
            "max_claims_per_consumer", campaign.max_claims_per_consumer
        ),
    }
    Campaign.validate_details(merged["name"], merged["starts_at"], merged["ends_at"], limits)
    for field, value in changes.items():
        setattr(campaign, field, value.strip() if field == "name" else value)
    campaign.save(update_fields=[*changes, "updated_at"])
    return campaign


def set_status(merchant: Merchant, campaign: Campaign, status: str) -> Campaign:
    """Activate, pause or end.

    Activating a questionnaire reserves its rewards (once). Ending voids every batch
    and returns its unclaimed reserve, or a questionnaire's unused reserve.
    """
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        campaign.ensure_transition(status)
        if status == CampaignStatus.ACTIVE:
            merchant.ensure_can_award()
            if campaign.kind == CampaignKind.QUESTIONNAIRE:
                questionnaires.reserve(merchant, campaign)
        campaign.status = status
        campaign.save(update_fields=["status", "updated_at"])
        if status == CampaignStatus.ENDED:
            for batch in campaign.batches.exclude(status=BatchStatus.VOIDED):
                _void(merchant, batch, _("Campaign ended"))
            if campaign.kind == CampaignKind.QUESTIONNAIRE:
                questionnaires.release(merchant, campaign)
    return campaign


# --- Batches ----------------------------------------------------------------------


def create_batch(
    merchant: Merchant,
    campaign: Campaign,
    *,
    size: int,
    points_per_code: int,
    created_by: User | None = None,
) -> CodeBatch:
    """Create a batch, reserve its points and queue the generation of its codes.

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
    if (
        isinstance(points_per_code, bool)
        or not isinstance(points_per_code, int)
        or not 1 <= points_per_code <= MAX_POINTS_PER_CODE
    ):
        raise CampaignError(
            LedgerErrorCode.INVALID_AMOUNT,
            _("Points per code must be 1 to %(max)s.") % {"max": f"{MAX_POINTS_PER_CODE:,}"},
            "pointsPerCode",
        )
    if size * points_per_code > ledger.MAX_POINTS:
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
            campaign=campaign, size=size, points_per_code=points_per_code, created_by=created_by
        )
        reserves.reserve(
            merchant,
            batch.reserve_ref,
            size,
            points_per_code,
            idempotency_key=f"batch-reserve:{schema}:{batch.pk}",
            memo=_("Codes for %(campaign)s") % {"campaign": campaign.name},
            metadata={"campaign": campaign.pk, "batch": batch.pk, "size": size},
        )
        from campaigns.tasks import generate_codes

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
