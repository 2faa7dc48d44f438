"""Posting to the ledger: the only code that creates, moves or destroys points.

``post`` writes one balanced transaction under a unique idempotency key:

1. insert the ``Transaction`` row (a concurrent request with the same key waits
   on the unique index, then finds the committed row and returns it);
2. move each materialised balance with a conditional ``UPDATE … WHERE balance +
   amount >= 0``, accounts in id order so that concurrent postings never deadlock;
   a refused update means insufficient funds and rolls the whole posting back;
3. insert the entries, and keep the wallet's lots in step: a credit opens a lot,
   a debit takes from the oldest lots first and records what it took.

Everything runs in one database transaction (a savepoint when the caller has
one open), so a failure leaves nothing half-done.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from points.errors import LedgerError
from points.models import (
    PLATFORM_KINDS,
    Account,
    AccountKind,
    Entry,
    Lot,
    LotDebit,
    Transaction,
)

# Far below bigint's 9.2e18 so that sums over millions of entries cannot overflow.
MAX_POINTS = 10**12

INSUFFICIENT_CODE = {
    AccountKind.MERCHANT_BUDGET: "INSUFFICIENT_BUDGET",
    AccountKind.CAMPAIGN_RESERVE: "INSUFFICIENT_BUDGET",
    AccountKind.CONSUMER_WALLET: "INSUFFICIENT_POINTS",
}


def validate_points(amount: object, field: str = "amount") -> int:
    """A positive whole number of points within bounds, or ``INVALID_AMOUNT``."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise LedgerError("INVALID_AMOUNT", _("Points must be a whole number."), field)
    if amount <= 0:
        raise LedgerError("INVALID_AMOUNT", _("Points must be greater than zero."), field)
    if amount > MAX_POINTS:
        raise LedgerError(
            "INVALID_AMOUNT", _("At most %(max)d points at a time.") % {"max": MAX_POINTS}, field
        )
    return amount


# --- Accounts ---------------------------------------------------------------------


def _account(
    kind: str, *, merchant_id: int | None = None, consumer_id: int | None = None, ref: str = ""
) -> Account:
    lookup = {"kind": kind, "merchant_id": merchant_id, "consumer_id": consumer_id, "ref": ref}
    account = Account.objects.filter(**lookup).first()
    if account is not None:
        return account
    try:
        with transaction.atomic():
            return Account.objects.create(**lookup, materialized=kind not in PLATFORM_KINDS)
    except IntegrityError:
        # Created by a concurrent request in the meantime.
        return Account.objects.get(**lookup)


def platform_account(kind: AccountKind) -> Account:
    assert kind in PLATFORM_KINDS, kind
    return _account(kind)


def merchant_budget(merchant_id: int) -> Account:
    return _account(AccountKind.MERCHANT_BUDGET, merchant_id=merchant_id)


def campaign_reserve(merchant_id: int, ref: str) -> Account:
    return _account(AccountKind.CAMPAIGN_RESERVE, merchant_id=merchant_id, ref=ref)


def wallet(consumer_id: int) -> Account:
    return _account(AccountKind.CONSUMER_WALLET, consumer_id=consumer_id)


def balance_of(account: Account) -> int:
    """The balance: materialised, or for platform accounts the sum of entries."""
    if account.materialized:
        return Account.objects.values_list("balance", flat=True).get(pk=account.pk)
    from django.db.models import Sum

    return Entry.objects.filter(account=account).aggregate(s=Sum("amount"))["s"] or 0


# --- Posting ----------------------------------------------------------------------


@dataclass(frozen=True)
class Posting:
    account: Account
    amount: int  # positive credits the account, negative debits it


# Called for each wallet posting once balances have moved: keeps the lots in step.
WalletHook = Callable[[Transaction, Account, int], None]


def _request_hash(kind: str, postings: Sequence[Posting], extra: dict[str, Any]) -> str:
    body = {
        "kind": kind,
        "postings": sorted((p.account.pk, p.amount) for p in postings),
        "extra": extra,
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def post(
    kind: str,
    idempotency_key: str,
    postings: Sequence[Posting],
    *,
    merchant_id: int | None = None,
    consumer_id: int | None = None,
    memo: str = "",
    metadata: dict[str, Any] | None = None,
    reverses: Transaction | None = None,
    lot_expires_at: datetime | None = None,
    wallet_hook: WalletHook | None = None,
) -> Transaction:
    """Post one balanced transaction, or return the one already posted under the key.

    ``lot_expires_at`` dates the lot opened by a wallet credit (default: the
    merchant's expiry policy). ``wallet_hook`` replaces the default lot handling
    (reversals and expiry need to name the lots).
    """
    if not idempotency_key or len(idempotency_key) > 200:
        raise LedgerError(
            "INVALID_IDEMPOTENCY_KEY",
            _("An idempotency key of 1 to 200 characters is required."),
            "idempotencyKey",
        )
    if len(postings) < 2:
        raise LedgerError("UNBALANCED", _("A transaction needs at least two postings."))
    for p in postings:
        if isinstance(p.amount, bool) or not isinstance(p.amount, int):
            validate_points(p.amount)  # raises INVALID_AMOUNT
        validate_points(abs(p.amount))
    if sum(p.amount for p in postings) != 0:
        raise LedgerError("UNBALANCED", _("A transaction's postings must sum to zero."))

    metadata = metadata or {}
    request_hash = _request_hash(kind, postings, {"memo": memo, **metadata})
    with transaction.atomic():
        try:
            with transaction.atomic():
                txn = Transaction.objects.create(
                    kind=kind,
                    idempotency_key=idempotency_key,
                    request_hash=request_hash,
                    merchant_id=merchant_id,
                    consumer_id=consumer_id,
                    reverses=reverses,
                    memo=memo[:200],
                    metadata=metadata,
                )
        except IntegrityError:
            existing = Transaction.objects.filter(idempotency_key=idempotency_key).first()
            if existing is None:
                # Not a key clash (e.g. a second reversal of the same transaction).
                raise
            if existing.request_hash != request_hash:
                raise LedgerError(
                    "IDEMPOTENCY_CONFLICT",
                    _("This idempotency key was already used for a different request."),
                    "idempotencyKey",
                ) from None
            existing.replayed = True  # type: ignore[attr-defined]
            return existing

        _move_balances(postings)
        Entry.objects.bulk_create(
            Entry(
                transaction=txn,
                account=p.account,
                amount=p.amount,
                consumer_id=p.account.consumer_id,
                created_at=txn.created_at,
            )
            for p in postings
        )
        for p in postings:
            if p.account.kind != AccountKind.CONSUMER_WALLET:
                continue
            if wallet_hook is not None:
                wallet_hook(txn, p.account, p.amount)
            elif p.amount > 0:
                open_lot(txn, p.account, p.amount, merchant_id, lot_expires_at)
            else:
                take_from_lots(txn, p.account, -p.amount)
    txn.replayed = False  # type: ignore[attr-defined]
    return txn


def _move_balances(postings: Sequence[Posting]) -> None:
    by_account: dict[int, tuple[Account, int]] = {}
    for p in postings:
        if p.account.materialized:
            acc, total = by_account.get(p.account.pk, (p.account, 0))
            by_account[p.account.pk] = (acc, total + p.amount)
    with connection.cursor() as cursor:
        for account_id in sorted(by_account):
            account, delta = by_account[account_id]
            if delta == 0:
                continue
            cursor.execute(
                "UPDATE points_account SET balance = balance + %s "
                "WHERE id = %s AND balance + %s >= 0",
                [delta, account_id, delta],
            )
            if cursor.rowcount != 1:
                code = INSUFFICIENT_CODE.get(AccountKind(account.kind), "INSUFFICIENT_FUNDS")
                raise LedgerError(code, _("Not enough points for this operation."))


# --- Lots -------------------------------------------------------------------------


def default_expiry(merchant_id: int | None, now: datetime | None = None) -> datetime:
    from tenants.models import Merchant

    days = settings.POINTS_DEFAULT_EXPIRY_DAYS
    if merchant_id is not None:
        days = (
            Merchant.objects.filter(pk=merchant_id)
            .values_list("points_expiry_days", flat=True)
            .first()
            or days
        )
    return (now or timezone.now()) + timedelta(days=days)


def open_lot(
    txn: Transaction,
    account: Account,
    points: int,
    merchant_id: int | None,
    expires_at: datetime | None,
) -> Lot:
    return Lot.objects.create(
        account=account,
        consumer_id=account.consumer_id,
        merchant_id=merchant_id,
        source=txn,
        points=points,
        remaining=points,
        earned_at=txn.created_at,
        expires_at=expires_at or default_expiry(merchant_id, txn.created_at),
    )


def take_from_lots(
    txn: Transaction, account: Account, points: int, lots: Sequence[Lot] | None = None
) -> None:
    """Take ``points`` from the wallet's open lots, soonest to expire first.

    The wallet's balance row is already locked by the caller's UPDATE, so lots of
    one wallet are only ever consumed by one transaction at a time.
    """
    queryset = Lot.objects.select_for_update().filter(account=account, remaining__gt=0)
    if lots is not None:
        queryset = queryset.filter(pk__in=[lot.pk for lot in lots])
    left = points
    debits: list[LotDebit] = []
    for lot in queryset.order_by("expires_at", "id").iterator(chunk_size=200):
        take = min(lot.remaining, left)
        Lot.objects.filter(pk=lot.pk).update(remaining=lot.remaining - take)
        debits.append(LotDebit(lot=lot, transaction=txn, points=take))
        left -= take
        if left == 0:
            break
    if left:
        # The balance said yes but the lots say no: the wallet is out of step. Refuse.
        raise LedgerError("INSUFFICIENT_POINTS", _("Not enough points for this operation."))
    LotDebit.objects.bulk_create(debits)
