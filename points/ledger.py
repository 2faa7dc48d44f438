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
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.error_codes import AccountErrorCode
from core import idempotency
from core.db import diagnostics, rows, violated_constraint
from points.error_codes import LedgerErrorCode
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
    AccountKind.MERCHANT_BUDGET: LedgerErrorCode.INSUFFICIENT_BUDGET,
    AccountKind.CAMPAIGN_RESERVE: LedgerErrorCode.INSUFFICIENT_BUDGET,
    AccountKind.CONSUMER_WALLET: LedgerErrorCode.INSUFFICIENT_POINTS,
}


def validate_points(amount: object, field: str = "amount") -> int:
    """A positive whole number of points within bounds, or ``INVALID_AMOUNT``."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise LedgerError(
            LedgerErrorCode.INVALID_AMOUNT, _("Points must be a whole number."), field
        )
    if amount <= 0:
        raise LedgerError(
            LedgerErrorCode.INVALID_AMOUNT, _("Points must be greater than zero."), field
        )
    if amount > MAX_POINTS:
        raise LedgerError(
            LedgerErrorCode.INVALID_AMOUNT,
            _("At most %(max)d points at a time.") % {"max": MAX_POINTS},
            field,
        )
    return amount


# --- Accounts ---------------------------------------------------------------------


# The lookup by owner runs on every claim and redemption, as SQL written once
# (core.db.rows). ``IS NULL`` (not ``= NULL``) keeps it on the ``account_unique_owner``
# index, hence one statement per null pattern.
_ACCOUNT = rows.columns(Account)
_ACCOUNT_SQL = {
    (merchant_null, consumer_null): (
        f"SELECT {_ACCOUNT.select('a')} FROM {rows.table(Account)} a WHERE a.kind = %s AND "
        + ("a.merchant_id IS NULL" if merchant_null else "a.merchant_id = %s")
        + " AND "
        + ("a.consumer_id IS NULL" if consumer_null else "a.consumer_id = %s")
        + " AND a.ref = %s"
    )
    for merchant_null in (True, False)
    for consumer_null in (True, False)
}


def _account(
    kind: str, *, merchant_id: int | None = None, consumer_id: int | None = None, ref: str = ""
) -> Account:
    params = [kind, *(v for v in (merchant_id, consumer_id) if v is not None), ref]
    row = rows.fetch_one(_ACCOUNT_SQL[merchant_id is None, consumer_id is None], params)
    if row is not None:
        return _ACCOUNT.build(row)
    lookup = {"kind": kind, "merchant_id": merchant_id, "consumer_id": consumer_id, "ref": ref}
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


def award_hold(merchant_id: int) -> Account:
    """Where a merchant's awards to phones not signed up yet wait (earning/)."""
    return _account(AccountKind.AWARD_HOLD, ref=str(merchant_id))


def wallet(consumer_id: int) -> Account:
    return _account(AccountKind.CONSUMER_WALLET, consumer_id=consumer_id)


def successor(account: Account) -> Account:
    """The wallet that now holds what ``account`` held: itself, unless its consumer was
    merged into another account (then the survivor's, following merges of merges)."""
    while account.merged_into_id is not None:
        account = Account.objects.get(pk=account.merged_into_id)
    return account


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
    savepoint: bool = True,
    created_at: datetime | None = None,
) -> Transaction:
    """Post one balanced transaction, or return the one already posted under the key.

    ``lot_expires_at`` dates the lot opened by a wallet credit (default: the
    merchant's expiry policy). ``wallet_hook`` replaces the default lot handling
    (reversals and expiry need to name the lots). ``savepoint=False`` suits a caller
    inside its own transaction that lets every ``LedgerError`` end it (a claim): a
    failure then rolls back the caller's transaction instead of a savepoint, two
    statements fewer. A caller that catches a refusal and goes on (trying another
    reserve bucket) needs the savepoint. ``created_at`` dates the transaction and its
    entries (default now): only a merchant's history replayed in another database
    (``portability.moving``) keeps its original dates.

    The returned transaction carries ``replayed`` and ``balances`` (the new balance
    of each materialised account it moved; empty for a replay).
    """
    idempotency.check_key(idempotency_key, LedgerError)
    if len(postings) < 2:
        raise LedgerError(
            LedgerErrorCode.UNBALANCED, _("A transaction needs at least two postings.")
        )
    for p in postings:
        if isinstance(p.amount, bool) or not isinstance(p.amount, int):
            validate_points(p.amount)  # raises INVALID_AMOUNT
        validate_points(abs(p.amount))
    if sum(p.amount for p in postings) != 0:
        raise LedgerError(
            LedgerErrorCode.UNBALANCED, _("A transaction's postings must sum to zero.")
        )

    metadata = metadata or {}
    request_hash = _request_hash(kind, postings, {"memo": memo, **metadata})
    txn = Transaction(
        kind=kind,
        idempotency_key=idempotency_key,
        request_hash=request_hash,
        merchant_id=merchant_id,
        consumer_id=consumer_id,
        reverses=reverses,
        memo=memo[:200],
        metadata=metadata,
        created_at=created_at or timezone.now(),
    )
    moves = _moves(postings)
    # The lot a wallet credit opens, and the lots a wallet debit takes, are written by
    # points_post in the same round trip; any other wallet posting (a second one, a
    # hook's own lots) is handled below.
    lot = take = None
    if wallet_hook is None:
        on_wallets = [p for p in postings if p.account.kind == AccountKind.CONSUMER_WALLET]
        lot = next((p for p in on_wallets if p.amount > 0), None)
        take = next((p for p in on_wallets if p.amount < 0), None)
    with transaction.atomic(savepoint=savepoint):
        try:
            row = rows.fetch_one(
                POST_SQL,
                [
                    kind,
                    idempotency_key,
                    request_hash,
                    merchant_id,
                    consumer_id,
                    reverses.pk if reverses is not None else None,
                    txn.memo,
                    json.dumps(metadata),
                    txn.created_at,
                    [p.account.pk for p in postings],
                    [p.amount for p in postings],
                    [p.account.consumer_id for p in postings],
                    [account.pk for account, _delta in moves],
                    [delta for _account, delta in moves],
                    lot.account.pk if lot else None,
                    lot.account.consumer_id if lot else None,
                    lot.amount if lot else None,
                    _lot_expiry(lot, lot_expires_at, merchant_id, txn.created_at),
                    take.account.pk if take else None,
                    -take.amount if take else None,
                ],
                any_path=True,
            )
        except IntegrityError as exc:
            refusal = _refusal(exc, moves)
            if refusal is None:
                raise
            raise refusal from exc
        assert row is not None  # the function always answers one row
        txn_id, replayed, stored_hash, balances = row
        if replayed:
            if txn_id is None:
                # The first request with this key rolled back after we waited on it.
                raise idempotency.conflict(
                    LedgerError, _("This request is already in progress. Retry it.")
                )
            if stored_hash != request_hash:
                raise idempotency.conflict(LedgerError)
            existing = Transaction.objects.get(pk=txn_id)
            existing.replayed = True
            existing.balances = {}
            return existing
        txn.pk = txn_id
        txn._state.adding = False
        txn.balances = dict(zip((account.pk for account, _delta in moves), balances, strict=True))
        for p in postings:
            if p.account.kind != AccountKind.CONSUMER_WALLET or p is lot or p is take:
                continue
            if wallet_hook is not None:
                wallet_hook(txn, p.account, p.amount)
            elif p.amount > 0:
                open_lot(txn, p.account, p.amount, merchant_id, lot_expires_at)
            else:
                take_from_lots(txn, p.account, -p.amount)
    txn.replayed = False
    return txn


# The posting's writes in one round trip: points/sql/points_post.sql (installed by
# migrate, core/db/functions.py) says what it writes and in which order. It names its
# tables' schema, so it runs on whatever search path the session has.
POST_SQL = (
    "SELECT * FROM public.points_post(%s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s,"
    " %s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[], %s, %s, %s, %s,"
    " %s, %s)"
)
BALANCE_CONSTRAINT = "account_balance_not_negative"
# A merged consumer's wallet stays empty: a credit racing the merge is refused.
MERGED_CONSTRAINT = "account_merged_is_empty"
# Raised by points_post when a wallet's open lots hold fewer points than its balance
# said: the wallet is out of step, and the debit is refused.
LOTS_CONSTRAINT = "lot_remaining_in_range"
# Lots that points_post does not open (a hook's, a second wallet credit) are written once too.
_INSERT_LOT = rows.Insert(Lot)


def _lot_expiry(
    lot: Posting | None, expires_at: datetime | None, merchant_id: int | None, now: datetime
) -> datetime | None:
    if lot is None:
        return None
    return expires_at or default_expiry(merchant_id, now)


def _moves(postings: Sequence[Posting]) -> list[tuple[Account, int]]:
    """The net move of each materialised balance, in account id order (never zero).

    In id order so that concurrent postings lock the balances they share in the same
    order and never deadlock.
    """
    by_account: dict[int, tuple[Account, int]] = {}
    for p in postings:
        if p.account.materialized:
            acc, total = by_account.get(p.account.pk, (p.account, 0))
            by_account[p.account.pk] = (acc, total + p.amount)
    return [by_account[pk] for pk in sorted(by_account) if by_account[pk][1] != 0]


def _refusal(exc: IntegrityError, moves: Sequence[tuple[Account, int]]) -> LedgerError | None:
    """A refused balance move as the ``LedgerError`` of that account's kind; None for
    any other integrity error (a second reversal of the same transaction)."""
    constraint = violated_constraint(exc)
    if constraint == MERGED_CONSTRAINT:
        return merged_refusal()
    if constraint == LOTS_CONSTRAINT:
        return LedgerError(
            LedgerErrorCode.INSUFFICIENT_POINTS, _("Not enough points for this operation.")
        )
    if constraint != BALANCE_CONSTRAINT:
        return None
    detail = diagnostics(exc).message_detail  # the refused account's id
    account = next((a for a, _delta in moves if str(a.pk) == detail), None)
    code = (
        INSUFFICIENT_CODE.get(AccountKind(account.kind), LedgerErrorCode.INSUFFICIENT_FUNDS)
        if account is not None
        else LedgerErrorCode.INSUFFICIENT_FUNDS
    )
    return LedgerError(code, _("Not enough points for this operation."))


def merged_refusal() -> LedgerError:
    """A posting to the wallet of an account merged meanwhile: its sessions are revoked."""
    return LedgerError(
        AccountErrorCode.ACCOUNT_MERGED,
        _("This account was merged into another. Please sign in again."),
    )


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
    # Lots are a wallet's, and a wallet names its consumer (account_wallet_has_consumer).
    assert account.consumer_id is not None, f"{account} has no consumer"
    lot = Lot(
        account_id=account.pk,
        consumer_id=account.consumer_id,
        merchant_id=merchant_id,
        source_id=txn.pk,
        points=points,
        remaining=points,
        earned_at=txn.created_at,
        expires_at=expires_at or default_expiry(merchant_id, txn.created_at),
    )
    _INSERT_LOT.one(lot)
    return lot


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
        raise LedgerError(
            LedgerErrorCode.INSUFFICIENT_POINTS, _("Not enough points for this operation.")
        )
    LotDebit.objects.bulk_create(debits)
