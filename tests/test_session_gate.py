"""A redeem checks an unchecked bearer's session in its own statement (decision 0343).

A consumer-API request whose session this process has not checked lately is deferred
(``accounts.tokens.defer``): the view checks it before any operation, except the one
mutation whose statement checks it itself (``Redeem``, ``accounts.tokens.gated``). These
tests hold the gate to its promises: one statement when it admits, nothing written and
the same answers as before when it refuses, and never admitting what the full check
refuses (the sweep, shown to fail on a planted gate).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from graphql_relay import to_global_id

from accounts import tokens
from accounts.errors import AuthError
from accounts.models import AuthSession, User
from accounts.session_cache import sessions
from points.models import Transaction
from redemption import services as mall
from redemption.models import Category, Order, Product, ProductKind
from redemption.tests.helpers import earn, listed_product, new_address, new_category
from tests.fixtures.api import Api, access_token
from tests.fixtures.tenants import Tenants

GATE_FILE = "accounts/sql/accounts_session_ok.sql"


@pytest.fixture
def category(db: None, tenants: Tenants) -> Category:
    return new_category()


def _redeem(
    api: Api, token: str, product: Product, *, address: int | None, key: str, **kwargs: Any
) -> dict[str, Any]:
    variables = {
        "productId": to_global_id("Product", product.pk),
        "quantity": 1,
        "addressId": None if address is None else to_global_id("Address", address),
        "idempotencyKey": key,
    }
    return api.op("Redeem", variables, token=token, **kwargs)


def _unchecked(token: str) -> str:
    """``token``, its session in no process cache (as for a bearer's first request)."""
    sessions._entries.clear()
    return token


def _wechat_consumer() -> User:
    """A consumer who signed in inside WeChat only: no phone, no email."""
    return User.objects.create(phone=None, email=None)


def test_an_unchecked_session_redeems_in_one_statement(
    consumer_api: Api, tenants: Tenants, consumer: User, category: Category
) -> None:
    earn(tenants.acme, consumer, 500)
    product = listed_product(category, price=100, stock=3)
    token = _unchecked(access_token(consumer))
    with CaptureQueriesContext(connection) as queries:
        answer = _redeem(
            consumer_api, token, product, address=new_address(consumer).pk, key="gate-1"
        )["data"]["redeem"]
    assert answer["errors"] == [] and answer["balance"] == 400
    statements = [q["sql"] for q in queries.captured_queries]
    # The session was read by the redeem's statement only, never on its own.
    assert [s for s in statements if "accounts_" in s] == [
        s for s in statements if "redemption_redeem" in s
    ]
    assert len([s for s in statements if "accounts_session_ok" in s]) == 1
    # The next request reads it (nothing kept a copy of a row the gate never returned).
    again = _redeem(consumer_api, token, product, address=None, key="gate-1")["data"]["redeem"]
    assert again["replayed"] is True


def _refuse(case: str, consumer: User, token: str) -> None:
    session = AuthSession.objects.get(pk=tokens.verify(token).session_id)
    if case == "revoked":
        tokens.revoke(session)
    elif case == "expired":
        AuthSession.objects.filter(pk=session.pk).update(expires_at=timezone.now())
    else:
        User.objects.filter(pk=consumer.pk).update(is_active=False)


@pytest.mark.parametrize(
    ("case", "code"),
    [("revoked", "SESSION_REVOKED"), ("expired", "TOKEN_EXPIRED"), ("inactive", "TOKEN_EXPIRED")],
)
def test_a_refused_session_is_answered_401_and_redeems_nothing(
    consumer_api: Api, tenants: Tenants, consumer: User, category: Category, case: str, code: str
) -> None:
    earn(tenants.acme, consumer, 500)
    product = listed_product(category, price=100, stock=3)
    address = new_address(consumer).pk
    token = access_token(consumer)
    _refuse(case, consumer, token)
    transactions = Transaction.objects.count()
    answer = _redeem(
        consumer_api, _unchecked(token), product, address=address, key="r-1", expect_status=401
    )
    assert [e["extensions"]["code"] for e in answer["errors"]] == [code]
    assert "data" not in answer
    product.refresh_from_db()
    assert product.stock == 3 and not Order.objects.filter(consumer=consumer).exists()
    assert Transaction.objects.count() == transactions


def test_what_the_gate_refuses_the_full_way_answers_as_before(
    consumer_api: Api, tenants: Tenants, category: Category, staff_token: str
) -> None:
    goods = listed_product(category, price=100, stock=3)
    coupon = listed_product(category, price=100, stock=0, kind=ProductKind.COUPON)
    mall.upload_coupons(coupon, "code\nGATE-1\n")
    # Staff (an email, no phone) may not redeem.
    answer = _redeem(consumer_api, _unchecked(staff_token), goods, address=None, key="s-1")
    assert [e["code"] for e in answer["data"]["redeem"]["errors"]] == ["PERMISSION_DENIED"]
    # A WeChat-only consumer: goods that ship need a phone; a coupon does not.
    wechat = _wechat_consumer()
    earn(tenants.acme, wechat, 500)
    token = access_token(wechat)
    answer = _redeem(consumer_api, _unchecked(token), goods, address=None, key="w-1")
    assert [e["code"] for e in answer["data"]["redeem"]["errors"]] == ["PHONE_REQUIRED"]
    answer = _redeem(consumer_api, _unchecked(token), coupon, address=None, key="w-2")
    assert answer["data"]["redeem"]["errors"] == [] and answer["data"]["redeem"]["balance"] == 400


@pytest.fixture
def staff_token(db: None, tenants: Tenants) -> str:
    return access_token(tenants.acme_owner)


def test_every_other_operation_checks_the_session_before_it_runs(
    consumer_api: Api, tenants: Tenants, consumer: User, category: Category
) -> None:
    earn(tenants.acme, consumer, 500)
    product = listed_product(category, price=100, stock=3)
    token = access_token(consumer)
    tokens.revoke(AuthSession.objects.get(pk=tokens.verify(token).session_id))
    for document in (
        "{ me { id } }",
        # Two redeems in one operation: no longer the one statement that checks.
        "mutation($p: ID!) { a: redeem(productId: $p, quantity: 1, idempotencyKey: 'a1')"
        " { replayed } b: redeem(productId: $p, quantity: 1, idempotencyKey: 'b1')"
        " { replayed } }".replace("'", '"'),
        "{ nope }",  # a document that fails validation
    ):
        answer = consumer_api.query(
            document,
            {"p": to_global_id("Product", product.pk)} if "$p" in document else None,
            token=_unchecked(token),
            expect_status=401,
        )
        assert answer["errors"][0]["extensions"]["code"] == "SESSION_REVOKED"
    product.refresh_from_db()
    assert product.stock == 3


# --- The gate never admits what the full check refuses ----------------------------------


VALID = {"revoked": False, "expired": False, "active": True, "email": None,
         "phone": "+8613800138000", "own": True}  # fmt: skip


def _states() -> Iterator[dict[str, Any]]:
    """Every combination of what the full way looks at (``own``: the token names a
    session of its user, not another's)."""
    values = ((False, True), (False, True), (True, False), (None, "x@example.com"),
              (None, "", "+8613800138000"), (True, False))  # fmt: skip
    for combination in itertools.product(*values):
        yield dict(zip(VALID, combination, strict=True))


def _sweep() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The states the gate admits, and those of them the full way would refuse."""
    admitted, violations = [], []
    now = timezone.now()
    for number, state in enumerate(_states()):
        phone = state["phone"]
        user = User.objects.create(
            email=state["email"] and f"{number}-{state['email']}",
            phone=phone and f"{phone[:-3]}{number:03d}",
            is_active=state["active"],
        )
        other = User.objects.create(phone=f"+8613900{number:06d}")
        session = AuthSession.objects.create(
            user=user if state["own"] else other,
            refresh_hash=f"gate-sweep-{number}",
            expires_at=now + timedelta(seconds=-1 if state["expired"] else 3600),
            revoked_at=now if state["revoked"] else None,
        )
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT public.accounts_session_ok(%s, %s, %s)", [session.pk, user.pk, now]
            )
            row = cursor.fetchone()
        sessions._entries.clear()
        try:
            checked, _session = tokens.check(tokens.Bearer(session.pk, user.pk))
        except AuthError:
            full = False
        else:
            # The full way's further refusals: staff; goods that ship without a phone.
            full = checked.is_consumer and bool(checked.phone)
        if row is not None and row[0]:
            admitted.append(state)
            if not full:
                violations.append(state)
        # One user at a time: a phone of "" is unique too.
        session.delete()
        User.objects.filter(pk__in=[user.pk, other.pk]).delete()
    return admitted, violations


def test_the_gate_never_admits_what_the_full_way_refuses(db: None, tenants: Tenants) -> None:
    admitted, violations = _sweep()
    assert violations == []
    # What it is for (a phone makes a consumer, an email or not): else the sweep proves
    # nothing.
    assert admitted == [VALID, {**VALID, "email": "x@example.com"}]


def test_the_sweep_fails_on_a_planted_gate(db: None, tenants: Tenants) -> None:
    """The gate without its ``is_active`` condition: the sweep reports the inactive user."""
    with open(GATE_FILE) as sql:
        planted = sql.read().replace("AND u.is_active\n", "")
    assert "u.is_active" not in planted
    with connection.cursor() as cursor:
        cursor.execute(planted)  # rolled back with the test's transaction
    _admitted, violations = _sweep()
    inactive = {**VALID, "active": False}
    assert violations == [inactive, {**inactive, "email": "x@example.com"}]
