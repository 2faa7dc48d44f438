"""The console's code import screen in a real browser, with a live server and a real worker.

An operator opens a scan campaign, follows its "import codes" link, uploads a file with
bad lines (refused whole, the report downloadable), then a good one (imported as a
batch); the same screen in Chinese. A JavaScript error on the page fails the test.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django_tenants.utils import tenant_context
from graphql_relay import to_global_id

from campaigns.models import CampaignStatus, CodeImport, ImportStatus
from campaigns.scan.services import create_scan_campaign
from campaigns.services import set_status
from tests.browser.conftest import BrowserPage, Site
from tests.browser.test_console import funded_merchant, sign_in
from tests.fixtures.tenants import staff_user

pytestmark = pytest.mark.browser


def _codes(count: int) -> list[str]:
    return [f"{secrets.randbelow(10**20):020d}" for _ in range(count)]


def test_an_operator_imports_a_printers_file_and_reads_the_report(
    committed_db: None,
    celery_worker: Any,
    unique: Callable[[str], str],
    open_page: Callable[..., BrowserPage],
    site: Site,
    tmp_path: Path,
) -> None:
    owner = staff_user(f"{unique('owner')}@console.test")
    merchant = funded_merchant(unique, "Printer Tea", owner)
    with tenant_context(merchant):
        campaign = create_scan_campaign(name="Printed caps")
        set_status(merchant, campaign, CampaignStatus.ACTIVE)
    page = open_page("desktop")
    p = page.page
    assert owner.email
    sign_in(page, owner.email)
    p.goto(f"/console/campaign/?id={to_global_id('Campaign', f'{merchant.pk}:{campaign.pk}')}")
    p.get_by_role("link", name="Import codes printed by someone else").click()
    p.get_by_role("heading", name="Import codes", exact=True).wait_for()
    p.get_by_text("No import yet.").wait_for()

    good = _codes(200)
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join([*good[:50], "SHORT", good[3], *good[50:60]]) + "\n")
    p.get_by_label("Points per code").fill("3")
    p.get_by_label("Print run name (optional)").fill("Run 1")
    p.get_by_label("File (CSV or XLSX)").set_input_files(str(bad))
    p.get_by_role("button", name="Import", exact=True).click()
    p.locator("li.batch[data-status=REFUSED]").wait_for(timeout=60_000)
    p.get_by_text("60 codes accepted, 2 lines refused").wait_for()
    with p.expect_download() as download:
        p.get_by_role("link", name="Download the refused lines (CSV)").click()
    report = Path(download.value.path()).read_text(encoding="utf-8-sig").splitlines()
    assert [line.split(",")[:2] for line in report[1:]] == [
        ["51", "MALFORMED"],
        ["52", "DUPLICATE_IN_FILE"],
    ]

    done = tmp_path / "good.csv"
    done.write_text("\n".join(good) + "\n")
    p.get_by_label("Points per code").fill("3")
    p.get_by_label("Print run name (optional)").fill("Run 2")
    p.get_by_label("File (CSV or XLSX)").set_input_files(str(done))
    p.get_by_role("button", name="Import", exact=True).click()
    p.get_by_text("Imported as a batch of 200 codes.").wait_for(timeout=60_000)
    with tenant_context(merchant):
        imported = CodeImport.objects.get(name="Run 2")
        assert imported.status == ImportStatus.IMPORTED
        assert imported.batch is not None and imported.batch.size == 200

    # The same screen in Chinese.
    p.goto(p.url + "&lang=zh-hans")
    p.get_by_role("heading", name="导入码包").wait_for()
    p.get_by_text("已导入").first.wait_for()
