"""Model rows read with hand-written SQL, for the few statements on the hottest paths.

A scan claim runs a dozen statements; building them with the ORM cost more CPU
than PostgreSQL spent running them (docs/benchmarks.md, "Scan claims"). The
claim's reads (the token's session and user, the merchant, the code with its
batch and campaign, the two ledger accounts) are written out once, at import,
and their rows turned into model instances as the ORM would (``Columns.build``),
so the rest of the code sees ordinary model objects. Columns not selected are
deferred: reading one later costs a query, as with ``.only()``.

A transaction that sends many of these statements runs them through one cursor
(``one_cursor``): opening a Django cursor (the connection checks, django-tenants'
search path, psycopg's cursor and Django's wrapper) cost more Python than sending
a short statement.

Everything else keeps the ORM: this is for statements measured to matter.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper
from django.db.models import Field, Model
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init
from django_tenants.utils import get_public_schema_name

from core.db import connection, default_connection

if TYPE_CHECKING:
    from core.db.base import DatabaseWrapper

M = TypeVar("M", bound=Model)
T = TypeVar("T")


@dataclass(frozen=True)
class Columns(Generic[M]):
    """Some (or all) columns of a model, in the model's field order."""

    model: type[M]
    attnames: tuple[str, ...]
    names: tuple[str, ...]  # database column names, same order

    def select(self, alias: str) -> str:
        """``alias.col, alias.col, …`` for a SELECT list."""
        return ", ".join(f"{alias}.{name}" for name in self.names)

    def build(self, values: Sequence[Any]) -> M:
        """The model instance for these columns' values, as a queryset would build it.

        Without ``Model.__init__`` when nothing listens to ``pre_init``/``post_init``
        for the model: the instance's ``__dict__`` is filled in one step, which is what
        ``__init__`` ends up with for a row from the database (the columns not read
        stay deferred), without a ``setattr`` per column and two signal sends. The hot
        path builds seven instances per claim. With a listener (an ``ImageField``
        with dimension fields connects one), ``from_db`` builds it the usual way.
        """
        model = self.model
        if pre_init.has_listeners(model) or post_init.has_listeners(model):
            return model.from_db(DEFAULT_DB_ALIAS, list(self.attnames), list(values))
        obj = model.__new__(model)
        obj.__dict__.update(zip(self.attnames, values, strict=True))
        state = obj._state = ModelState()
        state.adding = False
        state.db = DEFAULT_DB_ALIAS
        return obj

    def __len__(self) -> int:
        return len(self.attnames)


def _ensure_buildable(model: type[Model]) -> None:
    """Refuse a model whose own ``__init__`` or ``from_db`` ``Columns.build`` would skip.

    ``build`` fills ``__dict__`` the way ``Model.__init__`` and ``Model.from_db`` do for
    a database row; a model that overrides either has a hook of its own that the hot
    path would silently bypass. ``columns`` runs at import, so this fails at start-up.
    """
    overridden = {
        name
        for klass in model.__mro__[: model.__mro__.index(Model)]
        for name in ("__init__", "from_db")
        if name in vars(klass)
    }
    if overridden:
        raise ImproperlyConfigured(
            f"{model.__name__} overrides {', '.join(sorted(overridden))}: core.db.rows builds "
            "instances without calling them; read it with the ORM instead."
        )


def columns(model: type[M], only: Collection[str] | None = None) -> Columns[M]:
    """The model's concrete columns, or those whose attribute names are in ``only``.

    ``Model.from_db`` expects a partial row in field order, so the order is the
    model's, whatever the order of ``only``.
    """
    _ensure_buildable(model)
    fields = [
        field for field in model._meta.concrete_fields if only is None or field.attname in only
    ]
    if only is not None:
        missing = set(only) - {field.attname for field in fields}
        assert not missing, f"{model.__name__} has no columns {missing}"
    return Columns(
        model=model,
        attnames=tuple(field.attname for field in fields),
        names=tuple(_column(field) for field in fields),
    )


def _column(field: Field[Any, Any]) -> str:
    """A concrete field's column name (Django's ``Field.column`` is None only for a
    field with no column, which ``concrete_fields`` leaves out)."""
    assert field.column is not None, f"{field} has no column"
    return field.column


def table(model: type[Model]) -> str:
    return model._meta.db_table


def public_table(model: type[Model]) -> str:
    """A shared app's table, named with its schema (public).

    A statement that names only such tables reads the same rows whatever the
    session's search path, so it is sent without django-tenants' ``SET search_path``
    (``fetch_one(..., any_path=True)``). Every API request starts with two of them
    (the token check, the merchant a code names); each used to cost a
    ``SET search_path = public`` round trip, since the previous request had left the
    session on a merchant's schema.
    """
    return f'"{get_public_schema_name()}".{model._meta.db_table}'


# The cursor of the innermost ``one_cursor`` block of this thread, with its connection.
_shared = threading.local()


@contextmanager
def one_cursor() -> Iterator[None]:
    """Send the statements of this block (``fetch_one``, ``execute``, ``Insert``) through
    one cursor, opened here, in the block's schema.

    Should the schema change inside the block (a ``tenant_context``, or a rollback
    that undoes django-tenants' ``SET search_path``), the connection forgets its
    search path and the statements after it go through a fresh cursor, which sets
    the path again; the shared one is used again once the path is known.
    """
    db = default_connection()
    with db.bound_cursor() as cursor:
        outer = getattr(_shared, "pair", None)
        _shared.pair = (db, cursor)
        try:
            yield
        finally:
            _shared.pair = outer


def _run(
    sql: str, params: Sequence[Any], result: Callable[[CursorWrapper], T], any_path: bool = False
) -> T:
    pair: tuple[DatabaseWrapper, CursorWrapper] | None = getattr(_shared, "pair", None)
    # django-tenants' record of the search path it set (None: not set since the
    # schema changed, so the shared cursor's session may be on another path).
    if pair is not None and pair[0].search_path_set_schemas is not None:
        cursor = pair[1]
        cursor.execute(sql, params)
        return result(cursor)
    with connection.bound_cursor(search_path=not any_path) as cursor:
        cursor.execute(sql, params)
        return result(cursor)


# Django's cursor wrapper passes these through to psycopg untyped (``__getattr__``).
def _fetchone(cursor: CursorWrapper) -> tuple[Any, ...] | None:
    row: tuple[Any, ...] | None = cursor.fetchone()
    return row


def _fetchall(cursor: CursorWrapper) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = cursor.fetchall()
    return rows


def _rowcount(cursor: CursorWrapper) -> int:
    count: int = cursor.rowcount
    return count


def fetch_one(sql: str, params: Sequence[Any], *, any_path: bool = False) -> tuple[Any, ...] | None:
    """The first row of ``sql``. ``any_path=True``: the statement names its schema
    (``public_table``), so it may run in whatever search path the session has."""
    return _run(sql, params, _fetchone, any_path)


def fetch_all(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    return _run(sql, params, _fetchall)


def execute(sql: str, params: Sequence[Any]) -> int:
    """Run ``sql``; the number of rows it touched."""
    return _run(sql, params, _rowcount)


class Insert(Generic[M]):
    """``INSERT … RETURNING id`` for a model, written once; what ``save()`` would write.

    Values come from each field's ``pre_save`` and ``get_db_prep_save``, as the
    ORM's own insert does (defaults, ``auto_now_add``, JSON adaptation). No signals
    are sent: the models inserted this way have none.
    """

    def __init__(self, model: type[M], on_conflict: str = "") -> None:
        self.model = model
        self.fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        self.pk = model._meta.pk
        self.head = (
            f"INSERT INTO {model._meta.db_table} ({', '.join(_column(f) for f in self.fields)}) "
            "VALUES "
        )
        self.row = f"({', '.join(['%s'] * len(self.fields))})"
        self.tail = (f" ON CONFLICT {on_conflict}" if on_conflict else "") + (
            f" RETURNING {self.pk.column}"
        )

    def _values(self, obj: M, db: BaseDatabaseWrapper) -> list[Any]:
        # ``db`` is the connection itself, not the ``connection`` proxy, which each
        # field would otherwise look up again (a thread-local lookup per access).
        return [f.get_db_prep_save(f.pre_save(obj, add=True), db) for f in self.fields]

    def _saved(self, obj: M, pk: Any) -> None:
        setattr(obj, self.pk.attname, pk)
        obj._state.adding = False
        obj._state.db = DEFAULT_DB_ALIAS

    def one(self, obj: M) -> bool:
        """Insert ``obj``; False when the ``ON CONFLICT`` clause skipped it."""
        row = fetch_one(
            self.head + self.row + self.tail, self._values(obj, connections[DEFAULT_DB_ALIAS])
        )
        if row is None:
            return False
        self._saved(obj, row[0])
        return True

    def many(self, objs: Sequence[M]) -> None:
        """Insert all of ``objs`` in one statement (ids in input order, as PostgreSQL
        returns rows of a multi-row ``VALUES`` insert in order)."""
        sql = self.head + ", ".join([self.row] * len(objs)) + self.tail
        db = connections[DEFAULT_DB_ALIAS]
        ids = fetch_all(sql, [value for obj in objs for value in self._values(obj, db)])
        for obj, (pk,) in zip(objs, ids, strict=True):
            self._saved(obj, pk)
