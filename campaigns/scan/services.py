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
    BatchStatus,
    Campaign,
    CampaignError,
    CampaignKind,
    CodeBatch,
)
from campaigns.scan.batches import check_batch, fund_batch, lock_campaign
from campaigns.scan.tasks import generate_codes
from core.db import connection
from tenants.models import Merchant


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
    hidden_code: bool = False,
    created_by: User | None = None,
) -> CodeBatch:
    """Create a batch, reserve its points and queue the generation of its codes.

    ``hidden_code``: each code gets a hidden verification code, issued by the batch's
    first CSV or PDF export (``campaigns.scan.hidden``).

    A campaign that pays a prize table takes no ``points_per_code``: its batch reserves
    Σ over tiers of min(cap, size) x points (``campaigns.prizes``), in one account.
    All or nothing: with too small a budget (``INSUFFICIENT_BUDGET``) no batch exists.
    """
    schema = connection.schema_name
    with transaction.atomic():
        campaign = lock_campaign(campaign)
        # Checked under the campaign's lock: setPrizeTable takes it too, so a batch never
        # pays fixed points in a campaign that has just been given a prize table.
        pay = check_batch(merchant, campaign, size=size, points_per_code=points_per_code)
        batch = CodeBatch.objects.create(
            campaign=campaign,
            name=name.strip(),
            sku=sku.strip(),
            size=size,
            points_per_code=pay.points_per_code,
            prize_reserve=pay.prize_reserve,
            hidden_code=hidden_code,
            created_by=created_by,
        )
        fund_batch(merchant, campaign, batch)
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
        # The campaign too, so that the statement's campaign filter finds the release.
        metadata={"batch": batch.pk, "campaign": batch.campaign_id},
    )
    batch.released_points = released
    batch.save(update_fields=["status", "finished_at", "released_points"])


def reserve_left(merchant: Merchant, batch: CodeBatch) -> int:
    return reserves.left(merchant, batch.reserve_ref, batch.size)
