"""The rules every new batch follows, generated or imported: may it be made, and its funding.

Below ``services`` (which queues generation) and ``importing`` (which writes a file's
codes itself), so that both make and fund a batch the same way.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from campaigns import reserves
from campaigns.error_codes import CampaignErrorCode
from campaigns.models import (
    MAX_BATCH_SIZE,
    Campaign,
    CampaignError,
    CampaignKind,
    CampaignStatus,
    CodeBatch,
)
from campaigns.scan.codes import MAX_MERCHANT_ID
from core.db import connection
from points import ledger
from points.error_codes import LedgerErrorCode
from tenants.models import Merchant

MAX_POINTS_PER_CODE = 1_000_000


def check_batch(merchant: Merchant, campaign: Campaign, *, size: int, points_per_code: int) -> None:
    """A batch of ``size`` codes at ``points_per_code`` may be made (generated or imported)."""
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


def lock_campaign(campaign: Campaign) -> Campaign:
    """The campaign's row, locked until the transaction ends, refused once ended.

    Ending the campaign locks it too: no batch slips in after its batches are voided.
    """
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status == CampaignStatus.ENDED:
        raise CampaignError(CampaignErrorCode.CAMPAIGN_ENDED, _("This campaign has ended."))
    return campaign


def fund_batch(merchant: Merchant, campaign: Campaign, batch: CodeBatch) -> None:
    """Reserve a new batch's ``size x points`` from the budget (in the caller's transaction)."""
    reserves.reserve(
        merchant,
        batch.reserve_ref,
        batch.size,
        batch.points_per_code,
        idempotency_key=f"batch-reserve:{connection.schema_name}:{batch.pk}",
        memo=_("Codes for %(campaign)s") % {"campaign": campaign.name},
        metadata={"campaign": campaign.pk, "batch": batch.pk, "size": batch.size},
    )
