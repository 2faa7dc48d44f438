"""The mall through both GraphQL APIs, the settlement download and the operator admin.

Everything goes through the full HTTP stack (Django's test client) against the real
database. Other tests commit mall rows of their own, so every listing here is scoped
to a category (or consumer, or merchant) made by the test itself.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from graphql_relay import to_global_id

from accounts.models import User
from core.db import connection
from points import ledger
from points.audit import audit
from redemption import services as mall
from redemption.models import (
    Address,
    Category,
    Consignment,
    Coupon,
    Order,
    OrderStatus,
    Product,
    ProductKind,
    ProductStatus,
)
from redemption.tests.helpers import (
    earn,
    listed_product,
    new_address,
    new_category,
    new_consumer,
    placed_order,
)
from redemption.views import SETTLEMENT_LINK
from tests.fixtures.api import Api, access_token, signed_ago
from tests.fixtures.tenants import Tenants

pytestmark = pytest.mark.django_db


def gid(type_name: str, pk: int) -> str:
    return to_global_id(type_name, pk)


def balance(consumer: User) -> int:
    return ledger.balance_of(ledger.wallet(consumer.pk))


def budget(merchant: Any) -> int:
    return ledger.balance_of(ledger.merchant_budget(merchant.pk))


def nodes(connection_data: dict[str, Any]) -> list[dict[str, Any]]:
    return [edge["node"] for edge in connection_data["edges"]]


def error_codes(result: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in result.get("errors", [])]


@pytest.fixture
def category(tenants: Tenants) -> Category:
    return new_category()


# --- Browsing ------------------------------------------------------------------------


def test_browse_filters_paginates_and_searches_chinese_titles(
    consumer_api: Api, tenants: Tenants, category: Category
) -> None:
    other_category = new_category("酒 Wine")
    oolong = listed_product(category, title="安溪铁观音乌龙茶", price=300)
    longjing = listed_product(category, title="西湖龙井绿茶 礼盒", price=200)
    puer = listed_product(category, title="云南普洱茶饼 Yunnan", price=500, supplier=tenants.acme)
    dragon = listed_product(category, title="Dragon Well gift box", price=800)
    listed_product(other_category, title="绍兴黄酒", price=300)
    hidden = [
        listed_product(category, title="下架乌龙茶", price=300),
        listed_product(category, title="过期乌龙茶", price=300),
        mall.consign(tenants.acme, title="审核中乌龙茶", category=category, points_price=300),
    ]
    Product.objects.filter(pk=hidden[0].pk).update(status=ProductStatus.DELISTED)
    Product.objects.filter(pk=hidden[1].pk).update(
        available_until=timezone.now() - timedelta(minutes=1)
    )
    upcoming = listed_product(
        category,
        title="Flash sale 秒杀 乌龙茶",
        price=100,
        available_from=timezone.now() + timedelta(days=1),
    )
    cat = gid("Category", category.pk)

    def titles(**variables: Any) -> list[str]:
        result = consumer_api.op("Products", {"category": cat, **variables})  # no sign-in
        assert "errors" not in result, result
        return [node["title"] for node in nodes(result["data"]["products"])]

    everything = [upcoming, dragon, puer, longjing, oolong]  # newest first
    assert titles() == [p.title for p in everything]

    first = consumer_api.op("Products", {"category": cat, "first": 2})["data"]["products"]
    assert [n["title"] for n in nodes(first)] == [upcoming.title, dragon.title]
    assert first["pageInfo"]["hasNextPage"] is True
    rest = titles(first=10, after=first["pageInfo"]["endCursor"])
    assert rest == [puer.title, longjing.title, oolong.title]

    assert titles(minPoints=200, maxPoints=500) == [puer.title, longjing.title, oolong.title]
    assert titles(maxPoints=199) == [upcoming.title]

    assert titles(search="乌龙") == [upcoming.title, oolong.title]
    assert titles(search="铁观音") == [oolong.title]
    assert titles(search="龙井") == [longjing.title]
    assert titles(search="绿茶 西湖") == [longjing.title]
    assert titles(search="茶") == [upcoming.title, puer.title, longjing.title, oolong.title]
    assert titles(search="普洱 yunnan") == [puer.title]
    assert titles(search="drag") == [dragon.title]
    assert titles(search="红茶") == []
    assert titles(search="乌龙", maxPoints=200) == [upcoming.title]

    product = next(
        n
        for n in nodes(consumer_api.op("Products", {"category": cat})["data"]["products"])
        if n["title"] == puer.title
    )
    assert product == {
        "id": gid("Product", puer.pk),
        "title": puer.title,
        "imageUrl": "",
        "kind": "PHYSICAL",
        "pointsPrice": 500,
        "stock": 10,
        "perConsumerLimit": None,
        "availableFrom": None,
        "availableUntil": None,
        "supplierName": "Acme Tea",
        "category": {"id": cat, "name": category.name},
    }

    categories = nodes(consumer_api.op("Categories", {"first": 100})["data"]["categories"])
    assert {"id": cat, "slug": category.slug, "name": category.name, "position": 0} in categories

    bad = consumer_api.op("Products", {"category": "not-an-id"})
    assert error_codes(bad) == ["NOT_FOUND"]


def test_product_detail_shows_listed_products_only(
    consumer_api: Api, tenants: Tenants, category: Category
) -> None:
    product = listed_product(
        category, title="安吉白茶", price=120, stock=7, per_consumer_limit=2, image_url=""
    )
    Product.objects.filter(pk=product.pk).update(
        description="明前 2024", image_url="https://x.test/a.jpg"
    )
    result = consumer_api.op("Product", {"id": gid("Product", product.pk)})
    assert result["data"]["node"] | {"createdAt": None} == {
        "id": gid("Product", product.pk),
        "title": "安吉白茶",
        "description": "明前 2024",
        "imageUrl": "https://x.test/a.jpg",
        "kind": "PHYSICAL",
        "pointsPrice": 120,
        "stock": 7,
        "perConsumerLimit": 2,
        "availableFrom": None,
        "availableUntil": None,
        "supplierName": None,
        "createdAt": None,
        "category": {
            "id": gid("Category", category.pk),
            "slug": category.slug,
            "name": category.name,
        },
    }
    in_review = mall.consign(tenants.acme, title="Review", category=category, points_price=5)
    Product.objects.filter(pk=product.pk).update(status=ProductStatus.DELISTED)
    for hidden in (product, in_review):
        assert consumer_api.op("Product", {"id": gid("Product", hidden.pk)})["data"]["node"] is None
    # The merchant type's IDs are not products of the consumer API.
    other = consumer_api.op("Product", {"id": gid("SuppliedProduct", in_review.pk)})
    assert other["data"]["node"] is None


def _products_query_count(consumer_api: Api, size: int, tenants: Tenants) -> int:
    category = new_category()
    for n in range(size):
        listed_product(category, title=f"茶 {n}", supplier=tenants.acme if n % 2 else None)
    with CaptureQueriesContext(connection) as queries:
        result = consumer_api.op(
            "Products", {"first": 100, "category": gid("Category", category.pk)}
        )
    assert len(result["data"]["products"]["edges"]) == size
    return len(queries)


def _orders_query_count(consumer_api: Api, size: int, tenants: Tenants) -> int:
    category = new_category()
    physical = listed_product(category, price=1, stock=size, supplier=tenants.acme)
    coupons = listed_product(category, price=1, stock=0, kind=ProductKind.COUPON)
    mall.upload_coupons(coupons, "\n".join(f"C{size}-{n}" for n in range(size)))
    consumer = new_consumer()
    earn(tenants.acme, consumer, size)
    address = new_address(consumer)
    for n in range(size):
        product = coupons if n % 2 else physical
        mall.redeem(consumer, product.pk, 1, idempotency_key=f"k{n}", address_id=address.pk)
    with CaptureQueriesContext(connection) as queries:
        result = consumer_api.op("Orders", {"first": 100}, token=access_token(consumer))
    orders = nodes(result["data"]["orders"])
    assert len(orders) == size
    assert sum(len(o["couponCodes"] or []) for o in orders) == size // 2
    return len(queries)


def test_lists_cost_a_constant_number_of_queries(consumer_api: Api, tenants: Tenants) -> None:
    small, large = (_products_query_count(consumer_api, n, tenants) for n in (10, 100))
    assert small == large <= 3, (small, large)
    small, large = (_orders_query_count(consumer_api, n, tenants) for n in (10, 100))
    assert small == large <= 6, (small, large)


# --- Redeem --------------------------------------------------------------------------


def _save_address(api: Api, consumer: User, **fields: Any) -> dict[str, Any]:
    variables = {
        "recipient": "李雷",
        "phone": "139 1234 5678",
        "region": "浙江省 杭州市 西湖区",
        "street": "龙井路 8 号",
        "postalCode": "310013",
        **fields,
    }
    return api.op("SaveAddress", variables, token=access_token(consumer))["data"]["saveAddress"]


def test_redeem_physical_and_coupon_goods(
    consumer_api: Api, merchant_api: Api, tenants: Tenants, consumer: User, category: Category
) -> None:
    earn(tenants.acme, consumer, 1_000)
    token = access_token(consumer)
    product = listed_product(category, title="龙井 250g", price=150, stock=5)
    address = _save_address(consumer_api, consumer)["address"]
    assert address["phone"] == "+8613912345678" and address["isDefault"] is True
    variables = {
        "productId": gid("Product", product.pk),
        "quantity": 2,
        "addressId": address["id"],
        "idempotencyKey": "redeem-1",
    }
    first = consumer_api.op("Redeem", variables, token=token)["data"]["redeem"]
    assert first["errors"] == [] and first["replayed"] is False
    assert first["balance"] == 700
    order = first["order"]
    assert order["status"] == "PLACED" and order["quantity"] == 2
    assert (order["unitPoints"], order["totalPoints"]) == (150, 300)
    assert order["couponCodes"] is None
    assert order["product"] == {
        "id": gid("Product", product.pk),
        "title": "龙井 250g",
        "kind": "PHYSICAL",
    }
    assert order["address"] == {
        "recipient": "李雷",
        "phone": "+8613912345678",
        "region": "浙江省 杭州市 西湖区",
        "street": "龙井路 8 号",
        "postalCode": "310013",
    }
    again = consumer_api.op("Redeem", variables, token=token)["data"]["redeem"]
    assert again["replayed"] is True and again["order"]["id"] == order["id"]
    assert again["balance"] == 700
    product.refresh_from_db()
    assert product.stock == 3

    # Editing the address book later does not move the parcel.
    _save_address(consumer_api, consumer, id=address["id"], street="新地址 1 号")
    orders = consumer_api.op("Orders", token=token)["data"]["orders"]
    assert nodes(orders)[0]["address"]["street"] == "龙井路 8 号"

    pool = listed_product(
        category, title="京东 E 卡 50元", price=100, stock=0, kind=ProductKind.COUPON
    )
    mall.upload_coupons(pool, "code\nJD-AAA-1\nJD-BBB-2\nJD-CCC-3\n")
    coupon = consumer_api.op(
        "Redeem",
        {"productId": gid("Product", pool.pk), "quantity": 2, "idempotencyKey": "redeem-2"},
        token=token,
    )["data"]["redeem"]
    assert coupon["errors"] == []
    assert coupon["order"]["status"] == "COMPLETED"
    assert coupon["order"]["couponCodes"] == ["JD-AAA-1", "JD-BBB-2"]
    assert coupon["order"]["address"] is None
    assert coupon["balance"] == 500
    listed = nodes(consumer_api.op("Orders", token=token)["data"]["orders"])
    assert [o["id"] for o in listed] == [coupon["order"]["id"], order["id"]]  # newest first
    assert listed[0]["couponCodes"] == ["JD-AAA-1", "JD-BBB-2"]
    completed = consumer_api.op("Orders", {"status": "COMPLETED"}, token=token)["data"]["orders"]
    assert [o["id"] for o in nodes(completed)] == [coupon["order"]["id"]]
    # Nobody else sees the codes: another consumer cannot load the order at all...
    stranger = consumer_api.query(
        "query($id: ID!) { node(id: $id) { ... on Order { couponCodes } } }",
        {"id": coupon["order"]["id"]},
        token=access_token(new_consumer()),
    )
    assert stranger["data"]["node"] is None
    # ...and the merchant API's order type has no such field.
    result = merchant_api.query(
        "query { supplierOrders(first: 1) { edges { node { couponCodes } } } }",
        token=access_token(tenants.acme_owner),
        merchant="acme",
        expect_status=400,
    )
    assert error_codes(result) == ["GRAPHQL_VALIDATION_FAILED"]
    assert audit() == []


def test_every_redeem_refusal_through_the_api_changes_nothing(
    consumer_api: Api, tenants: Tenants, consumer: User, category: Category
) -> None:
    earn(tenants.acme, consumer, 250)
    token = access_token(consumer)
    own_address = new_address(consumer)
    address = gid("Address", own_address.pk)
    someone_elses = gid("Address", new_address(new_consumer()).pk)
    limited = listed_product(category, title="Limited", price=100, stock=5, per_consumer_limit=2)
    mall.redeem(consumer, limited.pk, 2, idempotency_key="setup", address_id=own_address.pk)
    dear = listed_product(category, title="Dear", price=300)
    sold_out = listed_product(category, title="Sold out", stock=1)
    delisted = listed_product(category, title="Delisted")
    Product.objects.filter(pk=delisted.pk).update(status=ProductStatus.DELISTED)
    later = listed_product(
        category, title="Later", available_from=timezone.now() + timedelta(hours=1)
    )
    cheap = listed_product(category, title="Cheap", price=1)
    cases = [
        ("NOT_AVAILABLE", "productId", delisted, 1, address, "k1"),
        ("NOT_AVAILABLE", "productId", later, 1, address, "k2"),
        ("OUT_OF_STOCK", "productId", sold_out, 2, address, "k3"),
        ("INSUFFICIENT_POINTS", "quantity", dear, 1, address, "k4"),
        ("LIMIT_REACHED", "quantity", limited, 1, address, "k5"),
        ("ADDRESS_REQUIRED", "addressId", cheap, 1, None, "k6"),
        ("NOT_FOUND", "addressId", cheap, 1, someone_elses, "k7"),
        ("INVALID_QUANTITY", "quantity", cheap, 0, address, "k8"),
        ("INVALID_QUANTITY", "quantity", cheap, 101, address, "k9"),
        ("INVALID_IDEMPOTENCY_KEY", "idempotencyKey", cheap, 1, address, ""),
    ]
    wallet_before = balance(consumer)
    stock_before = dict(Product.objects.filter(category=category).values_list("pk", "stock"))
    orders_before = Order.objects.filter(consumer=consumer).count()
    for code, field, product, quantity, address_id, key in cases:
        variables = {
            "productId": gid("Product", product.pk),
            "quantity": quantity,
            "addressId": address_id,
            "idempotencyKey": key,
        }
        payload = consumer_api.op("Redeem", variables, token=token)["data"]["redeem"]
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, field)], (
            code,
            payload,
        )
        assert payload["order"] is None and payload["balance"] is None
    malformed = consumer_api.op(
        "Redeem",
        {"productId": "garbage", "quantity": 1, "idempotencyKey": "k10"},
        token=token,
    )["data"]["redeem"]
    assert [e["code"] for e in malformed["errors"]] == ["NOT_FOUND"]
    assert balance(consumer) == wallet_before
    assert (
        dict(Product.objects.filter(category=category).values_list("pk", "stock")) == stock_before
    )
    assert Order.objects.filter(consumer=consumer).count() == orders_before

    variables = {"productId": gid("Product", cheap.pk), "quantity": 1, "idempotencyKey": "x"}
    anonymous = consumer_api.op("Redeem", variables)["data"]["redeem"]
    assert [e["code"] for e in anonymous["errors"]] == ["UNAUTHENTICATED"]
    staff = consumer_api.op("Redeem", variables, token=access_token(tenants.acme_owner))
    assert [e["code"] for e in staff["data"]["redeem"]["errors"]] == ["PERMISSION_DENIED"]


def test_cancel_restores_points_and_stock(
    consumer_api: Api, merchant_api: Api, tenants: Tenants, consumer: User, category: Category
) -> None:
    earn(tenants.acme, consumer, 500)
    token = access_token(consumer)
    product = listed_product(category, price=200, stock=3, supplier=tenants.acme)
    address = gid("Address", new_address(consumer).pk)
    redeem = {"productId": gid("Product", product.pk), "quantity": 2, "addressId": address}
    placed = consumer_api.op("Redeem", {**redeem, "idempotencyKey": "a"}, token=token)
    order_id = placed["data"]["redeem"]["order"]["id"]
    assert balance(consumer) == 100

    stranger = consumer_api.op("CancelOrder", {"id": order_id}, token=access_token(new_consumer()))
    assert [e["code"] for e in stranger["data"]["cancelOrder"]["errors"]] == ["NOT_FOUND"]

    cancelled = consumer_api.op("CancelOrder", {"id": order_id}, token=token)["data"]["cancelOrder"]
    assert cancelled["errors"] == [] and cancelled["order"]["status"] == "CANCELLED"
    assert cancelled["order"]["cancelledAt"] is not None
    assert cancelled["balance"] == 500 == balance(consumer)
    product.refresh_from_db()
    assert product.stock == 3
    again = consumer_api.op("CancelOrder", {"id": order_id}, token=token)["data"]["cancelOrder"]
    assert [e["code"] for e in again["errors"]] == ["NOT_CANCELLABLE"]

    # Once shipped, it can no longer be cancelled.
    second = consumer_api.op("Redeem", {**redeem, "idempotencyKey": "b"}, token=token)
    order = Order.objects.filter(consumer=consumer).latest("id")
    assert second["data"]["redeem"]["order"]["id"] == gid("Order", order.pk)
    shipped = merchant_api.op(
        "ShipOrder",
        {"id": gid("SupplierOrder", order.pk), "carrier": "顺丰", "trackingNumber": "SF100"},
        token=access_token(tenants.acme_operator),
        merchant="acme",
    )
    assert shipped["data"]["shipOrder"]["errors"] == []
    late = consumer_api.op("CancelOrder", {"id": gid("Order", order.pk)}, token=token)
    assert [e["code"] for e in late["data"]["cancelOrder"]["errors"]] == ["NOT_CANCELLABLE"]
    mine = nodes(consumer_api.op("Orders", token=token)["data"]["orders"])
    assert (mine[0]["status"], mine[0]["carrier"], mine[0]["trackingNumber"]) == (
        "SHIPPED",
        "顺丰",
        "SF100",
    )
    assert audit() == []


# --- Address book and orders: each consumer sees only their own -----------------------


def test_address_book_edits_defaults_and_validation(consumer_api: Api, consumer: User) -> None:
    token = access_token(consumer)
    home = _save_address(consumer_api, consumer, recipient="家")["address"]
    office = _save_address(consumer_api, consumer, recipient="公司")["address"]
    assert (home["isDefault"], office["isDefault"]) == (True, False)
    office = _save_address(
        consumer_api, consumer, id=office["id"], recipient="公司", isDefault=True
    )
    assert office["address"]["isDefault"] is True
    book = nodes(consumer_api.op("Addresses", token=token)["data"]["addresses"])
    assert [(a["recipient"], a["isDefault"]) for a in book] == [("公司", True), ("家", False)]

    bad_phone = _save_address(consumer_api, consumer, phone="12345")
    assert [(e["code"], e["field"]) for e in bad_phone["errors"]] == [("INVALID_PHONE", "phone")]
    no_name = _save_address(consumer_api, consumer, recipient="  ")
    assert [(e["code"], e["field"]) for e in no_name["errors"]] == [
        ("INVALID_ADDRESS", "recipient")
    ]
    long_street = _save_address(consumer_api, consumer, street="路" * 301)
    assert [e["field"] for e in long_street["errors"]] == ["street"]
    assert Address.objects.filter(consumer=consumer).count() == 2

    deleted = consumer_api.op("DeleteAddress", {"id": office["address"]["id"]}, token=token)
    assert deleted["data"]["deleteAddress"] == {"deletedId": office["address"]["id"], "errors": []}
    book = nodes(consumer_api.op("Addresses", token=token)["data"]["addresses"])
    assert [(a["recipient"], a["isDefault"]) for a in book] == [("家", True)]


def test_address_book_is_private(consumer_api: Api, new_phone) -> None:
    alice, _ = User.objects.get_or_create_consumer(new_phone())
    bob, _ = User.objects.get_or_create_consumer(new_phone())
    alices = _save_address(consumer_api, alice, recipient="Alice")["address"]
    _save_address(consumer_api, bob, recipient="Bob")
    bob_token = access_token(bob)

    bobs_book = nodes(consumer_api.op("Addresses", token=bob_token)["data"]["addresses"])
    assert [a["recipient"] for a in bobs_book] == ["Bob"]
    assert "Alice" not in json.dumps(bobs_book)
    node = consumer_api.query(
        "query($id: ID!) { node(id: $id) { ... on Address { recipient } } }",
        {"id": alices["id"]},
        token=bob_token,
    )
    assert node["data"]["node"] is None
    overwrite = _save_address(consumer_api, bob, id=alices["id"], recipient="Mallory")
    assert [(e["code"], e["field"]) for e in overwrite["errors"]] == [("NOT_FOUND", "id")]
    delete = consumer_api.op("DeleteAddress", {"id": alices["id"]}, token=bob_token)
    assert [e["code"] for e in delete["data"]["deleteAddress"]["errors"]] == ["NOT_FOUND"]
    assert Address.objects.get(consumer=alice).recipient == "Alice"

    anonymous = consumer_api.op("Addresses")
    assert error_codes(anonymous) == ["UNAUTHENTICATED"]
    assert anonymous["data"]["addresses"] is None


def test_orders_are_private(consumer_api: Api, tenants: Tenants, new_phone) -> None:
    alice, _ = User.objects.get_or_create_consumer(new_phone())
    bob, _ = User.objects.get_or_create_consumer(new_phone())
    alices = placed_order(tenants.acme, consumer=alice)
    bobs = placed_order(None, consumer=bob)
    for consumer, own in ((alice, alices), (bob, bobs)):
        listed = nodes(consumer_api.op("Orders", token=access_token(consumer))["data"]["orders"])
        assert [o["id"] for o in listed] == [gid("Order", own.pk)]
    node = consumer_api.query(
        "query($id: ID!) { node(id: $id) { ... on Order { status } } }",
        {"id": gid("Order", alices.pk)},
        token=access_token(bob),
    )
    assert node["data"]["node"] is None
    assert error_codes(consumer_api.op("Orders")) == ["UNAUTHENTICATED"]


# --- Merchant API --------------------------------------------------------------------


def _as(
    api: Api, user: User, name: str, variables: dict | None = None, merchant: str = "acme"
) -> dict:
    return api.op(name, variables or {}, token=access_token(user), merchant=merchant)


def test_merchant_sees_only_orders_for_its_goods_with_masked_phones(
    merchant_api: Api, tenants: Tenants
) -> None:
    acme_order = placed_order(tenants.acme)
    beta_order = placed_order(tenants.beta)
    platform_order = placed_order(None)
    phone = acme_order.consumer.phone
    assert phone is not None

    owner_view = _as(merchant_api, tenants.acme_owner, "SupplierOrders", {"first": 100})
    ids = [o["id"] for o in nodes(owner_view["data"]["supplierOrders"])]
    assert gid("SupplierOrder", acme_order.pk) in ids
    assert gid("SupplierOrder", beta_order.pk) not in ids
    assert gid("SupplierOrder", platform_order.pk) not in ids
    mine = next(
        o
        for o in nodes(owner_view["data"]["supplierOrders"])
        if o["id"] == gid("SupplierOrder", acme_order.pk)
    )
    assert mine["consumerPhone"] == phone[:-8] + "****" + phone[-4:]
    assert phone not in json.dumps(owner_view)
    assert mine["address"]["phone"] == "+8613800138000"  # operators and above ship: in full
    assert mine["address"]["recipient"] == "王小明"

    viewer_view = _as(merchant_api, tenants.acme_viewer, "SupplierOrders", {"first": 100})
    seen = next(o for o in nodes(viewer_view["data"]["supplierOrders"]) if o["id"] == mine["id"])
    assert seen["address"]["phone"] == "+86138****8000"

    beta_view = _as(merchant_api, tenants.beta_owner, "SupplierOrders", {"first": 100}, "beta")
    beta_ids = {o["id"] for o in nodes(beta_view["data"]["supplierOrders"])}
    assert gid("SupplierOrder", beta_order.pk) in beta_ids
    assert gid("SupplierOrder", acme_order.pk) not in beta_ids

    node = "query($id: ID!) { node(id: $id) { id } }"
    for typename, pk in (
        ("SupplierOrder", acme_order.pk),
        ("SuppliedProduct", acme_order.product_id),
    ):
        own = merchant_api.query(
            node, {"id": gid(typename, pk)}, token=access_token(tenants.acme_owner), merchant="acme"
        )
        assert own["data"]["node"] == {"id": gid(typename, pk)}
        foreign = merchant_api.query(
            node, {"id": gid(typename, pk)}, token=access_token(tenants.beta_owner), merchant="beta"
        )
        assert foreign["data"]["node"] is None

    products = _as(merchant_api, tenants.beta_owner, "SuppliedProducts", {"first": 100}, "beta")
    product_ids = {p["id"] for p in nodes(products["data"]["suppliedProducts"])}
    assert gid("SuppliedProduct", beta_order.product_id) in product_ids
    assert gid("SuppliedProduct", acme_order.product_id) not in product_ids


def test_consign_then_admin_approval_credits_exactly_once(
    merchant_api: Api, consumer_api: Api, client: Client, tenants: Tenants, category: Category
) -> None:
    variables = {
        "title": "Acme 大红袍 gift tin",
        "categoryId": gid("Category", category.pk),
        "pointsPrice": 900,
        "perConsumerLimit": 1,
    }
    refused = _as(merchant_api, tenants.acme_viewer, "ConsignProduct", variables)
    assert [e["code"] for e in refused["data"]["consignProduct"]["errors"]] == ["PERMISSION_DENIED"]
    for bad, code, field in (
        ({"title": " "}, "INVALID_TITLE", "title"),
        ({"title": "x" * 201}, "INVALID_TITLE", "title"),
        ({"pointsPrice": 0}, "INVALID_AMOUNT", "pointsPrice"),
        ({"perConsumerLimit": 0}, "INVALID_LIMIT", "perConsumerLimit"),
        ({"categoryId": gid("Category", 0)}, "NOT_FOUND", "categoryId"),
    ):
        result = _as(merchant_api, tenants.acme_operator, "ConsignProduct", {**variables, **bad})
        errors = result["data"]["consignProduct"]["errors"]
        assert [(e["code"], e["field"]) for e in errors] == [(code, field)], bad
    consigned = _as(merchant_api, tenants.acme_operator, "ConsignProduct", variables)
    payload = consigned["data"]["consignProduct"]
    assert payload["errors"] == []
    assert (payload["product"]["status"], payload["product"]["stock"]) == ("IN_REVIEW", 0)
    product = Product.objects.get(title=variables["title"], category=category)
    assert product.supplier == tenants.acme and product.per_consumer_limit == 1
    listing = consumer_api.op("Products", {"category": gid("Category", category.pk)})
    assert nodes(listing["data"]["products"]) == []
    categories = _as(merchant_api, tenants.acme_viewer, "MallCategories", {"first": 100})
    assert gid("Category", category.pk) in {
        c["id"] for c in nodes(categories["data"]["mallCategories"])
    }

    superuser = User.objects.create_superuser("operator@platform.test", "pw-operator-123")
    client.force_login(superuser)
    url = f"/admin/redemption/product/{product.pk}/approve/"
    page = client.get(url)
    assert page.status_code == 200 and b"receipt_reference" in page.content
    change = client.get(f"/admin/redemption/product/{product.pk}/change/")
    assert url.encode() in change.content
    form = {
        "receipt_reference": f"WH-{product.pk}-001",
        "quantity": "40",
        "unit_value_minor": "2500",  # 25.00 CNY a tin
        "currency": "CNY",
        "rate": "10",  # 10 points per yuan: 40 x 25 x 10 = 10,000 points
    }
    before = budget(tenants.acme)
    for attempt in range(2):
        response = client.post(url, form, follow=True)
        assert response.status_code == 200
        text = [str(m) for m in response.context["messages"]]
        assert ("nothing was credited again" in text[0]) is (attempt == 1), text
    assert budget(tenants.acme) == before + 10_000
    assert Consignment.objects.filter(product=product).count() == 1
    product.refresh_from_db()
    assert (product.status, product.stock) == (ProductStatus.LISTED, 40)
    # The same receipt for other goods is refused and changes nothing.
    conflict = client.post(url, {**form, "quantity": "41"})
    assert b"IDEMPOTENCY_CONFLICT" in conflict.content
    assert budget(tenants.acme) == before + 10_000
    listing = consumer_api.op("Products", {"category": gid("Category", category.pk)})
    assert [p["title"] for p in nodes(listing["data"]["products"])] == [variables["title"]]
    supplied = _as(merchant_api, tenants.acme_viewer, "SuppliedProducts", {"status": "LISTED"})
    assert gid("SuppliedProduct", product.pk) in {
        p["id"] for p in nodes(supplied["data"]["suppliedProducts"])
    }
    # Platform goods are not consigned.
    platform = listed_product(category, title="Platform goods")
    not_consigned = client.post(f"/admin/redemption/product/{platform.pk}/approve/", form)
    assert b"NOT_CONSIGNED" in not_consigned.content
    assert audit() == []


def test_ship_and_refund_need_their_roles(merchant_api: Api, tenants: Tenants) -> None:
    order = placed_order(tenants.acme)
    consumer = order.consumer
    order_id = gid("SupplierOrder", order.pk)
    ship = {"id": order_id, "carrier": "SF Express", "trackingNumber": "SF1234567890"}

    def codes(result: dict[str, Any], field: str) -> list[str]:
        return [e["code"] for e in result["data"][field]["errors"]]

    assert codes(_as(merchant_api, tenants.acme_viewer, "ShipOrder", ship), "shipOrder") == [
        "PERMISSION_DENIED"
    ]
    foreign = _as(merchant_api, tenants.beta_owner, "ShipOrder", ship, "beta")
    assert codes(foreign, "shipOrder") == ["NOT_FOUND"]
    blank = _as(merchant_api, tenants.acme_operator, "ShipOrder", {**ship, "trackingNumber": " "})
    assert codes(blank, "shipOrder") == ["TRACKING_REQUIRED"]
    order.refresh_from_db()
    assert order.status == OrderStatus.PLACED

    shipped = _as(merchant_api, tenants.acme_operator, "ShipOrder", ship)["data"]["shipOrder"]
    assert shipped["errors"] == []
    assert (shipped["order"]["status"], shipped["order"]["trackingNumber"]) == (
        "SHIPPED",
        "SF1234567890",
    )
    twice = _as(merchant_api, tenants.acme_operator, "ShipOrder", ship)
    assert codes(twice, "shipOrder") == ["INVALID_ORDER_STATUS"]

    spent = balance(consumer)
    assert codes(
        _as(merchant_api, tenants.acme_operator, "RefundOrder", {"id": order_id}), "refundOrder"
    ) == ["PERMISSION_DENIED"]
    refunded = _as(merchant_api, tenants.acme_admin, "RefundOrder", {"id": order_id})
    assert refunded["data"]["refundOrder"] == {
        "order": {"id": order_id, "status": "REFUNDED"},
        "errors": [],
    }
    assert balance(consumer) == spent + order.total_points
    again = _as(merchant_api, tenants.acme_admin, "RefundOrder", {"id": order_id})
    assert codes(again, "refundOrder") == ["INVALID_ORDER_STATUS"]
    assert audit() == []


def test_settlement_rows_and_csv_download(
    merchant_api: Api, client: Client, tenants: Tenants, category: Category
) -> None:
    tea = listed_product(category, title="乌龙茶 Oolong", price=30, stock=50, supplier=tenants.acme)
    cup = listed_product(category, title="Tea cup", price=7, stock=50, supplier=tenants.acme)
    consumer = new_consumer()
    earn(tenants.acme, consumer, 1_000)
    address = new_address(consumer).pk
    for n, (product, quantity) in enumerate([(tea, 2), (tea, 1), (cup, 3), (tea, 5)]):
        order = mall.redeem(
            consumer, product.pk, quantity, idempotency_key=f"s{n}", address_id=address
        ).order
    mall.cancel(order, consumer)  # the last one (5 teas) does not count
    now = timezone.now()
    period = {"year": now.year, "month": now.month}

    result = _as(merchant_api, tenants.acme_viewer, "Settlement", period)["data"]["settlement"]
    rows = {row["productTitle"]: row for row in result["rows"]}
    assert rows["乌龙茶 Oolong"] == {
        "productId": gid("SuppliedProduct", tea.pk),
        "productTitle": "乌龙茶 Oolong",
        "units": 3,
        "points": 90,
    }
    assert rows["Tea cup"]["units"] == 3 and rows["Tea cup"]["points"] == 21
    assert result["totalUnits"] == sum(r["units"] for r in result["rows"])
    assert result["totalPoints"] == sum(r["points"] for r in result["rows"])

    url = result["downloadUrl"]
    assert url.startswith("http://testserver/mall/settlements/")
    response = Client().get(url)  # no session, no token: the link is the authorisation
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f"settlement-acme-{now.year:04d}-{now.month:02d}.csv" in response["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert lines[0] == ["product_id", "title", "units", "points"]
    assert [str(tea.pk), "乌龙茶 Oolong", "3", "90"] in lines
    assert len(lines) == 1 + len(result["rows"])

    beta = _as(merchant_api, tenants.beta_owner, "Settlement", period, "beta")["data"]["settlement"]
    assert "乌龙茶 Oolong" not in json.dumps(beta)

    path = url.removeprefix("http://testserver")
    token = path.split("/")[-2]
    tampered = path.replace(token, token[:-1] + ("A" if token[-1] != "A" else "B"))
    assert Client().get(tampered).status_code == 403
    assert Client().get("/mall/settlements/garbage/").status_code == 403

    old = signed_ago(SETTLEMENT_LINK, 20 * 60, tenants.acme.pk, now.year, now.month)
    expired = Client().get(f"/mall/settlements/{old}/")
    assert expired.status_code == 410 and b"expired" in expired.content

    bad = merchant_api.op(
        "Settlement",
        {"year": now.year, "month": 13},
        token=access_token(tenants.acme_owner),
        merchant="acme",
    )
    assert error_codes(bad) == ["INVALID_PERIOD"]
    anonymous = merchant_api.op("Settlement", period, merchant="acme")
    assert error_codes(anonymous) == ["UNAUTHENTICATED"]


# --- Admin ---------------------------------------------------------------------------


@pytest.fixture
def admin_client(client: Client, tenants: Tenants) -> Client:
    user = User.objects.filter(email="mall-admin@platform.test").first()
    user = user or User.objects.create_superuser("mall-admin@platform.test", "pw-admin-1234")
    client.force_login(user)
    return client


def test_admin_coupon_upload_reports_duplicate_line_numbers(
    admin_client: Client, category: Category
) -> None:
    pool = listed_product(category, title="Coffee voucher", stock=0, kind=ProductKind.COUPON)
    url = f"/admin/redemption/product/{pool.pk}/coupons/"
    assert admin_client.get(url).status_code == 200

    def upload(text: str, **kwargs: Any) -> Any:
        file = SimpleUploadedFile("codes.csv", text.encode(), content_type="text/csv")
        return admin_client.post(url, {"file": file}, **kwargs)

    refused = upload("code\nAAA\nBBB\nAAA\nCCC\nBBB\n")
    assert refused.status_code == 200
    content = refused.content.decode()
    assert "DUPLICATE_COUPON" in content
    assert "line 4 repeats line 2" in content and "line 6 repeats line 3" in content
    pool.refresh_from_db()
    assert pool.stock == 0 and not Coupon.objects.filter(product=pool).exists()

    done = upload("\ufeffcode\nAAA\nBBB\nCCC\n", follow=True)
    assert [str(m) for m in done.context["messages"]] == ["Added 3 codes; the stock is now 3."]
    again = upload("DDD\nBBB\n")
    assert "line 2 is already in the pool" in again.content.decode()
    pool.refresh_from_db()
    assert pool.stock == 3

    physical = listed_product(category, title="Kettle")
    wrong = admin_client.post(
        f"/admin/redemption/product/{physical.pk}/coupons/",
        {"file": SimpleUploadedFile("c.csv", b"AAA\n")},
    )
    assert "NOT_A_COUPON_PRODUCT" in wrong.content.decode()


def test_admin_product_edit_never_overwrites_live_stock(
    admin_client: Client, tenants: Tenants, consumer: User, category: Category
) -> None:
    product = listed_product(category, title="Old title", price=10, stock=10)
    url = f"/admin/redemption/product/{product.pk}/change/"
    page = admin_client.get(url)
    assert page.status_code == 200
    form = {
        key: value
        for key, value in page.context["adminform"].form.initial.items()
        if value is not None
    }
    form.update(
        {
            "title": "新标题 乌龙",
            "category": category.pk,
            "available_from_0": "",
            "available_from_1": "",
            "available_until_0": "",
            "available_until_1": "",
            "add_stock": "5",
        }
    )
    # A redemption lands while the operator has the form open.
    earn(tenants.acme, consumer, 30)
    mall.redeem(
        consumer, product.pk, 3, idempotency_key="meanwhile", address_id=new_address(consumer).pk
    )
    response = admin_client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:3000]
    product.refresh_from_db()
    assert product.title == "新标题 乌龙"
    assert product.stock == 10 - 3 + 5
    assert search_count(category, "乌龙") == 1

    coupon = listed_product(category, title="Voucher", stock=0, kind=ProductKind.COUPON)
    bad = admin_client.post(
        f"/admin/redemption/product/{coupon.pk}/change/",
        {**form, "title": "Voucher", "add_stock": "5"},
    )
    assert bad.status_code == 200 and b"upload codes instead" in bad.content
    coupon.refresh_from_db()
    assert coupon.stock == 0


def search_count(category: Category, text: str) -> int:
    from redemption.search import search_products

    return search_products(Product.objects.filter(category=category), text).count()


def test_admin_pages_and_order_lifecycle(
    admin_client: Client, tenants: Tenants, category: Category
) -> None:
    order = placed_order(None)
    for url in (
        "/admin/redemption/product/",
        "/admin/redemption/category/",
        "/admin/redemption/order/",
        f"/admin/redemption/order/{order.pk}/change/",
        "/admin/redemption/consignment/",
        f"/admin/redemption/order/{order.pk}/ship/",
    ):
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert order.consumer.phone is not None
        assert order.consumer.phone.encode() not in response.content, url
    shipped = admin_client.post(
        f"/admin/redemption/order/{order.pk}/ship/",
        {"carrier": "EMS", "tracking_number": "EMS42"},
    )
    assert shipped.status_code == 302
    changelist = "/admin/redemption/order/"
    for action in ("mark_delivered", "mark_completed"):
        admin_client.post(changelist, {"action": action, "_selected_action": [order.pk]})
    order.refresh_from_db()
    assert (order.status, order.tracking_number) == (OrderStatus.COMPLETED, "EMS42")
    consumer_before = balance(order.consumer)
    admin_client.post(changelist, {"action": "refund_orders", "_selected_action": [order.pk]})
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert balance(order.consumer) == consumer_before + order.total_points
