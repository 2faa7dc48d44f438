"""The database backend (settings' ENGINE is ``core.db``: ``base.DatabaseWrapper``),
the SQL fast path (``rows``) and advisory locks (``locks``).

Import the connection from here, not from ``django.db``: ``connection`` is Django's
own per-thread proxy, the very same object, typed as this backend's wrapper. Django
types it as the base wrapper, which knows nothing of django-tenants' schema (its
``schema_name``, ``set_schema_to_public()``, ``set_tenant()``) nor of our
``bound_cursor()``; the type checker would reject every such call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django.db import DEFAULT_DB_ALIAS, connections
from django.db import connection as _django_connection

if TYPE_CHECKING:
    # Imported for the type only: importing the backend loads django-tenants' wrapper,
    # which imports models; Django loads it itself on the first query.
    from core.db.base import DatabaseWrapper

# The one place that tells the type checker what settings tell Django: every
# connection is ``core.db.base.DatabaseWrapper`` (config/env.py sets the ENGINE;
# tests/test_db_backend.py checks the wrapper's class). A cast, so no cost at runtime.
connection = cast("DatabaseWrapper", _django_connection)


def diagnostics(exc: BaseException) -> Any:
    """PostgreSQL's diagnostics of the error under a Django database error (psycopg's
    ``diag``: ``constraint_name``, ``message_detail``, …), or None."""
    return getattr(exc.__cause__, "diag", None)


def violated_constraint(exc: BaseException) -> str | None:
    """The constraint a database error names (a ``RAISE … USING CONSTRAINT`` too)."""
    return getattr(diagnostics(exc), "constraint_name", None)


def default_connection() -> DatabaseWrapper:
    """This thread's default connection itself, not the proxy: for code that reads its
    attributes often (``core.db.rows``), where each read through the proxy is a
    thread-local lookup."""
    return cast("DatabaseWrapper", connections[DEFAULT_DB_ALIAS])
