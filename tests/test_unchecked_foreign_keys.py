"""Which foreign keys the database does not check row by row, and why (decisions 0142, 0342).

A foreign key constraint runs a trigger for every row written: a query on the parent's
row that locks it ``FOR KEY SHARE``. On the hot paths those parents are rows every
concurrent claim shares (the merchant, the batch, the webhook endpoint) or rows the same
statement has just read or written (the ledger transaction, the consumer), so the checks
cost PostgreSQL about a sixth of a claim's CPU and turn each shared parent into a
MultiXact under concurrency, while proving nothing the writer does not already know.

Every such field is listed here with what guarantees its reference instead. The first
test sweeps every model: a field that stops being checked without being listed fails,
and so does a listed one that is checked again. The second reads the catalogue of the
public schema and of a merchant's schema: the constraint is gone from both. The ledger's
references are also checked by ``points.audit`` over the whole ledger (the third test
plants an orphan for it to find).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.db import models

from core.db import connection
from points.audit import audit
from tests.fixtures.tenants import Tenants

pytestmark = pytest.mark.django_db

# "app_label.Model.field": what makes the reference right without the database's check.
WRITTEN_ONLY_BY = {
    "points.transaction.merchant": "points_post, from the merchant the caller holds; "
    "merchants are never deleted (PROTECT)",
    "points.transaction.consumer": "points_post, from the signed-in consumer; users are "
    "never deleted (PIPL deletion empties a user, privacy.personal_data)",
    "points.entry.transaction": "points_post, the transaction it inserted in the same call",
    "points.entry.consumer": "points_post, as the transaction's consumer",
    "points.lot.source": "points_post, the transaction it inserted in the same call",
    "points.lot.consumer": "points_post, as the transaction's consumer",
    "points.lot.merchant": "points_post, as the transaction's merchant",
    "webhooks.webhookdelivery.merchant": "the claim's statement and webhooks.events, "
    "for the merchant whose event it is",
    "webhooks.webhookdelivery.endpoint": "an endpoint of the merchant's live list; "
    "endpoints are never deleted, only marked (webhooks.services.delete_endpoint)",
    "campaigns.claim.batch": "the claim's statement, the code's own batch read with it; "
    "batches are never deleted (decision 0142)",
    "campaigns.claim.consumer": "the claim's statement, the signed-in consumer",
    "campaigns.claim.transaction": "the claim's statement, the ledger transaction it "
    "posted in the same call",
    # Decision 0142 and earlier: written in bulk or pointing at rows never deleted.
    "campaigns.code.batch": "the generation, under its batch's row lock (decision 0142)",
    "campaigns.code.claimed_by": "the claim, the signed-in consumer (decision 0142)",
    "points.account.merged_into": "accounts.merge, the surviving wallet",
    "accounts.user.merged_into": "accounts.merge, the surviving user",
    # Rows that outlive what they name, by design: the audit log (a delete must never
    # cascade into it, tenants.models.AuditEvent) and the rollups, derived and rebuilt.
    "tenants.auditevent.merchant": "the audit log, which outlives what it names",
    "tenants.auditevent.actor_user": "the audit log, which outlives what it names",
    "tenants.auditevent.api_key": "the audit log, which outlives what it names",
    "tenants.coderoute.merchant": "a code import, millions of rows at once; merchants "
    "are never deleted (decision 0206)",
    "analytics.consumerday.consumer": "the rollup, derived from the log and rebuilt",
    "analytics.consumerday.merchant": "the rollup, derived from the log and rebuilt",
    "analytics.reach.consumer": "the rollup, derived from the log and rebuilt",
    "analytics.reach.merchant": "the rollup, derived from the log and rebuilt",
    "analytics.dailyactivity.merchant": "the rollup, derived from the log and rebuilt",
    "analytics.weeklycohort.merchant": "the rollup, derived from the log and rebuilt",
}


def _checked(field: models.Field[object, object]) -> bool:
    # django-stubs leave ForeignKey.db_constraint out.
    return bool(getattr(field, "db_constraint", True))


def _unchecked() -> set[str]:
    """Every foreign key of the project's own models that the database does not check
    (the apps whose code is in this repository; Django's and the libraries' are theirs)."""
    return {
        f"{model._meta.label_lower}.{field.name}"
        for config in apps.get_app_configs()
        if Path(config.path).is_relative_to(settings.BASE_DIR)
        and not Path(config.path).is_relative_to(settings.BASE_DIR / ".venv")
        for model in config.get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, models.ForeignKey) and not _checked(field)
    }


def test_every_unchecked_foreign_key_is_listed_with_its_reason() -> None:
    unchecked = _unchecked()
    assert unchecked == set(WRITTEN_ONLY_BY), (
        "a foreign key the database does not check must say here what checks it instead; "
        f"not listed: {sorted(unchecked - set(WRITTEN_ONLY_BY))}, "
        f"checked again: {sorted(set(WRITTEN_ONLY_BY) - unchecked)}"
    )


CONSTRAINTS = """
SELECT a.attname FROM pg_constraint c
  JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
 WHERE c.contype = 'f' AND c.conrelid = %s::regclass
"""


@pytest.mark.parametrize("label", sorted(WRITTEN_ONLY_BY))
def test_the_database_has_no_constraint_for_them(tenants: Tenants, label: str) -> None:
    app_label, model_name, field_name = label.split(".")
    model = apps.get_model(app_label, model_name)
    field = model._meta.get_field(field_name)
    in_merchant_schema = app_label in settings.TENANT_APPS and app_label not in settings.SHARED_APPS
    schema = tenants.acme.schema_name if in_merchant_schema else "public"
    with connection.cursor() as cursor:
        cursor.execute(CONSTRAINTS, [f'"{schema}".{model._meta.db_table}'])
        checked = {row[0] for row in cursor.fetchall()}
    assert field.column not in checked, f"{schema}.{model._meta.db_table}.{field.column}"
    # The same table's other foreign keys are still checked.
    others = {
        f.column
        for f in model._meta.concrete_fields
        if isinstance(f, models.ForeignKey) and _checked(f)
    }
    assert others <= checked


def test_the_audit_finds_a_ledger_row_naming_what_does_not_exist(tenants: Tenants) -> None:
    from points.models import Transaction

    assert not audit()
    missing = 2_000_000_000
    Transaction.objects.create(
        kind="award", idempotency_key="orphan", request_hash="-", merchant_id=missing
    )
    problems = [p for p in audit() if p.check.startswith("ledger rows name")]
    assert [p.detail for p in problems] == [
        repr(("transaction", Transaction.objects.get(idempotency_key="orphan").pk))
    ]
