"""The claim's Redis commands go on the thread's lean link (core.redislink), none through
redis-py's client (decisions 0311, 0312): a structural guard on the hot path.

The consent to share with the merchant is checked by the claim's SQL function, not in
Redis (decision 0333), the scan event is sent by the process's sender thread, not by
the request (decision 0335), and so is the webhook relay's wake when a merchant listens
(decision 0346). A planted violation it catches: the consent check back before the claim
(``privacy.consent.ensure``: one GET more on the link, or through redis-py on
``cache.get``), the scan event back on ``client.register_script``, the scan event sent by
the request's thread (``events.record`` calling ``record_counted``), or the relay's wake
sent by it (``webhooks.events._wake_soon`` calling ``_wake``: a SET on the link).
"""

from __future__ import annotations

import threading
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
from tests.test_redis_sender import wait_for
from webhooks import delivery
from webhooks.models import EventType
from webhooks.services import create_endpoint

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("listening", [False, True], ids=["no webhook", "a webhook listens"])
def test_a_claim_sends_one_command_on_the_link_and_none_through_redis_py(
    listening: bool,
    through_the_broker: None,
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
    if listening:
        # Nothing answers on port 9: the relay, should a worker run it, fails and retries.
        create_endpoint(
            tenants.acme, url="http://127.0.0.1:9/hook", event_types=[EventType.CODE_CLAIMED]
        )
    with django_capture_on_commit_callbacks(execute=True):
        first = claim(consumer_api, consumer, codes[0], "k1", True)  # consents
    assert first["errors"] == []
    # A returning consumer: the consent on record, read by the claim's own statement.
    assert consent.has_consented(consumer.pk, tenants.acme.pk) is True

    link = redislink.link()
    assert link is not None
    if listening:
        # The first claim's wake raised the flag; the second's must raise it again.
        _wait_for_wake(link)
        link.command("DEL", link.make_key(delivery.WAKE_KEY))

    request_thread = threading.current_thread()
    through_redis_py: list[Any] = []
    original_execute = redis.Redis.execute_command

    def execute_command(self: redis.Redis, *args: Any, **options: Any) -> Any:
        # The request's commands: the process's threads (the waker's relay publish, a
        # moment later) may send theirs meanwhile.
        if threading.current_thread() is request_thread:
            through_redis_py.append(args[0])
        return original_execute(self, *args, **options)

    monkeypatch.setattr(redis.Redis, "execute_command", execute_command)
    on_link: list[Any] = []
    original_send = link.connection.send_command

    def send_command(*args: Any, **kwargs: Any) -> None:
        on_link.append(args[0])
        original_send(*args, **kwargs)

    monkeypatch.setattr(link.connection, "send_command", send_command)

    with django_capture_on_commit_callbacks(execute=True) as committed:
        second = claim(consumer_api, consumer, codes[1], "k2")

    assert second["errors"] == [] and second["claim"]["points"] == 7
    assert len(committed) == int(listening)  # the relay's wake, once the claim committed
    assert through_redis_py == []
    # Only the rate-limit guard: the consent is the claim function's, and neither the
    # scan event nor the relay's wake is the request's round trip: the process's threads
    # send them a moment later.
    assert on_link == ["EVALSHA"]
    monkeypatch.undo()
    stream = redislink.link()
    assert stream is not None
    wait_for(stream, stream.make_key(events.STREAM), 2)  # the sender thread sent them
    if listening:  # the waker thread raised the relay's flag
        _wait_for_wake(stream)
        stream.command("DEL", stream.make_key(delivery.WAKE_KEY))


def _wait_for_wake(link: redislink.Link, seconds: float = 5) -> None:
    deadline = time.monotonic() + seconds
    while not link.command("EXISTS", link.make_key(delivery.WAKE_KEY)):
        assert time.monotonic() < deadline, "the relay was not woken"
        time.sleep(0.01)
