"""Sign-in inside WeChat's browser, for real: a WeChat user agent, OAuth to the fake WeChat
(over HTTP, enforcing single-use codes and the registered domain), back to the page.

The taps and typed characters from opening a scanned code to the first points are
counted by the helpers that drive the page (``Journey``), and printed: they are the
figures of docs/benchmarks.md ("WeChat sign-in: taps from scan to points"), measured
by ``uv run pytest tests/browser/test_wechat_signin.py -m browser -s -k taps``.
After each scenario the ledger check is clean.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.core.management import call_command

from accounts import policies
from accounts.models import Consent, WeChatIdentity
from devtools.fake_wechat import FakeWeChat
from devtools.fake_wechat import oauth as fake_oauth
from points import ledger
from tests.browser.conftest import BrowserPage, Site
from tests.browser.test_consumer_web import _questionnaire as questionnaire
from tests.fixtures.tenants import merchant_with_codes
from tests.fixtures.wechat import PLATFORM_APP_ID

pytestmark = pytest.mark.browser

WECHAT_UA = (
    "Mozilla/5.0 (Linux; Android 13; Pixel 7 Build/TQ3A.230901.001; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 XWEB/1160065 "
    "MMWEBSDK/20231202 MicroMessenger/8.0.47.2560(0x28002F35) WeChat/arm64 Weixin "
    "NetType/WIFI Language/zh_CN ABI/arm64"
)


@dataclass
class Journey:
    """Drives a page the way a person does, counting taps and typed characters."""

    page: BrowserPage
    taps: int = 0
    typed: int = 0

    def tap(self, locator: Any) -> None:
        self.taps += 1
        locator.click()

    def type(self, locator: Any, text: str) -> None:
        self.tap(locator)  # a field is tapped before it is typed into
        self.typed += len(text)
        locator.fill(text)


def ledger_is_clean() -> None:
    call_command("ledger_check", stdout=io.StringIO())  # CommandError on any breach


def in_wechat(
    open_page: Callable[..., BrowserPage], fake: FakeWeChat, user: str, locale: str = "en"
) -> BrowserPage:
    """A page in WeChat's browser, signed in to WeChat as ``user`` (the fake's cookie)."""
    page = open_page("phone", locale=locale, user_agent=WECHAT_UA)
    page.page.context.add_cookies(
        [{"name": fake_oauth.USER_COOKIE, "value": user, "url": fake.url}]
    )
    return page


def exchanges(fake: FakeWeChat) -> int:
    return sum(1 for _method, path in fake.calls if path == "sns/oauth2/access_token")


def test_first_time_one_tap_then_returning_one_tap_inside_wechat(
    committed_db: None,
    unique: Callable[[str], str],
    site: Site,
    fake_wechat: FakeWeChat,
    open_page: Callable[..., BrowserPage],
    shoot: Callable[[BrowserPage, str], object],
) -> None:
    _merchant, codes = merchant_with_codes(unique, size=2, points=10)
    user = unique("wx")
    openid = fake_oauth.openid(user, PLATFORM_APP_ID)

    # First time: the scan opens the page, which goes through WeChat unasked and
    # comes back asking for the one tap that agrees and collects.
    # (In Chinese, as WeChat's users see it: the screenshot in docs/wechat.md.)
    page = in_wechat(open_page, fake_wechat, user, locale="zh-CN")
    first = Journey(page)
    page.page.goto(f"/s/{codes[0]}")
    button = page.page.get_by_role("button", name="同意并领取")
    button.wait_for()
    assert "#wx=" not in page.page.url  # the ticket left the address at once
    assert page.page.url.endswith(f"/s/{codes[0]}")
    consent = page.page.locator("#claim-consent")
    assert consent.get_by_role("link", name="用户协议").get_attribute("href") == "/terms"
    assert consent.get_by_role("link", name="隐私政策").get_attribute("href") == "/privacy"
    assert not WeChatIdentity.objects.filter(openid=openid).exists()  # nothing before consent
    shoot(page, "wechat-first-time")
    first.tap(button)
    page.page.get_by_role("heading", name="您获得了 10 积分").wait_for()
    assert (first.taps, first.typed) == (1, 0)

    identity = WeChatIdentity.objects.get(app_id=PLATFORM_APP_ID, openid=openid)
    consumer = identity.user
    assert consumer.phone is None
    assert {(c.document, c.version, c.channel) for c in Consent.objects.filter(user=consumer)} == {
        (document, version, "wechat") for document, version in policies.CURRENT_VERSIONS.items()
    }
    assert ledger.balance_of(ledger.wallet(consumer.pk)) == 10
    ledger_is_clean()

    # Returning, in a new browser (no tokens kept), the same WeChat user: signed in
    # silently, one tap to collect.
    again = in_wechat(open_page, fake_wechat, user)
    returning = Journey(again)
    again.page.goto(f"/s/{codes[1]}")
    collect = again.page.get_by_role("button", name="Collect 10 points")
    collect.wait_for()
    again.page.get_by_text("Signed in with WeChat").wait_for()
    returning.tap(collect)
    again.page.get_by_role("heading", name="You earned 10 points").wait_for()
    again.page.get_by_text("Your wallet: 20 points").wait_for()
    assert (returning.taps, returning.typed) == (1, 0)
    assert WeChatIdentity.objects.filter(openid=openid).count() == 1
    assert ledger.balance_of(ledger.wallet(consumer.pk)) == 20
    ledger_is_clean()

    # The wallet opened inside WeChat signs in the same way.
    wallet = in_wechat(open_page, fake_wechat, user)
    wallet.page.goto("/")
    wallet.page.locator("#balance").get_by_text("20 points").wait_for()
    print(f"\nWECHAT first-time: {first.taps} tap(s), {first.typed} character(s)")
    print(f"WECHAT returning (new browser): {returning.taps} tap(s), {returning.typed} char(s)")


def test_taps_from_scan_to_points_with_a_phone(
    committed_db: None,
    unique: Callable[[str], str],
    new_phone: Callable[[], str],
    site: Site,
    open_page: Callable[..., BrowserPage],
) -> None:
    """The reference: outside WeChat nothing changed (the phone sign-in card)."""
    _merchant, codes = merchant_with_codes(unique, size=3, points=10)
    phone = new_phone()

    def by_phone(page: BrowserPage, code: str) -> Journey:
        journey = Journey(page)
        page.page.goto(f"/s/{code}")
        # As a person in China types it: the 11 digits, no +86.
        journey.type(page.page.get_by_label("Mobile number"), phone.removeprefix("+86"))
        journey.tap(page.page.get_by_role("button", name="Send code"))
        journey.type(page.page.get_by_label("6-digit code"), site.sms_code(phone))
        journey.tap(page.page.get_by_role("button", name="Sign in"))
        # The sign-in completes the claim: no "collect" tap after it (decision 0234).
        page.page.get_by_role("heading", name="You earned 10 points").wait_for()
        return journey

    page = open_page("phone")
    first = by_phone(page, codes[0])
    # The same browser keeps its tokens: one tap.
    same = Journey(page)
    page.page.goto(f"/s/{codes[1]}")
    same.tap(page.page.get_by_role("button", name="Collect 10 points"))
    page.page.get_by_role("heading", name="You earned 10 points").wait_for()
    ledger_is_clean()
    print(f"\nPHONE first-time: {first.taps} tap(s), {first.typed} character(s)")
    print(f"PHONE returning, same browser: {same.taps} tap(s), {same.typed} character(s)")
    assert (first.taps, first.typed) == (4, 17)
    assert (same.taps, same.typed) == (1, 0)


def _rewrite(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    return parts._replace(query=urlencode(query)).geturl()


def to_wechat_and_back(page: BrowserPage, site: Site) -> str:
    """The browser's first two hops, made one at a time (Playwright routes no redirect):
    our /wechat/signin (its state cookie lands in the browser) and WeChat's authorise
    page. Returns the callback address WeChat sends the browser back to."""
    request = page.page.context.request  # shares the browser's cookies
    ours = request.get(f"{site.url}/wechat/signin?next=/", max_redirects=0)
    assert ours.status == 302
    wechat = request.get(ours.headers["location"], max_redirects=0)
    assert wechat.status == 302
    return str(wechat.headers["location"])


def test_a_replayed_oauth_code_is_refused(
    committed_db: None,
    unique: Callable[[str], str],
    site: Site,
    fake_wechat: FakeWeChat,
    open_page: Callable[..., BrowserPage],
) -> None:
    user = unique("wx")
    page = in_wechat(open_page, fake_wechat, user)
    seen: list[str] = []
    page.page.on(
        "request",
        lambda request: seen.append(request.url) if "/wechat/callback" in request.url else None,
    )
    page.page.goto("/")
    page.page.get_by_role("button", name="Agree and continue").wait_for()
    spent = parse_qs(urlsplit(seen[0]).query)["code"][0]

    # A fresh sign-in in another browser of the same person (its own state, rightly
    # bound), WeChat's answer carrying the code already spent: WeChat refuses it (40163).
    other = in_wechat(open_page, fake_wechat, user)
    other.allow_console(r"status of 400")
    callback = to_wechat_and_back(other, site)
    other.page.goto(_rewrite(callback, code=spent))
    other.page.get_by_role("heading", name="WeChat sign-in did not work").wait_for()
    assert other.page.locator("[data-code]").get_attribute("data-code") == "WECHAT_CODE_INVALID"
    # The way out: phone sign-in on the page the visitor wanted, with no trip to WeChat.
    before = exchanges(fake_wechat)
    other.page.get_by_role("link", name="Sign in with a phone number").click()
    other.page.get_by_label("Mobile number").wait_for()
    assert exchanges(fake_wechat) == before
    assert not WeChatIdentity.objects.filter(
        openid=fake_oauth.openid(user, PLATFORM_APP_ID)
    ).exists()  # no consent was given
    ledger_is_clean()


def test_a_forged_state_is_refused(
    committed_db: None,
    unique: Callable[[str], str],
    site: Site,
    fake_wechat: FakeWeChat,
    open_page: Callable[..., BrowserPage],
) -> None:
    page = in_wechat(open_page, fake_wechat, unique("wx"))
    page.allow_console(r"status of 400")
    callback = to_wechat_and_back(page, site)
    page.page.goto(_rewrite(callback, state="f" * 32))
    page.page.get_by_role("heading", name="WeChat sign-in did not work").wait_for()
    assert page.page.locator("[data-code]").get_attribute("data-code") == "WECHAT_STATE_INVALID"
    assert exchanges(fake_wechat) == 0  # refused before the code was spent
    # The genuine answer is refused too now: the state was single use.
    page.page.goto(callback)
    assert page.page.locator("[data-code]").get_attribute("data-code") == "WECHAT_STATE_INVALID"
    ledger_is_clean()


def test_a_questionnaire_inside_wechat_asks_consent_once_then_collects(
    committed_db: None,
    unique: Callable[[str], str],
    site: Site,
    fake_wechat: FakeWeChat,
    open_page: Callable[..., BrowserPage],
) -> None:
    merchant, _codes = merchant_with_codes(unique, size=1, points=10)
    link = questionnaire(merchant, unique)
    user = unique("wx")
    page = in_wechat(open_page, fake_wechat, user)
    page.page.goto(f"/q/{link}")
    agree = page.page.get_by_role("button", name="Agree and continue")
    agree.wait_for()
    assert "#wx=" not in page.page.url
    agree.click()
    page.page.get_by_label("没去过").check()  # (the merchant's question is in Chinese)
    page.page.locator("fieldset[data-id=stars] label", has_text="4").click()
    page.page.get_by_role("button", name="Submit and earn 50 points").click()
    page.page.get_by_role("heading", name="Thank you! You earned 50 points").wait_for()
    consumer = WeChatIdentity.objects.get(openid=fake_oauth.openid(user, PLATFORM_APP_ID)).user
    assert Consent.objects.filter(user=consumer, channel="wechat").count() == 2
    assert ledger.balance_of(ledger.wallet(consumer.pk)) == 50
    ledger_is_clean()
