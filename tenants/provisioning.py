"""A merchant's PostgreSQL schema: its name, the template it is copied from, provisioning.

Running every tenant migration for each new merchant takes seconds and grows with
the migration count. Instead one *template* schema is kept migrated, and a new
merchant's schema is a structural copy of it: ``CREATE TABLE … (LIKE … INCLUDING
ALL EXCLUDING INDEXES)`` per table, then the indexes, primary keys and unique
constraints re-created *under the template's names* (``LIKE`` would rename them,
and a later migration that drops or renames one by name would then fail on every
copied schema), the foreign keys re-pointed, and the rows of the template's
bookkeeping tables (``django_migrations``, content types) copied. The statements
are read from the catalog once per process (``copy_plan``) and replayed for each
merchant, so onboarding runs no catalog scan whose cost grows with the number of
schemas (bench/onboarding.py measures it).

This module lies below both ``tenants.lifecycle`` (approval provisions the schema) and
``tenants.onboarding`` (an application reserves the schema's name, and
``create_merchant`` approves through ``tenants.lifecycle``), so that neither of them
has to import the other both ways.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management import call_command
from django.db import transaction
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone

from core.db import connection
from core.db.locks import advisory_xact_lock
from points import ledger
from tenants.models import Merchant

# Serialises template upkeep across processes (two onboardings right after a deploy).
TEMPLATE_LOCK = "tenants.template-schema"


def schema_for(slug: str) -> str:
    return "m_" + slug.replace("-", "_")


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _tenant_migrations_on_disk() -> set[tuple[str, str]]:
    tenant_labels = {app.rsplit(".", 1)[-1] for app in settings.TENANT_APPS}
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return {key for key in loader.disk_migrations if key[0] in tenant_labels}


_template_checked = False


def ensure_template_schema() -> str:
    """Create and migrate the template schema if it is missing or behind the code."""
    global _template_checked
    template = settings.TENANT_TEMPLATE_SCHEMA
    if _template_checked:
        return template
    with transaction.atomic(), connection.cursor() as cursor:
        advisory_xact_lock(TEMPLATE_LOCK)
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [template])
        exists = cursor.fetchone() is not None
        applied: set[tuple[str, str]] = set()
        if exists:
            cursor.execute("SELECT to_regclass(%s)", [f"{_quote(template)}.django_migrations"])
            if cursor.fetchone()[0] is not None:
                cursor.execute(f"SELECT app, name FROM {_quote(template)}.django_migrations")
                applied = set(cursor.fetchall())
        else:
            cursor.execute(f"CREATE SCHEMA {_quote(template)}")
        behind = bool(_tenant_migrations_on_disk() - applied)
    if behind:
        call_command("migrate_schemas", schema_name=template, interactive=False, verbosity=0)
        connection.set_schema_to_public()
        _plans.pop(template, None)
    _template_checked = True
    return template


# Stands for the new schema's quoted name in a copy plan.
TARGET = "__loyalty_copy_target__"
_plans: dict[str, list[str]] = {}


def copy_plan(source: str) -> list[str]:
    """The statements that copy ``source``, with ``TARGET`` for the new schema's name.

    Read from the catalog once per process and template (the catalog queries filter
    by schema name, which scans ``pg_class`` and grows with the number of schemas);
    replaying the plan then touches the catalog only through its indexes.
    """
    plan = _plans.get(source)
    if plan is not None:
        return plan
    q_src = _quote(source)
    plan = [f"CREATE SCHEMA {TARGET}"]
    with transaction.atomic(), connection.cursor() as cursor:
        # With only public on the path, pg_get_*def qualifies every reference into
        # the source schema, which is then re-pointed at the target.
        cursor.execute("SET LOCAL search_path TO public")
        cursor.execute(
            """SELECT c.oid, c.relname, c.relpersistence = 'u' FROM pg_class c
               JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = %s AND c.relkind IN ('r', 'p') ORDER BY c.relname""",
            [source],
        )
        tables = cursor.fetchall()
        oids = [oid for oid, _name, _unlogged in tables]

        def repoint(definition: str, keyword: str) -> str:
            for prefix in (f"{keyword} {source}.", f"{keyword} {q_src}."):
                definition = definition.replace(prefix, f"{keyword} {TARGET}.")
            return definition

        for _oid, table, unlogged in tables:
            # CHECK and NOT NULL constraints, defaults and identity columns come with LIKE
            # (under their own names); indexes are re-created below, keeping their names.
            # LIKE does not carry UNLOGGED (a code import's staging table is one).
            plan.append(
                f"CREATE {'UNLOGGED ' if unlogged else ''}TABLE {TARGET}.{_quote(table)} "
                f"(LIKE {q_src}.{_quote(table)} INCLUDING ALL EXCLUDING INDEXES)"
            )

        def constraints(kinds: list[str]) -> list[str]:
            cursor.execute(
                """SELECT cl.relname, con.conname, pg_get_constraintdef(con.oid)
                   FROM pg_constraint con JOIN pg_class cl ON cl.oid = con.conrelid
                   WHERE con.conrelid = ANY(%s) AND con.contype::text = ANY(%s)
                   ORDER BY cl.relname, con.conname""",
                [oids, kinds],
            )
            return [
                f"ALTER TABLE {TARGET}.{_quote(table)} ADD CONSTRAINT {_quote(name)} "
                f"{repoint(definition, 'REFERENCES')}"
                for table, name, definition in cursor.fetchall()
            ]

        # Primary keys, unique and exclusion constraints, plain indexes, then foreign
        # keys (they need the referenced keys), each under the template's name: LIKE
        # would rename them, and a later migration that drops one by name would fail.
        plan += constraints(["p", "u", "x"])
        cursor.execute(
            """SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i
               WHERE i.indrelid = ANY(%s)
                 AND NOT EXISTS (SELECT 1 FROM pg_constraint con
                                 WHERE con.conindid = i.indexrelid
                                   AND con.conrelid = i.indrelid)
               ORDER BY i.indexrelid""",
            [oids],
        )
        plan += [repoint(repoint(d, "ON"), "ON ONLY") for (d,) in cursor.fetchall()]
        plan += constraints(["f"])
        # Seed rows (applied migrations, content types). Named columns: a stored
        # generated column (an import's staging has one, decision 0331) takes no value.
        cursor.execute(
            """SELECT attrelid, string_agg(quote_ident(attname), ', ' ORDER BY attnum)
               FROM pg_attribute
               WHERE attrelid = ANY(%s) AND attnum > 0 AND NOT attisdropped
                 AND attgenerated = ''
               GROUP BY attrelid""",
            [oids],
        )
        columns = dict(cursor.fetchall())
        plan += [
            f"INSERT INTO {TARGET}.{_quote(table)} ({columns[oid]}) OVERRIDING SYSTEM VALUE "
            f"SELECT {columns[oid]} FROM {q_src}.{_quote(table)}"
            for oid, table, _unlogged in tables
        ]
        cursor.execute(
            """SELECT c.relname, a.attname, format_type(s.seqtypid, NULL)
               FROM pg_attribute a
               JOIN pg_class c ON c.oid = a.attrelid
               JOIN pg_depend d ON d.refobjid = a.attrelid AND d.refobjsubid = a.attnum
                    AND d.classid = 'pg_class'::regclass AND d.deptype = 'i'
               JOIN pg_sequence s ON s.seqrelid = d.objid
               WHERE a.attrelid = ANY(%s) AND a.attidentity <> ''""",
            [oids],
        )
        for table, column, sequence_type in cursor.fetchall():
            # LIKE copies an identity sequence's bounds but not its type (an integer
            # column's sequence comes out bigint, capped at 2^31-1): a later migration to
            # bigint would then keep that cap in copied schemas only. Match the template.
            target_table = f"{TARGET}.{_quote(table)}"
            plan.append(
                "DO $$ BEGIN EXECUTE format('ALTER SEQUENCE %s AS "
                f"{sequence_type}', pg_get_serial_sequence('{target_table}', '{column}')); "
                "END $$"
            )
            plan.append(
                f"SELECT setval(pg_get_serial_sequence('{target_table}', '{column}'), "
                f"COALESCE((SELECT MAX({_quote(column)}) FROM {target_table}), 0) + 1, false)"
            )
    _plans[source] = plan
    return plan


def copy_schema(source: str, target: str) -> None:
    """Create ``target`` with the tables, indexes, constraints and seed rows of ``source``."""
    q_dst = _quote(target)
    with connection.cursor() as cursor:
        for statement in copy_plan(source):
            cursor.execute(statement.replace(TARGET, q_dst))


def schema_exists(schema: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema])
        return cursor.fetchone() is not None


def provision(merchant: Merchant) -> bool:
    """Create the merchant's schema (a copy of the template) and budget account, once.

    Runs inside the caller's transaction with the merchant's row locked
    (``tenants.lifecycle.change_status``), so two approvals at once copy one schema;
    the DDL is transactional, so a failure leaves no schema behind. The caller
    must have called ``ensure_template_schema`` before opening that transaction
    (it may migrate the template). False when the merchant was provisioned already.
    """
    if merchant.provisioned_at is not None:
        return False
    copy_schema(ensure_template_schema(), merchant.schema_name)
    ledger.merchant_budget(merchant.pk)
    merchant.provisioned_at = timezone.now()
    merchant.save(update_fields=["provisioned_at"])
    return True
