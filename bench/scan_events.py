"""Scan events of one merchant at scale: seed by COPY, then time the console's queries.

Issue 20 asks that a merchant with 100,000,000 scans still query a week in milliseconds.
Set-up (in-process, its own database): migrate, one merchant, then ``--events`` rows of
``campaigns_scanevent`` written with ``COPY … FROM STDIN`` in time order over ``--days``
days up to now (the order the drainer writes them in, which is what makes the BRIN index
on ``scanned_at`` small and selective), over ``--events / --scans-per-code`` codes in
``--batches`` batches; then the rollups (``campaigns_scanday``) and the per-code summaries
(``campaigns_codescans``, one in ``--suspicious-every`` flagged) built from them by SQL,
as the drainer would have added them row by row. The indexes are created after the
COPY (the seeding is faster so; their build time and size are printed).

Then it times, ``--repeats`` runs each, p50 and p95 (ms), the app's own functions:

| query | what the console or a consumer asks |
| --- | --- |
| scans per day, 7 days | ``history.scans_per_day(7)`` (merchant API ``scansPerDay``) |
| scans per day, 90 days | ``history.scans_per_day(90)`` |
| suspicious codes, first page | ``history.suspicious_codes()[:50]`` (``suspiciousCodes``) |
| one code's history | ``history.code_history(code, 50)`` (``codeScans``), a random code |
| last hour's scans per minute | the raw events of the last hour, by the BRIN index |
| a verification's summary | ``CodeScans`` by code (``verifyCode``'s read) |

Run from the project root::

    uv run python bench/scan_events.py [--events 1000000] [--days 365] [--repeats 50]
        [--full] [--keep]

``--full`` is ``--events 100000000``: the issue's size (about 20 GB of table and
indexes; an hour or more of seeding on this machine).

Database: BENCH_DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/loyalty_bench_scan_events), dropped and created at
start and dropped at the end unless --keep. Redis: BENCH_REDIS_URL (default
redis://127.0.0.1:6379/13), flushed at start and end.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, overload

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import harness  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/loyalty_bench_scan_events"
DEFAULT_REDIS = "redis://127.0.0.1:6379/13"
CACHE_PREFIX = "bench-scan-events"
FULL_SIZE = 100_000_000
CHUNK = 200_000
AGENTS = ["wechat"] * 80 + ["alipay"] * 8 + ["browser"] * 10 + ["crawler"] * 2
SOURCES = ["page"] * 45 + ["preview"] * 40 + ["claim"] * 10 + ["verify"] * 5
REGIONS = [
    ("110100", "39.90", "116.41"),
    ("310100", "31.23", "121.47"),
    ("440300", "22.54", "114.06"),
    ("510100", "30.57", "104.07"),
    ("330100", "30.27", "120.16"),
]


class Codes(Sequence[str]):
    """The merchant's ``count`` codes, made on demand: 33,000,000 Python strings (at
    100,000,000 events) would be gigabytes for a list only sampled from."""

    def __init__(self, merchant_id: int, count: int) -> None:
        from campaigns.scan.codes import encode_merchant

        self.prefix = encode_merchant(merchant_id)
        self.size = count

    def __len__(self) -> int:
        return self.size

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...
    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        from campaigns.scan.codes import check_character

        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self.size))]
        if not 0 <= index < self.size:
            raise IndexError(index)
        # Thirteen digits of a counter: valid characters of the alphabet, unique, and the
        # check character keeps them parseable like real codes.
        payload = f"{self.prefix}{index:013d}"
        return payload + check_character(payload)


def codes_of(merchant_id: int, count: int) -> Codes:
    return Codes(merchant_id, count)


def rows(
    events: int, days: int, codes: Sequence[str], batches: int, seed: int = 20
) -> Iterator[str]:
    """COPY text lines in time order: ids as the stream gives them (ms * 4096 + seq)."""
    from campaigns.scan.events import SEQUENCE_SPACE

    rng = random.Random(seed)
    end = datetime.now(tz=UTC)
    start = end - timedelta(days=days)
    start_ms = int(start.timestamp() * 1000)
    span_ms = days * 86_400_000
    per_batch = max(1, len(codes) // batches)
    for n in range(events):
        millis = start_ms + n * span_ms // events
        ident = millis * SEQUENCE_SPACE + n % SEQUENCE_SPACE
        when = datetime.fromtimestamp(millis / 1000, tz=UTC).isoformat()
        index = rng.randrange(len(codes))
        agent = rng.choice(AGENTS)
        source = rng.choice(SOURCES)
        region, lat, lon = REGIONS[index % len(REGIONS)]
        consumer = str(100_000 + index % 50_000) if source == "claim" else "\\N"
        counted = "f" if agent == "crawler" or rng.random() < 0.3 else "t"
        outcome = "claimed" if source == "claim" else "opened"
        yield (
            f"{ident}\t{when}\t{codes[index]}\t{1 + index // per_batch}\t{consumer}\t"
            f"{rng.getrandbits(63)}\t{agent}\t{source}\t{outcome}\t{counted}\t{region}\t{lat}\t"
            f"{lon}\tt\n"
        )


def sql_rows_statement(prefix: str) -> str:
    """The same events as ``rows`` made by PostgreSQL itself (``INSERT … SELECT`` over
    ``generate_series``): no rows cross the socket and no Python runs per row.

    Codes as ``codes_of`` makes them: the prefix, 13 decimal digits and the Luhn mod 32
    check character, computed in SQL (decimal digits doubled stay below 32, so a doubled
    digit is worth 2d). A code per event by a multiplicative hash of the event's number (a
    permutation modulo the code count: every code gets ``events / codes`` events); agents,
    sources and counting by ``random()`` with the Python generator's proportions.
    """
    from campaigns.scan.codes import _DOUBLED, VALUE

    # The prefix's characters are payload positions 16..13 from the right (the counter's 13
    # digits are 12..0): even positions from the right count doubled, as check_character.
    prefix_sum = sum(
        _DOUBLED[char] if (16 - i) % 2 == 0 else VALUE[char] for i, char in enumerate(prefix)
    )
    digits = " + ".join(
        f"{2 if k % 2 == 0 else 1} * ((x.ix / {10**k}::bigint) %% 10)" for k in range(13)
    )
    return f"""
    INSERT INTO campaigns_scanevent ({COLUMNS})
    SELECT x.millis * {4096} + x.n %% 4096, to_timestamp(x.millis / 1000.0),
           '{prefix}' || lpad(x.ix::text, 13, '0')
               || substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ',
                         ((32 - ({prefix_sum} + {digits}) %% 32) %% 32)::int + 1, 1),
           1 + x.ix / %(per_batch)s,
           CASE WHEN x.source = 'claim' THEN 100000 + x.ix %% 50000 END,
           (random() * 9.2e18)::bigint, x.agent, x.source,
           CASE WHEN x.source = 'claim' THEN 'claimed' ELSE 'opened' END,
           NOT (x.agent = 'crawler' OR random() < 0.3),
           (ARRAY{[r[0] for r in REGIONS]!r})[x.ix %% 5 + 1],
           (ARRAY{[r[1] for r in REGIONS]!r})[x.ix %% 5 + 1]::numeric,
           (ARRAY{[r[2] for r in REGIONS]!r})[x.ix %% 5 + 1]::numeric, true
      FROM (
        SELECT n, %(start_ms)s::bigint + n * %(span_ms)s::bigint / %(events)s AS millis,
               (n * 2654435761::bigint) %% %(codes)s AS ix,
               CASE WHEN r1 < 0.80 THEN 'wechat' WHEN r1 < 0.88 THEN 'alipay'
                    WHEN r1 < 0.98 THEN 'browser' ELSE 'crawler' END AS agent,
               CASE WHEN r2 < 0.45 THEN 'page' WHEN r2 < 0.85 THEN 'preview'
                    WHEN r2 < 0.95 THEN 'claim' ELSE 'verify' END AS source
          FROM (SELECT n, random() AS r1, random() AS r2
                  FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS n) AS g
      ) AS x
    """


COLUMNS = (
    "id, scanned_at, code, batch_id, consumer_id, fingerprint, agent, source, outcome, "
    "counted, region, latitude, longitude, approximate"
)
INDEXES = ("scanevent_time_brin", "scanevent_code")


METHODS = {"copy": "COPY from this process", "sql": "INSERT … SELECT generate_series"}
SQL_CHUNK = 5_000_000


def copy_rows(cursor: Any, events: int, days: int, codes: Sequence[str], batches: int) -> None:
    raw = cursor.cursor  # psycopg's own cursor, for COPY
    with raw.copy(f"COPY campaigns_scanevent ({COLUMNS}) FROM STDIN") as copy:
        buffer: list[str] = []
        written = 0
        for line in rows(events, days, codes, batches):
            buffer.append(line)
            if len(buffer) >= CHUNK:
                copy.write("".join(buffer))
                written += len(buffer)
                buffer.clear()
                if written % (CHUNK * 25) == 0:
                    print(f"  {written:,} events copied", flush=True)
        copy.write("".join(buffer))


def sql_rows(
    cursor: Any, schema: str, events: int, days: int, codes: Sequence[str], batches: int
) -> None:
    """``sql_rows_statement`` in chunks of ``SQL_CHUNK`` events (one statement and commit
    each, so progress shows and no transaction holds 100,000,000 rows' worth of locks)."""
    end = datetime.now(tz=UTC)
    start_ms = int((end - timedelta(days=days)).timestamp() * 1000)
    statement = sql_rows_statement(codes[0][:4])
    params = {
        "start_ms": start_ms,
        "span_ms": days * 86_400_000,
        "events": events,
        "codes": len(codes),
        "per_batch": max(1, len(codes) // batches),
    }
    for first in range(0, events, SQL_CHUNK):
        last = min(events, first + SQL_CHUNK) - 1
        cursor.execute(statement, {**params, "first": first, "last": last})
        print(f"  {last + 1:,} events inserted", flush=True)


def seed(
    schema: str, events: int, days: int, codes: Sequence[str], batches: int, method: str = "copy"
) -> dict[str, float]:
    """The events (indexes dropped first, rebuilt after) by ``method``; rollups and summaries
    by SQL."""
    from django.db import connection

    timings: dict[str, float] = {}
    with connection.cursor() as cursor:
        cursor.execute(f'SET search_path TO "{schema}", public')
        # Seeding only (the timed queries run on a new connection with the defaults): the
        # index build's and the summaries' sorts in memory rather than in 4 MB runs on disk.
        cursor.execute("SET maintenance_work_mem = '2GB'")
        cursor.execute("SET work_mem = '2GB'")
        definitions = {}
        for name in INDEXES:
            cursor.execute("SELECT pg_get_indexdef(%s::regclass)", [f'"{schema}".{name}'])
            definitions[name] = cursor.fetchone()[0]
            cursor.execute(f'DROP INDEX "{schema}".{name}')
        started = time.perf_counter()
        if method == "copy":
            copy_rows(cursor, events, days, codes, batches)
        else:
            sql_rows(cursor, schema, events, days, codes, batches)
        timings[f"events ({METHODS[method]})"] = time.perf_counter() - started
        for name, definition in definitions.items():
            started = time.perf_counter()
            cursor.execute(definition)
            timings[f"index {name}"] = time.perf_counter() - started
        started = time.perf_counter()
        cursor.execute(
            """
            INSERT INTO campaigns_scanday (day, batch_id, scans, lookups, crawlers, claims)
            SELECT (scanned_at AT TIME ZONE 'Asia/Shanghai')::date, coalesce(batch_id, 0),
                   count(*), count(*) FILTER (WHERE counted),
                   count(*) FILTER (WHERE agent = 'crawler'),
                   count(*) FILTER (WHERE source = 'claim' AND outcome = 'claimed')
              FROM campaigns_scanevent GROUP BY 1, 2
            """
        )
        timings["rollups (per day and batch)"] = time.perf_counter() - started
        started = time.perf_counter()
        cursor.execute(
            """
            INSERT INTO campaigns_codescans
                (code, first_scanned_at, first_region, first_approximate, scans, lookups,
                 last_scanned_at, located_at, latitude, longitude, region, suspicion,
                 suspected_at, distance_km)
            SELECT code, min(scanned_at), min(region), true, count(*),
                   count(*) FILTER (WHERE counted), max(scanned_at), max(scanned_at),
                   min(latitude), min(longitude), min(region),
                   CASE WHEN hashtext(code) %% %s = 0 THEN 'many_lookups' ELSE '' END,
                   CASE WHEN hashtext(code) %% %s = 0 THEN max(scanned_at) END, NULL
              FROM campaigns_scanevent WHERE agent <> 'crawler' GROUP BY code
            """,
            [SUSPICIOUS_EVERY, SUSPICIOUS_EVERY],
        )
        timings["per-code summaries"] = time.perf_counter() - started
        cursor.execute("ANALYZE campaigns_scanevent")
        cursor.execute("ANALYZE campaigns_scanday")
        cursor.execute("ANALYZE campaigns_codescans")
        cursor.execute("SET search_path TO public")
        cursor.execute("RESET maintenance_work_mem")
        cursor.execute("RESET work_mem")
    return timings


SUSPICIOUS_EVERY = 1000


def sizes(schema: str) -> dict[str, int]:
    from django.db import connection

    names = ["campaigns_scanevent", *INDEXES, "campaigns_scanday", "campaigns_codescans"]
    with connection.cursor() as cursor:
        return {
            name: cursor.execute(
                "SELECT pg_relation_size(%s::regclass)", [f'"{schema}".{name}']
            ).fetchone()[0]
            for name in names
        }


LAST_HOUR = """
SELECT date_trunc('minute', scanned_at), count(*), count(*) FILTER (WHERE counted)
  FROM campaigns_scanevent WHERE scanned_at >= now() - interval '1 hour' GROUP BY 1
"""


def timed(repeats: int, work: Callable[[], Any]) -> tuple[float, float, Any]:
    work()  # warm: plans, buffers
    samples = []
    result = None
    for _ in range(repeats):
        started = time.perf_counter()
        result = work()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return (
        statistics.median(samples),
        samples[min(len(samples) - 1, int(0.95 * len(samples)))],
        result,
    )


DROP_CACHES = Path("/proc/sys/vm/drop_caches")


def drop_caches() -> bool:
    """The kernel's page cache dropped (root only; it is the machine's, not PostgreSQL's:
    shared_buffers keep what they hold, which EXPLAIN's "hit" shows). False when not allowed."""
    try:
        os.sync()
        DROP_CACHES.write_text("1\n")
    except OSError:
        return False
    return True


@dataclass
class Plan:
    ms: float  # EXPLAIN ANALYZE's execution time, summed over the call's statements
    hit: int  # shared buffers found
    read: int  # shared buffers read from the kernel (or the disk, when cold)
    nodes: str  # the plan's node types, outermost first, of its longest statement

    def __str__(self) -> str:
        return f"{self.ms:.2f} ms, {self.hit:,} hit, {self.read:,} read"


def explain(statements: list[str]) -> Plan:
    """EXPLAIN (ANALYZE, BUFFERS) of each statement a call made, summed."""
    from core.db import connection

    total = Plan(0.0, 0, 0, "")
    longest = -1.0
    with connection.cursor() as cursor:
        for sql in statements:
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            (document,) = cursor.execute(
                "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql
            ).fetchone()
            top = (document if isinstance(document, list) else json.loads(document))[0]
            plan = top["Plan"]
            total.ms += top["Execution Time"]
            total.hit += plan.get("Shared Hit Blocks", 0)
            total.read += plan.get("Shared Read Blocks", 0)
            if top["Execution Time"] > longest:
                longest = top["Execution Time"]
                names = []
                node: dict[str, Any] | None = plan
                while node is not None:
                    name = node["Node Type"]
                    if "Index Name" in node:
                        name += f" {node['Index Name']}"
                    elif "Relation Name" in node:
                        name += f" {node['Relation Name']}"
                    names.append(name)
                    children = node.get("Plans") or []
                    node = children[0] if children else None
                total.nodes = " → ".join(names)
    return total


@dataclass
class Measured:
    name: str
    cold_ms: float  # the call, first after the page cache was dropped, on a new connection
    cold: Plan
    warm_p50: float
    warm_p95: float
    warm: Plan
    rows: int

    def nodes_or_dash(self) -> str:
        return self.warm.nodes or "-"


def measure(name: str, repeats: int, work: Callable[[], Any]) -> Measured:
    from django.test.utils import CaptureQueriesContext

    from core.db import connection

    def fresh() -> None:
        drop_caches()
        connection.close()  # a new backend: no catalog or plan caches either

    fresh()
    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        work()
        cold_ms = (time.perf_counter() - started) * 1000
    statements = [query["sql"] for query in captured.captured_queries]
    fresh()
    cold = explain(statements)
    p50, p95, result = timed(repeats, work)
    warm = explain(statements)
    count = len(result) if isinstance(result, list) else len(getattr(result, "events", [])) or 1
    return Measured(name, cold_ms, cold, p50, p95, warm, count)


def record_and_drain(merchant_id: int, codes: Sequence[str], count: int) -> dict[str, float]:
    """CPU of this process per event: queuing one (what a request pays after its answer) and
    draining it (what the drainer pays, PostgreSQL's share not included)."""
    from campaigns.models import ScanSource
    from campaigns.scan import events

    scanners = [
        events.Scanner(ip=f"202.96.134.{i % 250 + 1}", user_agent=f"MicroMessenger/8.0.{i}")
        for i in range(100)
    ]
    cpu, wall = time.process_time(), time.perf_counter()
    for i in range(count):
        events.record(
            merchant_id, codes[i % len(codes)], ScanSource.PREVIEW, "claimable", scanners[i % 100]
        )
    record_cpu, record_wall = time.process_time() - cpu, time.perf_counter() - wall
    cpu, wall = time.process_time(), time.perf_counter()
    drained = events.drain_all()
    drain_cpu, drain_wall = time.process_time() - cpu, time.perf_counter() - wall
    assert drained == count, (drained, count)
    return {
        "queue one event: CPU µs": record_cpu / count * 1e6,
        "queue one event: wall µs": record_wall / count * 1e6,
        "drain one event (batches of 2,000): CPU µs": drain_cpu / count * 1e6,
        "drain one event (batches of 2,000): wall µs": drain_wall / count * 1e6,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--full", action="store_true", help=f"--events {FULL_SIZE:,}")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--scans-per-code", type=int, default=3)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument(
        "--record", type=int, default=10_000, help="events queued and drained first, timed"
    )
    parser.add_argument(
        "--method",
        choices=sorted(METHODS),
        default="sql",
        help="how the events are written: " + "; ".join(f"{k}: {v}" for k, v in METHODS.items()),
    )
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    events = FULL_SIZE if args.full else args.events
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS)
    started = time.perf_counter()
    load_at_start = harness.load_average()
    with harness.bench_resources(url, redis_url, keep=args.keep, prefix="bench-scan-events"):
        harness.start_django(url, redis_url, CACHE_PREFIX)
        from django.db.models import QuerySet
        from django_tenants.utils import tenant_context

        from campaigns.models import CodeScans
        from campaigns.scan import history
        from core.db import connection
        from tenants.onboarding import create_merchant

        merchant = create_merchant(slug="bench-scans", name="Bench Scans")
        codes = codes_of(merchant.pk, max(1, events // args.scans_per_code))
        per_event = record_and_drain(merchant.pk, codes, args.record)
        with tenant_context(merchant), connection.cursor() as cursor:
            # The measured events out of the way: the seeded ones start from empty tables.
            cursor.execute("TRUNCATE campaigns_scanevent, campaigns_scanday, campaigns_codescans")
        print(f"seeding {events:,} events over {len(codes):,} codes, {args.days} days", flush=True)
        timings = seed(merchant.schema_name, events, args.days, codes, args.batches, args.method)
        found = sizes(merchant.schema_name)
        rng = random.Random(7)

        def first_page(found: QuerySet[CodeScans]) -> list[CodeScans]:
            return list(found[:50])

        def last_hour() -> list[Any]:
            with connection.cursor() as cursor:
                return cursor.execute(LAST_HOUR).fetchall()

        with tenant_context(merchant):
            queries: list[tuple[str, Callable[[], Any]]] = [
                ("scans per day, 7 days (scansPerDay)", lambda: history.scans_per_day(7)),
                ("scans per day, 90 days (scansPerDay)", lambda: history.scans_per_day(90)),
                (
                    "suspicious codes, first page of 50 (suspiciousCodes)",
                    lambda: first_page(history.suspicious_codes()),
                ),
                (
                    "one code's latest 50 scans (codeScans), random code",
                    lambda: history.code_history(rng.choice(codes), 50),
                ),
                ("last hour's scans per minute (raw events, BRIN)", last_hour),
                (
                    "a code's summary (verifyCode's read), random code",
                    lambda: CodeScans.objects.filter(code=rng.choice(codes)).first(),
                ),
            ]
            cache_dropped = drop_caches()
            results = [measure(name, args.repeats, work) for name, work in queries]

    print(f"\n### Scan events: {events:,} events of one merchant\n")
    print(
        f"Queuing and draining {args.record:,} events in this process (real Redis, PostgreSQL):\n"
    )
    print("| per event | µs |\n| --- | ---: |")
    for what, value in per_event.items():
        print(f"| {what} | {value:,.0f} |")
    print()
    print("| step | seconds |\n| --- | ---: |")
    for step, seconds in timings.items():
        print(f"| {step} | {seconds:,.1f} |")
    rate = events / timings[f"events ({METHODS[args.method]})"]
    print(f"\nwrite rate ({args.method}): {rate:,.0f} events/s\n")
    print("| relation | MB |\n| --- | ---: |")
    for name, size in found.items():
        print(f"| {name} | {size / 2**20:,.1f} |")
    cold = "page cache dropped, new connection" if cache_dropped else "new connection only"
    print(f"\ncold: the first call ({cold}); warm: {args.repeats} calls after one more\n")
    print(
        "| query | cold ms | warm p50 ms | warm p95 ms | rows |\n"
        "| --- | ---: | ---: | ---: | ---: |"
    )
    for m in results:
        print(f"| {m.name} | {m.cold_ms:.2f} | {m.warm_p50:.2f} | {m.warm_p95:.2f} | {m.rows} |")
    print(
        "\nEXPLAIN (ANALYZE, BUFFERS), summed over each call's statements (8 kB buffers); "
        "'after cold': run after the cold call with the page cache dropped again, so what that "
        "call read is still in PostgreSQL's shared buffers ('hit'):\n"
    )
    print("| query | after cold | warm | plan (longest statement) |\n| --- | --- | --- | --- |")
    for m in results:
        print(f"| {m.name} | {m.cold} | {m.warm} | {m.nodes_or_dash()} |")
    print(
        f"\ncommand: uv run python bench/scan_events.py --events {events} --days {args.days} "
        f"--scans-per-code {args.scans_per_code} --batches {args.batches} "
        f"--repeats {args.repeats} --record {args.record} --method {args.method}"
    )
    print(harness.machine_summary(started, load_at_start))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
