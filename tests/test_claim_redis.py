"""The claim's Redis commands go on the thread's lean link (core.redislink), none through
redis-py's client (decisions 0311, 0312): a structural guard on the hot path.

A planted violation it catches: the consent check back on ``cache.get`` (one GET
through redis-py), the scan event back on ``client.register_script``, or the scan event
sent by the request's thread (``events.record`` calling ``record_counted``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
import redis

from accounts.models import User
from campaigns.scan import events
from campaigns.tests.test_consumer_claims import make_codes
from core import redislink
from points import services
from privacy import consent
from privacy.tests.test_merchant_consent import claim
from tests.fixtures.api import Api
from tests.fixtures.tenants import Tenants

pytestmark = pytest.mark.django_db


def test_a_claim_sends_three_commands_on_the_link_and_none_through_redis_py(
    consumer_api: Api,
    tenants: Tenants,
    consumer: User,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    unique: Callable[[str], str],
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.MERCHANT_CONSENT_REQUIRED = True
    settings.SCAN_EVENTS = True
    services.fund_with_money(
        tenants.acme, amount_minor=10_000, currency="CNY", rate="100", payment_reference=unique("p")
    )
    _campaign, _batch, codes = make_codes(tenants.acme, size=2)
    with django_capture_on_commit_callbacks(execute=True):
        first = claim(consumer_api, consumer, codes[0], "k1", True)  # consents
    assert first["errors"] == []
    # The steady state: the consent's answer cached (its entry was dropped on commit).
    assert consent.has_consented(consumer.pk, tenants.acme.pk) is True

    through_redis_py: list[Any] = []
    original_execute = redis.Redis.execute_command

    def execute_command(self: redis.Redis, *args: Any, **options: Any) -> Any:
        through_redis_py.append(args[0])
        return original_execute(self, *args, **options)

    monkeypatch.setattr(redis.Redis, "execute_command", execute_command)
    link = redislink.link()
    assert link is not None
    on_link: list[Any] = []
    original_send = link.connection.send_command

    def send_command(*args: Any, **kwargs: Any) -> None:
        on_link.append(args[0])
        original_send(*args, **kwargs)

    monkeypatch.setattr(link.connection, "send_command", send_command)

    second = claim(consumer_api, consumer, codes[1], "k2")

    assert second["errors"] == [] and second["claim"]["points"] == 7
    assert through_redis_py == []
    # The rate-limit guard and the consent check; the scan event is not the request's
    # round trip: the process's sender thread writes it a moment later (decision 0335).
    assert on_link == ["EVALSHA", "GET"]
    monkeypatch.undo()
    stream = redislink.link()
    assert stream is not None
    deadline = time.monotonic() + 5
    while stream.command("XLEN", stream.make_key(events.STREAM)) < 2:
        assert time.monotonic() < deadline, "the sender thread did not send the event"
        time.sleep(0.01)
