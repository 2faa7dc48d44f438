"""Reads from a streaming replica, with read-your-writes (issue 25, decision 0243).

With ``DATABASE_REPLICA_URL`` set, the catalogue, analytics and exports read from the
``replica`` alias, asked for explicitly (``read_alias``, then ``.using(alias)``, or
``read(query)``, which also survives the replica failing mid-read): a read that follows
a write in the same request never goes there by accident. Related rows
fetched from such a queryset's objects follow their instance's database (Django's router
falls back to ``instance._state.db``), so a page is read from one place.

The replica is used only while it is:

- **reachable**: a failed connection marks it down for ``DOWN_SECONDS`` (shared through
  the cache, so one failure spares every process the connect timeout);
- **caught up**: at most every ``CHECK_SECONDS`` a process compares the replica's replay
  position with the primary's WAL position at its previous check. A replica that has not
  yet replayed what the primary had written a check ago (replay paused, a slow disk, a
  broken stream) is lagging by more than that interval: reads go to the primary;
- **past the client's last write**: a client that has just written (``pin``) is sent to
  the primary until the replica has replayed past that write's LSN
  (``pg_last_wal_replay_lsn() >= pinned``), then back to the replica. The pin is kept in
  the cache for ``PIN_SECONDS``; a replica slower than that is lagging anyway. A "client"
  is whoever reads next: a consumer, or a piece of work queued after a write (a batch
  export reads codes its request's transaction saw, decision 0301).

django-tenants sets the tenant only on the default connection: ``set_tenant_on_replica``
(``EXTRA_SET_TENANT_METHOD_PATH``) gives the replica connection the same schema.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import (
    DEFAULT_DB_ALIAS,
    DatabaseError,
    InterfaceError,
    OperationalError,
    connections,
    transaction,
)

REPLICA = "replica"
CHECK_SECONDS = 1.0
DOWN_SECONDS = 10
PIN_SECONDS = 300
_DOWN_KEY = "replica:down"
T = TypeVar("T")


def configured() -> bool:
    return REPLICA in settings.DATABASES


def _pin_key(client: object) -> str:
    return f"replica:pin:{client}"


class _Health:
    """This process's last view of the replica (``CHECK_SECONDS`` apart)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.checked_at = 0.0
        self.primary_lsn: str | None = None  # the primary's position at the last check
        self.caught_up = False

    def replica_caught_up(self) -> bool:
        now = time.monotonic()
        with self.lock:
            if now - self.checked_at < CHECK_SECONDS:
                return self.caught_up
            self.checked_at = now
            previous = self.primary_lsn
            with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
                cursor.execute("SELECT pg_current_wal_lsn()::text")
                self.primary_lsn = cursor.fetchone()[0]
            # NULL on a server that is not in recovery: a "replica" that is a primary
            # has replayed nothing of ours.
            target = previous or self.primary_lsn
            with connections[REPLICA].cursor() as cursor:
                cursor.execute(
                    "SELECT coalesce(pg_last_wal_replay_lsn() >= %s::pg_lsn, false)", [target]
                )
                self.caught_up = bool(cursor.fetchone()[0])
            return self.caught_up


_health = _Health()


def read_alias(client: object | None = None) -> str:
    """The database to read replica-safe data from, for ``client`` (a user's id, or
    None for an anonymous reader, who has written nothing to see again)."""
    if not configured() or cache.get(_DOWN_KEY):
        return DEFAULT_DB_ALIAS
    try:
        if not _health.replica_caught_up():
            return DEFAULT_DB_ALIAS
        pinned = cache.get(_pin_key(client)) if client is not None else None
        if pinned is not None:
            with connections[REPLICA].cursor() as cursor:
                cursor.execute(
                    "SELECT coalesce(pg_last_wal_replay_lsn() >= %s::pg_lsn, false)", [pinned]
                )
                if not cursor.fetchone()[0]:
                    return DEFAULT_DB_ALIAS
            cache.delete(_pin_key(client))
    except DatabaseError:
        _mark_down()
        return DEFAULT_DB_ALIAS
    return REPLICA


def _mark_down() -> None:
    cache.set(_DOWN_KEY, 1, DOWN_SECONDS)
    connections[REPLICA].close()


def read(query: Callable[[str], T], client: object | None = None) -> T:
    """``query(alias)`` on ``read_alias(client)``'s database. A replica that fails during
    it (its connection lost, or a statement cancelled by a conflict with recovery) is
    marked down and the query runs again on the primary, so a long export survives the
    replica going away between two of its pages. ``query`` must only read."""
    alias = read_alias(client)
    if alias == DEFAULT_DB_ALIAS:
        return query(alias)
    try:
        return query(alias)
    except (OperationalError, InterfaceError):
        _mark_down()
        return query(DEFAULT_DB_ALIAS)


def pin(client: object) -> None:
    """Send ``client``'s replica reads to the primary until the replica has replayed
    the write of the current transaction (taken when it commits)."""
    if not configured():
        return

    def remember() -> None:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_lsn()::text")
            cache.set(_pin_key(client), cursor.fetchone()[0], PIN_SECONDS)

    transaction.on_commit(remember)


def set_tenant_on_replica(connection: Any, tenant: Any) -> None:
    """django-tenants' ``EXTRA_SET_TENANT_METHOD``: the replica follows the default
    connection's tenant."""
    if connection.alias == DEFAULT_DB_ALIAS and configured():
        replica_connection: Any = connections[REPLICA]  # django-tenants' wrapper
        replica_connection.set_tenant(tenant)


class ReplicaRouter:
    """Never migrates the replica (it is read-only); routes nothing by itself: reads
    go to the replica only through ``read_alias`` and ``.using()``."""

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return False if db == REPLICA else None
