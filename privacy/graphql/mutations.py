"""Consumer API: withdrawing consent to share with a merchant."""

from __future__ import annotations

from typing import Any

import graphene

from api.mutations import DomainMutation
from api.permissions import require_consumer
from api.types import decode_id
from privacy import consent


class WithdrawMerchantConsent(DomainMutation):
    """Stop sharing your data with a merchant: its exports and lists no longer show you,
    and your next claim or answer with it asks again. Refusals: NOT_FOUND (no such
    consent of yours), MERCHANT_CONSENT_NOT_GIVEN (already withdrawn)."""

    class Arguments:
        id = graphene.ID(required=True, description="A MerchantConsent's ID.")

    ok = graphene.Boolean()

    @classmethod
    def perform(cls, root: Any, info: graphene.ResolveInfo, id: str) -> WithdrawMerchantConsent:
        consumer = require_consumer(info)
        consent.withdraw_by_id(consumer, decode_id(id, "MerchantConsent", "id"))
        return cls(ok=True)


class ConsumerMutations(graphene.ObjectType):
    withdraw_merchant_consent = WithdrawMerchantConsent.Field()
