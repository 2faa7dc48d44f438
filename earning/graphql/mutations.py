"""The earning API's mutations (merchant API): thin, over ``earning.services``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, ClassVar, Self

import graphene

from api.mutations import DomainMutation
from api.permissions import require_consumer, require_membership
from api.scalars import BigInt
from api.types import choice_value
from core.error_codes import CoreErrorCode
from core.errors import ErrorCodeEnum
from earning import services
from earning.error_codes import EarningErrorCode
from earning.graphql.types import AwardKindEnum, EarningAward, EarningRuleType, RoundingEnum
from earning.models import AwardKind
from points.error_codes import LedgerErrorCode
from tenants.models import Merchant, Role

PHONE = "The consumer's mobile number, E.164 or national; at most 32 characters."
CONSUMER_ID = (
    "The consumer's id at your merchant (consumerRef of webhook events); at most 64 characters."
)
KEY = "A fresh random key per request, the same when retrying; 1 to 200 characters."


class AwardPayload(DomainMutation):
    class Meta:
        abstract = True

    award = graphene.Field(EarningAward)
    replayed = graphene.Boolean(description="True when this answers a retry.")

    @classmethod
    def answer(
        cls, info: graphene.ResolveInfo, award: Callable[[Merchant], services.AwardResult]
    ) -> Self:
        """``award`` for the signed-in operator's merchant, as this payload: every award
        mutation is an operator's, and answers its award and whether it was a retry."""
        result = award(require_membership(info, Role.OPERATOR).merchant)
        return cls(award=result.award, replayed=result.replayed)


class AwardPoints(AwardPayload):
    """Award points from your budget to a consumer named by `phone` or `consumerId`.

    Idempotent by `idempotencyKey` and by `externalId`: a retry with either answers the
    first award (`replayed: true`); either reused for another request is
    `IDEMPOTENCY_CONFLICT`. A phone with no account yet gets the points when it signs up
    (held for the rule's `pendingDays`, then returned to your budget); the answer is the
    same whether or not it has one. Refusals: `CONSUMER_REQUIRED`, `CONSUMER_NOT_FOUND`,
    `INVALID_PHONE`, `INSUFFICIENT_BUDGET`, `MERCHANT_SUSPENDED`.
    """

    refusal_codes: ClassVar[dict[str, ErrorCodeEnum]] = {
        "idempotencyKey": CoreErrorCode.INVALID_IDEMPOTENCY_KEY,
        "externalId": EarningErrorCode.INVALID_EXTERNAL_ID,
        "reason": EarningErrorCode.INVALID_REASON,
    }

    class Arguments:
        phone = graphene.String(description=PHONE)
        consumer_id = graphene.String(description=CONSUMER_ID)
        points = BigInt(required=True, description="1 to 1,000,000,000,000.")
        reason = graphene.String(required=True, description="1 to 200 characters.")
        external_id = graphene.String(
            required=True, description="Your id for this award; 1 to 100 characters."
        )
        idempotency_key = graphene.String(required=True, description=KEY)

    @classmethod
    def perform(
        cls,
        root: Any,
        info: graphene.ResolveInfo,
        points: int,
        reason: str,
        external_id: str,
        idempotency_key: str,
        phone: str | None = None,
        consumer_id: str | None = None,
    ) -> AwardPoints:
        return cls.answer(
            info,
            lambda merchant: services.award_points(
                merchant,
                phone=phone,
                consumer_id=consumer_id,
                points=points,
                reason=reason,
                external_id=external_id,
                idempotency_key=idempotency_key,
            ),
        )


class RecordPurchase(AwardPayload):
    """Award what a purchase earns under your earning rule (points per unit, rounding,
    daily cap). Idempotent by `idempotencyKey` and by `orderId`, as `awardPoints`.
    Refusals: `EARNING_RULE_MISSING`, `NOTHING_EARNED`, `DAILY_CAP_REACHED`,
    `INVALID_AMOUNT`, `INVALID_CURRENCY`, and those of `awardPoints`."""

    refusal_codes: ClassVar[dict[str, ErrorCodeEnum]] = {
        "idempotencyKey": CoreErrorCode.INVALID_IDEMPOTENCY_KEY,
        "orderId": EarningErrorCode.INVALID_EXTERNAL_ID,
        "amount": LedgerErrorCode.INVALID_AMOUNT,
    }

    class Arguments:
        phone = graphene.String(description=PHONE)
        consumer_id = graphene.String(description=CONSUMER_ID)
        amount = BigInt(
            required=True,
            description="In minor units (fen, cents): 1 to 10,000,000,000,000.",
        )
        currency = graphene.String(
            required=True, description="ISO 4217 code such as CNY; at most 3 characters."
        )
        order_id = graphene.String(required=True, description="Your order id; 1 to 100 characters.")
        idempotency_key = graphene.String(required=True, description=KEY)

    @classmethod
    def perform(
        cls,
        root: Any,
        info: graphene.ResolveInfo,
        amount: int,
        currency: str,
        order_id: str,
        idempotency_key: str,
        phone: str | None = None,
        consumer_id: str | None = None,
    ) -> RecordPurchase:
        return cls.answer(
            info,
            lambda merchant: services.record_purchase(
                merchant,
                phone=phone,
                consumer_id=consumer_id,
                amount=amount,
                currency=currency,
                order_id=order_id,
                idempotency_key=idempotency_key,
            ),
        )


class ReverseAward(AwardPayload):
    """Take an award back by a reversing transaction. `AWARD_SPENT` once the consumer
    spent the points; reversing twice answers the first reversal (`replayed`);
    `NOT_FOUND` for an id you did not award."""

    refusal_codes: ClassVar[dict[str, ErrorCodeEnum]] = {
        "idempotencyKey": CoreErrorCode.INVALID_IDEMPOTENCY_KEY,
    }

    class Arguments:
        external_id = graphene.String(
            required=True,
            description="The award's externalId (a purchase's orderId); 1 to 100 characters.",
        )
        kind = AwardKindEnum(description="AWARD (default) or PURCHASE.")
        idempotency_key = graphene.String(required=True, description=KEY)

    @classmethod
    def perform(
        cls,
        root: Any,
        info: graphene.ResolveInfo,
        external_id: str,
        idempotency_key: str,
        kind: str | None = None,
    ) -> ReverseAward:
        def reverse(merchant: Merchant) -> services.AwardResult:
            award = services.merchant_award(
                merchant, external_id, choice_value(kind or AwardKind.AWARD)
            )
            return services.reverse_award(merchant, award, idempotency_key=idempotency_key)

        return cls.answer(info, reverse)


class SetEarningRule(DomainMutation):
    """Set how purchases earn and which bonuses you pay, from your budget (admin)."""

    class Arguments:
        points_per_unit = graphene.String(
            required=True,
            description="Points per one unit of money (per yuan), 4 decimals at most; "
            "at most 20 characters.",
        )
        rounding = RoundingEnum(required=True)
        daily_cap = graphene.Int(
            description="Purchase points per consumer per day: 1 to 1,000,000,000."
        )
        welcome_bonus = graphene.Int(
            description="Points for a consumer's first award from you: 0 to 1,000,000."
        )
        birthday_bonus = graphene.Int(description="Points once a year: 0 to 1,000,000.")
        pending_days = graphene.Int(
            description="Days an award waits for its phone to sign up: 1 to 365."
        )

    rule = graphene.Field(EarningRuleType)

    @classmethod
    def perform(
        cls,
        root: Any,
        info: graphene.ResolveInfo,
        points_per_unit: str,
        rounding: str,
        daily_cap: int | None = None,
        welcome_bonus: int | None = None,
        birthday_bonus: int | None = None,
        pending_days: int | None = None,
    ) -> SetEarningRule:
        merchant = require_membership(info, Role.ADMIN).merchant
        rule = services.set_rule(
            merchant,
            points_per_unit=points_per_unit,
            rounding=choice_value(rounding),
            daily_cap=daily_cap,
            welcome_bonus=welcome_bonus or 0,
            birthday_bonus=birthday_bonus or 0,
            pending_days=pending_days or 30,
        )
        return cls(rule=rule)


class SetBirthday(DomainMutation):
    """Give your birthday (optional) for merchants' birthday bonuses; once:
    `BIRTHDAY_ALREADY_SET` for another date later. Merchants never see it."""

    class Arguments:
        birthday = graphene.Date(required=True)

    birthday = graphene.Date()

    @classmethod
    def perform(cls, root: Any, info: graphene.ResolveInfo, birthday: date) -> SetBirthday:
        user = services.set_birthday(require_consumer(info), birthday)
        return cls(birthday=user.birthday)


class ConsumerMutations(graphene.ObjectType):
    set_birthday = SetBirthday.Field()


class MerchantMutations(graphene.ObjectType):
    award_points = AwardPoints.Field()
    record_purchase = RecordPurchase.Field()
    reverse_award = ReverseAward.Field()
    set_earning_rule = SetEarningRule.Field()
