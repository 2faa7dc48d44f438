"""Analytics downloads and the operators' analytics page in a real browser.

- The merchant console's dashboard: "Download CSV" is a link to a signed URL, and
  clicking it downloads the merchant's analytics as a file.
- The Django admin: an operator signs in, follows "Platform analytics and points
  liability" from the index, sees the charts and tables and downloads the CSV.

``UPDATE_SCREENSHOTS=1`` writes ``docs/screenshots/admin-platform-analytics-desktop.png``,
the page in Chinese.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import User
from analytics import queries
from analytics.models import RollupState
from analytics.rollup import rollup, today
from campaigns.models import ScanFailure
from core.db import connection
from points import services
from points.models import Lot, Transaction
from points.tests.test_liability import backdate
from tests.browser.conftest import BrowserPage
from tests.browser.test_console import funded_merchant, sign_in
from tests.fixtures.tenants import STAFF_PASSWORD, staff_user

pytestmark = pytest.mark.browser


def _read_csv(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"))))


def test_the_dashboards_csv_button_downloads_the_merchants_analytics(
    committed_db: None, unique: Callable[[str], str], open_page: Callable[..., BrowserPage]
) -> None:
    owner = staff_user(f"{unique('owner')}@console.test")
    merchant = funded_merchant(unique, "Lotus Tea", owner)
    page = open_page("desktop")
    p = page.page
    sign_in(page, owner.get_username())
    button = p.get_by_role("link", name="Download CSV")
    button.wait_for()
    assert "/reports/analytics/" in (button.get_attribute("href") or "")
    with p.expect_download() as info:
        button.click()
    download = info.value
    assert download.suggested_filename.startswith(f"analytics-{merchant.slug}-")
    assert download.suggested_filename.endswith(".csv")
    rows = _read_csv(Path(download.path()))
    assert rows[0] == ["day", *queries.DAY_FIELDS]
    assert len([r for r in rows[1:] if r and r[0][:2] == "20"]) >= 30  # the dashboard's days


@pytest.fixture
def rolled_up_history(
    committed_db: None, unique: Callable[[str], str], new_phone: Callable[[], str]
) -> Iterator[None]:
    """Three weeks of claims, answers and redemptions at two merchants, committed and
    rolled up. The rollup's state is put back afterwards: other tests roll up 2021
    and read how far the rollup has come."""
    state = RollupState.objects.first()
    owner = staff_user(f"{unique('owner')}@reports.test")
    shops = [funded_merchant(unique, name, owner) for name in ("Lotus Tea", "Plum Bakery")]
    for shop in shops:
        services.reserve(shop, "spring", 50_000, idempotency_key=unique("r"))
    consumers = [User.objects.get_or_create_consumer(new_phone())[0] for _ in range(12)]
    zone = ZoneInfo(settings.TIME_ZONE)
    first = today() - timedelta(days=27)

    def at(offset: int, txn: Transaction) -> None:
        when = datetime.combine(first + timedelta(days=offset), time(11), tzinfo=zone)
        with transaction.atomic():  # backdate steps around the append-only trigger locally
            backdate(txn, when)

    for i, consumer in enumerate(consumers):
        shop = shops[i % 3 == 0]  # a third at the bakery, the rest at the tea shop
        for offset in range(i % 4, 28, 3 + i % 5):
            metadata = {"code": unique("code")} if offset % 2 == 0 else None
            award = services.award(
                shop, "spring", consumer, 20, idempotency_key=unique("a"), metadata=metadata
            )
            at(offset, award)
            if i % 4 == 0 and offset % 7 == 3:
                other = shops[1 - (i % 3 == 0)]
                key = unique("b")
                at(offset, services.award(other, "spring", consumer, 10, idempotency_key=key))
        if i % 3 != 2:
            at(min(27, 5 + i * 2), services.spend(consumer, 15, idempotency_key=unique("s")))
    # Some points about to expire, for the 30/60/90-day figures.
    soon = Lot.objects.filter(consumer__in=consumers, remaining__gt=0).order_by("pk")[:3]
    for days, lot in zip((12, 40, 75), soon, strict=False):
        Lot.objects.filter(pk=lot.pk).update(expires_at=timezone.now() + timedelta(days=days))
    with tenant_context(shops[0]):
        ScanFailure.objects.create(day=first + timedelta(days=4), reason="UNKNOWN_CODE", count=9)
    connection.set_schema_to_public()
    rollup(first, today())
    try:
        yield
    finally:
        if state is None:
            RollupState.objects.all().delete()
        else:
            state.save()


def test_an_operator_opens_platform_analytics_from_the_admin_and_downloads_the_csv(
    rolled_up_history: None,
    unique: Callable[[str], str],
    open_page: Callable[..., BrowserPage],
    shoot: Callable[[BrowserPage, str], object],
) -> None:
    operator = User.objects.create_superuser(f"{unique('op')}@platform.test", STAFF_PASSWORD)
    page = open_page("desktop")
    page.allow_console(r"favicon\.ico")  # the admin has none
    p = page.page
    p.goto("/admin/platform-analytics/")  # not signed in: the admin's login, then back
    p.locator("#id_username").fill(operator.email)
    p.locator("#id_password").fill(STAFF_PASSWORD)
    p.get_by_role("button", name="Log in").click()
    p.get_by_role("heading", name="Platform analytics and points liability").wait_for()
    p.goto("/admin/")
    p.get_by_role("link", name="Platform analytics and points liability").click()
    p.get_by_role("heading", name="Points liability", exact=True).wait_for()
    # Chart.js drew every chart (a canvas it sized), and the tables are there.
    for chart in ("activity-chart", "new-chart", "funnel-chart", "liability-chart"):
        assert p.locator(f"#{chart}").evaluate("c => window.Chart.getChart(c) !== undefined")
    assert int(p.locator("#reached").inner_text()) >= 12
    assert p.locator("#merchants-table tbody tr").count() >= 2
    shoot(page, "admin-platform-analytics")

    with p.expect_download() as info:
        p.get_by_role("link", name="Download analytics CSV").click()
    download = info.value
    assert download.suggested_filename.startswith("platform-analytics-")
    rows = _read_csv(Path(download.path()))
    assert rows[0] == ["day", *queries.DAY_FIELDS]
    with p.expect_download() as info:
        p.get_by_role("link", name="Download liability CSV").click()
    assert info.value.suggested_filename.startswith("points-liability-")

    # The same page as a Chinese operator sees it: the screenshot in docs/.
    chinese = open_page("desktop", locale="zh-CN")
    chinese.allow_console(r"favicon\.ico")
    z = chinese.page
    z.goto("/admin/platform-analytics/")
    z.locator("#id_username").fill(operator.email)
    z.locator("#id_password").fill(STAFF_PASSWORD)
    z.locator("input[type=submit]").click()
    for chart in ("activity-chart", "new-chart", "funnel-chart", "liability-chart"):
        z.wait_for_function(
            "id => window.Chart && window.Chart.getChart(document.getElementById(id))", arg=chart
        )
    assert z.locator("html").get_attribute("lang") == "zh-hans"
    shoot(chinese, "admin-platform-analytics")
