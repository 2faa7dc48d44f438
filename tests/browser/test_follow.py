"""Follow campaigns for real: our page in WeChat's browser (a WeChat user agent), OAuth to
the fake WeChat over HTTP, the QR code shown, the fake's person long-pressing it, and
WeChat's events pushed, signed and encrypted, to the live server's message URL.

The live server answers on its own (Celery eager in it); each scenario checks the
ledger afterwards. The scenarios are those of issue 21: follow from our page → credited
once; an existing follower's SCAN pays nothing; unfollow/refollow pays once; a forged
signature refused; a replay ignored; a poster scan by a new person → passive reply →
sign-in → credited.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest
from celery import Celery
from django_tenants.utils import tenant_context

from accounts import policies
from accounts.models import Consent, User, WeChatIdentity
from campaigns.follow import services as follow
from campaigns.models import Campaign, CampaignStatus, FollowCampaign
from campaigns.questionnaires.links import questionnaire_link
from campaigns.services import set_status
from config.celery import app
from devtools.fake_wechat import FakeWeChat
from devtools.fake_wechat import component as fake_component
from devtools.fake_wechat import follow as fake_follow
from devtools.fake_wechat import oauth as fake_oauth
from points import ledger, services
from tenants.models import Merchant, OfficialAccount
from tenants.tasks import schema_probe
from tests.browser.conftest import BrowserPage, Site
from tests.browser.test_console import funded_merchant, sign_in
from tests.browser.test_wechat_signin import WECHAT_UA, ledger_is_clean
from tests.fixtures.tenants import staff_user
from tests.fixtures.wechat import PLATFORM_APP_ID
from tests.test_wechat_component import authorised, fresh_merchant, register_account

pytestmark = pytest.mark.browser

POINTS = 25


@dataclass
class Shop:
    merchant: Merchant
    app_id: str
    link: str
    campaign_id: int


@pytest.fixture
def shop(
    committed_db: None,
    wechat_component: FakeWeChat,
    site: Site,
    celery_worker: Celery,
    unique: Callable[[str], str],
) -> Shop:
    """A merchant with a verified service account and a running follow campaign, whose
    account's events go to the live server."""
    merchant, membership = fresh_merchant(unique)
    services.fund_with_money(
        merchant, amount_minor=100_000, currency="CNY", rate="100", payment_reference=unique("p")
    )
    app_id = register_account(wechat_component, unique, name="兰亭茶服务号")
    authorised(wechat_component, membership, app_id)
    with tenant_context(merchant):
        campaign = follow.create_follow_campaign(
            merchant,
            name="关注公众号 注册会员领积分",
            points_per_follow=POINTS,
            max_rewarded_follows=10,
        )
        set_status(merchant, campaign, CampaignStatus.ACTIVE)
    fake_component.component(
        wechat_component
    ).account_message_url = f"{site.url}/wechat/component/$APPID$/messages"
    return Shop(merchant, app_id, questionnaire_link(merchant.pk, campaign.link_key), campaign.pk)


def in_wechat(open_page: Callable[..., BrowserPage], fake: FakeWeChat, person: str) -> BrowserPage:
    page = open_page("phone", locale="en", user_agent=WECHAT_UA)
    page.page.context.add_cookies(
        [{"name": fake_oauth.USER_COOKIE, "value": person, "url": fake.url}]
    )
    return page


def returning_consumer(person: str, phone: str) -> User:
    """Someone who signed in with us inside WeChat before (our app knows their OpenID),
    having agreed then to the current user agreement and privacy policy: without that
    consent the sign-in asks for it again (decision 0183) instead of signing them in."""
    consumer, _created = User.objects.get_or_create_consumer(phone)
    policies.record_consent(consumer, Consent.Channel.WECHAT)
    WeChatIdentity.objects.create(
        user=consumer, app_id=PLATFORM_APP_ID, openid=fake_oauth.openid(person, PLATFORM_APP_ID)
    )
    return consumer


def balance(user: User) -> int:
    """The balance once the worker has done every task sent before (one worker, solo
    pool: a probe sent now comes back after them)."""
    assert schema_probe.apply_async(queue=app.conf.task_default_queue).get(timeout=60)
    return ledger.balance_of(ledger.wallet(user.pk))


def code_on_page(page: BrowserPage, shop: Shop) -> str:
    """Open our page, tap "Follow and collect points": the ticket of the code shown."""
    p = page.page
    p.goto(f"/follow/{shop.link}")
    p.get_by_role("button", name="Follow and collect points").click()
    # The first time: WeChat's silent OAuth under the merchant's app, and back.
    image = p.locator("#qr")
    try:
        p.locator("#code").wait_for(state="visible", timeout=30_000)
    except Exception as exc:
        raise AssertionError(
            f"no code shown: {p.locator('#alert').inner_text()!r} {p.url}"
        ) from exc
    src = image.get_attribute("src") or ""
    return parse_qs(urlsplit(src).query)["ticket"][0]


def test_follow_from_our_page_is_credited_once_and_refollow_pays_nothing(
    shop: Shop,
    wechat_component: FakeWeChat,
    open_page: Callable[..., BrowserPage],
    unique: Callable[[str], str],
    new_phone: Callable[[], str],
    shoot: Callable[[BrowserPage, str], object],
) -> None:
    person = unique("person")
    consumer = returning_consumer(person, new_phone())
    page = in_wechat(open_page, wechat_component, person)
    ticket = code_on_page(page, shop)
    page.page.get_by_text("Long-press the code").wait_for()
    shoot(page, "follow-code")
    assert WeChatIdentity.objects.filter(user=consumer, app_id=shop.app_id).exists()

    sent = fake_follow.scan(wechat_component, ticket, person)
    assert (sent.status, sent.answer) == (200, "success")
    assert balance(consumer) == POINTS
    for _ in range(20):  # WeChat's retries, and more
        assert fake_component.deliver(sent).answer == "success"
    assert balance(consumer) == POINTS

    # Unfollow, then follow again from the same code: nothing more.
    wechat_component.advance(2)
    fake_follow.unfollow(wechat_component, shop.app_id, person)
    wechat_component.advance(2)
    assert fake_follow.scan(wechat_component, ticket, person).answer == "success"
    assert balance(consumer) == POINTS
    # The page says so when asked again.
    page.page.goto(f"/follow/{shop.link}")
    page.page.get_by_role("button", name="Follow and collect points").click()
    page.page.get_by_text("already earned this campaign's points").wait_for()
    page.allow_console("Failed to load resource")
    ledger_is_clean()


def test_an_existing_followers_scan_pays_nothing(
    shop: Shop,
    wechat_component: FakeWeChat,
    open_page: Callable[..., BrowserPage],
    unique: Callable[[str], str],
    new_phone: Callable[[], str],
) -> None:
    person = unique("follower")
    consumer = returning_consumer(person, new_phone())
    fake_follow.follow_plainly(wechat_component, shop.app_id, person)
    page = in_wechat(open_page, wechat_component, person)
    ticket = code_on_page(page, shop)
    sent = fake_follow.scan(wechat_component, ticket, person)
    assert sent.answer == "success"
    assert balance(consumer) == 0
    ledger_is_clean()


def test_a_forged_signature_is_refused_and_a_replay_ignored(
    shop: Shop,
    wechat_component: FakeWeChat,
    open_page: Callable[..., BrowserPage],
    unique: Callable[[str], str],
    new_phone: Callable[[], str],
) -> None:
    person = unique("person")
    consumer = returning_consumer(person, new_phone())
    page = in_wechat(open_page, wechat_component, person)
    ticket = code_on_page(page, shop)
    platform = fake_component.component(wechat_component)
    real_token = platform.token
    platform.token = "forged-token"
    assert fake_follow.scan(wechat_component, ticket, person).status == 403
    platform.token = real_token
    assert balance(consumer) == 0
    fake_follow.unfollow(wechat_component, shop.app_id, person)
    wechat_component.advance(1)
    good = fake_follow.scan(wechat_component, ticket, person)
    assert good.answer == "success" and balance(consumer) == POINTS
    # The same delivery replayed at once: answered, ignored.
    assert fake_component.deliver(good).answer == "success"
    assert balance(consumer) == POINTS
    ledger_is_clean()


def test_a_poster_scan_by_a_new_person_gets_a_reply_that_signs_in_and_credits(
    shop: Shop,
    wechat_component: FakeWeChat,
    open_page: Callable[..., BrowserPage],
    unique: Callable[[str], str],
    shoot: Callable[[BrowserPage, str], object],
) -> None:
    with tenant_context(shop.merchant):
        poster = follow.poster_code(shop.merchant, Campaign.objects.get(pk=shop.campaign_id))
    person = unique("stranger")
    sent = fake_follow.scan(wechat_component, poster, person)
    reply = fake_follow.read_reply(wechat_component, sent)
    link = "http" + reply["Content"].split("http", 1)[1].split()[0]
    assert "/f/" in link

    # They tap the link in the chat: WeChat's browser, never seen by us before.
    page = in_wechat(open_page, wechat_component, person)
    p = page.page
    p.goto(urlsplit(link).path)
    consent = p.get_by_role("button", name="Agree and continue")
    consent.wait_for(timeout=30_000)
    consent.click()  # agrees to the documents: the account is made
    p.locator("#result").wait_for(state="visible", timeout=30_000)
    p.get_by_text(f"{POINTS} points collected").wait_for()
    shoot(page, "follow-reply")
    identity = WeChatIdentity.objects.get(app_id=shop.app_id)
    assert identity.openid == fake_component.openid(shop.app_id, person)
    assert balance(identity.user) == POINTS
    # The link again pays nothing more.
    again = in_wechat(open_page, wechat_component, person)
    again.page.goto(urlsplit(link).path)
    again.page.get_by_text("already earned this campaign's points").wait_for(timeout=30_000)
    assert balance(identity.user) == POINTS
    ledger_is_clean()


def test_the_merchant_creates_and_activates_a_follow_campaign_in_the_console(
    committed_db: None,
    unique: Callable[[str], str],
    open_page: Callable[..., BrowserPage],
    shoot: Callable[[BrowserPage, str], object],
    site: Site,
) -> None:
    owner = staff_user(f"{unique('owner')}@console.test")
    merchant = funded_merchant(unique, "Orchid Tea", owner)
    # A verified service account, as the WeChat screen would have recorded it.
    OfficialAccount.objects.create(
        merchant=merchant,
        app_id="wx" + unique("svc").replace("-", "")[:16],
        refresh_token="kept-server-side",
        name="兰亭茶服务号",
        service_type=OfficialAccount.SERVICE_ACCOUNT,
        verify_type=0,
    )
    funded = ledger.balance_of(ledger.merchant_budget(merchant.pk))
    page = open_page("desktop")
    p = page.page
    sign_in(page, owner.get_username())
    p.goto("/console/campaigns/")
    p.get_by_role("link", name="Points for following your WeChat official account").click()
    p.get_by_role("heading", name="Follow campaigns", exact=True).wait_for()
    p.get_by_text("The campaign's terms are your responsibility").wait_for()
    p.get_by_text("No follow campaign yet.").wait_for()
    form = p.locator("#follow-form")
    form.get_by_label("Points per new follower").fill("20")
    form.get_by_label("Followers rewarded at most").fill("50")
    form.get_by_role("button", name="Create").click()
    card = p.locator(".follow-campaign")
    card.get_by_text("20 points per new follower, for the first 50").wait_for()
    card.get_by_role("button", name="Activate").click()
    card.get_by_role("button", name="Pause").wait_for()
    card.get_by_text("New followers from your codes: 0").wait_for()
    shoot(page, "console-follow")
    with tenant_context(merchant):
        follow_row = FollowCampaign.objects.select_related("campaign").get()
        assert follow_row.reserved and follow_row.campaign.status == CampaignStatus.ACTIVE
    # 20 x 50 reserved from the budget the merchant was funded with.
    assert ledger.balance_of(ledger.merchant_budget(merchant.pk)) == funded - 1000
