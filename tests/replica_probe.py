"""Run by tests/test_replica.py in a process of its own, on a private primary
(DATABASE_URL) and its streaming replica (DATABASE_REPLICA_URL): seeds, then walks
core.db.replica through caught up, read-your-writes, lagging and down, printing what
it saw as one JSON line per step (``STEP {...}``). Not a test module (no ``test_``)."""

from __future__ import annotations

import json
import sys
import time
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import django

django.setup()

import psycopg  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.files.storage import default_storage  # noqa: E402
from django.db import connections  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django_tenants.utils import tenant_context  # noqa: E402

from analytics import queries  # noqa: E402
from campaigns.exports import render  # noqa: E402
from campaigns.exports.service import request_export  # noqa: E402
from campaigns.models import BatchExport, Campaign, Code, ExportStatus  # noqa: E402
from campaigns.scan.generation import generate_batch  # noqa: E402
from campaigns.scan.services import create_batch, create_scan_campaign  # noqa: E402
from core.db import replica  # noqa: E402
from points import services as points  # noqa: E402
from redemption import services as mall  # noqa: E402
from redemption.models import Category, Product  # noqa: E402
from tests.fixtures.activity import consumer, mall_product, merchant_with_activity  # noqa: E402
from tests.fixtures.tenants import merchant_with_codes  # noqa: E402


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


def reads(work: Callable[[], Any], table: str) -> tuple[Any, dict[str, int]]:
    """``work()``'s result, and how many statements on ``table`` each database ran."""
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections[replica.REPLICA]) as standby,
    ):
        result = work()
    return result, {
        alias: sum(f'"{table}"' in query["sql"] or f" {table} " in query["sql"] for query in seen)
        for alias, seen in (("default", primary), (replica.REPLICA, standby))
    }


def exported(export_id: int) -> tuple[str, int]:
    """An export's status and the codes in its CSV file (lines after the header)."""
    export = BatchExport.objects.get(pk=export_id)
    if export.status != ExportStatus.READY:
        return str(export.status), 0
    with default_storage.open(export.file_name, "rb") as file:
        return str(export.status), len(file.read().decode().splitlines()) - 1


def export_again(export_id: int) -> tuple[str, int]:
    """Render an export again from the start, as a retried task does."""
    BatchExport.objects.filter(pk=export_id).update(status=ExportStatus.FAILED)
    render.run_export(export_id)
    return exported(export_id)


def exports() -> None:
    """Code exports and analytics files read from the replica, with read-your-writes."""
    size = render.FETCH_CHUNK + 500  # two pages of codes
    merchant, _codes = merchant_with_codes(lambda p: f"{p}-{uuid.uuid4().hex[:8]}", size, 1)
    step("export_caught_up", alias=until(replica.REPLICA, None))

    # A batch made while the replica replays nothing: its export is read from the
    # primary (the request pinned it), though an anonymous reader is sent to the replica.
    replica.CHECK_SECONDS = 3600.0
    on_replica("SELECT pg_wal_replay_pause()")
    points.fund_with_money(
        merchant, amount_minor=size, currency="CNY", rate="100", payment_reference=uuid.uuid4().hex
    )
    with tenant_context(merchant):
        batch = create_batch(merchant, Campaign.objects.get(), size=size, points_per_code=1)
        batch = generate_batch(batch.pk)
        export, codes = reads(lambda: request_export(batch, "csv"), "campaigns_code")
        on_standby = Code.objects.using(replica.REPLICA).filter(batch_id=batch.pk).count()
        step("export_pinned", file=exported(export.pk), codes_from=codes,
             anonymous=replica.read_alias(None), on_standby=on_standby, size=size)  # fmt: skip
    on_replica("SELECT pg_wal_replay_resume()")
    with tenant_context(merchant):
        reader = render.export_reader(export.pk)
        alias = until(replica.REPLICA, reader)
        file, codes = reads(lambda: export_again(export.pk), "campaigns_code")
        step("export_replayed", alias=alias, file=file, codes_from=codes)

    # The analytics files: from the replica when caught up, from the primary when lagging.
    first, last = date.today() - timedelta(days=6), date.today()

    def analytics_csv() -> str:
        platform = queries.summary(None, first, last)
        return queries.to_csv(platform, queries.merchant_table(first, last))

    step("analytics_caught_up", codes_from=reads(analytics_csv, "analytics_dailyactivity")[1])
    replica.CHECK_SECONDS = 0.2
    on_replica("SELECT pg_wal_replay_pause()")
    with tenant_context(merchant):
        create_scan_campaign(name="Written while the replica lags")
    time.sleep(0.5)
    step("analytics_lagging", alias=until("default", None, seconds=5),
         codes_from=reads(analytics_csv, "analytics_dailyactivity")[1])  # fmt: skip
    on_replica("SELECT pg_wal_replay_resume()")
    until(replica.REPLICA, None)

    # The replica's connection dies between two pages: the export goes on on the primary.
    replica.CHECK_SECONDS = 3600.0
    with tenant_context(merchant):
        standby = connections[replica.REPLICA]
        standby.ensure_connection()
        pid = standby.connection.info.backend_pid
        settings = standby.settings_dict
        with psycopg.connect(
            host=settings["HOST"], port=settings["PORT"], user=settings["USER"],
            dbname=settings["NAME"], autocommit=True,
        ) as other:  # fmt: skip
            other.execute("SELECT pg_terminate_backend(%s)", [pid])
        file, codes = reads(lambda: export_again(export.pk), "campaigns_code")
        step("export_connection_lost", file=file, codes_from=codes,
             marked_down=bool(cache.get(replica._DOWN_KEY)))  # fmt: skip


def main(phase: str) -> None:
    if phase == "exports":
        exports()
        return
    if phase == "down":
        cache.delete(replica._DOWN_KEY)  # as an export step may have left it: a fresh look
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
