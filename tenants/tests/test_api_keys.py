"""API keys: created once by admins, hashed at rest, scoped, revocable, one merchant only."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from graphql_relay import to_global_id

from api.mutations import DomainMutation
from api.schema import merchant_schema
from core.db import connection
from points import services
from points.models import Entry
from tenants import apikeys
from tenants.models import ApiKey, AuditEvent
from tests.fixtures.api import Api, access_token
from tests.fixtures.tenants import Tenants

pytestmark = pytest.mark.django_db

CAMPAIGN = 'mutation { createScanCampaign(name: "ERP caps") { campaign { id } errors { code } } }'
ACTIVATE = (
    "mutation($id: ID!) { activateCampaign(id: $id) { campaign { status } errors { code } } }"
)
BATCH_NODE = "query($id: ID!) { node(id: $id) { ... on CodeBatch { id size status } } }"


def _create_key(api: Api, tenants: Tenants, *scopes: str, **extra: Any) -> dict[str, Any]:
    result = api.op(
        "ApiKeyCreate",
        {"name": "ERP", "scopes": list(scopes), **extra},
        token=access_token(tenants.acme_owner),
        merchant="acme",
    )["data"]["apiKeyCreate"]
    assert result["errors"] == [], result
    return result


def _with_key(api: Api, secret: str, document: str, variables: dict | None = None, **kw: Any):
    return api.query(document, variables, token=secret, **kw)


def _fund(tenants: Tenants, unique: Callable[[str], str]) -> None:
    services.fund_with_money(
        tenants.acme, amount_minor=10_000, currency="CNY", rate="10", payment_reference=unique("p")
    )


def test_an_erp_creates_a_campaign_and_a_batch_with_a_key(
    merchant_api: Api, tenants: Tenants, unique: Callable[[str], str]
) -> None:
    _fund(tenants, unique)
    created = _create_key(merchant_api, tenants, "CAMPAIGNS_WRITE", "BATCHES_WRITE")
    secret = created["secret"]
    assert secret.startswith(created["apiKey"]["prefix"] + "_")
    assert created["apiKey"]["prefix"].startswith("lk_live_")
    assert created["apiKey"]["scopes"] == ["BATCHES_WRITE", "CAMPAIGNS_WRITE"]
    assert created["apiKey"]["createdBy"] == tenants.acme_owner.email

    # No X-Merchant needed: the key fixes the merchant (naming it is fine too).
    campaign = _with_key(merchant_api, secret, CAMPAIGN)["data"]["createScanCampaign"]
    assert campaign["errors"] == []
    campaign_id = campaign["campaign"]["id"]
    active = _with_key(merchant_api, secret, ACTIVATE, {"id": campaign_id}, merchant="acme")
    assert active["data"]["activateCampaign"]["campaign"]["status"] == "ACTIVE"
    batch = merchant_api.op(
        "CreateCodeBatch", {"campaignId": campaign_id, "size": 3, "pointsPerCode": 2}, token=secret
    )["data"]["createCodeBatch"]
    assert batch["errors"] == []
    # campaigns:write implies campaigns:read, which covers batches.
    node = _with_key(merchant_api, secret, BATCH_NODE, {"id": batch["batch"]["id"]})
    assert node["data"]["node"]["size"] == 3

    key = ApiKey.objects.get(prefix=created["apiKey"]["prefix"])
    assert key.last_used_at is not None
    events = AuditEvent.objects.filter(api_key=key).order_by("id")
    assert [(e.mutation, e.result) for e in events] == [
        ("createScanCampaign", "ok"),
        ("activateCampaign", "ok"),
        ("createCodeBatch", "ok"),
    ]
    assert {(e.merchant_id, e.actor_label, e.actor_user_id) for e in events} == {
        (tenants.acme.pk, key.prefix, None)
    }


def test_the_key_is_shown_once_and_stored_hashed(merchant_api: Api, tenants: Tenants) -> None:
    created = _create_key(merchant_api, tenants, "LEDGER_READ")
    secret = created["secret"]
    random_part = secret[len(created["apiKey"]["prefix"]) + 1 :]
    with connection.cursor() as cursor:
        cursor.execute("SELECT row_to_json(k)::text FROM tenants_apikey k")
        stored = " ".join(row[0] for row in cursor.fetchall())
        cursor.execute("SELECT input::text FROM tenants_auditevent")
        stored += " ".join(row[0] for row in cursor.fetchall())
    assert created["apiKey"]["prefix"] in stored
    assert random_part not in stored and secret not in stored
    listed = merchant_api.op("ApiKeys", token=access_token(tenants.acme_admin), merchant="acme")
    assert random_part not in str(listed)
    fields = set(merchant_schema.graphql_schema.get_type("ApiKey").fields)
    assert not fields & {"secret", "keyHash", "hash"}


def test_scopes_limit_what_a_key_reaches(
    merchant_api: Api, tenants: Tenants, unique: Callable[[str], str]
) -> None:
    _fund(tenants, unique)
    secret = _create_key(merchant_api, tenants, "CAMPAIGNS_READ")["secret"]
    refused = _with_key(merchant_api, secret, CAMPAIGN)["data"]["createScanCampaign"]
    assert refused["errors"] == [{"code": "SCOPE_MISSING"}]
    ledger = _with_key(merchant_api, secret, "query { budget { available } }")
    assert ledger["errors"][0]["extensions"]["code"] == "SCOPE_MISSING"
    assert "ledger:read" in ledger["errors"][0]["message"]
    # People, keys and the log are never reachable by a key, whatever its scopes.
    staff = _with_key(merchant_api, secret, "query { staff(first: 5) { edges { node { id } } } }")
    assert staff["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
    minted = _with_key(
        merchant_api,
        secret,
        'mutation { apiKeyCreate(name: "x", scopes: [MALL_WRITE]) { secret errors { code } } }',
    )["data"]["apiKeyCreate"]
    assert minted == {"secret": None, "errors": [{"code": "PERMISSION_DENIED"}]}
    # node(id) answers only objects of a granted scope.
    ledger_entry = Entry.objects.filter(account__merchant=tenants.acme).latest("id")
    gid = to_global_id("LedgerEntry", ledger_entry.pk)
    hidden = _with_key(
        merchant_api, secret, "query($id: ID!) { node(id: $id) { id } }", {"id": gid}
    )
    assert hidden["data"]["node"] is None
    visible = merchant_api.query(
        "query($id: ID!) { node(id: $id) { id } }",
        {"id": gid},
        token=access_token(tenants.acme_owner),
        merchant="acme",
    )
    assert visible["data"]["node"]["id"] == gid
    # Reads in scope work; every refusal above is in the audit log as the key's.
    campaigns = _with_key(
        merchant_api, secret, "query { campaigns(first: 1) { edges { cursor } } }"
    )
    assert "errors" not in campaigns
    results = set(
        AuditEvent.objects.filter(api_key__isnull=False).values_list("mutation", "result")
    )
    assert results == {
        ("createScanCampaign", "SCOPE_MISSING"),
        ("apiKeyCreate", "PERMISSION_DENIED"),
    }


def test_a_revoked_key_is_refused_with_401(merchant_api: Api, tenants: Tenants) -> None:
    created = _create_key(merchant_api, tenants, "CAMPAIGNS_READ")
    document = "query { merchant { slug } }"
    assert (
        _with_key(merchant_api, created["secret"], document)["data"]["merchant"]["slug"] == "acme"
    )
    revoked = merchant_api.op(
        "ApiKeyRevoke",
        {"id": created["apiKey"]["id"]},
        token=access_token(tenants.acme_admin),
        merchant="acme",
    )["data"]["apiKeyRevoke"]
    assert revoked["errors"] == [] and revoked["apiKey"]["active"] is False
    refused = _with_key(merchant_api, created["secret"], document, expect_status=401)
    assert refused["errors"][0]["extensions"]["code"] == "API_KEY_REVOKED"


def test_expired_wrong_and_malformed_keys_get_401(merchant_api: Api, tenants: Tenants) -> None:
    created = _create_key(merchant_api, tenants, "CAMPAIGNS_READ")
    document = "query { merchant { slug } }"
    for bad in (created["secret"][:-1] + "x", created["apiKey"]["prefix"], "lk_live_nope_nope"):
        refused = _with_key(merchant_api, bad, document, expect_status=401)
        assert refused["errors"][0]["extensions"]["code"] == "TOKEN_INVALID"
    ApiKey.objects.filter(prefix=created["apiKey"]["prefix"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    expired = _with_key(merchant_api, created["secret"], document, expect_status=401)
    assert expired["errors"][0]["extensions"]["code"] == "API_KEY_EXPIRED"


def test_a_key_works_only_for_its_merchant_and_only_on_the_merchant_api(
    merchant_api: Api, consumer_api: Api, tenants: Tenants
) -> None:
    secret = _create_key(merchant_api, tenants, "CAMPAIGNS_READ", "LEDGER_READ")["secret"]
    foreign = _with_key(merchant_api, secret, "query { budget { available } }", merchant="beta")
    assert foreign["errors"][0]["extensions"]["code"] == "MERCHANT_NOT_FOUND"
    assert foreign["data"] is None
    consumer = consumer_api.query("query { me { id } }", token=secret, expect_status=401)
    assert consumer["errors"][0]["extensions"]["code"] == "TOKEN_INVALID"
    page = merchant_api.client.get("/console/", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert page.status_code == 401


def test_beta_cannot_revoke_or_see_acmes_keys(merchant_api: Api, tenants: Tenants) -> None:
    created = _create_key(merchant_api, tenants, "CAMPAIGNS_READ")
    beta = access_token(tenants.beta_owner)
    revoked = merchant_api.op(
        "ApiKeyRevoke", {"id": created["apiKey"]["id"]}, token=beta, merchant="beta"
    )["data"]["apiKeyRevoke"]
    assert revoked["errors"][0]["code"] == "NOT_FOUND"
    node = merchant_api.query(
        "query($id: ID!) { node(id: $id) { id } }",
        {"id": created["apiKey"]["id"]},
        token=beta,
        merchant="beta",
    )
    assert node["data"]["node"] is None
    assert ApiKey.objects.get(prefix=created["apiKey"]["prefix"]).revoked_at is None


def test_only_admins_and_owners_manage_keys(merchant_api: Api, tenants: Tenants) -> None:
    operator = access_token(tenants.acme_operator)
    made = merchant_api.op(
        "ApiKeyCreate", {"name": "x", "scopes": ["LEDGER_READ"]}, token=operator, merchant="acme"
    )["data"]["apiKeyCreate"]
    assert [e["code"] for e in made["errors"]] == ["PERMISSION_DENIED"]
    listed = merchant_api.op("ApiKeys", token=operator, merchant="acme")
    assert listed["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
    admin = access_token(tenants.acme_admin)
    made = merchant_api.op(
        "ApiKeyCreate", {"name": "Admin's", "scopes": ["MALL_READ"]}, token=admin, merchant="acme"
    )["data"]["apiKeyCreate"]
    assert made["errors"] == []


@pytest.mark.parametrize(
    ("variables", "code", "field"),
    [
        ({"name": " ", "scopes": ["LEDGER_READ"]}, "INVALID_NAME", "name"),
        ({"name": "x" * 101, "scopes": ["LEDGER_READ"]}, "INVALID_NAME", "name"),
        ({"name": "ERP", "scopes": []}, "INVALID_SCOPE", "scopes"),
        (
            {"name": "ERP", "scopes": ["LEDGER_READ"], "expiresAt": "2001-01-01T00:00:00Z"},
            "INVALID_EXPIRY",
            "expiresAt",
        ),
    ],
)
def test_key_creation_is_validated(
    merchant_api: Api, tenants: Tenants, variables: dict, code: str, field: str
) -> None:
    result = merchant_api.op(
        "ApiKeyCreate", variables, token=access_token(tenants.acme_owner), merchant="acme"
    )["data"]["apiKeyCreate"]
    assert [(e["code"], e["field"]) for e in result["errors"]] == [(code, field)]
    assert result["secret"] is None
    assert not ApiKey.objects.filter(merchant=tenants.acme, name=variables["name"]).exists()


def test_last_used_is_written_at_most_once_a_minute(
    merchant_api: Api, tenants: Tenants, django_assert_num_queries: Any
) -> None:
    secret = _create_key(merchant_api, tenants, "CAMPAIGNS_READ")["secret"]
    key = apikeys.authenticate(secret)  # first use: written
    first = key.last_used_at
    assert first is not None
    with django_assert_num_queries(1):  # the lookup only, no update
        again = apikeys.authenticate(secret)
    assert again.last_used_at == first
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=first - timedelta(minutes=2))
    with django_assert_num_queries(2):
        apikeys.authenticate(secret)
    used = ApiKey.objects.get(pk=key.pk).last_used_at
    assert used is not None and used > first - timedelta(minutes=1)


def test_every_merchant_field_has_a_decision_for_keys() -> None:
    schema = merchant_schema.graphql_schema
    fields = set(schema.query_type.fields) | set(schema.mutation_type.fields)
    decided = set(apikeys.ROOT_FIELD_SCOPES) | apikeys.KEY_FORBIDDEN_FIELDS
    assert not set(apikeys.ROOT_FIELD_SCOPES) & apikeys.KEY_FORBIDDEN_FIELDS
    assert fields - decided == set(), "say whether API keys may use these (tenants/apikeys.py)"
    assert decided - fields == set(), "tenants/apikeys.py names fields the schema lacks"


def test_every_merchant_mutation_is_a_domain_mutation() -> None:
    """Audit and key scopes are enforced in DomainMutation.mutate: no mutation may skip it."""
    for name, field in merchant_schema.graphql_schema.mutation_type.fields.items():
        payload = field.type.graphene_type
        assert issubclass(payload, DomainMutation), name
