"""What a scanned code offers and what a claim earned, in the consumer API.

The claim lives in the merchant's schema and is not a node: the consumer sees it in
the mutation's answer and in the wallet history.
"""

from __future__ import annotations

import graphene

from api.scalars import BigInt
from campaigns.scan.preview import Preview, ScanStatus

ScanStatusEnum = graphene.Enum.from_enum(
    ScanStatus,
    name="ScanStatus",
    description=(
        "What claiming the code would do now. ALREADY_CLAIMED never says by whom; "
        "NOT_ACTIVE covers a paused or not yet started campaign and a merchant that "
        "cannot award points."
    ),
)


class ScanPreview(graphene.ObjectType):
    """A scanned code, before claiming: who offers how many points. Unknown codes show
    only their status."""

    code = graphene.String(description="The code, normalised; null when unknown.")
    status = graphene.Field(ScanStatusEnum, required=True)
    merchant_name = graphene.String()
    campaign_name = graphene.String()
    campaign_description = graphene.String()
    points = BigInt(description="Points the code is worth.")

    @staticmethod
    def resolve_status(preview: Preview, info: graphene.ResolveInfo) -> str:
        return preview.status.value


class ClaimedCode(graphene.ObjectType):
    """Points earned from one scanned code."""

    points = BigInt(required=True)
    merchant_name = graphene.String(required=True)
    campaign_name = graphene.String(required=True)
    claimed_at = graphene.DateTime(required=True)
