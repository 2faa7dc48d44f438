"""The dashboard's figures say when they were counted, and an operator counts them again.

In Chinese, against a live server and a real Celery worker: "刷新" queues a rollup of
the merchant's own figures (analytics.refresh); the page polls until they say a time,
"统计于 HH:MM". A viewer is not offered the button.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import expect

from analytics.models import MerchantRollup, RollupState
from analytics.refresh import REFRESH_EVERY_SECONDS
from analytics.rollup import today
from core import ratelimit
from tenants.models import Membership, Role
from tests.browser.conftest import BrowserPage
from tests.browser.test_console import Shoot, funded_merchant, shoot_both
from tests.browser.test_console_labels import sign_in_chinese
from tests.fixtures.tenants import staff_user

pytestmark = pytest.mark.browser


def test_refresh_counts_the_merchants_figures_again_and_says_when(
    committed_db: None,
    celery_worker: Any,
    unique: Callable[[str], str],
    open_page: Callable[..., BrowserPage],
    shoot: Shoot,
) -> None:
    # As on a running platform, the periodic rollup (beat, every 15 minutes) has run:
    # the refresh then rebuilds from yesterday, not from the first event this test
    # database ever held (years back, for the suite's dated ledgers: minutes under load).
    RollupState.objects.all().delete()
    RollupState.objects.create(
        rolled_to=today() - timedelta(days=1), updated_at=timezone.now() - timedelta(hours=1)
    )
    owner = staff_user(f"{unique('owner')}@console.test")
    merchant = funded_merchant(unique, "莲花茶饮", owner)
    page = open_page("desktop", locale="zh-CN")
    p = page.page
    sign_in_chinese(page, owner.get_username())
    p.locator("#growth-summary").get_by_text(re.compile("扫码")).wait_for()
    # Merchant ids start again in each test's fresh tables: a refresh counted for an
    # earlier test's merchant of the same id (5 minutes' limit) is not this one's.
    cache.delete(ratelimit._bucket(f"analytics-refresh:{merchant.pk}", REFRESH_EVERY_SECONDS)[0])
    rolled_at = p.locator("#rolled-at")
    before = rolled_at.inner_text()  # the periodic run's time, an hour ago
    p.get_by_role("button", name="刷新").click()
    expect(rolled_at).not_to_have_text(before, timeout=30_000)  # queued...
    expect(rolled_at).to_have_text(re.compile(r"^统计于 \d\d:\d\d$"), timeout=150_000)
    assert rolled_at.inner_text() != before
    assert MerchantRollup.objects.filter(merchant=merchant).exists()
    shoot_both(page, shoot, "dashboard")

    viewer = staff_user(f"{unique('viewer')}@console.test")
    Membership.objects.create(merchant=merchant, user=viewer, role=Role.VIEWER)
    other = open_page("phone", locale="zh-CN")
    sign_in_chinese(other, viewer.get_username())
    other.page.locator("#growth-summary").get_by_text(re.compile("扫码")).wait_for()
    assert not other.page.get_by_role("button", name="刷新").is_visible()
    RollupState.objects.all().delete()
