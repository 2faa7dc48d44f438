# ruff: noqa: RUF001 (the Chinese texts under test have full-width punctuation, a times sign)
"""Labels that sell, in Chinese, in a real browser (issue 24, merchants).

An owner names a batch and its product, is told what it will cost before it is made
("将从预算中预留 10,000 积分"), picks a roll of 40 x 30 mm labels, sees the server's own
rendering of the first label change with the stock, uploads the brand's logo (a file
that is not an image is refused in Chinese; the logo shows beside the name in the
preview, can be removed and set again), exports the PDF and downloads it: one label a
page of 40 x 30 mm with the logo, each page rasterised at 203 dpi (a thermal printer's
resolution) decodes to its code's URL with zxing. Runs at phone and desktop size;
``UPDATE_SCREENSHOTS=1`` writes the campaign screen in Chinese with the preview open.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pypdfium2
import pypdfium2.raw
import pytest
import zxingcpp
from django.core.files.storage import default_storage
from django_tenants.utils import tenant_context

from campaigns.models import CampaignStatus, Code, CodeBatch
from campaigns.scan.codes import scan_url
from campaigns.scan.services import create_scan_campaign
from campaigns.services import set_status
from campaigns.tests.test_exports import decoy_logo
from tenants.models import Merchant
from tests.browser.conftest import BrowserPage
from tests.browser.test_console import Shoot, funded_merchant, shoot_both
from tests.fixtures.tenants import STAFF_PASSWORD, staff_user

pytestmark = pytest.mark.browser

SIZE = 6


def sign_in_chinese(page: BrowserPage, email: str) -> None:
    p = page.page
    p.goto("/console/sign-in/")
    p.locator("#email").fill(email)
    p.locator("#password").fill(STAFF_PASSWORD)
    p.get_by_role("button", name="登录").click()
    p.get_by_role("heading", name="概览").wait_for()


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_batch_with_name_and_sku_confirms_its_cost_and_prints_roll_labels_that_scan(
    committed_db: None,
    celery_worker: Any,
    unique: Callable[[str], str],
    open_page: Callable[..., BrowserPage],
    shoot: Shoot,
    size: str,
) -> None:
    owner = staff_user(f"{unique('owner')}@console.test")
    merchant = funded_merchant(unique, "莲花茶饮", owner)
    with tenant_context(merchant):
        campaign = create_scan_campaign(name="春茶瓶盖")
        set_status(merchant, campaign, CampaignStatus.ACTIVE)
    page = open_page(size, locale="zh-CN")
    p = page.page
    sign_in_chinese(page, str(owner.email))
    p.goto(f"/console/campaign/?id={campaign_global_id(merchant.pk, campaign.pk)}")
    p.get_by_role("heading", name="春茶瓶盖").wait_for()
    # The claims chart's days are short ("11/5"), its counts whole numbers.
    p.wait_for_function(
        "() => window.Chart?.getChart(document.querySelector('#claims-chart'))?.data.labels.length"
    )
    axis = p.evaluate(
        """() => {
          const c = window.Chart.getChart(document.querySelector('#claims-chart'));
          return { labels: c.data.labels, precision: c.options.scales.y.ticks.precision };
        }"""
    )
    assert len(axis["labels"]) == 30 and axis["precision"] == 0
    assert all(re.fullmatch(r"\d{1,2}/\d{1,2}", label) for label in axis["labels"]), axis

    p.get_by_label("码的数量").fill(str(SIZE))
    p.get_by_label("每个码的积分").fill("5")
    p.get_by_label("批次名称（可选）").fill("春季礼盒")
    p.get_by_label("商品编码 SKU（可选）").fill("TEA-500")
    # The cost is said as it is typed, and asked once more before the points are reserved.
    p.locator("#batch-cost").get_by_text(f"将从预算中预留 {SIZE * 5} 积分").wait_for()
    asked: list[str] = []

    def answer(dialog: Any) -> None:
        asked.append(dialog.message)
        (dialog.dismiss if len(asked) == 1 else dialog.accept)()

    p.on("dialog", answer)
    p.get_by_role("button", name="生成码").click()
    p.wait_for_timeout(300)
    with tenant_context(merchant):
        assert not CodeBatch.objects.exists()  # the first answer was "cancel"
    p.get_by_role("button", name="生成码").click()
    batch = p.locator(".batch").first
    batch.get_by_text(f"全部 {SIZE} 个码已生成。").wait_for(timeout=60_000)
    assert asked == [f"将从预算中预留 {SIZE * 5} 积分，用于 {SIZE} 个码。确定生成吗？"] * 2
    assert batch.locator(".batch-name").inner_text().startswith("春季礼盒")
    batch.get_by_text("商品编码 TEA-500").wait_for()

    # Labels: A4 first (the default), then a roll; the preview follows the choice.
    batch.get_by_role("button", name="PDF 标签").click()
    caption = batch.locator(".label-figure figcaption")
    caption.get_by_text(re.compile(r"每页 210 × 297 毫米，每页 24 个标签，共 1 页")).wait_for()
    a4_preview = batch.locator("img.label-preview").get_attribute("src")
    batch.get_by_label("每行标签数").fill("9")  # out of bounds: said in the caption
    caption.get_by_text("请选择 1 至 6 列、1 至 12 行。").wait_for()
    batch.get_by_label("每行标签数").fill("4")
    batch.get_by_label("标签规格").select_option("ROLL_40X30")
    caption.get_by_text(re.compile(r"每页 40 × 30 毫米，每页 1 个标签，共 6 页")).wait_for()
    assert not batch.locator(".label-grid").is_visible()  # a roll has no grid
    src = batch.locator("img.label-preview").get_attribute("src") or ""
    assert src.startswith("data:image/png;base64,") and src != a4_preview

    # The brand's logo (the owner may set it): checked by content, shown, removable.
    logo_input = batch.get_by_label("品牌名称旁的标志（可选：PNG 或 JPEG，不超过 512 KB）")
    status = batch.locator(".label-logo-field [role=status]")
    # The refusal is an HTTP 400 the browser logs; that one is expected.
    page.allow_console(r"status of 400 .*/merchant-logo/")
    logo_input.set_input_files(
        {"name": "logo.png", "mimeType": "image/png", "buffer": b"not a picture"}
    )
    status.get_by_text("品牌标志须为 PNG 或 JPEG 图片。").wait_for()
    logo = decoy_logo()
    logo_input.set_input_files({"name": "logo.png", "mimeType": "image/png", "buffer": logo})
    status.get_by_text("标志已保存：今后每张标签都会印上。").wait_for()
    assert batch.get_by_role("img", name="品牌标志").is_visible()
    with_logo = wait_for_new_preview(batch, src)
    batch.get_by_role("button", name="移除标志").click()
    status.get_by_text("标志已移除。").wait_for()
    assert not batch.get_by_role("img", name="品牌标志").is_visible()
    assert Merchant.objects.get(pk=merchant.pk).logo.name == ""
    wait_for_new_preview(batch, with_logo)
    logo_input.set_input_files({"name": "logo.png", "mimeType": "image/png", "buffer": logo})
    status.get_by_text("标志已保存：今后每张标签都会印上。").wait_for()
    stored = Merchant.objects.get(pk=merchant.pk).logo
    assert stored.name and stored.open("rb").read() == logo
    if size == "desktop":
        shoot_both(page, shoot, "campaign")
    batch.get_by_role("button", name="导出 PDF").click()
    link = batch.get_by_role("link", name=re.compile("下载 PDF"))
    link.wait_for(timeout=60_000)
    with p.expect_download() as info:
        link.click()
    data = Path(info.value.path()).read_bytes()
    pdf = pypdfium2.PdfDocument(io.BytesIO(data))
    with tenant_context(merchant):
        codes = list(Code.objects.order_by("serial").values_list("code", flat=True))
    assert len(pdf) == SIZE == len(codes)
    for index, code in enumerate(codes):
        pdf_page = pdf[index]
        assert [round(v / 72 * 25.4) for v in pdf_page.get_size()] == [40, 30]
        image = pdf_page.render(scale=203 / 72, grayscale=True).to_pil()
        assert [r.text for r in zxingcpp.read_barcodes(image)] == [scan_url(code)]
        text = re.sub(r"\s", "", pdf_page.get_textpage().get_text_range())
        assert "莲花茶饮" in text and "扫码领5积分" in text
        images = [o for o in pdf_page.get_objects() if o.type == pypdfium2.raw.FPDF_PAGEOBJ_IMAGE]
        assert len(images) == 1  # the logo, on every label
    pdf.close()
    default_storage.delete(stored.name)


def wait_for_new_preview(batch: Any, old: str) -> str:
    """The preview's image once it differs from ``old`` (it is re-rendered on a change)."""
    preview = batch.locator("img.label-preview")
    preview.page.wait_for_function(
        "([el, old]) => el.src && el.src !== old", arg=[preview.element_handle(), old]
    )
    return preview.get_attribute("src") or ""


def campaign_global_id(merchant_id: int, campaign_id: int) -> str:
    from graphql_relay import to_global_id

    return to_global_id("Campaign", f"{merchant_id}:{campaign_id}")


def test_consigning_with_no_mall_categories_says_what_is_missing(
    committed_db: None,
    unique: Callable[[str], str],
    open_page: Callable[..., BrowserPage],
) -> None:
    """Other tests leave categories in the shared database, so the API's answer to
    MallCategories is replaced by an empty list in the browser: what a new platform has."""
    owner = staff_user(f"{unique('owner')}@console.test")
    funded_merchant(unique, "莲花茶饮", owner)
    page = open_page("phone", locale="zh-CN")
    p = page.page

    def no_categories(route: Any) -> None:
        body = route.request.post_data_json or {}
        if body.get("operationName") != "MallCategories":
            route.continue_()
            return
        empty = {"edges": [], "pageInfo": {"hasNextPage": False, "endCursor": None}}
        route.fulfill(json={"data": {"mallCategories": empty}})

    p.route("**/merchant/graphql/", no_categories)
    sign_in_chinese(page, str(owner.email))
    p.get_by_role("link", name="商品与订单").first.click()
    notice = p.locator("#no-categories")
    notice.get_by_text(
        "商城还没有商品分类，暂时无法寄售商品。请联系平台运营添加分类后再来。"
    ).wait_for()
    assert p.locator("#consign button[type=submit]").is_disabled()
    assert "出了点问题" not in p.locator("body").inner_text()


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_campaign_list_searches_by_name_and_filters_by_status(
    committed_db: None,
    unique: Callable[[str], str],
    open_page: Callable[..., BrowserPage],
    shoot: Shoot,
    size: str,
) -> None:
    owner = staff_user(f"{unique('owner')}@console.test")
    merchant = funded_merchant(unique, "莲花茶饮", owner)
    with tenant_context(merchant):
        spring = create_scan_campaign(name="春茶瓶盖")
        set_status(merchant, spring, CampaignStatus.ACTIVE)
        create_scan_campaign(name="秋季礼盒")
    page = open_page(size, locale="zh-CN")
    p = page.page
    sign_in_chinese(page, str(owner.email))
    p.get_by_role("link", name="活动", exact=True).first.click()
    rows = p.locator("#scan-list tbody tr")
    p.get_by_role("link", name="秋季礼盒").wait_for()
    assert rows.count() == 2
    p.get_by_label("按名称搜索").fill("春茶")
    p.wait_for_function("() => document.querySelectorAll('#scan-list tbody tr').length === 1")
    assert rows.first.get_by_role("link").inner_text() == "春茶瓶盖"
    p.get_by_label("按名称搜索").fill("")
    p.wait_for_function("() => document.querySelectorAll('#scan-list tbody tr').length === 2")
    p.get_by_label("状态").select_option("DRAFT")
    p.wait_for_function("() => document.querySelectorAll('#scan-list tbody tr').length === 1")
    rows.first.get_by_role("link", name="秋季礼盒").wait_for()
    assert rows.count() == 1
    p.get_by_label("状态").select_option("")
    p.wait_for_function("() => document.querySelectorAll('#scan-list tbody tr').length === 2")
    if size == "desktop":
        shoot_both(page, shoot, "campaigns")
