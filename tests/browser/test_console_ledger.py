# ruff: noqa: RUF001 (the Chinese texts under test have full-width punctuation)
"""The statement in Chinese, in a real browser (issue 24, merchants: a readable ledger).

A batch of 40 codes reserves its points over 16 bucket accounts: the statement shows it
as one line (预算 -200, 预留 +200) that opens to its 17 postings; the kind and campaign
filters narrow the lines; "下载 CSV" gives the same lines as a file. The budget shows
what its points cost (约 ¥), and 申请充值 records a request for the operators. Runs at phone and
desktop size; ``UPDATE_SCREENSHOTS=1`` writes the screen in Chinese with a line open.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django_tenants.utils import tenant_context

from campaigns.models import CampaignStatus
from campaigns.scan.services import create_batch, create_scan_campaign
from campaigns.services import set_status
from points.models import TopUpRequest
from tests.browser.conftest import BrowserPage
from tests.browser.test_console import Shoot, funded_merchant, shoot_both
from tests.browser.test_console_labels import sign_in_chinese
from tests.fixtures.tenants import staff_user

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_a_batch_is_one_line_that_opens_to_its_postings_filtered_and_exported(
    committed_db: None,
    unique: Callable[[str], str],
    open_page: Callable[..., BrowserPage],
    shoot: Shoot,
    size: str,
) -> None:
    owner = staff_user(f"{unique('owner')}@console.test")
    merchant = funded_merchant(unique, "莲花茶饮", owner)
    with tenant_context(merchant):
        caps = create_scan_campaign(name="春茶瓶盖")
        set_status(merchant, caps, CampaignStatus.ACTIVE)
        create_batch(merchant, caps, size=40, points_per_code=5)
        tins = create_scan_campaign(name="铁罐")
        set_status(merchant, tins, CampaignStatus.ACTIVE)
        create_batch(merchant, tins, size=2, points_per_code=10)

    page = open_page(size, locale="zh-CN")
    p = page.page
    sign_in_chinese(page, owner.get_username())
    p.goto("/console/ledger/")
    rows = p.locator("#entries tbody tr")
    rows.first.wait_for()
    # 100,000 points bought at 100 a yuan, 220 of them reserved: what the rest cost.
    assert "（约 ¥997.80）" in p.locator("#budget-available").inner_text()
    assert "（约 ¥2.20）" in p.locator("#budget-reserved").inner_text()
    # The top-up and two batches: three lines, not 1 + 17 + 3.
    assert rows.count() == 3
    caps_line = rows.filter(has_text="春茶瓶盖")
    assert caps_line.count() == 1
    assert "−200" in caps_line.inner_text() or "-200" in caps_line.inner_text()
    caps_line.get_by_text("17 笔分录").click()
    caps_line.locator("details.postings li").nth(16).wait_for()
    assert caps_line.locator("details.postings li").count() == 17
    shoot_both(page, shoot, "ledger")

    p.locator("#filter-kind").select_option("FUND_MONEY")
    p.locator("#entries tbody tr").filter(has_text="+100,000").wait_for()
    p.wait_for_function("document.querySelectorAll('#entries tbody tr').length === 1")
    p.locator("#filter-kind").select_option("")
    p.locator("#entries tbody tr").nth(2).wait_for()
    before = p.locator("#ledger-csv").get_attribute("href")
    p.locator("#filter-campaign").select_option(label="铁罐")
    p.wait_for_function("document.querySelectorAll('#entries tbody tr').length === 1")
    assert "铁罐" in p.locator("#entries tbody tr").first.inner_text()

    # The CSV link follows the filters: the tins' reserve only.
    p.wait_for_function(
        "(before) => document.querySelector('#ledger-csv').getAttribute('href') !== before",
        arg=before,
    )
    href = p.locator("#ledger-csv").get_attribute("href")
    assert href
    response = p.request.get(href)
    assert response.status == 200
    lines = response.text().lstrip("\ufeff").strip().splitlines()
    assert len(lines) == 2 and ",reserve," in lines[1] and ",-20,20," in lines[1]

    # 申请充值 reaches the operators as a request in the admin.
    p.get_by_role("button", name="申请充值").click()
    p.locator("#top-up .field-error").wait_for()  # no amount: refused at its field
    p.get_by_label("金额（元）").fill("5000")
    p.get_by_label("给运营的备注").fill("请开专票")
    p.get_by_role("button", name="申请充值").click()
    p.get_by_text("已提交申请，平台运营会与您联系。").first.wait_for()
    request = TopUpRequest.objects.get(merchant=merchant)
    assert (request.amount_minor, request.note) == (500_000, "请开专票")
