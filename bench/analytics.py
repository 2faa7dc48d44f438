"""Analytics on 1,000,000 claim events: the rollup's time and the dashboard queries' latency.

Set-up (in-process, on its own database): migrate, ``--merchants`` merchants, then with
``generate_series`` (no Python per row) ``--consumers`` consumers and ``--events``
claim events spread over ``--days`` days up to today, plus ``--redeems`` redemptions.
The events are rows of ``points_transaction`` (kind ``award`` with a ``code`` in the
metadata, or ``redeem``): the rollup's source (see analytics/rollup.py). Only the
transactions are seeded, not their entries and lots: the rollup reads nothing else,
and the ledger's invariants are not what is measured here.

Then it times:

| step | what is timed |
| --- | --- |
| backfill | ``analytics.rollup.rollup(first day, today)``: every summary from scratch |
| incremental | ``rollup(yesterday, today)``: what the 15-minute beat task does |
| dashboard | ``analytics.queries.summary`` (the merchant API's ``analytics`` field), for the
  busiest merchant over 30 and 90 days and for the platform over 90 days; ``--repeats``
  runs each, p50/p99, with its SQL query count |

Run from the project root::

    uv run python bench/analytics.py [--events 1000000] [--consumers 200000]
        [--merchants 20] [--days 90] [--redeems 100000] [--repeats 200] [--keep]

Database: BENCH_DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/loyalty_bench_analytics), dropped and created at
start and dropped at the end unless --keep.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
for path in (ROOT, BENCH):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from onboarding import drop_database, recreate_database  # noqa: E402

CHUNK = 100_000
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/loyalty_bench_analytics"


def _django(url: str) -> None:
    os.environ.update(
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="config.settings",
        CELERY_TASK_ALWAYS_EAGER="1",
        CELERY_BROKER_URL="memory://",
        CELERY_RESULT_BACKEND="",
        REDIS_URL="",
        LOG_LEVEL="WARNING",
    )
    import django

    django.setup()


def seed(args: argparse.Namespace) -> list[int]:
    from django.core.management import call_command

    from core.db import connection
    from tenants.onboarding import create_merchant

    t0 = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    connection.set_schema_to_public()
    merchants = [
        create_merchant(slug=f"bench-{i}", name=f"Bench {i}").pk for i in range(args.merchants)
    ]
    connection.set_schema_to_public()
    print(f"migrate and {args.merchants} merchants: {time.perf_counter() - t0:.1f} s")

    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO accounts_user (password, is_superuser, phone, name, is_active,
                                          is_staff, date_joined)
               SELECT '', false, '+8613' || lpad(g::text, 9, '0'), '', true, false, now()
               FROM generate_series(1, %s) g""",
            [args.consumers],
        )
        cursor.execute("SELECT MIN(id) FROM accounts_user WHERE phone IS NOT NULL")
        (first_consumer,) = cursor.fetchone()
        # In chunks of CHUNK rows, each its own transaction (autocommit), so that one
        # statement never holds a million rows' deferred foreign-key checks.
        # Skewed to the first merchants (index ⌊u² · n⌋, the first gets 22% at n = 20);
        # consumers are drawn uniformly; times
        # spread over the last `days` days.
        for low in range(1, args.events + 1, CHUNK):
            cursor.execute(
                """INSERT INTO points_transaction (kind, idempotency_key, request_hash,
                       merchant_id, consumer_id, memo, metadata, created_at)
                   SELECT 'award', 'bench-claim:' || g, '',
                          (%(merchants)s::bigint[])[1 + floor(
                              power(random(), 2) * cardinality(%(merchants)s::bigint[]))::int],
                          %(first)s + floor(random() * %(consumers)s)::bigint, '',
                          jsonb_build_object('code', 'C' || g),
                          now() - random() * (%(days)s * interval '1 day')
                   FROM generate_series(%(low)s, %(high)s) g""",
                {
                    "merchants": merchants,
                    "first": first_consumer,
                    "consumers": args.consumers,
                    "days": args.days,
                    "low": low,
                    "high": min(low + CHUNK - 1, args.events),
                },
            )
        cursor.execute(
            """INSERT INTO points_transaction (kind, idempotency_key, request_hash,
                   merchant_id, consumer_id, memo, metadata, created_at)
               SELECT 'redeem', 'bench-redeem:' || g, '', NULL,
                      %(first)s + floor(random() * %(consumers)s)::bigint, '', '{}'::jsonb,
                      now() - random() * (%(days)s * interval '1 day')
               FROM generate_series(1, %(redeems)s) g""",
            {
                "first": first_consumer,
                "consumers": args.consumers,
                "days": args.days,
                "redeems": args.redeems,
            },
        )
        cursor.execute("ANALYZE")
    print(
        f"seeded {args.consumers:,} consumers, {args.events:,} claim events and "
        f"{args.redeems:,} redemptions: {time.perf_counter() - t0:.1f} s"
    )
    return merchants


def run(args: argparse.Namespace) -> None:
    from django.test.utils import CaptureQueriesContext

    from analytics import queries
    from analytics.models import ConsumerDay, DailyActivity, Reach, WeeklyCohort
    from analytics.rollup import first_event_day, rollup, today
    from core.db import connection

    merchants = seed(args)
    last = today()
    first = first_event_day()
    assert first is not None
    backfill = rollup(first, last)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    incremental = [rollup(last - timedelta(days=1), last).seconds for _ in range(3)]
    sizes = {
        m.__name__: m.objects.count() for m in (ConsumerDay, Reach, DailyActivity, WeeklyCohort)
    }
    print(f"summary rows: {sizes}")

    cases = [
        ("busiest merchant, 30 days", merchants[0], 30),
        ("busiest merchant, 90 days", merchants[0], 90),
        ("platform, 90 days", None, 90),
    ]
    rows = []
    for label, merchant, days in cases:
        start = last - timedelta(days=days - 1)
        with CaptureQueriesContext(connection) as captured:
            result = queries.summary(merchant, start, last)
        timings = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            queries.summary(merchant, start, last)
            timings.append((time.perf_counter() - t0) * 1000)
        timings.sort()
        p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))]
        rows.append(
            f"| {label} | {len(captured)} | {statistics.median(timings):.2f} | {p99:.2f} "
            f"| {result.reached:,} reached, MAU {result.days[-1].mau:,} |"
        )

    print()
    print(
        f"| rollup | seconds |\n| --- | --- |\n"
        f"| backfill {backfill.first}..{backfill.last} | {backfill.seconds:.1f} |\n"
        f"| incremental (yesterday + today), 3 runs | "
        f"{' / '.join(f'{s:.2f}' for s in incremental)} |"
    )
    print()
    print("| dashboard query | SQL queries | p50 ms | p99 ms | figures |")
    print("| --- | --- | --- | --- | --- |")
    print("\n".join(rows))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--consumers", type=int, default=200_000)
    parser.add_argument("--merchants", type=int, default=20)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--redeems", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    recreate_database(url)
    try:
        _django(url)
        run(args)
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            drop_database(url)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
