"""Issue 22 in a real browser: the scan page's location consent (asked once, never
pre-ticked, the phone's WGS-84 position sent with the claim) and the console's dealers and
diversion screens, against the live server.

Scan events are drained here, into the same Redis stream the server writes, as the
dedicated drainer would.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context

from campaigns.models import ScanEvent, ScanSource
from campaigns.scan import events
from tests.browser.conftest import BrowserPage, Site
from tests.browser.test_console import shoot_both
from tests.browser.test_console import sign_in as console_sign_in
from tests.browser.test_scan_page import sign_in
from tests.fixtures.tenants import merchant_with_codes, staff_user

pytestmark = pytest.mark.browser

NANSHAN = {"latitude": 22.53, "longitude": 113.93}  # 广东省深圳市南山区
BEIJING_IP = "202.106.0.20"
WECHAT = "Mozilla/5.0 (Linux; Android 10) Mobile Safari/537.36 MicroMessenger/8.0.40"
Shoot = Callable[[BrowserPage, str], object]


def test_the_location_is_asked_once_never_pre_ticked_and_sent_with_the_claim(
    committed_db: None,
    unique: Callable[[str], str],
    new_phone: Callable[[], str],
    site: Site,
    open_page: Callable[..., BrowserPage],
    shoot: Shoot,
) -> None:
    merchant, codes = merchant_with_codes(unique, size=3, points=10)
    page = open_page("phone", locale="zh-CN")
    p = page.page
    p.context.grant_permissions(["geolocation"])
    p.context.set_geolocation(NANSHAN)
    # The first code: signing in claims at once (0234); nothing was asked yet.
    p.goto(f"/s/{codes[0]}")
    p.get_by_text("10 积分", exact=True).wait_for()
    sign_in(page, site, new_phone())
    p.get_by_role("heading", name="您获得了 10 积分").wait_for()

    # The second code: the box is there, unticked; ticked, the claim carries the place.
    p.goto(f"/s/{codes[1]}")
    box = p.get_by_label("随本次扫码分享我的位置", exact=False)
    box.wait_for()
    assert not box.is_checked()
    shoot(page, "scan-location-consent")
    box.check()
    p.get_by_role("button", name="领取 10 积分").click()
    p.get_by_role("heading", name="您获得了 10 积分").wait_for()

    # The third: asked once, so not again; the answer given is kept.
    p.goto(f"/s/{codes[2]}")
    p.get_by_role("button", name="领取 10 积分").wait_for()
    assert p.get_by_label("随本次扫码分享我的位置", exact=False).is_hidden()
    p.get_by_role("button", name="领取 10 积分").click()
    p.get_by_role("heading", name="您获得了 10 积分").wait_for()

    # The server's process sends its scan events a moment after each answer (decision
    # 0335): the three pages, previews and claims.
    deadline = time.monotonic() + 10
    while events.backlog()["queued"] < 9:
        assert time.monotonic() < deadline, events.backlog()
        time.sleep(0.02)
    events.drain_all()
    with tenant_context(merchant):
        claims = {
            e.code: e for e in ScanEvent.objects.filter(source=ScanSource.CLAIM, outcome="claimed")
        }
    assert claims[codes[0]].approximate  # no location: the network address's region
    for code in codes[1:]:
        assert (claims[code].region, claims[code].approximate) == ("440305", False)
        place = (claims[code].latitude, claims[code].longitude)
        assert place == (Decimal("22.53"), Decimal("113.93"))  # WGS-84, rounded to 0.01°


def test_the_console_manages_dealers_and_shows_diversion_by_province_and_dealer(
    committed_db: None,
    unique: Callable[[str], str],
    open_page: Callable[..., BrowserPage],
    shoot: Shoot,
) -> None:
    owner = staff_user(f"{unique('owner')}@console.test")
    merchant, codes = merchant_with_codes(unique, size=4, points=5, owner=owner)
    page = open_page("desktop")
    p = page.page
    console_sign_in(page, owner.get_username())
    p.get_by_role("link", name="Dealers").first.click()
    p.get_by_role("heading", name="Dealers and sales regions").wait_for()
    p.get_by_text("No dealer yet.").wait_for()

    # A dealer of 广东省深圳市, picked province → city.
    p.get_by_label("Name").fill("华南经销商")
    p.locator("#d-province").select_option(label="广东省")
    p.locator("#d-city").select_option(label="深圳市")
    p.get_by_role("button", name="Add region").click()
    p.locator("#d-regions").get_by_text("广东省深圳市 (440300)").wait_for()
    p.locator("#dealer-form").get_by_role("button", name="Save").click()
    p.locator("#dealer-list").get_by_role("cell", name="广东省深圳市").wait_for()

    # Its goods: serials 0-1 of the batch; an overlapping range is refused at its field.
    p.locator("#a-dealer").select_option(label="华南经销商")
    p.get_by_label("First serial (optional)").fill("0")
    p.get_by_label("Last serial (optional)").fill("1")
    p.get_by_role("button", name="Assign", exact=True).click()
    p.locator("#assignment-list").get_by_role("cell", name="0 \u2013 1").wait_for()
    p.get_by_label("First serial (optional)").fill("1")
    p.get_by_label("Last serial (optional)").fill("3")
    p.get_by_role("button", name="Assign", exact=True).click()
    p.get_by_text("Some of these serials are already assigned to a dealer.").wait_for()
    shoot_both(page, shoot, "dealers")

    # Codes 0 and 1 are scanned in Beijing (by IP address): diversion, approximate.
    for code in codes[:2]:
        scanner = events.Scanner(ip=BEIJING_IP, user_agent=WECHAT)
        events.record(merchant.pk, code, ScanSource.PAGE, "opened", scanner)
    events.drain_all()

    p.get_by_role("link", name="Diversion").first.click()
    p.get_by_role("heading", name="Diversion", exact=True).wait_for()
    totals = p.locator("#totals")
    row = totals.get_by_role("row").filter(has_text="北京市")
    row.get_by_text("2", exact=True).first.wait_for()
    p.get_by_role("button", name="By dealer").click()
    totals.get_by_role("row").filter(has_text="华南经销商").wait_for()
    p.locator("#events").get_by_role("cell", name="北京市 (approximate)").first.wait_for()
    assert p.locator("#events").get_by_role("row").count() == 3  # a header and two codes
    p.locator("#stats-by").select_option("DEALER")
    stats_row = p.locator("#stats").get_by_role("row").filter(has_text="华南经销商")
    stats_row.get_by_text("100.0%").wait_for()
    with p.expect_download() as download:
        p.get_by_role("button", name="Download CSV").click()
    text = download.value.path().read_text(encoding="utf-8-sig")
    assert text.splitlines()[1].split(",")[1:] == ["华南经销商", "2", "0", "0", "2", "1.0000"]
    shoot_both(page, shoot, "diversion")
