"""The merchant authorises its WeChat official account in the console, in a real browser.

The live server talks to the fake WeChat (``site_settings``); the fake pushes the
verify ticket and the ``authorized``/``unauthorized`` events to the live server's
message URL, signed and encrypted; the button on the fake's authorisation page stands
for the administrator scanning it with WeChat and confirming.

``UPDATE_SCREENSHOTS=1`` writes ``docs/screenshots/console-wechat-*.png``.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from devtools.fake_wechat import FakeWeChat
from devtools.fake_wechat import component as fake_component
from tenants.models import OfficialAccount
from tests.browser.conftest import BrowserPage, Site
from tests.browser.test_console import funded_merchant, shoot_both, sign_in
from tests.fixtures.tenants import staff_user
from tests.fixtures.wechat import (
    COMPONENT_AES_KEY,
    COMPONENT_APP_ID,
    COMPONENT_SECRET,
    COMPONENT_TOKEN,
)

pytestmark = pytest.mark.browser

Shoot = Callable[[BrowserPage, str], object]


def test_the_merchant_authorises_its_official_account_in_the_console(
    committed_db: None,
    unique: Callable[[str], str],
    open_page: Callable[..., BrowserPage],
    shoot: Shoot,
    site: Site,
    fake_wechat: FakeWeChat,
) -> None:
    fake_component.register_component(
        fake_wechat,
        COMPONENT_APP_ID,
        COMPONENT_SECRET,
        COMPONENT_TOKEN,
        COMPONENT_AES_KEY,
        message_url=f"{site.url}/wechat/component/events",
    )
    _ticket, sent = fake_component.push_verify_ticket(fake_wechat)
    assert (sent.status, sent.answer) == (200, "success")
    app_id = "wx" + unique("sub").replace("-", "")[:16]
    fake_wechat.register_app(app_id, "never-given", name="兰亭茶订阅号", kind="subscription")

    owner = staff_user(f"{unique('owner')}@console.test")
    merchant = funded_merchant(unique, "Orchid Tea", owner)
    page = open_page("desktop")
    p = page.page
    sign_in(page, owner.get_username())
    p.get_by_role("link", name="WeChat account").click()
    p.get_by_text("No official account is authorised yet.").wait_for()

    p.get_by_role("button", name="Authorise a WeChat official account").click()
    # WeChat's page (the fake's): the administrator scans and confirms.
    p.get_by_role("heading", name=f"授权给第三方平台 {COMPONENT_APP_ID}").wait_for()
    p.get_by_role("button", name="扫码并确认授权 兰亭茶订阅号").click()

    # Back in the console: the account, its kind, and what it cannot do, said plainly.
    p.get_by_text("兰亭茶订阅号 is authorised.").wait_for()
    account = p.locator("#wechat-account")
    account.get_by_text("Subscription account (订阅号)").wait_for()
    account.get_by_text("Authorised", exact=True).wait_for()
    account.get_by_text("errcode 48001").wait_for()
    assert "auth_code" not in p.url  # the single-use code is not left to be resent
    stored = OfficialAccount.objects.get(merchant=merchant)
    assert stored.app_id == app_id and not stored.can_use_service_apis
    shoot_both(page, shoot, "wechat")

    # The merchant cancels in WeChat: the push arrives; the console says so.
    cancelled = fake_component.unauthorize(fake_wechat, app_id)
    assert cancelled.answer == "success"
    p.reload()
    p.locator("#wechat-account").get_by_text("Authorisation cancelled").wait_for()
    p.get_by_text("the platform can no longer act for this account").wait_for()
    p.get_by_role("button", name="Authorise again").wait_for()
