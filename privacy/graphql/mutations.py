"""Consumer API: withdrawing consent to share with a merchant, asking for a copy of
one's data, deleting one's account."""

from __future__ import annotations

from typing import Any

import graphene
from django.conf import settings

from api.mutations import DomainMutation
from api.permissions import client_ip, require_consumer
from api.types import decode_id
from privacy import consent, erasure, fresh_code, services
from privacy.graphql.types import PersonalData


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


CODE = "The 6-digit code from requestPersonalDataCode."


class RequestPersonalDataCode(DomainMutation):
    """Text a fresh one-time code to your account's phone, to confirm a data copy or a
    deletion. Refusals: VERIFIED_PHONE_REQUIRED (bind a phone first), RATE_LIMITED."""

    expires_in = graphene.Int(description="Seconds the code is valid.")

    @classmethod
    def perform(cls, root: Any, info: graphene.ResolveInfo) -> RequestPersonalDataCode:
        fresh_code.send(require_consumer(info), client_ip(info.context))
        return cls(expires_in=settings.OTP_TTL_SECONDS)


class RequestDataCopy(DomainMutation):
    """Ask for a copy of your data (a zip of JSON and CSV), built in the background: read
    `personalData.dataCopy` for its link. Refusals: the code's (OTP_INVALID, OTP_EXPIRED,
    OTP_TOO_MANY_ATTEMPTS), VERIFIED_PHONE_REQUIRED."""

    class Arguments:
        code = graphene.String(required=True, description=CODE)

    personal_data = graphene.Field(PersonalData)

    @classmethod
    def perform(cls, root: Any, info: graphene.ResolveInfo, code: str) -> RequestDataCopy:
        consumer = require_consumer(info)
        services.request_copy(consumer, code)
        return cls(personal_data=consumer)


class RequestAccountDeletion(DomainMutation):
    """Delete your account after a cooling-off period (15 days): you are signed out
    everywhere; signing in again, or cancelAccountDeletion, cancels. Then your phone,
    WeChat and addresses are erased and your points forfeited. Refusals: the code's,
    VERIFIED_PHONE_REQUIRED, DELETION_ALREADY_REQUESTED."""

    class Arguments:
        code = graphene.String(required=True, description=CODE)

    personal_data = graphene.Field(PersonalData)

    @classmethod
    def perform(cls, root: Any, info: graphene.ResolveInfo, code: str) -> RequestAccountDeletion:
        consumer = require_consumer(info)
        erasure.request_deletion(consumer, code)
        return cls(personal_data=consumer)


class CancelAccountDeletion(DomainMutation):
    """Keep your account: cancel its pending deletion. Refusal: DELETION_NOT_REQUESTED."""

    personal_data = graphene.Field(PersonalData)

    @classmethod
    def perform(cls, root: Any, info: graphene.ResolveInfo) -> CancelAccountDeletion:
        consumer = require_consumer(info)
        erasure.cancel_deletion(consumer, "consumer")
        return cls(personal_data=consumer)


class ConsumerMutations(graphene.ObjectType):
    withdraw_merchant_consent = WithdrawMerchantConsent.Field()
    request_personal_data_code = RequestPersonalDataCode.Field()
    request_data_copy = RequestDataCopy.Field()
    request_account_deletion = RequestAccountDeletion.Field()
    cancel_account_deletion = CancelAccountDeletion.Field()
