"""Flash-sale safety with real concurrent transactions (threads, one connection each)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from functools import partial

import pytest

from accounts.models import User
from points import ledger, services
from points.audit import audit
from redemption import services as mall
from redemption.models import Address, Category, Coupon, Order, Product, ProductKind, ProductStatus
from tests.fixtures.concurrency import run_jobs
from tests.fixtures.tenants import Tenants


def _consumers(
    tenants: Tenants, new_phone: Callable[[], str], unique, count: int, points: int
) -> list[User]:
    merchant = tenants.acme
    services.fund_with_money(
        merchant,
        amount_minor=count * points,
        currency="CNY",
        rate="100",
        payment_reference=unique("pay"),
    )
    ref = unique("campaign")
    services.reserve(merchant, ref, count * points, idempotency_key=unique("reserve"))
    consumers = []
    for _ in range(count):
        consumer, _created = User.objects.get_or_create_consumer(new_phone())
        services.award(merchant, ref, consumer, points, idempotency_key=unique("award"))
        consumers.append(consumer)
    return consumers


def _product(unique, *, kind: str = ProductKind.PHYSICAL, stock: int, price: int) -> Product:
    category, _ = Category.objects.get_or_create(slug="flash", defaults={"name": "Flash"})
    return mall.save_product(
        Product(
            title=unique("Flash sale"),
            category=category,
            kind=kind,
            points_price=price,
            stock=stock,
            status=ProductStatus.LISTED,
        )
    )


def test_flash_sale_sells_exactly_the_stock(
    committed_db: None, tenants: Tenants, new_phone, unique
) -> None:
    consumers = _consumers(tenants, new_phone, unique, 500, points=100)
    addresses = {
        c.pk: Address.objects.create(
            consumer=c, recipient="买家", phone="13800138000", region="上海", street="1号"
        ).pk
        for c in consumers
    }
    product = _product(unique, stock=100, price=100)
    jobs: list[Callable[[], object]] = [
        partial(mall.redeem, c, product.pk, 1, idempotency_key="flash", address_id=addresses[c.pk])
        for c in consumers
    ]
    outcomes = Counter(run_jobs(jobs))
    assert outcomes == {"ok": 100, "OUT_OF_STOCK": 400}
    product.refresh_from_db()
    assert product.stock == 0
    assert Order.objects.filter(product=product).count() == 100
    winners = set(Order.objects.filter(product=product).values_list("consumer_id", flat=True))
    for consumer in consumers:
        expected = 0 if consumer.pk in winners else 100
        assert ledger.balance_of(ledger.wallet(consumer.pk)) == expected
    assert audit() == []


def test_one_consumer_cannot_overspend_with_parallel_redeems(
    committed_db: None, tenants: Tenants, new_phone, unique
) -> None:
    (consumer,) = _consumers(tenants, new_phone, unique, 1, points=300)
    address = Address.objects.create(
        consumer=consumer, recipient="A", phone="1", region="R", street="S"
    )
    product = _product(unique, stock=50, price=100)
    jobs: list[Callable[[], object]] = [
        partial(
            mall.redeem, consumer, product.pk, 1, idempotency_key=f"tap-{i}", address_id=address.pk
        )
        for i in range(10)
    ]
    outcomes = Counter(run_jobs(jobs))
    assert outcomes == {"ok": 3, "INSUFFICIENT_POINTS": 7}
    assert Order.objects.filter(product=product, consumer=consumer).count() == 3
    assert ledger.balance_of(ledger.wallet(consumer.pk)) == 0
    product.refresh_from_db()
    assert product.stock == 47
    assert audit() == []


@pytest.mark.timeout(600)
def test_each_coupon_is_issued_exactly_once(
    committed_db: None, tenants: Tenants, new_phone, unique
) -> None:
    consumers = _consumers(tenants, new_phone, unique, 1000, points=10)
    product = _product(unique, kind=ProductKind.COUPON, stock=0, price=10)
    mall.upload_coupons(product, "\n".join(f"CPN-{i:05d}" for i in range(1000)))
    jobs: list[Callable[[], object]] = [
        partial(mall.redeem, c, product.pk, 1, idempotency_key="coupon") for c in consumers
    ]
    assert Counter(run_jobs(jobs)) == {"ok": 1000}
    issued = list(Coupon.objects.filter(product=product).values_list("order_id", flat=True))
    assert len(issued) == 1000 and None not in issued and len(set(issued)) == 1000
    product.refresh_from_db()
    assert product.stock == 0
    assert audit() == []
