"""The ledger under real concurrency: threads with their own connections, real commits.

These tests use ``committed_db`` (no rollback), so each works on rows of its own: a
freshly onboarded merchant, a new consumer, unique idempotency keys.

pytest-django creates the test database only when a selected test asks for ``db`` (or
carries the ``django_db`` mark); ``committed_db`` alone would reach the database named
in the settings. So this module has one ``db`` test, and a guard refuses to commit
anywhere but in a test database (e.g. when ``-k`` selects only committed tests).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import User
from core.db import connection
from points import ledger, services
from points.audit import audit
from points.errors import LedgerError
from points.models import Funding, Lot, Transaction
from tenants.models import Merchant
from tenants.onboarding import create_merchant
from tests.fixtures.concurrency import run_in_threads


@pytest.fixture(autouse=True)
def _test_database_only(django_db_setup: None) -> None:
    name = connection.settings_dict["NAME"]
    assert name.startswith("test_"), (
        f"refusing to commit into {name!r}: select at least one test that uses `db`"
    )


def test_the_shared_ledger_is_consistent(db: None) -> None:
    """Also makes pytest-django create the test database when only this module runs."""
    assert audit() == []


def split(results: list[tuple[str, Any]]) -> tuple[list[Any], list[Exception]]:
    assert all(status in ("ok", "error") for status, _ in results)
    return (
        [value for status, value in results if status == "ok"],
        [value for status, value in results if status == "error"],
    )


def funded_merchant(unique: Callable[[str], str], points: int) -> Merchant:
    merchant = create_merchant(slug=unique("conc"), name="Concurrency Co")
    services.fund_with_money(
        merchant,
        amount_minor=points,
        currency="CNY",
        rate="100",
        payment_reference=unique("pay"),
    )
    return merchant


def test_concurrent_transfers_never_overdraw_a_budget(committed_db: None, unique) -> None:
    source = funded_merchant(unique, 1_000)
    target = create_merchant(slug=unique("conc"), name="Receiver Co")
    source_budget = ledger.merchant_budget(source.pk)
    target_budget = ledger.merchant_budget(target.pk)
    amount, attempts, prefix = 70, 50, unique("xfer")
    affordable = 1_000 // amount  # 14

    def transfer(i: int) -> Transaction:
        return services.transfer(
            source_budget, target_budget, amount, idempotency_key=f"{prefix}:{i}"
        )

    done, failed = split(run_in_threads(attempts, transfer))

    assert len(done) == affordable
    assert len(failed) == attempts - affordable
    assert all(isinstance(e, LedgerError) and e.code == "INSUFFICIENT_BUDGET" for e in failed), [
        repr(e) for e in failed if not isinstance(e, LedgerError)
    ]
    assert ledger.balance_of(source_budget) == 1_000 - affordable * amount
    assert ledger.balance_of(target_budget) == affordable * amount
    posted = Transaction.objects.filter(idempotency_key__startswith=f"{prefix}:")
    assert sorted(posted.values_list("idempotency_key", flat=True)) == sorted(
        t.idempotency_key for t in done
    )

    # Every key fired again, all at once: the posted ones replay, the others still fail.
    again, failed_again = split(run_in_threads(attempts, transfer))
    assert sorted(t.pk for t in again) == sorted(t.pk for t in done)
    assert all(t.replayed for t in again)
    assert all(isinstance(e, LedgerError) and e.code == "INSUFFICIENT_BUDGET" for e in failed_again)
    assert posted.count() == affordable
    assert ledger.balance_of(source_budget) == 1_000 - affordable * amount
    assert ledger.balance_of(target_budget) == affordable * amount
    assert audit() == []


def test_concurrent_duplicates_of_one_key_post_once(committed_db: None, unique) -> None:
    source = funded_merchant(unique, 1_000)
    target = create_merchant(slug=unique("conc"), name="Receiver Co")
    source_budget = ledger.merchant_budget(source.pk)
    target_budget = ledger.merchant_budget(target.pk)
    key = unique("dup")

    done, failed = split(
        run_in_threads(
            20,
            lambda i: services.transfer(source_budget, target_budget, 100, idempotency_key=key),
        )
    )

    assert failed == []
    assert len({t.pk for t in done}) == 1
    assert sum(not t.replayed for t in done) == 1
    assert Transaction.objects.filter(idempotency_key=key).count() == 1
    assert ledger.balance_of(source_budget) == 900
    assert ledger.balance_of(target_budget) == 100
    assert audit() == []


def test_concurrent_spends_from_one_wallet(committed_db: None, unique, new_phone) -> None:
    merchant = funded_merchant(unique, 500)
    consumer, _created = User.objects.get_or_create_consumer(new_phone())
    services.reserve(merchant, "launch", 500, idempotency_key=unique("reserve"))
    lots = []
    for days in (50, 10, 40, 20, 30):
        award = services.award(merchant, "launch", consumer, 100, idempotency_key=unique("award"))
        Lot.objects.filter(source=award).update(expires_at=timezone.now() + timedelta(days=days))
        lots.append((days, award))
    prefix = unique("spend")

    done, failed = split(
        run_in_threads(20, lambda i: services.spend(consumer, 30, idempotency_key=f"{prefix}:{i}"))
    )

    assert len(done) == 500 // 30  # 16
    assert all(isinstance(e, LedgerError) and e.code == "INSUFFICIENT_POINTS" for e in failed)
    assert ledger.balance_of(ledger.wallet(consumer.pk)) == 20
    # 480 points spent, soonest expiry first: only the latest lot has points left.
    by_expiry = [Lot.objects.get(source=award).remaining for _days, award in sorted(lots)]
    assert by_expiry == [0, 0, 0, 0, 20]
    assert audit() == []


def test_concurrent_retries_of_one_payment_fund_once(committed_db: None, unique) -> None:
    merchant = create_merchant(slug=unique("conc"), name="Payer Co")
    reference = unique("pay")

    done, failed = split(
        run_in_threads(
            10,
            lambda i: services.fund_with_money(
                merchant,
                amount_minor=12_300,
                currency="CNY",
                rate="100",
                payment_reference=reference,
            ),
        )
    )

    assert failed == []
    assert len({f.pk for f in done}) == 1
    assert Funding.objects.filter(reference=reference).count() == 1
    assert ledger.balance_of(ledger.merchant_budget(merchant.pk)) == 12_300
    assert audit() == []


def test_expiry_racing_spends_neither_deadlocks_nor_double_counts(
    committed_db: None, unique, new_phone
) -> None:
    merchant = funded_merchant(unique, 1_000)
    consumer, _created = User.objects.get_or_create_consumer(new_phone())
    services.reserve(merchant, "race", 1_000, idempotency_key=unique("reserve"))
    expiring = []
    for days in (-2, -1, 5, 6):
        award = services.award(merchant, "race", consumer, 250, idempotency_key=unique("award"))
        Lot.objects.filter(source=award).update(expires_at=timezone.now() + timedelta(days=days))
        expiring.append(award)
    expired_lots = [Lot.objects.get(source=award).pk for award in expiring[:2]]
    prefix = unique("spend")

    def work(i: int) -> Any:
        if i < 2:
            return services.expire_lot(expired_lots[i])
        return services.spend(consumer, 100, idempotency_key=f"{prefix}:{i}")

    done, failed = split(run_in_threads(10, work))

    assert all(isinstance(e, LedgerError) and e.code == "INSUFFICIENT_POINTS" for e in failed), [
        repr(e) for e in failed
    ]
    spent = 100 * sum(1 for t in done if t is not None and t.kind == "redeem")
    expired = sum(
        -t.entries.get(account__kind="consumer_wallet").amount
        for t in done
        if t is not None and t.kind == "expire"
    )
    assert spent + expired + ledger.balance_of(ledger.wallet(consumer.pk)) == 1_000
    assert ledger.balance_of(ledger.wallet(consumer.pk)) >= 0
    assert audit() == []
