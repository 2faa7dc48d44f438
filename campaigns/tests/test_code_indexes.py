"""campaigns_code carries only the indexes a query needs (decision 0140), and no foreign key
checked per row (decision 0142).

Every index is paid for by every code a batch writes (a 10,000,000-code batch writes
10,000,000 entries in each) and by every claim (its UPDATE writes a new entry in
each). So the table's indexes are listed here with the query each one serves, and
each is checked to serve it: an index that comes back unasked (Django adds one to a
foreign key by default, and a ``varchar_pattern_ops`` twin to a ``CharField``
primary key) fails the first test, and one a query stopped using fails the second.
A new query that needs an index adds it here, with the query.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone
from django_tenants.utils import tenant_context

from campaigns.exports.render import FETCH_CHUNK
from campaigns.models import Code
from core.db import connection
from tests.fixtures.tenants import Tenants

# index name -> (its definition after "USING", the queries that need it)
EXPECTED = {
    "campaigns_code_pkey": (
        "btree (code)",
        "the claim's read and take, `WHERE code = %s` (campaigns.scan.claims), the phone "
        "page's preview (campaigns.scan.preview), campaigns_claim.code_id's foreign key",
    ),
    "code_unique_serial": (
        "btree (batch_id, serial)",
        "the exports' keyset pages, `WHERE batch_id = %s AND serial > %s ORDER BY serial` "
        "(campaigns.exports.render.batch_codes); one code per serial when a generation "
        "resumes; the batch's PROTECT foreign key",
    ),
}

pytestmark = pytest.mark.django_db

CLAIM_READ = (
    "SELECT c.serial, c.claimed_by_id, b.id, p.id FROM campaigns_code c"
    " JOIN campaigns_codebatch b ON b.id = c.batch_id"
    " JOIN campaigns_campaign p ON p.id = b.campaign_id WHERE c.code = %s"
)
CLAIM_TAKE = (
    "UPDATE campaigns_code c SET claimed_by_id = %s, claimed_at = %s"
    " WHERE c.code = %s AND c.claimed_at IS NULL"
)


def _indexes(schema: str) -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes"
            " WHERE schemaname = %s AND tablename = 'campaigns_code'",
            [schema],
        )
        return {name: definition.split(" USING ", 1)[1] for name, definition in cursor.fetchall()}


@pytest.mark.parametrize("which", ["template", "merchant"])
def test_code_indexes_are_only_those_a_query_needs(tenants: Tenants, which: str) -> None:
    # The template (which new merchants copy) and a merchant schema copied from it.
    schema = settings.TENANT_TEMPLATE_SCHEMA if which == "template" else tenants.acme.schema_name
    found = _indexes(schema)
    unneeded = sorted(set(found) - set(EXPECTED))
    assert not unneeded, (
        f"{schema}.campaigns_code has indexes no query needs: "
        f"{ {name: found[name] for name in unneeded} }; each costs every code generated "
        "and every claim (decision 0140). If a query needs one, add it to EXPECTED with it."
    )
    assert found == {name: definition for name, (definition, _query) in EXPECTED.items()}


def _index_names(plan: Any) -> set[str]:
    if isinstance(plan, dict):
        names = {plan["Index Name"]} if "Index Name" in plan else set()
        return names.union(*(_index_names(value) for value in plan.values()))
    if isinstance(plan, list):
        return set().union(*(_index_names(value) for value in plan))
    return set()


def _plan_indexes(sql: str, params: list[Any]) -> set[str]:
    with connection.cursor() as cursor:
        # The tables are nearly empty here: without this the planner would read them
        # whole, and the test would say nothing about which index serves the query.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        (plan,) = cursor.fetchone()
    return _index_names(json.loads(plan) if isinstance(plan, str) else plan)


def test_each_index_serves_its_query(tenants: Tenants, consumer: Any) -> None:
    code = "0001" + "0" * 14
    with tenant_context(tenants.acme):
        exports_page = (
            Code.objects.filter(batch_id=1, serial__gt=-1)
            .order_by("serial")
            .values_list("serial", "code")[:FETCH_CHUNK]
        )
        page_sql, page_params = exports_page.query.sql_with_params()
        preview = Code.objects.filter(code=code).only("code", "claimed_at")
        preview_sql, preview_params = preview.query.sql_with_params()
        served = {
            # The claim's two statements on the code, as campaigns_claim_code.sql has them.
            "claim read": _plan_indexes(CLAIM_READ, [code]),
            "claim take": _plan_indexes(CLAIM_TAKE, [consumer.pk, timezone.now(), code]),
            "preview": _plan_indexes(preview_sql, list(preview_params)),
            "exports page": _plan_indexes(page_sql, list(page_params)),
        }
    connection.set_schema_to_public()
    assert "campaigns_code_pkey" in served["claim read"], served
    assert "campaigns_code_pkey" in served["claim take"], served
    assert "campaigns_code_pkey" in served["preview"], served
    assert "code_unique_serial" in served["exports page"], served


@pytest.mark.parametrize("which", ["template", "merchant"])
def test_codes_carry_no_foreign_key_checked_per_row(tenants: Tenants, which: str) -> None:
    # Decision 0142: each would be checked once per generated code.
    schema = settings.TENANT_TEMPLATE_SCHEMA if which == "template" else tenants.acme.schema_name
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f'",
            [f'"{schema}".campaigns_code'],
        )
        assert cursor.fetchall() == []


# The claim's own table: each claim writes one entry in each of these.
CLAIM_INDEXES = {
    "campaigns_claim_pkey": "the claim by id",
    "campaigns_claim_code_id_key": "one claim per code (the OneToOneField)",
    "campaigns_claim_consumer_id_129adfe4": "a consumer's claims (their history, their data)",
    "campaigns_claim_transaction_id_34272a84": "the claim of a ledger transaction",
    "claim_consumer_recent": "per-consumer limits, `campaign_id, consumer_id, claimed_at`",
    "claim_campaign_time": "a campaign's stats and series, `campaign_id, claimed_at`",
    "claim_batch_time": "a batch's stats, `batch_id, claimed_at`",
}


def test_claim_indexes_are_only_those_listed(tenants: Tenants) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = %s"
            " AND tablename = 'campaigns_claim'",
            [tenants.acme.schema_name],
        )
        found = {name for (name,) in cursor.fetchall()}
    assert found == set(CLAIM_INDEXES), sorted(found ^ set(CLAIM_INDEXES))
