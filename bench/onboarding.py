"""Time to onboard one merchant when 1, 100 and 1,000 merchants exist.

Compares, in one run and on one database, three ways to give a new merchant its schema:

* **ours** -- ``tenants.onboarding.create_merchant``: the merchant row, a structural copy of
  the migrated template schema, and the ledger budget account, committed together;
* **migrate** -- django-tenants' standard path: ``CREATE SCHEMA`` then
  ``migrate_schemas --schema=<name>`` (every tenant migration runs);
* **clone** -- django-tenants' own ``CloneSchema().clone_schema`` of the template
  (the ``clone_schema`` PL/pgSQL function it installs).

The baseline schemas are dropped right after each sample: they are not merchants and must
not count toward the population. The merchants created by the "ours" samples are real
merchants and stay, so the population at size N grows from N to N + samples - 1 while
that size is measured.

Run from the project root::

    uv run python bench/onboarding.py [--sizes 1,100,1000] [--samples 5] [--keep]

It uses its own database (BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/loyalty_bench), dropped and created at start and dropped
at the end unless --keep. Figures are printed, never asserted (see docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
for path in (ROOT, BENCH):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from harness import database_name, drop_database, recreate_database  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/loyalty_bench"


# --- Figures ----------------------------------------------------------------------------


def p90(values: list[float]) -> float:
    """Nearest-rank 90th percentile (with 5 samples this is the slowest one)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


@dataclass
class SizeResult:
    size: int
    population_after: int = 0
    ours_ms: list[float] = field(default_factory=list)
    migrate_ms: list[float] = field(default_factory=list)
    clone_ms: list[float] = field(default_factory=list)
    clone_error: str | None = None
    catalog_size: str = ""
    schemas: int = 0


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def _ratio(baseline: list[float], ours: list[float]) -> str:
    if not baseline or not ours:
        return "n/a"
    return f"{statistics.median(baseline) / statistics.median(ours):.1f}x"


def render_table(results: list[SizeResult]) -> str:
    lines = [
        "| merchants existing | ours median / p90 ms | migrate median ms | clone median ms "
        "| ratio migrate/ours | ratio clone/ours | pg_catalog size |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        ours = f"{_fmt(statistics.median(r.ours_ms))} / {_fmt(p90(r.ours_ms))}"
        migrate = _fmt(statistics.median(r.migrate_ms)) if r.migrate_ms else "n/a"
        clone = _fmt(statistics.median(r.clone_ms)) if r.clone_ms else "error"
        existing = f"{r.size:,}"
        if r.population_after - 1 > r.size:
            existing += f" (to {r.population_after - 1:,})"
        lines.append(
            f"| {existing} | {ours} | {migrate} | {clone} | {_ratio(r.migrate_ms, r.ours_ms)} "
            f"| {_ratio(r.clone_ms, r.ours_ms)} | {r.catalog_size} |"
        )
    return "\n".join(lines)


# --- The benchmark (inside Django) --------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        default="1,100,1000",
        help="merchant counts to measure at, comma separated, increasing (default 1,100,1000)",
    )
    parser.add_argument("--samples", type=int, default=5, help="samples per size (default 5)")
    parser.add_argument(
        "--keep", action="store_true", help="keep the benchmark database at the end"
    )
    args = parser.parse_args(argv)
    sizes = [int(part) for part in args.sizes.split(",") if part.strip()]
    if not sizes or sizes != sorted(sizes) or sizes[0] < 1 or args.samples < 1:
        parser.error("--sizes must be increasing positive integers and --samples at least 1")

    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    started = time.perf_counter()
    recreate_database(url)
    try:
        results = run(url, sizes, args.samples)
    finally:
        if "django.db" in sys.modules:  # django.setup() ran: release its connections
            from django.db import connections

            connections.close_all()
        if args.keep:
            print(f"\nkept database {database_name(url)!r} (--keep)")
        else:
            drop_database(url)
    print(
        f"\ncommand: uv run python bench/onboarding.py --sizes {args.sizes} "
        f"--samples {args.samples}"
    )
    print(
        f"machine: {os.cpu_count()} cores, {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}; date: {datetime.now(UTC):%Y-%m-%d}; "
        f"total {time.perf_counter() - started:.0f} s"
    )
    print()
    print(render_table(results))
    return 0


def run(url: str, sizes: list[int], samples: int) -> list[SizeResult]:
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    import django

    django.setup()

    from django.conf import settings
    from django.core.management import call_command
    from django_tenants.clone import CloneSchema

    from core.db import connection
    from tenants.models import Merchant
    from tenants.onboarding import create_merchant
    from tenants.provisioning import ensure_template_schema

    def scalar(query: str, params: list[Any] | None = None) -> object:
        with connection.cursor() as cursor:
            cursor.execute(query, params or [])
            return cursor.fetchone()[0]

    def drop_schema(name: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP SCHEMA IF EXISTS {connection.ops.quote_name(name)} CASCADE")

    def timed(action: Callable[[], object]) -> float:
        t0 = time.perf_counter()
        action()
        return (time.perf_counter() - t0) * 1000

    server = scalar("SHOW server_version")
    print(f"database {connection.settings_dict['NAME']!r} on PostgreSQL {server}")

    t0 = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    connection.set_schema_to_public()
    print(f"migrate (public schema): {time.perf_counter() - t0:.1f} s")

    template = settings.TENANT_TEMPLATE_SCHEMA
    ms = timed(ensure_template_schema)
    connection.set_schema_to_public()
    print(f"template schema {template!r} created and migrated on first use: {ms:,.0f} ms")

    tables = scalar(
        """SELECT string_agg(c.relname, ', ' ORDER BY c.relname) FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = %s AND c.relkind IN ('r', 'p')""",
        [template],
    )
    table_names = str(tables or "").split(", ") if tables else []
    relations = scalar(
        """SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = %s""",
        [template],
    )
    print(
        f"a merchant schema has {len(table_names)} tables ({', '.join(table_names)}); "
        f"{relations} relations in all (tables, indexes, sequences)"
    )

    def catalog_size() -> str:
        return str(
            scalar(
                """SELECT pg_size_pretty(sum(pg_total_relation_size(c.oid))) FROM pg_class c
                   JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE n.nspname = 'pg_catalog'"""
            )
        )

    def schema_count() -> int:
        return int(str(scalar("SELECT count(*) FROM pg_namespace")))

    def grow_to(size: int) -> None:
        count = Merchant.objects.count()
        if count >= size:
            return
        print(f"growing from {count:,} to {size:,} merchants ...", flush=True)
        batch_start, batch_from = time.perf_counter(), count
        while count < size:
            count += 1
            create_merchant(slug=f"bench-{count:05d}", name=f"Bench merchant {count}")
            if count % 100 == 0 or count == size:
                per = (time.perf_counter() - batch_start) * 1000 / (count - batch_from)
                print(
                    f"  {count:>6,} merchants  ({per:5.1f} ms each over the last "
                    f"{count - batch_from})",
                    flush=True,
                )
                batch_start, batch_from = time.perf_counter(), count

    migrate_seq = 0

    def migrate_once() -> float:
        nonlocal migrate_seq
        migrate_seq += 1
        name = f"bench_migrate_{migrate_seq}"

        def action() -> None:
            with connection.cursor() as cursor:
                cursor.execute(f"CREATE SCHEMA {connection.ops.quote_name(name)}")
            call_command("migrate_schemas", schema_name=name, interactive=False, verbosity=0)

        try:
            return timed(action)
        finally:
            connection.set_schema_to_public()
            drop_schema(name)

    clone_seq = 0

    def clone_once() -> float:
        nonlocal clone_seq
        clone_seq += 1
        name = f"bench_clone_{clone_seq}"
        try:
            return timed(
                lambda: CloneSchema().clone_schema(
                    base_schema_name=template, new_schema_name=name, set_connection=False
                )
            )
        finally:
            connection.set_schema_to_public()
            drop_schema(name)

    results: list[SizeResult] = []
    for size in sizes:
        grow_to(size)
        result = SizeResult(size=size, catalog_size=catalog_size(), schemas=schema_count())
        print(
            f"\n{size:,} merchants exist; {result.schemas:,} schemas; "
            f"pg_catalog {result.catalog_size}",
            flush=True,
        )
        for i in range(samples):
            t0 = time.perf_counter()
            create_merchant(slug=f"sample-{size}-{i}", name=f"Sample {size}/{i}")
            ours = (time.perf_counter() - t0) * 1000
            result.ours_ms.append(ours)
            migrate = migrate_once()
            result.migrate_ms.append(migrate)
            clone_text = "skipped"
            if result.clone_error is None:
                try:
                    clone = clone_once()
                except Exception as exc:  # report, don't crash: the baseline may not apply
                    result.clone_error = f"{type(exc).__name__}: {str(exc).strip()}"
                    clone_text = "error"
                else:
                    result.clone_ms.append(clone)
                    clone_text = f"{clone:7.1f} ms"
            print(
                f"  sample {i + 1}: ours {ours:7.1f} ms | migrate {migrate:7.1f} ms "
                f"| clone {clone_text}",
                flush=True,
            )
        if result.clone_error:
            print(f"  clone failed: {result.clone_error}")
        result.population_after = Merchant.objects.count()
        results.append(result)
    return results


if __name__ == "__main__":
    raise SystemExit(main())
