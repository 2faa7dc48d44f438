"""The audit log: every merchant mutation recorded once, append-only, read by owners."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.db import connection
from tenants import audit
from tenants.models import AuditEvent
from tests.fixtures.api import Api, access_token
from tests.fixtures.tenants import STAFF_PASSWORD, Tenants

pytestmark = pytest.mark.django_db

CREATE = "mutation($name: String!) { createScanCampaign(name: $name) { campaign { id } errors { code } } }"  # noqa: E501


def _create(api: Api, token: str, name: str = "Audited caps", **headers: str) -> dict:
    result = api.query(
        CREATE, {"name": name}, token=token, merchant="acme", expect_status=200, **headers
    )
    return result["data"]["createScanCampaign"]


def _log(api: Api, tenants: Tenants, **variables: Any) -> list[dict]:
    result = api.op("AuditLog", variables, token=access_token(tenants.acme_owner), merchant="acme")
    assert "errors" not in result, result
    return [edge["node"] for edge in result["data"]["auditLog"]["edges"]]


def test_a_staff_mutation_is_recorded_with_who_what_when_and_where(
    merchant_api: Api, tenants: Tenants
) -> None:
    before = timezone.now()
    created = _create(
        merchant_api, access_token(tenants.acme_operator), HTTP_USER_AGENT="Console/1.0"
    )
    assert created["errors"] == []
    event = AuditEvent.objects.get()
    assert event.merchant_id == tenants.acme.pk
    assert event.actor_user_id == tenants.acme_operator.pk
    assert event.actor_label == tenants.acme_operator.email
    assert event.mutation == "createScanCampaign"
    assert event.input == {"name": "Audited caps", "description": ""}  # defaults included
    assert event.result == "ok"
    assert event.ip == "127.0.0.1"
    assert event.user_agent == "Console/1.0"
    assert event.created_at >= before

    [node] = _log(merchant_api, tenants)
    assert node["actor"] == tenants.acme_operator.email
    assert node["actorKind"] == "STAFF"
    assert node["mutation"] == "createScanCampaign"
    assert node["result"] == "ok"
    assert node["apiKeyName"] is None


def test_refusals_and_validation_errors_are_recorded(merchant_api: Api, tenants: Tenants) -> None:
    assert _create(merchant_api, access_token(tenants.acme_viewer))["errors"] == [
        {"code": "PERMISSION_DENIED"}
    ]
    assert _create(merchant_api, access_token(tenants.acme_owner), name=" ")["errors"] == [
        {"code": "INVALID_NAME"}
    ]
    # Naming a merchant one does not belong to is recorded too (with no merchant).
    foreign = merchant_api.query(
        CREATE, {"name": "x"}, token=access_token(tenants.beta_owner), merchant="acme"
    )["data"]["createScanCampaign"]
    assert foreign["errors"] == [{"code": "MERCHANT_NOT_FOUND"}]
    rows = list(
        AuditEvent.objects.order_by("id").values_list("merchant_id", "actor_label", "result")
    )
    assert rows == [
        (tenants.acme.pk, tenants.acme_viewer.email, "PERMISSION_DENIED"),
        (tenants.acme.pk, tenants.acme_owner.email, "INVALID_NAME"),
        (None, tenants.beta_owner.email, "MERCHANT_NOT_FOUND"),
    ]
    assert [n["result"] for n in _log(merchant_api, tenants)] == [
        "INVALID_NAME",
        "PERMISSION_DENIED",
    ]


def test_a_refused_request_leaves_no_event(merchant_api: Api, tenants: Tenants) -> None:
    # A NUL character (PostgreSQL holds none) is refused before any mutation runs.
    response = merchant_api.client.post(
        "/merchant/graphql/",
        json.dumps({"query": CREATE, "variables": {"name": "cK\x00"}}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {access_token(tenants.acme_owner)}",
        HTTP_X_MERCHANT="acme",
    )
    assert response.status_code == 400
    assert not AuditEvent.objects.exists()


def test_staff_sign_in_attempts_are_recorded_without_the_password(
    merchant_api: Api, tenants: Tenants
) -> None:
    for password in ("wrong-password-1", STAFF_PASSWORD):
        merchant_api.op("StaffSignIn", {"email": "Owner@Acme.test", "password": password})
    events = list(AuditEvent.objects.order_by("id"))
    assert [(e.mutation, e.result, e.merchant_id) for e in events] == [
        ("signIn", "INVALID_CREDENTIALS", None),
        ("signIn", "ok", None),
    ]
    assert {e.actor_label for e in events} == {"owner@acme.test"}
    assert all(e.input == {"email": "Owner@Acme.test", "password": "[redacted]"} for e in events)
    # Not a merchant's event: no owner sees sign-ins in auditLog.
    assert _log(merchant_api, tenants) == []


def test_anonymous_mutations_are_not_recorded(merchant_api: Api, tenants: Tenants) -> None:
    result = merchant_api.query(CREATE, {"name": "x"}, merchant="acme")
    assert result["data"]["createScanCampaign"]["errors"] == [{"code": "UNAUTHENTICATED"}]
    merchant_api.op("RefreshToken", {"refreshToken": "not-a-token"})
    assert not AuditEvent.objects.exists()


def test_secrets_are_redacted_and_long_values_cut() -> None:
    summary = audit.summarize(
        {
            "password": "hunter2",
            "refresh_token": "abc",
            "questions": [{"id": f"q{i}", "text": "x" * 300} for i in range(50)],
            "name": "n" * 500,
            "nested": {"client_secret": "s", "ok": 1},
            "when": timezone.now(),
        }
    )
    assert summary["password"] == summary["refreshToken"] == "[redacted]"
    assert summary["questions"].startswith("[") and "omitted" in summary["questions"]
    assert len(summary["name"]) == audit.MAX_STRING + 1
    assert summary["nested"] == {"client_secret": "[redacted]", "ok": 1}
    assert isinstance(summary["when"], str)


def test_events_are_append_only_in_the_database(merchant_api: Api, tenants: Tenants) -> None:
    _create(merchant_api, access_token(tenants.acme_owner))
    event = AuditEvent.objects.get()
    for statement in (
        lambda: AuditEvent.objects.filter(pk=event.pk).update(result="forged"),
        lambda: AuditEvent.objects.filter(pk=event.pk).delete(),
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            statement()
    assert AuditEvent.objects.get().result == "ok"


def test_only_owners_read_the_log(merchant_api: Api, tenants: Tenants) -> None:
    for user in (tenants.acme_admin, tenants.acme_viewer):
        result = merchant_api.op("AuditLog", token=access_token(user), merchant="acme")
        assert result["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
    _create(merchant_api, access_token(tenants.acme_owner))
    gid = _log(merchant_api, tenants)[0]["id"]
    node = "query($id: ID!) { node(id: $id) { id } }"
    as_admin = merchant_api.query(
        node, {"id": gid}, token=access_token(tenants.acme_admin), merchant="acme"
    )
    assert as_admin["data"]["node"] is None
    as_beta = merchant_api.query(
        node, {"id": gid}, token=access_token(tenants.beta_owner), merchant="beta"
    )
    assert as_beta["data"]["node"] is None
    as_owner = merchant_api.query(
        node, {"id": gid}, token=access_token(tenants.acme_owner), merchant="acme"
    )
    assert as_owner["data"]["node"]["id"] == gid


def test_the_log_filters_and_pages(merchant_api: Api, tenants: Tenants) -> None:
    operator, owner = access_token(tenants.acme_operator), access_token(tenants.acme_owner)
    for i in range(3):
        _create(merchant_api, operator, name=f"Caps {i}")
    merchant_api.op(
        "StaffInvite",
        {"email": "audited@example.test", "role": "VIEWER"},
        token=owner,
        merchant="acme",
    )
    assert [n["mutation"] for n in _log(merchant_api, tenants)] == [
        "staffInvite",
        "createScanCampaign",
        "createScanCampaign",
        "createScanCampaign",
    ]
    by_operator = _log(merchant_api, tenants, actor=tenants.acme_operator.get_username().upper())
    assert [json.loads(n["input"])["name"] for n in by_operator] == ["Caps 2", "Caps 1", "Caps 0"]
    assert len(_log(merchant_api, tenants, mutation="staffInvite")) == 1
    future = (timezone.now() + timedelta(hours=1)).isoformat()
    assert _log(merchant_api, tenants, since=future) == []
    assert len(_log(merchant_api, tenants, until=future)) == 4
    page = merchant_api.op("AuditLog", {"first": 2}, token=owner, merchant="acme")
    page = page["data"]["auditLog"]
    assert page["pageInfo"]["hasNextPage"] is True
    rest = merchant_api.op(
        "AuditLog",
        {"first": 2, "after": page["pageInfo"]["endCursor"]},
        token=owner,
        merchant="acme",
    )["data"]["auditLog"]
    assert [json.loads(e["node"]["input"])["name"] for e in rest["edges"]] == ["Caps 1", "Caps 0"]


def test_a_page_of_the_log_costs_the_same_queries_whatever_its_size(
    merchant_api: Api, tenants: Tenants
) -> None:
    owner = access_token(tenants.acme_owner)
    created = merchant_api.op(
        "ApiKeyCreate", {"name": "ERP", "scopes": ["CAMPAIGNS_WRITE"]}, token=owner, merchant="acme"
    )["data"]["apiKeyCreate"]

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            _log(merchant_api, tenants, first=100)
        return len(queries)

    small = count()
    for i in range(15):
        _create(merchant_api, created["secret"] if i % 2 else owner, name=f"Caps {i}")
    nodes = _log(merchant_api, tenants, first=100)
    assert {n["actorKind"] for n in nodes} == {"STAFF", "API_KEY"}
    assert {n["apiKeyName"] for n in nodes} == {None, "ERP"}
    assert count() == small
