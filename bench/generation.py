"""A 1,000,000-code batch: generation time and peak memory beside a raw COPY of the same rows.

* **generation**: the ``campaigns.scan.tasks.generate_codes`` task (``apply``, in the merchant's
  schema, as a worker runs it: ``campaigns.scan.generation.generate_batch``, chunks of
  ``CHUNK_SIZE`` codes, each drawn with ``secrets``, checked, COPYed and committed) for
  a batch made by ``campaigns.scan.services.create_batch``. It runs in a **separate
  process** started for it, so that its peak resident memory (``ru_maxrss``) is the
  worker's and nothing else's; the process also reports its memory after Django's
  start-up, before generating, to show what the generation adds.
* **raw COPY**: ``psql``'s ``\\copy`` of 1,000,000 precomputed rows of the same shape
  (18-character codes in the same alphabet, batch id, serial) from a file into
  ``bench_copy``: ``LIKE campaigns_code INCLUDING ALL`` (same columns, defaults, checks
  and the same five indexes) plus the same deferrable foreign keys. One transaction,
  no Python: what PostgreSQL alone needs to store the rows.

They run in turns in one run: COPY, generation, COPY again (the table truncated
before each COPY; ``--copies`` of them in all, 0 for none); the ratio uses their mean.

After the generation it prints the batch's bytes per code on disk: the table and
each index apart, and ``pg_total_relation_size`` / codes, beside the minimum: the
raw sizes of the code and its keys (code text, batch id, serial) and the same
columns copied into a table of their own with no index.

Run from the project root::

    uv run python bench/generation.py [--size 1000000] [--copies 2] [--chunk-size N] [--keep]

Database: BENCH_DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/loyalty_bench_generation), dropped and created at
start and dropped at the end unless --keep. Figures are printed, never asserted
(see docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypedDict
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
for path in (ROOT, BENCH):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from harness import drop_database, recreate_database  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/loyalty_bench_generation"


def _django(url: str) -> None:
    os.environ.update(
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="config.settings",
        # create_batch's on-commit send goes nowhere: the child process generates.
        CELERY_TASK_ALWAYS_EAGER="0",
        CELERY_BROKER_URL="memory://",
        CELERY_RESULT_BACKEND="",
        REDIS_URL="",
        LOG_LEVEL="WARNING",
    )
    import django

    django.setup()


def _rss_mb() -> float:
    """Current resident set size of this process (Linux /proc)."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process on this machine (Linux /proc: the database's too)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child(url: str, schema: str, batch_id: int, chunk_size: int | None) -> int:
    """Generate the batch as a worker would; print one JSON line of figures."""
    _django(url)
    # Import and connect first, so that the figures are the generation's own.
    from django_tenants.utils import schema_context

    from campaigns.models import CodeBatch
    from campaigns.scan import generation
    from campaigns.scan.tasks import generate_codes
    from core.db import connection

    if chunk_size:
        # The task takes the batch id only, as a queued message does; chunk_size_for
        # reads the module's constant at each chunk.
        generation.CHUNK_SIZE = chunk_size

    with schema_context(schema):
        CodeBatch.objects.filter(pk=batch_id).exists()
    connection.set_schema_to_public()

    def backend() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            return int(cursor.fetchone()[0])

    # On a busy machine the CPU each side spent is the fairer comparison: the worker's
    # (this process) and its PostgreSQL backend's (read from /proc: same machine).
    pid = backend()
    backend_cpu = _cpu_seconds(pid)
    before = _rss_mb()
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cpu = time.process_time()
    t0 = time.perf_counter()
    result = generate_codes.apply((batch_id,), headers={"_schema_name": schema}).get()
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    backend_cpu = _cpu_seconds(pid) - backend_cpu if backend() == pid else float("nan")
    print(
        json.dumps(
            {
                "result": result,
                "seconds": seconds,
                "rss_before_mb": before,
                "peak_before_mb": peak_before,
                "peak_mb": peak,
                "worker_cpu": cpu,
                "backend_cpu": backend_cpu,
            }
        )
    )
    return 0


def write_rows(path: Path, prefix: str, batch_id: int, size: int) -> None:
    """COPY text format, as campaigns.scan.generation writes it: code, batch id, serial."""
    from campaigns.scan.generation import CHUNK_SIZE, copy_text

    with open(path, "w") as out:
        for start in range(0, size, CHUNK_SIZE):
            out.write(copy_text(prefix, batch_id, start, min(start + CHUNK_SIZE, size)))


def psql(url: str, *commands: str) -> float:
    parsed = urlparse(url)
    command = [shutil.which("psql") or "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1"]
    command += [
        f"--host={parsed.hostname}",
        f"--port={parsed.port or 5432}",
        f"--username={parsed.username}",
        f"--dbname={parsed.path.lstrip('/')}",
    ]
    for sql in commands:
        command += ["-c", sql]
    env = {**os.environ, "PGPASSWORD": parsed.password or ""}
    t0 = time.perf_counter()
    subprocess.run(command, check=True, env=env)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000, help="codes in the batch")
    parser.add_argument(
        "--copies",
        type=int,
        default=2,
        help="raw COPY runs around the generation (first before, the rest after; 0: none)",
    )
    parser.add_argument(
        "--chunk-size",
        type=int,
        default=None,
        help="codes per committed chunk (default: generation.CHUNK_SIZE)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database at the end")
    parser.add_argument("--child", nargs=2, metavar=("SCHEMA", "BATCH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    if args.child:
        return child(url, args.child[0], int(args.child[1]), args.chunk_size)

    started = time.perf_counter()
    load_at_start = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    recreate_database(url)
    workdir = Path(tempfile.mkdtemp(prefix="bench-generation-"))
    try:
        figures = run(url, args.size, workdir, args.copies, args.chunk_size)
    finally:
        if "django.db" in sys.modules:
            from django.db import connections

            connections.close_all()
        if args.keep:
            print(f"\nkept database {urlparse(url).path.lstrip('/')!r} (--keep)")
        else:
            drop_database(url)
        shutil.rmtree(workdir, ignore_errors=True)

    gen = figures["generation"]
    size = args.size
    flags = f"--size {size} --copies {args.copies}"
    flags += f" --chunk-size {args.chunk_size}" if args.chunk_size else ""
    print(f"\ncommand: uv run python bench/generation.py {flags}")
    print(
        f"machine: {os.cpu_count()} cores, {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}; date: {datetime.now(UTC):%Y-%m-%d}; "
        f"total {time.perf_counter() - started:.0f} s; "
        f"load average at start {load_at_start}, at end "
        f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print()
    print("| what | seconds | codes/s | CPU s: worker + its backend | peak RSS |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for number, seconds in enumerate(figures["copy"], 1):
        print(
            f"| raw COPY #{number} (psql \\copy from a file) | {seconds:.2f} "
            f"| {size / seconds:,.0f} | — | — |"
        )
    print(
        f"| generation (generate_codes task, separate process) | {gen['seconds']:.2f} "
        f"| {size / gen['seconds']:,.0f} | {gen['worker_cpu']:.1f} + "
        f"{gen['backend_cpu']:.1f} | {gen['peak_mb']:.0f} MB "
        f"({gen['rss_before_mb']:.0f} MB after start-up) |"
    )
    print()
    if figures["copy"]:
        copy_mean = sum(figures["copy"]) / len(figures["copy"])
        print(f"ratio generation / raw COPY (mean of {len(figures['copy'])}): ", end="")
        print(f"**{gen['seconds'] / copy_mean:.2f}x**; ", end="")
    print(
        f"generation **{gen['seconds']:.1f} s** (target < 120 s at 10,000,000); "
        f"peak worker memory **{gen['peak_mb']:.0f} MB** (target < 300 MB)"
    )
    print()
    print("| on disk | MB | bytes per code |")
    print("| --- | ---: | ---: |")
    for what, size_bytes in figures["disk"]:
        print(f"| {what} | {size_bytes / 2**20:,.0f} | {size_bytes / size:.1f} |")
    return 0


class Figures(TypedDict):
    copy: list[float]  # seconds of each raw COPY
    generation: dict[str, Any]  # the child's JSON line
    disk: list[tuple[str, int]]  # what, bytes


# The code and its keys as values: 18 characters of text, the batch id (bigint), the
# serial (integer). What any storage of the codes must hold at the least.
RAW_BYTES_PER_CODE = 18 + 8 + 4


def disk_sizes(schema: str, size: int) -> list[tuple[str, int]]:
    """campaigns_code on disk (the table, each index, in all) beside the minimum.

    The minimum table holds the same codes' three columns (``code``, ``batch_id``,
    ``serial``), filled server-side like a COPY, with no index, key or free space.
    """
    from core.db import connection

    table = f'"{schema}".campaigns_code'
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) " + table)  # the visibility and free space maps
        cursor.execute(
            """SELECT indexrelid::regclass::text, pg_relation_size(indexrelid)
               FROM pg_index WHERE indrelid = %s::regclass ORDER BY 1""",
            [table],
        )
        indexes = cursor.fetchall()
        cursor.execute(
            "SELECT pg_table_size(%s::regclass), pg_total_relation_size(%s::regclass)",
            [table, table],
        )
        heap, total = cursor.fetchone()
        cursor.execute(
            "CREATE TABLE bench_minimum (code varchar(18), serial integer, batch_id bigint)"
        )
        cursor.execute(f"INSERT INTO bench_minimum SELECT code, serial, batch_id FROM {table}")
        cursor.execute("VACUUM bench_minimum")
        cursor.execute("SELECT pg_total_relation_size('bench_minimum')")
        (minimum,) = cursor.fetchone()
        cursor.execute("DROP TABLE bench_minimum")
    return [
        ("campaigns_code table (heap, TOAST, maps)", heap),
        *[(f"index {name.split('.')[-1]}", bytes_) for name, bytes_ in indexes],
        ("**campaigns_code in all** (pg_total_relation_size)", total),
        ("minimum: the same 3 columns, a table of their own, no index", minimum),
        (f"minimum: raw values, {RAW_BYTES_PER_CODE} bytes a code", RAW_BYTES_PER_CODE * size),
    ]


def run(url: str, size: int, workdir: Path, copies: int, chunk_size: int | None) -> Figures:
    _django(url)
    from django.core.management import call_command
    from django_tenants.utils import tenant_context

    from campaigns.models import BatchStatus, Code, CodeBatch
    from campaigns.scan import services
    from campaigns.scan.codes import encode_merchant
    from campaigns.scan.generation import CHUNK_SIZE
    from core.db import connection
    from points.services import fund_with_money
    from tenants.onboarding import create_merchant

    t0 = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    connection.set_schema_to_public()
    merchant = create_merchant(slug="bench-generation", name="Bench Generation")
    fund_with_money(
        merchant,
        amount_minor=size,  # 100 points per yuan: one point per fen
        currency="CNY",
        rate="100",
        payment_reference="bench-generation",
    )
    schema = merchant.schema_name
    with tenant_context(merchant):
        campaign = services.create_scan_campaign(name="Bench caps")
        batch = services.create_batch(merchant, campaign, size=size, points_per_code=1)
        assert CodeBatch.objects.get(pk=batch.pk).generated == 0
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE TABLE bench_copy (LIKE "{schema}".campaigns_code INCLUDING ALL)')
        cursor.execute(
            """SELECT pg_get_constraintdef(oid) FROM pg_constraint
               WHERE conrelid = %s::regclass AND contype = 'f'""",
            [f'"{schema}".campaigns_code'],
        )
        for (definition,) in cursor.fetchall():
            cursor.execute(f"ALTER TABLE bench_copy ADD {definition}")
        cursor.execute(
            """SELECT count(*) FROM pg_indexes WHERE schemaname = 'public'
               AND tablename = 'bench_copy'"""
        )
        indexes = cursor.fetchone()[0]
    rows = workdir / "rows.tsv"
    if copies:
        write_rows(rows, encode_merchant(merchant.pk), batch.pk, size)
    connections_close()
    print(
        f"set-up: {time.perf_counter() - t0:.1f} s; batch {batch.pk} of {size:,} codes in "
        f"{schema!r}, chunk size {chunk_size or CHUNK_SIZE:,}; bench_copy has {indexes} "
        f"indexes; rows file {rows.stat().st_size / 2**20 if copies else 0:.0f} MB; "
        f"load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}",
        flush=True,
    )

    def copy_once() -> float:
        psql(url, "TRUNCATE bench_copy")
        seconds = psql(url, f"\\copy bench_copy (code, batch_id, serial) FROM '{rows}'")
        print(f"raw COPY: {seconds:.2f} s", flush=True)
        return seconds

    timings = [copy_once()] if copies else []
    command = [sys.executable, __file__, "--child", schema, str(batch.pk)]
    if chunk_size:
        command += ["--chunk-size", str(chunk_size)]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "BENCH_DATABASE_URL": url},
        timeout=1800,
    )
    if done.returncode != 0:
        raise SystemExit(f"generation failed:\n{done.stdout}\n{done.stderr}")
    generation = json.loads(done.stdout.strip().splitlines()[-1])
    print(
        f"generation: {generation['seconds']:.2f} s, peak RSS {generation['peak_mb']:.0f} MB "
        f"(RSS {generation['rss_before_mb']:.0f} MB before generating), "
        f"result {generation['result']}",
        flush=True,
    )
    timings += [copy_once() for _ in range(copies - 1)]
    psql(url, "DROP TABLE bench_copy")

    with tenant_context(merchant):
        done_batch = CodeBatch.objects.get(pk=batch.pk)
        count = Code.objects.filter(batch=done_batch).count()
        serials = Code.objects.filter(batch=done_batch).values("serial").distinct().count()
    connection.set_schema_to_public()
    ok = done_batch.status == BatchStatus.READY and count == serials == size
    print(
        f"check: batch {done_batch.status}, {count:,} codes, {serials:,} distinct serials: "
        f"{'ok' if ok else 'WRONG'}"
    )
    if not ok:
        raise SystemExit("generation check failed")
    disk = disk_sizes(schema, size)
    connection.set_schema_to_public()
    return {"copy": timings, "generation": generation, "disk": disk}


def connections_close() -> None:
    from django.db import connections

    connections.close_all()


if __name__ == "__main__":
    raise SystemExit(main())
