"""The ledger: balanced postings, idempotency, refusals that change nothing, reversals,
and history that the database refuses to edit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any, Protocol

import pytest
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from accounts.models import User
from core.db import connection
from points import ledger, services
from points.audit import audit
from points.errors import LedgerError
from points.ledger import Posting
from points.models import (
    Account,
    AccountKind,
    Entry,
    Funding,
    Lot,
    LotDebit,
    Transaction,
    TransactionKind,
)
from tenants.models import Merchant
from tests.fixtures.tenants import Tenants

CAMPAIGN = "spring"
Unique = Callable[[str], str]
Fund = Callable[[Merchant, int], Funding]


class Earn(Protocol):
    def __call__(
        self, consumer: User, points: int, expires_in: timedelta | None = None
    ) -> Transaction: ...


BAD_AMOUNTS = [0, -1, -500, 10**13, 2**63, 1.5, 10.0, "10", None, True, False, Decimal("10")]


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in (Transaction, Entry, Lot, LotDebit)}


def balances(*accounts: Account) -> list[int]:
    return [ledger.balance_of(account) for account in accounts]


def refused(code: str, call: Callable[[], object]) -> LedgerError:
    """Run ``call``, expect ``LedgerError(code)``, and check that no ledger row appeared."""
    before = counts()
    with pytest.raises(LedgerError) as exc:
        call()
    assert exc.value.code == code, exc.value
    assert counts() == before
    return exc.value


@pytest.fixture
def acme(tenants: Tenants) -> Merchant:
    return tenants.acme


@pytest.fixture
def beta(tenants: Tenants) -> Merchant:
    return tenants.beta


@pytest.fixture
def fund(db: None, unique: Unique) -> Fund:
    def fund(merchant: Merchant, points: int) -> Funding:
        # 1 fen at 100 points per yuan is one point.
        return services.fund_with_money(
            merchant,
            amount_minor=points,
            currency="CNY",
            rate="100",
            payment_reference=unique("pay"),
        )

    return fund


@pytest.fixture
def earn(acme: Merchant, fund: Fund, unique: Unique) -> Earn:
    """Award ``points`` to a consumer from acme's campaign (funding and reserving first)."""

    def earn(consumer: User, points: int, expires_in: timedelta | None = None) -> Transaction:
        fund(acme, points)
        services.reserve(acme, CAMPAIGN, points, idempotency_key=unique("reserve"))
        txn = services.award(acme, CAMPAIGN, consumer, points, idempotency_key=unique("award"))
        if expires_in is not None:
            # Lots are not ledger history: their dates may be set directly.
            Lot.objects.filter(source=txn).update(expires_at=timezone.now() + expires_in)
        return txn

    return earn


# --- Posting ------------------------------------------------------------------------


def test_points_flow_from_funding_to_the_mall(
    acme: Merchant, fund: Fund, consumer: User, unique: Unique
) -> None:
    budget = ledger.merchant_budget(acme.pk)
    reserve = ledger.campaign_reserve(acme.pk, CAMPAIGN)
    wallet = ledger.wallet(consumer.pk)
    issuance = ledger.platform_account(AccountKind.ISSUANCE)
    mall = ledger.platform_account(AccountKind.MALL)
    start = balances(budget, reserve, wallet, issuance, mall)

    funding = fund(acme, 10_000)
    assert funding.points == 10_000
    services.reserve(acme, CAMPAIGN, 3_000, idempotency_key=unique("reserve"))
    award = services.award(acme, CAMPAIGN, consumer, 500, idempotency_key=unique("award"))
    spend = services.spend(consumer, 200, idempotency_key=unique("spend"))

    end = balances(budget, reserve, wallet, issuance, mall)
    deltas = [b - s for b, s in zip(end, start, strict=True)]
    assert deltas == [7_000, 2_500, 300, -10_000, 200]
    assert sum(deltas) == 0

    assert award.kind == TransactionKind.AWARD
    assert (award.merchant_id, award.consumer_id) == (acme.pk, consumer.pk)
    assert sorted(award.entries.values_list("amount", flat=True)) == [-500, 500]
    assert award.entries.get(amount=500).consumer_id == consumer.pk
    lot = Lot.objects.get(source=award)
    assert (lot.points, lot.remaining, lot.merchant_id) == (500, 300, acme.pk)
    assert lot.expires_at == award.created_at + timedelta(days=acme.points_expiry_days)
    assert spend.kind == TransactionKind.REDEEM
    assert list(LotDebit.objects.filter(transaction=spend).values_list("lot", "points")) == [
        (lot.pk, 200)
    ]
    for txn in (funding.transaction, award, spend):
        assert txn.entries.aggregate(total=Sum("amount"))["total"] == 0
    assert audit() == []


def test_a_retried_key_returns_the_first_transaction(
    acme: Merchant, beta: Merchant, fund: Fund
) -> None:
    fund(acme, 1_000)
    source, target = ledger.merchant_budget(acme.pk), ledger.merchant_budget(beta.pk)
    start = balances(source, target)

    first = services.transfer(source, target, 300, idempotency_key="t-retry", memo="move")
    before = counts()
    again = services.transfer(source, target, 300, idempotency_key="t-retry", memo="move")

    assert again.pk == first.pk
    assert (first.replayed, again.replayed) == (False, True)
    assert counts() == before
    assert balances(source, target) == [start[0] - 300, start[1] + 300]


@pytest.mark.parametrize(
    "change",
    [
        {"points": 301},
        {"memo": "something else"},
        {"swap": True},
    ],
)
def test_a_reused_key_with_another_request_is_refused(
    acme: Merchant, beta: Merchant, fund: Fund, change: dict[str, Any]
) -> None:
    fund(acme, 1_000)
    fund(beta, 1_000)
    source, target = ledger.merchant_budget(acme.pk), ledger.merchant_budget(beta.pk)
    services.transfer(source, target, 300, idempotency_key="t-conflict", memo="move")
    start = balances(source, target)
    if change.get("swap"):
        source, target = target, source

    error = refused(
        "IDEMPOTENCY_CONFLICT",
        lambda: services.transfer(
            source,
            target,
            change.get("points", 300),
            idempotency_key="t-conflict",
            memo=change.get("memo", "move"),
        ),
    )
    assert error.field == "idempotencyKey"
    assert balances(ledger.merchant_budget(acme.pk), ledger.merchant_budget(beta.pk)) == start


def test_a_key_used_by_another_kind_of_operation_is_refused(
    acme: Merchant, beta: Merchant, fund: Fund
) -> None:
    fund(acme, 1_000)
    source, target = ledger.merchant_budget(acme.pk), ledger.merchant_budget(beta.pk)
    services.transfer(source, target, 100, idempotency_key="shared-key")
    refused(
        "IDEMPOTENCY_CONFLICT",
        lambda: services.reserve(acme, CAMPAIGN, 100, idempotency_key="shared-key"),
    )


# --- Refusals change nothing ----------------------------------------------------------


@pytest.mark.parametrize("amount", BAD_AMOUNTS, ids=repr)
def test_bad_amounts_are_refused_everywhere(
    acme: Merchant,
    beta: Merchant,
    fund: Fund,
    earn: Earn,
    consumer: User,
    amount: Any,  # deliberately anything: the ledger refuses what is not a points amount
) -> None:
    fund(acme, 1_000)
    earn(consumer, 100)
    services.reserve(acme, CAMPAIGN, 500, idempotency_key="reserve-bad-amounts")
    accounts = [
        ledger.merchant_budget(acme.pk),
        ledger.merchant_budget(beta.pk),
        ledger.campaign_reserve(acme.pk, CAMPAIGN),
        ledger.wallet(consumer.pk),
    ]
    start = balances(*accounts)
    source, target = accounts[0], accounts[1]
    calls = {
        "transfer": lambda: services.transfer(source, target, amount, idempotency_key="k1"),
        "reserve": lambda: services.reserve(acme, CAMPAIGN, amount, idempotency_key="k2"),
        "release": lambda: services.release(acme, CAMPAIGN, amount, idempotency_key="k3"),
        "award": lambda: services.award(acme, CAMPAIGN, consumer, amount, idempotency_key="k4"),
        "spend": lambda: services.spend(consumer, amount, idempotency_key="k5"),
    }
    for name, call in calls.items():
        error = refused("INVALID_AMOUNT", call)
        assert error.field == "amount", name
    assert balances(*accounts) == start


@pytest.mark.parametrize(
    "postings, key, code",
    [
        ([2**63, -(2**63)], "k", "INVALID_AMOUNT"),
        ([10**13, -(10**13)], "k", "INVALID_AMOUNT"),
        ([True, -1], "k", "INVALID_AMOUNT"),
        ([1.5, -1.5], "k", "INVALID_AMOUNT"),
        ([0, 0], "k", "INVALID_AMOUNT"),
        ([100, -99], "k", "UNBALANCED"),
        ([100], "k", "UNBALANCED"),
        ([100, -100], "", "INVALID_IDEMPOTENCY_KEY"),
        ([100, -100], "k" * 201, "INVALID_IDEMPOTENCY_KEY"),
    ],
)
def test_post_refuses_malformed_postings(
    acme: Merchant, beta: Merchant, fund: Fund, postings: list[Any], key: str, code: str
) -> None:
    fund(acme, 1_000)
    accounts = [ledger.merchant_budget(beta.pk), ledger.merchant_budget(acme.pk)]
    start = balances(*accounts)
    refused(
        code,
        lambda: ledger.post(
            TransactionKind.TRANSFER,
            key,
            [Posting(account, amount) for account, amount in zip(accounts, postings, strict=False)],
        ),
    )
    assert balances(*accounts) == start


def test_overdrafts_are_refused(
    acme: Merchant, beta: Merchant, fund: Fund, earn: Earn, consumer: User
) -> None:
    earn(consumer, 100)  # acme's budget and reserve are back to what they were
    budget, reserve = ledger.merchant_budget(acme.pk), ledger.campaign_reserve(acme.pk, CAMPAIGN)
    wallet = ledger.wallet(consumer.pk)
    fund(acme, 50)
    services.reserve(acme, CAMPAIGN, 20, idempotency_key="small-reserve")
    start = balances(budget, reserve, wallet)
    available = start[0]

    target = ledger.merchant_budget(beta.pk)
    refused(
        "INSUFFICIENT_BUDGET",
        lambda: services.transfer(budget, target, available + 1, idempotency_key="o1"),
    )
    refused(
        "INSUFFICIENT_BUDGET",
        lambda: services.reserve(acme, CAMPAIGN, available + 1, idempotency_key="o2"),
    )
    refused(
        "INSUFFICIENT_BUDGET",
        lambda: services.award(acme, CAMPAIGN, consumer, start[1] + 1, idempotency_key="o3"),
    )
    refused(
        "INSUFFICIENT_BUDGET",
        lambda: services.release(acme, CAMPAIGN, start[1] + 1, idempotency_key="o4"),
    )
    refused("INSUFFICIENT_POINTS", lambda: services.spend(consumer, 101, idempotency_key="o5"))
    assert balances(budget, reserve, wallet) == start
    # What is there can be used, to the last point.
    services.spend(consumer, 100, idempotency_key="o6")
    assert ledger.balance_of(wallet) == 0
    assert audit() == []


def test_transfers_need_two_accounts_and_never_touch_wallets(
    acme: Merchant, fund: Fund, earn: Earn, consumer: User
) -> None:
    fund(acme, 1_000)
    earn(consumer, 10)
    budget = ledger.merchant_budget(acme.pk)
    wallet = ledger.wallet(consumer.pk)
    refused("INVALID_ACCOUNT", lambda: services.transfer(budget, budget, 1, idempotency_key="a"))
    refused("INVALID_ACCOUNT", lambda: services.transfer(budget, wallet, 1, idempotency_key="b"))
    refused("INVALID_ACCOUNT", lambda: services.transfer(wallet, budget, 1, idempotency_key="c"))


def test_balance_check_constraint_backs_the_conditional_update(acme: Merchant, fund: Fund) -> None:
    """Even SQL that skips the ledger cannot drive a materialised balance below zero."""
    budget = ledger.merchant_budget(acme.pk)
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE points_account SET balance = -1 WHERE id = %s", [budget.pk])


# --- Reversals ---------------------------------------------------------------------------


def test_reversing_a_spend_restores_the_same_lots_with_their_expiry(
    earn: Earn, consumer: User, unique: Unique
) -> None:
    for days in (10, 20, 30):
        earn(consumer, 100, expires_in=timedelta(days=days))
    lots = list(Lot.objects.filter(consumer=consumer).order_by("expires_at"))
    expiries = [lot.expires_at for lot in lots]
    wallet = ledger.wallet(consumer.pk)
    mall = ledger.platform_account(AccountKind.MALL)
    mall_before = ledger.balance_of(mall)

    spend = services.spend(consumer, 150, idempotency_key=unique("spend"))
    remaining = Lot.objects.filter(consumer=consumer).order_by("expires_at")
    assert [lot.remaining for lot in remaining] == [0, 50, 100]

    reversal = services.reverse(spend, idempotency_key=unique("reverse"))

    assert reversal.kind == TransactionKind.REVERSAL
    assert reversal.reverses_id == spend.pk
    assert reversal.consumer_id == consumer.pk
    after = list(Lot.objects.filter(consumer=consumer).order_by("expires_at"))
    assert [lot.pk for lot in after] == [lot.pk for lot in lots]  # no new lot
    assert [lot.remaining for lot in after] == [100, 100, 100]
    assert [lot.expires_at for lot in after] == expiries
    assert sorted(LotDebit.objects.filter(transaction=reversal).values_list("lot", "points")) == [
        (lots[0].pk, -100),
        (lots[1].pk, -50),
    ]
    assert ledger.balance_of(wallet) == 300
    assert ledger.balance_of(mall) == mall_before
    assert audit() == []


def test_reversing_an_award_takes_the_points_back(
    acme: Merchant, earn: Earn, consumer: User, unique: Unique
) -> None:
    award = earn(consumer, 100)
    reserve = ledger.campaign_reserve(acme.pk, CAMPAIGN)
    reserve_before = ledger.balance_of(reserve)

    reversal = services.reverse(award, idempotency_key=unique("reverse"))

    assert ledger.balance_of(ledger.wallet(consumer.pk)) == 0
    assert ledger.balance_of(reserve) == reserve_before + 100
    assert Lot.objects.get(source=award).remaining == 0
    assert reversal.merchant_id == acme.pk
    assert audit() == []


def test_reversing_twice_is_refused(earn: Earn, consumer: User, unique: Unique) -> None:
    award = earn(consumer, 100)
    key = unique("reverse")
    reversal = services.reverse(award, idempotency_key=key)
    # The same request retried is the same reversal…
    assert services.reverse(award, idempotency_key=key).pk == reversal.pk
    # …but a second reversal is refused.
    refused("ALREADY_REVERSED", lambda: services.reverse(award, idempotency_key=unique("again")))
    assert ledger.balance_of(ledger.wallet(consumer.pk)) == 0


def test_reversing_an_expiry_or_a_reversal_is_refused(
    earn: Earn, consumer: User, unique: Unique
) -> None:
    award = earn(consumer, 100, expires_in=timedelta(days=-1))
    lot = Lot.objects.get(source=award)
    expiry = services.expire_lot(lot.pk)
    assert expiry is not None and expiry.kind == TransactionKind.EXPIRE
    refused("NOT_REVERSIBLE", lambda: services.reverse(expiry, idempotency_key=unique("r")))

    other = earn(consumer, 50)
    reversal = services.reverse(other, idempotency_key=unique("r"))
    refused("NOT_REVERSIBLE", lambda: services.reverse(reversal, idempotency_key=unique("r")))
    assert ledger.balance_of(ledger.wallet(consumer.pk)) == 0


def test_reversing_a_spent_award_is_refused_and_changes_nothing(
    earn: Earn, consumer: User, unique: Unique
) -> None:
    # Wallet empty again: the balance itself says no.
    award = earn(consumer, 100)
    services.spend(consumer, 100, idempotency_key=unique("spend"))
    refused("INSUFFICIENT_POINTS", lambda: services.reverse(award, idempotency_key=unique("r")))

    # Enough in the wallet, but the award's own lot is partly spent: its lot says no.
    first = earn(consumer, 100, expires_in=timedelta(days=5))
    earn(consumer, 100, expires_in=timedelta(days=50))
    services.spend(consumer, 50, idempotency_key=unique("spend"))
    wallet = ledger.wallet(consumer.pk)
    assert first.merchant_id is not None
    reserve = ledger.campaign_reserve(first.merchant_id, CAMPAIGN)
    start = balances(wallet, reserve)
    lots_before = sorted(Lot.objects.filter(consumer=consumer).values_list("pk", "remaining"))
    assert start[0] == 150

    refused("INSUFFICIENT_POINTS", lambda: services.reverse(first, idempotency_key=unique("r")))

    assert balances(wallet, reserve) == start
    assert sorted(Lot.objects.filter(consumer=consumer).values_list("pk", "remaining")) == (
        lots_before
    )
    assert not Transaction.objects.filter(reverses=first).exists()
    assert audit() == []


def test_reversing_a_transfer_needs_the_points_to_still_be_there(
    acme: Merchant, beta: Merchant, fund: Fund, unique: Unique
) -> None:
    fund(acme, 1_000)
    source, target = ledger.merchant_budget(acme.pk), ledger.merchant_budget(beta.pk)
    spare = ledger.balance_of(target)
    move = services.transfer(source, target, 400, idempotency_key=unique("t"))
    services.reserve(beta, CAMPAIGN, spare + 400, idempotency_key=unique("drain"))
    refused("INSUFFICIENT_BUDGET", lambda: services.reverse(move, idempotency_key=unique("r")))
    services.release(beta, CAMPAIGN, spare + 400, idempotency_key=unique("undrain"))
    services.reverse(move, idempotency_key=unique("r"))
    assert ledger.balance_of(target) == spare
    assert audit() == []


# --- Append-only history ------------------------------------------------------------------


@pytest.fixture
def history(earn: Earn, consumer: User, unique: Unique) -> Transaction:
    earn(consumer, 100)
    return services.spend(consumer, 40, idempotency_key=unique("spend"))


def _refused_by_trigger(change: Callable[[], object]) -> None:
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        change()


def _raw(sql: str, pk: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, [pk])


def test_entries_cannot_be_updated_or_deleted(history: Transaction) -> None:
    entry = history.entries.order_by("pk").first()
    assert entry is not None
    amount = entry.amount

    _refused_by_trigger(lambda: Entry.objects.filter(pk=entry.pk).update(amount=amount * 2))
    entry.amount = amount * 2
    _refused_by_trigger(entry.save)
    _refused_by_trigger(entry.delete)
    _refused_by_trigger(lambda: Entry.objects.filter(transaction=history).delete())

    entry.refresh_from_db()
    assert entry.amount == amount
    assert history.entries.count() == 2


def test_transactions_cannot_be_updated_or_deleted(history: Transaction) -> None:
    _refused_by_trigger(lambda: Transaction.objects.filter(pk=history.pk).update(memo="edited"))
    history.memo = "edited"
    _refused_by_trigger(history.save)
    # The ORM refuses to delete a transaction that has entries before asking the database;
    # the database refuses on its own as well.
    with pytest.raises(IntegrityError), transaction.atomic():
        history.delete()
    _refused_by_trigger(lambda: _raw("DELETE FROM points_transaction WHERE id = %s", history.pk))

    history.refresh_from_db()
    assert history.memo != "edited"
    assert history.entries.count() == 2


def test_lot_debits_cannot_be_updated_or_deleted(history: Transaction) -> None:
    debit = LotDebit.objects.get(transaction=history)
    _refused_by_trigger(lambda: LotDebit.objects.filter(pk=debit.pk).update(points=1))
    _refused_by_trigger(debit.delete)
    debit.refresh_from_db()
    assert debit.points == 40
    assert audit() == []
