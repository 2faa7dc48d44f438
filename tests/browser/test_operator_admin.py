"""The operators' admin in Chinese, in a real browser (issue 24): the site header is the
platform's name, a consumer is found by the local number, their page has no staff
fields and links to the support page, which shows them masked.

``UPDATE_SCREENSHOTS=1`` writes ``docs/screenshots/admin-consumer-support-*.png``."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from accounts.models import Consent, User
from redemption.tests.helpers import new_consumer
from tests.browser.conftest import BrowserPage

pytestmark = pytest.mark.browser

PASSWORD = "operator-password-1234"


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_an_operator_finds_a_consumer_by_the_local_number_and_opens_support(
    size: str,
    committed_db: None,
    unique: Callable[[str], str],
    open_page: Callable[..., BrowserPage],
    shoot: Callable[[BrowserPage, str], object],
) -> None:
    operator = User.objects.create_superuser(f"{unique('op')}@platform.test", PASSWORD)
    consumer = new_consumer()
    assert consumer.phone is not None
    Consent.objects.create(user=consumer, document="privacy", version="2026-01", channel="phone")
    page = open_page(size, locale="zh-CN")
    page.allow_console(r"favicon\.ico")  # the admin has none
    p = page.page
    p.goto("/admin/")
    p.locator("#id_username").fill(operator.email)
    p.locator("#id_password").fill(PASSWORD)
    p.locator("input[type=submit]").click()
    p.get_by_role("link", name="积分平台运营后台").first.wait_for()

    p.goto("/admin/accounts/user/")
    p.locator("#searchbar").fill(consumer.phone.removeprefix("+86"))
    p.locator("#searchbar").press("Enter")
    p.locator("#result_list tr", has_text=consumer.masked_phone).locator("th a").click()
    assert p.locator("[name=groups]").count() == 0
    assert p.locator("[name=is_superuser]").count() == 0
    p.get_by_role("link", name="打开支持页面").click()
    p.get_by_role("heading", name="钱包：最近的积分变动").wait_for()  # noqa: RUF001
    assert consumer.masked_phone in p.content() and consumer.phone not in p.content()
    p.get_by_text("2026-01").wait_for()
    shoot(page, "admin-consumer-support")


def test_approving_a_merchant_asks_first_and_records_the_first_top_up(
    committed_db: None,
    unique: Callable[[str], str],
    open_page: Callable[..., BrowserPage],
    shoot: Callable[[BrowserPage, str], object],
) -> None:
    """In Chinese: the desk's action, its confirmation page with the first top-up, and
    the budget credited through the ledger."""
    from points import ledger
    from tenants.models import Merchant, MerchantStatus
    from tenants.onboarding import create_merchant

    operator = User.objects.create_superuser(f"{unique('op')}@platform.test", PASSWORD)
    merchant = create_merchant(slug=unique("plum"), name="梅花茶馆", status=MerchantStatus.PENDING)
    page = open_page("desktop", locale="zh-CN")
    page.allow_console(r"favicon\.ico")
    p = page.page
    p.goto("/admin/tenants/merchantapplication/")
    p.locator("#id_username").fill(operator.email)
    p.locator("#id_password").fill(PASSWORD)
    p.locator("input[type=submit]").click()
    p.get_by_role("heading", name="选择 商家入驻申请 来修改").wait_for()
    row = p.locator("#result_list tr", has_text=merchant.slug)
    row.get_by_role("checkbox").check()
    p.locator("select[name=action]").select_option("approve")
    p.get_by_role("button", name="执行").click()

    p.get_by_text("确定批准 1 个商户吗？").wait_for()  # noqa: RUF001
    assert Merchant.objects.get(pk=merchant.pk).status == MerchantStatus.PENDING
    p.get_by_label("首次充值金额（可选）").fill("800")  # noqa: RUF001
    p.get_by_label("付款流水号").fill(unique("wire"))
    shoot(page, "admin-approve-merchant")
    # Provisioning copies the template schema (migrated first, on a fresh database).
    p.get_by_role("button", name="是的，批准").click(no_wait_after=True)  # noqa: RUF001
    p.get_by_text("1 个商户已启用。").wait_for(timeout=120_000)
    p.get_by_text(f"{merchant.slug}：已为").wait_for()  # noqa: RUF001
    assert Merchant.objects.get(pk=merchant.pk).status == MerchantStatus.ACTIVE
    assert ledger.balance_of(ledger.merchant_budget(merchant.pk)) == 80_000
