"""The console's preview of a campaign's consumer page (decision 0324): a signed link
for 15 minutes that shows the page as a consumer sees it, and counts as nothing: no
scan event, no lookup, no questionnaire open, and no code to claim."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django_tenants.utils import tenant_context
from graphql_relay import to_global_id

from campaigns.models import Campaign, Code, QuestionnaireOpen, ScanEvent
from campaigns.preview import PREVIEW_LINK
from campaigns.questionnaires.exports import LINK as EXPORT_LINK
from campaigns.scan import events
from campaigns.scan.generation import generate_batch
from campaigns.scan.services import create_batch, create_scan_campaign
from campaigns.services import set_status
from campaigns.tests.test_questionnaire_api import acme, campaign_of, create, staff
from points import services
from tests.fixtures.api import Api, signed_ago
from tests.fixtures.tenants import Tenants

pytestmark = pytest.mark.django_db

__all__ = ["acme"]  # the fixture, imported to be used here

WECHAT = "Mozilla/5.0 (Linux; Android 10) Mobile Safari/537.36 MicroMessenger/8.0.40"


def page_config(html: str) -> dict[str, Any]:
    found = re.search(r'<script id="page-config" type="application/json">(.*?)</script>', html)
    assert found, "no page config"
    return json.loads(found.group(1))


def scan_campaign(t: Tenants) -> tuple[Campaign, list[str]]:
    with tenant_context(t.acme):
        campaign = create_scan_campaign(name="Caps", description="Under the cap")
        set_status(t.acme, campaign, "active")
        batch = create_batch(t.acme, campaign, size=3, points_per_code=7)
        generate_batch(batch.pk)
        codes = list(Code.objects.filter(batch=batch).values_list("code", flat=True))
    return campaign, codes


def preview_url(api: Api, t: Tenants, campaign: Campaign) -> str:
    global_id = to_global_id("Campaign", f"{t.acme.pk}:{campaign.pk}")
    node = staff(api, t.acme_viewer, "Campaign", {"id": global_id})
    url = node["data"]["node"]["previewUrl"]
    assert "/preview/" in url
    return url


@pytest.fixture
def funded(tenants: Tenants, unique: Callable[[str], str]) -> Tenants:
    services.fund_with_money(
        tenants.acme, amount_minor=10_000, currency="CNY", rate="100", payment_reference=unique("p")
    )
    return tenants


def test_a_scan_campaign_preview_shows_the_offer_and_records_nothing(
    merchant_api: Api, funded: Tenants, client: Client
) -> None:
    campaign, codes = scan_campaign(funded)
    url = preview_url(merchant_api, funded, campaign)
    before = events.backlog()
    page = client.get(url, HTTP_USER_AGENT=WECHAT)
    assert page.status_code == 200 and page["Cache-Control"] == "private, no-store"
    html = page.content.decode()
    config = page_config(html)
    assert config["preview"] is True and config["code"] == ""
    offer = config["offer"]
    assert (offer["campaignName"], offer["points"], offer["status"]) == ("Caps", 7, "CLAIMABLE")
    assert offer["merchantName"] == funded.acme.name
    assert 'class="notice preview-banner"' in html
    # No code of the campaign is on the page: there is nothing to claim from it.
    assert not any(code in html for code in codes)
    # Nothing is queued or written: no scan event, no lookup.
    assert events.backlog() == before
    assert events.drain_all() == 0
    with tenant_context(funded.acme):
        assert not ScanEvent.objects.exists()
    # (As opposed to a consumer opening one of the codes' own page.)
    assert client.get(f"/s/{codes[0]}", HTTP_USER_AGENT=WECHAT).status_code == 200
    assert events.drain_all() == 1


def test_a_questionnaire_preview_counts_no_open(
    merchant_api: Api, consumer_api: Api, acme: Tenants, client: Client
) -> None:
    q = create(merchant_api, acme)
    campaign = campaign_of(acme, q)
    node = staff(merchant_api, acme.acme_viewer, "Questionnaire", {"id": q["id"]})
    url = node["data"]["node"]["campaign"]["previewUrl"]
    page = client.get(url)
    assert page.status_code == 200
    config = page_config(page.content.decode())
    assert config["preview"] is True and config["link"] == q["link"]
    # What the preview's script asks (anonymously) writes nothing either.
    consumer_api.op("Questionnaire", {"link": q["link"]})
    with tenant_context(acme.acme):
        assert not QuestionnaireOpen.objects.filter(campaign=campaign).exists()


def test_a_preview_link_refuses_tampering_and_expires(
    merchant_api: Api, funded: Tenants, client: Client
) -> None:
    campaign, _codes = scan_campaign(funded)
    url = preview_url(merchant_api, funded, campaign)
    token = url.rsplit("/", 1)[1]
    assert client.get(url.replace(token, token[:-2] + "xx")).status_code == 403
    old = signed_ago(PREVIEW_LINK, PREVIEW_LINK.ttl + 5, funded.acme.pk, campaign.pk)
    expired = client.get(f"/preview/{old}")
    assert expired.status_code == 410 and "console" in expired.content.decode()
    # Another kind's token (a questionnaire poster's) is not a preview.
    other = EXPORT_LINK.token(funded.acme.pk, campaign.pk, "poster")
    assert client.get(f"/preview/{other}").status_code == 403
    # A campaign that is gone: not found.
    gone = PREVIEW_LINK.token(funded.acme.pk, campaign.pk + 1000)
    assert client.get(f"/preview/{gone}").status_code == 404
