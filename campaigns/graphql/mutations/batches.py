"""Code batch mutations of the merchant API: create a batch (operator), void one (admin)."""

from __future__ import annotations

from typing import Any, ClassVar

import graphene

from api.mutations import DomainMutation
from api.permissions import require_membership
from api.scalars import BigInt
from campaigns.error_codes import CampaignErrorCode
from campaigns.graphql.types.campaigns import CodeBatchNode, batch_by_id, campaign_by_id
from campaigns.scan import services as scan_services
from core.errors import ErrorCodeEnum
from points.error_codes import LedgerErrorCode
from tenants.models import Role


class CreateCodeBatch(DomainMutation):
    """Reserve ``size x pointsPerCode`` from the budget and generate the codes (operator).

    A campaign that pays a prize table reserves Σ over tiers of min(cap, size) x points.

    Generation runs in the background; poll the batch's ``progressPercent``. With
    too small a budget (``INSUFFICIENT_BUDGET``) nothing is created.
    """

    refusal_codes: ClassVar[dict[str, ErrorCodeEnum]] = {
        "size": CampaignErrorCode.INVALID_BATCH_SIZE,
        "pointsPerCode": LedgerErrorCode.INVALID_AMOUNT,
    }

    class Arguments:
        campaign_id = graphene.ID(required=True)
        size = graphene.Int(required=True, description="1 to 10,000,000 codes.")
        points_per_code = BigInt(
            description="1 to 1,000,000. Leave out for a campaign that pays a prize table "
            "(its batch reserves by the table)."
        )
        name = graphene.String(
            description="What the merchant calls this print run, at most 100 characters."
        )
        sku = graphene.String(
            description="The product (SKU) the labels go on, at most 64 characters."
        )
        hidden_code = graphene.Boolean(
            description=(
                "Each code gets a hidden verification code (刮开涂层), printed under a "
                "scratch-off; the anti-counterfeit answer then needs it. Issued and shown "
                "once, by the batch's first CSV or PDF export."
            )
        )

    batch = graphene.Field(CodeBatchNode)

    @classmethod
    def perform(
        cls,
        root: Any,
        info: graphene.ResolveInfo,
        campaign_id: str,
        size: int,
        points_per_code: int | None = None,
        name: str | None = "",
        sku: str | None = "",
        hidden_code: bool | None = False,
    ) -> CreateCodeBatch:
        membership = require_membership(info, Role.OPERATOR)
        campaign = campaign_by_id(info, campaign_id, "campaignId")
        batch = scan_services.create_batch(
            membership.merchant,
            campaign,
            size=size,
            points_per_code=points_per_code,
            # An explicit null (a form's empty field) is no name, as an omitted one.
            name=name or "",
            sku=sku or "",
            hidden_code=bool(hidden_code),
            created_by=membership.acting_user,
        )
        return cls(batch=batch)


class VoidCodeBatch(DomainMutation):
    """Stop a batch's unclaimed codes working and return their reserve (admin)."""

    class Arguments:
        id = graphene.ID(required=True)

    batch = graphene.Field(CodeBatchNode)

    @classmethod
    def perform(cls, root: Any, info: graphene.ResolveInfo, id: str) -> VoidCodeBatch:
        merchant = require_membership(info, Role.ADMIN).merchant
        batch = batch_by_id(info, id)
        return cls(batch=scan_services.void_batch(merchant, batch))
