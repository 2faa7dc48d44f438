"""django-tenants' PostgreSQL backend, made cheaper per statement for the hot paths.

Three changes, each measured on the scan claim (docs/benchmarks.md, "Scan claims"):
a health check with no round trip (below), a cursor that binds parameters on the
server for ``core.db.rows``' statements (``bound_cursor``), and psycopg's own
timestamp loader (``get_connection_params``).

Django's health check (``CONN_HEALTH_CHECKS``) runs ``SELECT 1`` before the first
query of every request on a persistent connection. That is one more round trip per
request than the request itself needs: on the scan claim, a sixteenth statement beside
the claim's fifteen (docs/benchmarks.md, "Scan claims").

A connection that sits idle between requests has nothing to read from the server.
If its socket *is* readable, the server has spoken unasked, and on a connection
that does not ``LISTEN`` that means it is going away: a restart, a
``pg_terminate_backend``, an idle timeout (the server sends its ``FATAL`` and closes).
So the check asks the kernel, without waiting, whether the socket is readable, and
libpq whether the connection is still good; either answer closes the connection
and Django opens a fresh one, as after a failed ``SELECT 1``.

What it cannot see is a peer that vanished without a word (a cable pulled, a
firewall dropping state); a ``SELECT 1`` would then hang until the TCP timeout too,
and the request's own first statement fails instead (503, docs/reliability.md).
"""

from __future__ import annotations

import select
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from functools import lru_cache
from typing import Any

import psycopg
from django.db.backends.postgresql.base import TIMESTAMPTZ_OID, Cursor, ServerBindingCursor
from django.db.backends.utils import CursorWrapper
from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantDatabaseWrapper
from django_tenants.utils import quote_schema_name
from psycopg import adapt, pq
from psycopg.abc import AdaptContext, PQGen


class UtcTimestamptzLoader(adapt.Loader):
    """psycopg's own ``timestamptz`` loader (its C one when psycopg-binary is installed),
    under the ``timezone`` attribute that Django's ``create_cursor`` compares.

    Django loads every ``timestamptz`` with a Python subclass of psycopg's pure-Python
    loader, so that values come back in ``DATABASES["TIME_ZONE"]``: 4% of a claim's
    CPU. With the settings here (``USE_TZ``, no database ``TIME_ZONE``) the session's
    time zone is UTC, for which psycopg's loader returns the very same values, with
    ``tzinfo=datetime.timezone.utc``. The C loader cannot be subclassed, so each
    instance hands psycopg the C loader's bound ``load``: no Python frame per value.
    """

    timezone = UTC

    def __init__(self, oid: int, context: AdaptContext | None = None) -> None:
        super().__init__(oid, context)
        self.load = _PSYCOPG_TIMESTAMPTZ_LOADER(oid, context).load  # type: ignore[method-assign]  # the C loader's, per instance (docstring)

    def load(self, data: Any) -> Any:  # replaced per instance in __init__
        raise NotImplementedError


_PSYCOPG_TIMESTAMPTZ_LOADER: Any = psycopg.adapters.get_loader(TIMESTAMPTZ_OID, pq.Format.TEXT)


@lru_cache(maxsize=1)
def _utc_adapters(django_adapters: adapt.AdaptersMap) -> adapt.AdaptersMap:
    """Django's adapters with ``UtcTimestamptzLoader``."""
    adapters = adapt.AdaptersMap(django_adapters)
    adapters.register_loader("timestamptz", UtcTimestamptzLoader)
    return adapters


# The search path of a transaction, set for this transaction only (``SET LOCAL``).
_SET_LOCAL_PATH = "SELECT set_config('search_path', %s, true)"


class _SyncedPipeline(psycopg.Pipeline):
    """psycopg's pipeline, whose exit sends the Sync and nothing after it.

    psycopg's own exit sends a Flush behind the Sync. PgBouncer before 1.21 in
    transaction pooling gives the server connection back at the Sync's
    ``ReadyForQuery``; a Flush that reaches it after that takes a server connection
    again, and since nothing answers a Flush with ``ReadyForQuery`` PgBouncer keeps
    that connection for this client until its next statement. An idle worker so holds
    a server connection, and once all are held the other clients wait until
    ``query_wait_timeout`` (seen in CI: tests/test_pgbouncer.py, one server
    connection). The Sync alone makes the server send every result, so the results are
    read without the Flush.
    """

    def _exit_gen(self) -> PQGen[None]:
        try:
            self._enqueue_sync()
            yield from self._communicate_gen()
        finally:
            yield from self._fetch_gen(flush=False)


@contextmanager
def _synced_pipeline(conn: psycopg.Connection[Any]) -> Iterator[None]:
    """``conn.pipeline()`` with ``_SyncedPipeline``; never nested (Django uses none)."""
    assert conn._pipeline is None
    pipeline = conn._pipeline = _SyncedPipeline(conn)
    try:
        with pipeline:
            yield
    finally:
        conn._pipeline = None


class TransactionPooledCursorMixin:
    """A cursor for a connection through PgBouncer in transaction pooling (decision 0242).

    PgBouncer hands each transaction whichever server connection is free, and
    before 1.20 it does not carry ``search_path`` across: django-tenants' session-wide
    ``SET search_path`` would land on one server connection and the next statement
    run on another, in whatever schema its last client left there. So every
    transaction sets its own path, ``SET LOCAL``, ahead of its first statement (and
    again when the tenant changes inside it), in the same round trip (psycopg's
    pipeline): a statement outside ``atomic()`` is sent as ``BEGIN; SET LOCAL …;
    <statement>; COMMIT`` and still costs one round trip.

    The path wanted comes from ``DatabaseWrapper._handle_search_path`` (set on the
    psycopg connection as ``tenant_search_path``); ``transaction_search_path`` is the
    path this transaction already carries.
    """

    connection: psycopg.Connection[Any]

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        conn = self.connection
        path = getattr(conn, "tenant_search_path", None)
        status = conn.info.transaction_status
        if path is None or (
            status == pq.TransactionStatus.INTRANS
            and getattr(conn, "transaction_search_path", None) == path
        ):
            return super().execute(query, params, **kwargs)  # type: ignore[misc]
        own_transaction = conn.autocommit and status == pq.TransactionStatus.IDLE
        # A plain cursor: this class's execute would come back here.
        plain = psycopg.Cursor(conn)
        try:
            with _synced_pipeline(conn):
                if own_transaction:
                    plain.execute("BEGIN")
                plain.execute(_SET_LOCAL_PATH, (path,))
                super().execute(query, params, **kwargs)  # type: ignore[misc]
                if own_transaction:
                    plain.execute("COMMIT")
        except BaseException:
            if own_transaction and conn.info.transaction_status != pq.TransactionStatus.IDLE:
                plain.execute("ROLLBACK")
            raise
        conn.transaction_search_path = None if own_transaction else path  # type: ignore[attr-defined]
        return self

    def executemany(self, query: Any, params_seq: Any, **kwargs: Any) -> None:
        self._carry_path()
        super().executemany(query, params_seq, **kwargs)  # type: ignore[misc]

    def copy(self, statement: Any, params: Any = None, **kwargs: Any) -> Any:
        self._carry_path()
        return super().copy(statement, params, **kwargs)  # type: ignore[misc]

    def _carry_path(self) -> None:
        """The path for statements that cannot share a pipeline (COPY, executemany):
        inside ``atomic()`` only, where the ``SET LOCAL`` holds until they run."""
        conn = self.connection
        path = getattr(conn, "tenant_search_path", None)
        carried = (
            conn.info.transaction_status == pq.TransactionStatus.INTRANS
            and getattr(conn, "transaction_search_path", None) == path
        )
        if path is None or carried:
            return
        if conn.autocommit:
            raise RuntimeError(
                "Under transaction pooling, COPY and executemany run inside atomic()."
            )
        psycopg.Cursor(conn).execute(_SET_LOCAL_PATH, (path,))
        conn.transaction_search_path = path  # type: ignore[attr-defined]


class TransactionPooledCursor(TransactionPooledCursorMixin, Cursor):
    pass


class TransactionPooledServerBindingCursor(TransactionPooledCursorMixin, ServerBindingCursor):
    pass


class DatabaseWrapper(TenantDatabaseWrapper):
    @property
    def transaction_pooling(self) -> bool:
        """Behind PgBouncer in transaction pooling (``DATABASE_TRANSACTION_POOLING``)."""
        return bool(self.settings_dict.get("TRANSACTION_POOLING"))

    def get_connection_params(self) -> dict[str, Any]:
        params = super().get_connection_params()
        if self.timezone is UTC:  # else Django's loader converts to another zone
            params["context"] = _utc_adapters(params["context"])
        if self.transaction_pooling:
            params["cursor_factory"] = TransactionPooledCursor
        return params

    def _handle_search_path(self, cursor: Any = None) -> None:
        if not self.transaction_pooling:
            super()._handle_search_path(cursor)
            return
        # No statement here: the next transaction carries the path (the cursor's mixin).
        if not self.schema_name:
            super()._handle_search_path(cursor)  # raises django-tenants' own error
            return
        paths = self._get_cursor_search_paths()
        self.connection.tenant_search_path = ", ".join(quote_schema_name(path) for path in paths)
        self.search_path_set_schemas = paths

    def savepoint_rollback(self, sid: str) -> None:
        try:
            super().savepoint_rollback(sid)
        finally:
            # ROLLBACK TO SAVEPOINT undoes a SET LOCAL made after the savepoint (the
            # one sent with the rollback itself included): set the path again.
            if self.connection is not None:
                self.connection.transaction_search_path = None

    def is_usable(self) -> bool:
        if self.connection is None:
            return False
        pgconn = self.connection.pgconn
        if pgconn.status != pq.ConnStatus.OK:
            return False
        if self.connection.info.transaction_status != pq.TransactionStatus.IDLE:
            # Mid-transaction (Django checks only between requests, but be exact):
            # fall back to the round trip, which tells an error from a live session.
            return super().is_usable()
        # poll, not select: select cannot watch a descriptor numbered 1024 or more.
        poller = select.poll()
        try:
            poller.register(pgconn.socket, select.POLLIN)
            events = poller.poll(0)
        except (OSError, ValueError):
            return False
        return not events  # anything (data, hang-up, error) means the server spoke

    def bound_cursor(self, search_path: bool = True) -> CursorWrapper:
        """A cursor that sends parameters apart from the statement (server-side binding).

        Django's psycopg 3 cursors bind client-side: every parameter is quoted into
        the statement's text in Python, which was a tenth of a scan claim's CPU
        (docs/benchmarks.md). This cursor hands the statement and its parameters to
        libpq separately (the extended protocol; nothing is prepared) and its
        parameters are converted in C. It is for ``core.db.rows``' hand-written
        statements only: the ORM keeps Django's cursor, since some ORM queries are
        not valid with server-side binding (a parameter repeated in ``GROUP BY``).

        The same steps as Django's ``cursor()``: health check, connection,
        django-tenants' search path, Django's wrapper (error translation, and query
        logging when it is on, so ``assertNumQueries`` counts these statements).
        ``search_path=False`` leaves the session's path as it is, for statements that
        name their schema (``core.db.rows.public_table``): django-tenants would otherwise
        send a ``SET search_path`` first whenever the schema changed since its last one.
        """
        self.close_if_health_check_failed()
        self.ensure_connection()
        with self.wrap_database_errors:
            cursor_class = (
                TransactionPooledServerBindingCursor
                if self.transaction_pooling
                else ServerBindingCursor
            )
            cursor = cursor_class(self.connection)  # type: ignore[call-arg]  # django-stubs omits its psycopg.Cursor base
        if search_path:
            self._handle_search_path(cursor)
        wrapped: CursorWrapper = self._prepare_cursor(cursor)  # type: ignore[attr-defined]  # private, absent from django-stubs (tests/test_db_backend.py checks it)
        return wrapped
