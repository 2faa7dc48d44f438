"""A prize code's page in a real browser, in Chinese: the published odds, the draw (a
short spin, or none with reduced motion), the result, the wallet, the verifier link."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django_tenants.utils import tenant_context

from accounts.models import User
from campaigns.models import PrizeDraw
from campaigns.models.prizes import TierTerms
from points import ledger
from tests.browser.conftest import BrowserPage, Site
from tests.fixtures.prizes import merchant_with_prize_codes

pytestmark = pytest.mark.browser

# The top prize all but always (odds 10⁶ : 1); the assertions accept either outcome.
TIERS = [TierTerms("一等奖", 100, 1_000_000, None), TierTerms("谢谢参与", 0, 1, None)]
RESULT = re.compile(r"恭喜抽中一等奖：100 积分|很遗憾未中奖，谢谢参与！")  # noqa: RUF001


def _sign_in(page: BrowserPage, site: Site, phone: str) -> None:
    page.page.get_by_label("手机号码").fill(phone)
    page.page.get_by_role("button", name="发送验证码").click()
    page.page.get_by_label("6 位验证码").fill(site.sms_code(phone))
    page.page.get_by_role("button", name="登录").click()


@pytest.mark.parametrize("motion", ["no-preference", "reduce"])
def test_a_prize_scan_shows_the_odds_draws_and_pays(
    motion: str,
    committed_db: None,
    unique: Callable[[str], str],
    new_phone: Callable[[], str],
    site: Site,
    open_page: Callable[..., BrowserPage],
    shoot: Callable[[BrowserPage, str], object],
) -> None:
    merchant, _batch, codes = merchant_with_prize_codes(unique, size=1, tiers=TIERS)
    phone = new_phone()
    page = open_page("phone", locale="zh-CN")
    page.page.emulate_media(reduced_motion=motion)
    page.page.goto(f"/s/{codes[0]}")
    page.page.get_by_text("最高可得 100 积分").wait_for()
    odds = page.page.get_by_role("list", name="奖项与中奖概率")
    odds.get_by_text(re.compile(r"一等奖 · 100 积分 · 概率 100\.0%")).wait_for()
    shoot(page, f"prize-scan-{motion}")
    # Every text the reel shows, recorded by the page itself (from before the sign-in: a
    # sign-in on the code's page draws at once, decision 0234).
    page.page.evaluate(
        """() => {
          const reel = document.getElementById("result-reel");
          window.reelTexts = [];
          new MutationObserver(() => window.reelTexts.push(reel.textContent)).observe(
            reel, { childList: true, characterData: true, subtree: true });
        }"""
    )
    _sign_in(page, site, phone)
    heading = page.page.get_by_role("heading", name=RESULT)
    heading.wait_for()
    shown = page.page.evaluate("() => window.reelTexts")
    if motion == "reduce":
        assert len(shown) == 1, shown  # no spin: straight to the prize
    else:
        assert len(shown) >= 10 and set(shown) == {"一等奖", "谢谢参与"}, shown
    page.page.get_by_text(re.compile(r"公开抽奖记录第 1 号")).wait_for()
    assert page.page.get_by_role("link", name="核验抽奖结果").get_attribute("href")
    shoot(page, f"prize-result-{motion}")

    consumer = User.objects.get(phone=phone)
    with tenant_context(merchant):
        draw = PrizeDraw.objects.get(code=codes[0])
    assert ledger.balance_of(ledger.wallet(consumer.pk)) == draw.points
    assert heading.inner_text().startswith("恭喜" if draw.points else "很遗憾")

    # The result is in the wallet's history, named by campaign and prize.
    if draw.points:
        page.page.goto("/")
        page.page.get_by_text(re.compile("再来一瓶 · 一等奖")).first.wait_for()

    verifier = open_page("phone", locale="zh-CN")
    verifier.page.goto(f"/prizes/{merchant.pk}/{_batch.campaign_id}")
    verifier.page.get_by_role("heading", name="再来一瓶").wait_for()
    verifier.page.get_by_text(re.compile("1 次等待其种子")).wait_for()
