"""The backup of docs/operations.md, taken and restored for real.

Merchants with claims, answers, orders, cancelled orders and expired lots are made
through the services (tests/fixtures/activity.py); then, as the operations guide says,
``pg_dump -Fc`` of the whole database, ``pg_restore`` into a fresh database,
``manage.py migrate`` (a no-op) and ``manage.py ledger_check`` there, as processes. The
restored database must have every table of every schema with the same number of rows,
and every ledger balance, entry sum and lot the same as the original.

The run here is small (a dozen merchants besides what the suite made) so that the
suite stays fast on two cores; ``bench/backup.py`` measures 200 merchants and the
lock limit on a cluster of its own (docs/benchmarks.md, decision 0177).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tenants.provisioning import ensure_template_schema
from tests.fixtures.activity import consumer, mall_product, merchant_with_activity
from tests.fixtures.processes import ROOT, child_env, database_url

pytestmark = pytest.mark.usefixtures("committed_db")

MERCHANTS = 8
# Tables and sequences of a merchant's schema: pg_dump locks each one, and
# docs/operations.md computes max_locks_per_transaction from this number.
RELATIONS_PER_MERCHANT = 56


def _names() -> tuple[str, str]:
    from core.db import connection

    name = str(connection.settings_dict["NAME"])
    return name, name.removeprefix("test_") + "_restore"


def _admin(sql: str) -> None:
    with psycopg.connect(database_url("postgres"), autocommit=True) as admin:
        admin.execute(sql)


def _query(database: str, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    with psycopg.connect(database_url(database)) as conn:
        return conn.execute(sql, params).fetchall()


def row_counts(database: str) -> dict[str, int]:
    """Rows of every table of every schema (public, the template, each merchant's)."""
    tables = _query(
        database,
        """SELECT schemaname, tablename FROM pg_tables
           WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2""",
    )
    with psycopg.connect(database_url(database)) as conn:
        counts = {}
        for schema, table in tables:
            row = conn.execute(f'SELECT COUNT(*) FROM "{schema}"."{table}"').fetchone()
            assert row is not None
            counts[f"{schema}.{table}"] = row[0]
        return counts


def ledger_state(database: str) -> dict[str, list[tuple[Any, ...]]]:
    return {
        "balances": _query(database, "SELECT id, kind, balance FROM points_account ORDER BY id"),
        "entry sums": _query(
            database,
            "SELECT account_id, SUM(amount) FROM points_entry GROUP BY 1 ORDER BY 1",
        ),
        "lots": _query(
            database, "SELECT id, merchant_id, points, remaining FROM points_lot ORDER BY id"
        ),
    }


def run(*command: str, database: str | None = None) -> subprocess.CompletedProcess[str]:
    env = child_env(DATABASE_URL=database_url(database)) if database else None
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, (command, done.stdout, done.stderr)
    return done


@pytest.fixture
def restored_name() -> Iterator[str]:
    _source, restored = _names()
    _admin(f'DROP DATABASE IF EXISTS "{restored}" WITH (FORCE)')
    yield restored
    _admin(f'DROP DATABASE IF EXISTS "{restored}" WITH (FORCE)')


def test_a_whole_database_dump_restores_every_row_and_balance(
    restored_name: str,
    tmp_path: Path,
    unique: Callable[[str], str],
    new_phone: Callable[[], str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    product = mall_product()
    people = [consumer(new_phone()) for _ in range(4)]
    for n in range(MERCHANTS):
        # Each merchant's consumers overlap the next one's: wallets hold several merchants.
        merchant_with_activity(unique("backup"), [people[n % 4], people[(n + 1) % 4]], product)
    source, _restored = _names()
    template = ensure_template_schema()
    locked = _query(
        source,
        """SELECT COUNT(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'S')""",
        [template],
    )
    assert locked == [(RELATIONS_PER_MERCHANT,)], (
        "tenant tables changed: update RELATIONS_PER_MERCHANT and the lock setting in "
        "docs/operations.md (bench/backup.py prints it)"
    )

    before_rows, before_ledger = row_counts(source), ledger_state(source)
    dump = tmp_path / "loyalty.dump"
    started = time.perf_counter()
    run("pg_dump", "-Fc", "-d", database_url(source), "-f", str(dump))
    dumped = time.perf_counter() - started

    started = time.perf_counter()
    _admin(f'CREATE DATABASE "{restored_name}"')
    run("pg_restore", "-d", database_url(restored_name), str(dump))
    restored = time.perf_counter() - started
    run(sys.executable, "manage.py", "migrate", "-v0", database=restored_name)
    check = run(sys.executable, "manage.py", "ledger_check", database=restored_name)
    assert "ledger is consistent" in check.stdout

    assert row_counts(restored_name) == before_rows
    assert ledger_state(restored_name) == before_ledger
    schemas = {name.split(".")[0] for name in before_rows}
    with capsys.disabled():
        print(
            f"\nbackup: {len(schemas) - 2} merchant schemas, {len(before_rows)} tables, "
            f"{sum(before_rows.values())} rows; pg_dump -Fc {dumped:.1f} s, "
            f"{dump.stat().st_size / 1e6:.1f} MB; pg_restore {restored:.1f} s"
        )
