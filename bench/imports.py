"""A file of 1,000,000 printer codes imported through a real Celery worker, beside a raw COPY.

* **import**: ``createCodeImport``'s service (``campaigns.scan.imports.request_import``)
  and the upload's (``receive_file``, which stores the CSV and queues the task through
  Redis); a real worker (``celery -A config worker --pool solo``, started before and
  ready) runs ``campaigns.tasks.import_codes``: the whole file checked (shape, entropy)
  and staged, then the batch, its codes, their routing rows and the reserve in one
  transaction, whose unique keys refuse duplicates in the file and against every code
  of the platform (a clean file is not searched for them: decision 0332). Timed from the
  upload's queueing to the import's ``imported`` status, polled in the database. The
  worker's peak resident memory is its ``VmHWM`` (the solo pool runs the task in the
  worker's own process).
* **raw COPY**: ``psql``'s ``\\copy`` of the same codes as rows (code, batch id, serial)
  into ``bench_copy`` (``LIKE campaigns_code INCLUDING ALL``): what PostgreSQL alone
  needs to store them, in the file's order. Run before and after the import
  (``--copies``); the ratio uses their mean. The issue's target: at most 3x.
* **raw COPY, sorted**: the same rows sorted by code first, as the import (and code
  generation) writes them: the primary key's index then fills leaf after leaf. The
  stricter reference; its ratio is printed too.

The codes are 20 random digits (66 bits; the file passes the entropy check), one per
line. Run from the project root::

    uv run python bench/imports.py [--size 1000000] [--copies 2] [--keep]

Database: BENCH_DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/loyalty_bench_imports), dropped and created at start
and dropped at the end unless --keep; Redis: BENCH_REDIS_URL (default
redis://127.0.0.1:6379/13), flushed. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
for path in (ROOT, BENCH):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from generation import psql  # noqa: E402
from harness import bench_resources  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/loyalty_bench_imports"
DEFAULT_REDIS = "redis://127.0.0.1:6379/13"
QUEUE = "bench-imports"


def environment(url: str, redis_url: str, workdir: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "CELERY_TASK_DEFAULT_QUEUE": QUEUE,
        "MEDIA_ROOT": str(workdir / "media"),
        "LOG_LEVEL": "WARNING",
    }


def write_files(workdir: Path, size: int) -> tuple[Path, Path, Path]:
    """The CSV the merchant uploads and the same codes as COPY rows (code, batch, serial),
    in the file's order and sorted by code."""
    csv_path, rows_path = workdir / "codes.csv", workdir / "rows.tsv"
    sorted_path = workdir / "rows-sorted.tsv"
    rows: list[str] = []
    with open(csv_path, "w") as csv_file, open(rows_path, "w") as rows_file:
        for start in range(0, size, 100_000):
            count = min(100_000, size - start)
            codes = [f"{secrets.randbelow(10**20):020d}" for _ in range(count)]
            csv_file.write("\n".join(codes) + "\n")
            chunk = [f"{code}\t1\t{serial}\n" for serial, code in enumerate(codes, start)]
            rows_file.writelines(chunk)
            rows += chunk
    rows.sort()
    with open(sorted_path, "w") as sorted_file:
        sorted_file.writelines(rows)
    return csv_path, rows_path, sorted_path


def peak_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000, help="codes in the file")
    parser.add_argument("--copies", type=int, default=2, help="raw COPY runs (first before)")
    parser.add_argument("--keep", action="store_true", help="keep the database at the end")
    args = parser.parse_args(argv)
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS)
    with bench_resources(url, redis_url, keep=args.keep, prefix="bench-imports") as workdir:
        return run(url, redis_url, workdir, args.size, args.copies)


def run(url: str, redis_url: str, workdir: Path, size: int, copies: int) -> int:
    env = environment(url, redis_url, workdir)
    os.environ.update(env)
    import django

    django.setup()
    from django.core.files import File
    from django.core.management import call_command
    from django_tenants.utils import tenant_context

    from campaigns.models import CampaignStatus, Code, CodeImport, ImportLayout, ImportStatus
    from campaigns.scan import imports, services
    from campaigns.services import set_status
    from config.celery import app
    from core.db import connection
    from points.services import fund_with_money
    from tenants.models import CodeRoute
    from tenants.onboarding import create_merchant

    t0 = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    connection.set_schema_to_public()
    merchant = create_merchant(slug="bench-imports", name="Bench Imports")
    fund_with_money(
        merchant, amount_minor=size, currency="CNY", rate="100", payment_reference="bench-imp"
    )
    schema = merchant.schema_name
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE TABLE bench_copy (LIKE "{schema}".campaigns_code INCLUDING ALL)')
    csv_path, rows_path, sorted_path = write_files(workdir, size)
    print(
        f"set-up: {time.perf_counter() - t0:.1f} s; {size:,} codes, CSV "
        f"{csv_path.stat().st_size / 2**20:.0f} MB; load average "
        f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}",
        flush=True,
    )

    def copy_once(path: Path = rows_path, label: str = "raw COPY") -> float:
        psql(url, "TRUNCATE bench_copy")
        seconds = psql(url, f"\\copy bench_copy (code, batch_id, serial) FROM '{path}'")
        print(f"{label}: {seconds:.2f} s", flush=True)
        return seconds

    def copy_sorted() -> float:
        return copy_once(sorted_path, "raw COPY, sorted")

    timings = [copy_once()] if copies else []
    sorted_timings = [copy_sorted()] if copies else []
    log = open(workdir / "worker.log", "wb")  # noqa: SIM115 (open for the worker's life)
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo",
         "--without-gossip", "--without-mingle", "--loglevel", "WARNING", "-Q", QUEUE],
        cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not app.control.ping(timeout=1.0):
            if time.monotonic() > deadline or worker.poll() is not None:
                raise SystemExit(f"the worker did not start: {workdir / 'worker.log'}")
        idle_mb = rss_mb(worker.pid)
        with tenant_context(merchant):
            campaign = services.create_scan_campaign(name="Bench printer caps")
            set_status(merchant, campaign, CampaignStatus.ACTIVE)
            code_import = imports.request_import(
                merchant, campaign, layout=ImportLayout.CODES, file_format="csv", points_per_code=1
            )
            with open(csv_path, "rb") as upload:
                started = time.perf_counter()
                imports.receive_file(code_import, File(upload, name="codes.csv"))
            stored = time.perf_counter() - started
            last = ""
            while True:
                row = CodeImport.objects.get(pk=code_import.pk)
                seen = f"{row.status} {row.lines_read:,}"
                if seen != last:
                    print(f"  {time.perf_counter() - started:6.1f} s  {seen}", flush=True)
                    last = seen
                if row.is_finished:
                    break
                time.sleep(0.2)
            seconds = time.perf_counter() - started
            worker_peak = peak_mb(worker.pid)
            codes = Code.objects.filter(batch_id=row.batch_id).count()
        connection.set_schema_to_public()
        routes = CodeRoute.objects.filter(merchant_id=merchant.pk).count()
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)
        log.close()
    ok = row.status == ImportStatus.IMPORTED and codes == routes == size
    print(
        f"import through the worker: {seconds:.2f} s (of which storing the upload "
        f"{stored:.2f} s), status {row.status}, {row.bits_per_code} bits per code; "
        f"{codes:,} codes, {routes:,} routes: {'ok' if ok else 'WRONG ' + row.failure_reason}"
    )
    print(f"worker memory: peak {worker_peak:.0f} MB (idle before the import {idle_mb:.0f} MB)")
    timings += [copy_once() for _ in range(copies - 1)]
    sorted_timings += [copy_sorted() for _ in range(copies - 1)]
    if timings:
        mean = sum(timings) / len(timings)
        print(f"import / raw COPY: {seconds / mean:.2f}x (target <= 3x; COPY mean {mean:.2f} s)")
        mean = sum(sorted_timings) / len(sorted_timings)
        print(f"import / raw COPY sorted: {seconds / mean:.2f}x (COPY mean {mean:.2f} s)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
