"""Faults with real processes: the database connection cut mid-request, Redis gone.

- **Connection cut mid-claim / mid-redeem.** Requests go through the real WSGI
  handler in this process (werkzeug's client: Django's request signals run, so a
  broken connection is closed at the end of the request as in production). The claim
  is one statement (decision 0137): another session holds the merchant's reserve
  buckets, so the claim's statement takes the code, posts the transaction and waits
  at the bucket's balance; ``pg_terminate_backend`` then ends its backend mid-statement.
  The redeem is one statement too (decision 0151): another session holds the product
  row, so the redeem's statement debits the wallet, inserts the order and waits at the
  stock; its backend is ended the same way. The answer
  must be 503 ``SERVICE_UNAVAILABLE``, nothing of the request may remain,
  ``audit()`` must be clean, and retrying with the same idempotency key must
  succeed exactly once.
- **Redis stopped.** A ``redis-server`` of the test's own on a free port (never
  the machine's shared one) is the cache, rate limiter and broker; it is killed
  and the APIs are called: claims fail closed with ``SERVICE_UNAVAILABLE`` (their
  guessing limits live in Redis), sign-in codes fail closed with the same code;
  nothing moves; after Redis is back the same requests work.

``tests/test_pg_restart.py`` restarts a private PostgreSQL under load.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.core.cache import caches
from django.test import override_settings
from django_tenants.utils import tenant_context
from graphql_relay import to_global_id
from werkzeug.test import Client as WsgiClient

from accounts import tokens
from accounts.models import User
from campaigns.models import Code
from config.wsgi import application
from core.db import connection
from frontend.pages import OPERATIONS_DIR
from points import ledger
from points.audit import audit
from points.models import Transaction
from redemption import services as mall
from redemption.models import Address, Category, Order, Product, ProductStatus
from tests.fixtures.processes import free_port, running, wait_for_port
from tests.fixtures.tenants import merchant_with_codes

pytestmark = [pytest.mark.faults]


def _operation(name: str) -> str:
    return (OPERATIONS_DIR / "consumer" / f"{name}.graphql").read_text()


def call(
    name: str, variables: dict[str, Any], token: str | None = None
) -> tuple[int, dict[str, Any]]:
    """POST the named consumer operation through the real WSGI handler."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = WsgiClient(application).post(
        "/graphql/",
        json={"query": _operation(name), "variables": variables},
        headers=headers,
    )
    return response.status_code, response.get_json()


def _kill_backend(pid: int) -> None:
    with _admin_connection() as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone() == (True,)


def _admin_connection(autocommit: bool = True) -> psycopg.Connection[Any]:
    db = connection.settings_dict
    return psycopg.connect(
        host=db["HOST"],
        port=db["PORT"],
        user=db["USER"],
        password=db["PASSWORD"] or None,
        dbname=db["NAME"],
        autocommit=autocommit,
    )


@contextmanager
def killed_while_waiting(merchant_id: int, statement: str) -> Iterator[list[int]]:
    """Hold the merchant's reserve buckets in another session; the backend that comes to
    wait for them running ``statement`` is terminated. Yields the pids killed."""
    with killed_while_held(
        "SELECT id FROM points_account WHERE kind = 'campaign_reserve' AND merchant_id = %s"
        " FOR UPDATE",
        [merchant_id],
        statement,
    ) as killed:
        yield killed


@contextmanager
def killed_while_held(lock: str, params: list[Any], statement: str) -> Iterator[list[int]]:
    """Hold the rows ``lock`` locks in another session; the backend that comes to wait
    for them running ``statement`` is terminated. Yields the pids killed."""
    killed: list[int] = []
    holder = _admin_connection(autocommit=False)
    holder.execute(lock, params)

    def kill_the_waiter() -> None:
        deadline = time.monotonic() + 20
        with _admin_connection() as admin:
            while time.monotonic() < deadline:
                row = admin.execute(
                    "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    " AND query LIKE %s",
                    [f"%{statement}%"],
                ).fetchone()
                if row is not None:
                    admin.execute("SELECT pg_terminate_backend(%s)", [row[0]])
                    killed.append(row[0])
                    return
                time.sleep(0.02)

    killer = threading.Thread(target=kill_the_waiter)
    killer.start()
    try:
        yield killed
    finally:
        killer.join()
        holder.rollback()
        holder.close()


def _consumer(new_phone: Callable[[], str]) -> tuple[User, str]:
    user, _created = User.objects.get_or_create_consumer(new_phone())
    return user, tokens.issue(user).access_token


def _wallet(user: User) -> int:
    return ledger.balance_of(ledger.wallet(user.pk))


def test_connection_cut_mid_claim_leaves_nothing_and_the_retry_claims_once(
    committed_db: None, unique: Callable[[str], str], new_phone: Callable[[], str]
) -> None:
    merchant, (code, _other) = merchant_with_codes(unique, size=2, points=100)
    consumer, token = _consumer(new_phone)
    variables = {"code": code, "idempotencyKey": unique("claim")}

    # Mid-statement: the code taken and the transaction inserted, waiting to move the
    # reserve's balance, before the claim row is written and the statement commits.
    with killed_while_waiting(merchant.pk, "campaigns_claim_code") as killed:
        status, body = call("ClaimCode", variables, token)
    assert len(killed) == 1
    assert status == 503, body
    assert body["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert body["data"]["claimCode"] is None

    # Nothing half-done: the code is unused, no award, no points.
    connection.close()  # this thread's connection was the one cut
    with tenant_context(merchant):
        assert Code.objects.get(code=code).claimed_at is None
    assert not Transaction.objects.filter(idempotency_key=f"claim:{merchant.pk}:{code}").exists()
    assert _wallet(consumer) == 0
    assert audit() == []

    # The phone retries with the same key: claimed once, then replayed.
    for replayed in (False, True):
        status, body = call("ClaimCode", variables, token)
        assert status == 200, body
        payload = body["data"]["claimCode"]
        assert (payload["errors"], payload["balance"], payload["replayed"]) == ([], 100, replayed)
    assert _wallet(consumer) == 100
    assert audit() == []


def test_connection_cut_mid_redeem_leaves_nothing_and_the_retry_redeems_once(
    committed_db: None, unique: Callable[[str], str], new_phone: Callable[[], str]
) -> None:
    _merchant, (code, _other) = merchant_with_codes(unique, size=2, points=100)
    consumer, token = _consumer(new_phone)
    status, body = call("ClaimCode", {"code": code, "idempotencyKey": unique("c")}, token)
    assert body["data"]["claimCode"]["balance"] == 100, body
    product = mall.save_product(
        Product(
            title="Oolong",
            category=Category.objects.create(slug=unique("cat"), name="Tea"),
            points_price=30,
            stock=5,
            status=ProductStatus.LISTED,
        )
    )
    address = Address.objects.create(
        consumer=consumer,
        recipient="李四",
        phone="13800138000",
        region="杭州",
        street="西湖路 1 号",
    )
    variables = {
        "productId": to_global_id("Product", product.pk),
        "quantity": 2,
        "addressId": to_global_id("Address", address.pk),
        "idempotencyKey": unique("redeem"),
    }

    # Mid-statement (decision 0151): the wallet debited and the order inserted, waiting
    # for the product row another session holds, before the stock and the commit.
    with killed_while_held(
        "SELECT id FROM redemption_product WHERE id = %s FOR NO KEY UPDATE",
        [product.pk],
        "redemption_redeem",
    ) as killed:
        status, body = call("Redeem", variables, token)
    assert len(killed) == 1
    assert status == 503, body
    assert body["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"

    connection.close()
    assert _wallet(consumer) == 100
    assert not Order.objects.filter(consumer=consumer).exists()
    assert Product.objects.get(pk=product.pk).stock == 5
    assert audit() == []

    for replayed in (False, True):
        status, body = call("Redeem", variables, token)
        assert status == 200, body
        payload = body["data"]["redeem"]
        assert (payload["errors"], payload["balance"], payload["replayed"]) == ([], 40, replayed)
    assert Order.objects.filter(consumer=consumer).count() == 1
    assert Product.objects.get(pk=product.pk).stock == 3
    assert _wallet(consumer) == 40
    assert audit() == []


# --- Redis stopped ------------------------------------------------------------------


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[Callable[[], None]]:
    """A redis-server of this test's own; yields a function that kills it (SIGKILL)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    log = tmp_path / "redis.log"
    command = [binary, "--port", str(port), "--bind", "127.0.0.1"]
    command += ["--save", "", "--appendonly", "no"]  # nothing on disk
    caches_setting = {
        "default": {
            "BACKEND": "core.cache.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": "faults",
            # A stopped Redis refuses at once; one that hangs must not hang requests.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    with running(command, log=log, cwd=tmp_path, stop_timeout=10) as process:
        wait_for_port(port, process, log, timeout=20)
        with override_settings(CACHES=caches_setting, CELERY_BROKER_URL=url):
            assert caches["default"].get("probe") is None  # reachable before the fault
            yield process.kill


def test_redis_stopped_claims_and_sign_in_codes_fail_closed_then_recover(
    committed_db: None,
    unique: Callable[[str], str],
    new_phone: Callable[[], str],
    private_redis: Callable[[], None],
) -> None:
    merchant, (code, _other) = merchant_with_codes(unique, size=2, points=100)
    consumer, token = _consumer(new_phone)
    phone = new_phone()

    private_redis()  # Redis dies
    time.sleep(0.2)
    status, body = call("ClaimCode", {"code": code, "idempotencyKey": unique("k")}, token)
    assert status == 200, body
    assert [e["code"] for e in body["data"]["claimCode"]["errors"]] == ["SERVICE_UNAVAILABLE"]
    status, body = call("RequestSignInCode", {"phone": phone})
    assert status == 200, body
    assert [e["code"] for e in body["data"]["requestSignInCode"]["errors"]] == [
        "SERVICE_UNAVAILABLE"
    ]
    status, body = call("SignInWithCode", {"phone": phone, "code": "000000"})
    assert status == 200, body
    errors = body["data"]["signInWithCode"]["errors"]
    assert [e["code"] for e in errors] == ["SERVICE_UNAVAILABLE"]  # fail closed, not OTP_INVALID
    # Nothing moved.
    with tenant_context(merchant):
        assert Code.objects.get(code=code).claimed_at is None
    assert _wallet(consumer) == 0
    assert audit() == []


def test_redis_back_claims_work_again(
    committed_db: None,
    unique: Callable[[str], str],
    new_phone: Callable[[], str],
    private_redis: Callable[[], None],
) -> None:
    """The counterpart: with the private Redis up, the same calls succeed."""
    _merchant, (code, _other) = merchant_with_codes(unique, size=2, points=100)
    _consumer_user, token = _consumer(new_phone)
    status, body = call("ClaimCode", {"code": code, "idempotencyKey": unique("k")}, token)
    assert status == 200 and body["data"]["claimCode"]["errors"] == [], body
    assert body["data"]["claimCode"]["balance"] == 100
    status, body = call("RequestSignInCode", {"phone": new_phone()})
    assert status == 200 and body["data"]["requestSignInCode"]["errors"] == [], body
