"""django-tenants' PostgreSQL backend, with a health check that costs no round trip.

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

from django.db.backends.postgresql.base import ServerBindingCursor
from django.db.backends.utils import CursorWrapper
from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantDatabaseWrapper
from psycopg import pq


class DatabaseWrapper(TenantDatabaseWrapper):
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

    def bound_cursor(self) -> CursorWrapper:
        """A cursor that sends parameters apart from the statement (server-side binding).

        Django's psycopg 3 cursors bind client-side: every parameter is quoted into
        the statement's text in Python, which was a tenth of a scan claim's CPU
        (docs/benchmarks.md). This cursor hands the statement and its parameters to
        libpq separately (the extended protocol; nothing is prepared) and its
        parameters are converted in C. It is for ``config.rows``' hand-written
        statements only: the ORM keeps Django's cursor, since some ORM queries are
        not valid with server-side binding (a parameter repeated in ``GROUP BY``).

        The same steps as Django's ``cursor()``: health check, connection,
        django-tenants' search path, Django's wrapper (error translation, and query
        logging when it is on, so ``assertNumQueries`` counts these statements).
        """
        self.close_if_health_check_failed()
        self.ensure_connection()
        with self.wrap_database_errors:
            cursor = ServerBindingCursor(self.connection)
        self._handle_search_path(cursor)
        return self._prepare_cursor(cursor)
