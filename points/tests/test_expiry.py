"""Lots: the oldest (soonest to expire) are spent first, and the periodic task expires
what is left of each lot past its date, once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Protocol

import pytest
from django.db.models import Sum
from django.utils import timezone

from accounts.models import User
from points import ledger, services
from points.audit import audit
from points.errors import LedgerError
from points.models import AccountKind, Lot, LotDebit, Transaction, TransactionKind
from points.tasks import expire_lots
from tenants.models import Merchant
from tests.fixtures.tenants import Tenants

CAMPAIGN = "autumn"


class Earn(Protocol):
    def __call__(self, consumer: User, points: int, expires_in: timedelta) -> Lot: ...


@pytest.fixture
def earn(db: None, tenants: Tenants, unique: Callable[[str], str]) -> Earn:
    """Award ``points`` from acme to a consumer; return the lot, dated ``expires_in`` from now."""
    acme: Merchant = tenants.acme

    def earn(consumer: User, points: int, expires_in: timedelta) -> Lot:
        services.fund_with_money(
            acme,
            amount_minor=points,
            currency="CNY",
            rate="100",
            payment_reference=unique("pay"),
        )
        services.reserve(acme, CAMPAIGN, points, idempotency_key=unique("reserve"))
        award = services.award(acme, CAMPAIGN, consumer, points, idempotency_key=unique("award"))
        # Lots are not ledger history (only entries, transactions and lot debits are
        # append-only), so a test may date them.
        Lot.objects.filter(source=award).update(expires_at=timezone.now() + expires_in)
        return Lot.objects.get(source=award)

    return earn


def remaining(*lots: Lot) -> list[int]:
    return [Lot.objects.get(pk=lot.pk).remaining for lot in lots]


def expiries_of(consumer: User) -> list[Transaction]:
    return list(
        Transaction.objects.filter(consumer_id=consumer.pk, kind=TransactionKind.EXPIRE).order_by(
            "pk"
        )
    )


def test_spending_takes_the_soonest_expiring_lot_first(
    earn: Earn, consumer: User, unique: Callable[[str], str]
) -> None:
    late = earn(consumer, 100, timedelta(days=30))
    soon = earn(consumer, 100, timedelta(days=10))
    middle = earn(consumer, 100, timedelta(days=20))

    first = services.spend(consumer, 150, idempotency_key=unique("spend"))
    assert remaining(soon, middle, late) == [0, 50, 100]
    assert sorted(LotDebit.objects.filter(transaction=first).values_list("lot", "points")) == (
        sorted([(soon.pk, 100), (middle.pk, 50)])
    )

    services.spend(consumer, 60, idempotency_key=unique("spend"))
    assert remaining(soon, middle, late) == [0, 0, 90]
    assert ledger.balance_of(ledger.wallet(consumer.pk)) == 90
    assert audit() == []


def test_expire_lots_posts_what_is_left_of_each_lot_past_its_date(
    earn: Earn, consumer: User, unique: Callable[[str], str]
) -> None:
    oldest = earn(consumer, 100, timedelta(days=-2))
    older = earn(consumer, 200, timedelta(hours=-1))
    fresh = earn(consumer, 300, timedelta(days=10))
    services.spend(consumer, 30, idempotency_key=unique("spend"))  # from the oldest lot
    wallet = ledger.wallet(consumer.pk)
    expired_account = ledger.platform_account(AccountKind.EXPIRED)
    expired_before = ledger.balance_of(expired_account)
    assert ledger.balance_of(wallet) == 570
    assert remaining(oldest, older, fresh) == [70, 200, 300]

    posted = expire_lots.delay().get()

    assert posted >= 2  # this consumer's two lots (and any other lot past its date)
    assert ledger.balance_of(wallet) == 300  # 570 less the expired 70 + 200
    assert remaining(oldest, older, fresh) == [0, 0, 300]
    assert ledger.balance_of(expired_account) == expired_before + 270
    expiries = expiries_of(consumer)
    assert [t.metadata["lot"] for t in expiries] == [oldest.pk, older.pk]
    for txn, points in zip(expiries, (70, 200), strict=True):
        assert txn.merchant_id == oldest.merchant_id
        assert txn.entries.get(account=wallet).amount == -points
        assert txn.entries.aggregate(total=Sum("amount"))["total"] == 0
        assert list(txn.lot_debits.values_list("points", flat=True)) == [points]

    # Running it again posts nothing more.
    transactions = Transaction.objects.count()
    assert expire_lots() == 0
    assert Transaction.objects.count() == transactions
    assert ledger.balance_of(wallet) == 300
    assert audit() == []


def test_expire_lot_waits_for_the_date(earn: Earn, consumer: User) -> None:
    lot = earn(consumer, 100, timedelta(days=1))
    assert services.expire_lot(lot.pk) is None
    assert expire_lots() == 0
    assert remaining(lot) == [100]

    txn = services.expire_lot(lot.pk, now=timezone.now() + timedelta(days=2))

    assert txn is not None and txn.kind == TransactionKind.EXPIRE
    assert remaining(lot) == [0]
    assert ledger.balance_of(ledger.wallet(consumer.pk)) == 0
    # A spent-out lot has nothing to expire.
    assert services.expire_lot(lot.pk, now=timezone.now() + timedelta(days=3)) is None
    assert audit() == []


def test_a_lot_restored_after_it_expired_expires_again(
    earn: Earn, consumer: User, unique: Callable[[str], str]
) -> None:
    lot = earn(consumer, 100, timedelta(days=-1))
    spend = services.spend(consumer, 40, idempotency_key=unique("spend"))
    expire_lots()
    assert remaining(lot) == [0]

    # A cancelled order gives back the 40 points it took — to the same, expired lot…
    services.reverse(spend, idempotency_key=unique("cancel"))
    assert remaining(lot) == [40]
    assert ledger.balance_of(ledger.wallet(consumer.pk)) == 40

    # …so the next run expires them too, under a key of its own.
    assert expire_lots() >= 1
    assert remaining(lot) == [0]
    assert ledger.balance_of(ledger.wallet(consumer.pk)) == 0
    expiries = expiries_of(consumer)
    assert len(expiries) == 2
    assert len({t.idempotency_key for t in expiries}) == 2
    assert expire_lots() == 0
    assert audit() == []


def test_spending_after_expiry_cannot_use_expired_points(
    earn: Earn, consumer: User, unique: Callable[[str], str]
) -> None:
    earn(consumer, 100, timedelta(days=-1))
    fresh = earn(consumer, 50, timedelta(days=30))
    expire_lots()
    with pytest.raises(LedgerError) as exc:
        services.spend(consumer, 51, idempotency_key=unique("spend"))
    assert exc.value.code == "INSUFFICIENT_POINTS"
    services.spend(consumer, 50, idempotency_key=unique("spend"))
    assert remaining(fresh) == [0]
    assert audit() == []
