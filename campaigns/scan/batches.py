"""The rules every new batch follows, generated or imported: may it be made, and its funding.

Below ``services`` (which queues generation) and ``importing`` (which writes a file's
codes itself), so that both make and fund a batch the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

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
from campaigns.prizes import coupons as prize_coupons
from campaigns.prizes import services as prize_services
from campaigns.scan.codes import MAX_MERCHANT_ID
from core.db import connection
from points import ledger
from points.error_codes import LedgerErrorCode
from tenants.models import Merchant

MAX_POINTS_PER_CODE = 1_000_000


@dataclass(frozen=True)
class BatchPay:
    """What a new batch's codes pay and what it reserves."""

    points_per_code: int  # a prize batch: the most one code can pay
    # A prize batch's reserve: Σ over tiers of min(cap, size) x points (campaigns.prizes),
    # in one account; None for fixed points (size x points_per_code, bucketed).
    prize_reserve: int | None = None


def check_batch(
    merchant: Merchant,
    campaign: Campaign,
    *,
    size: int,
    points_per_code: int | None,
    imported: bool = False,
) -> BatchPay:
    """A batch of ``size`` codes may be made (generated or ``imported``): what it pays.

    A campaign that pays a prize table takes no ``points_per_code`` (decision 0216), and
    its codes are only generated: an import into it is refused (decision 0219 addendum).
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
        if imported:
            raise CampaignError(
                CampaignErrorCode.WRONG_CAMPAIGN_KIND,
                _("A prize campaign's codes are made here, not imported: create a batch."),
                "campaignId",
            )
        if points_per_code is not None:
            raise CampaignError(
                LedgerErrorCode.INVALID_AMOUNT,
                _("A prize campaign's codes pay its prize table: leave points per code out."),
                "pointsPerCode",
            )
        pay = BatchPay(prize.points_per_code, prize.reserve)
        reserve_units, reserve_points = 1, prize.reserve
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
        pay = BatchPay(points_per_code)
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
    return pay


def lock_campaign(campaign: Campaign) -> Campaign:
    """The campaign's row, locked until the transaction ends, refused once ended.

    Ending the campaign locks it too: no batch slips in after its batches are voided.
    """
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status == CampaignStatus.ENDED:
        raise CampaignError(CampaignErrorCode.CAMPAIGN_ENDED, _("This campaign has ended."))
    return campaign


def fund_batch(merchant: Merchant, campaign: Campaign, batch: CodeBatch) -> None:
    """Reserve a new batch's ``size x points`` from the budget (in the caller's transaction).

    A prize batch reserves its table's sum in one account (its bucket 0): its draws take
    turns on the campaign's draw log anyway (decision 0213).
    """
    if batch.prize_reserve is not None:
        units, points = 1, batch.prize_reserve
        # Coupon prizes also take their coupons out of the pools' stock (decision 0281).
        prize_coupons.set_aside(campaign.prize_table, batch.size)
    else:
        units, points = batch.size, batch.points_per_code
    reserves.reserve(
        merchant,
        batch.reserve_ref,
        units,
        points,
        idempotency_key=f"batch-reserve:{connection.schema_name}:{batch.pk}",
        memo=_("Codes for %(campaign)s") % {"campaign": campaign.name},
        metadata={"campaign": campaign.pk, "batch": batch.pk, "size": batch.size},
    )
