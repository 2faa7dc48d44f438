# ruff: noqa: RUF001 (the Chinese texts under test have full-width punctuation)
"""The console's share link and consumer-page preview, in Chinese, in a real browser
(issue 24; decisions 0323 and 0324).

A questionnaire's page shows its share link (a random key, not the campaign's id) in a
field with a Copy button; 预览消费者页面 opens the consumer page in a new tab with the
preview banner, the questions answerable (conditions follow the choices) and the
submit button off; the page sends no mutation. A scan campaign's preview shows the
offer and sends nothing to the API at all (no lookup, no scan event, no claim).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

import pytest
from django_tenants.utils import tenant_context

from campaigns.models import CampaignStatus, ScanEvent
from campaigns.questionnaires.links import questionnaire_link
from campaigns.questionnaires.services import create_questionnaire_campaign
from campaigns.scan.generation import generate_batch
from campaigns.scan.services import create_batch, create_scan_campaign
from campaigns.services import set_status
from tenants.models import Merchant
from tests.browser.conftest import BrowserPage
from tests.browser.test_console import QUESTIONS_ZH, Shoot, funded_merchant
from tests.browser.test_console_labels import campaign_global_id, sign_in_chinese
from tests.fixtures.tenants import staff_user

pytestmark = pytest.mark.browser


def api_requests(context: Any) -> list[str]:
    """The bodies of the requests the context's pages send to the consumer API (the
    console's own go to /merchant/graphql/), from now on."""
    sent: list[str] = []

    def seen(request: Any) -> None:
        if urlparse(request.url).path == "/graphql/":
            sent.append(request.post_data or "")

    context.on("request", seen)
    return sent


def signed_in_owner(
    unique: Callable[[str], str], open_page: Callable[..., BrowserPage], name: str
) -> tuple[Merchant, BrowserPage]:
    """A funded merchant named ``name`` and its owner's console, in Chinese at 1280 x 800."""
    owner = staff_user(f"{unique('owner')}@console.test")
    merchant = funded_merchant(unique, name, owner)
    page = open_page("desktop", locale="zh-CN")
    sign_in_chinese(page, str(owner.email))
    return merchant, page


def test_questionnaire_share_link_copy_and_preview(
    committed_db: None, unique: Callable[[str], str], open_page: Callable[..., BrowserPage]
) -> None:
    merchant, page = signed_in_owner(unique, open_page, "梅花茶馆")
    with tenant_context(merchant):
        campaign = create_questionnaire_campaign(
            name="口味调查",
            description="三个小问题，答完得 20 积分。",
            questions=QUESTIONS_ZH,
            points_per_response=20,
            max_rewarded_responses=100,
        )
        set_status(merchant, campaign, CampaignStatus.ACTIVE)
    link = questionnaire_link(merchant.pk, campaign.link_key)
    p = page.page
    p.goto("/console/campaigns/")
    p.get_by_role("link", name="口味调查").click()
    p.get_by_role("heading", name="口味调查").wait_for()
    share = p.get_by_label("分享链接")
    assert share.input_value().endswith(f"/q/{link}")
    assert f"-{campaign.pk}" not in share.input_value().rsplit("/", 1)[1]
    p.get_by_role("button", name="复制").click()
    p.locator("#share-copied").filter(has_text=re.compile(".+")).wait_for()

    sent = api_requests(p.context)
    with p.context.expect_page() as opened:
        p.get_by_role("link", name="预览消费者页面").click()
    preview = opened.value
    preview.get_by_role("heading", name="口味调查").wait_for()
    preview.get_by_role("note").filter(has_text="预览").wait_for()
    asked = preview.get_by_role("group", name=QUESTIONS_ZH[0]["text"])
    asked.get_by_label("去过", exact=True).check()
    preview.get_by_role("group", name=QUESTIONS_ZH[1]["text"]).wait_for()
    assert preview.locator("#submit").is_disabled()
    preview.locator("#answers").evaluate("form => form.requestSubmit()")
    preview.wait_for_timeout(300)
    assert sent and not any("mutation" in body for body in sent), sent
    preview.close()


def test_scan_campaign_preview_sends_nothing(
    committed_db: None,
    unique: Callable[[str], str],
    open_page: Callable[..., BrowserPage],
    shoot: Shoot,
) -> None:
    merchant, page = signed_in_owner(unique, open_page, "莲花茶饮")
    with tenant_context(merchant):
        campaign = create_scan_campaign(name="春茶瓶盖", description="扫码领积分")
        set_status(merchant, campaign, CampaignStatus.ACTIVE)
        batch = create_batch(merchant, campaign, size=2, points_per_code=5)
        generate_batch(batch.pk)
    p = page.page
    p.goto(f"/console/campaign/?id={campaign_global_id(merchant.pk, campaign.pk)}")
    p.get_by_role("heading", name="春茶瓶盖").wait_for()
    sent = api_requests(p.context)
    with p.context.expect_page() as opened:
        p.get_by_role("link", name="预览消费者页面").click()
    preview = opened.value
    preview.get_by_role("heading", name="春茶瓶盖").wait_for()
    preview.locator("#offer-points").filter(has_text="5").wait_for()
    preview.get_by_role("note").filter(has_text="预览").wait_for()
    assert not preview.locator("#claim").is_visible()
    assert not preview.locator("#signin").is_visible()
    preview.wait_for_timeout(300)
    assert sent == []
    # Shown at a phone's size, as a consumer would see it.
    preview.set_viewport_size({"width": 360, "height": 640})
    phone = BrowserPage(page=preview, size="phone", locale="zh-CN")
    shoot(phone, "preview-scan")
    with tenant_context(merchant):
        assert not ScanEvent.objects.exists()
    preview.close()
