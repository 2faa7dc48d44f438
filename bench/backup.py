"""The documented backup (``pg_dump -Fc``, the whole database) at 200 merchants; its lock limit.

On a PostgreSQL cluster of its own (``initdb`` in a temporary directory, the machine's
server binaries), started with the stock lock settings (``max_locks_per_transaction``
64, ``max_connections`` 100):

1. migrate, then make ``--merchants`` merchants by copying the template schema
   (``create_merchant``), ``--active`` of them with claims, answers, orders and
   expiries (tests/fixtures/activity.py);
2. ``pg_dump -Fc`` of the whole database: time, size, and the most locks its session
   held (sampled from ``pg_locks``); the catalog's size;
3. ``pg_restore`` into a fresh database, ``manage.py migrate`` and ``ledger_check``
   there, and every table's row count compared;
4. with ``--lock-merchants N``: more plain merchants up to N, ``pg_dump`` again with
   the stock settings (it fails once the tables outnumber the lock table), then the
   cluster restarted with ``max_locks_per_transaction`` computed as docs/operations.md
   says, and ``pg_dump`` once more.

Run from the project root (REDIS_URL: a Redis database of yours, it is flushed)::

    uv run python bench/backup.py [--merchants 200] [--active 20] [--lock-merchants 700]

Figures are printed, never asserted (docs/benchmarks.md, "Backups").
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from tests.fixtures.postgres import PrivateCluster, pg_bin  # noqa: E402

STOCK = ("max_locks_per_transaction=64", "max_connections=100")
# Locks of pg_dump's own catalog reads and of the other sessions, kept free.
HEADROOM = 1_000

SEED = """
import sys, time, uuid
from django.core.cache import cache
from tenants.onboarding import create_merchant
from tests.fixtures.activity import consumer, mall_product, merchant_with_activity
from tenants.models import Merchant
start, total, active = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
product = mall_product() if active else None
people = [consumer() for _ in range(8)] if active else []
began = time.perf_counter()
for n in range(start, total):
    slug = f"shop-{n:05d}"
    if n < active:
        merchant_with_activity(slug, [people[n % 8], people[(n + 3) % 8]], product)
    else:
        create_merchant(slug=slug, name=f"Shop {n}")
print(f"{total - start} merchants in {time.perf_counter() - began:.1f} s")
"""


def manage(url: str, *args: str) -> str:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "DATABASE_URL": url,
        "CELERY_TASK_ALWAYS_EAGER": "1",
    }
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"manage.py {args[0]} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout.strip()


def scalar(url: str, sql: str) -> object:
    with psycopg.connect(url) as conn:
        row = conn.execute(sql).fetchone()
        return row[0] if row else None


def row_counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            """SELECT schemaname, tablename FROM pg_tables
               WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"""
        ).fetchall()
        return {
            f"{s}.{t}": conn.execute(f'SELECT COUNT(*) FROM "{s}"."{t}"').fetchone()[0]  # type: ignore[index]
            for s, t in tables
        }


ALL_TABLES = (
    "SELECT COUNT(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
)


def relations(url: str, schema: str) -> int:
    """Tables and sequences of a schema: pg_dump locks each one (ACCESS SHARE)."""
    return int(
        scalar(  # type: ignore[call-overload]
            url,
            "SELECT COUNT(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            f"WHERE n.nspname = '{schema}' AND c.relkind IN ('r', 'p', 'S')",
        )
    )


def catalog(url: str) -> str:
    size = scalar(
        url,
        """SELECT SUM(pg_total_relation_size(c.oid)) FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'pg_catalog'""",
    )
    return f"{scalar(url, ALL_TABLES)} tables, catalog {int(size) / 1e6:.0f} MB"  # type: ignore[call-overload]


def dump(url: str, admin: str, out: Path) -> tuple[bool, float, int, str]:
    """pg_dump -Fc: (succeeded, seconds, most locks held by its session, error)."""
    peak = [0]
    done_event = threading.Event()

    def sample() -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            while not done_event.is_set():
                row = conn.execute(
                    """SELECT COUNT(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                       WHERE a.application_name = 'pg_dump'"""
                ).fetchone()
                peak[0] = max(peak[0], row[0] if row else 0)
                time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    done = subprocess.run(
        [pg_bin("pg_dump"), "-Fc", "-d", url, "-f", str(out)], capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    done_event.set()
    sampler.join()
    lines = done.stderr.strip().splitlines()
    error = next((line for line in lines if "ERROR" in line), lines[-1] if lines else "")
    return done.returncode == 0, seconds, peak[0], error


def required_locks(merchants: int, per_merchant: int, public: int, connections: int = 100) -> int:
    """``max_locks_per_transaction`` for a whole-database dump (docs/operations.md).

    The lock table is shared: it holds ``max_locks_per_transaction * (max_connections +
    max_prepared_transactions)`` locks, and one pg_dump session needs one per table and
    sequence of every schema (the template counts as a merchant) until it ends.
    """
    return math.ceil((per_merchant * (merchants + 1) + public + HEADROOM) / connections)


def raise_locks(
    cluster: PrivateCluster, admin: str, merchants: int, per_merchant: int, public: int
) -> None:
    """Restart the cluster with the documented setting for ``merchants``."""
    memory = scalar(admin, "SHOW shared_memory_size")
    setting = required_locks(merchants, per_merchant, public)
    cluster.ctl("restart", f"max_locks_per_transaction={setting}", "max_connections=100")
    print(f"restarted with max_locks_per_transaction={setting}: shared memory {memory} -> "
          f"{scalar(admin, 'SHOW shared_memory_size')}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--merchants", type=int, default=200)
    parser.add_argument("--active", type=int, default=20)
    parser.add_argument("--lock-merchants", type=int, default=0)
    parser.add_argument("--no-restore", action="store_true", help="only dump (large runs)")
    parser.add_argument(
        "--server",
        nargs="*",
        default=list(STOCK),
        help="server settings to start with (name=value), instead of the stock lock settings",
    )
    parser.add_argument("--keep", action="store_true", help="keep the cluster's directory")
    args = parser.parse_args()

    base = Path(tempfile.mkdtemp(prefix="loyalty-backup-"))
    if os.geteuid() == 0:
        base.chmod(0o755)
    cluster = PrivateCluster(base)
    cluster.init()
    cluster.ctl("start", *args.server)
    admin = cluster.url("postgres")
    url, restored = cluster.url("loyalty_backup"), cluster.url("loyalty_backup_restore")
    try:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("CREATE DATABASE loyalty_backup")
        print(f"PostgreSQL {scalar(admin, 'SHOW server_version')}, {args.server}")
        started = time.perf_counter()
        manage(url, "migrate", "-v0")
        print(f"migrate: {time.perf_counter() - started:.1f} s")
        print("seed:", manage(url, "shell", "-c", SEED.replace("sys.argv[1]", "0")
                               .replace("sys.argv[2]", str(args.merchants))
                               .replace("sys.argv[3]", str(args.active))))  # fmt: skip
        per_merchant, public = relations(url, "merchant_template"), relations(url, "public")
        print(f"relations pg_dump locks: {per_merchant} per merchant schema, {public} in public")
        print(f"{args.merchants} merchants: {catalog(url)}, database "
              f"{int(scalar(url, 'SELECT pg_database_size(current_database())')) / 1e6:.0f} MB")  # type: ignore[call-overload]  # fmt: skip

        out = base / "loyalty.dump"
        ok, seconds, locks, error = dump(url, admin, out)
        print(f"pg_dump -Fc, {args.server}: {'ok' if ok else 'FAILED: ' + error}, "
              f"{seconds:.1f} s, at most {locks} locks held")  # fmt: skip
        if not ok:
            raise_locks(cluster, admin, args.merchants, per_merchant, public)
            ok, seconds, locks, error = dump(url, admin, out)
            print(f"pg_dump -Fc: {'ok' if ok else 'FAILED: ' + error}, {seconds:.1f} s, "
                  f"at most {locks} locks held")  # fmt: skip
        if ok:
            print(f"dump size: {out.stat().st_size / 1e6:.1f} MB")
        if ok and not args.no_restore:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute("CREATE DATABASE loyalty_backup_restore")
            started = time.perf_counter()
            subprocess.run([pg_bin("pg_restore"), "-d", restored, str(out)], check=True)
            print(f"pg_restore: {time.perf_counter() - started:.1f} s")
            started = time.perf_counter()
            manage(restored, "migrate", "-v0")
            print(f"migrate on the restored database: {time.perf_counter() - started:.1f} s")
            print("ledger_check:", manage(restored, "ledger_check").splitlines()[-1])
            same = row_counts(url) == row_counts(restored)
            print(f"every table's row count equal after restore: {same}")

        if args.lock_merchants > args.merchants:
            seed = SEED.replace("sys.argv[1]", str(args.merchants))
            seed = seed.replace("sys.argv[2]", str(args.lock_merchants))
            seed = seed.replace("sys.argv[3]", "0")
            print("seed:", manage(url, "shell", "-c", seed))
            print(f"{args.lock_merchants} merchants: {catalog(url)}")
            ok, seconds, locks, error = dump(url, admin, out)
            print(f"pg_dump -Fc, {args.server}: {'ok' if ok else 'FAILED: ' + error}, "
                  f"{seconds:.1f} s, at most {locks} locks held")  # fmt: skip
            raise_locks(cluster, admin, args.lock_merchants, per_merchant, public)
            ok, seconds, locks, error = dump(url, admin, out)
            print(f"pg_dump -Fc: {'ok' if ok else 'FAILED: ' + error}, {seconds:.1f} s, "
                  f"{out.stat().st_size / 1e6:.1f} MB, at most {locks} locks held")  # fmt: skip
        for n in (1_000, 10_000):
            setting = required_locks(n, per_merchant, public)
            print(f"max_locks_per_transaction for {n:,} merchants: at least {setting}")
    finally:
        cluster.ctl("stop")
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
