"""The printed QR code's page, in a real browser: sign in by phone, collect, once."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from accounts.models import User
from points import ledger
from tests.browser.conftest import BrowserPage, Site
from tests.fixtures.tenants import merchant_with_codes

pytestmark = pytest.mark.browser


def sign_in(page: BrowserPage, site: Site, phone: str) -> None:
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
    page.page.get_by_role("button", name="Collect 10 points").click()
    page.page.get_by_role("heading", name="You earned 10 points").wait_for()
    page.page.get_by_text(re.compile(r"Your wallet: 10 points")).wait_for()
    shoot(page, "scan-earned")

    consumer = User.objects.get(phone=first)
    assert ledger.balance_of(ledger.wallet(consumer.pk)) == 10

    other = open_page("phone")
    other.page.goto(f"/s/{codes[0]}")
    other.page.get_by_text("This code has already been used.").first.wait_for()
    assert not User.objects.filter(phone=second).exists()
