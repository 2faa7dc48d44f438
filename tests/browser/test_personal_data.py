"""The personal-data screens in a real browser, against a server that asks each merchant's
consent (``MERCHANT_CONSENT_REQUIRED=1``, as production): the consent prompt on the scan
page, withdrawing it, a copy of one's data (built by a real Celery worker) and a deletion
on ``/my-data``."""

from __future__ import annotations

import io
import json
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from accounts.models import User
from devtools.fake_wechat import FakeWeChat
from privacy.models import ErasureRequest, MerchantConsent
from tests.browser.conftest import BrowserPage, Site
from tests.browser.test_scan_page import sign_in
from tests.fixtures.processes import child_env, free_port, running, wait_for_http
from tests.fixtures.tenants import merchant_with_codes
from tests.fixtures.wechat import site_settings

pytestmark = [pytest.mark.browser, pytest.mark.celery_worker]


@pytest.fixture(scope="module")
def site(
    django_db_setup: None,
    tmp_path_factory: pytest.TempPathFactory,
    fake_wechat_server: FakeWeChat,
) -> Iterator[Site]:
    """This module's own live server: the consent on, codes resendable at once."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("live-server-pipl") / "server.log"
    env = child_env(
        SMS_BACKEND="accounts.sms.ConsoleSmsBackend",
        PUBLIC_BASE_URL=url,
        PYTHONUNBUFFERED="1",
        MERCHANT_CONSENT_REQUIRED="1",
        OTP_RESEND_INTERVAL_SECONDS="1",
        **site_settings(fake_wechat_server),
    )
    command = [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
    with running(command, env=env, log=log, stop_timeout=10) as server:
        wait_for_http(f"{url}/static/frontend/api.js", server, log, timeout=60)
        yield Site(url=url, log=log)


def next_code(site: Site, phone: str, previous: str) -> str:
    """The code texted after ``previous`` (the log keeps every code)."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        code = site.sms_code(phone)
        if code != previous:
            return code
        time.sleep(0.2)
    raise AssertionError(f"no new code; log tail: {site.log.read_text()[-1500:]}")


def test_consent_prompt_withdrawal_copy_and_deletion(
    celery_worker: object,
    committed_db: None,
    unique: Callable[[str], str],
    new_phone: Callable[[], str],
    site: Site,
    open_page: Callable[..., BrowserPage],
    shoot: Callable[[BrowserPage, str], object],
) -> None:
    merchant, codes = merchant_with_codes(unique, size=2, points=10)
    phone = new_phone()
    page = open_page("phone")
    page.page.on("dialog", lambda dialog: dialog.accept())
    page.page.goto(f"/s/{codes[0]}")
    page.page.get_by_text("10 points", exact=True).wait_for()
    sign_in(page, site, phone)
    sign_in_code = site.sms_code(phone)
    # The sign-in tries the claim at once (decision 0234): asked, nothing collected yet;
    # the next tap agrees and collects.
    page.page.get_by_text("Taking part shares your masked phone number").first.wait_for()
    consumer = User.objects.get(phone=phone)
    assert not MerchantConsent.objects.filter(user=consumer).exists()
    shoot(page, "merchant-consent")
    page.page.get_by_role("button", name="Agree and collect").click()
    page.page.get_by_role("heading", name="You earned 10 points").wait_for()
    assert MerchantConsent.objects.get(user=consumer, merchant=merchant).withdrawn_at is None

    page.page.goto("/my-data")
    page.page.get_by_text("Claims Co").wait_for()
    shoot(page, "my-data")
    page.page.get_by_role("button", name="Stop sharing").click()
    page.page.get_by_text("You share your data with no merchant.").wait_for()
    assert MerchantConsent.objects.get(user=consumer).withdrawn_at is not None

    # A copy: a fresh code to the account's phone, then the zip. (A second code waits for
    # the resend interval, 1 s here: the sign-in's code may be less than that old.)
    time.sleep(1.1)
    page.page.get_by_role("button", name="Send me a code").click()
    code = next_code(site, phone, sign_in_code)
    page.page.get_by_label("One-time code").fill(code)
    page.page.get_by_role("button", name="Get a copy of my data").click()
    link = page.page.get_by_role("link", name="Download my data (zip)")
    link.wait_for()
    with page.page.expect_download() as download:
        link.click()
    archive = zipfile.ZipFile(io.BytesIO(Path(download.value.path()).read_bytes()))
    data = json.loads(archive.read("data.json"))
    assert [claim["code"] for claim in data["claims"]] == [codes[0]]

    # A deletion: another code; signed out, the date shown.
    time.sleep(1.1)
    page.page.get_by_role("button", name="Send me a code").click()
    second = next_code(site, phone, code)
    page.page.get_by_label("One-time code").fill(second)
    page.page.get_by_role("button", name="Delete my account").click()
    page.page.get_by_text("Your account will be deleted on").wait_for()
    assert ErasureRequest.objects.get(user=consumer).status == ErasureRequest.Status.PENDING
