"""The consumers' "ways to earn" list: every kind of active campaign, known merchants
first, answered questionnaires left out, a constant number of queries per page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from accounts.models import User
from campaigns import offers
from campaigns.models import Campaign, CampaignStatus, FollowCampaign
from campaigns.questionnaires.links import questionnaire_link
from campaigns.questionnaires.services import create_questionnaire_campaign
from campaigns.scan import services as scan_services
from campaigns.services import set_status
from earning.models import WayToEarn
from points import services as points_services
from tenants.models import Merchant
from tests.fixtures.api import Api, access_token
from tests.fixtures.tenants import Tenants

pytestmark = pytest.mark.django_db

WAYS = """
query($first: Int!, $after: String) {
  waysToEarn(first: $first, after: $after) {
    edges { node { id kind name merchantName points url fromKnownMerchant endsAt } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


def _fund(merchant: Merchant, unique: Callable[[str], str]) -> None:
    points_services.fund_with_money(
        merchant, amount_minor=100_000, currency="CNY", rate="100", payment_reference=unique("p")
    )


def _survey(merchant: Merchant, name: str, points: int = 30) -> Campaign:
    with tenant_context(merchant):
        campaign = create_questionnaire_campaign(
            name=name,
            questions=[{"id": "q1", "type": "rating", "text": "Rate us"}],
            points_per_response=points,
            max_rewarded_responses=10,
        )
        return set_status(merchant, campaign, CampaignStatus.ACTIVE)


def _scan(merchant: Merchant, name: str, points: int) -> Campaign:
    with tenant_context(merchant):
        campaign = scan_services.create_scan_campaign(name=name)
        set_status(merchant, campaign, CampaignStatus.ACTIVE)
        scan_services.create_batch(merchant, campaign, size=2, points_per_code=points)
        return campaign


def _ways(api: Api, user: User | None = None, first: int = 50) -> list[dict[str, Any]]:
    token = access_token(user) if user is not None else None
    result = api.query(WAYS, {"first": first}, token=token)
    assert "errors" not in result, result
    return [edge["node"] for edge in result["data"]["waysToEarn"]["edges"]]


def test_every_kind_is_listed_with_its_points_and_page(
    consumer_api: Api, tenants: Tenants, unique: Callable[[str], str]
) -> None:
    _fund(tenants.acme, unique)
    survey = _survey(tenants.acme, "Tea survey", points=30)
    _scan(tenants.acme, "Tea codes", points=5)
    with tenant_context(tenants.acme):
        # A follow campaign whose terms are not there (yet): listed, with nothing to offer.
        Campaign.objects.create(kind="follow", name="Follow us", status=CampaignStatus.ACTIVE)
        follow = Campaign.objects.create(
            kind="follow", name="Follow the tea house", status=CampaignStatus.ACTIVE
        )
        FollowCampaign.objects.create(campaign=follow, points_per_follow=8, max_rewarded_follows=10)
    offers.refresh_merchant(tenants.acme)
    listed = {w["name"]: w for w in _ways(consumer_api)}
    assert listed["Tea survey"]["kind"] == "questionnaire"
    assert listed["Tea survey"]["points"] == 30
    assert (
        listed["Tea survey"]["url"] == f"/q/{questionnaire_link(tenants.acme.pk, survey.link_key)}"
    )
    assert (listed["Tea codes"]["kind"], listed["Tea codes"]["points"]) == ("scan", 5)
    assert listed["Tea codes"]["url"] == "/scan"
    assert listed["Follow us"]["kind"] == "follow"
    assert (listed["Follow us"]["points"], listed["Follow us"]["url"]) == (None, None)
    house = listed["Follow the tea house"]
    assert (house["points"], house["url"]) == (
        8,
        f"/follow/{questionnaire_link(tenants.acme.pk, follow.link_key)}",
    )
    assert {w["merchantName"] for w in listed.values()} == {tenants.acme.name}


def test_a_status_change_updates_the_list_once_committed(
    consumer_api: Api,
    tenants: Tenants,
    unique: Callable[[str], str],
    django_capture_on_commit_callbacks: Any,
) -> None:
    _fund(tenants.acme, unique)
    with django_capture_on_commit_callbacks(execute=True):
        survey = _survey(tenants.acme, "Live survey")
    assert "Live survey" in {w["name"] for w in _ways(consumer_api)}
    with django_capture_on_commit_callbacks(execute=True), tenant_context(tenants.acme):
        set_status(tenants.acme, survey, CampaignStatus.PAUSED)
    assert "Live survey" not in {w["name"] for w in _ways(consumer_api)}


def test_known_merchants_come_first_and_answered_questionnaires_leave(
    consumer_api: Api, tenants: Tenants, consumer: User, unique: Callable[[str], str]
) -> None:
    _fund(tenants.acme, unique)
    _fund(tenants.beta, unique)
    answered = _survey(tenants.acme, "Answered survey")
    _survey(tenants.acme, "Open acme survey")
    _survey(tenants.beta, "Beta survey")  # newest: first for strangers
    offers.refresh_merchant(tenants.acme)
    offers.refresh_merchant(tenants.beta)
    with tenant_context(tenants.acme):
        questionnaire = Campaign.objects.get(pk=answered.pk).questionnaire
    # The consumer was paid for answering (what a submit posts: reserve -> wallet).
    points_services.award(
        tenants.acme,
        questionnaire.reserve_ref(0),
        consumer,
        30,
        idempotency_key=unique("answer"),
    )
    mine = [w["name"] for w in _ways(consumer_api, consumer)]
    ours = [n for n in mine if n in {"Open acme survey", "Beta survey", "Answered survey"}]
    assert ours == ["Open acme survey", "Beta survey"]
    # Another consumer (and a stranger) still sees the answered one: it is the caller's.
    other = User.objects.get_or_create_consumer("+8613900139111")[0]
    assert "Answered survey" in [w["name"] for w in _ways(consumer_api, other)]
    assert "Answered survey" in [w["name"] for w in _ways(consumer_api)]


def test_a_page_costs_the_same_queries_whatever_its_size(
    consumer_api: Api, tenants: Tenants, consumer: User, unique: Callable[[str], str]
) -> None:
    """Planted failure: without ``select_related("merchant")`` in WayToEarnNode, each row's
    merchantName costs a query and the two counts differ."""
    _fund(tenants.acme, unique)
    _fund(tenants.beta, unique)
    for i in range(3):
        _survey(tenants.acme, f"Acme survey {i}")
        _survey(tenants.beta, f"Beta survey {i}")
    offers.refresh_merchant(tenants.acme)
    offers.refresh_merchant(tenants.beta)
    assert WayToEarn.objects.count() >= 6

    token = access_token(consumer)
    consumer_api.query(WAYS, {"first": 1}, token=token)  # the session is checked once

    def count(first: int) -> int:
        with CaptureQueriesContext(connection) as queries:
            page = consumer_api.query(WAYS, {"first": first}, token=token)
        assert len(page["data"]["waysToEarn"]["edges"]) == first
        return len(queries)

    assert count(2) == count(6)


def test_paging_walks_the_whole_list(
    consumer_api: Api, tenants: Tenants, unique: Callable[[str], str]
) -> None:
    _fund(tenants.acme, unique)
    for i in range(5):
        _survey(tenants.acme, f"Paged {i}")
    offers.refresh_merchant(tenants.acme)
    seen: list[str] = []
    after = None
    while True:
        page = consumer_api.query(WAYS, {"first": 2, "after": after})["data"]["waysToEarn"]
        seen += [edge["node"]["name"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert [n for n in seen if n.startswith("Paged")] == [f"Paged {i}" for i in range(4, -1, -1)]
    assert len(seen) == len(set(seen))
