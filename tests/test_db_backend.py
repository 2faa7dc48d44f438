"""``core.db``: the health check between requests costs no round trip, and still
notices a connection the server has closed; timestamps load with psycopg's loader and
come back exactly as Django's own loader gives them."""

from __future__ import annotations

import ast
import time
from datetime import UTC, datetime
from pathlib import Path
from unittest import mock

import psycopg
import pytest
from django.db import DEFAULT_DB_ALIAS, connections
from django.db import connection as django_connection
from django.db.backends.postgresql.base import TIMESTAMPTZ_OID
from django_tenants.postgresql_backend.base import FakeTenant as TenantFakeTenant
from psycopg import pq

from core.db import connection, default_connection
from core.db.base import DatabaseWrapper, UtcTimestamptzLoader

pytestmark = pytest.mark.usefixtures("committed_db")

TYPINGS = Path(__file__).resolve().parent.parent / "typings"


def test_a_live_idle_connection_is_usable_without_a_statement() -> None:
    connection.ensure_connection()
    with mock.patch.object(
        connection.connection, "cursor", side_effect=AssertionError("a round trip")
    ):
        assert connection.is_usable()


def test_a_connection_the_server_closed_is_replaced_before_the_next_request() -> None:
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    with psycopg.connect(connection.connection.info.dsn, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    # The server's FATAL and its close reach the socket a moment later.
    deadline = time.monotonic() + 5
    while connection.is_usable() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not connection.is_usable()

    # What Django does before each request: the dead connection is closed, the next
    # statement opens a fresh one instead of failing.
    connection.health_check_done = False  # type: ignore[attr-defined]  # Django's, not in django-stubs
    connection.close_if_health_check_failed()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid


def test_timestamps_load_in_utc_with_psycopgs_loader() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT %s::timestamptz, '2026-01-01 10:00:00.123456+08'::timestamptz",
            [datetime(2026, 3, 1, 12, 30, tzinfo=UTC)],
        )
        sent, literal = cursor.fetchone()
    assert sent == datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    assert literal == datetime(2026, 1, 1, 2, 0, 0, 123456, tzinfo=UTC)
    # The very tzinfo Django's loader sets (django.utils.timezone works with it).
    assert sent.tzinfo is UTC and literal.tzinfo is UTC
    loader = connection.connection.adapters.get_loader(TIMESTAMPTZ_OID, pq.Format.TEXT)
    assert loader is UtcTimestamptzLoader
    # Django's create_cursor keeps it (it would register its own on a disagreement).
    with connection.cursor() as cursor:
        assert cursor.adapters.get_loader(TIMESTAMPTZ_OID, pq.Format.TEXT) is loader


def test_the_private_internals_the_fast_path_relies_on_still_exist() -> None:
    """``core.db`` leans on a few private names of Django and django-tenants.

    Both are pinned to the minor versions this was tested on (pyproject.toml); a new
    minor version must pass this first. Each name is used by ``core.db.base`` or
    ``core.db.rows``: if one is renamed, this fails with its name, not a claim with a
    wrong search path.
    """
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.backends.postgresql import base as postgresql
    from django.db.models.base import ModelState
    from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantWrapper

    missing = [
        name
        for owner, name in (
            (BaseDatabaseWrapper, "_prepare_cursor"),
            (BaseDatabaseWrapper, "close_if_health_check_failed"),
            (TenantWrapper, "_handle_search_path"),
            (postgresql, "ServerBindingCursor"),
            (postgresql, "TIMESTAMPTZ_OID"),
        )
        if not hasattr(owner, name)
    ]
    # Set on every connection by django-tenants' backend (None until it sets a path).
    if not hasattr(connection, "search_path_set_schemas"):
        missing.append("DatabaseWrapper.search_path_set_schemas")
    state = ModelState()
    missing += [f"ModelState.{name}" for name in ("adding", "db") if not hasattr(state, name)]
    assert missing == []


def _members(klass: ast.ClassDef) -> list[str]:
    """The attributes and methods a stub's class declares."""
    names = []
    for member in klass.body:
        if isinstance(member, ast.FunctionDef):
            names.append(member.name)
        elif isinstance(member, ast.AnnAssign) and isinstance(member.target, ast.Name):
            names.append(member.target.id)
    return names


def test_core_db_connection_is_djangos_connection_typed_as_this_backend() -> None:
    """``core.db.connection`` is Django's own proxy under this backend's type (a cast,
    which the settings make true), and django-tenants still has every name that our
    stub of its wrapper (typings/django_tenants) declares: the stub cannot drift."""
    assert connection is django_connection
    wrapper = connections[DEFAULT_DB_ALIAS]
    assert type(wrapper) is DatabaseWrapper
    assert default_connection() is wrapper

    stub = ast.parse((TYPINGS / "django_tenants/postgresql_backend/base.pyi").read_text())
    declared = {node.name: _members(node) for node in stub.body if isinstance(node, ast.ClassDef)}
    assert set(declared) == {"DatabaseWrapper", "FakeTenant"}
    fake = TenantFakeTenant(schema_name="public")
    missing = [
        f"{owner}.{name}"
        for owner, instance in (("DatabaseWrapper", wrapper), ("FakeTenant", fake))
        for name in declared[owner]
        if name != "__init__" and not hasattr(instance, name)
    ]
    assert missing == []
