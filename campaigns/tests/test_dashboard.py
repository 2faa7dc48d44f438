"""The merchant dashboard: ledger totals, earnings per day, active consumers, top campaigns."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context

from campaigns.models import CampaignStatus
from campaigns.questionnaires import services as questionnaires
from campaigns.services import set_status
from campaigns.tests.test_merchant_campaigns import call, consumers
from campaigns.tests.test_stats import Fixture, stats_fixture  # noqa: F401 (fixture)
from core.db import connection
from tests.fixtures.api import Api, access_token
from tests.fixtures.tenants import Tenants

pytestmark = pytest.mark.django_db

QUESTIONS = [{"id": "q1", "type": "rating", "text": "How was it?", "required": True}]


def _dashboard(api: Api, tenants: Tenants, **variables: Any) -> dict[str, Any]:
    return call(api, tenants.acme_viewer, "Dashboard", **variables)


def test_dashboard_totals_series_and_top_campaigns(
    merchant_api: Api,
    stats_fixture: Fixture,  # noqa: F811
    new_phone: Callable[[], str],
) -> None:
    f = stats_fixture
    acme = f.tenants.acme
    # A questionnaire paying 7 points, answered once today by a new consumer and by alice.
    with tenant_context(acme):
        survey = questionnaires.create_questionnaire_campaign(
            name="Survey", questions=QUESTIONS, points_per_response=7, max_rewarded_responses=10
        )
        set_status(acme, survey, CampaignStatus.ACTIVE)
    (dave,) = consumers(new_phone, 1)
    with tenant_context(acme):
        for who in (dave, f.consumers["alice"]):
            questionnaires.submit(acme, who, survey.pk, {"q1": 4}, f"k-{who.pk}")
    connection.set_schema_to_public()

    board = _dashboard(merchant_api, f.tenants, days=7)
    # Batches 10x5 + 4x20 + 3x1 = 133, the questionnaire's cap 10x7 = 70.
    assert board["pointsReserved"] == 133 + 70
    # Claims: 4 caps x 5 + 2 labels x 20 = 60; responses 2 x 7 = 14.
    assert board["pointsAwarded"] == 60 + 14
    assert board["pointsReturned"] == 0
    # alice, bob, carol claimed within 7 days; dave responded.
    assert board["activeConsumers"] == 4
    days = board["earningsPerDay"]
    assert len(days) == 7
    assert date.fromisoformat(days[-1]["day"]) == timezone.now().date()
    assert sum(d["claims"] for d in days) == 6
    assert days[-1]["responses"] == 2
    top = board["topCampaigns"]
    assert [(t["campaign"]["name"], t["points"], t["earnings"]) for t in top[:2]] == [
        ("Stats", 60, 6),
        ("Survey", 14, 2),
    ]
    assert top[1]["campaign"]["kind"] == "QUESTIONNAIRE"

    # Ending the campaign returns the unclaimed reserve: 133 - 60 = 73.
    with tenant_context(acme):
        set_status(acme, f.campaign, CampaignStatus.ENDED)
    connection.set_schema_to_public()
    assert _dashboard(merchant_api, f.tenants)["pointsReturned"] == 73

    # Only the last day: carol's claim three days ago is outside, so is alice's of 26 h
    # ago unless it fell today.
    today = _dashboard(merchant_api, f.tenants, days=1)
    assert len(today["earningsPerDay"]) == 1
    assert today["activeConsumers"] >= 2  # alice and dave answered today


def test_dashboard_costs_the_same_queries_with_more_campaigns(
    merchant_api: Api,
    stats_fixture: Fixture,  # noqa: F811
) -> None:
    f = stats_fixture
    token = access_token(f.tenants.acme_viewer)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            result = merchant_api.op("Dashboard", {"top": 10}, token=token, merchant="acme")
        assert "errors" not in result, result
        # Switching search_path is not a data query (it depends on the previous request).
        return sum(not q["sql"].startswith("SET ") for q in queries.captured_queries)

    count()  # the first request also reads the token's session (then kept: 0138)
    before = count()
    assert before <= 7
    with tenant_context(f.tenants.acme):
        from campaigns.scan.services import create_scan_campaign

        for i in range(5):
            create_scan_campaign(name=f"More {i}")
    connection.set_schema_to_public()
    assert count() == before


@pytest.mark.parametrize(
    ("variables", "code"),
    [
        ({"days": 0}, "INVALID_PERIOD"),
        ({"days": 91}, "INVALID_PERIOD"),
        ({"top": 21}, "INVALID_PERIOD"),
        ({"timeZone": "Mars/Base"}, "INVALID_TIME_ZONE"),
    ],
)
def test_dashboard_refuses_bad_windows(
    merchant_api: Api, tenants: Tenants, variables: dict[str, Any], code: str
) -> None:
    result = merchant_api.op(
        "Dashboard", variables, token=access_token(tenants.acme_viewer), merchant="acme"
    )
    assert [e["extensions"]["code"] for e in result["errors"]] == [code]


def test_dashboard_in_another_time_zone_lists_local_days(
    merchant_api: Api, tenants: Tenants
) -> None:
    board = _dashboard(merchant_api, tenants, days=3, timeZone="Pacific/Kiritimati")
    local_today = (timezone.now() + timedelta(hours=14)).date()
    assert date.fromisoformat(board["earningsPerDay"][-1]["day"]) == local_today
