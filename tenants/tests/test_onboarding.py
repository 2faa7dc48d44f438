"""Onboarding a merchant: its schema is a faithful copy of the template, all or nothing.

Onboarding commits schemas, so most tests here use ``committed_db`` with unique slugs.
pytest-django creates the test database only when a selected test asks for ``db``; the
guard below refuses to commit anywhere else.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.db import transaction
from django_tenants.utils import tenant_context

from accounts.models import User
from core.db import connection
from points import ledger, services
from points.models import Account, AccountKind, Entry, Lot, Transaction
from tenants.errors import MerchantNotActive
from tenants.models import Domain, Membership, Merchant, MerchantStatus, Role
from tenants.onboarding import OnboardingError, create_merchant
from tenants.provisioning import copy_schema, schema_for


@pytest.fixture(autouse=True)
def _test_database_only(django_db_setup: None) -> None:
    name = connection.settings_dict["NAME"]
    assert name.startswith("test_"), f"refusing to commit into {name!r}"


def schema_exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [name])
        return cursor.fetchone() is not None


SHAPE_QUERIES = {
    "relations": """
        SELECT c.relname, c.relkind::text, c.relpersistence::text FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %(s)s""",
    "columns": """
        SELECT table_name, column_name,
               -- the column's place (attnum keeps gaps where columns were dropped)
               row_number() OVER (PARTITION BY table_name ORDER BY ordinal_position),
               data_type, udt_name,
               character_maximum_length, numeric_precision, numeric_scale, is_nullable,
               column_default, is_identity, identity_generation, identity_start,
               identity_increment, is_generated, generation_expression, collation_name
        FROM information_schema.columns WHERE table_schema = %(s)s""",
    "indexes": """
        SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = %(s)s""",
    "constraints": """
        SELECT cl.relname, con.conname, con.contype::text, pg_get_constraintdef(con.oid),
               con.condeferrable, con.condeferred, con.convalidated
        FROM pg_constraint con JOIN pg_class cl ON cl.oid = con.conrelid
        JOIN pg_namespace n ON n.oid = cl.relnamespace WHERE n.nspname = %(s)s""",
    "triggers": """
        SELECT cl.relname, t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t
        JOIN pg_class cl ON cl.oid = t.tgrelid JOIN pg_namespace n ON n.oid = cl.relnamespace
        WHERE n.nspname = %(s)s AND NOT t.tgisinternal""",
    "functions": """
        SELECT p.proname, pg_get_function_identity_arguments(p.oid) FROM pg_proc p
        JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = %(s)s""",
    "views": "SELECT viewname, definition FROM pg_views WHERE schemaname = %(s)s",
    "sequences": """
        SELECT sequencename, data_type::text, start_value, increment_by, min_value,
               max_value, cycle FROM pg_sequences WHERE schemaname = %(s)s""",
    "types": """
        SELECT t.typname, t.typtype::text FROM pg_type t
        JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname = %(s)s AND t.typrelid = 0 AND t.typelem = 0""",
}


def schema_shape(schema: str) -> dict[str, list[tuple[Any, ...]]]:
    """Everything the catalog says about a schema, with the schema's own name masked."""

    def mask(value: Any) -> Any:
        if isinstance(value, str):
            return value.replace(f'"{schema}".', "<schema>.").replace(f"{schema}.", "<schema>.")
        return value

    shape = {}
    with transaction.atomic(), connection.cursor() as cursor:
        # With only public on the path, every reference into the schema is qualified.
        cursor.execute("SET LOCAL search_path TO public")
        for name, sql in SHAPE_QUERIES.items():
            cursor.execute(sql, {"s": schema})
            shape[name] = sorted(tuple(mask(v) for v in row) for row in cursor.fetchall())
    return shape


def rows(schema: str, table: str, columns: str) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT {columns} FROM "{schema}"."{table}" ORDER BY 1')
        return cursor.fetchall()


def staff_user(unique: Callable[[str], str]) -> User:
    return User.objects.create_user(f"{unique('owner')}@shop.test", "a-long-password")


# --- The copy --------------------------------------------------------------------------


def test_new_merchant_schema_is_a_copy_of_the_template(committed_db: None, unique) -> None:
    template = settings.TENANT_TEMPLATE_SCHEMA
    owner = staff_user(unique)
    slug = unique("onb")

    merchant = create_merchant(
        slug=slug, name=" Onboarded Tea ", owner=owner, domain=f"{slug}.Shops.Example"
    )

    merchant.refresh_from_db()
    assert merchant.schema_name == "m_" + slug.replace("-", "_") == schema_for(slug)
    assert (merchant.name, merchant.status) == ("Onboarded Tea", MerchantStatus.ACTIVE)
    template_shape = schema_shape(template)
    assert template_shape["relations"], "the template schema is empty"
    assert schema_shape(merchant.schema_name) == template_shape
    assert rows(merchant.schema_name, "django_migrations", "app, name") == rows(
        template, "django_migrations", "app, name"
    )
    assert rows(merchant.schema_name, "django_content_type", "id, app_label, model") == rows(
        template, "django_content_type", "id, app_label, model"
    )
    # Owner, domain and budget come with it.
    membership = Membership.objects.get(merchant=merchant)
    assert (membership.user_id, membership.role) == (owner.pk, Role.OWNER)
    assert Domain.objects.get(tenant=merchant).domain == f"{slug}.shops.example"
    budget = Account.objects.get(kind=AccountKind.MERCHANT_BUDGET, merchant=merchant)
    assert (budget.balance, budget.materialized) == (0, True)
    # The copied schema works as a tenant schema: its identity counters carry on.
    from django.contrib.contenttypes.models import ContentType

    with tenant_context(merchant):
        created = ContentType.objects.create(app_label="onboarding_test", model="probe")
        assert ContentType.objects.filter(pk=created.pk).exists()
    assert not ContentType.objects.filter(app_label="onboarding_test").exists()  # public


def test_copy_schema_keeps_every_table_key_index_and_constraint(committed_db: None, unique) -> None:
    """A template richer than today's (which has no tenant models yet), copied faithfully."""
    tag = unique("x").replace("-", "_")
    source, target = f"tpl_{tag}", f"cpy_{tag}"
    ddl = f"""
        CREATE SCHEMA {source};
        CREATE TABLE {source}.shelf (
            id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            code varchar(20) NOT NULL,
            label text NOT NULL DEFAULT 'new',
            code_key uuid GENERATED ALWAYS AS (md5(code)::uuid) STORED,
            size integer NOT NULL CONSTRAINT shelf_size_positive CHECK (size > 0),
            owner_id bigint REFERENCES public.accounts_user (id) DEFERRABLE INITIALLY DEFERRED,
            CONSTRAINT shelf_code_uniq UNIQUE (code)
        );
        CREATE UNIQUE INDEX shelf_label_size_uniq ON {source}.shelf (label, size);
        CREATE TABLE {source}.item (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            shelf_id bigint NOT NULL,
            sku varchar(40) NOT NULL,
            position integer,
            shelf_label text,
            shelf_size integer,
            CONSTRAINT item_shelf_fk FOREIGN KEY (shelf_id) REFERENCES {source}.shelf (id)
                DEFERRABLE INITIALLY DEFERRED,
            CONSTRAINT item_shelf_label_fk FOREIGN KEY (shelf_label, shelf_size)
                REFERENCES {source}.shelf (label, size),
            CONSTRAINT item_sku_position_uniq UNIQUE NULLS NOT DISTINCT (sku, position)
        );
        CREATE INDEX item_shelf_idx ON {source}.item (shelf_id);
        CREATE INDEX item_unplaced_idx ON {source}.item (sku) WHERE position IS NULL;
        CREATE INDEX item_lower_sku_idx ON {source}.item (lower(sku) DESC);
        INSERT INTO {source}.shelf (code, size) VALUES ('a', 1), ('b', 2);
        INSERT INTO {source}.item (shelf_id, sku) SELECT id, 'sku-' || code FROM {source}.shelf;
    """
    try:
        with connection.cursor() as cursor:
            cursor.execute(ddl)
        with transaction.atomic():
            copy_schema(source, target)

        assert schema_shape(target) == schema_shape(source)
        item_columns = "id, shelf_id, sku"
        assert rows(target, "item", item_columns) == rows(source, "item", item_columns)
        # A stored generated column is computed again by the copy, not given a value.
        shelf_columns = "id, code, code_key"
        assert rows(target, "shelf", shelf_columns) == rows(source, "shelf", shelf_columns)
        with connection.cursor() as cursor:
            # Foreign keys point into the copy (or stay in public), never back at the source.
            cursor.execute(
                """SELECT DISTINCT rn.nspname FROM pg_constraint con
                   JOIN pg_class cl ON cl.oid = con.conrelid
                   JOIN pg_namespace n ON n.oid = cl.relnamespace
                   JOIN pg_class rc ON rc.oid = con.confrelid
                   JOIN pg_namespace rn ON rn.oid = rc.relnamespace
                   WHERE n.nspname = %s AND con.contype = 'f'""",
                [target],
            )
            assert sorted(row[0] for row in cursor.fetchall()) == sorted([target, "public"])
            # Identity counters continue after the copied rows.
            cursor.execute(f"INSERT INTO {target}.shelf (code, size) VALUES ('c', 3) RETURNING id")
            assert cursor.fetchone()[0] == 3
            cursor.execute(
                f"INSERT INTO {target}.item (shelf_id, sku) VALUES (3, 'c') RETURNING id"
            )
            assert cursor.fetchone()[0] == 3
        # The source is untouched by writes to the copy.
        assert rows(source, "shelf", "code") == [("a",), ("b",)]
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP SCHEMA IF EXISTS {target} CASCADE")
            cursor.execute(f"DROP SCHEMA IF EXISTS {source} CASCADE")


# --- Refusals -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "slug",
    [
        "Acme-Tea",  # uppercase
        "SHOP",
        "public",
        "template",
        "ab",  # too short
        "a",
        "",
        "   ",
        "a--b",
        "shop--tea",
        "1shop",  # starts with a digit
        "-shop",
        "shop-",
        "shop_tea",
        "shop tea",
        "café",
        "x" * 41,
    ],
)
def test_invalid_slugs_are_refused_and_create_nothing(db: None, tenants, slug: str) -> None:
    merchants = Merchant.objects.count()
    with pytest.raises(OnboardingError) as exc:
        create_merchant(slug=slug, name="Bad Slug")
    assert exc.value.code == "INVALID_SLUG"
    assert exc.value.field == "slug"
    assert Merchant.objects.count() == merchants
    for candidate in {slug, slug.strip(), slug.strip().lower()}:
        assert not schema_exists(schema_for(candidate))


@pytest.mark.parametrize(
    "kwargs, code",
    [
        ({"name": "  "}, "INVALID_NAME"),
        ({"points_expiry_days": 0}, "INVALID_EXPIRY"),
        ({"points_expiry_days": 3651}, "INVALID_EXPIRY"),
    ],
)
def test_invalid_details_are_refused(db: None, tenants, unique, kwargs: dict, code: str) -> None:
    slug = unique("bad")
    with pytest.raises(OnboardingError) as exc:
        create_merchant(**{"slug": slug, "name": "Fine", **kwargs})
    assert exc.value.code == code
    assert not Merchant.objects.filter(slug=slug).exists()
    assert not schema_exists(schema_for(slug))


def test_a_taken_slug_is_refused(committed_db: None, unique) -> None:
    slug = unique("dup")
    first = create_merchant(slug=slug, name="First")
    owner = staff_user(unique)

    with pytest.raises(OnboardingError) as exc:
        create_merchant(slug=slug, name="Second", owner=owner)

    assert exc.value.code == "SLUG_TAKEN"
    assert list(Merchant.objects.filter(slug=slug).values_list("pk", "name")) == [
        (first.pk, "First")
    ]
    assert not Membership.objects.filter(user=owner).exists()
    assert schema_exists(first.schema_name)


def test_concurrent_onboardings_of_one_slug_make_one_merchant(committed_db: None, unique) -> None:
    slug = unique("race")
    barrier = threading.Barrier(4)
    outcomes: list[Any] = [None] * 4

    def onboard(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            outcomes[i] = create_merchant(slug=slug, name=f"Racer {i}")
        except OnboardingError as exc:
            outcomes[i] = exc.code
        except Exception as exc:
            outcomes[i] = repr(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=onboard, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    merchants = [o for o in outcomes if isinstance(o, Merchant)]
    assert len(merchants) == 1, outcomes
    assert sorted(o for o in outcomes if not isinstance(o, Merchant)) == ["SLUG_TAKEN"] * 3
    assert Merchant.objects.filter(slug=slug).count() == 1
    assert Account.objects.filter(kind=AccountKind.MERCHANT_BUDGET, merchant=merchants[0]).exists()


def test_a_taken_domain_leaves_no_merchant_and_no_schema(committed_db: None, unique) -> None:
    domain = f"{unique('shop')}.example"
    create_merchant(slug=unique("dom"), name="First", domain=domain)
    slug = unique("dom")

    with pytest.raises(OnboardingError) as exc:
        create_merchant(slug=slug, name="Second", domain=domain.upper())

    assert exc.value.code == "DOMAIN_TAKEN"
    assert exc.value.field == "domain"
    assert not Merchant.objects.filter(slug=slug).exists()
    assert not schema_exists(schema_for(slug))


# --- Merchant status ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status, code",
    [
        (MerchantStatus.SUSPENDED, "MERCHANT_SUSPENDED"),
        (MerchantStatus.PENDING, "MERCHANT_NOT_ACTIVE"),
    ],
)
def test_a_merchant_that_is_not_active_cannot_award(
    committed_db: None, unique, new_phone, status: str, code: str
) -> None:
    merchant = create_merchant(slug=unique("status"), name="Paused")
    services.fund_with_money(
        merchant, amount_minor=1_000, currency="CNY", rate="100", payment_reference=unique("pay")
    )
    services.reserve(merchant, "promo", 500, idempotency_key=unique("reserve"))
    # Funded and reserved while active; then suspended, or (as a merchant approved
    # before sign-ups existed could be) pending with its schema.
    Merchant.objects.filter(pk=merchant.pk).update(status=status)
    merchant.refresh_from_db()
    consumer, _created = User.objects.get_or_create_consumer(new_phone())
    before = (Transaction.objects.count(), Entry.objects.count(), Lot.objects.count())

    with pytest.raises(MerchantNotActive) as exc:
        services.award(merchant, "promo", consumer, 100, idempotency_key=unique("award"))

    assert exc.value.code == code
    assert (Transaction.objects.count(), Entry.objects.count(), Lot.objects.count()) == before
    assert ledger.balance_of(ledger.wallet(consumer.pk)) == 0
    assert ledger.balance_of(ledger.campaign_reserve(merchant.pk, "promo")) == 500

    # Once active again, the same campaign awards.
    Merchant.objects.filter(pk=merchant.pk).update(status=MerchantStatus.ACTIVE)
    merchant.refresh_from_db()
    services.award(merchant, "promo", consumer, 100, idempotency_key=unique("award"))
    assert ledger.balance_of(ledger.wallet(consumer.pk)) == 100
