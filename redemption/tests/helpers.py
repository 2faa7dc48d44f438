"""Rows for mall tests, made through the real services (also used by tests/test_isolation.py)."""

from __future__ import annotations

import uuid
from typing import Any

from accounts.models import User
from points import services
from redemption import services as mall
from redemption.models import Address, Category, Order, Product, ProductKind, ProductStatus
from tenants.models import Merchant


def _key(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def new_category(name: str = "茶叶 Tea") -> Category:
    return Category.objects.create(slug=_key("cat"), name=name)


def listed_product(
    category: Category,
    *,
    title: str = "安溪铁观音 Oolong",
    price: int = 100,
    stock: int = 10,
    kind: str = ProductKind.PHYSICAL,
    supplier: Merchant | None = None,
    **extra: Any,
) -> Product:
    return mall.save_product(
        Product(
            title=title,
            category=category,
            kind=kind,
            points_price=price,
            stock=stock,
            status=ProductStatus.LISTED,
            supplier=supplier,
            **extra,
        )
    )


def earn(merchant: Merchant, consumer: User, points: int) -> None:
    """``points`` into the consumer's wallet, funded and awarded by ``merchant``."""
    services.fund_with_money(
        merchant, amount_minor=points, currency="CNY", rate="100", payment_reference=_key("pay")
    )
    ref = _key("campaign")
    services.reserve(merchant, ref, points, idempotency_key=_key("reserve"))
    services.award(merchant, ref, consumer, points, idempotency_key=_key("award"))


def new_consumer() -> User:
    number = uuid.uuid4().int % 10**8
    user, _created = User.objects.get_or_create_consumer(f"+86137{number:08d}")
    return user


def new_address(consumer: User, recipient: str = "王小明") -> Address:
    return Address.objects.create(
        consumer=consumer,
        recipient=recipient,
        phone="+8613800138000",
        region="上海市 浦东新区",
        street="世纪大道 1 号",
        postal_code="200120",
    )


def placed_order(supplier: Merchant | None, *, consumer: User | None = None) -> Order:
    """A placed (not yet shipped) order for one unit of goods ``supplier`` supplies."""
    consumer = consumer or new_consumer()
    product = listed_product(new_category(), price=10, stock=5, supplier=supplier)
    earn(supplier or Merchant.objects.get(slug="acme"), consumer, 10)
    return mall.redeem(
        consumer, product.pk, 1, idempotency_key=_key("k"), address_id=new_address(consumer).pk
    ).order
