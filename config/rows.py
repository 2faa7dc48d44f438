"""Model rows read with hand-written SQL, for the few statements on the hottest paths.

A scan claim runs a dozen statements; building them with the ORM cost more CPU
than PostgreSQL spent running them (docs/benchmarks.md, "Scan claims"). The
claim's reads (the token's session and user, the merchant, the code with its
batch and campaign, the two ledger accounts) are written out once, at import,
and their rows turned into model instances the same way the ORM does
(``Model.from_db``), so the rest of the code sees ordinary model objects. Columns
not selected are deferred: reading one later costs a query, as with ``.only()``.

Everything else keeps the ORM: this is for statements measured to matter.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db import connection
from django.db.models import Model

M = TypeVar("M", bound=Model)


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
        """The model instance for these columns' values (as a queryset would build it)."""
        return self.model.from_db(connection.alias, list(self.attnames), list(values))

    def __len__(self) -> int:
        return len(self.attnames)


def columns(model: type[M], only: Collection[str] | None = None) -> Columns[M]:
    """The model's concrete columns, or those whose attribute names are in ``only``.

    ``Model.from_db`` expects a partial row in field order, so the order is the
    model's, whatever the order of ``only``.
    """
    fields = [
        field for field in model._meta.concrete_fields if only is None or field.attname in only
    ]
    if only is not None:
        missing = set(only) - {field.attname for field in fields}
        assert not missing, f"{model.__name__} has no columns {missing}"
    return Columns(
        model=model,
        attnames=tuple(field.attname for field in fields),
        names=tuple(field.column for field in fields),
    )


def table(model: type[Model]) -> str:
    return model._meta.db_table


def fetch_one(sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


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
            f"INSERT INTO {model._meta.db_table} ({', '.join(f.column for f in self.fields)}) "
            "VALUES "
        )
        self.row = f"({', '.join(['%s'] * len(self.fields))})"
        self.tail = (f" ON CONFLICT {on_conflict}" if on_conflict else "") + (
            f" RETURNING {self.pk.column}"
        )

    def _values(self, obj: M) -> list[Any]:
        return [f.get_db_prep_save(f.pre_save(obj, add=True), connection) for f in self.fields]

    def _saved(self, obj: M, pk: Any) -> None:
        setattr(obj, self.pk.attname, pk)
        obj._state.adding = False
        obj._state.db = connection.alias

    def one(self, obj: M) -> bool:
        """Insert ``obj``; False when the ``ON CONFLICT`` clause skipped it."""
        row = fetch_one(self.head + self.row + self.tail, self._values(obj))
        if row is None:
            return False
        self._saved(obj, row[0])
        return True

    def many(self, objs: Sequence[M]) -> None:
        """Insert all of ``objs`` in one statement (ids in input order, as PostgreSQL
        returns rows of a multi-row ``VALUES`` insert in order)."""
        sql = self.head + ", ".join([self.row] * len(objs)) + self.tail
        with connection.cursor() as cursor:
            cursor.execute(sql, [value for obj in objs for value in self._values(obj)])
            ids = [row[0] for row in cursor.fetchall()]
        for obj, pk in zip(objs, ids, strict=True):
            self._saved(obj, pk)
