"""``config.rows``: the hot path's written-once statements build what the ORM would."""

from __future__ import annotations

import pytest

from config import rows
from points import ledger
from points.models import Account, AccountKind, Transaction, TransactionKind

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
