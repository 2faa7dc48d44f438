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
    page = open_page("phone", locale="zh-CN")
    page.page.on("dialog", lambda dialog: dialog.accept())
    page.page.goto(f"/s/{codes[0]}")
    page.page.get_by_text("10 积分", exact=True).wait_for()
    sign_in(page, site, phone)
    sign_in_code = site.sms_code(phone)
    # The sign-in tries the claim at once (decision 0234): asked, nothing collected yet;
    # the next tap agrees and collects.
    page.page.get_by_text("参与即表示向该商家提供你的手机号").first.wait_for()
    consumer = User.objects.get(phone=phone)
    assert not MerchantConsent.objects.filter(user=consumer).exists()
    shoot(page, "merchant-consent")
    page.page.get_by_role("button", name="同意并领取").click()
    page.page.get_by_role("heading", name="您获得了 10 积分").wait_for()
    assert MerchantConsent.objects.get(user=consumer, merchant=merchant).withdrawn_at is None

    page.page.goto("/my-data")
    page.page.get_by_text("Claims Co").wait_for()
    shoot(page, "my-data")
    page.page.get_by_role("button", name="撤回授权").click()
    page.page.get_by_text("你尚未授权任何商家。").wait_for()
    assert MerchantConsent.objects.get(user=consumer).withdrawn_at is not None

    # A copy: a fresh code to the account's phone, then the zip. (A second code waits for
    # the resend interval, 1 s here: the sign-in's code may be less than that old.)
    time.sleep(1.1)
    page.page.get_by_role("button", name="发送验证码").click()
    code = next_code(site, phone, sign_in_code)
    page.page.get_by_label("验证码", exact=True).fill(code)
    page.page.get_by_role("button", name="获取我的个人信息副本").click()
    link = page.page.get_by_role("link", name="下载我的个人信息（zip）")  # noqa: RUF001
    link.wait_for()
    with page.page.expect_download() as download:
        link.click()
    archive = zipfile.ZipFile(io.BytesIO(Path(download.value.path()).read_bytes()))
    data = json.loads(archive.read("data.json"))
    assert [claim["code"] for claim in data["claims"]] == [codes[0]]

    # A deletion: another code; signed out, the date shown.
    time.sleep(1.1)
    page.page.get_by_role("button", name="发送验证码").click()
    second = next_code(site, phone, code)
    page.page.get_by_label("验证码", exact=True).fill(second)
    page.page.get_by_role("button", name="注销我的账户").click()
    page.page.get_by_text("你的账户将于").wait_for()
    assert ErasureRequest.objects.get(user=consumer).status == ErasureRequest.Status.PENDING
