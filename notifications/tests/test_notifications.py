"""SMS notices to consumers through the memory SMS backend: once per lot, opt-outs,
order shipped on commit."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import User
from accounts.sms import MemorySmsBackend
from notifications import services
from notifications.models import NoticeKind, SmsNotice
from points.models import Lot
from redemption import services as mall
from redemption.tests.helpers import earn, new_consumer, placed_order
from tests.fixtures.api import Api, access_token
from tests.fixtures.concurrency import run_in_threads
from tests.fixtures.tenants import Tenants

NOW = timezone.now()


def _lot(tenants: Tenants, consumer: User, points: int, expires_in: timedelta) -> Lot:
    earn(tenants.acme, consumer, points)
    lot = Lot.objects.filter(consumer=consumer).latest("id")
    Lot.objects.filter(pk=lot.pk).update(expires_at=NOW + expires_in)
    return lot


def _texts_to(user: User) -> list[str]:
    return [sent.message for sent in MemorySmsBackend.outbox if sent.phone == user.phone]


@pytest.mark.django_db
def test_expiring_points_are_announced_once_per_lot(
    tenants: Tenants, django_capture_on_commit_callbacks: Any
) -> None:
    alice = new_consumer()
    _lot(tenants, alice, 200, timedelta(days=3))
    _lot(tenants, alice, 100, timedelta(days=5))
    _lot(tenants, alice, 7, timedelta(days=30))  # not yet
    _lot(tenants, alice, 9, -timedelta(hours=1))  # already expired (the expiry task's)
    with django_capture_on_commit_callbacks(execute=True):
        services.notify_expiring_points(now=NOW, days=7)
    [message] = _texts_to(alice)
    assert "300" in message
    assert (NOW + timedelta(days=3)).astimezone().strftime("%Y") in message

    with django_capture_on_commit_callbacks(execute=True):  # the task runs again
        assert services.notify_expiring_points(now=NOW, days=7) == 0
    assert len(_texts_to(alice)) == 1

    _lot(tenants, alice, 50, timedelta(days=2))  # a new lot: one more notice, for it only
    with django_capture_on_commit_callbacks(execute=True):
        services.notify_expiring_points(now=NOW, days=7)
    assert len(_texts_to(alice)) == 2 and "50" in _texts_to(alice)[-1]


@pytest.mark.django_db
def test_opted_out_consumers_get_no_reminder_until_they_opt_back_in(
    tenants: Tenants, django_capture_on_commit_callbacks: Any
) -> None:
    bob = new_consumer()
    _lot(tenants, bob, 40, timedelta(days=1))
    services.set_preferences(bob, expiry_reminders=False)
    with django_capture_on_commit_callbacks(execute=True):
        services.notify_expiring_points(now=NOW, days=7)
    assert _texts_to(bob) == []
    services.set_preferences(bob, expiry_reminders=True)
    with django_capture_on_commit_callbacks(execute=True):
        services.notify_expiring_points(now=NOW, days=7)
    assert len(_texts_to(bob)) == 1


def test_two_runs_at_once_send_one_text(committed_db: None, tenants: Tenants) -> None:
    carol = new_consumer()
    lot = _lot(tenants, carol, 60, timedelta(days=2))
    results = run_in_threads(2, lambda _i: services.notify_expiring_points(now=NOW, days=7))
    assert all(status == "ok" for status, _value in results), results
    assert len(_texts_to(carol)) == 1
    assert SmsNotice.objects.filter(kind=NoticeKind.POINTS_EXPIRING, ref=lot.pk).count() == 1


@pytest.mark.django_db
def test_order_shipped_text_on_commit_once_and_opt_out(
    tenants: Tenants, django_capture_on_commit_callbacks: Any
) -> None:
    order = placed_order(tenants.acme)
    buyer = order.consumer
    with django_capture_on_commit_callbacks(execute=True):
        mall.ship(order, tenants.acme, carrier="SF Express", tracking_number="SF1234567")
    [message] = _texts_to(buyer)
    assert "SF1234567" in message and "SF Express" in message
    assert services.order_shipped(order.pk) is False  # a second run of the task: no text
    assert len(_texts_to(buyer)) == 1

    quiet = new_consumer()
    services.set_preferences(quiet, order_updates=False)
    other = placed_order(tenants.acme, consumer=quiet)
    with django_capture_on_commit_callbacks(execute=True):
        mall.ship(other, tenants.acme, carrier="SF", tracking_number="SF2")
    assert _texts_to(quiet) == []


@pytest.mark.django_db
def test_a_refused_shipment_sends_nothing(
    tenants: Tenants, django_capture_on_commit_callbacks: Any
) -> None:
    order = placed_order(tenants.acme)
    capture = django_capture_on_commit_callbacks(execute=True)
    with capture as callbacks, pytest.raises(mall.MallError):
        mall.ship(order, tenants.beta, carrier="SF", tracking_number="SF3")
    assert callbacks == [] and _texts_to(order.consumer) == []


@pytest.mark.django_db
def test_preferences_through_the_consumer_api(consumer_api: Api) -> None:
    dave = new_consumer()
    token = access_token(dave)
    initial = consumer_api.op("NotificationPreferences", token=token)["data"]
    assert initial["notificationPreferences"] == {"expiryReminders": True, "orderUpdates": True}
    changed = consumer_api.op("SetNotificationPreferences", {"orderUpdates": False}, token=token)
    payload = changed["data"]["setNotificationPreferences"]
    assert payload == {
        "preferences": {"expiryReminders": True, "orderUpdates": False},
        "errors": [],
    }
    staff = consumer_api.op(
        "SetNotificationPreferences",
        {"orderUpdates": True},
        token=access_token(User.objects.create_user("staff-notices@x.test", "pw-123456789")),
    )
    assert staff["data"]["setNotificationPreferences"]["errors"][0]["code"] == "PERMISSION_DENIED"
