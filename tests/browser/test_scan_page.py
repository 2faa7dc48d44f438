"""The printed QR code's page, in a real browser: sign in by phone, collect, once."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django_tenants.utils import tenant_context

from accounts.models import User
from campaigns.models import Claim
from campaigns.scan import hidden
from points import ledger
from tests.browser.conftest import BrowserPage, Site
from tests.fixtures.tenants import merchant_with_codes, merchant_with_hidden_import

pytestmark = pytest.mark.browser


def sign_in(page: BrowserPage, site: Site, phone: str) -> None:
    """The sign-in card, in the page's language (a Chinese page takes the local number)."""
    if page.locale.lower().startswith("zh"):
        page.page.get_by_label("手机号码").fill(phone.removeprefix("+86"))
        page.page.get_by_role("button", name="发送验证码").click()
        page.page.get_by_label("6 位验证码").fill(site.sms_code(phone))
        page.page.get_by_role("button", name="登录", exact=True).click()
        return
    page.page.get_by_label("Mobile number").fill(phone)
    page.page.get_by_role("button", name="Send code").click()
    page.page.get_by_label("6-digit code").fill(site.sms_code(phone))
    page.page.get_by_role("button", name="Sign in").click()


def test_scan_sign_in_collect_then_the_code_is_used(
    committed_db: None,
    unique: Callable[[str], str],
    new_phone: Callable[[], str],
    site: Site,
    open_page: Callable[..., BrowserPage],
    shoot: Callable[[BrowserPage, str], object],
) -> None:
    _merchant, codes = merchant_with_codes(unique, size=2, points=10)
    first, second = new_phone(), new_phone()

    page = open_page("phone")
    page.page.goto(f"/s/{codes[0]}")
    page.page.get_by_text("10 points", exact=True).wait_for()
    shoot(page, "scan")
    sign_in(page, site, first)
    # No "collect" tap: signing in on the code's page completes the claim (0234).
    page.page.get_by_role("heading", name="You earned 10 points").wait_for()
    page.page.get_by_text(re.compile(r"Your wallet: 10 points")).wait_for()
    shoot(page, "scan-earned")

    consumer = User.objects.get(phone=first)
    assert ledger.balance_of(ledger.wallet(consumer.pk)) == 10

    other = open_page("phone")
    other.page.goto(f"/s/{codes[0]}")
    other.page.get_by_text("This code has already been used.").first.wait_for()
    assert not User.objects.filter(phone=second).exists()


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_in_chinese_the_code_is_a_points_code_and_sign_in_collects_at_once(
    size: str,
    committed_db: None,
    unique: Callable[[str], str],
    new_phone: Callable[[], str],
    site: Site,
    open_page: Callable[..., BrowserPage],
    shoot: Callable[[BrowserPage, str], object],
) -> None:
    """The page as a consumer in China sees it: the printed code is 积分码 (not 券码, a
    coupon's word), and the sign-in by phone ends with the points, with no second tap.

    Fails if scan.js waits for the "领取" tap after the sign-in again (the heading never
    shows), or if the label goes back to 券码."""
    _merchant, codes = merchant_with_codes(unique, size=1, points=10)
    phone = new_phone()
    page = open_page(size, locale="zh-CN")
    p = page.page
    p.goto(f"/s/{codes[0]}")
    p.get_by_text("10 积分", exact=True).wait_for()
    assert p.locator(".code-label").inner_text().startswith("积分码")
    assert "券码" not in p.content()
    shoot(page, "scan")
    p.get_by_label("手机号码").fill(phone.removeprefix("+86"))
    p.get_by_role("button", name="发送验证码").click()
    p.get_by_label("6 位验证码").wait_for()
    shoot(page, "sign-in")
    p.get_by_label("6 位验证码").fill(site.sms_code(phone))
    p.get_by_role("button", name="登录", exact=True).click()
    p.get_by_role("heading", name="您获得了 10 积分").wait_for()
    shoot(page, "scan-earned")
    consumer = User.objects.get(phone=phone)
    assert ledger.balance_of(ledger.wallet(consumer.pk)) == 10


def test_a_printer_code_with_a_hidden_code_asks_for_it_then_collects(
    committed_db: None,
    unique: Callable[[str], str],
    new_phone: Callable[[], str],
    site: Site,
    open_page: Callable[..., BrowserPage],
    shoot: Callable[[BrowserPage, str], object],
) -> None:
    """An imported sequential code whose label has a scratch-off (decision 0314): the page
    shows nothing of the offer until the hidden code is typed, says so when it is wrong,
    and collects with the right one. Fails if the page shows the offer without it, or if
    the claim does not send it (the server refuses: HIDDEN_CODE_REQUIRED)."""
    merchant, labels = merchant_with_hidden_import(unique, size=2, points=12)
    code, secret = next(iter(labels.items()))
    wrong = f"{(int(secret) + 1) % 10**hidden.DIGITS:0{hidden.DIGITS}d}"
    phone = new_phone()
    page = open_page("phone", locale="zh-CN")
    p = page.page
    p.goto(f"/s/{code}")
    field = p.get_by_label(re.compile("刮开涂层后可见"))
    field.wait_for()
    p.get_by_role("heading", name="输入刮开验证码").wait_for()
    assert "12 积分" not in p.content()
    shoot(page, "scan-hidden-code")

    field.fill(wrong)
    p.get_by_role("button", name="继续").click()
    p.get_by_text(re.compile("请核对涂层下的数字")).first.wait_for()
    assert "12 积分" not in p.content()
    shoot(page, "scan-hidden-code-wrong")

    field.fill(secret)
    p.get_by_role("button", name="继续").click()
    p.get_by_text("12 积分", exact=True).wait_for()
    assert not field.is_visible()
    p.get_by_label("手机号码").fill(phone.removeprefix("+86"))
    p.get_by_role("button", name="发送验证码").click()
    p.get_by_label("6 位验证码").fill(site.sms_code(phone))
    p.get_by_role("button", name="登录", exact=True).click()
    p.get_by_role("heading", name="您获得了 12 积分").wait_for()
    shoot(page, "scan-hidden-code-earned")
    consumer = User.objects.get(phone=phone)
    assert ledger.balance_of(ledger.wallet(consumer.pk)) == 12
    with tenant_context(merchant):
        assert list(Claim.objects.values_list("code_id", flat=True)) == [code]
