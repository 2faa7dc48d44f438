"""The relay: due deliveries sent in batches over kept-alive connections (decision 0310).

A local HTTP/1.1 server that keeps connections alive counts the TCP connections it
accepted, so "one connection per endpoint per batch" is observed, not assumed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core.cache import cache
from django.test.utils import override_settings
from django.utils import timezone

from tests.fixtures.tenants import Tenants
from webhooks import delivery, events, services, signing
from webhooks.models import DeliveryStatus, EventType, WebhookDelivery
from webhooks.tasks import relay

pytestmark = pytest.mark.django_db


class _KeepAlive(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keeps the connection open between requests
    status = 200
    close_after: int | None = None  # close the connection after this many requests
    received: list[tuple[int, dict[str, str], bytes]] = []  # (connection number, headers, body)
    connections = 0

    def setup(self) -> None:
        super().setup()
        type(self).connections += 1
        self.number = type(self).connections
        self.served = 0

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((self.number, dict(self.headers), body))
        self.served += 1
        self.send_response(type(self).status)
        self.send_header("Content-Length", "0")
        self.end_headers()
        close_after = type(self).close_after
        if close_after is not None and self.served >= close_after:
            # Quietly, as a server closing an idle kept-alive connection does.
            self.close_connection = True

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def keep_alive() -> Iterator[type[_KeepAlive]]:
    class Hook(_KeepAlive):
        received = []
        connections = 0

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Hook.url = f"http://127.0.0.1:{server.server_address[1]}/hook"  # type: ignore[attr-defined]
    yield Hook
    server.shutdown()
    server.server_close()


def _record(merchant: Any, n: int) -> list[WebhookDelivery]:
    made: list[WebhookDelivery] = []
    for i in range(n):
        made += events.record(merchant.pk, EventType.CODE_CLAIMED, partial(dict, n=i))
    return made


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    events._cache.clear()
    yield
    events._cache.clear()


@override_settings(WEBHOOK_ALLOW_HTTP_HOSTS=["127.0.0.1"])
def test_a_batch_goes_over_one_connection_per_endpoint_signed_and_in_order(
    tenants: Tenants, keep_alive: Any
) -> None:
    hook = services.create_endpoint(
        tenants.acme, url=keep_alive.url, event_types=[EventType.CODE_CLAIMED]
    ).endpoint
    made = _record(tenants.acme, 30)  # no commit in a test transaction: nothing sent yet

    attempted, soonest = delivery.relay()

    assert (attempted, soonest) == (30, None)
    assert keep_alive.connections == 1
    assert [r[1][signing.EVENT_ID_HEADER] for r in keep_alive.received] == [
        str(d.event_id) for d in made
    ]
    for _number, headers, body in keep_alive.received:
        assert signing.verify(hook.secret, headers[signing.SIGNATURE_HEADER], body)
    assert WebhookDelivery.objects.filter(status=DeliveryStatus.SUCCEEDED).count() == 30
    assert delivery.relay() == (0, None)  # nothing due: nothing sent twice


@override_settings(WEBHOOK_ALLOW_HTTP_HOSTS=["127.0.0.1"])
def test_a_connection_the_server_closed_is_reopened_without_losing_a_delivery(
    tenants: Tenants, keep_alive: Any
) -> None:
    keep_alive.close_after = 3
    services.create_endpoint(tenants.acme, url=keep_alive.url, event_types=[EventType.CODE_CLAIMED])
    made = _record(tenants.acme, 10)

    assert delivery.relay()[0] == 10

    assert {r[1][signing.EVENT_ID_HEADER] for r in keep_alive.received} == {
        str(d.event_id) for d in made
    }
    assert keep_alive.connections >= 4
    assert WebhookDelivery.objects.filter(status=DeliveryStatus.SUCCEEDED).count() == 10


@override_settings(WEBHOOK_ALLOW_HTTP_HOSTS=["127.0.0.1"])
def test_an_unreachable_endpoint_fails_its_deliveries_once_and_does_not_hold_others(
    tenants: Tenants, keep_alive: Any
) -> None:
    # A port nothing listens on (bound, then closed).
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    services.create_endpoint(
        tenants.acme, url=f"http://127.0.0.1:{dead_port}/x", event_types=[EventType.CODE_CLAIMED]
    )
    services.create_endpoint(tenants.acme, url=keep_alive.url, event_types=[EventType.CODE_CLAIMED])
    _record(tenants.acme, 5)  # 5 events x 2 endpoints

    attempted, soonest = delivery.relay()

    assert attempted == 10 and soonest is not None
    assert len(keep_alive.received) == 5
    failed = WebhookDelivery.objects.filter(status=DeliveryStatus.FAILED)
    assert failed.count() == 5
    assert {(d.attempts, d.last_status_code) for d in failed} == {(1, None)}
    assert all(d.last_error for d in failed)


@override_settings(WEBHOOK_ALLOW_HTTP_HOSTS=["127.0.0.1"])
def test_http_errors_are_per_delivery_and_retried_later(tenants: Tenants, keep_alive: Any) -> None:
    keep_alive.status = 503
    services.create_endpoint(tenants.acme, url=keep_alive.url, event_types=[EventType.CODE_CLAIMED])
    _record(tenants.acme, 3)
    attempted, soonest = delivery.relay()
    assert attempted == 3 and soonest is not None
    assert len(keep_alive.received) == 3  # each tried: a 503 is not "unreachable"
    assert set(WebhookDelivery.objects.values_list("status", "last_status_code")) == {
        (DeliveryStatus.FAILED, 503)
    }
    assert delivery.relay() == (0, None)  # not due again yet


def test_commits_wake_one_relay_until_it_has_sent_everything(tenants: Tenants) -> None:
    cache.delete(delivery.WAKE_KEY)
    assert delivery.claim_wake() is True
    assert [delivery.claim_wake() for _ in range(5)] == [False] * 5
    delivery.clear_wake()  # the relay found nothing more: the next commit queues the next one
    assert delivery.claim_wake() is True
    delivery.clear_wake()


@override_settings(WEBHOOK_ALLOW_HTTP_HOSTS=["127.0.0.1"])
def test_commits_that_met_the_flag_are_sent_by_the_run_that_held_it(
    tenants: Tenants, keep_alive: Any, django_capture_on_commit_callbacks: Any
) -> None:
    services.create_endpoint(tenants.acme, url=keep_alive.url, event_types=[EventType.CODE_CLAIMED])
    assert delivery.claim_wake() is True  # a relay is queued or running
    with django_capture_on_commit_callbacks(execute=True):
        _record(tenants.acme, 3)  # their wakes find the flag: no relay of their own
    assert keep_alive.received == []
    assert relay.delay().get() == 3  # the run that held the flag sends them...
    assert len(keep_alive.received) == 3
    assert delivery.claim_wake() is True  # ...and clears it when it is done
    delivery.clear_wake()


def test_the_next_retry_is_read_from_the_table_not_from_one_run(tenants: Tenants) -> None:
    services.create_endpoint(
        tenants.acme, url="http://127.0.0.1:9/x", event_types=[EventType.CODE_CLAIMED]
    )
    made = _record(tenants.acme, 3)
    assert delivery.next_retry_in() is None  # all due now: nothing waits for later
    now = timezone.now()
    for row, seconds in zip(made, (40, 7, 90), strict=True):
        WebhookDelivery.objects.filter(pk=row.pk).update(
            status=DeliveryStatus.FAILED, next_attempt_at=now + timedelta(seconds=seconds)
        )
    retry_in = delivery.next_retry_in()
    assert retry_in is not None and 5 < retry_in <= 7
    WebhookDelivery.objects.filter(status=DeliveryStatus.FAILED).update(
        status=DeliveryStatus.DEAD, next_attempt_at=None
    )
    assert delivery.next_retry_in() is None  # given up: nothing to wake for


@override_settings(WEBHOOK_ALLOW_HTTP_HOSTS=["127.0.0.1"])
def test_a_committed_event_is_sent_by_the_relay_it_wakes(
    tenants: Tenants, keep_alive: Any, django_capture_on_commit_callbacks: Any
) -> None:
    services.create_endpoint(tenants.acme, url=keep_alive.url, event_types=[EventType.CODE_CLAIMED])
    cache.delete(delivery.WAKE_KEY)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        _record(tenants.acme, 2)
    assert len(callbacks) == 2  # one wake per commit; the first queued the relay (eager here)
    assert len(keep_alive.received) == 2
    assert relay.delay().get() == 0  # and a relay with nothing due sends nothing
