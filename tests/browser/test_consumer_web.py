# ruff: noqa: RUF001 (the Chinese texts under test have full-width punctuation)
"""The consumer web in a real browser, at phone and desktop size, in Chinese (the
consumer's language: zh-Hans first; the pictures show what its users see, issue 24).

The journey of issue 7: open ``/s/<code>`` → sign in by phone → points credited →
answer a questionnaire (with a conditional question) → redeem a product with a new
address → see the order; a second claim of the same code is refused. Every screen is
photographed (``UPDATE_SCREENSHOTS=1`` writes ``docs/screenshots/``), and a JavaScript
or console error on any page fails the test (``tests/browser/conftest.py``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django_tenants.utils import tenant_context

from accounts.models import User
from campaigns.models import CampaignStatus
from campaigns.questionnaires.links import questionnaire_link
from campaigns.questionnaires.services import create_questionnaire_campaign
from campaigns.services import set_status
from points import ledger, services
from redemption.models import Category, Order
from redemption.tests.helpers import listed_product
from tests.browser.conftest import BrowserPage, Site
from tests.fixtures.tenants import merchant_with_codes

pytestmark = pytest.mark.browser

QUESTIONS: list[dict[str, Any]] = [
    {
        "id": "visit",
        "type": "single_choice",
        "text": "最近去过我们的门店吗？",
        "required": True,
        "options": [{"id": "yes", "label": "去过"}, {"id": "no", "label": "没去过"}],
    },
    {
        "id": "which",
        "type": "short_text",
        "text": "去的是哪家门店？",
        "required": True,
        "maxLength": 40,
        "showIf": {"question": "visit", "option": "yes"},
    },
    {"id": "stars", "type": "rating", "text": "给我们的茶打个分", "required": True},
]


def _questionnaire(merchant: Any, unique: Callable[[str], str]) -> str:
    services.fund_with_money(
        merchant, amount_minor=10_000, currency="CNY", rate="100", payment_reference=unique("pay")
    )
    with tenant_context(merchant):
        campaign = create_questionnaire_campaign(
            name="茶饮问卷",
            description="三个小问题。",
            questions=QUESTIONS,
            points_per_response=50,
            max_rewarded_responses=10,
        )
        set_status(merchant, campaign, CampaignStatus.ACTIVE)
    return questionnaire_link(merchant.pk, campaign.link_key)


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_scan_sign_in_answer_redeem_and_see_the_order(
    size: str,
    committed_db: None,
    unique: Callable[[str], str],
    new_phone: Callable[[], str],
    site: Site,
    open_page: Callable[..., BrowserPage],
    shoot: Callable[[BrowserPage, str], object],
) -> None:
    merchant, codes = merchant_with_codes(unique, size=2, points=500)
    consumer_journey(merchant, codes[0], 500, size, unique, new_phone(), site, open_page, shoot)


def consumer_journey(
    merchant: Any,
    code: str,
    code_points: int,
    size: str,
    unique: Callable[[str], str],
    phone: str,
    site: Site,
    open_page: Callable[..., BrowserPage],
    shoot: Callable[[BrowserPage, str], object] | None,
) -> None:
    """Scan ``code`` (worth ``code_points``), answer, redeem, see the order; then a
    second claim of the code is refused. Also the merchant console's journey's end."""
    snap = shoot or (lambda _page, _name: None)
    link = _questionnaire(merchant, unique)
    category = Category.objects.create(slug=unique("cat"), name="茶叶")
    title = f"安溪乌龙 {unique('tea')}"
    balance = code_points + 50  # the code, then the questionnaire
    price = balance // 2
    listed_product(category, title=title, price=price, stock=5, description="250 克，福建安溪。")

    # The printed code's page: sign in by phone, collect.
    browser = open_page(size, locale="zh-CN")
    page = browser.page
    page.goto(f"/s/{code}")
    page.get_by_text(f"{code_points} 积分", exact=True).wait_for()
    snap(browser, "scan")
    page.get_by_label("手机号码").fill(phone.removeprefix("+86"))
    page.get_by_role("button", name="发送验证码").click()
    page.get_by_label("6 位验证码").wait_for()
    snap(browser, "sign-in")
    page.get_by_label("6 位验证码").fill(site.sms_code(phone))
    page.get_by_role("button", name="登录", exact=True).click()
    # Signing in on the code's page collects at once: no second tap (decision 0234).
    page.get_by_role("heading", name=f"您获得了 {code_points} 积分").wait_for()
    page.get_by_text(f"您的钱包：{code_points} 积分").wait_for()
    snap(browser, "scan-earned")
    consumer = User.objects.get(phone=phone)
    assert ledger.balance_of(ledger.wallet(consumer.pk)) == code_points

    # The questionnaire: the conditional question appears with its answer; a missing
    # answer is marked at its question before anything is sent.
    page.goto(f"/q/{link}")
    page.get_by_role("heading", name="茶饮问卷").wait_for()
    assert page.get_by_text("去的是哪家门店？").count() == 0
    page.get_by_label("去过", exact=True).check()
    page.get_by_text("去的是哪家门店？").first.wait_for()
    page.get_by_role("button", name="提交并获得 50 积分").click()
    page.get_by_text("请回答此问题。").first.wait_for()
    snap(browser, "questionnaire")
    page.get_by_role("textbox", name="去的是哪家门店？").fill("南京路店")
    page.locator("fieldset[data-id=stars] label", has_text="4").click()
    page.get_by_role("button", name="提交并获得 50 积分").click()
    page.get_by_role("heading", name="谢谢！您获得了 50 积分").wait_for()
    page.get_by_text(f"您的钱包：{balance} 积分").wait_for()

    # The wallet: balance and history.
    page.goto("/")
    page.get_by_text(f"{balance} 积分", exact=True).wait_for()
    page.get_by_text("获得").first.wait_for()
    snap(browser, "wallet")

    # The mall: search, the product, redeem with a new address.
    page.goto(f"/mall?search={title.split()[-1]}")
    page.get_by_role("link", name=re.compile(re.escape(title))).wait_for()
    snap(browser, "mall")
    page.get_by_role("link", name=re.compile(re.escape(title))).click()
    page.get_by_role("heading", name=title).wait_for()
    page.get_by_text("250 克，福建安溪。").wait_for()
    snap(browser, "product")
    page.get_by_role("link", name="兑换", exact=True).click()
    page.get_by_role("button", name=f"使用 {price} 积分兑换").wait_for()
    page.get_by_role("button", name=f"使用 {price} 积分兑换").click()
    page.get_by_text("请选择收货地址。").first.wait_for()  # inline, nothing sent
    page.get_by_role("button", name="新增收货地址").click()
    page.get_by_label("收货人", exact=True).fill("王小明")
    page.get_by_label("收货人手机号码").fill("13800138000")
    page.get_by_label("省份").select_option(label="上海市")
    page.get_by_label("城市").select_option(label="上海市")
    page.get_by_label("区县").select_option(label="浦东新区")
    page.get_by_label("街道和门牌号").fill("世纪大道 1 号")
    page.get_by_role("button", name="保存地址").click()
    page.get_by_label(re.compile("王小明")).wait_for()
    snap(browser, "redeem")
    page.get_by_role("button", name=f"使用 {price} 积分兑换").click()
    page.get_by_role("heading", name="兑换成功！订单已提交。").wait_for()
    page.get_by_text(f"剩余积分：{balance - price}").wait_for()
    assert Order.objects.filter(consumer=consumer, product__title=title).count() == 1

    # The orders list shows it; the address book has the new address.
    page.get_by_role("link", name="查看我的订单").click()
    page.get_by_role("heading", name=title).wait_for()
    page.get_by_text("已下单", exact=True).first.wait_for()
    snap(browser, "orders")
    page.goto("/addresses")
    page.get_by_text(re.compile("王小明")).first.wait_for()
    snap(browser, "addresses")

    # A second claim of the same code, by someone else: already used.
    other = open_page(size, locale="zh-CN")
    other.page.goto(f"/s/{code}")
    other.page.get_by_text("该积分码已被使用。").first.wait_for()
    assert other.page.get_by_role("button", name=re.compile("领取")).count() == 0


def test_the_camera_page_offers_the_typed_code(
    committed_db: None,
    unique: Callable[[str], str],
    open_page: Callable[..., BrowserPage],
    shoot: Callable[[BrowserPage, str], object],
) -> None:
    _merchant, codes = merchant_with_codes(unique, size=1, points=10)
    for size in ("phone", "desktop"):
        browser = open_page(size, locale="zh-CN")
        browser.page.goto("/scan")
        browser.page.get_by_role("button", name="打开摄像头").wait_for()
        shoot(browser, "camera")
    browser.page.get_by_label("输入二维码下方印刷的积分码").fill(codes[0].lower())
    browser.page.get_by_role("button", name="查询积分码").click()
    browser.page.wait_for_url(re.compile(rf"/s/{codes[0]}"))
    browser.page.get_by_text("10 积分", exact=True).wait_for()


def test_pages_are_chinese_by_default(
    committed_db: None, open_page: Callable[..., BrowserPage], site: Site
) -> None:
    browser = open_page("phone", locale="zh-CN")
    browser.page.goto("/")
    browser.page.get_by_role("heading", name="我的钱包").wait_for()
    browser.page.get_by_label("手机号码").wait_for()
    assert browser.page.locator("html").get_attribute("lang") == "zh-hans"
    browser.page.goto("/mall")
    browser.page.get_by_role("heading", name="积分商城").wait_for()


def _qr_video(path: Path, text: str) -> Path:
    """A still Y4M video of a QR code, for Chromium's fake camera."""
    import qrcode

    matrix = qrcode.QRCode(border=4, box_size=1)
    matrix.add_data(text)
    matrix.make(fit=True)
    modules = matrix.get_matrix()
    width, height, scale = 640, 480, 8
    size = len(modules) * scale
    left, top = (width - size) // 2, (height - size) // 2
    luma = bytearray([235]) * (width * height)
    for y, row in enumerate(modules):
        for x, dark in enumerate(row):
            if dark:
                for dy in range(scale):
                    start = (top + y * scale + dy) * width + left + x * scale
                    luma[start : start + scale] = bytes([16]) * scale
    chroma = bytes([128]) * (width * height // 4)
    frame = b"FRAME\n" + bytes(luma) + chroma + chroma
    header = f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode()
    path.write_bytes(header + frame * 10)
    return path


def test_the_camera_reads_a_qr_code_and_opens_its_page(
    committed_db: None, unique: Callable[[str], str], site: Site, browser: Any, tmp_path: Path
) -> None:
    """Chromium's fake camera shows a printed code's QR: the page opens /s/<code>."""
    from tests.browser.conftest import CHROMIUM

    _merchant, codes = merchant_with_codes(unique, size=1, points=10)
    video = _qr_video(tmp_path / "qr.y4m", f"https://example.test/s/{codes[0]}")
    errors: list[str] = []
    # A browser of its own (same Playwright): the camera flags are per launch.
    camera_browser = browser.browser_type.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    try:
        context = camera_browser.new_context(
            base_url=site.url, locale="en", viewport={"width": 360, "height": 640}
        )
        context.grant_permissions(["camera"])
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto("/scan")
        page.get_by_role("button", name="Start the camera").click()
        # The code's own page, on this site (not the host inside the QR code).
        page.wait_for_url(re.compile(rf"{re.escape(site.url)}/s/{codes[0]}$"), timeout=20_000)
        page.get_by_text("10 points", exact=True).wait_for()
    finally:
        camera_browser.close()
    assert not errors
