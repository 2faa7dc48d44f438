"""One account, one wallet in the browser: inside WeChat, a phone consumer binds WeChat.

"Bind WeChat" goes through the WeChat sign-in view (``/wechat/signin``), the fake
WeChat's silent authorisation (its cookie says who is signed in to WeChat) and our
callback, which hands the wallet a ticket in ``#wx=``; the page is WeChat's browser (user
agent ``MicroMessenger``). A tab with a session binds that ticket (``bind.js``) instead of
signing in with it (``signin.js``). The WeChat user is another account with points: the
page asks, the consumer confirms, and the wallet shows both accounts' points in one
balance.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from accounts import tokens
from accounts.models import User, WeChatIdentity
from campaigns.scan.claims import claim_code
from devtools.fake_wechat import FakeWeChat, oauth
from points import ledger
from points.audit import audit
from tests.browser.conftest import VIEWPORTS, Site
from tests.fixtures.tenants import merchant_with_codes
from tests.fixtures.wechat import PLATFORM_APP_ID

WECHAT_UA = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0 Mobile Safari/537.36 MicroMessenger/8.0.50.2701(0x28003253) NetType/WIFI"
)


@pytest.fixture
def wechat_page(browser: Any, site: Site) -> Iterator[Any]:
    context = browser.new_context(
        base_url=site.url,
        viewport=VIEWPORTS["phone"],
        user_agent=WECHAT_UA,
        locale="en",
        extra_http_headers={"Accept-Language": "en"},
        is_mobile=True,
        has_touch=True,
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == []


def sign_in(page: Any, user: User) -> None:
    """Keep the user's tokens in the page's storage, as signing in does."""
    pair = tokens.issue(user)
    page.goto("/mall")
    page.evaluate(
        """([access, refresh]) => {
            localStorage.setItem("loyalty.accessToken", access);
            localStorage.setItem("loyalty.refreshToken", refresh);
            localStorage.setItem("loyalty.accessExpiresAt", String(Date.now() + 600000));
        }""",
        [pair.access_token, pair.refresh_token],
    )


def test_a_phone_consumer_inside_wechat_binds_wechat_and_merges_the_wallets(
    committed_db: None,
    fake_wechat: FakeWeChat,
    unique: Callable[[str], str],
    new_phone: Callable[[], str],
    site: Site,
    wechat_page: Any,
) -> None:
    _merchant, codes = merchant_with_codes(unique, size=2, points=30)
    phone_user, _ = User.objects.get_or_create_consumer(new_phone())
    claim_code(phone_user, codes[0], unique("claim"))
    person = unique("person")
    wechat_user = User.objects.create()
    openid = oauth.openid(person, PLATFORM_APP_ID)
    WeChatIdentity.objects.create(user=wechat_user, app_id=PLATFORM_APP_ID, openid=openid)
    claim_code(wechat_user, codes[1], unique("claim"))
    page = wechat_page
    # Signed in to WeChat as that person (the fake's authorisation reads its cookie).
    page.context.add_cookies([{"name": oauth.USER_COOKIE, "value": person, "url": fake_wechat.url}])
    sign_in(page, phone_user)

    # The wallet offers "Bind WeChat" inside WeChat, to the WeChat sign-in view.
    page.goto("/")
    page.get_by_text("30 points", exact=True).wait_for()
    bind = page.get_by_role("link", name="Bind WeChat")
    assert bind.get_attribute("href").startswith("/wechat/signin?next=")

    # Through /wechat/signin and WeChat's authorisation, back with the ticket in the fragment.
    bind.click()
    page.get_by_text("is another account, with 30 points and 0 orders").wait_for()
    # The older (phone) account goes on, and the page says so before the tap.
    page.get_by_text("You stay in this account; the other one is closed.").wait_for()
    assert "#wx=" not in page.url  # the ticket leaves the address at once
    page.get_by_role("button", name="Merge into one account").click()

    page.get_by_text("60 points", exact=True).wait_for()
    page.get_by_text("WeChat bound").wait_for()
    assert page.get_by_role("link", name="Bind WeChat").is_hidden()
    assert ledger.balance_of(ledger.wallet(phone_user.pk)) == 60
    assert User.objects.get(pk=wechat_user.pk).merged_into_id == phone_user.pk
    assert audit() == []
