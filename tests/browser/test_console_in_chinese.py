"""The console's integration, scans and application screens in Chinese, as a Chinese
merchant sees them at 360 x 640 and 1280 x 800 (issue 24, "Proof"; decision 0325).

Their behaviour is tested in English elsewhere (``test_console_integrations.py``,
``test_scan_events.py``, ``test_console.py``); here each screen is brought to the state
its picture shows, through the same forms, and ``UPDATE_SCREENSHOTS=1`` writes it:
an API key's secret shown once, the audit log, a webhook endpoint's signing secret, the
suspicious codes and an application under review.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from tenants.models import Merchant
from tests.browser.conftest import BrowserPage, Site
from tests.browser.test_console import Shoot, funded_merchant, shoot_both
from tests.browser.test_console_labels import sign_in_chinese
from tests.browser.test_scan_events import scanned_far_apart
from tests.fixtures.tenants import merchant_with_codes, staff_user

pytestmark = pytest.mark.browser


def test_api_key_audit_and_webhook_screens_in_chinese(
    committed_db: None,
    unique: Callable[[str], str],
    open_page: Callable[..., BrowserPage],
    shoot: Shoot,
    site: Site,
) -> None:
    owner = staff_user(f"{unique('owner')}@console.test")
    funded_merchant(unique, "松风茶行", owner)
    page = open_page("desktop", locale="zh-CN")
    p = page.page
    sign_in_chinese(page, str(owner.email))

    p.goto("/console/api-keys/")
    p.locator("#k-name").fill("ERP 系统")
    p.get_by_role("checkbox", name=re.compile(r"^ledger:read")).check()
    p.locator("#create-key [type=submit]").click()
    secret = p.locator("#new-secret .secret-value")
    secret.wait_for()
    assert secret.input_value().startswith("lk_live_")
    p.locator("#new-secret").get_by_text("请立即复制").wait_for()
    shoot_both(page, shoot, "api-keys")

    p.goto("/console/audit/")
    p.locator("#events tbody tr").filter(has_text="apiKeyCreate").wait_for()
    shoot_both(page, shoot, "audit")

    p.goto("/console/webhooks/")
    # (The test server allows http to 127.0.0.1, as WEBHOOK_ALLOW_HTTP_HOSTS does with DEBUG.)
    p.locator("#w-url").fill(f"{site.url}/hooks")
    p.locator("#w-description").fill("订单系统")
    p.locator("#event-choices input[type=checkbox]").first.check()
    p.locator("#create-endpoint [type=submit]").click()
    secret = p.locator("#new-secret .secret-value")
    secret.wait_for()
    assert secret.input_value().startswith("whsec_")
    p.locator(".endpoint", has_text="/hooks").wait_for()
    shoot_both(page, shoot, "webhooks")


def test_suspicious_codes_screen_in_chinese(
    committed_db: None,
    unique: Callable[[str], str],
    open_page: Callable[..., BrowserPage],
    shoot: Shoot,
) -> None:
    owner = staff_user(f"{unique('owner')}@console.test")
    merchant, (copied, _genuine) = merchant_with_codes(unique, size=2, points=5, owner=owner)
    scanned_far_apart(merchant.pk, copied)
    page = open_page("desktop", locale="zh-CN")
    sign_in_chinese(page, str(owner.email))
    page.page.goto("/console/scans/")
    row = page.page.get_by_role("row").filter(has_text=copied)
    row.get_by_text(re.compile(r"1,9\d\d")).wait_for()
    shoot_both(page, shoot, "scans")


def test_an_application_under_review_in_chinese(
    committed_db: None,
    unique: Callable[[str], str],
    open_page: Callable[..., BrowserPage],
    shoot: Shoot,
) -> None:
    slug, email, password = unique("plum"), f"{unique('li.mei')}@plum.test", "Plum-blossom-1987"
    page = open_page("desktop", locale="zh-CN")
    p = page.page
    p.goto("/console/sign-up/")
    p.locator("#name").fill("梅花茶馆")
    p.locator("#slug").fill(slug)
    p.locator("#ownerName").fill("李梅")
    p.locator("#contactEmail").fill(email)
    p.locator("#password").fill(password)
    p.locator("#sign-up [type=submit]").click()
    p.locator("#applied").wait_for()
    assert Merchant.objects.get(slug=slug).status == "pending"
    p.goto("/console/sign-in/")
    p.locator("#email").fill(email)
    p.locator("#password").fill(password)
    p.get_by_role("button", name="登录").click()
    p.get_by_role("heading", name="您的申请正在审核中").wait_for()
    p.locator("#role-badge").get_by_text("所有者").wait_for()
    shoot_both(page, shoot, "application")
