"""Webhooks delivered by a real Celery worker to a real local HTTP server.

The endpoint is down (nothing listens) while codes are claimed, then answers 500 for
a while, then comes back: every event arrives, each verified by its signature, and
the receiver accepts each event id exactly once. Delivery is at least once, so the
receiver dedupes by id; a replayed request is refused by its id and timestamp.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import User
from campaigns.scan.claims import claim_code
from core.db import connection
from tests.fixtures.processes import free_port
from tests.fixtures.tenants import merchant_with_codes
from webhooks import signing
from webhooks.models import DeliveryStatus, EventType, WebhookDelivery, WebhookEndpoint
from webhooks.services import create_endpoint
from webhooks.tasks import send_due

pytestmark = pytest.mark.celery_worker


class Merchant3rdParty:
    """The merchant's system: answers 500 for its first ``failures`` requests (an outage
    behind a load balancer), then verifies and dedupes like docs/webhooks.md says."""

    def __init__(self, port: int, secret: str, failures: int) -> None:
        self.receiver = signing.Receiver(secret)
        self.failures = failures
        self.accepted: list[str] = []  # event ids, first arrivals
        self.duplicates: list[str] = []  # event ids seen again (our retries)
        self.refused: list[str] = []  # bad signatures (must stay empty)
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = dict(self.headers)
                self.send_response(outer.handle(headers, body))
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def handle(self, headers: dict[str, str], body: bytes) -> int:
        with self._lock:
            self.requests.append((headers, body))
            if self.failures > 0:
                self.failures -= 1
                return 500
            try:
                first = self.receiver.accept(headers, body)
            except signing.InvalidSignature as exc:
                self.refused.append(str(exc))
                return 400
            event_id = headers[signing.EVENT_ID_HEADER]
            (self.accepted if first else self.duplicates).append(event_id)
            return 200

    def __enter__(self) -> Merchant3rdParty:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _wait(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


@pytest.fixture
def hooked_merchant(
    celery_worker: object, committed_db: None, unique: Callable[[str], str]
) -> Iterator[tuple[Any, list[str], int, str]]:
    merchant, codes = merchant_with_codes(unique, size=6, points=5)
    connection.set_schema_to_public()
    port = free_port()
    made = create_endpoint(
        merchant, url=f"http://127.0.0.1:{port}/hook", event_types=[EventType.CODE_CLAIMED]
    )
    assert made.secret is not None  # returned once, when created
    yield merchant, codes, port, made.secret


def test_endpoint_down_for_a_while_receives_every_event_once_back(
    hooked_merchant: tuple[Any, list[str], int, str], new_phone: Callable[[], str]
) -> None:
    merchant, codes, port, secret = hooked_merchant
    # Nothing listens on the port: every claim's delivery fails and is retried.
    for n, code in enumerate(codes):
        consumer, _created = User.objects.get_or_create_consumer(new_phone())
        claim_code(consumer, code, f"k{n}")
    deliveries = WebhookDelivery.objects.filter(merchant=merchant)
    assert deliveries.count() == len(codes)
    _wait(
        lambda: all(
            d.status == DeliveryStatus.FAILED and d.attempts >= 2 and d.last_status_code is None
            for d in deliveries.all()
        ),
        60,
        "every delivery to fail twice while the endpoint is down",
    )
    delivery = deliveries.first()
    assert delivery is not None
    assert "refused" in delivery.last_error.lower()

    with Merchant3rdParty(port, secret, failures=3) as endpoint:
        _wait(
            lambda: deliveries.filter(status=DeliveryStatus.SUCCEEDED).count() == len(codes),
            60,
            "every delivery to succeed once the endpoint is back",
        )
        events = {str(d.event_id) for d in deliveries.all()}
        assert endpoint.refused == []  # every request was verified by its signature
        assert sorted(endpoint.accepted) == sorted(events)  # each event accepted exactly once
        assert set(endpoint.duplicates) <= events
        assert sum(1 for _h, _b in endpoint.requests) >= len(codes) + 3  # the 500s were retried
        assert all(d.delivered_at and d.last_status_code == 200 for d in deliveries.all())

        # A captured request sent again is detected: its id was seen with this timestamp...
        headers, body = endpoint.requests[-1]
        with pytest.raises(signing.Replayed):
            endpoint.receiver.accept(headers, body)
        # ...and once the tolerance has passed, its timestamp alone refuses it.
        later = time.time() + signing.DEFAULT_TOLERANCE_SECONDS + 1
        with pytest.raises(signing.InvalidSignature):
            signing.Receiver(secret).accept(headers, body, now=later)


def test_sweep_sends_deliveries_whose_task_was_lost(
    hooked_merchant: tuple[Any, list[str], int, str],
) -> None:
    merchant, _codes, port, secret = hooked_merchant
    endpoint_row = WebhookEndpoint.objects.get(merchant=merchant)
    # As if the worker died holding the task, or the broker lost it: rows, no task.
    lost = [
        WebhookDelivery.objects.create(
            merchant=merchant,
            endpoint=endpoint_row,
            event_type=EventType.CODE_CLAIMED,
            payload={"lost": n},
            status=DeliveryStatus.FAILED,
            attempts=3,
            next_attempt_at=timezone.now(),
        )
        for n in range(2)
    ]
    with Merchant3rdParty(port, secret, failures=0) as endpoint:
        assert send_due.delay().get(timeout=30) >= len(lost)
        _wait(
            lambda: (
                WebhookDelivery.objects.filter(
                    pk__in=[d.pk for d in lost], status=DeliveryStatus.SUCCEEDED
                ).count()
                == len(lost)
            ),
            30,
            "the sweep to deliver the lost deliveries",
        )
        assert sorted(endpoint.accepted) == sorted(str(d.event_id) for d in lost)
