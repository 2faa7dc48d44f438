"""The console's API keys, webhooks and audit log screens in a real browser.

Against the live server (and, for webhooks, a real Celery worker and a real HTTP
receiver on this machine): an owner makes an API key, sees its secret once, and the
key works from another program over HTTP until it is revoked; an owner registers a
webhook endpoint, a claim is delivered to it (refused first, then redelivered from
the screen and verified with the secret the screen showed); the audit log lists what
was done, by whom, with its outcome. Lower roles are not offered what the API refuses.

``UPDATE_SCREENSHOTS=1`` writes ``docs/screenshots/console-{api-keys,webhooks,audit}-*.png``.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from graphql_relay import to_global_id

from accounts.models import User
from campaigns.scan.claims import claim_code
from tenants.models import ApiKey, AuditEvent, Membership, Role
from tests.browser.conftest import BrowserPage, Site
from tests.browser.test_console import funded_merchant, shoot_both, sign_in
from tests.fixtures.processes import free_port
from tests.fixtures.tenants import merchant_with_codes, staff_user
from webhooks import events as webhook_events
from webhooks import signing
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.browser

Shoot = Callable[[BrowserPage, str], object]


def merchant_api(site: Site, key: str, query: str) -> tuple[int, dict[str, Any]]:
    """One request to the merchant API as another program would send it, with a key."""
    request = urllib.request.Request(
        f"{site.url}/merchant/graphql/",
        data=json.dumps({"query": query}).encode(),
        headers={
            "Authorization": f"Bearer {key}",
            "Content-Type": "application/json",
            "User-Agent": "erp-sync/1.0",
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def accept_dialogs(page: BrowserPage) -> list[str]:
    """Answer every confirm() with OK; the messages asked, in order."""
    asked: list[str] = []

    def answer(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.page.on("dialog", answer)
    return asked


def test_an_api_key_is_shown_once_works_over_http_and_is_refused_once_revoked(
    committed_db: None,
    unique: Callable[[str], str],
    open_page: Callable[..., BrowserPage],
    shoot: Shoot,
    site: Site,
) -> None:
    owner = staff_user(f"{unique('owner')}@console.test")
    merchant = funded_merchant(unique, "Key Tea", owner)
    page = open_page("desktop")
    p = page.page
    asked = accept_dialogs(page)
    sign_in(page, owner.get_username())
    p.get_by_role("link", name="API keys").click()
    p.get_by_role("heading", name="New API key").wait_for()
    p.get_by_text("No API keys yet.").wait_for()

    # No permission chosen: said at the group, before any key is made.
    p.get_by_label("Name", exact=True).fill("ERP")
    p.get_by_role("button", name="Create key").click()
    p.get_by_text("Choose at least one permission for the key.").wait_for()
    assert p.locator("#k-scope-group").get_attribute("aria-invalid") == "true"
    p.get_by_role("checkbox", name=re.compile(r"^ledger:read")).check()
    # An expiry in the past is refused by the server, at its field.
    p.get_by_label("Expires on (optional)").fill("2001-01-01")
    p.get_by_role("button", name="Create key").click()
    p.locator("#k-expires-error").get_by_text("Not a valid expiry period.").wait_for()
    assert not ApiKey.objects.filter(merchant=merchant).exists()
    p.get_by_label("Expires on (optional)").fill("")
    p.get_by_role("button", name="Create key").click()

    box = p.get_by_role("region", name="API key “ERP” created")
    box.get_by_text("you will not see it again").wait_for()
    secret = box.get_by_label("Secret").input_value()
    assert re.fullmatch(r"lk_live_[a-z0-9]{8}_[\w-]{40,}", secret), secret
    key = ApiKey.objects.get(merchant=merchant)
    assert secret.startswith(key.prefix) and secret not in key.key_hash  # stored hashed
    row = p.get_by_role("row", name=re.compile(r"^ERP "))
    row.get_by_text(f"{key.prefix}_…").wait_for()
    row.get_by_text("ledger:read").wait_for()
    assert row.get_by_role("cell", name="Never", exact=True).count() == 2  # not used, no expiry
    shoot_both(page, shoot, "api-keys")

    # The key works from another program, within its permission only.
    status, body = merchant_api(site, secret, "{ budget { available } }")
    assert status == 200 and body["data"]["budget"]["available"] == 100_000, body
    status, body = merchant_api(
        site, secret, 'mutation { createScanCampaign(name: "From the ERP") { errors { code } } }'
    )
    assert body["data"]["createScanCampaign"]["errors"][0]["code"] == "SCOPE_MISSING", body

    # Shown once: gone once stored, and not on the page again after a reload.
    box.get_by_role("button", name="I have stored it").click()
    box.wait_for(state="detached")
    p.reload()
    row = p.get_by_role("row", name=re.compile(r"^ERP "))
    row.get_by_text("Active").wait_for()
    # Used now; still no expiry.
    assert row.get_by_role("cell", name="Never", exact=True).count() == 1
    assert secret not in p.content()

    row.get_by_role("button", name="Revoke the key ERP").click()
    row.get_by_text(re.compile(r"^Revoked ")).wait_for()
    assert any("Revoke the key “ERP”" in message for message in asked), asked
    assert row.get_by_role("button", name="Revoke the key ERP").count() == 0
    status, body = merchant_api(site, secret, "{ budget { available } }")
    assert status == 401, body
    assert body["errors"][0]["extensions"]["code"] == "API_KEY_REVOKED", body

    # The owner reads what was done, by whom and with which outcome.
    p.get_by_role("link", name="Audit log").click()
    p.get_by_role("heading", name="Events").wait_for()
    revoked = p.get_by_role("row", name=re.compile(r"apiKeyRevoke"))
    revoked.get_by_text(owner.email).wait_for()
    revoked.get_by_text(f"ApiKey {key.pk}").wait_for()
    revoked.get_by_text("Done").wait_for()
    refused = p.get_by_role("row", name=re.compile(r"createScanCampaign"))
    refused.get_by_text(key.prefix).wait_for()
    refused.get_by_text("(ERP)").wait_for()
    refused.get_by_text("Not done: SCOPE_MISSING").wait_for()
    refused.get_by_role("cell", name="From the ERP", exact=True).wait_for()
    refused.get_by_text("Details").click()
    refused.get_by_text("Browser or client: erp-sync/1.0").wait_for()
    created = p.get_by_role("row", name=re.compile(r"apiKeyCreate"))
    created.filter(has=p.get_by_text("Done", exact=True)).get_by_role(
        "cell", name="ERP", exact=True
    ).wait_for()
    created.filter(has_text="Not done: INVALID_EXPIRY").wait_for()
    # Newest first: the revocation, the key's refused call, the creation, the refused one.
    operations = p.locator("#events tbody tr td:nth-child(3)").all_inner_texts()
    assert operations == ["apiKeyRevoke", "createScanCampaign", "apiKeyCreate", "apiKeyCreate"]
    assert AuditEvent.objects.filter(merchant_id=merchant.pk).count() == 4
    shoot_both(page, shoot, "audit")

    p.get_by_label("Operation").select_option("apiKeyRevoke")
    p.get_by_role("row", name=re.compile(r"createScanCampaign")).wait_for(state="detached")
    assert p.locator("#events tbody tr").count() == 1

    # Days, in the browser's zone: nothing from tomorrow on; days in the wrong order
    # are refused at the field, before any request; today's events from today to today.
    p.get_by_label("Operation").select_option("")
    today, tomorrow = p.evaluate(
        """() => [0, 1].map((ahead) => {
          const d = new Date();
          d.setDate(d.getDate() + ahead);
          const pad = (n) => String(n).padStart(2, "0");
          return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
        })"""
    )
    filter_events = p.get_by_role("button", name="Filter the events")
    p.get_by_label("First day").fill(tomorrow)
    filter_events.click()
    p.get_by_text("Nothing recorded yet.").wait_for()
    p.get_by_label("Last day (included)").fill(today)
    filter_events.click()
    p.locator("#a-until-error").get_by_text("The end must be after the start.").wait_for()
    assert p.get_by_label("Last day (included)").get_attribute("aria-invalid") == "true"
    p.get_by_label("First day").fill(today)
    filter_events.click()
    p.locator("#a-until-error").wait_for(state="detached")
    p.locator("#events tbody tr").nth(3).wait_for()
    assert p.locator("#events tbody tr").count() == 4


class Receiver:
    """The merchant's server: answers 500 until ``healthy``, then verifies each delivery
    with the secret the console showed (signing.Receiver, as docs/webhooks.md says)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.healthy = False
        self.secret = ""
        self.requests: list[tuple[dict[str, str], bytes, int]] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = outer.answer(dict(self.headers), body)
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/loyalty"

    def answer(self, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            if not self.healthy:
                status = 500
            else:
                try:
                    signing.Receiver(self.secret).accept(headers, body)
                    status = 200
                except signing.InvalidSignature:
                    status = 400
            self.requests.append((headers, body, status))
            return status


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    yield made
    made.server.shutdown()
    made.server.server_close()


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_a_webhook_endpoint_gets_a_claim_and_a_redelivery_from_the_screen(
    committed_db: None,
    celery_worker: Any,
    unique: Callable[[str], str],
    open_page: Callable[..., BrowserPage],
    shoot: Shoot,
    new_phone: Callable[[], str],
    receiver: Receiver,
) -> None:
    owner = staff_user(f"{unique('owner')}@console.test")
    merchant, codes = merchant_with_codes(unique, size=2, points=5, owner=owner)
    page = open_page("desktop")
    p = page.page
    asked = accept_dialogs(page)
    sign_in(page, owner.get_username())
    p.get_by_role("link", name="Webhooks").click()
    p.get_by_role("heading", name="New endpoint").wait_for()
    p.get_by_text("No endpoints yet.").wait_for()

    # Plain http to a host the platform does not allow is refused at the field.
    p.get_by_label("URL").fill("http://example.com/hooks")
    p.get_by_role("checkbox", name=re.compile(r"^A code was claimed")).check()
    p.get_by_role("button", name="Add endpoint").click()
    refused = p.locator("#w-url-error")
    refused.get_by_text("Enter an https:// address of a public server.").wait_for()
    # (The test server allows http to 127.0.0.1, as WEBHOOK_ALLOW_HTTP_HOSTS does with DEBUG.)
    p.get_by_label("URL").fill(receiver.url)
    p.get_by_label("Description (optional)").fill("Order system")
    p.get_by_role("button", name="Add endpoint").click()
    box = p.get_by_role("region", name=re.compile(r"signing secret"))
    box.get_by_text("you will not see it again").wait_for()
    receiver.secret = box.get_by_label("Secret").input_value()
    endpoint = WebhookEndpoint.objects.get(merchant=merchant)
    assert receiver.secret == endpoint.secret and receiver.secret.startswith("whsec_")
    item = p.locator(".endpoint", has_text=receiver.url)
    item.get_by_text(f"Secret …{receiver.secret[-4:]}").wait_for()
    item.get_by_text("code.claimed").wait_for()

    # A consumer claims a code: the worker delivers it; the receiver answers 500. (This
    # process cached "no endpoints" a moment ago: subscriptions are cached per process
    # for a few seconds, and the endpoint was made in the server's.)
    webhook_events.forget(merchant.pk)
    consumer, _created = User.objects.get_or_create_consumer(new_phone())
    claim_code(consumer, codes[0], unique("claim"))
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    wait_until(
        lambda: WebhookDelivery.objects.get(pk=delivery.pk).status == DeliveryStatus.FAILED,
        "the first attempt to fail",
    )
    item.get_by_role("button", name="Deliveries").click()
    assert p.get_by_label("Endpoint", exact=True).input_value() == to_global_id(
        "WebhookEndpoint", endpoint.pk
    )
    row = p.locator("#deliveries tbody tr").first
    row.get_by_text("Failed, will retry").wait_for()
    row.get_by_text("HTTP 500").wait_for()
    row.get_by_text(str(delivery.event_id), exact=True).wait_for()
    row.get_by_text("code.claimed", exact=True).wait_for()

    # The server is fixed; the owner sends the event again from the screen.
    receiver.healthy = True
    row.get_by_role("button", name=re.compile(r"^Redeliver ")).click()
    row = p.locator("#deliveries tbody tr").first
    row.get_by_text("Delivered").wait_for(timeout=60_000)
    row.get_by_text("HTTP 200").wait_for()
    row.get_by_role("button", name="Show payload").click()
    p.locator("#deliveries pre").get_by_text(codes[0]).wait_for()
    event_ids = {headers[signing.EVENT_ID_HEADER] for headers, _body, _status in receiver.requests}
    assert event_ids == {str(delivery.event_id)}  # the same event, sent again
    statuses = [status for *_rest, status in receiver.requests]
    assert statuses[0] == 500 and statuses[-1] == 200, statuses
    shoot_both(page, shoot, "webhooks")

    # Edit the events and pause it; rotate the secret; delete it.
    item = p.locator(".endpoint", has_text=receiver.url)
    item.get_by_role("button", name="Edit").click()
    item.get_by_role("checkbox", name=re.compile(r"^A code batch is ready")).check()
    item.get_by_role("checkbox", name="Active: send events to it").uncheck()
    item.get_by_role("button", name="Save").click()
    item = p.locator(".endpoint", has_text=receiver.url)
    item.get_by_text("batch.ready").wait_for()
    item.get_by_text("Paused: events wait").wait_for()
    endpoint.refresh_from_db()
    assert sorted(endpoint.event_types) == ["batch.ready", "code.claimed"]
    assert not endpoint.is_active

    item.get_by_role("button", name="New secret").click()
    rotated = p.get_by_role("region", name=re.compile(r"^New signing secret"))
    new_secret = rotated.get_by_label("Secret").input_value()
    endpoint.refresh_from_db()
    assert new_secret == endpoint.secret != receiver.secret

    p.locator(".endpoint", has_text=receiver.url).get_by_role("button", name="Delete").click()
    p.get_by_text("No endpoints yet.").wait_for()
    p.locator("#deliveries tbody tr").first.get_by_text("Endpoint deleted").wait_for()
    assert any("Delete the endpoint" in message for message in asked), asked

    p.get_by_role("link", name="Audit log").click()
    for mutation in ("webhookEndpointCreate", "webhookRedeliver", "webhookEndpointDelete"):
        p.get_by_role("row", name=re.compile(mutation)).first.wait_for()
    failed = p.get_by_role("row", name=re.compile("webhookEndpointCreate")).filter(
        has_text="INVALID_URL"
    )
    failed.get_by_role("cell", name="http://example.com/hooks", exact=True).wait_for()


def test_lower_roles_are_not_offered_what_the_api_refuses(
    committed_db: None,
    unique: Callable[[str], str],
    open_page: Callable[..., BrowserPage],
) -> None:
    owner = staff_user(f"{unique('owner')}@console.test")
    merchant = funded_merchant(unique, "Roles Tea", owner)
    WebhookEndpoint.objects.create(
        merchant=merchant,
        url="https://erp.example.com/hooks",
        secret="whsec_test_only_1234",
        event_types=["code.claimed"],
    )
    admin = staff_user(f"{unique('admin')}@console.test")
    viewer = staff_user(f"{unique('viewer')}@console.test")
    Membership.objects.create(merchant=merchant, user=admin, role=Role.ADMIN)
    Membership.objects.create(merchant=merchant, user=viewer, role=Role.VIEWER)

    # An admin manages keys and webhooks but does not read the audit log.
    page = open_page("desktop")
    p = page.page
    sign_in(page, admin.get_username())
    nav = p.get_by_role("navigation", name="Console")
    assert nav.get_by_role("link", name="API keys").is_visible()
    assert not nav.get_by_role("link", name="Audit log").is_visible()
    p.goto("/console/audit/")
    p.get_by_text("Only owners read the audit log.").wait_for()
    assert not p.get_by_role("heading", name="Events").is_visible()

    # A viewer reads the endpoints, without the actions or the payloads.
    other = open_page("phone")
    q = other.page
    sign_in(other, viewer.get_username())
    nav = q.get_by_role("navigation", name="Console")
    assert not nav.get_by_role("link", name="API keys").is_visible()
    assert not nav.get_by_role("link", name="Audit log").is_visible()
    nav.get_by_role("link", name="Webhooks").click()
    item = q.locator(".endpoint", has_text="https://erp.example.com/hooks")
    item.get_by_text("Secret …1234").wait_for()
    assert item.get_by_role("button").all_inner_texts() == ["Deliveries"]
    assert not q.get_by_role("heading", name="New endpoint").is_visible()
    q.goto("/console/api-keys/")
    q.get_by_text("Only admins and owners manage API keys.").wait_for()
    assert not q.get_by_role("heading", name="New API key").is_visible()
