"""Scanning as a consumer: ``claimCode``, ``scanPreview`` and the page at ``/s/<code>``.

Everything goes through the consumer API over HTTP (Django's test client) with the
operations the page itself sends (graphql/operations/consumer/), except the checks
that count SQL queries around the services.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.db.models import Sum
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import User
from accounts.sms import MemorySmsBackend
from campaigns.models import Campaign, CampaignStatus, Claim, Code, CodeBatch, ScanFailure
from campaigns.scan import codes
from campaigns.scan.claims import MAX_FAILURES_PER_CONSUMER, MAX_FAILURES_PER_IP, claim_code
from campaigns.scan.generation import generate_batch
from campaigns.scan.preview import preview_code
from campaigns.scan.services import create_batch, create_scan_campaign, void_batch
from campaigns.services import set_status
from core.errors import DomainError
from frontend.consumer.views import SCAN_OPERATIONS as PAGE_OPERATIONS
from frontend.pages import OPERATIONS_DIR
from points import ledger
from points.audit import audit
from points.models import Transaction, TransactionKind
from tenants.models import Merchant, MerchantStatus
from tests.fixtures.api import Api, access_token
from tests.fixtures.tenants import Tenants, fund

pytestmark = pytest.mark.django_db

# A code with a valid shape and check character for a merchant id that does not exist.
NO_MERCHANT_CODE = codes.new_code(codes.encode_merchant(codes.MAX_MERCHANT_ID))


@pytest.fixture
def acme(tenants: Tenants, unique: Callable[[str], str]) -> Merchant:
    fund(tenants.acme, 100_000, unique)
    return tenants.acme


def make_codes(
    merchant: Merchant,
    *,
    size: int = 4,
    points: int = 7,
    status: str = CampaignStatus.ACTIVE,
    name: str = "Tea caps",
    **campaign_kwargs: Any,
) -> tuple[Campaign, CodeBatch, list[str]]:
    """An active (by default) campaign with a generated batch; returns its codes by serial."""
    with tenant_context(merchant):
        campaign = create_scan_campaign(name=name, **campaign_kwargs)
        if status != CampaignStatus.DRAFT:
            set_status(merchant, campaign, CampaignStatus.ACTIVE)
        batch = generate_batch(
            create_batch(merchant, campaign, size=size, points_per_code=points).pk
        )
        if status not in (CampaignStatus.DRAFT, CampaignStatus.ACTIVE):
            set_status(merchant, campaign, status)
        found = list(
            Code.objects.filter(batch=batch).order_by("serial").values_list("code", flat=True)
        )
    return campaign, batch, found


def claim(
    api: Api, consumer: User | None, code: str, key: str = "key-1", **kwargs: Any
) -> dict[str, Any]:
    token = access_token(consumer) if consumer else None
    result = api.op("ClaimCode", {"code": code, "idempotencyKey": key}, token=token, **kwargs)
    assert "errors" not in result, result
    return result["data"]["claimCode"]


def error_code(payload: dict[str, Any]) -> str:
    assert len(payload["errors"]) == 1, payload
    assert payload["claim"] is None and payload["balance"] is None, payload
    return payload["errors"][0]["code"]


def preview(api: Api, code: str, **kwargs: Any) -> dict[str, Any]:
    return api.op("ScanPreview", {"code": code}, **kwargs)


def wallet_balance(consumer: User) -> int:
    return ledger.balance_of(ledger.wallet(consumer.pk))


def failures(merchant: Merchant, reason: str) -> int:
    with tenant_context(merchant):
        return ScanFailure.objects.filter(reason=reason).aggregate(n=Sum("count"))["n"] or 0


# --- Claiming -----------------------------------------------------------------------


def test_claim_earns_the_points_and_shows_the_new_balance(
    consumer_api: Api, acme: Merchant, consumer: User
) -> None:
    campaign, _batch, found = make_codes(acme, points=7, name="Spring caps")
    before = timezone.now()

    payload = claim(consumer_api, consumer, found[0])

    assert payload["errors"] == []
    assert payload["replayed"] is False
    assert payload["balance"] == 7 == wallet_balance(consumer)
    assert payload["claim"]["points"] == 7
    assert payload["claim"]["merchantName"] == "Acme Tea"
    assert payload["claim"]["campaignName"] == "Spring caps"
    assert datetime.fromisoformat(payload["claim"]["claimedAt"]) >= before
    # A second code adds up in the same wallet.
    second = claim(consumer_api, consumer, codes.pretty(found[1]).lower(), key="key-2")
    assert second["balance"] == 14
    with tenant_context(acme):
        assert Claim.objects.filter(consumer=consumer, campaign=campaign).count() == 2
        assert Code.objects.get(code=found[0]).claimed_by_id == consumer.pk
    assert audit() == []


def test_retry_with_the_same_key_replays_and_moves_no_more_points(
    consumer_api: Api, acme: Merchant, consumer: User
) -> None:
    _campaign, _batch, found = make_codes(acme, points=9)
    first = claim(consumer_api, consumer, found[0], key="retry-me")

    again = claim(consumer_api, consumer, found[0], key="retry-me")

    assert again["errors"] == [] and again["replayed"] is True
    assert again["claim"] == first["claim"]
    assert again["balance"] == first["balance"] == 9 == wallet_balance(consumer)
    awards = Transaction.objects.filter(kind=TransactionKind.AWARD, consumer_id=consumer.pk)
    assert awards.count() == 1
    # Another key for the same code is a new claim, and the code is used.
    assert error_code(claim(consumer_api, consumer, found[0], key="other")) == "ALREADY_CLAIMED"
    assert wallet_balance(consumer) == 9


def test_code_claimed_by_someone_else_reveals_no_identity(
    consumer_api: Api, acme: Merchant, new_phone: Callable[[], str]
) -> None:
    alice, _ = User.objects.get_or_create_consumer(new_phone())
    bob, _ = User.objects.get_or_create_consumer(new_phone())
    _campaign, _batch, found = make_codes(acme)
    claim(consumer_api, alice, found[0], key="alice")

    refused = claim(consumer_api, bob, found[0], key="alice")  # even with alice's key

    assert error_code(refused) == "ALREADY_CLAIMED"
    assert refused["errors"][0]["field"] == "code"
    seen = preview(consumer_api, found[0], token=access_token(bob))
    assert seen["data"]["scanPreview"]["status"] == "ALREADY_CLAIMED"
    phone = alice.phone
    assert phone is not None  # a consumer signs in by phone
    for answer in (refused, seen):
        text = json.dumps(answer)
        assert phone not in text and phone[3:] not in text
        assert "Consumer" not in text
    assert wallet_balance(bob) == 0


def test_malformed_and_mistyped_codes_are_refused_without_a_database_query(
    consumer_api: Api, acme: Merchant, consumer: User, django_assert_num_queries: Any
) -> None:
    _campaign, _batch, found = make_codes(acme)
    good = found[0]
    last = codes.ALPHABET[(codes.VALUE[good[-1]] + 1) % codes.BASE]
    middle = codes.ALPHABET[(codes.VALUE[good[9]] + 1) % codes.BASE]
    cases = {
        "MALFORMED_CODE": ["", "ABC", good[:-1] + "!", "https://example.com/s/x"],
        "INVALID_CHECK_CHARACTER": [good[:-1] + last, good[:9] + middle + good[10:]],
    }
    for expected, raws in cases.items():
        for raw in raws:
            with django_assert_num_queries(0), pytest.raises(DomainError) as exc:
                claim_code(consumer, raw, "key")
            assert exc.value.code == expected, raw
            with django_assert_num_queries(0), pytest.raises(DomainError) as exc:
                preview_code(raw, ip="198.51.100.7")
            assert exc.value.code == expected, raw
    # 19 letters and digits could be a printer's imported code (decision 0206): one
    # lookup of the routing table by primary key, then the same refusal.
    with django_assert_num_queries(1), pytest.raises(DomainError) as exc:
        claim_code(consumer, good + "0", "key")
    assert exc.value.code == "MALFORMED_CODE"
    # Through the API: a coded refusal, naming the argument.
    payload = claim(consumer_api, consumer, good[:-1] + last)
    assert payload["errors"] == [
        {
            "field": "code",
            "code": "INVALID_CHECK_CHARACTER",
            "message": payload["errors"][0]["message"],
        }
    ]
    result = preview(consumer_api, "not-a-code")
    assert result["data"] is None
    assert result["errors"][0]["extensions"]["code"] == "MALFORMED_CODE"
    assert wallet_balance(consumer) == 0


def test_unknown_codes(consumer_api: Api, acme: Merchant, consumer: User) -> None:
    make_codes(acme)
    never_made = codes.new_code(codes.encode_merchant(acme.pk))
    for code in (never_made, NO_MERCHANT_CODE):
        assert error_code(claim(consumer_api, consumer, code)) == "UNKNOWN_CODE"
        shown = preview(consumer_api, code)["data"]["scanPreview"]
        # Nothing about the merchant either, though its id is inside the code.
        assert shown == {
            "code": None,
            "status": "UNKNOWN",
            "merchantName": None,
            "campaignName": None,
            "campaignDescription": None,
            "points": None,
            "prizeTiers": None,
            "prizeGuarantee": None,
        }


@pytest.mark.parametrize(
    ("setup", "expected", "shown"),
    [
        ({"status": CampaignStatus.PAUSED}, "CAMPAIGN_NOT_ACTIVE", "NOT_ACTIVE"),
        ({"status": CampaignStatus.DRAFT}, "CAMPAIGN_NOT_ACTIVE", "NOT_ACTIVE"),
        ({"status": CampaignStatus.ENDED}, "CAMPAIGN_ENDED", "ENDED"),
        ({"starts_at": timedelta(days=1)}, "CAMPAIGN_NOT_ACTIVE", "NOT_ACTIVE"),
        ({"ends_at": -timedelta(minutes=1)}, "CAMPAIGN_ENDED", "ENDED"),
    ],
    ids=["paused", "draft", "ended", "not-started", "past-end-date"],
)
def test_campaign_not_running(
    consumer_api: Api,
    acme: Merchant,
    consumer: User,
    setup: dict[str, Any],
    expected: str,
    shown: str,
) -> None:
    now = timezone.now()
    kwargs: dict[str, Any] = {"status": setup.get("status", CampaignStatus.ACTIVE)}
    if "starts_at" in setup:
        kwargs["starts_at"] = now + setup["starts_at"]
    if "ends_at" in setup:
        kwargs.update(starts_at=now - timedelta(days=2), ends_at=now + setup["ends_at"])
    _campaign, _batch, found = make_codes(acme, **kwargs)

    assert error_code(claim(consumer_api, consumer, found[0])) == expected
    assert preview(consumer_api, found[0])["data"]["scanPreview"]["status"] == shown
    assert wallet_balance(consumer) == 0
    # Refusals caused by the merchant are not counted as guessing.
    assert failures(acme, expected) == 0


def test_paused_campaign_works_again_when_resumed(
    consumer_api: Api, acme: Merchant, consumer: User
) -> None:
    campaign, _batch, found = make_codes(acme, status=CampaignStatus.PAUSED)
    assert error_code(claim(consumer_api, consumer, found[0])) == "CAMPAIGN_NOT_ACTIVE"
    with tenant_context(acme):
        set_status(acme, campaign, CampaignStatus.ACTIVE)
    assert claim(consumer_api, consumer, found[0])["balance"] == 7


def test_voided_batch(consumer_api: Api, acme: Merchant, consumer: User) -> None:
    _campaign, batch, found = make_codes(acme)
    claim(consumer_api, consumer, found[0])
    with tenant_context(acme):
        void_batch(acme, batch)

    assert error_code(claim(consumer_api, consumer, found[1], key="k2")) == "CODE_VOIDED"
    assert preview(consumer_api, found[1])["data"]["scanPreview"]["status"] == "VOIDED"
    # Points already earned stay with the consumer.
    assert wallet_balance(consumer) == 7
    assert audit() == []


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (MerchantStatus.SUSPENDED, "MERCHANT_SUSPENDED"),
        (MerchantStatus.PENDING, "MERCHANT_NOT_ACTIVE"),
    ],
)
def test_merchant_that_cannot_award(
    consumer_api: Api, acme: Merchant, consumer: User, status: str, expected: str
) -> None:
    _campaign, _batch, found = make_codes(acme)
    Merchant.objects.filter(pk=acme.pk).update(status=status)  # rolled back after the test

    assert error_code(claim(consumer_api, consumer, found[0])) == expected
    assert preview(consumer_api, found[0])["data"]["scanPreview"]["status"] == "NOT_ACTIVE"
    assert wallet_balance(consumer) == 0


def test_per_consumer_campaign_limit(
    consumer_api: Api, acme: Merchant, consumer: User, new_phone: Callable[[], str]
) -> None:
    _campaign, _batch, found = make_codes(acme, size=5, max_claims_per_consumer=2)
    assert claim(consumer_api, consumer, found[0], key="a")["errors"] == []
    assert claim(consumer_api, consumer, found[1], key="b")["errors"] == []

    third = claim(consumer_api, consumer, found[2], key="c")

    assert error_code(third) == "CAMPAIGN_LIMIT_REACHED"
    assert wallet_balance(consumer) == 14
    # The code was not used up: someone else may still claim it.
    other, _ = User.objects.get_or_create_consumer(new_phone())
    assert claim(consumer_api, other, found[2], key="c")["balance"] == 7
    # A limit refusal is not guessing: it does not count toward the cool-down.
    assert failures(acme, "CAMPAIGN_LIMIT_REACHED") == 0


def test_daily_limit_counts_the_last_24_hours(
    consumer_api: Api, acme: Merchant, consumer: User
) -> None:
    campaign, _batch, found = make_codes(acme, size=5, max_claims_per_day=1)
    assert claim(consumer_api, consumer, found[0], key="a")["errors"] == []

    assert error_code(claim(consumer_api, consumer, found[1], key="b")) == "DAILY_LIMIT_REACHED"

    with tenant_context(acme):
        Claim.objects.filter(campaign=campaign).update(
            claimed_at=timezone.now() - timedelta(hours=25)
        )
    assert claim(consumer_api, consumer, found[1], key="b")["balance"] == 14


def test_failed_attempts_cool_the_consumer_down(
    consumer_api: Api, acme: Merchant, consumer: User, new_phone: Callable[[], str]
) -> None:
    _campaign, _batch, found = make_codes(acme)
    unknown_before = failures(acme, "UNKNOWN_CODE")
    for i in range(MAX_FAILURES_PER_CONSUMER):
        guess = codes.new_code(codes.encode_merchant(acme.pk))
        assert error_code(claim(consumer_api, consumer, guess, key=f"g{i}")) == "UNKNOWN_CODE"

    refused = claim(consumer_api, consumer, codes.new_code(codes.encode_merchant(acme.pk)))
    assert error_code(refused) == "RATE_LIMITED"
    seconds = re.search(r"(\d+)", refused["errors"][0]["message"])
    assert seconds and 0 < int(seconds.group(1)) <= 600, refused
    # Even a good code is refused now, for this consumer only.
    assert error_code(claim(consumer_api, consumer, found[0], key="good")) == "RATE_LIMITED"
    assert wallet_balance(consumer) == 0
    other, _ = User.objects.get_or_create_consumer(new_phone())
    assert claim(consumer_api, other, found[0], key="good")["balance"] == 7
    # The merchant sees the guesses (refusals while cooled down are not new guesses).
    assert failures(acme, "UNKNOWN_CODE") - unknown_before == MAX_FAILURES_PER_CONSUMER


def test_scan_failures_count_guesses_by_reason(
    consumer_api: Api, acme: Merchant, consumer: User, new_phone: Callable[[], str]
) -> None:
    _campaign, _batch, found = make_codes(acme)
    before = {r: failures(acme, r) for r in ("UNKNOWN_CODE", "ALREADY_CLAIMED")}
    claim(consumer_api, consumer, found[0])
    other, _ = User.objects.get_or_create_consumer(new_phone())
    for key in ("x", "y"):
        claim(consumer_api, other, found[0], key=key)
    claim(consumer_api, other, codes.new_code(codes.encode_merchant(acme.pk)))
    claim(consumer_api, other, "garbage")  # no merchant to tell

    assert failures(acme, "ALREADY_CLAIMED") - before["ALREADY_CLAIMED"] == 2
    assert failures(acme, "UNKNOWN_CODE") - before["UNKNOWN_CODE"] == 1
    with tenant_context(acme):
        today = ScanFailure.objects.filter(day=timezone.localdate()).values_list(
            "reason", flat=True
        )
        assert {"ALREADY_CLAIMED", "UNKNOWN_CODE"} <= set(today)


def test_claim_needs_a_signed_in_consumer(
    consumer_api: Api, acme: Merchant, tenants: Tenants
) -> None:
    _campaign, _batch, found = make_codes(acme)
    assert error_code(claim(consumer_api, None, found[0])) == "UNAUTHENTICATED"
    assert error_code(claim(consumer_api, tenants.acme_owner, found[0])) == "PERMISSION_DENIED"
    with tenant_context(acme):
        assert Code.objects.get(code=found[0]).claimed_at is None


def test_claim_needs_an_idempotency_key(consumer_api: Api, acme: Merchant, consumer: User) -> None:
    _campaign, _batch, found = make_codes(acme)
    for key in ("", "k" * 201):
        payload = claim(consumer_api, consumer, found[0], key=key)
        assert error_code(payload) == "INVALID_IDEMPOTENCY_KEY"
        assert payload["errors"][0]["field"] == "idempotencyKey"


# --- Preview --------------------------------------------------------------------------


def test_preview_shows_the_offer_without_sign_in(consumer_api: Api, acme: Merchant) -> None:
    _campaign, _batch, found = make_codes(
        acme, points=25, name="Autumn caps", description="Scan the cap."
    )
    result = preview(consumer_api, codes.pretty(found[0]).lower())
    assert result == {
        "data": {
            "scanPreview": {
                "code": found[0],
                "status": "CLAIMABLE",
                "merchantName": "Acme Tea",
                "campaignName": "Autumn caps",
                "campaignDescription": "Scan the cap.",
                "points": 25,
                "prizeTiers": None,
                "prizeGuarantee": None,
            }
        }
    }


def test_preview_costs_two_queries(acme: Merchant) -> None:
    _campaign, _batch, found = make_codes(acme)
    with CaptureQueriesContext(connection) as captured:
        assert preview_code(found[0], ip="203.0.113.9").status == "CLAIMABLE"
    # The merchant, then the code with its batch and campaign (django-tenants adds a
    # SET search_path when the schema changes).
    selects = [q["sql"] for q in captured if not q["sql"].startswith("SET search_path")]
    assert len(selects) == 2, selects


def test_preview_guesses_are_rate_limited_per_ip_with_failed_claims(
    consumer_api: Api, acme: Merchant, consumer: User
) -> None:
    _campaign, _batch, found = make_codes(acme)
    guesser = {"REMOTE_ADDR": "198.51.100.23"}
    for _ in range(MAX_FAILURES_PER_IP):
        guess = codes.new_code(codes.encode_merchant(acme.pk))
        shown = preview(consumer_api, guess, **guesser)["data"]["scanPreview"]
        assert shown["status"] == "UNKNOWN"

    refused = preview(consumer_api, found[0], **guesser)
    assert refused["data"] is None
    assert refused["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert re.search(r"\d+", refused["errors"][0]["message"])
    # The same window guards claims from that address...
    assert error_code(claim(consumer_api, consumer, found[0], **guesser)) == "RATE_LIMITED"
    # ...and nobody else.
    other = preview(consumer_api, found[0], REMOTE_ADDR="198.51.100.24")
    assert other["data"]["scanPreview"]["status"] == "CLAIMABLE"


# --- The page -------------------------------------------------------------------------


def _embedded(html: str, element_id: str) -> Any:
    match = re.search(
        rf'<script id="{element_id}" type="application/json">(.*?)</script>', html, re.S
    )
    assert match, f"no #{element_id} in the page"
    return json.loads(match.group(1))


def test_page_for_a_good_code_embeds_the_operations(
    client: Client, acme: Merchant, django_assert_num_queries: Any
) -> None:
    _campaign, _batch, found = make_codes(acme)
    with django_assert_num_queries(0):  # the page itself never queries; its script does
        response = client.get(f"/s/{found[0]}")
    assert response.status_code == 200
    html = response.content.decode()
    assert codes.pretty(found[0]) in html
    assert _embedded(html, "page-config") == {
        "code": found[0],
        "api": "/graphql/",
        # WeChat's JS-SDK, which the page loads only inside WeChat (wx.js).
        "jweixin": "/static/consumer/vendor/jweixin.js",
    }
    operations = _embedded(html, "page-operations")
    assert set(operations) == set(PAGE_OPERATIONS) >= {"ScanPreview", "ClaimCode", "SignInWithCode"}
    for name, document in operations.items():
        assert document == (OPERATIONS_DIR / "consumer" / f"{name}.graphql").read_text()
    assert 'type="module"' in html and "consumer/scan.js" in html
    assert 'name="viewport"' in html and '<label for="phone">' in html
    # A human message for every refusal a claim can give.
    messages = _embedded(html, "page-messages")
    claim_refusals = {
        "MALFORMED_CODE", "INVALID_CHECK_CHARACTER", "UNKNOWN_CODE", "ALREADY_CLAIMED",
        "CODE_VOIDED", "CAMPAIGN_NOT_ACTIVE", "CAMPAIGN_ENDED", "MERCHANT_SUSPENDED",
        "MERCHANT_NOT_ACTIVE", "CAMPAIGN_LIMIT_REACHED", "DAILY_LIMIT_REACHED", "RATE_LIMITED",
        "INVALID_IDEMPOTENCY_KEY", "UNAUTHENTICATED", "HIDDEN_CODE_REQUIRED", "HIDDEN_CODE_WRONG",
    }  # fmt: skip
    assert claim_refusals <= set(messages)
    assert all(messages.values())
    texts = _embedded(html, "page-texts")
    for status in ("CLAIMABLE", "ALREADY_CLAIMED", "NOT_ACTIVE", "ENDED", "VOIDED", "UNKNOWN"):
        assert texts[f"status_{status}"]


def test_page_accepts_a_typed_code_in_any_case_with_hyphens(client: Client, acme: Merchant) -> None:
    _campaign, _batch, found = make_codes(acme)
    response = client.get(f"/s/{codes.pretty(found[0]).lower()}")
    assert response.status_code == 200
    assert _embedded(response.content.decode(), "page-config")["code"] == found[0]


def test_page_for_a_malformed_code_is_a_friendly_404(
    client: Client, django_assert_num_queries: Any
) -> None:
    good = codes.new_code(codes.encode_merchant(1))
    typo = good[:-1] + codes.ALPHABET[(codes.VALUE[good[-1]] + 1) % codes.BASE]
    for raw, message in [
        ("hello", "This is not a valid code"),
        (typo, "This code has a typo"),
    ]:
        with django_assert_num_queries(0):
            response = client.get(f"/s/{raw}")
        assert response.status_code == 404
        html = response.content.decode()
        assert message in html
        assert 'role="alert"' in html and 'name="code"' in html  # a box to type the code
        assert "page-operations" not in html


def test_typed_code_form_goes_to_the_code_page(client: Client) -> None:
    response = client.get("/s/oops", {"code": " abcd-efgh ", "lang": "en"})
    assert response.status_code == 302
    assert response["Location"] == "/s/ABCDEFGH?lang=en"


def test_page_language(client: Client, acme: Merchant, settings: Any) -> None:
    _campaign, _batch, found = make_codes(acme)
    settings.LANGUAGE_CODE = "zh-hans"
    default = client.get(f"/s/{found[0]}")
    assert '<html lang="zh-hans">' in default.content.decode()
    assert default["Content-Language"] == "zh-hans"
    english = client.get(f"/s/{found[0]}", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert '<html lang="en">' in english.content.decode()
    chosen = client.get(f"/s/{found[0]}?lang=en", HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert '<html lang="en">' in chosen.content.decode()
    assert "Accept-Language" in chosen["Vary"]
    # English source strings: the page reads well with no compiled catalogue.
    assert "Mobile number" in chosen.content.decode()


def test_sign_in_then_claim_as_the_page_does(
    consumer_api: Api,
    acme: Merchant,
    new_phone: Callable[[], str],
    django_capture_on_commit_callbacks: Any,
) -> None:
    """The page's sequence of operations: preview, request a code, sign in, claim."""
    _campaign, _batch, found = make_codes(acme, points=12)
    phone = new_phone()
    assert preview(consumer_api, found[0])["data"]["scanPreview"]["status"] == "CLAIMABLE"
    with django_capture_on_commit_callbacks(execute=True):
        sent = consumer_api.op("RequestSignInCode", {"phone": phone})["data"]["requestSignInCode"]
    assert sent["errors"] == []
    sms = re.search(r"\b(\d{6})\b", MemorySmsBackend.outbox[-1].message)
    assert sms is not None, MemorySmsBackend.outbox[-1].message
    otp = sms.group(1)
    signed_in = consumer_api.op("SignInWithCode", {"phone": phone, "code": otp})["data"][
        "signInWithCode"
    ]
    token = signed_in["tokens"]["accessToken"]
    assert consumer_api.op("Me", token=token)["data"]["me"]["phone"] == phone
    claimed = consumer_api.op(
        "ClaimCode", {"code": found[0], "idempotencyKey": "page-key"}, token=token
    )["data"]["claimCode"]
    assert (claimed["errors"], claimed["balance"], claimed["claim"]["points"]) == ([], 12, 12)
