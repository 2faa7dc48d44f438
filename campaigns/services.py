"""What every kind of campaign shares: editing its details, changing its status.

Run inside the merchant's schema (the merchant API switches to it). A status change
is where the kinds meet the ledger: activating a questionnaire reserves its rewards;
ending a campaign voids its code batches and returns what is left of every reserve.
Each kind's own rules are in ``campaigns.scan.services`` and
``campaigns.questionnaires.services``; the details check is ``Campaign.validate_details``.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from campaigns import offers
from campaigns.error_codes import CampaignErrorCode
from campaigns.follow import services as follow_services
from campaigns.models import Campaign, CampaignError, CampaignKind, CampaignStatus
from campaigns.prizes import coupons as prize_coupons
from campaigns.prizes import services as prize_services
from campaigns.questionnaires import services as questionnaire_services
from campaigns.scan import services as scan_services
from tenants.models import Merchant


def update_campaign(campaign: Campaign, **changes: Any) -> Campaign:
    """Change a campaign's details (model field names as keys); an ended one is final."""
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

    Activating a questionnaire or a follow campaign reserves its rewards (once). Ending
    voids every batch and returns its unclaimed reserve, or the unused reserve of a
    questionnaire or a follow campaign.
    """
    with transaction.atomic():
        # The lock order of a campaign's rows (decision 0318), which every claim, submit
        # and draw takes too: the campaign's row, the draw log's head, the tiers, the
        # reserves, the wallets. FOR UPDATE here conflicts with the key-share lock a claim
        # takes by its first read, so an end and a claim in flight take turns on this row
        # before either holds anything else of the campaign's.
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        campaign.ensure_transition(status)
        if status == CampaignStatus.ACTIVE:
            merchant.ensure_can_award()
            if campaign.kind == CampaignKind.QUESTIONNAIRE:
                questionnaire_services.reserve(merchant, campaign)
            if campaign.kind == CampaignKind.FOLLOW:
                follow_services.reserve(merchant, campaign)
            # A prize table's terms are locked and its seed committed (once).
            prize_services.lock(campaign)
        campaign.status = status
        campaign.save(update_fields=["status", "updated_at"])
        # The consumers' "ways to earn" list follows, once this has committed; a failure
        # there is logged and left to the periodic refresh, never the status change's.
        transaction.on_commit(lambda: offers.refresh_merchant(merchant), robust=True)
        if status == CampaignStatus.ENDED:
            # The head before the reserves (the lock order above).
            prize_services.reveal(campaign)
            prize_coupons.return_leftovers(campaign)
            scan_services.end_batches(merchant, campaign)
            if campaign.kind == CampaignKind.QUESTIONNAIRE:
                questionnaire_services.release(merchant, campaign)
            if campaign.kind == CampaignKind.FOLLOW:
                follow_services.release(merchant, campaign)
    return campaign
