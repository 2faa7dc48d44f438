"""The address form in Chinese, in a real browser (issue 24): the recipient's number is
the account's, and the province, city and district are picked from GB/T 2260's list,
fetched a province at a time.

``UPDATE_SCREENSHOTS=1`` writes ``docs/screenshots/address-picker-*.png``."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from accounts.models import User
from redemption.models import Address
from tests.browser.conftest import BrowserPage, Site

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_a_new_address_has_the_accounts_number_and_a_picked_region(
    size: str,
    committed_db: None,
    new_phone: Callable[[], str],
    site: Site,
    open_page: Callable[..., BrowserPage],
    shoot: Callable[[BrowserPage, str], object],
) -> None:
    phone = new_phone()
    page = open_page(size, locale="zh-CN")
    p = page.page
    regions: list[str] = []
    p.on("request", lambda r: regions.append(r.url) if "/regions/" in r.url else None)
    p.goto("/addresses")
    p.get_by_label("手机号码", exact=True).fill(phone.removeprefix("+86"))
    p.get_by_role("button", name="发送验证码").click()
    p.get_by_label("6 位验证码").fill(site.sms_code(phone))
    p.get_by_role("button", name="登录", exact=True).click()
    p.get_by_role("button", name="新增地址").click()

    # Prefilled from the account, as a person in China writes it (no +86).
    expect(p.get_by_label("收货人手机号码")).to_have_value(phone.removeprefix("+86"))
    p.get_by_label("省份").select_option(label="广东省")
    p.get_by_label("城市").select_option(label="深圳市")
    p.get_by_label("区县").select_option(label="南山区")
    expect(p.get_by_label("省、市、区")).to_have_value("广东省 深圳市 南山区")
    # A municipality is named once.
    p.get_by_label("省份").select_option(label="北京市")
    p.get_by_label("城市").select_option(label="北京市")
    p.get_by_label("区县").select_option(label="海淀区")
    expect(p.get_by_label("省、市、区")).to_have_value("北京市 海淀区")
    # The provinces, then one request per province chosen: never the whole country.
    assert sorted(r.rsplit("/regions/", 1)[1] for r in regions) == ["", "110000", "440000"]

    p.get_by_label("收货人", exact=True).fill("王小明")
    p.get_by_label("街道和门牌号").fill("中关村大街 1 号")
    shoot(page, "address-picker")
    p.get_by_role("button", name="保存地址").click()
    p.get_by_text("王小明").first.wait_for()
    consumer = User.objects.get(phone=phone)
    saved = Address.objects.get(consumer=consumer)
    assert (saved.region, saved.phone) == ("北京市 海淀区", phone)
