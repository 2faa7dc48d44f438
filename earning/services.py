"""The merchant earning API's operations: award, record a purchase, reverse, and the
pending awards' life (credited on sign-up, returned when the hold ends).

Every award is one ``Award`` row and one ledger posting of kind ``merchant_award``,
both in one database transaction, and is idempotent twice over: by the merchant's
idempotency key and by its own id for the event (``externalId``, the order id of a
purchase). A retry with either answers the first award (``replayed``) and moves nothing;
either reused for a different request is ``IDEMPOTENCY_CONFLICT``.

Addressed by phone, an award answers the same whether or not the phone has an account:
the merchant's budget pays the same amount under the same kind either way, into the
consumer's wallet or into a hold the merchant's statement does not list
(``points.ledger.award_hold``); the hold is credited when the phone signs up, or
returned to the budget after the rule's ``pending_days``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Case, Exists, OuterRef, Q, QuerySet, Sum, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import pseudonyms
from accounts.models import User
from accounts.phones import normalize_phone
from core import idempotency
from core.db.locks import advisory_xact_lock
from core.error_codes import CoreErrorCode
from core.errors import DomainError
from earning.error_codes import EarningErrorCode
from earning.models import Award, AwardKind, AwardStatus, EarningRule, Rounding, WayToEarn
from points import ledger
from points.error_codes import LedgerErrorCode
from points.errors import LedgerError
from points.ledger import Posting
from points.models import AccountKind, Entry, Lot, Transaction, TransactionKind
from points.services import CURRENCY_EXPONENT, MAX_MONEY_MINOR
from tenants.models import Merchant
from webhooks import events
from webhooks.models import EventType

MAX_EXTERNAL_ID = 100
MAX_REASON = 200


class EarningError(DomainError):
    pass


@dataclass(frozen=True)
class Address:
    """Whom an award is for, as the merchant named them."""

    phone: str = ""  # E.164, when named by phone
    consumer_ref: str = ""  # when named by pseudonymous id
    consumer: User | None = None  # resolved: the account, or None for a phone without one

    @property
    def key(self) -> str:
        """One name per address, for locks, caps and the welcome bonus."""
        return f"phone:{self.phone}" if self.phone else f"consumer:{self.consumer_id}"

    @property
    def consumer_id(self) -> int | None:
        return self.consumer.pk if self.consumer is not None else None


@dataclass(frozen=True)
class AwardResult:
    award: Award
    replayed: bool


def resolve_address(merchant: Merchant, phone: str | None, consumer_id: str | None) -> Address:
    """The consumer named by exactly one of ``phone`` (E.164 or national) or ``consumer_id``.

    A phone with no account is an address too (the award waits for it). A consumer id
    that names no consumer of this merchant (another merchant's, forged) is
    ``CONSUMER_NOT_FOUND``.
    """
    if bool(phone) == bool(consumer_id):
        raise EarningError(
            EarningErrorCode.CONSUMER_REQUIRED,
            _("Name the consumer by exactly one of phone or consumerId."),
            "phone",
        )
    if phone:
        e164 = normalize_phone(phone)
        return Address(phone=e164, consumer=_consumer_with_phone(e164))
    assert consumer_id is not None
    pk = pseudonyms.consumer_of_ref(merchant.pk, consumer_id)
    user = User.objects.filter(pk=pk).first() if pk is not None else None
    # A merged account's id still works: its points go to the account that survived.
    while user is not None and user.merged_into_id is not None:
        user = User.objects.filter(pk=user.merged_into_id).first()
    if user is None or not user.is_consumer or not user.is_active:
        raise EarningError(
            EarningErrorCode.CONSUMER_NOT_FOUND,
            _("No consumer of yours has this consumerId."),
            "consumerId",
        )
    return Address(consumer_ref=consumer_id.strip().lower(), consumer=user)


def _consumer_with_phone(phone: str) -> User | None:
    return User.objects.filter(phone=phone, is_active=True).first()


def _text(value: str | None, limit: int, code: EarningErrorCode, field: str) -> str:
    text = (value or "").strip()
    if not text or len(text) > limit:
        raise EarningError(
            code, _("%(field)s needs 1 to %(n)d characters.") % {"field": field, "n": limit}, field
        )
    return text


def _request_hash(**fields: Any) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()


def _stored_external_id(kind: str, external_id: str) -> str:
    # Awards and purchases have their own namespaces: award "A1" and order "A1" differ.
    return f"{kind}:{external_id}"


def merchant_external_id(award: Award) -> str:
    """The id the merchant gave (without our kind prefix)."""
    return award.external_id.split(":", 1)[1]


def _replay(merchant: Merchant, key: str, external_id: str, request_hash: str) -> Award | None:
    """The award already made under this key or external id, if it is the same request."""
    found = list(
        Award.objects.filter(merchant=merchant).filter(
            Q(idempotency_key=key) | Q(external_id=external_id)
        )[:2]
    )
    for award in found:
        if award.request_hash != request_hash:
            field = "idempotencyKey" if award.idempotency_key == key else "externalId"
            raise idempotency.conflict(
                EarningError,
                _("This %(field)s was already used for a different request.") % {"field": field},
                field,
            )
    return found[0] if found else None


def rule_of(merchant: Merchant) -> EarningRule | None:
    return EarningRule.objects.filter(merchant=merchant).first()


def award_points(
    merchant: Merchant,
    *,
    phone: str | None,
    consumer_id: str | None,
    points: int,
    reason: str,
    external_id: str,
    idempotency_key: str,
) -> AwardResult:
    """Award ``points`` from the merchant's budget (``awardPoints``)."""
    merchant.ensure_can_award()
    idempotency.check_key(idempotency_key, EarningError)
    ledger.validate_points(points, "points")
    reason = _text(reason, MAX_REASON, EarningErrorCode.INVALID_REASON, "reason")
    external_id = _text(
        external_id, MAX_EXTERNAL_ID, EarningErrorCode.INVALID_EXTERNAL_ID, "externalId"
    )
    address = resolve_address(merchant, phone, consumer_id)
    stored = _stored_external_id(AwardKind.AWARD, external_id)
    request_hash = _request_hash(
        kind=AwardKind.AWARD, to=address.key, points=points, reason=reason, id=external_id
    )
    return _make(
        merchant,
        address,
        kind=AwardKind.AWARD,
        points=lambda rule: points,
        reason=reason,
        external_id=stored,
        idempotency_key=idempotency_key,
        request_hash=request_hash,
    )


def record_purchase(
    merchant: Merchant,
    *,
    phone: str | None,
    consumer_id: str | None,
    amount: int,
    currency: str,
    order_id: str,
    idempotency_key: str,
) -> AwardResult:
    """Award what a purchase earns under the merchant's rule (``recordPurchase``).

    Points = amount x the rule's points per unit, rounded as the rule says, and cut to
    what is left of the consumer's daily cap (``DAILY_CAP_REACHED`` when nothing is).
    """
    merchant.ensure_can_award()
    idempotency.check_key(idempotency_key, EarningError)
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= MAX_MONEY_MINOR:
        raise LedgerError(
            LedgerErrorCode.INVALID_AMOUNT, _("The amount is out of range."), "amount"
        )
    currency = (currency or "").upper()
    if currency not in CURRENCY_EXPONENT:
        raise LedgerError(LedgerErrorCode.INVALID_CURRENCY, _("Unsupported currency."), "currency")
    order_id = _text(order_id, MAX_EXTERNAL_ID, EarningErrorCode.INVALID_EXTERNAL_ID, "orderId")
    address = resolve_address(merchant, phone, consumer_id)
    stored = _stored_external_id(AwardKind.PURCHASE, order_id)
    request_hash = _request_hash(
        kind=AwardKind.PURCHASE, to=address.key, amount=amount, currency=currency, id=order_id
    )

    def earned(rule: EarningRule | None) -> int:
        if rule is None:
            raise EarningError(
                EarningErrorCode.EARNING_RULE_MISSING,
                _("Set an earning rule before recording purchases."),
            )
        points = rule.points_for(amount, CURRENCY_EXPONENT[currency])
        if points <= 0:
            raise EarningError(
                EarningErrorCode.NOTHING_EARNED, _("This purchase earns no points."), "amount"
            )
        if rule.daily_cap is not None:
            left = rule.daily_cap - _earned_today(merchant, address)
            if left <= 0:
                raise EarningError(
                    EarningErrorCode.DAILY_CAP_REACHED,
                    _("This consumer reached today's cap of purchase points."),
                )
            points = min(points, left)
        return ledger.validate_points(points, "amount")

    return _make(
        merchant,
        address,
        kind=AwardKind.PURCHASE,
        points=earned,
        reason=_("Purchase %(order)s") % {"order": order_id},
        external_id=stored,
        idempotency_key=idempotency_key,
        request_hash=request_hash,
        amount_minor=amount,
        currency=currency,
    )


def _day_start(now: datetime) -> datetime:
    from zoneinfo import ZoneInfo

    local = now.astimezone(ZoneInfo(settings.CONSUMER_TIME_ZONE))
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def _address_filter(address: Address) -> Q:
    return Q(phone=address.phone) if address.phone else Q(consumer=address.consumer, phone="")


def _earned_today(merchant: Merchant, address: Address) -> int:
    """Purchase points this address earned today (reversed ones do not count)."""
    total = (
        Award.objects.filter(
            _address_filter(address),
            merchant=merchant,
            kind=AwardKind.PURCHASE,
            created_at__gte=_day_start(timezone.now()),
        )
        .exclude(status=AwardStatus.REVERSED)
        .aggregate(total=Sum("points"))["total"]
    )
    return int(total or 0)


def _make(
    merchant: Merchant,
    address: Address,
    *,
    kind: AwardKind,
    points: Any,
    reason: str,
    external_id: str,
    idempotency_key: str,
    request_hash: str,
    amount_minor: int | None = None,
    currency: str = "",
    may_welcome: bool = True,
) -> AwardResult:
    """Post one award (and the welcome bonus it may bring) under the address's lock."""
    first = _replay(merchant, idempotency_key, external_id, request_hash)
    if first is not None:
        return AwardResult(first, replayed=True)
    try:
        with transaction.atomic():
            # One address at a time: retries of one request, the daily cap and the
            # welcome bonus are decided by one transaction after another.
            advisory_xact_lock(f"earning:{merchant.pk}:{address.key}")
            first = _replay(merchant, idempotency_key, external_id, request_hash)
            if first is not None:
                return AwardResult(first, replayed=True)
            rule = rule_of(merchant)
            welcome = (
                may_welcome
                and rule is not None
                and rule.welcome_bonus > 0
                and not Award.objects.filter(_address_filter(address), merchant=merchant).exists()
            )
            award = _post(
                merchant,
                address,
                kind=kind,
                points=points(rule),
                reason=reason,
                external_id=external_id,
                idempotency_key=idempotency_key,
                request_hash=request_hash,
                rule=rule,
                amount_minor=amount_minor,
                currency=currency,
            )
            if welcome and rule is not None:
                _post(
                    merchant,
                    address,
                    kind=AwardKind.WELCOME,
                    points=rule.welcome_bonus,
                    reason=_("Welcome bonus"),
                    external_id=_stored_external_id(AwardKind.WELCOME, address.key),
                    idempotency_key=f"welcome:{address.key}",
                    request_hash=_request_hash(kind=AwardKind.WELCOME, to=address.key),
                    rule=rule,
                )
    except IntegrityError:
        # The same key or external id with another address, committed meanwhile.
        first = _replay(merchant, idempotency_key, external_id, request_hash)
        if first is None:
            raise
        return AwardResult(first, replayed=True)
    return AwardResult(award, replayed=False)


def _post(
    merchant: Merchant,
    address: Address,
    *,
    kind: AwardKind,
    points: int,
    reason: str,
    external_id: str,
    idempotency_key: str,
    request_hash: str,
    rule: EarningRule | None,
    amount_minor: int | None = None,
    currency: str = "",
) -> Award:
    """The ledger posting and the award row, inside the caller's transaction."""
    now = timezone.now()
    consumer = address.consumer
    # The same kind, memo and budget debit either way: only the destination differs,
    # and the merchant's statement lists neither a wallet nor the hold.
    destination = ledger.wallet(consumer.pk) if consumer else ledger.award_hold(merchant.pk)
    txn = ledger.post(
        TransactionKind.MERCHANT_AWARD,
        f"earning:{merchant.pk}:{external_id}",
        [Posting(ledger.merchant_budget(merchant.pk), -points), Posting(destination, points)],
        merchant_id=merchant.pk,
        consumer_id=consumer.pk if consumer else None,
        memo=reason,
    )
    pending_days = rule.pending_days if rule is not None else EarningRule().pending_days
    award = Award.objects.create(
        merchant=merchant,
        kind=kind,
        status=AwardStatus.CREDITED if consumer else AwardStatus.PENDING,
        consumer=consumer,
        phone=address.phone,
        points=points,
        reason=reason,
        external_id=external_id,
        idempotency_key=idempotency_key,
        request_hash=request_hash,
        amount_minor=amount_minor,
        currency=currency,
        transaction=txn,
        hold_until=None if consumer else now + timedelta(days=pending_days),
        created_at=now,
    )
    events.record(
        merchant.pk, EventType.POINTS_AWARDED, lambda: award_payload(merchant.pk, award, address)
    )
    return award


def award_payload(merchant_id: int, award: Award, address: Address) -> dict[str, Any]:
    """The event's data: the award and the consumer as the merchant named them (never
    whether the phone has an account)."""
    return {
        "award": {
            "externalId": merchant_external_id(award),
            "kind": str(award.kind).upper(),
            "points": award.points,
            "reason": award.reason,
            "createdAt": award.created_at.isoformat(),
        },
        "consumer": {
            "consumerRef": address.consumer_ref or None,
            "phone": address.phone or None,
        },
    }


def merchant_award(merchant: Merchant, external_id: str, kind: str = AwardKind.AWARD) -> Award:
    award = Award.objects.filter(
        merchant=merchant, external_id=_stored_external_id(kind, external_id)
    ).first()
    if award is None:
        raise EarningError(CoreErrorCode.NOT_FOUND, _("No such award."), "externalId")
    return award


def reverse_award(merchant: Merchant, award: Award, *, idempotency_key: str) -> AwardResult:
    """Take an award back by a reversing posting (``reverseAward``).

    A credited award's points leave the lot it opened; once the consumer spent them
    (the lot holds fewer than the award), ``AWARD_SPENT``. A pending award's hold
    returns to the budget. Reversing twice answers the first reversal.
    """
    idempotency.check_key(idempotency_key, EarningError)
    with transaction.atomic():
        award = Award.objects.select_for_update().get(pk=award.pk)
        if award.status == AwardStatus.REVERSED:
            return AwardResult(award, replayed=True)
        if award.status == AwardStatus.RETURNED:
            # Already back in the budget: nothing left to reverse, and nothing moves.
            award.status = AwardStatus.REVERSED
            award.save(update_fields=["status"])
            return AwardResult(award, replayed=False)
        key = f"earning-reverse:{award.pk}"
        if award.status == AwardStatus.PENDING:
            txn = ledger.post(
                TransactionKind.REVERSAL,
                key,
                [
                    Posting(ledger.award_hold(merchant.pk), -award.points),
                    Posting(ledger.merchant_budget(merchant.pk), award.points),
                ],
                merchant_id=merchant.pk,
                memo=_("Reversal of %(reason)s") % {"reason": award.reason},
                reverses=award.transaction,
            )
        else:
            paid = award.settlement or award.transaction
            left = Lot.objects.filter(source=paid).aggregate(left=Sum("remaining"))["left"] or 0
            if left < award.points:
                raise EarningError(
                    EarningErrorCode.AWARD_SPENT,
                    _("The consumer already spent %(spent)d of these points.")
                    % {"spent": award.points - left},
                )
            from points import services as points_services

            try:
                txn = points_services.reverse(paid, idempotency_key=key)
            except LedgerError as exc:
                if exc.code == LedgerErrorCode.INSUFFICIENT_POINTS:
                    raise EarningError(
                        EarningErrorCode.AWARD_SPENT, _("The consumer already spent these points.")
                    ) from exc
                raise
            if paid.pk != award.transaction_id:
                # Credited from the hold on sign-up: the hold is empty, the budget pays back.
                ledger.post(
                    TransactionKind.RELEASE,
                    f"{key}:budget",
                    [
                        Posting(ledger.award_hold(merchant.pk), -award.points),
                        Posting(ledger.merchant_budget(merchant.pk), award.points),
                    ],
                    merchant_id=merchant.pk,
                    memo=_("Reversal of %(reason)s") % {"reason": award.reason},
                )
        award.status = AwardStatus.REVERSED
        award.reversal = txn
        award.save(update_fields=["status", "reversal"])
        events.record(
            merchant.pk,
            EventType.POINTS_AWARD_REVERSED,
            lambda: {"award": award_payload(merchant.pk, award, Address())["award"]},
        )
    return AwardResult(award, replayed=False)


# --- Pending awards ----------------------------------------------------------------


def credit_pending(user: User) -> int:
    """Credit every award waiting for ``user``'s phone; the number credited.

    Called once a phone is proven (sign-in with a code, a bound phone) and by the
    periodic sweep. Each award moves from the hold to the wallet in its own posting
    (kind ``merchant_award``), so a retry credits nothing twice.
    """
    if not user.phone:
        return 0
    credited = 0
    for award_id in Award.objects.filter(status=AwardStatus.PENDING, phone=user.phone).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            award = Award.objects.select_for_update().get(pk=award_id)
            if award.status != AwardStatus.PENDING:
                continue
            txn = ledger.post(
                TransactionKind.MERCHANT_AWARD,
                f"earning-credit:{award.pk}",
                [
                    Posting(ledger.award_hold(award.merchant_id), -award.points),
                    Posting(ledger.wallet(user.pk), award.points),
                ],
                merchant_id=award.merchant_id,
                consumer_id=user.pk,
                memo=award.reason,
            )
            award.status = AwardStatus.CREDITED
            award.consumer = user
            award.settlement = txn
            award.settled_at = timezone.now()
            award.save(update_fields=["status", "consumer", "settlement", "settled_at"])
            credited += 1
    return credited


def return_expired_holds(now: datetime | None = None) -> int:
    """Return to their budgets the pending awards whose hold ended; the number returned."""
    now = now or timezone.now()
    returned = 0
    for award_id in Award.objects.filter(
        status=AwardStatus.PENDING, hold_until__lte=now
    ).values_list("pk", flat=True):
        with transaction.atomic():
            award = Award.objects.select_for_update().get(pk=award_id)
            if award.status != AwardStatus.PENDING:
                continue
            user = _consumer_with_phone(award.phone)
            if user is not None:
                # Signed up in time, but the credit did not run yet: credit, never return.
                transaction.on_commit(lambda u=user: credit_pending(u))  # type: ignore[misc]
                continue
            txn = ledger.post(
                TransactionKind.RELEASE,
                f"earning-return:{award.pk}",
                [
                    Posting(ledger.award_hold(award.merchant_id), -award.points),
                    Posting(ledger.merchant_budget(award.merchant_id), award.points),
                ],
                merchant_id=award.merchant_id,
                memo=_("Not claimed: %(reason)s") % {"reason": award.reason},
            )
            award.status = AwardStatus.RETURNED
            award.settlement = txn
            award.settled_at = now
            award.save(update_fields=["status", "settlement", "settled_at"])
            returned += 1
    return returned


def credit_signed_up(now: datetime | None = None) -> int:
    """Credit pending awards whose phone has an account (the sweep's safety net)."""
    phones = Award.objects.filter(status=AwardStatus.PENDING).values("phone").distinct()
    credited = 0
    for user in User.objects.filter(phone__in=phones, is_active=True):
        credited += credit_pending(user)
    return credited


# --- Rules -------------------------------------------------------------------------


def set_rule(
    merchant: Merchant,
    *,
    points_per_unit: str,
    rounding: str,
    daily_cap: int | None,
    welcome_bonus: int,
    birthday_bonus: int,
    pending_days: int,
) -> EarningRule:
    """Create or replace the merchant's earning rule."""
    from decimal import Decimal, InvalidOperation

    try:
        rate = Decimal(str(points_per_unit))
    except InvalidOperation as exc:
        raise EarningError(
            EarningErrorCode.INVALID_EARNING_RULE, _("A rate is a number."), "pointsPerUnit"
        ) from exc
    if not rate.is_finite() or not 0 < rate <= 10**6 or rate != rate.quantize(Decimal("0.0001")):
        raise EarningError(
            EarningErrorCode.INVALID_EARNING_RULE,
            _("The rate must be positive, with 4 decimals at most."),
            "pointsPerUnit",
        )
    if rounding not in Rounding.values:
        raise EarningError(
            EarningErrorCode.INVALID_EARNING_RULE, _("Unknown rounding."), "rounding"
        )
    # The database's checks would refuse some of these with an error, not a code.
    for field, value, low, high in (
        ("dailyCap", daily_cap, 1, 10**9),
        ("welcomeBonus", welcome_bonus, 0, 10**6),
        ("birthdayBonus", birthday_bonus, 0, 10**6),
        ("pendingDays", pending_days, 1, 365),
    ):
        if value is not None and not low <= value <= high:
            raise EarningError(
                EarningErrorCode.INVALID_EARNING_RULE,
                _("%(low)s to %(high)s.") % {"low": f"{low:,}", "high": f"{high:,}"},
                field,
            )
    rule, _created = EarningRule.objects.update_or_create(
        merchant=merchant,
        defaults={
            "points_per_unit": rate,
            "rounding": rounding,
            "daily_cap": daily_cap,
            "welcome_bonus": welcome_bonus,
            "birthday_bonus": birthday_bonus,
            "pending_days": pending_days,
        },
    )
    return rule


# --- Ways to earn ------------------------------------------------------------------


def open_ways(queryset: QuerySet[WayToEarn] | None = None) -> QuerySet[WayToEarn]:
    """Listed campaigns running now (the list is refreshed every few minutes: dates are
    checked here too, so an ended campaign leaves the list on time)."""
    now = timezone.now()
    queryset = WayToEarn.objects.all() if queryset is None else queryset
    return queryset.filter(
        Q(starts_at__isnull=True) | Q(starts_at__lte=now),
        Q(ends_at__isnull=True) | Q(ends_at__gt=now),
    )


def ways_to_earn(consumer_id: int | None) -> QuerySet[WayToEarn]:
    """The consumers' list, newest first; for a consumer, merchants they earned from
    first, and without campaigns they earned once already (an answered questionnaire).

    Two statements whatever the page: the merchants the consumer knows, then the page
    (the "earned already" test is a subquery of it).
    """
    ways = open_ways()
    if consumer_id is None:
        return ways.annotate(known=Value(False)).order_by("-created_at", "-id")
    known = list(
        Transaction.objects.filter(consumer_id=consumer_id, merchant_id__isnull=False)
        .values_list("merchant_id", flat=True)
        .distinct()
    )
    earned = Entry.objects.filter(
        transaction__consumer_id=consumer_id,
        account__kind=AccountKind.CAMPAIGN_RESERVE,
        account__merchant_id=OuterRef("merchant_id"),
        account__ref__startswith=OuterRef("earned_once_ref"),
    )
    return (
        ways.exclude(Q(earned_once_ref__gt="") & Exists(earned))
        .annotate(known=Case(When(merchant_id__in=known, then=Value(True)), default=Value(False)))
        .order_by("-known", "-created_at", "-id")
    )


# --- Birthdays -----------------------------------------------------------------------


def _local_today() -> date:
    from zoneinfo import ZoneInfo

    return timezone.now().astimezone(ZoneInfo(settings.CONSUMER_TIME_ZONE)).date()


def set_birthday(user: User, birthday: date) -> User:
    """Record the consumer's birthday, once (``BIRTHDAY_ALREADY_SET`` for another date
    afterwards: a birthday that could move would pay its bonus every month)."""
    today = _local_today()
    if birthday > today or birthday.year < today.year - 120:
        raise EarningError(
            EarningErrorCode.INVALID_BIRTHDAY,
            _("Enter your real birthday: a past date."),
            "birthday",
        )
    if user.birthday == birthday:
        return user
    # Conditional, so two devices setting it at once cannot both win.
    if not User.objects.filter(pk=user.pk, birthday__isnull=True).update(birthday=birthday):
        raise EarningError(
            EarningErrorCode.BIRTHDAY_ALREADY_SET,
            _("Your birthday is set already. Contact support to correct it."),
            "birthday",
        )
    user.birthday = birthday
    return user


def _birthdays_on(today: date) -> Q:
    """Consumers whose birthday is ``today``; 29 February counts on the 28th in other years."""
    on = Q(birthday__month=today.month, birthday__day=today.day)
    leap = today.year % 4 == 0 and (today.year % 100 != 0 or today.year % 400 == 0)
    if (today.month, today.day) == (2, 28) and not leap:
        on |= Q(birthday__month=2, birthday__day=29)
    return on


def award_birthday_bonuses(today: date | None = None) -> int:
    """Pay each merchant's birthday bonus to its consumers whose birthday is today (in
    ``CONSUMER_TIME_ZONE``): those who earned from it before. Once per consumer, merchant
    and year (the award's id names the year), so the hourly task may run all day.
    A merchant whose budget runs out stops paying for the day. The number paid."""
    today = today or _local_today()
    paid = 0
    for rule in EarningRule.objects.filter(birthday_bonus__gt=0).select_related("merchant"):
        merchant = rule.merchant
        if not merchant.is_active:
            continue
        customers = Transaction.objects.filter(merchant_id=merchant.pk).values("consumer_id")
        for user in User.objects.filter(
            _birthdays_on(today), pk__in=customers, is_active=True, merged_into__isnull=True
        ):
            address = Address(
                consumer_ref=pseudonyms.consumer_ref(merchant.pk, user.pk), consumer=user
            )
            key = f"birthday:{user.pk}:{today.year}"
            try:
                result = _make(
                    merchant,
                    address,
                    kind=AwardKind.BIRTHDAY,
                    points=lambda rule, points=rule.birthday_bonus: points,
                    reason=_("Birthday bonus"),
                    external_id=_stored_external_id(AwardKind.BIRTHDAY, f"{user.pk}:{today.year}"),
                    idempotency_key=key,
                    request_hash=_request_hash(kind=AwardKind.BIRTHDAY, to=address.key),
                    may_welcome=False,
                )
            except LedgerError as exc:
                if exc.code != LedgerErrorCode.INSUFFICIENT_BUDGET:
                    raise
                break
            paid += 0 if result.replayed else 1
    return paid
