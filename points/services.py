"""Ledger operations in the language of the business: fund, reserve, award, release,
transfer, expire, reverse. Each is one ``ledger.post`` with its own key scheme."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from points import ledger
from points.error_codes import LedgerErrorCode
from points.errors import LedgerError
from points.ledger import Posting
from points.models import (
    Account,
    AccountKind,
    Funding,
    FundingSource,
    Lot,
    LotDebit,
    Transaction,
    TransactionKind,
)
from tenants.models import Merchant

# Minor units per major unit; currencies we settle in. Unknown currencies are refused.
CURRENCY_EXPONENT = {"CNY": 2, "USD": 2, "EUR": 2, "HKD": 2, "GBP": 2, "JPY": 0}
MAX_MONEY_MINOR = 10**13


def points_for_money(amount_minor: int, currency: str, rate: Decimal | str) -> int:
    """Whole points bought by ``amount_minor`` at ``rate`` points per major unit (floored)."""
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int):
        raise LedgerError(
            LedgerErrorCode.INVALID_AMOUNT, _("The amount must be a whole number."), "amount"
        )
    if not 0 < amount_minor <= MAX_MONEY_MINOR:
        raise LedgerError(
            LedgerErrorCode.INVALID_AMOUNT, _("The amount is out of range."), "amount"
        )
    if currency not in CURRENCY_EXPONENT:
        raise LedgerError(LedgerErrorCode.INVALID_CURRENCY, _("Unsupported currency."), "currency")
    try:
        rate = Decimal(str(rate))
    except InvalidOperation as exc:
        raise LedgerError(
            LedgerErrorCode.INVALID_RATE, _("The rate must be a number."), "rate"
        ) from exc
    if (
        not rate.is_finite()
        or rate <= 0
        or rate > 10**6
        or rate != rate.quantize(Decimal("0.0001"))
    ):
        raise LedgerError(
            LedgerErrorCode.INVALID_RATE,
            _("The rate must be positive (4 decimals at most)."),
            "rate",
        )
    points = (Decimal(amount_minor) * rate / (10 ** CURRENCY_EXPONENT[currency])).to_integral_value(
        ROUND_FLOOR
    )
    return ledger.validate_points(int(points))


def _fund(
    merchant: Merchant,
    source: FundingSource,
    kind: TransactionKind,
    amount_minor: int,
    currency: str,
    rate: Decimal | str,
    reference: str,
    description: str,
    recorded_by: User | None,
) -> Funding:
    # Money for an application that may yet be declined would have no way back.
    merchant.ensure_approved()
    reference = (reference or "").strip()
    if not reference or len(reference) > 100:
        raise LedgerError(
            LedgerErrorCode.INVALID_REFERENCE,
            _("A payment or receipt reference is required."),
            "reference",
        )
    points = points_for_money(amount_minor, currency, rate)
    key = f"fund:{source}:{reference}"
    with transaction.atomic():
        txn = ledger.post(
            kind,
            key,
            [
                Posting(ledger.platform_account(AccountKind.ISSUANCE), -points),
                Posting(ledger.merchant_budget(merchant.pk), points),
            ],
            merchant_id=merchant.pk,
            memo=description or reference,
            metadata={
                "amount_minor": amount_minor,
                "currency": currency,
                "rate": str(rate),
                "reference": reference,
            },
        )
        if txn.replayed:
            return Funding.objects.get(transaction=txn)
        return Funding.objects.create(
            merchant=merchant,
            source=source,
            amount_minor=amount_minor,
            currency=currency,
            rate=Decimal(str(rate)),
            points=points,
            reference=reference,
            description=description[:200],
            transaction=txn,
            recorded_by=recorded_by,
        )


def fund_with_money(
    merchant: Merchant,
    *,
    amount_minor: int,
    currency: str,
    rate: Decimal | str,
    payment_reference: str,
    recorded_by: User | None = None,
) -> Funding:
    """Credit a merchant's budget for money received. Retrying with the same payment
    reference returns the first funding and credits nothing more."""
    return _fund(
        merchant,
        FundingSource.MONEY,
        TransactionKind.FUND_MONEY,
        amount_minor,
        currency,
        rate,
        payment_reference,
        "",
        recorded_by,
    )


def fund_with_goods(
    merchant: Merchant,
    *,
    value_minor: int,
    currency: str,
    rate: Decimal | str,
    receipt_reference: str,
    description: str = "",
    recorded_by: User | None = None,
) -> Funding:
    """Credit a merchant's budget for goods consigned to the mall, at their agreed value."""
    return _fund(
        merchant,
        FundingSource.GOODS,
        TransactionKind.FUND_GOODS,
        value_minor,
        currency,
        rate,
        receipt_reference,
        description,
        recorded_by,
    )


def transfer(
    source: Account,
    destination: Account,
    points: int,
    *,
    idempotency_key: str,
    memo: str = "",
    merchant_id: int | None = None,
) -> Transaction:
    """Move points between two accounts (e.g. between a merchant's budgets)."""
    ledger.validate_points(points)
    if source.pk == destination.pk:
        raise LedgerError(LedgerErrorCode.INVALID_ACCOUNT, _("Source and destination must differ."))
    if AccountKind.CONSUMER_WALLET in (source.kind, destination.kind):
        # Wallets move only by earning, redeeming, expiring and reversals, never by hand.
        raise LedgerError(
            LedgerErrorCode.INVALID_ACCOUNT, _("Wallets cannot take part in transfers.")
        )
    return ledger.post(
        TransactionKind.TRANSFER,
        idempotency_key,
        [Posting(source, -points), Posting(destination, points)],
        merchant_id=merchant_id or source.merchant_id or destination.merchant_id,
        memo=memo,
    )


def reserve(
    merchant: Merchant, ref: str, points: int, *, idempotency_key: str, memo: str = ""
) -> Transaction:
    """Set aside ``points`` of the merchant's budget for one campaign (or batch)."""
    ledger.validate_points(points)
    return ledger.post(
        TransactionKind.RESERVE,
        idempotency_key,
        [
            Posting(ledger.merchant_budget(merchant.pk), -points),
            Posting(ledger.campaign_reserve(merchant.pk, ref), points),
        ],
        merchant_id=merchant.pk,
        memo=memo,
    )


def release(
    merchant: Merchant, ref: str, points: int, *, idempotency_key: str, memo: str = ""
) -> Transaction:
    """Return unused reserve to the merchant's budget."""
    ledger.validate_points(points)
    return ledger.post(
        TransactionKind.RELEASE,
        idempotency_key,
        [
            Posting(ledger.campaign_reserve(merchant.pk, ref), -points),
            Posting(ledger.merchant_budget(merchant.pk), points),
        ],
        merchant_id=merchant.pk,
        memo=memo,
    )


def award(
    merchant: Merchant,
    ref: str,
    consumer: User,
    points: int,
    *,
    idempotency_key: str,
    memo: str = "",
    metadata: dict[str, Any] | None = None,
) -> Transaction:
    """Pay ``points`` from a campaign's reserve into the consumer's wallet (a new lot).

    Refused for a merchant that is not active (``MERCHANT_SUSPENDED``).
    """
    merchant.ensure_can_award()
    ledger.validate_points(points)
    return ledger.post(
        TransactionKind.AWARD,
        idempotency_key,
        [
            Posting(ledger.campaign_reserve(merchant.pk, ref), -points),
            Posting(ledger.wallet(consumer.pk), points),
        ],
        merchant_id=merchant.pk,
        consumer_id=consumer.pk,
        memo=memo,
        metadata=metadata,
    )


def spend(
    consumer: User,
    points: int,
    *,
    idempotency_key: str,
    memo: str = "",
    metadata: dict[str, Any] | None = None,
    wallet: Account | None = None,
    mall: Account | None = None,
    savepoint: bool = True,
) -> Transaction:
    """Debit the consumer's wallet into the mall, oldest lots first.

    ``wallet`` and ``mall``: the accounts when the caller has read them already (the
    redeem reads them with its product); ``savepoint`` as ``ledger.post``'s.
    """
    ledger.validate_points(points)
    return ledger.post(
        TransactionKind.REDEEM,
        idempotency_key,
        [
            Posting(wallet or ledger.wallet(consumer.pk), -points),
            Posting(mall or ledger.platform_account(AccountKind.MALL), points),
        ],
        consumer_id=consumer.pk,
        memo=memo,
        metadata=metadata,
        savepoint=savepoint,
    )


def expire_lot(lot_id: int, now: datetime | None = None) -> Transaction | None:
    """Post the expiry of what is left in one lot past its date; None if nothing is left."""
    now = now or timezone.now()
    account_id = Lot.objects.values_list("account_id", flat=True).get(pk=lot_id)
    with transaction.atomic():
        # Wallet row first, then the lot: the same lock order as every spend, so an
        # expiry racing a redeem waits instead of deadlocking.
        list(Account.objects.select_for_update().filter(pk=account_id).values_list("pk"))
        lot = Lot.objects.select_for_update().select_related("account").get(pk=lot_id)
        if lot.remaining == 0 or lot.expires_at > now:
            return None
        remaining = lot.remaining

        def take_this_lot(txn: Transaction, account: Account, amount: int) -> None:
            ledger.take_from_lots(txn, account, -amount, lots=[lot])

        # Keyed by lot and by what is left, so a lot partly restored after expiring
        # (a cancelled order) can expire again, and a re-run posts nothing twice.
        return ledger.post(
            TransactionKind.EXPIRE,
            f"expire:lot:{lot.pk}:{lot.debits.count()}",
            [
                Posting(lot.account, -remaining),
                Posting(ledger.platform_account(AccountKind.EXPIRED), remaining),
            ],
            merchant_id=lot.merchant_id,
            consumer_id=lot.consumer_id,
            memo=_("Points expired"),
            metadata={"lot": lot.pk},
            wallet_hook=take_this_lot,
        )


def reverse(original: Transaction, *, idempotency_key: str, memo: str = "") -> Transaction:
    """Post the exact opposite of ``original``.

    Wallet points go back where they came from: reversing a spend restores the
    very lots it took (with their original expiry); reversing an award takes the
    points back out of the lot it opened, and is refused once they are spent.
    """
    if original.kind in (TransactionKind.REVERSAL, TransactionKind.EXPIRE):
        raise LedgerError(LedgerErrorCode.NOT_REVERSIBLE, _("This transaction cannot be reversed."))
    entries = list(original.entries.select_related("account"))
    # A wallet merged since (accounts.merge) gave its lots to the survivor's: the points
    # go back there, to the very lots, which now belong to it.
    postings = [Posting(ledger.successor(e.account), -e.amount) for e in entries]

    def restore_lots(txn: Transaction, account: Account, amount: int) -> None:
        if amount > 0:
            # Put back exactly what the original took from each lot.
            taken = LotDebit.objects.filter(transaction=original, lot__account=account)
            restored = []
            for debit in taken.select_related("lot"):
                Lot.objects.filter(pk=debit.lot_id).update(
                    remaining=debit.lot.remaining + debit.points
                )
                restored.append(LotDebit(lot=debit.lot, transaction=txn, points=-debit.points))
            LotDebit.objects.bulk_create(restored)
            if sum(-d.points for d in restored) != amount:
                raise LedgerError(
                    LedgerErrorCode.NOT_REVERSIBLE, _("The original lots cannot be restored.")
                )
        else:
            ledger.take_from_lots(txn, account, -amount, lots=list(original.lots.all()))

    try:
        return ledger.post(
            TransactionKind.REVERSAL,
            idempotency_key,
            postings,
            merchant_id=original.merchant_id,
            consumer_id=original.consumer_id,
            memo=memo or _("Reversal of #%(id)d") % {"id": original.pk},
            reverses=original,
            wallet_hook=restore_lots,
        )
    except IntegrityError as exc:
        # reverses is one-to-one: a second reversal under a new key is refused.
        raise LedgerError(
            LedgerErrorCode.ALREADY_REVERSED, _("This transaction was already reversed.")
        ) from exc
