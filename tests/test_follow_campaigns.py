"""Follow campaigns against the fake WeChat, over HTTP both ways (issue 21).

The fake's people long-press our codes and follow; WeChat's events reach this Django
through ``django_http`` signed and encrypted as WeChat sends them; Celery runs eagerly
(the worker's wiring is ``campaigns/tests/test_task_wiring.py``'s business). Data is
committed, so each test uses a merchant of its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.cache import cache
from django_tenants.utils import tenant_context

from accounts import merge as merging
from accounts.models import User, WeChatIdentity
from campaigns.error_codes import FollowErrorCode
from campaigns.follow import services as follow
from campaigns.models import Campaign, CampaignStatus, Follow, FollowCampaign
from campaigns.services import set_status
from core.errors import DomainError
from devtools.fake_wechat import FakeWeChat
from devtools.fake_wechat import component as fake_component
from devtools.fake_wechat import follow as fake_follow
from points import ledger, services
from points.audit import audit
from tenants import wechat as official_accounts
from tenants.error_codes import OfficialAccountErrorCode
from tenants.models import AuditEvent, Membership, Merchant, Role
from tests.fixtures.api import Api, access_token
from tests.fixtures.tenants import staff_user
from tests.test_wechat_component import (
    authorised,
    consumer_returns,
    fresh_merchant,
    register_account,
)
from webhooks.models import EventType, WebhookDelivery, WebhookEndpoint

# Eager whatever ran before: the shared ``celery_worker`` (session-scoped) leaves the app
# non-eager, and the credit would go to the worker after the balance was read.
pytestmark = pytest.mark.usefixtures("committed_db", "eager")

POINTS = 30


@dataclass
class Shop:
    merchant: Merchant
    app_id: str
    campaign: Campaign


def open_shop(fake: FakeWeChat, unique: Callable[[str], str], cap: int = 5, **account: Any) -> Shop:
    merchant, membership = fresh_merchant(unique)
    services.fund_with_money(
        merchant, amount_minor=100_000, currency="CNY", rate="100", payment_reference=unique("p")
    )
    app_id = register_account(fake, unique, **account)
    authorised(fake, membership, app_id)
    with tenant_context(merchant):
        campaign = follow.create_follow_campaign(
            merchant,
            name="关注有礼",
            points_per_follow=POINTS,
            max_rewarded_follows=cap,
        )
        set_status(merchant, campaign, CampaignStatus.ACTIVE)
    return Shop(merchant, app_id, campaign)


def known_consumer(fake: FakeWeChat, shop: Shop, person: str, new_phone: Callable[[], str]) -> User:
    """A signed-in consumer whose OpenID under the merchant's app we learnt (silent OAuth)."""
    consumer, _created = User.objects.get_or_create_consumer(new_phone())
    fake_component.set_person(fake, person)
    back = consumer_returns(official_accounts.merchant_openid_url(consumer, shop.merchant, "/"))
    official_accounts.link_merchant_openid(consumer, back["state"], back["code"])
    return consumer


def balance(user: User) -> int:
    return ledger.balance_of(ledger.wallet(user.pk))


def code_for(shop: Shop, consumer: User) -> str:
    with tenant_context(shop.merchant):
        return follow.follow_code(shop.merchant, consumer, shop.campaign.pk).ticket


def follows(shop: Shop) -> list[Follow]:
    with tenant_context(shop.merchant):
        return list(Follow.objects.filter(campaign=shop.campaign))


# --- The consumer's own code -----------------------------------------------------


def test_follow_from_our_code_is_credited_once_even_delivered_twenty_times(
    wechat_component: FakeWeChat, unique: Callable[[str], str], new_phone: Callable[[], str]
) -> None:
    shop = open_shop(wechat_component, unique)
    person = unique("person")
    consumer = known_consumer(wechat_component, shop, person, new_phone)
    sent = fake_follow.scan(wechat_component, code_for(shop, consumer), person)
    assert (sent.status, sent.answer) == (200, "success")
    assert balance(consumer) == POINTS
    for _ in range(20):
        again = fake_component.deliver(sent)
        assert (again.status, again.answer) == (200, "success")
    # Even with the dedup keys gone (a Redis flush), the follow row pays once.
    cache.clear()
    assert fake_component.deliver(sent).status == 200
    assert balance(consumer) == POINTS
    [row] = follows(shop)
    assert row.consumer_id == consumer.pk and row.points == POINTS and row.credited_at
    assert audit() == []


def test_an_existing_followers_scan_pays_nothing(
    wechat_component: FakeWeChat, unique: Callable[[str], str], new_phone: Callable[[], str]
) -> None:
    shop = open_shop(wechat_component, unique)
    person = unique("person")
    consumer = known_consumer(wechat_component, shop, person, new_phone)
    fake_follow.follow_plainly(wechat_component, shop.app_id, person)
    sent = fake_follow.scan(wechat_component, code_for(shop, consumer), person)
    assert (sent.status, sent.answer) == (200, "success")
    assert "<Event><![CDATA[SCAN]]>" in _plain(wechat_component, sent)
    assert balance(consumer) == 0
    assert follows(shop) == []


def test_unfollow_and_follow_again_pays_once_and_counts_the_unfollow(
    wechat_component: FakeWeChat, unique: Callable[[str], str], new_phone: Callable[[], str]
) -> None:
    shop = open_shop(wechat_component, unique)
    person = unique("person")
    consumer = known_consumer(wechat_component, shop, person, new_phone)
    fake_follow.scan(wechat_component, code_for(shop, consumer), person)
    wechat_component.advance(2)  # another CreateTime: not a duplicate, a new event
    assert fake_follow.unfollow(wechat_component, shop.app_id, person).answer == "success"
    wechat_component.advance(2)
    with pytest.raises(DomainError) as already:
        code_for(shop, consumer)
    assert already.value.code == FollowErrorCode.ALREADY_FOLLOWED
    # An old code of theirs, long-pressed again: a new subscribe, paying nothing.
    with tenant_context(shop.merchant):
        ticket = shop.campaign.follow_codes.get().ticket
    fake_follow.scan(wechat_component, ticket, person)
    assert balance(consumer) == POINTS
    with tenant_context(shop.merchant):
        stats = follow.stats(shop.campaign)
    assert (stats.new_followers, stats.credited, stats.unfollowed_after) == (1, 1, 1)


def test_an_expired_code_does_nothing_and_a_fresh_one_is_made(
    wechat_component: FakeWeChat, unique: Callable[[str], str], new_phone: Callable[[], str]
) -> None:
    shop = open_shop(wechat_component, unique)
    person = unique("person")
    consumer = known_consumer(wechat_component, shop, person, new_phone)
    ticket = code_for(shop, consumer)
    assert code_for(shop, consumer) == ticket  # asked again: the same code
    wechat_component.advance(follow.CODE_SECONDS + 1)
    with pytest.raises(fake_follow.QrExpired):
        fake_follow.scan(wechat_component, ticket, person)
    with tenant_context(shop.merchant):
        # Our side moves on with the real clock; the row is made to look old.
        shop.campaign.follow_codes.update(expires_at=shop.campaign.created_at)
    fresh = code_for(shop, consumer)
    assert fresh != ticket
    assert balance(consumer) == 0


def test_a_consumer_without_an_openid_under_the_merchants_app_is_sent_to_oauth_first(
    wechat_component: FakeWeChat, unique: Callable[[str], str], new_phone: Callable[[], str]
) -> None:
    shop = open_shop(wechat_component, unique)
    consumer, _created = User.objects.get_or_create_consumer(new_phone())
    with pytest.raises(DomainError) as needed:
        code_for(shop, consumer)
    assert needed.value.code == FollowErrorCode.MERCHANT_OPENID_REQUIRED


# --- Refusals on the message URL --------------------------------------------------


def _plain(fake: FakeWeChat, sent: fake_component.Push) -> str:
    from core.wechat import component as wechat

    query = {k: v[0] for k, v in parse_qs(urlsplit(sent.url).query).items()}
    fields = wechat.decrypt(sent.body, query["msg_signature"], query["timestamp"], query["nonce"])
    return "".join(f"<{k}><![CDATA[{v}]]>" for k, v in fields.items())


def test_a_forged_signature_is_refused_and_pays_nothing(
    wechat_component: FakeWeChat, unique: Callable[[str], str], new_phone: Callable[[], str]
) -> None:
    shop = open_shop(wechat_component, unique)
    person = unique("person")
    consumer = known_consumer(wechat_component, shop, person, new_phone)
    ticket = code_for(shop, consumer)
    wechat_component.area("component")["component"].token = "someone-elses-token"
    sent = fake_follow.scan(wechat_component, ticket, person)
    assert sent.status == 403
    # The body altered under a good signature: refused too.
    wechat_component.area("component")["component"].token = "component-check-token"
    fake_follow.unfollow(wechat_component, shop.app_id, person)
    good = fake_follow.scan(wechat_component, ticket, person)
    tampered = fake_component.Push(
        good.url, good.body.replace(b"<Encrypt><![CDATA[", b"<Encrypt><![CDATA[A")
    )
    assert fake_component.deliver(tampered).status == 403
    assert balance(consumer) == POINTS  # only the good delivery paid


def test_a_delivery_replayed_outside_the_window_is_refused(
    wechat_component: FakeWeChat, unique: Callable[[str], str], new_phone: Callable[[], str]
) -> None:
    shop = open_shop(wechat_component, unique)
    person = unique("person")
    consumer = known_consumer(wechat_component, shop, person, new_phone)
    ticket = code_for(shop, consumer)
    # A delivery signed ten minutes ago (recorded and played back): refused.
    wechat_component.advance(-600)
    stale = fake_follow.scan(wechat_component, ticket, person)
    assert stale.status == 403
    assert balance(consumer) == 0
    wechat_component.advance(600)
    fake_follow.unfollow(wechat_component, shop.app_id, person)
    assert fake_follow.scan(wechat_component, ticket, person).answer == "success"
    assert balance(consumer) == POINTS
    assert int(time.time()) - 600 < int(wechat_component.now())


# --- The poster and the passive reply ----------------------------------------------


def test_a_poster_scan_by_a_new_person_gets_a_link_that_pays_once_signed_in(
    wechat_component: FakeWeChat,
    unique: Callable[[str], str],
    new_phone: Callable[[], str],
    consumer_api: Api,
) -> None:
    shop = open_shop(wechat_component, unique)
    with tenant_context(shop.merchant):
        poster = follow.poster_code(shop.merchant, shop.campaign)
        assert follow.poster_code(shop.merchant, shop.campaign) == poster  # made once
    person = unique("stranger")
    sent = fake_follow.scan(wechat_component, poster, person)
    assert sent.status == 200
    reply = fake_follow.read_reply(wechat_component, sent)
    assert reply["MsgType"] == "text"
    assert reply["ToUserName"] == fake_component.openid(shop.app_id, person)
    link = reply["Content"].split("http", 1)[1]
    link = "http" + link.split()[0]
    assert "/f/" in link and "积分" in reply["Content"]
    token = link.rsplit("/f/", 1)[1]
    [pending] = follows(shop)
    assert pending.consumer_id is None and pending.credited_at is None

    consumer, _created = User.objects.get_or_create_consumer(new_phone())
    mine = access_token(consumer)
    first_answer = consumer_api.op("ClaimFollowReward", {"token": token}, token=mine)
    assert "errors" not in first_answer, first_answer
    first = first_answer["data"]
    assert first["claimFollowReward"]["errors"][0]["code"] == "MERCHANT_OPENID_REQUIRED"
    # The page runs the silent OAuth under the merchant's app, as that person.
    fake_component.set_person(wechat_component, person)
    started = consumer_api.op(
        "MerchantOpenidLinkStart",
        {"merchant": shop.merchant.slug, "next": f"/f/{token}"},
        token=mine,
    )["data"]["merchantOpenidLinkStart"]
    back = consumer_returns(started["url"])
    consumer_api.op(
        "MerchantOpenidLinkComplete", {"state": back["state"], "code": back["code"]}, token=mine
    )
    paid = consumer_api.op("ClaimFollowReward", {"token": token}, token=mine)["data"]
    assert paid["claimFollowReward"]["errors"] == []
    assert paid["claimFollowReward"]["points"] == POINTS
    assert balance(consumer) == POINTS
    again = consumer_api.op("ClaimFollowReward", {"token": token}, token=mine)["data"]
    assert again["claimFollowReward"]["errors"][0]["code"] == "ALREADY_FOLLOWED"
    # A forwarded link pays no one else: another consumer's OpenID is not the follower's.
    other, _created = User.objects.get_or_create_consumer(new_phone())
    WeChatIdentity.objects.create(user=other, app_id=shop.app_id, openid="o-someone-else")
    stolen = consumer_api.op("ClaimFollowReward", {"token": token}, token=access_token(other))
    assert stolen["data"]["claimFollowReward"]["errors"][0]["code"] == "FOLLOW_LINK_INVALID"
    forged = consumer_api.op("ClaimFollowReward", {"token": token[:-2] + "xx"}, token=mine)
    assert forged["data"]["claimFollowReward"]["errors"][0]["code"] == "FOLLOW_LINK_INVALID"
    assert balance(other) == 0
    assert audit() == []


def test_a_known_person_scanning_the_poster_is_paid_at_once(
    wechat_component: FakeWeChat, unique: Callable[[str], str], new_phone: Callable[[], str]
) -> None:
    shop = open_shop(wechat_component, unique)
    person = unique("person")
    consumer = known_consumer(wechat_component, shop, person, new_phone)
    with tenant_context(shop.merchant):
        poster = follow.poster_code(shop.merchant, shop.campaign)
    sent = fake_follow.scan(wechat_component, poster, person)
    assert sent.answer == "success"
    assert balance(consumer) == POINTS


# --- Funding ----------------------------------------------------------------------


def test_the_campaign_closes_itself_at_the_cap_and_returns_the_rest_when_ended(
    wechat_component: FakeWeChat, unique: Callable[[str], str], new_phone: Callable[[], str]
) -> None:
    shop = open_shop(wechat_component, unique, cap=2)
    paid = []
    for n in range(3):
        person = unique(f"person{n}")
        consumer = known_consumer(wechat_component, shop, person, new_phone)
        try:
            ticket = code_for(shop, consumer)
        except DomainError as refused:
            assert refused.code == FollowErrorCode.FOLLOW_BUDGET_EXHAUSTED
            continue
        fake_follow.scan(wechat_component, ticket, person)
        paid.append(balance(consumer))
    assert paid == [POINTS, POINTS]
    with tenant_context(shop.merchant):
        shop.campaign.refresh_from_db()
        assert shop.campaign.status == CampaignStatus.ENDED
        assert FollowCampaign.objects.get(campaign=shop.campaign).exhausted_at is not None
    assert audit() == []


def test_ending_returns_the_unused_reserve(
    wechat_component: FakeWeChat, unique: Callable[[str], str], new_phone: Callable[[], str]
) -> None:
    shop = open_shop(wechat_component, unique, cap=4)
    person = unique("person")
    consumer = known_consumer(wechat_component, shop, person, new_phone)
    fake_follow.scan(wechat_component, code_for(shop, consumer), person)
    budget = ledger.balance_of(ledger.merchant_budget(shop.merchant.pk))
    with tenant_context(shop.merchant):
        set_status(shop.merchant, shop.campaign, CampaignStatus.ENDED)
        assert FollowCampaign.objects.get(campaign=shop.campaign).released_points == 3 * POINTS
    assert ledger.balance_of(ledger.merchant_budget(shop.merchant.pk)) == budget + 3 * POINTS
    assert audit() == []


def test_only_a_verified_service_account_may_run_one(
    wechat_component: FakeWeChat, unique: Callable[[str], str]
) -> None:
    merchant, membership = fresh_merchant(unique)
    app_id = register_account(wechat_component, unique, kind="subscription")
    authorised(wechat_component, membership, app_id)
    with tenant_context(merchant), pytest.raises(DomainError) as refused:
        follow.create_follow_campaign(
            merchant, name="关注有礼", points_per_follow=5, max_rewarded_follows=5
        )
    assert refused.value.code == OfficialAccountErrorCode.OFFICIAL_ACCOUNT_NOT_VERIFIED_SERVICE


def test_a_credit_records_the_follow_credited_webhook_event(
    wechat_component: FakeWeChat, unique: Callable[[str], str], new_phone: Callable[[], str]
) -> None:
    shop = open_shop(wechat_component, unique)
    WebhookEndpoint.objects.create(
        merchant=shop.merchant,
        url="https://hooks.example/follow",
        secret="s" * 40,
        event_types=[EventType.FOLLOW_CREDITED],
    )
    cache.clear()  # the endpoints' cache
    person = unique("person")
    consumer = known_consumer(wechat_component, shop, person, new_phone)
    fake_follow.scan(wechat_component, code_for(shop, consumer), person)
    [delivery] = WebhookDelivery.objects.filter(
        endpoint__merchant=shop.merchant, event_type=EventType.FOLLOW_CREDITED
    )
    data = delivery.payload["data"]
    assert data["points"] == POINTS and data["source"] == "CODE"
    assert data["campaign"]["name"] == "关注有礼"


# --- The merchant API -------------------------------------------------------------


def test_the_merchant_api_creates_runs_and_shows_a_follow_campaign(
    wechat_component: FakeWeChat,
    unique: Callable[[str], str],
    new_phone: Callable[[], str],
    merchant_api: Api,
) -> None:
    merchant, membership = fresh_merchant(unique)
    services.fund_with_money(
        merchant, amount_minor=100_000, currency="CNY", rate="100", payment_reference=unique("p")
    )
    owner = access_token(membership.user)
    viewer = staff_user(f"{unique('viewer')}@wx.test")
    Membership.objects.create(merchant=merchant, user=viewer, role=Role.VIEWER)
    variables = {
        "name": "关注公众号 注册会员领积分",
        "pointsPerFollow": 7,
        "maxRewardedFollows": 3,
    }

    # Not authorised yet: said plainly.
    none_yet = merchant_api.op(
        "CreateFollowCampaign", variables, token=owner, merchant=merchant.slug
    )["data"]["createFollowCampaign"]
    assert none_yet["errors"][0]["code"] == "OFFICIAL_ACCOUNT_NOT_AUTHORIZED"
    app_id = register_account(wechat_component, unique)
    authorised(wechat_component, membership, app_id)
    # A viewer, nobody, or a member of another merchant: refused, nothing made.
    other, other_membership = fresh_merchant(unique)
    for who, slug, code in (
        (access_token(viewer), merchant.slug, "PERMISSION_DENIED"),
        (None, merchant.slug, "UNAUTHENTICATED"),
        (access_token(other_membership.user), merchant.slug, "MERCHANT_NOT_FOUND"),
    ):
        answer = merchant_api.op("CreateFollowCampaign", variables, token=who, merchant=slug)
        errors = (answer["data"] or {}).get("createFollowCampaign") or {}
        codes = [e["code"] for e in errors.get("errors", [])] or [
            e["extensions"]["code"] for e in answer.get("errors", [])
        ]
        assert codes == [code], answer
    with tenant_context(merchant):
        assert not FollowCampaign.objects.exists()

    made = merchant_api.op("CreateFollowCampaign", variables, token=owner, merchant=merchant.slug)
    made = made["data"]["createFollowCampaign"]
    assert made["errors"] == []
    follow_id = made["followCampaign"]["id"]
    campaign_id = made["followCampaign"]["campaign"]["id"]
    activated = merchant_api.op(
        "ActivateCampaign", {"id": campaign_id}, token=owner, merchant=merchant.slug
    )["data"]["activateCampaign"]
    assert activated["errors"] == []
    poster = merchant_api.op(
        "MakeFollowPoster", {"id": follow_id}, token=owner, merchant=merchant.slug
    )["data"]["makeFollowPoster"]
    assert poster["errors"] == []
    assert "/cgi-bin/showqrcode?ticket=" in poster["followCampaign"]["posterImageUrl"]
    refused = merchant_api.op(
        "MakeFollowPoster", {"id": follow_id}, token=access_token(viewer), merchant=merchant.slug
    )["data"]["makeFollowPoster"]
    assert refused["errors"][0]["code"] == "PERMISSION_DENIED"

    shop = Shop(merchant, app_id, Campaign(pk=_campaign_pk(merchant)))
    person = unique("person")
    consumer = known_consumer(wechat_component, shop, person, new_phone)
    fake_follow.scan(wechat_component, code_for(shop, consumer), person)
    listed = merchant_api.op("FollowCampaigns", token=owner, merchant=merchant.slug)["data"]
    [node] = [edge["node"] for edge in listed["followCampaigns"]["edges"]]
    assert node["status"] == "ACTIVE" and node["reserved"] is True
    assert node["stats"] == {
        "newFollowers": 1,
        "credited": 1,
        "unfollowedAfter": 0,
        "pointsAwarded": 7,
    }
    assert node["shareUrl"].endswith(f"/follow/{node['shareUrl'].rsplit('/', 1)[1]}")
    # Every mutation is in the merchant's audit log.
    logged = set(AuditEvent.objects.filter(merchant=merchant).values_list("mutation", flat=True))
    assert {"createFollowCampaign", "activateCampaign", "makeFollowPoster"} <= logged
    # Another merchant cannot see it.
    theirs = merchant_api.op(
        "FollowCampaigns", token=access_token(other_membership.user), merchant=other.slug
    )["data"]
    assert theirs["followCampaigns"]["edges"] == []


def _campaign_pk(merchant: Merchant) -> int:
    with tenant_context(merchant):
        return FollowCampaign.objects.values_list("campaign_id", flat=True).get()


def test_a_merge_moves_the_follow_history_and_it_still_pays_once(
    wechat_component: FakeWeChat, unique: Callable[[str], str], new_phone: Callable[[], str]
) -> None:
    shop = open_shop(wechat_component, unique)
    person = unique("person")
    merged = known_consumer(wechat_component, shop, person, new_phone)
    fake_follow.scan(wechat_component, code_for(shop, merged), person)
    survivor = User.objects.create()  # a WeChat-only account (no phone)
    kept = merging.merge(survivor.pk, merged.pk)
    assert kept.pk == survivor.pk != merged.pk
    [row] = follows(shop)
    assert row.consumer_id == kept.pk
    # Their identity under the merchant's app moved too: following again pays nothing.
    wechat_component.advance(2)
    fake_follow.unfollow(wechat_component, shop.app_id, person)
    wechat_component.advance(2)
    with tenant_context(shop.merchant):
        ticket = shop.campaign.follow_codes.get().ticket
    fake_follow.scan(wechat_component, ticket, person)
    assert balance(kept) == POINTS
    assert audit() == []
