"""Campaign mutations of the merchant API: create a scan campaign, edit any campaign's
details, activate, pause, end.

Roles: operators create, edit, activate and pause; admins end (irreversible: it voids
the batches and returns what is left of the reserves).
"""

from __future__ import annotations

from typing import Any, ClassVar

import graphene

from api.mutations import DomainMutation
from api.permissions import require_membership
from campaigns import models, services
from campaigns.error_codes import CampaignErrorCode
from campaigns.graphql.inputs import aware
from campaigns.graphql.types.campaigns import CampaignNode, campaign_by_id
from campaigns.scan import services as scan_services
from core.errors import ErrorCodeEnum
from tenants.error_codes import MerchantErrorCode
from tenants.models import Role


class CreateScanCampaign(DomainMutation):
    """Create a scan campaign in draft (operator)."""

    refusal_codes: ClassVar[dict[str, ErrorCodeEnum]] = {
        "name": MerchantErrorCode.INVALID_NAME,
        "endsAt": CampaignErrorCode.INVALID_DATES,
        "maxClaimsPerDay": CampaignErrorCode.INVALID_LIMIT,
        "maxClaimsPerConsumer": CampaignErrorCode.INVALID_LIMIT,
    }

    class Arguments:
        name = graphene.String(required=True)
        description = graphene.String(
            default_value="", description="Several lines, at most 5,000 characters."
        )
        starts_at = graphene.DateTime()
        ends_at = graphene.DateTime()
        max_claims_per_day = graphene.Int(
            description="Claims per consumer per 24 hours, 1 to 1,000,000."
        )
        max_claims_per_consumer = graphene.Int(
            description="Claims per consumer in all, 1 to 1,000,000."
        )

    campaign = graphene.Field(CampaignNode)

    @classmethod
    def perform(cls, root: Any, info: graphene.ResolveInfo, **kwargs: Any) -> CreateScanCampaign:
        membership = require_membership(info, Role.OPERATOR)
        campaign = scan_services.create_scan_campaign(
            name=kwargs["name"],
            description=kwargs.get("description") or "",
            starts_at=aware(kwargs.get("starts_at")),
            ends_at=aware(kwargs.get("ends_at")),
            max_claims_per_day=kwargs.get("max_claims_per_day"),
            max_claims_per_consumer=kwargs.get("max_claims_per_consumer"),
            created_by=membership.acting_user,
        )
        return cls(campaign=campaign)


class UpdateCampaign(DomainMutation):
    """Change a campaign's details (operator). Arguments left out stay; null clears."""

    refusal_codes: ClassVar[dict[str, ErrorCodeEnum]] = {
        "name": MerchantErrorCode.INVALID_NAME,
        "endsAt": CampaignErrorCode.INVALID_DATES,
        "maxClaimsPerDay": CampaignErrorCode.INVALID_LIMIT,
        "maxClaimsPerConsumer": CampaignErrorCode.INVALID_LIMIT,
    }

    class Arguments:
        id = graphene.ID(required=True)
        name = graphene.String()
        description = graphene.String(description="Several lines, at most 5,000 characters.")
        starts_at = graphene.DateTime()
        ends_at = graphene.DateTime()
        max_claims_per_day = graphene.Int(description="1 to 1,000,000.")
        max_claims_per_consumer = graphene.Int(description="1 to 1,000,000.")

    campaign = graphene.Field(CampaignNode)

    @classmethod
    def perform(
        cls, root: Any, info: graphene.ResolveInfo, id: str, **changes: Any
    ) -> UpdateCampaign:
        require_membership(info, Role.OPERATOR)
        campaign = campaign_by_id(info, id)
        if "description" in changes:
            changes["description"] = changes["description"] or ""
        if "name" in changes:
            changes["name"] = changes["name"] or ""
        for field in ("starts_at", "ends_at"):
            if field in changes:
                changes[field] = aware(changes[field])
        return cls(campaign=services.update_campaign(campaign, **changes))


class _StatusChange(DomainMutation):
    class Meta:
        abstract = True

    class Arguments:
        id = graphene.ID(required=True)

    campaign = graphene.Field(CampaignNode)
    role: str = Role.OPERATOR
    status: str = ""

    @classmethod
    def perform(cls, root: Any, info: graphene.ResolveInfo, id: str) -> _StatusChange:
        merchant = require_membership(info, cls.role).merchant
        campaign = campaign_by_id(info, id)
        return cls(campaign=services.set_status(merchant, campaign, cls.status))


class ActivateCampaign(_StatusChange):
    """Start (or resume) a campaign (operator): its codes can be claimed."""

    status = models.CampaignStatus.ACTIVE


class PauseCampaign(_StatusChange):
    """Stop claims for now (operator); activate again to resume."""

    status = models.CampaignStatus.PAUSED


class EndCampaign(_StatusChange):
    """End a campaign for good (admin): voids its batches, returns their unclaimed reserve."""

    role = Role.ADMIN
    status = models.CampaignStatus.ENDED
