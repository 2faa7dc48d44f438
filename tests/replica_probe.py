"""Run by tests/test_replica.py in a process of its own, on a private primary
(DATABASE_URL) and its streaming replica (DATABASE_REPLICA_URL): seeds, then walks
core.db.replica through caught up, read-your-writes, lagging and down, printing what
it saw as one JSON line per step (``STEP {...}``). Not a test module (no ``test_``)."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import django

django.setup()

from django.db import connections  # noqa: E402
from django_tenants.utils import tenant_context  # noqa: E402

from campaigns.models import Campaign  # noqa: E402
from campaigns.scan.services import create_scan_campaign  # noqa: E402
from core.db import replica  # noqa: E402
from redemption import services as mall  # noqa: E402
from redemption.models import Category, Product  # noqa: E402
from tests.fixtures.activity import consumer, mall_product, merchant_with_activity  # noqa: E402


def step(name: str, **seen: Any) -> None:
    print("STEP " + json.dumps({"step": name, **seen}), flush=True)


def on_replica(sql: str) -> Any:
    with connections[replica.REPLICA].cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


def until(alias_wanted: str, reader: object | None, seconds: float = 20) -> str:
    deadline = time.monotonic() + seconds
    while True:
        alias = replica.read_alias(reader)
        if alias == alias_wanted or time.monotonic() > deadline:
            return alias
        time.sleep(0.1)


def stock_seen(reader: object | None, product: Product) -> tuple[str | None, int]:
    found = mall.catalog(reader=reader).get(pk=product.pk)
    return found._state.db, found.stock


def main(phase: str) -> None:
    if phase == "down":
        started = time.monotonic()
        alias = replica.read_alias(None)
        step("down", alias=alias, seconds=round(time.monotonic() - started, 2),
             again=replica.read_alias(None))  # fmt: skip
        return
    buyer = consumer()
    product = mall_product()
    # The last consumer's lots expire (merchant_with_activity): the buyer is the first.
    merchant = merchant_with_activity(
        "replica", [buyer, consumer()], product, orders=False
    ).merchant
    with tenant_context(merchant):
        create_scan_campaign(name="Only on the primary until replayed")
        campaigns = Campaign.objects.count()
    step("caught_up", alias=until(replica.REPLICA, None))

    # The replica connection follows the tenant: a merchant's schema read there.
    with tenant_context(merchant):
        step("tenant", campaigns=Campaign.objects.using(replica.REPLICA).count(),
             expected=campaigns)  # fmt: skip

    # Read-your-writes: the replica stops replaying; the buyer redeems.
    replica.CHECK_SECONDS = 3600.0  # the health seen just now stands: only the pin decides
    on_replica("SELECT pg_wal_replay_pause()")
    before = product.stock
    mall.redeem(buyer, product.pk, 1, idempotency_key="replica-redeem")
    step("pinned", buyer=stock_seen(buyer.pk, product), anonymous=stock_seen(None, product),
         before=before)  # fmt: skip
    on_replica("SELECT pg_wal_replay_resume()")
    step("replayed", buyer=until(replica.REPLICA, buyer.pk), stock=stock_seen(buyer.pk, product))

    # Lagging: replay paused, the primary writes on; within two checks reads leave it.
    replica.CHECK_SECONDS = 0.2
    on_replica("SELECT pg_wal_replay_pause()")
    for n in range(10):
        Category.objects.create(slug=f"lag-{n}", name="Lag")
        time.sleep(0.1)
    step("lagging", alias=until("default", None, seconds=5))
    on_replica("SELECT pg_wal_replay_resume()")
    step("recovered", alias=until(replica.REPLICA, None))


if __name__ == "__main__":
    main(sys.argv[1])
