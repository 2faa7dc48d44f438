"""The mall's services against the real database: redeem, coupons, cancel, consignment."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import User
from core.errors import DomainError
from points import ledger, services
from points.audit import audit
from points.models import AccountKind, Lot
from redemption import services as mall
from redemption.models import (
    Address,
    Category,
    Consignment,
    Coupon,
    OrderStatus,
    Product,
    ProductKind,
    ProductStatus,
)
from redemption.search import search_products
from tests.fixtures.tenants import Tenants

pytestmark = pytest.mark.django_db


@pytest.fixture
def category() -> Category:
    return Category.objects.create(slug="tea", name="茶 Tea")


def _product(category: Category, *, price: int = 100, stock: int = 10, **extra) -> Product:
    return mall.save_product(
        Product(
            title=extra.pop("title", "Green tea"),
            category=category,
            kind=extra.pop("kind", ProductKind.PHYSICAL),
            points_price=price,
            stock=stock,
            status=ProductStatus.LISTED,
            **extra,
        )
    )


def _earn(
    tenants: Tenants, consumer: User, points: int, unique, expires_in_days: int = 100
) -> None:
    merchant = tenants.acme
    services.fund_with_money(
        merchant, amount_minor=points, currency="CNY", rate="100", payment_reference=unique("pay")
    )
    ref = unique("campaign")
    services.reserve(merchant, ref, points, idempotency_key=unique("reserve"))
    txn = services.award(merchant, ref, consumer, points, idempotency_key=unique("award"))
    Lot.objects.filter(source=txn).update(
        expires_at=timezone.now() + timedelta(days=expires_in_days)
    )


def _address(consumer: User) -> Address:
    return Address.objects.create(
        consumer=consumer,
        recipient="王小明",
        phone="13800138000",
        region="上海市 浦东新区",
        street="世纪大道 1 号",
    )


def _code(call) -> str:
    with pytest.raises(DomainError) as exc:
        call()
    return exc.value.code


def test_redeem_debits_oldest_points_takes_stock_and_cancel_restores_both(
    tenants: Tenants, consumer: User, category: Category, unique
) -> None:
    _earn(tenants, consumer, 150, unique, expires_in_days=10)
    _earn(tenants, consumer, 200, unique, expires_in_days=300)
    product = _product(category, price=100, stock=5)
    address = _address(consumer)
    order = mall.redeem(consumer, product.pk, 2, idempotency_key="k1", address_id=address.pk).order
    assert order.status == OrderStatus.PLACED and order.total_points == 200
    assert order.address is not None and order.address["recipient"] == "王小明"
    product.refresh_from_db()
    assert product.stock == 3
    lots = list(Lot.objects.filter(consumer=consumer).order_by("expires_at"))
    assert [lot.remaining for lot in lots] == [0, 150]  # the sooner-expiring lot went first
    assert mall.redeem(
        consumer, product.pk, 2, idempotency_key="k1", address_id=address.pk
    ).replayed

    expiries = [lot.expires_at for lot in lots]
    mall.cancel(order, consumer)
    lots = list(Lot.objects.filter(consumer=consumer).order_by("expires_at"))
    assert [lot.remaining for lot in lots] == [150, 200]
    assert [lot.expires_at for lot in lots] == expiries
    product.refresh_from_db()
    assert product.stock == 5
    assert ledger.balance_of(ledger.wallet(consumer.pk)) == 350
    assert _code(lambda: mall.cancel(order, consumer)) == "NOT_CANCELLABLE"
    assert audit() == []


def test_redeem_refusals_change_nothing(
    tenants: Tenants, consumer: User, category: Category, unique
) -> None:
    _earn(tenants, consumer, 250, unique)
    product = _product(category, price=100, stock=3, per_consumer_limit=2)
    address = _address(consumer)
    assert _code(lambda: mall.redeem(consumer, product.pk, 1, idempotency_key="a")) == (
        "ADDRESS_REQUIRED"
    )
    dear = _product(category, title="Gold tea", price=300, stock=3)
    assert (
        _code(lambda: mall.redeem(consumer, dear.pk, 1, idempotency_key="b", address_id=address.pk))
        == "INSUFFICIENT_POINTS"
    )
    mall.redeem(consumer, product.pk, 2, idempotency_key="c", address_id=address.pk)
    assert (
        _code(
            lambda: mall.redeem(consumer, product.pk, 1, idempotency_key="d", address_id=address.pk)
        )
        == "LIMIT_REACHED"
    )
    other = _product(category, title="Sold out", stock=0)
    assert (
        _code(
            lambda: mall.redeem(consumer, other.pk, 1, idempotency_key="e", address_id=address.pk)
        )
        == "OUT_OF_STOCK"
    )
    Product.objects.filter(pk=other.pk).update(
        stock=5, available_from=timezone.now() + timedelta(days=1)
    )
    assert (
        _code(
            lambda: mall.redeem(consumer, other.pk, 1, idempotency_key="f", address_id=address.pk)
        )
        == "NOT_AVAILABLE"
    )
    assert _code(lambda: mall.redeem(consumer, other.pk, 0, idempotency_key="g")) == (
        "INVALID_QUANTITY"
    )
    assert ledger.balance_of(ledger.wallet(consumer.pk)) == 50
    product.refresh_from_db()
    assert product.stock == 1
    assert audit() == []


def test_coupon_pool_upload_rejects_duplicates_with_line_numbers_and_issues_one_each(
    tenants: Tenants, consumer: User, category: Category, unique
) -> None:
    product = _product(category, kind=ProductKind.COUPON, stock=0, price=10, title="Coffee")
    with pytest.raises(DomainError) as exc:
        mall.upload_coupons(product, "code\nA1\nB2\nA1\nC3\nB2\n")
    assert exc.value.code == "DUPLICATE_COUPON"
    assert "line 4 repeats line 2" in exc.value.message
    assert "line 6 repeats line 3" in exc.value.message
    assert Coupon.objects.filter(product=product).count() == 0
    assert mall.upload_coupons(product, "A1\nB2\nC3\n") == 3
    with pytest.raises(DomainError) as exc:
        mall.upload_coupons(product, "D4\nB2\n")
    assert "line 2 is already in the pool" in exc.value.message
    product.refresh_from_db()
    assert product.stock == 3
    _earn(tenants, consumer, 20, unique)
    order = mall.redeem(consumer, product.pk, 2, idempotency_key="c1").order
    assert order.status == OrderStatus.COMPLETED
    assert sorted(order.coupons.values_list("code", flat=True)) == ["A1", "B2"]


def test_consignment_credits_the_merchant_once_even_when_approval_is_retried(
    tenants: Tenants, category: Category, unique
) -> None:
    merchant = tenants.beta
    budget = ledger.merchant_budget(merchant.pk)
    before = ledger.balance_of(budget)
    product = mall.consign(merchant, title="Oolong gift box", category=category, points_price=500)
    assert product.status == ProductStatus.IN_REVIEW
    receipt = unique("receipt")
    for _ in range(3):
        mall.approve_consignment(
            product,
            receipt_reference=receipt,
            quantity=20,
            unit_value_minor=3_000,
            currency="CNY",
            rate="10",
        )
    assert Consignment.objects.filter(product=product).count() == 1
    assert ledger.balance_of(budget) == before + 20 * 30 * 10
    product.refresh_from_db()
    assert (product.stock, product.status) == (20, ProductStatus.LISTED)


def test_search_finds_chinese_and_latin_titles(category: Category) -> None:
    tea = _product(category, title="西湖龙井绿茶 250g")
    cup = _product(category, title="Ceramic tea cup 茶杯")
    found = lambda text: set(search_products(Product.objects.all(), text))  # noqa: E731
    assert found("龙井") == {tea}
    assert found("绿茶") == {tea}
    assert found("茶") == {tea, cup}
    assert found("茶杯") == {cup}
    assert found("cer") == {cup}
    assert found("龙井 250g") == {tea}
    assert found("红茶") == set()


def test_settlement_counts_units_and_points_per_product(
    tenants: Tenants, consumer: User, category: Category, unique
) -> None:
    supplier = tenants.beta
    product = mall.consign(supplier, title="Beta cookies", category=category, points_price=30)
    mall.approve_consignment(
        product,
        receipt_reference=unique("r"),
        quantity=10,
        unit_value_minor=100,
        currency="CNY",
        rate="10",
    )
    _earn(tenants, consumer, 300, unique)
    address = _address(consumer)
    mall.redeem(consumer, product.pk, 2, idempotency_key="s1", address_id=address.pk)
    cancelled = mall.redeem(
        consumer, product.pk, 1, idempotency_key="s2", address_id=address.pk
    ).order
    mall.cancel(cancelled, consumer)
    shipped = mall.redeem(consumer, product.pk, 3, idempotency_key="s3", address_id=address.pk)
    mall.ship(shipped.order, supplier, carrier="SF", tracking_number="SF123")
    assert (
        _code(lambda: mall.ship(shipped.order, tenants.acme, carrier="SF", tracking_number="1"))
        == "NOT_FOUND"
    )
    now = timezone.now()
    rows = mall.settlement(supplier, now.year, now.month)
    assert rows == [{"product_id": product.pk, "title": "Beta cookies", "units": 5, "points": 150}]
    assert "Beta cookies,5,150" in mall.settlement_csv(supplier, now.year, now.month)


def test_reusing_a_redeem_key_for_another_request_is_refused(
    tenants: Tenants, consumer: User, category: Category, unique
) -> None:
    _earn(tenants, consumer, 500, unique)
    product = _product(category, price=100, stock=5)
    address = _address(consumer)
    mall.redeem(consumer, product.pk, 1, idempotency_key="same", address_id=address.pk)
    assert (
        _code(
            lambda: mall.redeem(
                consumer, product.pk, 2, idempotency_key="same", address_id=address.pk
            )
        )
        == "IDEMPOTENCY_CONFLICT"
    )
    assert (
        _code(
            lambda: mall.save_product(Product(title="x" * 201, category=category, points_price=1))
        )
        == "INVALID_TITLE"
    )


def test_a_redeem_reads_once_and_answers_the_balance_its_debit_left(
    tenants: Tenants, consumer: User, category: Category, unique, django_assert_max_num_queries
) -> None:
    _earn(tenants, consumer, 150, unique, expires_in_days=10)
    product = _product(category, price=100, stock=5, per_consumer_limit=1)
    address = _address(consumer)
    ledger.platform_account(AccountKind.MALL)  # exists from the mall's first redeem on
    # One read (earlier order, product, address, wallet, mall), the limit's lock and
    # count, the ledger's debit (transaction, wallet, entries, the lots' cursor, the lot,
    # the lot's debit), the order, the stock, and the savepoint the test's transaction
    # adds around it: no balance read after it, no savepoint of the posting's own.
    with django_assert_max_num_queries(14):
        redeemed = mall.redeem(consumer, product.pk, 1, idempotency_key="k", address_id=address.pk)
    assert (redeemed.balance, redeemed.replayed) == (50, False)
    replayed = mall.redeem(consumer, product.pk, 1, idempotency_key="k", address_id=address.pk)
    assert (replayed.balance, replayed.replayed, replayed.order.pk) == (50, True, redeemed.order.pk)
    assert (
        _code(
            lambda: mall.redeem(
                consumer, product.pk, 1, idempotency_key="k2", address_id=address.pk
            )
        )
        == "LIMIT_REACHED"
    )
    assert audit() == []
