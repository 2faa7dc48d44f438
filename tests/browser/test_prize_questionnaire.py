"""A prize questionnaire's page in a real browser, in Chinese (decision 0283): the
published odds before answering, the draw after (a short spin, or none with reduced
motion), the result with its place in the public log."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django_tenants.utils import tenant_context

from accounts.models import User
from campaigns.models import CampaignStatus, PrizeDraw
from campaigns.prizes.services import set_prize_table
from campaigns.questionnaires.links import questionnaire_link
from campaigns.questionnaires.services import create_questionnaire_campaign
from campaigns.services import set_status
from points import ledger
from points import services as points_services
from tenants.onboarding import create_merchant
from tests.browser.conftest import BrowserPage, Site
from tests.browser.test_prize_scan import RESULT, TIERS, _sign_in

pytestmark = pytest.mark.browser

QUESTIONS = [{"id": "stars", "type": "rating", "text": "口味如何？", "required": True}]  # noqa: RUF001


@pytest.mark.parametrize("motion", ["no-preference", "reduce"])
def test_a_prize_questionnaire_shows_the_odds_draws_and_pays(
    motion: str,
    committed_db: None,
    unique: Callable[[str], str],
    new_phone: Callable[[], str],
    site: Site,
    open_page: Callable[..., BrowserPage],
    shoot: Callable[[BrowserPage, str], object],
) -> None:
    merchant = create_merchant(slug=unique("qdraw"), name="Survey Prize Co")
    points_services.fund_with_money(
        merchant, amount_minor=10_000, currency="CNY", rate="100", payment_reference=unique("p")
    )
    with tenant_context(merchant):
        campaign = create_questionnaire_campaign(
            name="有奖问卷", questions=QUESTIONS, points_per_response=1, max_rewarded_responses=5
        )
        set_prize_table(campaign, TIERS)
        set_status(merchant, campaign, CampaignStatus.ACTIVE)
    phone = new_phone()
    page = open_page("phone", locale="zh-CN")
    page.page.emulate_media(reduced_motion=motion)
    page.page.goto(f"/q/{questionnaire_link(merchant.pk, campaign.link_key)}")
    page.page.get_by_text("最高可得 100 积分").wait_for()
    odds = page.page.get_by_role("list", name="奖项与中奖概率")
    odds.get_by_text(re.compile(r"一等奖 · 100 积分 · 概率 100\.0%")).wait_for()
    _sign_in(page, site, phone)
    page.page.locator("fieldset[data-id=stars] label", has_text="4").click()
    page.page.evaluate(
        """() => {
          const reel = document.getElementById("result-reel");
          window.reelTexts = [];
          new MutationObserver(() => window.reelTexts.push(reel.textContent)).observe(
            reel, { childList: true, characterData: true, subtree: true });
        }"""
    )
    page.page.get_by_role("button", name="立即抽奖").click()
    heading = page.page.get_by_role("heading", name=RESULT)
    heading.wait_for()
    shown = page.page.evaluate("() => window.reelTexts")
    if motion == "reduce":
        assert len(shown) == 1, shown  # no spin: straight to the prize
    else:
        assert len(shown) >= 10 and set(shown) == {"一等奖", "谢谢参与"}, shown
    page.page.get_by_text(re.compile(r"公开抽奖记录第 1 号")).wait_for()
    assert page.page.get_by_role("link", name="核验抽奖结果").get_attribute("href")
    shoot(page, f"prize-questionnaire-{motion}")

    consumer = User.objects.get(phone=phone)
    with tenant_context(merchant):
        draw = PrizeDraw.objects.get(table__campaign=campaign)
    assert ledger.balance_of(ledger.wallet(consumer.pk)) == draw.points
