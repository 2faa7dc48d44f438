"""Notices through WeChat (issue 21): template messages through our service account to
consumers who follow it, SMS as the fallback, the same opt-outs, WeChat's refusals
recorded. Against the fake WeChat, which answers 43004 to a person who does not follow,
45009 past the day's quota and 48001 to an account that may not send them."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone

from accounts.models import User, WeChatIdentity
from accounts.sms import MemorySmsBackend
from devtools.fake_wechat import FakeWeChat
from devtools.fake_wechat import follow as fake_follow
from devtools.fake_wechat import oauth as fake_oauth
from notifications import services
from notifications.models import NoticeChannel, NoticeKind, SmsNotice
from points.models import Lot
from redemption.tests.helpers import earn, new_consumer
from tests.fixtures.tenants import Tenants
from tests.fixtures.wechat import PLATFORM_APP_ID

pytestmark = pytest.mark.django_db

NOW = timezone.now()


@pytest.fixture
def templates(fake_wechat: FakeWeChat, settings: Any) -> FakeWeChat:
    settings.WECHAT_TEMPLATE_POINTS_EXPIRING = "tmpl-expiring"
    settings.WECHAT_TEMPLATE_ORDER_SHIPPED = "tmpl-shipped"
    return fake_wechat


def wechat_consumer(person: str, *, follows: bool, fake: FakeWeChat) -> User:
    consumer = new_consumer()
    WeChatIdentity.objects.create(
        user=consumer, app_id=PLATFORM_APP_ID, openid=fake_oauth.openid(person, PLATFORM_APP_ID)
    )
    if follows:
        fake_follow.follow_as(fake, PLATFORM_APP_ID, person)
    return consumer


def expiring(tenants: Tenants, consumer: User, points: int) -> Lot:
    earn(tenants.acme, consumer, points)
    lot = Lot.objects.filter(consumer=consumer).latest("id")
    Lot.objects.filter(pk=lot.pk).update(expires_at=NOW + timedelta(days=2))
    return lot


def texts_to(user: User) -> list[str]:
    return [sent.message for sent in MemorySmsBackend.outbox if sent.phone == user.phone]


def notify(capture: Any) -> None:
    with capture(execute=True):
        services.notify_expiring_points(now=NOW, days=7)


def test_a_follower_gets_a_template_message_and_no_sms(
    tenants: Tenants,
    templates: FakeWeChat,
    unique: Callable[[str], str],
    django_capture_on_commit_callbacks: Any,
) -> None:
    person = unique("person")
    consumer = wechat_consumer(person, follows=True, fake=templates)
    lot = expiring(tenants, consumer, 120)
    notify(django_capture_on_commit_callbacks)
    [(app, openid, template, data)] = fake_follow.sent_messages(templates)
    assert (app, template) == (PLATFORM_APP_ID, "tmpl-expiring")
    assert openid == fake_oauth.openid(person, PLATFORM_APP_ID)
    assert data["keyword1"]["value"] == "120"
    assert texts_to(consumer) == []
    notice = SmsNotice.objects.get(kind=NoticeKind.POINTS_EXPIRING, ref=lot.pk)
    assert (notice.channel, notice.failure) == (NoticeChannel.WECHAT, "")
    notify(django_capture_on_commit_callbacks)  # again: nothing more
    assert len(fake_follow.sent_messages(templates)) == 1


@pytest.mark.parametrize("case", ["not_following", "over_quota", "subscription"])
def test_a_refusal_is_recorded_and_the_sms_goes_instead(
    tenants: Tenants,
    templates: FakeWeChat,
    unique: Callable[[str], str],
    django_capture_on_commit_callbacks: Any,
    case: str,
) -> None:
    consumer = wechat_consumer(unique("p"), follows=case != "not_following", fake=templates)
    if case == "over_quota":
        fake_follow.set_template_quota(templates, 0)
    if case == "subscription":
        templates.app(PLATFORM_APP_ID).kind = "subscription"
    lot = expiring(tenants, consumer, 80)
    notify(django_capture_on_commit_callbacks)
    assert fake_follow.sent_messages(templates) == []
    [message] = texts_to(consumer)
    assert "80" in message
    notice = SmsNotice.objects.get(kind=NoticeKind.POINTS_EXPIRING, ref=lot.pk)
    expected = {"not_following": "43004", "over_quota": "45009", "subscription": "48001"}[case]
    assert notice.channel == NoticeChannel.SMS
    assert notice.failure.startswith(expected)


def test_opted_out_consumers_get_neither(
    tenants: Tenants,
    templates: FakeWeChat,
    unique: Callable[[str], str],
    django_capture_on_commit_callbacks: Any,
) -> None:
    consumer = wechat_consumer(unique("p"), follows=True, fake=templates)
    services.set_preferences(consumer, expiry_reminders=False)
    expiring(tenants, consumer, 30)
    notify(django_capture_on_commit_callbacks)
    assert fake_follow.sent_messages(templates) == []
    assert texts_to(consumer) == []


def test_without_a_template_it_is_sms_as_before(
    tenants: Tenants,
    fake_wechat: FakeWeChat,
    unique: Callable[[str], str],
    django_capture_on_commit_callbacks: Any,
) -> None:
    consumer = wechat_consumer(unique("p"), follows=True, fake=fake_wechat)
    expiring(tenants, consumer, 15)
    notify(django_capture_on_commit_callbacks)
    assert fake_follow.sent_messages(fake_wechat) == []
    assert len(texts_to(consumer)) == 1


def test_the_budget_per_second_is_shared_and_waits(settings: Any) -> None:
    """Two places in a budget of two, the third waits for the next second."""
    cache.clear()
    # Start at the beginning of a second, so that the three fall in at most two.
    time.sleep(1.0 - time.time() % 1.0)
    start = time.monotonic()
    assert services._wait_for_a_slot(2)
    assert services._wait_for_a_slot(2)
    assert services._wait_for_a_slot(2)
    assert time.monotonic() - start >= 0.5
    assert not services._wait_for_a_slot(0, max_seconds=0.1)
