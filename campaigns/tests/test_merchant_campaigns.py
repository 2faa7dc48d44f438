"""Merchant API for scan campaigns and code batches, through HTTP against real PostgreSQL.

Campaigns are created, changed and funded through the API as the staff of ``acme``;
codes are generated in-process (``generate_batch``: the on-commit Celery send never
fires in a rolled-back test) and claimed with the real claim service. One test runs
a real Celery worker and watches a batch's progress through the API while it runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context
from graphql_relay import to_global_id

from accounts.models import User
from campaigns.models import BatchStatus, Campaign, Claim, Code, CodeBatch, ScanFailure
from campaigns.scan.claims import claim_code
from campaigns.scan.generation import generate_batch
from campaigns.scan.services import create_batch, create_scan_campaign, reserve_left
from campaigns.services import set_status
from core.db import connection
from core.errors import DomainError
from points import ledger
from points.audit import audit
from points.models import Account, Transaction
from tenants.models import Merchant
from tenants.onboarding import create_merchant
from tests.fixtures.api import Api, access_token
from tests.fixtures.tenants import Tenants, fund

ERRORS = "errors { field code }"


# --- Helpers (test_stats.py uses them too) ---------------------------------------------


def call(api: Api, user: User, operation: str, /, merchant: str = "acme", **variables: Any) -> Any:
    """Send ``operation`` as ``user``; the payload of its one root field."""
    result = api.op(operation, variables, token=access_token(user), merchant=merchant)
    assert "errors" not in result, result
    (payload,) = result["data"].values()
    return payload


def budget(merchant: Merchant) -> int:
    return ledger.balance_of(ledger.merchant_budget(merchant.pk))


def wallet(consumer: User) -> int:
    return ledger.balance_of(ledger.wallet(consumer.pk))


def new_campaign(api: Api, user: User, name: str = "Tea caps", **variables: Any) -> str:
    payload = call(api, user, "CreateScanCampaign", name=name, **variables)
    assert payload["errors"] == [], payload
    return payload["campaign"]["id"]


def new_batch(api: Api, user: User, campaign_id: str, size: int, points: int) -> dict[str, Any]:
    payload = call(
        api, user, "CreateCodeBatch", campaignId=campaign_id, size=size, pointsPerCode=points
    )
    assert payload["errors"] == [], payload
    return payload["batch"]


def pk(global_id: str) -> int:
    """The row's primary key in a tenant-qualified global ID (``Type:<merchant>:<pk>``)."""
    from graphql_relay import from_global_id

    return int(from_global_id(global_id).id.split(":")[1])


def generate(merchant: Merchant, batch_id: str) -> None:
    with tenant_context(merchant):
        generate_batch(pk(batch_id), chunk_size=7)


def batch_codes(merchant: Merchant, batch_id: str) -> list[str]:
    with tenant_context(merchant):
        return list(
            Code.objects.filter(batch_id=pk(batch_id))
            .order_by("serial")
            .values_list("code", flat=True)
        )


def claim(consumer: User, code: str) -> int:
    """Claim through the real service; the consumer's balance afterwards."""
    return claim_code(consumer, code, f"key-{code}").balance


def consumers(new_phone: Callable[[], str], count: int) -> list[User]:
    return [User.objects.get_or_create_consumer(new_phone())[0] for _ in range(count)]


@pytest.fixture
def acme(db: None, tenants: Tenants, unique: Callable[[str], str]) -> Tenants:
    """acme with 100,000 more points in its budget, in a test that rolls back."""
    fund(tenants.acme, 100_000, unique)
    return tenants


def _active_campaign(api: Api, t: Tenants, **variables: Any) -> str:
    campaign_id = new_campaign(api, t.acme_operator, **variables)
    assert call(api, t.acme_operator, "ActivateCampaign", id=campaign_id)["errors"] == []
    return campaign_id


# --- The life of a campaign -------------------------------------------------------------


def test_create_update_activate_and_fund_a_batch(merchant_api: Api, acme: Tenants) -> None:
    operator = acme.acme_operator
    starts = timezone.now().replace(microsecond=0) - timedelta(hours=1)
    ends = starts + timedelta(days=30)
    created = call(
        merchant_api,
        operator,
        "CreateScanCampaign",
        name="  Spring tea  ",
        description="Caps of the spring harvest",
        startsAt=starts.isoformat(),
        endsAt=ends.isoformat(),
        maxClaimsPerDay=3,
        maxClaimsPerConsumer=10,
    )
    assert created["errors"] == []
    campaign = created["campaign"]
    assert {k: v for k, v in campaign.items() if k not in ("id", "createdAt")} == {
        "kind": "SCAN",
        "name": "Spring tea",
        "description": "Caps of the spring harvest",
        "startsAt": starts.isoformat(),
        "endsAt": ends.isoformat(),
        "status": "DRAFT",
        "maxClaimsPerDay": 3,
        "maxClaimsPerConsumer": 10,
    }
    campaign_id = campaign["id"]

    # Left-out arguments stay as they are; an explicit null clears.
    updated = call(
        merchant_api,
        operator,
        "UpdateCampaign",
        id=campaign_id,
        name="Spring tea 2026",
        maxClaimsPerDay=None,
    )
    assert updated["errors"] == []
    assert updated["campaign"]["name"] == "Spring tea 2026"
    assert updated["campaign"]["maxClaimsPerDay"] is None
    assert updated["campaign"]["maxClaimsPerConsumer"] == 10
    assert updated["campaign"]["description"] == "Caps of the spring harvest"
    assert updated["campaign"]["endsAt"] == ends.isoformat()

    for name, status in [
        ("ActivateCampaign", "ACTIVE"),
        ("PauseCampaign", "PAUSED"),
        ("ActivateCampaign", "ACTIVE"),
    ]:
        payload = call(merchant_api, operator, name, id=campaign_id)
        assert payload == {"campaign": {"id": campaign_id, "status": status}, "errors": []}

    before = budget(acme.acme)
    batch = new_batch(merchant_api, operator, campaign_id, size=45, points=7)
    assert {k: batch[k] for k in batch if k not in ("id", "createdAt")} == {
        "name": "",
        "sku": "",
        "size": 45,
        "pointsPerCode": 7,
        "status": "GENERATING",
        "generated": 0,
        "progressPercent": 0.0,
        "failureReason": None,
        "reservedPoints": 315,
        "releasedPoints": 0,
        "claimedCount": 0,
        "finishedAt": None,
        "hiddenCode": False,
        "hiddenCodesIssued": False,
    }
    assert budget(acme.acme) == before - 315
    viewer = acme.acme_viewer
    assert call(merchant_api, viewer, "CodeBatch", id=batch["id"])["campaign"] == {
        "id": campaign_id,
        "name": "Spring tea 2026",
        "status": "ACTIVE",
    }

    generate(acme.acme, batch["id"])
    ready = call(merchant_api, viewer, "CodeBatch", id=batch["id"])
    assert (ready["status"], ready["generated"], ready["progressPercent"]) == ("READY", 45, 100.0)
    assert ready["finishedAt"] is not None
    assert ready["stats"]["codesIssued"] == 45
    assert len(set(batch_codes(acme.acme, batch["id"]))) == 45

    # The viewer sees it all: the list (newest first) and the campaign with its batches.
    listed = call(merchant_api, viewer, "Campaigns", first=5)
    assert listed["edges"][0]["node"]["id"] == campaign_id
    assert listed["edges"][0]["node"]["stats"]["pointsReserved"] == 315
    detail = call(merchant_api, viewer, "Campaign", id=campaign_id)
    assert [edge["node"]["id"] for edge in detail["batches"]["edges"]] == [batch["id"]]
    assert detail["name"] == "Spring tea 2026"
    active = call(merchant_api, viewer, "Campaigns", first=100, status="DRAFT")
    assert campaign_id not in [edge["node"]["id"] for edge in active["edges"]]
    # Search by part of the name, any case, with the status filter or without.
    cases: list[tuple[str, str | None, bool]] = [
        ("TEA 20", None, True),
        ("  spring ", "ACTIVE", True),
        ("spring", "PAUSED", False),
        ("autumn", None, False),
    ]
    for search, wanted, found in cases:
        page = call(merchant_api, viewer, "Campaigns", first=100, search=search, status=wanted)
        ids = [edge["node"]["id"] for edge in page["edges"]]
        assert (campaign_id in ids) is found, (search, wanted)
        assert all("spring" in edge["node"]["name"].lower() for edge in page["edges"])
    too_long = merchant_api.op(
        "Campaigns", {"search": "x" * 101}, token=access_token(viewer), merchant="acme"
    )
    assert too_long["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    connection.set_schema_to_public()


def test_batches_list_newest_first_and_page(merchant_api: Api, acme: Tenants) -> None:
    campaign_id = _active_campaign(merchant_api, acme)
    ids = [new_batch(merchant_api, acme.acme_operator, campaign_id, 2, n)["id"] for n in (1, 2, 3)]
    first = call(merchant_api, acme.acme_viewer, "Campaign", id=campaign_id, batches=2)
    page = first["batches"]
    assert [e["node"]["pointsPerCode"] for e in page["edges"]] == [3, 2]
    assert page["pageInfo"]["hasNextPage"] is True
    rest = call(
        merchant_api,
        acme.acme_viewer,
        "Campaign",
        id=campaign_id,
        batches=2,
        after=page["pageInfo"]["endCursor"],
    )["batches"]
    assert [e["node"]["id"] for e in rest["edges"]] == [ids[0]]
    assert rest["pageInfo"]["hasNextPage"] is False


def test_a_batch_carries_its_name_and_product(merchant_api: Api, acme: Tenants) -> None:
    campaign_id = _active_campaign(merchant_api, acme)
    payload = call(
        merchant_api,
        acme.acme_operator,
        "CreateCodeBatch",
        campaignId=campaign_id,
        size=2,
        pointsPerCode=1,
        name="  春节礼盒 ",
        sku="TEA-500G",
    )
    assert payload["errors"] == [], payload
    assert (payload["batch"]["name"], payload["batch"]["sku"]) == ("春节礼盒", "TEA-500G")
    too_long = call(
        merchant_api,
        acme.acme_operator,
        "CreateCodeBatch",
        campaignId=campaign_id,
        size=2,
        pointsPerCode=1,
        sku="X" * 65,
    )
    assert [(e["field"], e["code"]) for e in too_long["errors"]] == [("sku", "INVALID_INPUT")]
    # Explicit nulls (the console's empty fields) are no name and no product, not a crash.
    unnamed = call(
        merchant_api,
        acme.acme_operator,
        "CreateCodeBatch",
        campaignId=campaign_id,
        size=2,
        pointsPerCode=1,
        name=None,
        sku=None,
    )
    assert unnamed["errors"] == [], unnamed
    assert (unnamed["batch"]["name"], unnamed["batch"]["sku"]) == ("", "")


# --- Refusals ----------------------------------------------------------------------------


def test_insufficient_budget_creates_nothing(merchant_api: Api, acme: Tenants) -> None:
    campaign_id = _active_campaign(merchant_api, acme)
    before = budget(acme.acme)
    with tenant_context(acme.acme):
        batches = CodeBatch.objects.count()
    accounts, transactions = Account.objects.count(), Transaction.objects.count()
    # 5,000,000 x 100,000 = 5 x 10^11 points, far beyond the budget (and a 32-bit Int).
    payload = call(
        merchant_api,
        acme.acme_operator,
        "CreateCodeBatch",
        campaignId=campaign_id,
        size=5_000_000,
        pointsPerCode=100_000,
    )
    assert payload["batch"] is None
    assert [e["code"] for e in payload["errors"]] == ["INSUFFICIENT_BUDGET"]
    with tenant_context(acme.acme):
        assert CodeBatch.objects.count() == batches
    assert budget(acme.acme) == before
    assert (Account.objects.count(), Transaction.objects.count()) == (accounts, transactions)
    # Exactly the budget is enough (one point a code, if the budget fits in one batch).
    if before <= 5_000_000:
        exact = call(
            merchant_api,
            acme.acme_operator,
            "CreateCodeBatch",
            campaignId=campaign_id,
            size=before,
            pointsPerCode=1,
        )
        assert exact["errors"] == [] and budget(acme.acme) == 0
    connection.set_schema_to_public()


@pytest.mark.parametrize(
    ("variables", "code", "field"),
    [
        ({"size": 0, "pointsPerCode": 1}, "INVALID_BATCH_SIZE", "size"),
        ({"size": 10_000_001, "pointsPerCode": 1}, "INVALID_BATCH_SIZE", "size"),
        ({"size": -3, "pointsPerCode": 1}, "INVALID_BATCH_SIZE", "size"),
        ({"size": 10, "pointsPerCode": 0}, "INVALID_AMOUNT", "pointsPerCode"),
        ({"size": 10, "pointsPerCode": -5}, "INVALID_AMOUNT", "pointsPerCode"),
        ({"size": 10, "pointsPerCode": 1_000_001}, "INVALID_AMOUNT", "pointsPerCode"),
    ],
)
def test_invalid_batches_are_refused(
    merchant_api: Api, acme: Tenants, variables: dict[str, Any], code: str, field: str
) -> None:
    campaign_id = _active_campaign(merchant_api, acme)
    before = budget(acme.acme)
    payload = call(
        merchant_api, acme.acme_operator, "CreateCodeBatch", campaignId=campaign_id, **variables
    )
    assert payload["batch"] is None
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [(field, code)]
    assert budget(acme.acme) == before
    with tenant_context(acme.acme):
        assert not CodeBatch.objects.filter(campaign_id=pk(campaign_id)).exists()


def _codes(payload: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [(e["field"], e["code"]) for e in payload["errors"]]


def test_invalid_campaign_details_are_refused(merchant_api: Api, acme: Tenants) -> None:
    operator = acme.acme_operator
    now = timezone.now()
    with tenant_context(acme.acme):
        count = Campaign.objects.count()
    cases: list[tuple[dict[str, Any], tuple[str, str]]] = [
        ({"name": "   "}, ("name", "INVALID_NAME")),
        ({"name": "x" * 201}, ("name", "INVALID_NAME")),
        (
            {"name": "Dates", "startsAt": now.isoformat(), "endsAt": now.isoformat()},
            ("endsAt", "INVALID_DATES"),
        ),
        (
            {
                "name": "Dates",
                "startsAt": now.isoformat(),
                "endsAt": (now - timedelta(1)).isoformat(),
            },
            ("endsAt", "INVALID_DATES"),
        ),
        ({"name": "Limits", "maxClaimsPerDay": 0}, ("maxClaimsPerDay", "INVALID_LIMIT")),
        ({"name": "Limits", "maxClaimsPerConsumer": -1}, ("maxClaimsPerConsumer", "INVALID_LIMIT")),
    ]
    for variables, expected in cases:
        payload = call(merchant_api, operator, "CreateScanCampaign", **variables)
        assert payload["campaign"] is None
        assert _codes(payload) == [expected], variables
    with tenant_context(acme.acme):
        assert Campaign.objects.count() == count

    campaign_id = new_campaign(merchant_api, operator, startsAt=now.isoformat())
    # An end before the stored start is refused, and nothing changes.
    bad = call(
        merchant_api,
        operator,
        "UpdateCampaign",
        id=campaign_id,
        name="Renamed",
        endsAt=(now - timedelta(hours=1)).isoformat(),
    )
    assert (bad["campaign"], _codes(bad)) == (None, [("endsAt", "INVALID_DATES")])
    unchanged = call(merchant_api, operator, "Campaign", id=campaign_id)
    assert (unchanged["name"], unchanged["endsAt"]) == ("Tea caps", None)
    empty = call(merchant_api, operator, "UpdateCampaign", id=campaign_id, name=None)
    assert _codes(empty) == [("name", "INVALID_NAME")]
    connection.set_schema_to_public()


def test_status_changes_follow_the_rules(merchant_api: Api, acme: Tenants) -> None:
    operator, admin = acme.acme_operator, acme.acme_admin
    campaign_id = new_campaign(merchant_api, operator)
    paused = call(merchant_api, operator, "PauseCampaign", id=campaign_id)
    assert (paused["campaign"], _codes(paused)) == (None, [("status", "INVALID_STATUS_CHANGE")])
    assert call(merchant_api, admin, "EndCampaign", id=campaign_id)["campaign"]["status"] == "ENDED"
    for name in ("ActivateCampaign", "PauseCampaign", "EndCampaign"):
        again = call(merchant_api, admin, name, id=campaign_id)
        assert _codes(again) == [("status", "INVALID_STATUS_CHANGE")], name
    # An ended campaign takes no changes and no new batches.
    update = call(merchant_api, operator, "UpdateCampaign", id=campaign_id, name="Late")
    assert [code for _field, code in _codes(update)] == ["CAMPAIGN_ENDED"]
    batch = call(
        merchant_api, operator, "CreateCodeBatch", campaignId=campaign_id, size=5, pointsPerCode=1
    )
    assert [code for _field, code in _codes(batch)] == ["CAMPAIGN_ENDED"]
    assert call(merchant_api, operator, "Campaign", id=campaign_id)["status"] == "ENDED"
    connection.set_schema_to_public()


def test_a_stale_copy_cannot_revive_or_fund_an_ended_campaign(acme: Tenants) -> None:
    """Two staff at once: one ends the campaign while the other edits it or adds a batch."""
    from campaigns.services import update_campaign

    with tenant_context(acme.acme):
        campaign = create_scan_campaign(name="Race")
        set_status(acme.acme, campaign, "active")
        stale = Campaign.objects.get(pk=campaign.pk)  # read by the second staff member
        set_status(acme.acme, campaign, "ended")
        before = budget(acme.acme)
        with pytest.raises(DomainError) as refused:
            update_campaign(stale, name="Renamed")
        assert refused.value.code == "CAMPAIGN_ENDED"
        with pytest.raises(DomainError) as refused:
            create_batch(acme.acme, stale, size=3, points_per_code=1)
        assert refused.value.code == "CAMPAIGN_ENDED"
        fresh = Campaign.objects.get(pk=campaign.pk)
        assert (fresh.status, fresh.name) == ("ended", "Race")
        assert not CodeBatch.objects.filter(campaign=fresh).exists()
        assert budget(acme.acme) == before
    connection.set_schema_to_public()


def test_unknown_and_malformed_ids_are_not_found(merchant_api: Api, acme: Tenants) -> None:
    admin = acme.acme_admin
    campaign_id = new_campaign(merchant_api, admin)
    unknown_campaign = to_global_id("Campaign", f"{acme.acme.pk}:999999999")
    unknown_batch = to_global_id("CodeBatch", f"{acme.acme.pk}:999999999")
    for bad in [unknown_campaign, "not-an-id", to_global_id("Campaign", "x"), "", unknown_batch]:
        for name in ("UpdateCampaign", "ActivateCampaign", "PauseCampaign", "EndCampaign"):
            payload = call(merchant_api, admin, name, id=bad)
            assert (payload["campaign"], _codes(payload)) == (None, [("id", "NOT_FOUND")]), name
        void = call(merchant_api, admin, "VoidCodeBatch", id=bad)
        assert (void["batch"], _codes(void)) == (None, [("id", "NOT_FOUND")])
        batch = call(
            merchant_api, admin, "CreateCodeBatch", campaignId=bad, size=1, pointsPerCode=1
        )
        assert (batch["batch"], _codes(batch)) == (None, [("campaignId", "NOT_FOUND")])
    # A campaign's ID is not a batch's, and the other way round.
    void = call(merchant_api, admin, "VoidCodeBatch", id=campaign_id)
    assert _codes(void) == [("id", "NOT_FOUND")]
    result = merchant_api.op(
        "CodeBatch", {"id": campaign_id}, token=access_token(admin), merchant="acme"
    )
    assert result["data"]["node"] == {"id": campaign_id}  # a Campaign: no CodeBatch fields
    connection.set_schema_to_public()


# --- Roles ---------------------------------------------------------------------------------


def _state(merchant: Merchant) -> tuple[Any, ...]:
    with tenant_context(merchant):
        campaigns = list(Campaign.objects.order_by("pk").values_list("pk", "name", "status"))
        batches = list(CodeBatch.objects.order_by("pk").values_list("pk", "status"))
    return campaigns, batches, budget(merchant)


ROLE_CASES = [
    # (operation, variables maker, role that is refused)
    ("CreateScanCampaign", lambda c, b: {"name": "New"}, "viewer"),
    ("UpdateCampaign", lambda c, b: {"id": c, "name": "Renamed"}, "viewer"),
    ("ActivateCampaign", lambda c, b: {"id": c}, "viewer"),
    ("PauseCampaign", lambda c, b: {"id": c}, "viewer"),
    ("CreateCodeBatch", lambda c, b: {"campaignId": c, "size": 3, "pointsPerCode": 2}, "viewer"),
    ("EndCampaign", lambda c, b: {"id": c}, "operator"),
    ("VoidCodeBatch", lambda c, b: {"id": b}, "operator"),
]


@pytest.mark.parametrize(
    ("name", "variables", "refused"), ROLE_CASES, ids=[c[0] for c in ROLE_CASES]
)
def test_roles(
    merchant_api: Api,
    acme: Tenants,
    name: str,
    variables: Callable[[str, str], dict[str, Any]],
    refused: str,
) -> None:
    campaign_id = _active_campaign(merchant_api, acme)
    batch_id = new_batch(merchant_api, acme.acme_operator, campaign_id, 4, 3)["id"]
    if name == "ActivateCampaign":
        call(merchant_api, acme.acme_operator, "PauseCampaign", id=campaign_id)
    arguments = variables(campaign_id, batch_id)
    below = {"viewer": [acme.acme_viewer], "operator": [acme.acme_viewer, acme.acme_operator]}
    state = _state(acme.acme)
    for user in below[refused]:
        payload = call(merchant_api, user, name, **arguments)
        assert _codes(payload) == [(None, "PERMISSION_DENIED")], (name, user.email)
        assert [v for k, v in payload.items() if k != "errors"] == [None]
        assert _state(acme.acme) == state
    allowed = acme.acme_operator if refused == "viewer" else acme.acme_admin
    payload = call(merchant_api, allowed, name, **arguments)
    assert payload["errors"] == [], payload
    assert _state(acme.acme) != state
    connection.set_schema_to_public()


def test_reading_needs_sign_in_and_membership(merchant_api: Api, acme: Tenants) -> None:
    campaign_id = new_campaign(merchant_api, acme.acme_operator)
    anonymous = merchant_api.op("Campaigns", {}, merchant="acme")
    assert [e["extensions"]["code"] for e in anonymous["errors"]] == ["UNAUTHENTICATED"]
    node = merchant_api.op("Campaign", {"id": campaign_id}, merchant="acme")
    assert (node["data"] or {}).get("node") is None
    foreign = merchant_api.op("Campaigns", {}, token=access_token(acme.beta_owner), merchant="acme")
    assert [e["extensions"]["code"] for e in foreign["errors"]] == ["MERCHANT_NOT_FOUND"]
    created = merchant_api.op("CreateScanCampaign", {"name": "x"}, merchant="acme")
    assert created["data"]["createScanCampaign"]["errors"][0]["code"] == "UNAUTHENTICATED"


# --- Ending and voiding return exactly the unclaimed reserve ------------------------------


def test_end_campaign_returns_exactly_the_unclaimed_reserve(
    merchant_api: Api, acme: Tenants, new_phone: Callable[[], str]
) -> None:
    operator, admin = acme.acme_operator, acme.acme_admin
    campaign_id = _active_campaign(merchant_api, acme)
    first = new_batch(merchant_api, operator, campaign_id, size=10, points=5)["id"]
    second = new_batch(merchant_api, operator, campaign_id, size=6, points=3)["id"]
    for batch_id in (first, second):
        generate(acme.acme, batch_id)
    alice, bob = consumers(new_phone, 2)
    first_codes, second_codes = batch_codes(acme.acme, first), batch_codes(acme.acme, second)
    assert [claim(alice, c) for c in first_codes[:2]] == [5, 10]
    assert claim(bob, first_codes[2]) == 5
    assert claim(bob, second_codes[0]) == 8

    before = budget(acme.acme)
    ended = call(merchant_api, admin, "EndCampaign", id=campaign_id)
    assert ended == {"campaign": {"id": campaign_id, "status": "ENDED"}, "errors": []}
    unclaimed = (10 - 3) * 5 + (6 - 1) * 3
    assert budget(acme.acme) == before + unclaimed
    assert (wallet(alice), wallet(bob)) == (10, 8)  # claimed points stay with consumers

    detail = call(merchant_api, acme.acme_viewer, "Campaign", id=campaign_id)
    batches = {e["node"]["id"]: e["node"] for e in detail["batches"]["edges"]}
    assert {
        b: (n["status"], n["releasedPoints"], n["claimedCount"]) for b, n in batches.items()
    } == {
        first: ("VOIDED", 35, 3),
        second: ("VOIDED", 15, 1),
    }
    totals = detail["stats"]
    assert (totals["pointsReserved"], totals["pointsAwarded"], totals["pointsReturned"]) == (
        10 * 5 + 6 * 3,
        18,
        unclaimed,
    )
    assert totals["pointsOutstanding"] == 0
    with tenant_context(acme.acme):
        for batch_id in (first, second):
            assert reserve_left(acme.acme, CodeBatch.objects.get(pk=pk(batch_id))) == 0
    # Its codes stop working; nothing moves.
    with pytest.raises(DomainError) as refused:
        claim(alice, first_codes[5])
    assert refused.value.code == "CAMPAIGN_ENDED"
    assert budget(acme.acme) == before + unclaimed
    assert audit() == []
    connection.set_schema_to_public()


def test_void_batch_returns_exactly_its_unclaimed_reserve(
    merchant_api: Api, acme: Tenants, new_phone: Callable[[], str]
) -> None:
    operator, admin = acme.acme_operator, acme.acme_admin
    campaign_id = _active_campaign(merchant_api, acme)
    voided_id = new_batch(merchant_api, operator, campaign_id, size=12, points=4)["id"]
    kept_id = new_batch(merchant_api, operator, campaign_id, size=5, points=9)["id"]
    for batch_id in (voided_id, kept_id):
        generate(acme.acme, batch_id)
    (carol,) = consumers(new_phone, 1)
    voided_codes = batch_codes(acme.acme, voided_id)
    for code in voided_codes[:4]:
        claim(carol, code)
    claim(carol, batch_codes(acme.acme, kept_id)[0])
    assert wallet(carol) == 4 * 4 + 9

    before = budget(acme.acme)
    payload = call(merchant_api, admin, "VoidCodeBatch", id=voided_id)
    assert payload["errors"] == []
    assert (payload["batch"]["status"], payload["batch"]["releasedPoints"]) == ("VOIDED", 8 * 4)
    assert payload["batch"]["claimedCount"] == 4
    assert budget(acme.acme) == before + 8 * 4
    assert wallet(carol) == 4 * 4 + 9
    with tenant_context(acme.acme):
        kept = CodeBatch.objects.get(pk=pk(kept_id))
        assert kept.status == BatchStatus.READY
        assert reserve_left(acme.acme, kept) == 4 * 9
    with pytest.raises(DomainError) as refused:
        claim(carol, voided_codes[7])
    assert refused.value.code == "CODE_VOIDED"
    again = call(merchant_api, admin, "VoidCodeBatch", id=voided_id)
    assert (again["batch"], [c for _f, c in _codes(again)]) == (None, ["BATCH_VOIDED"])
    assert budget(acme.acme) == before + 8 * 4
    campaign = call(merchant_api, admin, "Campaign", id=campaign_id)
    assert campaign["status"] == "ACTIVE"
    assert campaign["stats"]["pointsReturned"] == 32
    assert campaign["stats"]["pointsOutstanding"] == 4 * 9
    assert audit() == []
    connection.set_schema_to_public()


# --- Another merchant's campaigns ----------------------------------------------------------


def test_another_merchants_campaigns_are_invisible(
    merchant_api: Api, acme: Tenants, unique: Callable[[str], str]
) -> None:
    fund(acme.beta, 1_000, unique)
    secret = unique("beta-campaign")
    with tenant_context(acme.beta):
        beta_campaign = create_scan_campaign(name=secret)
        set_status(acme.beta, beta_campaign, "active")
        beta_batch = create_batch(acme.beta, beta_campaign, size=3, points_per_code=2)
    connection.set_schema_to_public()
    # acme has rows with the same primary keys: a bare key would name acme's own.
    acme_ids = {new_campaign(merchant_api, acme.acme_operator, name=f"c{i}") for i in range(3)}
    beta_ids = {
        "campaign": to_global_id("Campaign", f"{acme.beta.pk}:{beta_campaign.pk}"),
        "batch": to_global_id("CodeBatch", f"{acme.beta.pk}:{beta_batch.pk}"),
    }
    # beta's owner reads them, with exactly these IDs.
    own = call(merchant_api, acme.beta_owner, "Campaign", merchant="beta", id=beta_ids["campaign"])
    assert (own["id"], own["name"]) == (beta_ids["campaign"], secret)
    own_batch = call(
        merchant_api, acme.beta_owner, "CodeBatch", merchant="beta", id=beta_ids["batch"]
    )
    assert own_batch["id"] == beta_ids["batch"]

    owner = acme.acme_owner
    for gid in [
        *beta_ids.values(),
        to_global_id("Campaign", str(beta_campaign.pk)),  # a bare key
        to_global_id("Campaign", f"{acme.beta.pk}:{pk(next(iter(acme_ids)))}"),
    ]:
        assert call(merchant_api, owner, "Campaign", id=gid) is None, gid
        assert call(merchant_api, owner, "CodeBatch", id=gid) is None, gid
    listed = call(merchant_api, owner, "Campaigns", first=100)
    assert secret not in str(listed)

    for name in ("UpdateCampaign", "ActivateCampaign", "PauseCampaign", "EndCampaign"):
        payload = call(merchant_api, owner, name, id=beta_ids["campaign"])
        assert _codes(payload) == [("id", "NOT_FOUND")], name
    void = call(merchant_api, owner, "VoidCodeBatch", id=beta_ids["batch"])
    assert _codes(void) == [("id", "NOT_FOUND")]
    batch = call(
        merchant_api,
        owner,
        "CreateCodeBatch",
        campaignId=beta_ids["campaign"],
        size=1,
        pointsPerCode=1,
    )
    assert _codes(batch) == [("campaignId", "NOT_FOUND")]
    with tenant_context(acme.beta):
        beta_campaign.refresh_from_db()
        beta_batch.refresh_from_db()
        assert (beta_campaign.name, beta_campaign.status) == (secret, "active")
        assert beta_batch.status == BatchStatus.GENERATING
        assert CodeBatch.objects.filter(campaign=beta_campaign).count() == 1
    connection.set_schema_to_public()


# --- Failed scans ---------------------------------------------------------------------------


def test_scan_failures_count_guesses_per_day_and_reason(
    merchant_api: Api, acme: Tenants, new_phone: Callable[[], str]
) -> None:
    from campaigns.scan import codes

    campaign_id = _active_campaign(merchant_api, acme)
    batch_id = new_batch(merchant_api, acme.acme_operator, campaign_id, 3, 1)["id"]
    generate(acme.acme, batch_id)
    with tenant_context(acme.acme):
        earlier = {(f.day, f.reason): f.count for f in ScanFailure.objects.all()}
        ScanFailure.objects.create(
            day=timezone.localdate() - timedelta(days=40), reason="UNKNOWN_CODE", count=7
        )
    guesser, owner = consumers(new_phone, 2)
    prefix = codes.encode_merchant(acme.acme.pk)
    for _ in range(3):
        with pytest.raises(DomainError, match="know this code"):
            claim(guesser, codes.new_code(prefix))  # well-formed, unknown
    code = batch_codes(acme.acme, batch_id)[0]
    claim(owner, code)
    with pytest.raises(DomainError, match="already"):
        claim_code(guesser, code, "another-key")
    connection.set_schema_to_public()

    today = timezone.localdate().isoformat()
    rows = call(merchant_api, acme.acme_viewer, "ScanFailures")
    counts = {(r["day"], r["reason"]): r["count"] for r in rows}
    prior = {(d.isoformat(), r): n for (d, r), n in earlier.items()}
    assert counts[(today, "UNKNOWN_CODE")] == prior.get((today, "UNKNOWN_CODE"), 0) + 3
    assert counts[(today, "ALREADY_CLAIMED")] == prior.get((today, "ALREADY_CLAIMED"), 0) + 1
    assert [r["day"] for r in rows] == sorted((r["day"] for r in rows), reverse=True)
    old = (timezone.localdate() - timedelta(days=40)).isoformat()
    assert (old, "UNKNOWN_CODE") not in counts  # outside the default 30 days
    wide = call(merchant_api, acme.acme_viewer, "ScanFailures", days=90)
    assert {"day": old, "reason": "UNKNOWN_CODE", "count": 7} in wide
    for days in (0, 91):
        result = merchant_api.op(
            "ScanFailures", {"days": days}, token=access_token(acme.acme_viewer), merchant="acme"
        )
        assert [e["extensions"]["code"] for e in result["errors"]] == ["INVALID_PERIOD"]
    # beta sees none of acme's failures.
    beta = call(merchant_api, acme.beta_owner, "ScanFailures", merchant="beta", days=90)
    assert {"day": old, "reason": "UNKNOWN_CODE", "count": 7} not in beta


# --- Progress while a real worker generates ------------------------------------------------


@pytest.mark.celery_worker
def test_progress_is_visible_while_a_worker_generates(
    committed_db: None,
    celery_worker: Any,
    merchant_api: Api,
    unique: Callable[[str], str],
) -> None:
    """Committed data (the worker has its own connection), on a merchant of its own."""
    size = 100_000
    owner = User.objects.create_user(f"{unique('owner')}@progress.test", "pw-progress-1")
    merchant = create_merchant(slug=unique("progress"), name="Progress test", owner=owner)
    fund(merchant, size, unique)
    slug, token = merchant.slug, access_token(owner)
    payload = merchant_api.op("CreateScanCampaign", {"name": "Caps"}, token=token, merchant=slug)
    campaign_id = payload["data"]["createScanCampaign"]["campaign"]["id"]
    created = merchant_api.op(
        "CreateCodeBatch",
        {"campaignId": campaign_id, "size": size, "pointsPerCode": 1},
        token=token,
        merchant=slug,
    )["data"]["createCodeBatch"]
    assert created["errors"] == []
    batch_id = created["batch"]["id"]

    seen: list[tuple[str, int, float]] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        node = merchant_api.op("CodeBatch", {"id": batch_id}, token=token, merchant=slug)
        node = node["data"]["node"]
        seen.append((node["status"], node["generated"], node["progressPercent"]))
        if node["status"] != "GENERATING":
            break
        time.sleep(0.02)
    assert seen[-1] == ("READY", size, 100.0), seen[-5:]
    generated = [g for _s, g, _p in seen]
    assert generated == sorted(generated)  # never goes back
    partial = [(g, p) for s, g, p in seen if s == "GENERATING" and 0 < g < size]
    assert partial, f"no intermediate progress seen in {len(seen)} polls"
    for g, p in partial:
        assert p == round(100 * g / size, 1)
    with tenant_context(merchant):
        assert Code.objects.filter(batch_id=pk(batch_id)).count() == size
        assert Claim.objects.count() == 0
    connection.set_schema_to_public()
