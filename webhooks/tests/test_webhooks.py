"""Webhooks in one process: URL rules, signatures, backoff, the outbox written with the
business change, and the merchant API. Real delivery to a local server through a
Celery worker is in test_delivery_worker.py."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.test.utils import override_settings
from django_tenants.utils import tenant_context
from graphql_relay import to_global_id
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from campaigns.models import CampaignStatus, Code
from campaigns.questionnaires.services import create_questionnaire_campaign, submit
from campaigns.scan.claims import claim_code
from campaigns.scan.generation import generate_batch
from campaigns.scan.services import create_batch, create_scan_campaign
from campaigns.services import set_status
from core.errors import DomainError
from redemption import services as mall
from redemption.tests.helpers import new_consumer, placed_order
from tests.fixtures.api import Api, access_token
from tests.fixtures.tenants import Tenants, fund
from webhooks import delivery, events, payloads, services, signing
from webhooks.models import DeliveryStatus, EventType, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db

HOOK = "https://hooks.example.com/loyalty"


@pytest.fixture(autouse=True)
def _fresh_subscription_cache() -> Iterator[None]:
    events._cache.clear()
    yield
    events._cache.clear()


# --- Rules --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/x",  # not https
        "ftp://hooks.example.com/x",
        "https://user:pw@hooks.example.com/x",  # credentials in the URL
        "https://10.0.0.5/x",  # private
        "https://169.254.169.254/latest/meta-data",  # link-local (cloud metadata)
        "https://localhost/x",
        "https://[::1]/x",
        "https:///nohost",
        "https://hooks.example.com:99999/x",
        "https://hooks.example.com/" + "x" * 500,
        "",
    ],
)
def test_urls_refused(url: str) -> None:
    with pytest.raises(DomainError) as exc:
        services.validate_url(url)
    assert exc.value.code == "INVALID_URL"


def test_urls_accepted_and_http_only_for_allowed_hosts() -> None:
    assert services.validate_url(" https://hooks.example.com/a?b=1 ") == (
        "https://hooks.example.com/a?b=1"
    )
    assert services.validate_url("https://8.8.8.8/hook")
    assert services.validate_url("http://127.0.0.1:8123/hook")  # the tests' setting
    with override_settings(WEBHOOK_ALLOW_HTTP_HOSTS=[]), pytest.raises(DomainError):  # production
        services.validate_url("http://127.0.0.1:8123/hook")


def test_signature_verifies_and_refuses_tampering_and_old_timestamps() -> None:
    secret = signing.new_secret()
    body = b'{"id":"e1"}'
    now = int(time.time())
    header = signing.sign(secret, body, now)
    assert signing.verify(secret, header, body) == now
    for bad_secret, bad_body in [("whsec_other", body), (secret, b'{"id":"e2"}')]:
        with pytest.raises(signing.InvalidSignature):
            signing.verify(bad_secret, header, bad_body)
    with pytest.raises(signing.InvalidSignature):  # captured and replayed 10 minutes later
        signing.verify(secret, header, body, now=now + 600)
    with pytest.raises(signing.InvalidSignature):
        signing.verify(secret, "v1=abc", body)


def _lowered(headers: dict[str, str]) -> dict[str, str]:
    # http.server keeps the case it received; the library reads lower-case names.
    return {name.lower(): value for name, value in headers.items()}


def test_standard_webhooks_signature_verifies_with_the_library() -> None:
    """Our Standard Webhooks headers, checked by the ``standardwebhooks`` package (not by
    our own code): fails if the signed text, the key's decoding or the format differs
    from the standard. Tampering, another secret and an old timestamp are refused."""
    secret = signing.new_secret()
    body = '{"id":"e1","data":{"x":"雪"}}'.encode()
    now = int(time.time())
    headers = signing.standard_headers(secret, "e1", now, body)
    assert headers["webhook-signature"].startswith("v1,")
    assert Webhook(secret).verify(body, headers)["id"] == "e1"
    for bad_secret, bad_body, at in [
        (signing.new_secret(), body, now),
        (secret, body.replace("雪".encode(), b"x"), now),
        (secret, body, now - 600),  # captured and replayed 10 minutes later
    ]:
        with pytest.raises(WebhookVerificationError):
            Webhook(bad_secret).verify(bad_body, signing.standard_headers(secret, "e1", at, body))


def test_a_secret_from_before_the_standard_is_its_own_key() -> None:
    old_style = "whsec_" + "Ab-_" * 10 + "xyz"  # URL-safe, unpadded (secrets.token_urlsafe)
    body = b'{"id":"e1"}'
    headers = signing.standard_headers(old_style, "e1", int(time.time()), body)
    assert Webhook(old_style.encode()).verify(body, headers)["id"] == "e1"


def test_receiver_dedupes_retries_and_detects_replays() -> None:
    secret = signing.new_secret()
    receiver = signing.Receiver(secret)
    body = b"{}"
    now = int(time.time())

    def headers(t: int) -> dict[str, str]:
        return {
            signing.SIGNATURE_HEADER: signing.sign(secret, body, t),
            signing.EVENT_ID_HEADER: "evt-1",
        }

    assert receiver.accept(headers(now), body) is True
    assert receiver.accept(headers(now + 5), body) is False  # our retry: acknowledge, ignore
    with pytest.raises(signing.Replayed):  # the very same request again
        receiver.accept(headers(now), body)


def test_backoff_is_exponential_capped_and_jittered() -> None:
    rng = random.Random(7)
    with override_settings(WEBHOOK_RETRY_BASE_SECONDS=30, WEBHOOK_RETRY_MAX_SECONDS=6 * 3600):
        for attempts, ceiling in [(1, 30), (2, 60), (3, 120), (6, 960), (20, 6 * 3600)]:
            delays = [delivery.backoff_seconds(attempts, rng) for _ in range(50)]
            assert all(ceiling / 2 <= d <= ceiling for d in delays), (attempts, delays)
            assert len(set(delays)) > 1


# --- The outbox ---------------------------------------------------------------------


@pytest.fixture
def acme(tenants: Tenants, unique: Callable[[str], str]) -> Tenants:
    fund(tenants.acme, 100_000, unique)
    return tenants


def _codes(merchant: Any, size: int = 3) -> list[str]:
    with tenant_context(merchant):
        campaign = create_scan_campaign(name="Hooked caps")
        set_status(merchant, campaign, CampaignStatus.ACTIVE)
        batch = generate_batch(create_batch(merchant, campaign, size=size, points_per_code=5).pk)
        return list(
            Code.objects.filter(batch=batch).order_by("serial").values_list("code", flat=True)
        )


def _endpoint(merchant: Any, *types: str, url: str = HOOK) -> WebhookEndpoint:
    return services.create_endpoint(merchant, url=url, event_types=types).endpoint


def test_no_endpoint_no_rows_and_no_query_once_cached(
    acme: Tenants, django_assert_num_queries: Any
) -> None:
    codes = _codes(acme.acme)
    claim_code(new_consumer(), codes[0], "k1")
    assert not WebhookDelivery.objects.exists()
    with django_assert_num_queries(0):
        assert events.record(acme.acme.pk, EventType.CODE_CLAIMED, lambda: {}) == []


def test_claim_writes_one_delivery_per_subscribed_endpoint(
    acme: Tenants, django_capture_on_commit_callbacks: Any
) -> None:
    codes = _codes(acme.acme)
    first = _endpoint(acme.acme, EventType.CODE_CLAIMED, EventType.ORDER_PLACED)
    second = _endpoint(acme.acme, EventType.CODE_CLAIMED, url="https://other.example.com/h")
    _endpoint(acme.acme, EventType.BATCH_READY)  # not subscribed to claims
    off = _endpoint(acme.acme, EventType.CODE_CLAIMED)
    services.update_endpoint(off, is_active=False)
    gone = _endpoint(acme.acme, EventType.CODE_CLAIMED)
    services.delete_endpoint(gone)
    beta_hook = _endpoint(acme.beta, EventType.CODE_CLAIMED)

    consumer = new_consumer()
    with django_capture_on_commit_callbacks() as callbacks:
        claim_code(consumer, codes[0], "k1")
    rows = list(WebhookDelivery.objects.filter(merchant=acme.acme))
    assert {r.endpoint_id for r in rows} == {first.pk, second.pk}
    assert len({r.event_id for r in rows}) == 1  # one event, the same id for both
    assert len(callbacks) == 1  # queued on commit only
    payload = rows[0].payload
    assert payload["type"] == "code.claimed" and payload["id"] == str(rows[0].event_id)
    data = payload["data"]
    assert data["code"] == codes[0] and data["points"] == 5
    assert data["consumer"]["maskedPhone"] == consumer.masked_phone
    assert consumer.phone is not None
    assert consumer.phone not in json.dumps(payload)
    assert not WebhookDelivery.objects.filter(endpoint=beta_hook).exists()

    # A refused claim writes nothing: the event exists only with the change.
    with pytest.raises(DomainError):
        claim_code(new_consumer(), codes[0], "k2")
    assert WebhookDelivery.objects.filter(merchant=acme.acme).count() == 2


def test_the_claims_statement_writes_the_event_the_payloads_module_describes(
    acme: Tenants, django_capture_on_commit_callbacks: Any
) -> None:
    """campaigns_claim_code writes code.claimed's outbox rows itself (decision 0329):
    its payload must be the one webhooks.payloads.code_claimed builds, key for key, so
    that receivers cannot tell which path wrote it."""
    codes = _codes(acme.acme)
    _endpoint(acme.acme, EventType.CODE_CLAIMED)
    consumer = new_consumer()
    with django_capture_on_commit_callbacks() as callbacks:
        result = claim_code(consumer, codes[1], "k-sql")  # autocommit: the one statement
    assert len(callbacks) == 1  # the relay is woken once the claim has committed
    [row] = WebhookDelivery.objects.filter(merchant=acme.acme)
    expected = events.envelope(
        row.event_id,
        EventType.CODE_CLAIMED,
        result.claim.claimed_at,
        payloads.code_claimed(acme.acme.pk, result.claim, result.campaign, consumer),
    )
    assert row.payload == json.loads(json.dumps(expected))
    assert row.created_at == row.next_attempt_at == result.claim.claimed_at
    assert (row.status, row.attempts, row.last_error) == (DeliveryStatus.PENDING, 0, "")


def test_questionnaire_orders_and_batches_record_events(
    acme: Tenants, django_capture_on_commit_callbacks: Any
) -> None:
    _endpoint(acme.acme, *EventType.values)
    _codes(acme.acme, size=2)  # batch.ready
    with tenant_context(acme.acme):
        campaign = create_questionnaire_campaign(
            name="Survey",
            questions=[{"id": "q1", "type": "rating", "text": "Rate us"}],
            points_per_response=3,
            max_rewarded_responses=5,
        )
        set_status(acme.acme, campaign, CampaignStatus.ACTIVE)
        submit(acme.acme, new_consumer(), campaign.pk, {"q1": 4}, "s1")
    order = placed_order(acme.acme)
    with django_capture_on_commit_callbacks():
        mall.ship(order, acme.acme, carrier="SF", tracking_number="SF123")
    types = list(
        WebhookDelivery.objects.filter(merchant=acme.acme)
        .order_by("id")
        .values_list("event_type", flat=True)
    )
    assert types == ["batch.ready", "questionnaire.answered", "order.placed", "order.shipped"]
    shipped = WebhookDelivery.objects.get(merchant=acme.acme, event_type="order.shipped").payload
    assert shipped["data"]["order"]["id"] == to_global_id("SupplierOrder", order.pk)
    assert shipped["data"]["order"]["trackingNumber"] == "SF123"
    answered = WebhookDelivery.objects.get(event_type="questionnaire.answered").payload["data"]
    assert answered["answers"] == {"q1": 4} and answered["points"] == 3


# --- Attempts against a local server ------------------------------------------------


class _Hook(BaseHTTPRequestHandler):
    status = 200
    received: list[tuple[dict[str, str], bytes]] = []
    url: str  # set by the local_hook fixture

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((dict(self.headers), body))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def local_hook() -> Iterator[type[_Hook]]:
    class Hook(_Hook):  # a class per test: its own received list and status
        received = []
        status = 200

    handler = Hook
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    handler.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    yield handler
    server.shutdown()
    server.server_close()


def test_attempt_success_failure_backoff_and_dead(acme: Tenants, local_hook: Any) -> None:
    hook = _endpoint(acme.acme, EventType.CODE_CLAIMED, url=local_hook.url)
    with tenant_context(acme.acme):
        [made] = events.record(acme.acme.pk, EventType.CODE_CLAIMED, lambda: {"x": "雪"})

    local_hook.status = 500
    outcome = delivery.attempt(made.pk)
    made.refresh_from_db()
    assert outcome.status == DeliveryStatus.FAILED and outcome.retry_in is not None
    assert (made.status, made.attempts, made.last_status_code) == ("failed", 1, 500)
    assert delivery.attempt(made.pk).status == "skipped"  # not due yet
    assert made.pk not in delivery.due()

    WebhookDelivery.objects.filter(pk=made.pk).update(next_attempt_at=made.created_at)
    assert made.pk in delivery.due()
    local_hook.status = 204
    assert delivery.attempt(made.pk).status == DeliveryStatus.SUCCEEDED
    made.refresh_from_db()
    assert (made.status, made.attempts, made.next_attempt_at) == ("succeeded", 2, None)
    headers, body = local_hook.received[-1]
    assert signing.verify(hook.secret, headers[signing.SIGNATURE_HEADER], body)
    assert headers[signing.EVENT_ID_HEADER] == str(made.event_id)
    assert json.loads(body)["data"] == {"x": "雪"}
    # The same request verifies with the Standard Webhooks library, as a merchant does.
    verified = Webhook(hook.secret).verify(body, _lowered(headers))
    assert verified["data"] == {"x": "雪"}
    assert _lowered(headers)["webhook-id"] == str(made.event_id)

    # Out of attempts: dead, and nothing is due any more.
    with override_settings(WEBHOOK_MAX_ATTEMPTS=1):
        local_hook.status = 500
        services.redeliver(made)
        assert delivery.attempt(made.pk).status == DeliveryStatus.DEAD
    assert made.pk not in delivery.due()


def test_inactive_endpoint_holds_its_deliveries_until_reactivated(
    acme: Tenants, local_hook: Any
) -> None:
    hook = _endpoint(acme.acme, EventType.CODE_CLAIMED, url=local_hook.url)
    [made] = events.record(acme.acme.pk, EventType.CODE_CLAIMED, lambda: {})
    services.update_endpoint(hook, is_active=False)
    assert delivery.attempt(made.pk).status == "skipped" and made.pk not in delivery.due()
    services.update_endpoint(hook, is_active=True)
    assert delivery.attempt(made.pk).status == DeliveryStatus.SUCCEEDED


def test_redirects_are_not_followed(acme: Tenants, local_hook: Any) -> None:
    _endpoint(acme.acme, EventType.CODE_CLAIMED, url=local_hook.url)
    [made] = events.record(acme.acme.pk, EventType.CODE_CLAIMED, lambda: {})
    local_hook.status = 302
    assert delivery.attempt(made.pk).status == DeliveryStatus.FAILED
    assert len(local_hook.received) == 1


# --- Merchant API ---------------------------------------------------------------------


def _as(
    api: Api, user: Any, name: str, variables: dict | None = None, merchant: str = "acme"
) -> dict:
    return api.op(name, variables or {}, token=access_token(user), merchant=merchant)


def test_endpoint_lifecycle_through_the_api(merchant_api: Api, tenants: Tenants) -> None:
    created = _as(
        merchant_api,
        tenants.acme_admin,
        "WebhookEndpointCreate",
        {"url": HOOK, "eventTypes": ["CODE_CLAIMED", "ORDER_SHIPPED"], "description": "ERP"},
    )["data"]["webhookEndpointCreate"]
    assert created["errors"] == []
    secret = created["secret"]
    assert secret.startswith("whsec_") and len(secret) > 40
    endpoint = created["endpoint"]
    assert endpoint["eventTypes"] == ["CODE_CLAIMED", "ORDER_SHIPPED"]
    assert endpoint["secretHint"] == "…" + secret[-4:]

    listed = _as(merchant_api, tenants.acme_viewer, "WebhookEndpoints")["data"]
    assert [e["node"]["id"] for e in listed["webhookEndpoints"]["edges"]] == [endpoint["id"]]
    assert secret not in json.dumps(listed)

    same = _as(
        merchant_api,
        tenants.acme_admin,
        "WebhookEndpointUpdate",
        {"id": endpoint["id"], "isActive": False},
    )["data"]["webhookEndpointUpdate"]
    assert same["secret"] is None and same["endpoint"]["isActive"] is False
    rotated = _as(
        merchant_api,
        tenants.acme_admin,
        "WebhookEndpointUpdate",
        {"id": endpoint["id"], "rotateSecret": True},
    )["data"]["webhookEndpointUpdate"]
    assert rotated["secret"] not in (None, secret)

    bad = _as(
        merchant_api,
        tenants.acme_admin,
        "WebhookEndpointUpdate",
        {"id": endpoint["id"], "url": "http://hooks.example.com", "eventTypes": []},
    )["data"]["webhookEndpointUpdate"]
    assert bad["errors"][0]["code"] == "INVALID_URL"
    empty = _as(
        merchant_api,
        tenants.acme_admin,
        "WebhookEndpointCreate",
        {"url": HOOK, "eventTypes": []},
    )["data"]["webhookEndpointCreate"]
    assert [e["code"] for e in empty["errors"]] == ["INVALID_EVENT_TYPES"]

    refused = _as(
        merchant_api,
        tenants.acme_operator,
        "WebhookEndpointCreate",
        {"url": HOOK, "eventTypes": ["BATCH_READY"]},
    )["data"]["webhookEndpointCreate"]
    assert [e["code"] for e in refused["errors"]] == ["PERMISSION_DENIED"]
    # Another merchant's staff cannot touch it.
    foreign = _as(
        merchant_api, tenants.beta_owner, "WebhookEndpointDelete", {"id": endpoint["id"]}, "beta"
    )["data"]["webhookEndpointDelete"]
    assert [e["code"] for e in foreign["errors"]] == ["NOT_FOUND"]

    deleted = _as(
        merchant_api, tenants.acme_admin, "WebhookEndpointDelete", {"id": endpoint["id"]}
    )["data"]["webhookEndpointDelete"]
    assert deleted == {"deletedId": endpoint["id"], "errors": []}
    listed = _as(merchant_api, tenants.acme_viewer, "WebhookEndpoints")["data"]
    assert listed["webhookEndpoints"]["edges"] == []


def test_too_many_endpoints(tenants: Tenants) -> None:
    for _ in range(services.MAX_ENDPOINTS_PER_MERCHANT):
        _endpoint(tenants.acme, EventType.BATCH_READY)
    with pytest.raises(DomainError) as exc:
        _endpoint(tenants.acme, EventType.BATCH_READY)
    assert exc.value.code == "TOO_MANY_ENDPOINTS"


def test_deliveries_list_filter_payload_by_role_and_redeliver(
    merchant_api: Api,
    tenants: Tenants,
    django_assert_max_num_queries: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    one = _endpoint(tenants.acme, EventType.CODE_CLAIMED)
    two = _endpoint(tenants.acme, EventType.CODE_CLAIMED, url="https://two.example.com/h")
    for n in range(3):
        events.record(tenants.acme.pk, EventType.CODE_CLAIMED, partial(dict, n=n))
    WebhookDelivery.objects.filter(endpoint=two).update(status=DeliveryStatus.DEAD)
    events.record(tenants.beta.pk, EventType.CODE_CLAIMED, lambda: {"beta": 1})  # no endpoint

    def deliveries(user: Any, **variables: Any) -> list[dict]:
        data = _as(merchant_api, user, "WebhookDeliveries", {"first": 50, **variables})["data"]
        return [edge["node"] for edge in data["webhookDeliveries"]["edges"]]

    with django_assert_max_num_queries(8):  # one page, not one query per row
        everything = deliveries(tenants.acme_operator)
    assert len(everything) == 6
    assert {json.loads(n["payload"])["data"]["n"] for n in everything} == {0, 1, 2}
    assert all(n["payload"] is None for n in deliveries(tenants.acme_viewer))
    one_id = to_global_id("WebhookEndpoint", one.pk)
    assert len(deliveries(tenants.acme_viewer, endpointId=one_id)) == 3
    dead = deliveries(tenants.acme_viewer, status="DEAD")
    assert len(dead) == 3 and {n["endpoint"]["url"] for n in dead} == {two.url}
    beta_view = _as(merchant_api, tenants.beta_owner, "WebhookDeliveries", {}, "beta")["data"]
    assert beta_view["webhookDeliveries"]["edges"] == []

    target = dead[0]["id"]
    refused = _as(merchant_api, tenants.acme_operator, "WebhookRedeliver", {"id": target})
    assert refused["data"]["webhookRedeliver"]["errors"][0]["code"] == "PERMISSION_DENIED"
    foreign = _as(merchant_api, tenants.beta_owner, "WebhookRedeliver", {"id": target}, "beta")
    assert foreign["data"]["webhookRedeliver"]["errors"][0]["code"] == "NOT_FOUND"
    with django_capture_on_commit_callbacks() as callbacks:
        again = _as(merchant_api, tenants.acme_admin, "WebhookRedeliver", {"id": target})
    payload = again["data"]["webhookRedeliver"]
    assert payload["errors"] == [] and payload["delivery"]["status"] == "PENDING"
    assert payload["delivery"]["attempts"] == 0
    assert len(callbacks) == 1  # queued
