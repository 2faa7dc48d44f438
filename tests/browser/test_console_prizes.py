# ruff: noqa: RUF001 (the Chinese texts under test have full-width punctuation)
"""The prize table editor and the earning rule screen, in Chinese, in a real browser
(issue 23: console screens for prize draws and the merchant earning API).

Prize table: a top prize above the legal ceiling is refused at its field with the law
explained; a coupon tier from the merchant's own pool; the odds and what a batch would
reserve follow the inputs; saved, the batch form reserves by the terms; activated, the
terms are read-only with the seed's commitment and the public verifier; after three
draws, the stats per tier. Earning rule: a rate with too many decimals refused at its
field, then saved, and the saved rule shown again. ``UPDATE_SCREENSHOTS=1`` writes both.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django_tenants.utils import tenant_context
from playwright.sync_api import Dialog

from campaigns.models import Code, PrizeSeed, PrizeTable
from campaigns.prizes.services import set_prize_table
from campaigns.scan.claims import claim_code
from campaigns.scan.generation import generate_batch
from campaigns.scan.services import create_batch, create_scan_campaign
from earning.models import EarningRule
from tenants.models import Membership, Role
from tests.browser.conftest import BrowserPage
from tests.browser.test_console import Shoot, funded_merchant, shoot_both
from tests.browser.test_console_labels import campaign_global_id, sign_in_chinese
from tests.fixtures.activity import consumer
from tests.fixtures.prizes import TIERS, coupon_pool, nonce
from tests.fixtures.tenants import staff_user

pytestmark = pytest.mark.browser


def test_prize_table_editor_refuses_the_ceiling_shows_odds_and_reserve_then_locks(
    committed_db: None,
    unique: Callable[[str], str],
    open_page: Callable[..., BrowserPage],
    shoot: Shoot,
) -> None:
    owner = staff_user(f"{unique('owner')}@console.test")
    merchant = funded_merchant(unique, "莲花茶饮", owner)
    coupon = coupon_pool(merchant, 50, price=300)
    with tenant_context(merchant):
        campaign = create_scan_campaign(name="再来一瓶")

    page = open_page("desktop", locale="zh-CN")
    p = page.page
    sign_in_chinese(page, owner.get_username())
    p.goto(f"/console/campaign/?id={campaign_global_id(merchant.pk, campaign.pk)}")
    p.get_by_role("heading", name="奖项表").wait_for()
    assert p.locator("#p-0-name").input_value() == "一等奖"
    assert p.locator("#p-1-name").input_value() == "谢谢参与"

    # ¥60,000 of points: refused by the server, at the field, with the law explained.
    p.locator("#p-0-points").fill("6000000")
    p.locator("#p-0-cap").fill("1")
    p.locator("#p-1-weight").fill("99")
    assert p.locator("#p-0-odds").inner_text() == "1.00%"
    assert p.locator("#p-1-odds").inner_text() == "99.00%"
    p.get_by_role("button", name="保存奖项表").click()
    error = p.locator("#p-0-points-error")
    error.wait_for()
    assert "¥50,000" in error.inner_text() and "《反不正当竞争法》" in error.inner_text()
    assert p.locator("#p-0-points").get_attribute("aria-invalid") == "true"
    with tenant_context(merchant):
        assert not PrizeTable.objects.filter(campaign=campaign).exists()

    # A lower top prize, and a second prize paying one of the merchant's coupons.
    p.locator("#p-0-points").fill("500")
    p.get_by_role("button", name="添加奖项").click()
    p.locator("#p-1-name").fill("二等奖")
    p.locator("#p-1-kind").select_option("coupon")
    p.locator("#p-1-coupon").select_option(label=f"{coupon.title}（价值 300 积分）")
    p.locator("#p-1-weight").fill("9")
    p.locator("#p-1-cap").fill("20")
    p.locator("#p-2-weight").fill("90")
    assert [p.locator(f"#p-{i}-odds").inner_text() for i in range(3)] == [
        "1.00%",
        "9.00%",
        "90.00%",
    ]
    p.locator("#p-batch").fill("100")
    # min(1, 100) x 500 + min(20, 100) x 300: 6,500 points and 20 coupons.
    assert p.locator("#prize-reserve").inner_text() == (
        "一批 100 个码需预留 6,500 积分，并预留 20 张电子券。"
    )
    shoot_both(page, shoot, "prize-editor")
    p.get_by_role("checkbox", name="首扫必中").check()
    p.get_by_role("button", name="保存奖项表").click()
    # The guarantee needs an uncapped lowest prize: refused at that cap.
    p.locator("#p-1-cap-error").wait_for()
    assert "首扫必中" in p.locator("#p-1-cap-error").inner_text()
    p.get_by_role("checkbox", name="首扫必中").uncheck()
    p.get_by_role("button", name="保存奖项表").click()
    stats = p.locator("#prize-stats table")
    stats.wait_for()
    with tenant_context(merchant):
        table = PrizeTable.objects.get(campaign=campaign)
        tiers = list(table.tiers.order_by("position").values_list("name", "points", "cap"))
        assert tiers == [("一等奖", 500, 1), ("二等奖", 300, 20), ("谢谢参与", 0, None)]
        assert table.tiers.get(position=2).coupon_product_id == coupon.pk

    # The batch form now reserves by the terms: no points per code to give.
    assert p.locator("#b-points").is_hidden()
    p.locator("#b-size").fill("10")
    assert p.locator("#batch-cost").inner_text().startswith("将从预算中预留 3,500 积分")

    p.get_by_role("button", name="启用").click()
    p.locator("#prize-published").wait_for()
    assert p.locator("#prize-table").is_hidden()
    with tenant_context(merchant):
        seed = PrizeSeed.objects.get(table__campaign=campaign)
    assert p.locator("#prize-commitment").inner_text() == seed.commitment
    assert "锁定" in p.locator("#prize-locked-note").inner_text()
    verifier = p.get_by_role("link", name="公开核验页").get_attribute("href")
    assert verifier and f"/{merchant.pk}/" in verifier

    # Three draws, then the stats per tier (drawn, won, remaining) on a reload.
    buyer = consumer()
    with tenant_context(merchant):
        batch = create_batch(merchant, campaign, size=3, points_per_code=None)
        generate_batch(batch.pk)
        codes = list(Code.objects.filter(batch_id=batch.pk).values_list("code", flat=True))
        for i, code in enumerate(codes):
            claim_code(buyer, code, f"console-prize-{i}", nonce=nonce())
    p.reload()
    p.locator("#prize-stats table").wait_for()
    p.locator("#prize-draws").get_by_text("3", exact=True).wait_for()
    rows = p.locator("#prize-stats tbody tr")
    assert rows.count() == 3
    drawn = [int(rows.nth(i).locator("td").nth(4).inner_text()) for i in range(3)]
    assert sum(drawn) == 3
    assert rows.nth(2).locator("td").nth(6).inner_text() == "—"  # "thank you": no cap
    first = rows.nth(0).locator("td")
    assert int(first.nth(6).inner_text()) == 1 - int(first.nth(5).inner_text())
    shoot_both(page, shoot, "prize-table")


def test_a_saved_prize_table_is_turned_back_into_fixed_points(
    committed_db: None,
    unique: Callable[[str], str],
    open_page: Callable[..., BrowserPage],
) -> None:
    """A draft's saved table: "改回固定积分" asks first, then removes it; the batch form
    asks for points per code again and the editor starts over."""
    owner = staff_user(f"{unique('owner')}@console.test")
    merchant = funded_merchant(unique, "莲花茶饮", owner)
    with tenant_context(merchant):
        campaign = create_scan_campaign(name="先抽奖")
        set_prize_table(campaign, TIERS)

    page = open_page("desktop", locale="zh-CN")
    p = page.page
    sign_in_chinese(page, owner.get_username())
    p.goto(f"/console/campaign/?id={campaign_global_id(merchant.pk, campaign.pk)}")
    p.locator("#prize-stats table").wait_for()
    assert p.locator("#b-points").is_hidden()
    clear = p.get_by_role("button", name="改回固定积分")
    # Dismissed: nothing changes.
    p.once("dialog", lambda dialog: dialog.dismiss())
    clear.click()
    with tenant_context(merchant):
        assert PrizeTable.objects.filter(campaign=campaign).exists()
    asked: list[str] = []

    def accept(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.accept()

    p.once("dialog", accept)
    clear.click()
    p.locator("#progress").get_by_text("奖项表已删除").wait_for()
    assert asked and "删除奖项表" in asked[0]
    assert clear.is_hidden() and p.locator("#prize-stats table").count() == 0
    assert p.locator("#p-0-name").input_value() == "一等奖"  # a new table's start
    assert p.locator("#b-points").is_visible()
    with tenant_context(merchant):
        assert not PrizeTable.objects.filter(campaign=campaign).exists()


def test_earning_rule_screen_refuses_a_bad_rate_at_its_field_then_saves(
    committed_db: None,
    unique: Callable[[str], str],
    open_page: Callable[..., BrowserPage],
    shoot: Shoot,
) -> None:
    owner = staff_user(f"{unique('owner')}@console.test")
    merchant = funded_merchant(unique, "莲花茶饮", owner)
    page = open_page("desktop", locale="zh-CN")
    p = page.page
    sign_in_chinese(page, owner.get_username())
    p.get_by_role("link", name="积分规则").click()
    p.get_by_role("heading", name="积分规则").wait_for()
    p.get_by_text(re.compile("^尚未设置规则")).wait_for()

    p.get_by_label("每元积分").fill("0.00001")
    p.get_by_role("button", name="保存规则").click()
    error = p.locator("#r-rate-error")
    error.wait_for()
    assert error.inner_text().startswith("请检查积分规则")
    assert not EarningRule.objects.filter(merchant=merchant).exists()

    p.get_by_label("每元积分").fill("0.5")
    p.get_by_label("取整方式").select_option("NEAREST")
    p.get_by_label("每位消费者每日消费积分上限（可选）").fill("200")
    p.get_by_label("欢迎奖励（积分）").fill("50")
    p.get_by_label("生日奖励（积分）").fill("100")
    # ¥99.90 x 0.5 = 49.95, to the nearest point.
    assert p.locator("#rule-example").inner_text() == "消费 ¥99.90 可得 50 积分。"
    p.get_by_role("button", name="保存规则").click()
    p.locator("#rule-state").get_by_text("已保存").wait_for()
    rule = EarningRule.objects.get(merchant=merchant)
    assert (str(rule.points_per_unit.normalize()), rule.rounding, rule.daily_cap) == (
        "0.5",
        "nearest",
        200,
    )
    assert (rule.welcome_bonus, rule.birthday_bonus) == (50, 100)

    p.reload()
    p.get_by_role("heading", name="积分规则").wait_for()
    p.wait_for_function("document.getElementById('r-rate').value === '0.5'")
    assert p.get_by_label("取整方式").input_value() == "NEAREST"
    assert p.get_by_label("生日奖励（积分）").input_value() == "100"
    shoot_both(page, shoot, "earning")

    # A viewer reads the rule and cannot save it (the API wants an admin).
    viewer = staff_user(f"{unique('viewer')}@console.test")
    Membership.objects.create(merchant=merchant, user=viewer, role=Role.VIEWER)
    other = open_page("phone", locale="zh-CN")
    sign_in_chinese(other, viewer.get_username())
    other.page.goto("/console/earning/")
    other.page.wait_for_function("document.getElementById('r-rate').value === '0.5'")
    assert other.page.get_by_label("每元积分").is_disabled()
    assert other.page.get_by_role("button", name="保存规则").is_hidden()
