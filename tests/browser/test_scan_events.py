"""防伪 in a real browser: the console's suspicious codes with a code's scan history, and
the public anti-counterfeit page, in Chinese, against the live server.

Scans are recorded in this process into the same Redis as the server's (the stream is
shared), then drained here, as the dedicated drainer would.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from campaigns.models import ScanSource
from campaigns.scan import events
from tests.browser.conftest import BrowserPage
from tests.browser.test_console import shoot_both, sign_in
from tests.fixtures.tenants import merchant_with_codes, staff_user

pytestmark = pytest.mark.browser

BEIJING, SHENZHEN = "202.106.0.20", "202.96.134.133"
WECHAT = "Mozilla/5.0 (Linux; Android 10) Mobile Safari/537.36 MicroMessenger/8.0.40"
Shoot = Callable[[BrowserPage, str], object]


def scanned_far_apart(merchant_id: int, code: str) -> None:
    """Two page openings of ``code``, in Beijing and in Shenzhen: it looks copied."""
    for ip in (BEIJING, SHENZHEN):
        scanner = events.Scanner(ip=ip, user_agent=WECHAT)
        events.record(merchant_id, code, ScanSource.PAGE, "opened", scanner)
    assert events.drain_all() >= 2


def test_the_console_lists_a_copied_code_with_its_history_and_the_public_page_warns(
    committed_db: None,
    unique: Callable[[str], str],
    open_page: Callable[..., BrowserPage],
    shoot: Shoot,
) -> None:
    owner = staff_user(f"{unique('owner')}@console.test")
    merchant, found = merchant_with_codes(unique, size=2, points=5, owner=owner)
    copied, genuine = found
    scanned_far_apart(merchant.pk, copied)

    page = open_page("desktop")
    p = page.page
    sign_in(page, owner.get_username())
    p.get_by_role("link", name="Suspicious codes").first.click()
    p.get_by_role("heading", name="Suspicious codes").wait_for()
    row = p.get_by_role("row").filter(has_text=copied)
    row.get_by_text("Scanned far apart within an hour").wait_for()
    row.get_by_text(re.compile(r"1,9\d\d km apart")).wait_for()
    shoot_both(page, shoot, "scans")
    row.get_by_role("button", name="Scan history").click()
    p.get_by_role("heading", name=f"Scans of {copied}").wait_for()
    history = p.locator("#history")
    history.get_by_role("cell", name="北京市 (approximate)").wait_for()
    history.get_by_role("cell", name="广东省深圳市 (approximate)").wait_for()
    assert history.get_by_role("cell", name="Page opened").count() == 2
    # Any code by typing it: the genuine one has no scans yet.
    p.get_by_role("textbox", name="Code").fill(genuine.lower())
    p.get_by_role("button", name="Show its scans").click()
    p.get_by_text("This code has not been scanned yet.").wait_for()

    phone = open_page("phone", locale="zh-CN")
    phone.page.goto(f"/v/{copied}")
    phone.page.get_by_role("heading", name="正品码").wait_for()
    warning = phone.page.locator("#verify-warning")
    assert "一小时内在相距很远的地方被扫" in warning.inner_text()
    assert "北京市" in phone.page.locator("#verify-first").inner_text()
    shoot(phone, "consumer-verify")
    phone.page.goto(f"/v/{genuine}")
    phone.page.get_by_role("heading", name="正品码").wait_for()
    assert phone.page.locator("#verify-warning").count() == 0
