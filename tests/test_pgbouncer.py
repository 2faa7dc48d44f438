"""django-tenants behind PgBouncer in transaction pooling (issue 25, decision 0242).

PgBouncer 1.18 (Debian 12) gives each transaction whichever server connection is
free and does not carry ``search_path``. The pool here has one server connection, and
a second client ("the neighbour") leaves a session ``SET search_path`` on it before
each of our transactions, as another worker's django-tenants would. With
``TRANSACTION_POOLING`` every statement must still see its own tenant's schema:
outside ``atomic()``, inside it, after a tenant switch inside it, after a savepoint
rollback, through ``bound_cursor`` and through COPY. The same run without it reads
the neighbour's schema (the control that shows the test can fail).
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.core.management import call_command
from django.db import connections, transaction
from django_tenants.utils import tenant_context

from accounts.models import User
from accounts.tokens import issue
from campaigns.models import Claim
from core.db import connection
from core.db.base import DatabaseWrapper
from points import ledger
from tests.fixtures.postgres import PGBOUNCER, PgBouncer, running_bouncer
from tests.fixtures.tenants import merchant_with_codes
from tests.test_bursts import production_server

pytestmark = [
    pytest.mark.usefixtures("committed_db"),
    pytest.mark.skipif(not Path(PGBOUNCER).exists(), reason="pgbouncer is not installed"),
]

SCHEMAS = ("pool_a", "pool_b")


@pytest.fixture
def schemas() -> Iterator[None]:
    with connections["default"].cursor() as cursor:
        for name in SCHEMAS:
            cursor.execute(f"CREATE SCHEMA {name}")
            cursor.execute(f"CREATE TABLE {name}.marker (v text)")
            cursor.execute(f"INSERT INTO {name}.marker VALUES (%s)", [name])
    yield
    with connections["default"].cursor() as cursor:
        for name in SCHEMAS:
            cursor.execute(f"DROP SCHEMA {name} CASCADE")


def through(bouncer: PgBouncer, *, pooling: bool) -> Iterator[DatabaseWrapper]:
    """A connection through ``bouncer``, registered under an alias of its own for
    ``transaction.atomic(using=…)``; made by hand, since the test run only lets a test
    open the aliases it declared when it began."""
    alias = f"pooled_{pooling}"
    settings = {
        **connections["default"].settings_dict,
        "HOST": "127.0.0.1",
        "PORT": str(bouncer.port),
        "TRANSACTION_POOLING": pooling,
        "DISABLE_SERVER_SIDE_CURSORS": pooling,
    }
    wrapper = DatabaseWrapper(settings, alias)
    connections[alias] = wrapper
    try:
        yield wrapper
    finally:
        wrapper.close()
        del connections[alias]


@pytest.fixture
def pooled(bouncer: PgBouncer, schemas: None) -> Iterator[DatabaseWrapper]:
    yield from through(bouncer, pooling=True)


@pytest.fixture
def neighbour(bouncer: PgBouncer) -> Iterator[psycopg.Connection[Any]]:
    """Another client of the pool, leaving ``search_path`` set on the server connection."""
    db = connections["default"].settings_dict
    with psycopg.connect(
        host="127.0.0.1", port=bouncer.port, user=db["USER"], dbname=db["NAME"], autocommit=True
    ) as conn:
        yield conn


def other(schema: str) -> str:
    return SCHEMAS[1 - SCHEMAS.index(schema)]


def leave_path(neighbour: psycopg.Connection[Any], schema: str) -> None:
    neighbour.execute(f"SET search_path = {schema}")


def marker(wrapper: DatabaseWrapper) -> str:
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT v FROM marker")
        (row,) = cursor.fetchall()
    return str(row[0])


def test_statements_outside_a_transaction_see_their_tenant(
    pooled: DatabaseWrapper, neighbour: psycopg.Connection[Any]
) -> None:
    for schema in SCHEMAS * 3:
        pooled.set_schema(schema)
        leave_path(neighbour, other(schema))
        assert marker(pooled) == schema
        leave_path(neighbour, other(schema))
        with pooled.bound_cursor() as cursor:
            cursor.execute("SELECT v FROM marker WHERE v = %s", [schema])
            assert cursor.fetchall() == [(schema,)]
    # Each statement was its own transaction: nothing is left open on the pool.
    assert pooled.connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


def test_a_statement_outside_a_transaction_ends_with_its_sync(
    pooled: DatabaseWrapper, tmp_path: Path
) -> None:
    """Nothing follows the Sync on the wire (``core.db.base._SyncedPipeline``): a Flush
    after it reached PgBouncer 1.18, at times, after the server connection was given
    back, took it again and kept it, and the neighbour then waited two minutes for it
    (CI's query_wait_timeout). Read off libpq's own trace of the messages sent."""
    pooled.set_schema("pool_a")
    pooled.ensure_connection()
    pgconn = pooled.connection.pgconn
    trace = tmp_path / "libpq.trace"
    with trace.open("w") as out:
        pgconn.trace(out.fileno())
        pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)
        try:
            assert marker(pooled) == "pool_a"
            with pooled.bound_cursor() as cursor:
                cursor.execute("SELECT v FROM marker WHERE v = %s", ["pool_a"])
        finally:
            pgconn.untrace()
    sent = [
        fields[2] for fields in (line.split("\t") for line in trace.read_text().splitlines())
        if fields[0] == "F"
    ]  # fmt: skip
    assert sent.count("Sync") == 2, sent
    assert "Flush" not in sent, sent


@pytest.mark.parametrize("idle_transaction_timeout", [2, 0])
def test_a_client_gone_silent_inside_a_transaction_loses_its_locks(
    idle_transaction_timeout: int,
) -> None:
    """A host that crashes inside a transaction, its FIN never sent, leaves its client
    connection open to PgBouncer; PgBouncer's ``idle_transaction_timeout``
    (``deploy.topology.pgbouncer_ini``) ends that transaction, and its locks with it.
    The control (0: no timeout, PgBouncer's default) still holds the lock."""
    db = connections["default"].settings_dict
    with (
        running_bouncer(pool_size=2, idle_transaction_timeout=idle_transaction_timeout) as bouncer,
        psycopg.connect(
            host="127.0.0.1", port=bouncer.port, user=db["USER"], dbname=db["NAME"]
        ) as crashed,
        psycopg.connect(
            host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"]
        ) as survivor,
    ):
        crashed.execute("SELECT pg_advisory_xact_lock(4242)")  # and then: silence
        survivor.execute("SET lock_timeout = '5s'")
        if idle_transaction_timeout:
            survivor.execute("SELECT pg_advisory_xact_lock(4242)")
            with pytest.raises(psycopg.OperationalError):
                crashed.execute("SELECT 1")
        else:
            with pytest.raises(psycopg.errors.LockNotAvailable):
                survivor.execute("SELECT pg_advisory_xact_lock(4242)")


def test_a_transaction_carries_its_path_through_switches_and_savepoints(
    pooled: DatabaseWrapper, neighbour: psycopg.Connection[Any]
) -> None:
    pooled.set_schema("pool_a")
    leave_path(neighbour, "pool_b")
    with transaction.atomic(using=pooled.alias):
        assert marker(pooled) == "pool_a"
        pooled.set_schema("pool_b")
        assert marker(pooled) == "pool_b"
        try:
            with transaction.atomic(using=pooled.alias):
                pooled.set_schema("pool_a")
                assert marker(pooled) == "pool_a"
                raise LookupError  # rolls back to the savepoint, and the SET LOCAL with it
        except LookupError:
            pass
        # Still pool_a wanted: the path is set again, not assumed.
        assert marker(pooled) == "pool_a"
        with pooled.cursor() as cursor, cursor.copy("COPY marker (v) FROM STDIN") as copy:
            copy.write("copied\n")
    leave_path(neighbour, "pool_b")
    pooled.set_schema("pool_a")
    with pooled.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM marker WHERE v = 'copied'")
        assert cursor.fetchone() == (1,)


def test_a_failed_statement_leaves_no_transaction_open(
    pooled: DatabaseWrapper, neighbour: psycopg.Connection[Any]
) -> None:
    pooled.set_schema("pool_a")
    with pytest.raises(Exception, match="division by zero"), pooled.cursor() as cursor:
        cursor.execute("SELECT 1 / 0 FROM marker")
    assert pooled.connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    leave_path(neighbour, "pool_b")
    assert marker(pooled) == "pool_a"


def test_without_transaction_pooling_the_neighbours_path_leaks(
    bouncer: PgBouncer, schemas: None, neighbour: psycopg.Connection[Any]
) -> None:
    """The control: django-tenants' session ``SET`` alone reads the wrong schema."""
    wrong = 0
    for wrapper in through(bouncer, pooling=False):
        for schema in SCHEMAS * 3:
            wrapper.set_schema(schema)
            marker(wrapper)  # django-tenants' SET goes with this one...
            leave_path(neighbour, other(schema))
            wrong += marker(wrapper) != schema  # ...this one meets the neighbour's
    assert wrong == 6


# --- The application through the pool --------------------------------------------------

CLAIM = Path(__file__).resolve().parent.parent / "graphql/operations/consumer/ClaimCode.graphql"
CODES_EACH, POINTS, CLIENTS = 24, 5, 6


def _claim(port: int, token: str, code: str) -> dict[str, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql/",
        data=json.dumps(
            {"query": CLAIM.read_text(), "variables": {"code": code, "idempotencyKey": code}}
        ).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())["data"]["claimCode"]


@pytest.mark.timeout(240)
def test_claims_of_two_merchants_through_the_pool_land_in_their_own_schemas(
    bouncer: PgBouncer,
    neighbour: psycopg.Connection[Any],
    unique: Callable[[str], str],
    new_phone: Callable[[], str],
    tmp_path: Path,
) -> None:
    """gunicorn (8 threads) on PgBouncer's 1 server connection, claiming the codes of two
    merchants in an interleaved order while the neighbour keeps leaving the other
    merchant's schema on the server connection: every claim succeeds in its own
    merchant's schema, once, and the ledger balances."""
    merchants = [merchant_with_codes(unique, CODES_EACH, POINTS) for _ in range(2)]
    consumers = [User.objects.get_or_create_consumer(new_phone())[0] for _ in range(CLIENTS)]
    tokens = [issue(user).access_token for user in consumers]
    codes = [
        code for pair in zip(*(found for _m, found in merchants), strict=True) for code in pair
    ]
    schemas = [merchant.schema_name for merchant, _codes in merchants]
    stop = threading.Event()

    def leave_other_paths() -> None:
        while not stop.is_set():
            for schema in schemas:
                leave_path(neighbour, schema)

    url = f"postgres://postgres@127.0.0.1:{bouncer.port}/{connection.settings_dict['NAME']}"
    with production_server(tmp_path, DATABASE_URL=url, DATABASE_TRANSACTION_POOLING="1") as (
        port,
        _sampler,
    ):
        leaker = threading.Thread(target=leave_other_paths)
        leaker.start()
        try:
            with ThreadPoolExecutor(CLIENTS) as pool:
                answers = list(
                    pool.map(
                        lambda n: _claim(port, tokens[n % CLIENTS], codes[n]), range(len(codes))
                    )
                )
        finally:
            stop.set()
            leaker.join()
    assert [a["errors"] for a in answers] == [[]] * len(codes)
    for merchant, found in merchants:
        with tenant_context(merchant):
            assert Claim.objects.count() == CODES_EACH
            assert set(Claim.objects.values_list("code_id", flat=True)) == set(found)
    expected = {user.pk: 0 for user in consumers}
    for n in range(len(codes)):
        expected[consumers[n % CLIENTS].pk] += POINTS
    assert {user.pk: ledger.balance_of(ledger.wallet(user.pk)) for user in consumers} == expected
    call_command("ledger_check")
