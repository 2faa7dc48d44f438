"""The 赚积分 screen in a real browser: active campaigns of every kind with their points,
each opening its page; a phone-size screenshot (``UPDATE_SCREENSHOTS=1``)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django_tenants.utils import tenant_context

from campaigns import offers
from campaigns.models import CampaignStatus
from campaigns.questionnaires.links import questionnaire_link
from campaigns.questionnaires.services import create_questionnaire_campaign
from campaigns.services import set_status
from points import services
from tests.browser.conftest import BrowserPage, Site
from tests.fixtures.tenants import merchant_with_codes

pytestmark = pytest.mark.browser


def test_the_earn_screen_lists_campaigns_and_opens_them(
    committed_db: None,
    unique: Callable[[str], str],
    site: Site,
    open_page: Callable[..., BrowserPage],
    shoot: Callable[[BrowserPage, str], object],
) -> None:
    merchant, _codes = merchant_with_codes(unique, size=2, points=500)
    services.fund_with_money(
        merchant, amount_minor=10_000, currency="CNY", rate="100", payment_reference=unique("p")
    )
    survey_name = f"茶叶问卷 {unique('s')}"
    with tenant_context(merchant):
        campaign = create_questionnaire_campaign(
            name=survey_name,
            questions=[{"id": "q1", "type": "rating", "text": "打个分", "required": True}],
            points_per_response=40,
            max_rewarded_responses=10,
        )
        set_status(merchant, campaign, CampaignStatus.ACTIVE)
    offers.refresh_merchant(merchant)

    browser = open_page("phone", locale="zh-CN")
    page = browser.page
    page.goto("/")
    page.get_by_role("link", name="赚积分").click()
    page.get_by_role("heading", name="赚积分").wait_for()
    survey = page.locator("li.way", has_text=survey_name)
    survey.wait_for()
    assert "40 积分" in survey.inner_text()
    assert "问卷" in survey.inner_text()
    scan = page.locator("li.way", has_text=merchant.name).filter(has_text="500 积分")
    assert scan.count() >= 1
    shoot(browser, "earn")
    survey.get_by_role("link").click()
    page.wait_for_url(re.compile(rf"/q/{questionnaire_link(merchant.pk, campaign.link_key)}$"))
