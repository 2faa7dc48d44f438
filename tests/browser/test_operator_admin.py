"""The operators' admin in Chinese, in a real browser (issue 24): the site header is the
platform's name, a consumer is found by the local number, their page has no staff
fields and links to the support page, which shows them masked.

``UPDATE_SCREENSHOTS=1`` writes ``docs/screenshots/admin-consumer-support-*.png``."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from accounts.models import Consent, User
from redemption.tests.helpers import new_consumer
from tests.browser.conftest import BrowserPage

pytestmark = pytest.mark.browser

PASSWORD = "operator-password-1234"


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_an_operator_finds_a_consumer_by_the_local_number_and_opens_support(
    size: str,
    committed_db: None,
    unique: Callable[[str], str],
    open_page: Callable[..., BrowserPage],
    shoot: Callable[[BrowserPage, str], object],
) -> None:
    operator = User.objects.create_superuser(f"{unique('op')}@platform.test", PASSWORD)
    consumer = new_consumer()
    assert consumer.phone is not None
    Consent.objects.create(user=consumer, document="privacy", version="2026-01", channel="phone")
    page = open_page(size, locale="zh-CN")
    page.allow_console(r"favicon\.ico")  # the admin has none
    p = page.page
    p.goto("/admin/")
    p.locator("#id_username").fill(operator.email)
    p.locator("#id_password").fill(PASSWORD)
    p.locator("input[type=submit]").click()
    p.get_by_role("link", name="积分平台运营后台").first.wait_for()

    p.goto("/admin/accounts/user/")
    p.locator("#searchbar").fill(consumer.phone.removeprefix("+86"))
    p.locator("#searchbar").press("Enter")
    p.locator("#result_list tr", has_text=consumer.masked_phone).locator("th a").click()
    assert p.locator("[name=groups]").count() == 0
    assert p.locator("[name=is_superuser]").count() == 0
    p.get_by_role("link", name="打开支持页面").click()
    p.get_by_role("heading", name="钱包：最近的积分变动").wait_for()  # noqa: RUF001
    assert consumer.masked_phone in p.content() and consumer.phone not in p.content()
    p.get_by_text("2026-01").wait_for()
    shoot(page, "admin-consumer-support")
