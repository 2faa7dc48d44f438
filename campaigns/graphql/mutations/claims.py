"""The consumer API's claim of a scanned code (``campaigns.scan.claims`` does the work)."""

from __future__ import annotations

from typing import Any, ClassVar

import graphene

from accounts import tokens
from accounts.models import User
from accounts.tokens import Bearer
from api.mutations import DomainMutation
from api.permissions import as_consumer, client_ip, gated_consumer
from api.scalars import BigInt
from campaigns.error_codes import CampaignErrorCode
from campaigns.graphql.types.prizes import DrawnPrize, verify_url
from campaigns.graphql.types.scan import ClaimedCode
from campaigns.models import ScanSource
from campaigns.scan import events
from campaigns.scan.claims import ClaimResult, claim_code
from core.error_codes import CoreErrorCode
from core.errors import ErrorCodeEnum


class ClaimCode(DomainMutation):
    """Claim a scanned code's points into the signed-in consumer's wallet, exactly once.

    Send a fresh random `idempotencyKey` per claim and the same one when retrying
    it: a retry answers the first result with `replayed: true`. Refusals come as
    `errors` (e.g. `ALREADY_CLAIMED`, `CAMPAIGN_ENDED`, `RATE_LIMITED`;
    `MERCHANT_CONSENT_REQUIRED` the first time with a merchant: ask, then send
    `shareWithMerchant`; `HIDDEN_CODE_REQUIRED` for an imported code whose label has a
    hidden code: ask for it, then send `hiddenCode`).
    """

    refusal_codes: ClassVar[dict[str, ErrorCodeEnum]] = {
        "idempotencyKey": CoreErrorCode.INVALID_IDEMPOTENCY_KEY,
        "latitude": CampaignErrorCode.INVALID_LOCATION,
        "longitude": CampaignErrorCode.INVALID_LOCATION,
    }

    class Arguments:
        code = graphene.String(required=True, description="As scanned or typed; case-insensitive.")
        idempotency_key = graphene.String(required=True)
        nonce = graphene.String(
            description="For a prize code: a fresh random value the page makes per claim "
            "(16 to 64 letters, digits, - or _), mixed into the draw; at most 64 characters."
        )
        share_with_merchant = graphene.Boolean(
            default_value=False,
            description=(
                "The consumer ticked the box to share their data with the code's merchant "
                "(asked with MERCHANT_CONSENT_REQUIRED the first time, never pre-ticked)."
            ),
        )
        latitude = graphene.Float(
            description="Where the phone is, WGS-84 degrees, -90 to 90, only with the "
            "consumer's consent to share the location (asked once, never pre-ticked); send "
            "with longitude. Stored rounded to 0.01°. A campaign may refuse a claim located "
            "outside its goods' sales region (DIVERSION_REFUSED); without a location it never "
            "refuses."
        )
        longitude = graphene.Float(description="WGS-84 degrees, -180 to 180, with latitude.")
        hidden_code = graphene.String(
            description="The hidden code under the label's scratch-off (刮开涂层), for an "
            "imported code whose batch has them: HIDDEN_CODE_REQUIRED without it, "
            "HIDDEN_CODE_WRONG (limited per code and per client, then RATE_LIMITED) for a "
            "wrong one, and nothing is claimed. Ignored for other codes."
        )

    claim = graphene.Field(ClaimedCode)
    balance = BigInt(description="The wallet balance after the claim.")
    replayed = graphene.Boolean(description="True when this answers a retry of an earlier claim.")
    prize = graphene.Field(DrawnPrize, description="A prize code's draw; null for fixed points.")

    # The claim's statement checks an unchecked bearer's session itself (decision 0345).
    checks_session = True

    @classmethod
    def perform(
        cls,
        root: Any,
        info: graphene.ResolveInfo,
        code: str,
        idempotency_key: str,
        nonce: str | None = None,
        share_with_merchant: bool = False,
        latitude: float | None = None,
        longitude: float | None = None,
        hidden_code: str | None = None,
    ) -> ClaimCode:
        with gated_consumer(info) as bearer:
            location = events.location(latitude, longitude)

            def claim(consumer: User, gate: Bearer | None) -> ClaimResult:
                scanner = events.Scanner.from_request(
                    info.context, tokens.user_id(consumer, gate), location
                )
                # The event is queued after the claim answered, whatever it answered; a
                # gate's refusal (GateRefused) is no answer: the full way's claim records.
                with events.scanned(ScanSource.CLAIM, code, scanner) as scan:
                    result = claim_code(
                        consumer,
                        code,
                        idempotency_key,
                        ip=client_ip(info.context),
                        share_with_merchant=share_with_merchant,
                        nonce=nonce,
                        location=location,
                        hidden_code=hidden_code,
                        gate=gate,
                    )
                    scan.outcome = "replayed" if result.replayed else "claimed"
                return result

            # A session this process has not checked: the claim's statement checks it,
            # and the lazy user is read only if the claim leaves that statement (0345).
            result = as_consumer(info, bearer, claim)
        return cls(
            claim=ClaimedCode(
                points=result.claim.points,
                merchant_name=result.merchant.name,
                campaign_name=result.campaign.name,
                claimed_at=result.claim.claimed_at,
            ),
            balance=result.balance,
            replayed=result.replayed,
            prize=DrawnPrize.from_prize(
                result.prize, verify_url(info, result.merchant.pk, result.campaign.pk)
            )
            if result.prize
            else None,
        )
