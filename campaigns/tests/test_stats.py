"""Campaign and batch stats through the merchant API: hand-computed figures, query counts.

The fixture has three consumers claim known codes; the claims' times are then set
to known moments (relative to the current hour, so that the time series windows
hold them whatever the time of day the tests run).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context
from graphql_relay import to_global_id

from accounts.models import User
from campaigns.models import Campaign, CampaignStatus, Claim, Code, CodeBatch
from campaigns.scan.generation import generate_batch
from campaigns.scan.services import create_batch, create_scan_campaign, reserve_left
from campaigns.services import set_status
from campaigns.tests.test_merchant_campaigns import call, claim, consumers
from core.db import connection
from tests.fixtures.api import Api, access_token
from tests.fixtures.tenants import Tenants, fund

pytestmark = pytest.mark.django_db

TOTALS = (
    "codesIssued codesClaimed claimRate uniqueConsumers repeatConsumers "
    "pointsReserved pointsAwarded pointsReturned pointsOutstanding"
)


@dataclass
class Fixture:
    tenants: Tenants
    campaign: Campaign
    batches: dict[str, CodeBatch]
    times: list[datetime]  # when each of the six claims happened
    consumers: dict[str, User]

    def gid(self, obj: Campaign | CodeBatch) -> str:
        kind = "Campaign" if isinstance(obj, Campaign) else "CodeBatch"
        return to_global_id(kind, f"{self.tenants.acme.pk}:{obj.pk}")


def _codes(batch: CodeBatch) -> list[str]:
    return list(Code.objects.filter(batch=batch).order_by("serial").values_list("code", flat=True))


@pytest.fixture
def stats_fixture(
    tenants: Tenants, unique: Callable[[str], str], new_phone: Callable[[], str]
) -> Fixture:
    """Batch "caps": 10 codes x 5 points; "labels": 4 x 20; "late": 3 x 1, not generated yet.

    alice claims 3 caps, bob 1 cap and 1 label, carol 1 label.
    """
    acme = tenants.acme
    fund(acme, 10_000, unique)
    with tenant_context(acme):
        campaign = create_scan_campaign(name="Stats")
        set_status(acme, campaign, CampaignStatus.ACTIVE)
        batches = {
            name: create_batch(acme, campaign, size=size, points_per_code=points)
            for name, size, points in [("caps", 10, 5), ("labels", 4, 20), ("late", 3, 1)]
        }
        for name in ("caps", "labels"):
            batches[name] = generate_batch(batches[name].pk)
        caps, labels = _codes(batches["caps"]), _codes(batches["labels"])
    alice, bob, carol = consumers(new_phone, 3)
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    plan = [
        (alice, caps[0], hour - timedelta(hours=50) + timedelta(minutes=15)),
        (alice, caps[1], hour - timedelta(hours=26) + timedelta(minutes=40)),
        (alice, caps[2], hour - timedelta(hours=1) + timedelta(minutes=5)),
        (bob, caps[3], hour - timedelta(hours=1) + timedelta(minutes=30)),
        (bob, labels[0], hour),
        (carol, labels[1], hour - timedelta(days=3)),
    ]
    for consumer, code, _when in plan:
        claim(consumer, code)
    with tenant_context(acme):
        for _consumer, code, when in plan:
            assert Claim.objects.filter(code_id=code).update(claimed_at=when) == 1
    connection.set_schema_to_public()
    return Fixture(
        tenants,
        campaign,
        batches,
        [when for _c, _code, when in plan],
        {"alice": alice, "bob": bob, "carol": carol},
    )


def _stats(api: Api, user: User, gid: str, **variables: Any) -> dict[str, Any]:
    node = call(api, user, "CampaignStats", id=gid, **variables)
    assert node is not None and node["id"] == gid
    return node["stats"]


def _totals(stats: dict[str, Any]) -> dict[str, Any]:
    return {key: stats[key] for key in TOTALS.split()}


def _series(stats: dict[str, Any], key: str) -> list[tuple[datetime, int]]:
    return [(datetime.fromisoformat(b["bucket"]), b["claims"]) for b in stats[key]]


def test_campaign_totals_match_the_hand_computed_figures(
    merchant_api: Api, stats_fixture: Fixture
) -> None:
    f = stats_fixture
    stats = _stats(merchant_api, f.tenants.acme_viewer, f.gid(f.campaign))
    assert _totals(stats) == {
        "codesIssued": 10 + 4,  # "late" has written none yet
        "codesClaimed": 6,
        "claimRate": 6 / 14,
        "uniqueConsumers": 3,
        "repeatConsumers": 2,  # alice (3 claims) and bob (2, in two batches)
        "pointsReserved": 10 * 5 + 4 * 20 + 3 * 1,
        "pointsAwarded": 4 * 5 + 2 * 20,
        "pointsReturned": 0,
        "pointsOutstanding": 133 - 60,
    }


def test_batch_totals_match_the_hand_computed_figures(
    merchant_api: Api, stats_fixture: Fixture
) -> None:
    f = stats_fixture
    viewer = f.tenants.acme_viewer
    expected = {
        "caps": (10, 4, 0.4, 2, 1, 50, 20),
        "labels": (4, 2, 0.5, 2, 0, 80, 40),
        "late": (0, 0, 0.0, 0, 0, 3, 0),
    }
    for name, (issued, claimed, rate, unique, repeat, reserved, awarded) in expected.items():
        stats = _stats(merchant_api, viewer, f.gid(f.batches[name]))
        assert _totals(stats) == {
            "codesIssued": issued,
            "codesClaimed": claimed,
            "claimRate": rate,
            "uniqueConsumers": unique,
            "repeatConsumers": repeat,
            "pointsReserved": reserved,
            "pointsAwarded": awarded,
            "pointsReturned": 0,
            "pointsOutstanding": reserved - awarded,
        }, name
        batch = call(merchant_api, viewer, "CodeBatch", id=f.gid(f.batches[name]))
        assert batch["claimedCount"] == claimed

    # Voiding "labels" returns its two unclaimed codes' points; the figures follow.
    voided = call(
        merchant_api, f.tenants.acme_admin, "VoidCodeBatch", id=f.gid(f.batches["labels"])
    )
    assert voided["batch"]["releasedPoints"] == 2 * 20
    labels = _totals(_stats(merchant_api, viewer, f.gid(f.batches["labels"])))
    assert (labels["pointsReturned"], labels["pointsOutstanding"]) == (40, 0)
    campaign = _totals(_stats(merchant_api, viewer, f.gid(f.campaign)))
    assert (campaign["pointsReturned"], campaign["pointsOutstanding"]) == (40, 133 - 60 - 40)
    # Outstanding is what the ledger still holds in the batches' reserve buckets.
    with tenant_context(f.tenants.acme):
        held = sum(
            reserve_left(f.tenants.acme, CodeBatch.objects.get(pk=b.pk)) for b in f.batches.values()
        )
    assert held == campaign["pointsOutstanding"]
    connection.set_schema_to_public()


def test_claims_per_hour_and_per_day(merchant_api: Api, stats_fixture: Fixture) -> None:
    f = stats_fixture
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    stats = _stats(merchant_api, f.tenants.acme_viewer, f.gid(f.campaign), days=7, hours=48)

    per_hour = _series(stats, "claimsPerHour")
    assert [start for start, _n in per_hour] == [
        hour - timedelta(hours=h) for h in range(47, -1, -1)
    ]
    # 50 hours ago is outside the window; 26 hours ago one; an hour ago two; now one.
    assert {start: n for start, n in per_hour if n} == {
        hour - timedelta(hours=26): 1,
        hour - timedelta(hours=1): 2,
        hour: 1,
    }

    today = hour.date()
    per_day = _series(stats, "claimsPerDay")
    assert [start for start, _n in per_day] == [
        datetime.combine(today - timedelta(days=d), datetime.min.time(), tzinfo=UTC)
        for d in range(6, -1, -1)
    ]
    by_date = Counter(when.date() for when in f.times)
    assert {start.date(): n for start, n in per_day if n} == by_date
    assert sum(n for _s, n in per_day) == 6

    # Per batch: "labels" has bob's claim now and carol's three days ago.
    labels = _stats(merchant_api, f.tenants.acme_viewer, f.gid(f.batches["labels"]), days=7)
    assert {s.date(): n for s, n in _series(labels, "claimsPerDay") if n} == {
        hour.date(): 1,
        (hour - timedelta(days=3)).date(): 1,
    }
    assert {s: n for s, n in _series(labels, "claimsPerHour") if n} == {hour: 1}


def test_series_in_another_time_zone(merchant_api: Api, stats_fixture: Fixture) -> None:
    f = stats_fixture
    shanghai = ZoneInfo("Asia/Shanghai")
    stats = _stats(
        merchant_api, f.tenants.acme_viewer, f.gid(f.campaign), days=7, timeZone="Asia/Shanghai"
    )
    per_day = _series(stats, "claimsPerDay")
    local_today = timezone.now().astimezone(shanghai).date()
    assert [start for start, _n in per_day] == [
        datetime.combine(local_today - timedelta(days=d), datetime.min.time(), tzinfo=shanghai)
        for d in range(6, -1, -1)
    ]
    assert all(start.utcoffset() == timedelta(hours=8) for start, _n in per_day)
    expected = Counter(when.astimezone(shanghai).date() for when in f.times)
    assert {start.date(): n for start, n in per_day if n} == expected


def test_empty_campaign_has_zero_stats(merchant_api: Api, tenants: Tenants) -> None:
    with tenant_context(tenants.acme):
        campaign = create_scan_campaign(name="Nothing yet")
    connection.set_schema_to_public()
    gid = to_global_id("Campaign", f"{tenants.acme.pk}:{campaign.pk}")
    stats = _stats(merchant_api, tenants.acme_viewer, gid, days=3, hours=5)
    assert set(_totals(stats).values()) == {0}
    assert [b["claims"] for b in stats["claimsPerDay"]] == [0, 0, 0]
    assert [b["claims"] for b in stats["claimsPerHour"]] == [0] * 5


@pytest.mark.parametrize(
    ("variables", "code"),
    [
        ({"days": 0}, "INVALID_PERIOD"),
        ({"days": 91}, "INVALID_PERIOD"),
        ({"hours": 0}, "INVALID_PERIOD"),
        ({"hours": 169}, "INVALID_PERIOD"),
        ({"timeZone": "Mars/Olympus_Mons"}, "INVALID_TIME_ZONE"),
        ({"timeZone": "../../etc/passwd"}, "INVALID_TIME_ZONE"),
    ],
)
def test_series_windows_are_bounded(
    merchant_api: Api, tenants: Tenants, variables: dict[str, Any], code: str
) -> None:
    with tenant_context(tenants.acme):
        campaign = create_scan_campaign(name="Bounds")
    connection.set_schema_to_public()
    gid = to_global_id("Campaign", f"{tenants.acme.pk}:{campaign.pk}")
    result = merchant_api.op(
        "CampaignStats",
        {"id": gid, **variables},
        token=access_token(tenants.acme_viewer),
        merchant="acme",
    )
    assert {e["extensions"]["code"] for e in result["errors"]} == {code}


# --- A constant number of queries ------------------------------------------------------------

LIST = """
query {
  campaigns(first: %d) {
    edges { node {
      id name status
      stats {
        %s
        claimsPerDay(days: 7) { bucket claims } claimsPerHour(hours: 24) { bucket claims }
      }
      batches(first: 5) { edges { node {
        id status progressPercent claimedCount reservedPoints campaign { id name }
        stats { codesClaimed uniqueConsumers claimsPerDay(days: 7) { bucket claims } }
      } } }
    } }
  }
}
"""


def test_campaign_list_costs_the_same_queries_for_2_and_6_campaigns(
    merchant_api: Api, tenants: Tenants, unique: Callable[[str], str], new_phone: Callable[[], str]
) -> None:
    """Campaign i has batch A (3 codes x (i + 1) points, generated) with i % 3 + 1 claims,
    and batch B (2 codes x 1 point, not generated)."""
    acme = tenants.acme
    fund(acme, 10_000, unique)
    people = consumers(new_phone, 3)
    expected: dict[str, tuple[int, int, int]] = {}
    for i in range(6):
        with tenant_context(acme):
            campaign = create_scan_campaign(name=f"List {i}")
            set_status(acme, campaign, CampaignStatus.ACTIVE)
            batch = generate_batch(create_batch(acme, campaign, size=3, points_per_code=i + 1).pk)
            create_batch(acme, campaign, size=2, points_per_code=1)
            codes = _codes(batch)
        claims = i % 3 + 1
        for person, code in zip(people, codes[:claims], strict=False):
            claim(person, code)
        gid = to_global_id("Campaign", f"{acme.pk}:{campaign.pk}")
        expected[gid] = (claims, claims * (i + 1), 3 * (i + 1) + 2)
    connection.set_schema_to_public()

    token = access_token(tenants.acme_viewer)
    # The token's session is read by the first request, then kept (decision 0138).
    merchant_api.query(LIST % (1, TOTALS), token=token, merchant="acme")
    real: dict[int, list[str]] = {}
    for first in (2, 6):
        with CaptureQueriesContext(connection) as queries:
            result = merchant_api.query(LIST % (first, TOTALS), token=token, merchant="acme")
        assert "errors" not in result, result
        nodes = [edge["node"] for edge in result["data"]["campaigns"]["edges"]]
        assert [n["name"] for n in nodes] == [f"List {i}" for i in range(5, 5 - first, -1)]
        for node in nodes:
            claimed, awarded, reserved = expected[node["id"]]
            stats = node["stats"]
            assert (stats["codesClaimed"], stats["pointsAwarded"], stats["pointsReserved"]) == (
                claimed,
                awarded,
                reserved,
            )
            assert sum(b["claims"] for b in stats["claimsPerDay"]) == claimed
            assert sum(b["claims"] for b in stats["claimsPerHour"]) == claimed
            batches = [edge["node"] for edge in node["batches"]["edges"]]
            assert len(batches) == 2
            assert sorted(b["claimedCount"] for b in batches) == [0, claimed]
            assert sorted(b["stats"]["uniqueConsumers"] for b in batches) == [0, claimed]
            assert {b["campaign"]["id"] for b in batches} == {node["id"]}
        # django-tenants' SET search_path statements depend on the connection's state
        # before the request; the queries are what must not grow.
        sqls = [q["sql"] for q in queries.captured_queries]
        real[first] = [sql for sql in sqls if not sql.startswith("SET search_path")]
    # Membership, campaigns (count, page, batches), campaign totals (2) and series (2),
    # batch totals (2) and series (1): 11 (django-tenants adds SET search_path).
    assert len(real[2]) == len(real[6]), (real[2], real[6])
    assert len(real[6]) <= 11, real[6]
