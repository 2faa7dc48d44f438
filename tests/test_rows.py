"""``core.db.rows``: the hot path's written-once statements build what the ORM would."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any
from unittest import mock

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.db.models.signals import post_init
from django.test.utils import isolate_apps
from django_tenants.utils import tenant_context

from core.db import connection, rows
from points import ledger
from points.models import Account, AccountKind, Transaction, TransactionKind
from tenants.models import Merchant

if TYPE_CHECKING:
    from accounts.models import User
    from tests.fixtures.tenants import Tenants

pytestmark = pytest.mark.django_db


def test_columns_build_model_instances_with_the_rest_deferred() -> None:
    account = ledger.platform_account(AccountKind.ISSUANCE)
    only = rows.columns(Account, only={"kind", "id"})  # any order in, field order out
    assert only.attnames == ("id", "kind")
    row = rows.fetch_one(
        f"SELECT {only.select('a')} FROM points_account a WHERE a.id = %s", [account.pk]
    )
    assert row is not None
    built = only.build(row)
    assert (built.pk, built.kind) == (account.pk, AccountKind.ISSUANCE)
    assert built.get_deferred_fields() >= {"balance", "ref"}
    assert built.ref == ""  # a deferred column is loaded on first use, as with .only()


def test_insert_sets_ids_and_skips_conflicts() -> None:
    insert = rows.Insert(Transaction, on_conflict="(idempotency_key) DO NOTHING")
    first = Transaction(kind=TransactionKind.AWARD, idempotency_key="rows-test", request_hash="a")
    assert insert.one(first)
    assert first.pk is not None and not first._state.adding
    again = Transaction(kind=TransactionKind.AWARD, idempotency_key="rows-test", request_hash="b")
    assert not insert.one(again)
    assert again.pk is None
    stored = Transaction.objects.get(idempotency_key="rows-test")
    assert (stored.pk, stored.request_hash, stored.metadata) == (first.pk, "a", {})


def test_insert_many_returns_ids_in_order() -> None:
    batch = [
        Transaction(
            kind=TransactionKind.AWARD, idempotency_key=f"rows-many-{n}", request_hash=str(n)
        )
        for n in range(5)
    ]
    rows.Insert(Transaction).many(batch)
    stored = dict(
        Transaction.objects.filter(idempotency_key__startswith="rows-many-").values_list(
            "pk", "request_hash"
        )
    )
    assert {t.pk: t.request_hash for t in batch} == stored


def test_one_cursor_sends_the_block_through_one_cursor() -> None:
    account = ledger.platform_account(AccountKind.ISSUANCE)
    sql = "SELECT id FROM points_account WHERE id = %s"
    opened: list[object] = []
    real_cursor = connection.bound_cursor

    def counting_cursor(search_path: bool = True) -> object:
        cursor = real_cursor(search_path)
        opened.append(cursor)
        return cursor

    connection.cursor()  # the search path is set before counting starts
    with mock.patch.object(connection, "bound_cursor", counting_cursor):
        assert rows.fetch_one(sql, [account.pk]) == (account.pk,)
        assert len(opened) == 1  # outside a block: a cursor per statement
        with rows.one_cursor():
            assert rows.fetch_one(sql, [account.pk]) == (account.pk,)
            assert (
                rows.execute("UPDATE points_account SET ref = ref WHERE id = %s", [account.pk]) == 1
            )
            assert rows.fetch_all(sql, [account.pk]) == [(account.pk,)]
        assert len(opened) == 2  # the block's one


def test_one_cursor_follows_a_schema_change_inside_the_block(tenants: Tenants) -> None:
    """A tenant_context inside the block makes the next statement set its path again."""
    sql = "SELECT current_schemas(false)::text"
    with rows.one_cursor():
        assert rows.fetch_one(sql, []) == ("{public}",)
        with tenant_context(tenants.acme):
            assert rows.fetch_one(sql, []) == ("{m_acme,public}",)
        assert rows.fetch_one(sql, []) == ("{public}",)


def test_statements_bind_their_parameters_on_the_server() -> None:
    """The parameters travel apart from the statement, typed by psycopg (a Python int is
    sent as the smallest integer type that holds it); the ORM's client-side binding
    would have pasted a literal, which PostgreSQL reads as ``integer``."""
    sql = "SELECT pg_typeof(%s)::text"
    assert rows.fetch_one(sql, [1]) == ("smallint",)
    with connection.cursor() as cursor:  # the ORM's cursor, for contrast
        cursor.execute(sql, [1])
        assert cursor.fetchone() == ("integer",)


def test_statements_are_counted_like_the_orms(django_assert_num_queries: Any) -> None:
    """Django's wrapper logs them, so query-count tests and captures see them."""
    account = ledger.platform_account(AccountKind.ISSUANCE)
    with django_assert_num_queries(2) as captured, rows.one_cursor():
        rows.fetch_one("SELECT id FROM points_account WHERE id = %s", [account.pk])
        rows.execute("UPDATE points_account SET ref = ref WHERE id = %s", [account.pk])
    assert "UPDATE points_account" in captured.captured_queries[-1]["sql"]


def test_statements_on_public_tables_run_in_any_search_path(tenants: Tenants) -> None:
    """The token check and the merchant lookup name their schema: they neither send
    ``SET search_path`` nor depend on the path a merchant's request left behind."""
    current = "SELECT current_schemas(false)::text"
    with tenant_context(tenants.acme):
        assert rows.fetch_one(current, []) == ("{m_acme,public}",)
    # Back on public for django-tenants, which has not sent that SET yet.
    assert connection.search_path_set_schemas is None
    found = Merchant.find(tenants.acme.pk)
    assert found is not None and found.slug == tenants.acme.slug
    assert connection.search_path_set_schemas is None  # no SET was sent
    assert rows.fetch_one(current, [], any_path=True) == ("{m_acme,public}",)
    assert rows.fetch_one(current, []) == ("{public}",)  # the next unqualified one sets it


def test_build_gives_what_the_orm_gives(consumer: User) -> None:
    wallet = ledger.wallet(consumer.pk)
    every = rows.columns(Account)
    row = rows.fetch_one(
        f"SELECT {every.select('a')} FROM points_account a WHERE a.id = %s", [wallet.pk]
    )
    assert row is not None
    built, loaded = every.build(row), Account.objects.get(pk=wallet.pk)
    fields = [f.attname for f in Account._meta.concrete_fields]
    assert [getattr(built, f) for f in fields] == [getattr(loaded, f) for f in fields]
    assert (built._state.adding, built._state.db) == (False, "default")
    assert built.get_deferred_fields() == set()
    assert built.consumer == consumer  # relations load on first use, as from a queryset
    built.balance += 1
    built.save(update_fields=["balance"])  # an UPDATE, not an INSERT
    assert Account.objects.get(pk=wallet.pk).balance == loaded.balance + 1


def test_build_sends_init_signals_when_something_listens() -> None:
    account = ledger.platform_account(AccountKind.ISSUANCE)
    only = rows.columns(Account, only={"id", "kind"})
    seen: list[Account] = []

    def listener(sender: type[Account], instance: Account, **kwargs: Any) -> None:
        seen.append(instance)

    post_init.connect(listener, sender=Account)
    try:
        built = only.build([account.pk, account.kind])
    finally:
        post_init.disconnect(listener, sender=Account)
    assert seen == [built] and built.get_deferred_fields() >= {"balance"}


@isolate_apps("points")
def test_columns_refuses_a_model_with_its_own_init_or_from_db() -> None:
    """``build`` skips both: a model with a hook there must fail at import, not run wrong."""

    class Row(models.Model):
        class Meta:
            abstract = True
            app_label = "points"

        def __str__(self) -> str:
            return str(self.pk)

    class Plain(Row):
        name = models.CharField(max_length=10)

    class OwnInit(Row):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)

    class OwnFromDb(Row):
        @classmethod
        def from_db(
            cls, db: str | None, field_names: Collection[str], values: Collection[Any], **kw: Any
        ) -> OwnFromDb:
            return super().from_db(db, field_names, values, **kw)

    class Inherited(OwnFromDb):  # an override on a parent counts too
        pass

    assert rows.columns(Plain).attnames == ("id", "name")
    for model, name in ((OwnInit, "__init__"), (OwnFromDb, "from_db"), (Inherited, "from_db")):
        with pytest.raises(ImproperlyConfigured, match=f"overrides {name}"):
            rows.columns(model)
