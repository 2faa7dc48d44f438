"""Consumer API for scan codes: what a code offers (``scanPreview``) and ``claimCode``.

The services do the work (``campaigns.preview``, ``campaigns.claims``); this module
only maps them to GraphQL. The claim lives in the merchant's schema and is not a
node: the consumer sees it in the mutation's answer and in the wallet history.
"""

from __future__ import annotations

from typing import Any

import graphene

from api.mutations import DomainMutation
from api.permissions import client_ip, require_consumer
from campaigns.scan.claims import claim_code
from campaigns.scan.preview import Preview, ScanStatus, preview_code

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
    points = graphene.BigInt(description="Points the code is worth.")

    @staticmethod
    def resolve_status(preview: Preview, info: graphene.ResolveInfo) -> str:
        return preview.status.value


class ClaimedCode(graphene.ObjectType):
    """Points earned from one scanned code."""

    points = graphene.BigInt(required=True)
    merchant_name = graphene.String(required=True)
    campaign_name = graphene.String(required=True)
    claimed_at = graphene.DateTime(required=True)


class ClaimCode(DomainMutation):
    """Claim a scanned code's points into the signed-in consumer's wallet, exactly once.

    Send a fresh random `idempotencyKey` per claim and the same one when retrying
    it: a retry answers the first result with `replayed: true`. Refusals come as
    `errors` (e.g. `ALREADY_CLAIMED`, `CAMPAIGN_ENDED`, `RATE_LIMITED`).
    """

    class Arguments:
        code = graphene.String(required=True, description="As scanned or typed; case-insensitive.")
        idempotency_key = graphene.String(required=True)

    claim = graphene.Field(ClaimedCode)
    balance = graphene.BigInt(description="The wallet balance after the claim.")
    replayed = graphene.Boolean(description="True when this answers a retry of an earlier claim.")

    @classmethod
    def perform(
        cls, root: Any, info: graphene.ResolveInfo, code: str, idempotency_key: str
    ) -> ClaimCode:
        consumer = require_consumer(info)
        result = claim_code(consumer, code, idempotency_key, ip=client_ip(info.context))
        return cls(
            claim=ClaimedCode(
                points=result.claim.points,
                merchant_name=result.merchant.name,
                campaign_name=result.campaign.name,
                claimed_at=result.claim.claimed_at,
            ),
            balance=result.balance,
            replayed=result.replayed,
        )


class ConsumerQueries(graphene.ObjectType):
    scan_preview = graphene.Field(
        ScanPreview,
        required=True,
        code=graphene.String(required=True),
        description=(
            "What a scanned code offers. Public (no sign-in). A malformed code or typo is "
            "an error (MALFORMED_CODE, INVALID_CHECK_CHARACTER); guesses count toward a "
            "per-IP limit (RATE_LIMITED)."
        ),
    )

    @staticmethod
    def resolve_scan_preview(root: Any, info: graphene.ResolveInfo, code: str) -> Preview:
        return preview_code(code, ip=client_ip(info.context))


class ConsumerMutations(graphene.ObjectType):
    claim_code = ClaimCode.Field()
