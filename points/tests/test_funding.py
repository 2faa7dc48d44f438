"""Funding a merchant's budget with money or consigned goods."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from points import ledger, services
from points.audit import audit
from points.errors import LedgerError
from points.models import (
    AccountKind,
    Entry,
    Funding,
    FundingSource,
    Transaction,
    TransactionKind,
)
from tenants.models import Merchant
from tests.fixtures.tenants import Tenants


@pytest.fixture
def acme(db: None, tenants: Tenants) -> Merchant:
    return tenants.acme


def counts() -> tuple[int, int, int]:
    return Transaction.objects.count(), Entry.objects.count(), Funding.objects.count()


def budget_of(merchant: Merchant) -> int:
    return ledger.balance_of(ledger.merchant_budget(merchant.pk))


@pytest.mark.parametrize(
    "amount_minor, currency, rate, points",
    [
        (10_000, "CNY", "100", 10_000),  # 100.00 yuan at 100 points per yuan
        (12_345, "USD", "1", 123),  # 123.45 dollars at 1 point per dollar: rounded down
        (999, "CNY", "1.5", 14),  # 9.99 yuan at 1.5 is 14.985
        (1_000, "JPY", "2.5", 2_500),  # yen have no minor unit
        (1, "EUR", Decimal("100"), 1),
        (10**13, "CNY", "0.0001", 10_000_000),  # the largest amount, the smallest rate
    ],
)
def test_points_for_money(amount_minor: int, currency: str, rate: str, points: int) -> None:
    assert services.points_for_money(amount_minor, currency, rate) == points


def test_money_funding_credits_the_budget(
    acme: Merchant, tenants: Tenants, unique: Callable[[str], str]
) -> None:
    issuance = ledger.platform_account(AccountKind.ISSUANCE)
    issued_before, budget_before = ledger.balance_of(issuance), budget_of(acme)
    reference = unique("pay")

    funding = services.fund_with_money(
        acme,
        amount_minor=50_000,
        currency="CNY",
        rate="10.5",
        payment_reference=f"  {reference} ",
        recorded_by=tenants.acme_owner,
    )

    funding.refresh_from_db()
    assert (funding.source, funding.amount_minor, funding.currency) == ("money", 50_000, "CNY")
    assert (funding.rate, funding.points, funding.reference) == (Decimal("10.5"), 5_250, reference)
    assert funding.recorded_by_id == tenants.acme_owner.pk
    assert funding.merchant_id == acme.pk
    txn = funding.transaction
    assert txn.kind == TransactionKind.FUND_MONEY
    assert txn.merchant_id == acme.pk
    assert txn.metadata["reference"] == reference
    assert budget_of(acme) == budget_before + 5_250
    assert ledger.balance_of(issuance) == issued_before - 5_250
    assert audit() == []


def test_goods_funding_credits_the_budget(acme: Merchant, unique: Callable[[str], str]) -> None:
    before = budget_of(acme)
    funding = services.fund_with_goods(
        acme,
        value_minor=80_000,
        currency="CNY",
        rate="100",
        receipt_reference=unique("receipt"),
        description="200 tins of tea for the mall",
    )
    assert funding.source == FundingSource.GOODS
    assert funding.transaction.kind == TransactionKind.FUND_GOODS
    assert funding.description == "200 tins of tea for the mall"
    assert budget_of(acme) == before + 80_000


def test_a_retried_payment_reference_credits_once(
    acme: Merchant, unique: Callable[[str], str]
) -> None:
    reference = unique("pay")
    before = budget_of(acme)
    first = services.fund_with_money(
        acme, amount_minor=1_000, currency="CNY", rate="100", payment_reference=reference
    )
    after_first = counts()

    again = services.fund_with_money(
        acme, amount_minor=1_000, currency="CNY", rate="100", payment_reference=reference
    )

    assert again.pk == first.pk
    assert again.transaction_id == first.transaction_id
    assert counts() == after_first
    assert budget_of(acme) == before + 1_000


def test_the_same_reference_for_money_and_for_goods_are_different_fundings(
    acme: Merchant, unique: Callable[[str], str]
) -> None:
    reference = unique("ref")
    money = services.fund_with_money(
        acme, amount_minor=100, currency="CNY", rate="100", payment_reference=reference
    )
    goods = services.fund_with_goods(
        acme, value_minor=100, currency="CNY", rate="100", receipt_reference=reference
    )
    assert money.pk != goods.pk


@pytest.mark.parametrize(
    "change",
    [{"amount_minor": 2_000}, {"rate": "50"}, {"currency": "USD"}],
    ids=["amount", "rate", "currency"],
)
def test_a_reference_reused_for_another_payment_is_refused(
    acme: Merchant, unique: Callable[[str], str], change: dict[str, Any]
) -> None:
    reference = unique("pay")
    request: dict[str, Any] = {"amount_minor": 1_000, "currency": "CNY", "rate": "100"}
    services.fund_with_money(acme, payment_reference=reference, **request)
    before, budget = counts(), budget_of(acme)

    with pytest.raises(LedgerError) as exc:
        services.fund_with_money(acme, payment_reference=reference, **{**request, **change})

    assert exc.value.code == "IDEMPOTENCY_CONFLICT"
    assert counts() == before
    assert budget_of(acme) == budget


def test_a_reference_belongs_to_one_merchant(
    acme: Merchant, tenants: Tenants, unique: Callable[[str], str]
) -> None:
    reference = unique("pay")
    services.fund_with_money(
        acme, amount_minor=100, currency="CNY", rate="100", payment_reference=reference
    )
    before, beta_budget = counts(), budget_of(tenants.beta)
    with pytest.raises(LedgerError) as exc:
        services.fund_with_money(
            tenants.beta, amount_minor=100, currency="CNY", rate="100", payment_reference=reference
        )
    assert exc.value.code == "IDEMPOTENCY_CONFLICT"
    assert counts() == before
    assert budget_of(tenants.beta) == beta_budget


GOOD: dict[str, Any] = {
    "amount_minor": 1_000,
    "currency": "CNY",
    "rate": "100",
    "payment_reference": "ok",
}


@pytest.mark.parametrize(
    "change, code, field",
    [
        ({"amount_minor": 0}, "INVALID_AMOUNT", "amount"),
        ({"amount_minor": -100}, "INVALID_AMOUNT", "amount"),
        ({"amount_minor": 10**13 + 1}, "INVALID_AMOUNT", "amount"),
        ({"amount_minor": 2**63}, "INVALID_AMOUNT", "amount"),
        ({"amount_minor": 10**13}, "INVALID_AMOUNT", "amount"),  # 10¹³ points is too many
        ({"amount_minor": 10.5}, "INVALID_AMOUNT", "amount"),
        ({"amount_minor": "1000"}, "INVALID_AMOUNT", "amount"),
        ({"amount_minor": True}, "INVALID_AMOUNT", "amount"),
        ({"amount_minor": 1, "rate": "0.5"}, "INVALID_AMOUNT", "amount"),  # rounds to 0 points
        ({"currency": "XXX"}, "INVALID_CURRENCY", "currency"),
        ({"currency": "cny"}, "INVALID_CURRENCY", "currency"),
        ({"currency": ""}, "INVALID_CURRENCY", "currency"),
        ({"currency": None}, "INVALID_CURRENCY", "currency"),
        ({"rate": "0"}, "INVALID_RATE", "rate"),
        ({"rate": "-1"}, "INVALID_RATE", "rate"),
        ({"rate": "abc"}, "INVALID_RATE", "rate"),
        ({"rate": "NaN"}, "INVALID_RATE", "rate"),
        ({"rate": "sNaN"}, "INVALID_RATE", "rate"),
        ({"rate": "Infinity"}, "INVALID_RATE", "rate"),
        ({"rate": "0.00001"}, "INVALID_RATE", "rate"),  # more than 4 decimals
        ({"rate": "1000001"}, "INVALID_RATE", "rate"),
        ({"rate": 1e400}, "INVALID_RATE", "rate"),
        ({"payment_reference": ""}, "INVALID_REFERENCE", "reference"),
        ({"payment_reference": "   "}, "INVALID_REFERENCE", "reference"),
        ({"payment_reference": None}, "INVALID_REFERENCE", "reference"),
        ({"payment_reference": "x" * 101}, "INVALID_REFERENCE", "reference"),
    ],
)
def test_bad_funding_is_refused_and_changes_nothing(
    acme: Merchant, change: dict[str, Any], code: str, field: str
) -> None:
    before, budget = counts(), budget_of(acme)
    with pytest.raises(LedgerError) as exc:
        services.fund_with_money(acme, **{**GOOD, **change})
    assert exc.value.code == code
    assert exc.value.field == field
    assert counts() == before
    assert budget_of(acme) == budget
    assert not Funding.objects.filter(reference="ok").exists()
