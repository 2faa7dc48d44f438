"""A redeem, a submit and a claim check an unchecked bearer's session in their own
statement (decisions 0343, 0344, 0345).

A consumer-API request whose session this process has not checked lately is deferred
(``accounts.tokens.defer``): the view checks it before any operation, except a lone
mutation whose statement checks it itself (``Redeem``, ``SubmitResponse``, ``ClaimCode``:
``accounts.tokens.gated``), and after that one when no gate admitted the bearer. These
tests hold the gate to its promises: one statement when it admits, nothing written and
the same answers as before when it refuses or the mutation refuses first, and never
admitting what the full check refuses (the sweep, for each caller, shown to fail on a
planted gate).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context
from graphql_relay import to_global_id

from accounts import tokens
from accounts.errors import AuthError
from accounts.models import AuthSession, User
from accounts.session_cache import sessions
from campaigns.models import Claim, Code, Response
from campaigns.questionnaires.links import questionnaire_link
from campaigns.scan import events as scan_events
from campaigns.scan.claims import MAX_FAILURES_PER_CONSUMER
from campaigns.tests.test_consumer_claims import make_codes
from campaigns.tests.test_questionnaire_api import GOOD, create
from core import ratelimit
from points.models import Transaction
from redemption import services as mall
from redemption.models import Category, Order, Product, ProductKind
from redemption.tests.helpers import earn, listed_product, new_address, new_category
from tests.fixtures.api import Api, access_token
from tests.fixtures.tenants import Tenants, fund
from webhooks import events, payloads, services
from webhooks.models import EventType, WebhookDelivery

EVENT = EventType.QUESTIONNAIRE_ANSWERED

GATE_FILE = "accounts/sql/accounts_session_ok.sql"


@pytest.fixture
def category(db: None, tenants: Tenants) -> Category:
    return new_category()


def _redeem(
    api: Api, token: str, product: Product, *, address: int | None, key: str, **kwargs: Any
) -> dict[str, Any]:
    variables = {
        "productId": to_global_id("Product", product.pk),
        "quantity": 1,
        "addressId": None if address is None else to_global_id("Address", address),
        "idempotencyKey": key,
    }
    return api.op("Redeem", variables, token=token, **kwargs)


def _unchecked(token: str) -> str:
    """``token``, its session in no process cache (as for a bearer's first request)."""
    sessions._entries.clear()
    return token


def _wechat_consumer() -> User:
    """A consumer who signed in inside WeChat only: no phone, no email."""
    return User.objects.create(phone=None, email=None)


def test_an_unchecked_session_redeems_in_one_statement(
    consumer_api: Api, tenants: Tenants, consumer: User, category: Category
) -> None:
    earn(tenants.acme, consumer, 500)
    product = listed_product(category, price=100, stock=3)
    token = _unchecked(access_token(consumer))
    with CaptureQueriesContext(connection) as queries:
        answer = _redeem(
            consumer_api, token, product, address=new_address(consumer).pk, key="gate-1"
        )["data"]["redeem"]
    assert answer["errors"] == [] and answer["balance"] == 400
    statements = [q["sql"] for q in queries.captured_queries]
    # The session was read by the redeem's statement only, never on its own.
    assert [s for s in statements if "accounts_" in s] == [
        s for s in statements if "redemption_redeem" in s
    ]
    assert len([s for s in statements if "accounts_session_ok" in s]) == 1
    # The next request reads it (nothing kept a copy of a row the gate never returned).
    again = _redeem(consumer_api, token, product, address=None, key="gate-1")["data"]["redeem"]
    assert again["replayed"] is True


# Each way a session may no longer act (``_refuse``), with the 401's code.
refused_sessions = pytest.mark.parametrize(
    ("case", "code"),
    [("revoked", "SESSION_REVOKED"), ("expired", "TOKEN_EXPIRED"), ("inactive", "TOKEN_EXPIRED")],
)


def _refuse(case: str, consumer: User, token: str) -> None:
    session = AuthSession.objects.get(pk=tokens.verify(token).session_id)
    if case == "revoked":
        tokens.revoke(session)
    elif case == "expired":
        AuthSession.objects.filter(pk=session.pk).update(expires_at=timezone.now())
    else:
        User.objects.filter(pk=consumer.pk).update(is_active=False)


def _answered_401(
    case: str, code: str, consumer: User, send: Callable[[str], dict[str, Any]]
) -> None:
    """``send`` with a token of ``consumer`` whose session was then refused as ``case``:
    answered 401 with ``code``, no data, and no ledger transaction written."""
    token = access_token(consumer)
    _refuse(case, consumer, token)
    transactions = Transaction.objects.count()
    answer = send(token)
    assert [e["extensions"]["code"] for e in answer["errors"]] == [code]
    assert "data" not in answer
    assert Transaction.objects.count() == transactions


@refused_sessions
def test_a_refused_session_is_answered_401_and_redeems_nothing(
    consumer_api: Api, tenants: Tenants, consumer: User, category: Category, case: str, code: str
) -> None:
    earn(tenants.acme, consumer, 500)
    product = listed_product(category, price=100, stock=3)
    address = new_address(consumer).pk
    _answered_401(
        case,
        code,
        consumer,
        lambda token: _redeem(
            consumer_api, _unchecked(token), product, address=address, key="r-1", expect_status=401
        ),
    )
    product.refresh_from_db()
    assert product.stock == 3 and not Order.objects.filter(consumer=consumer).exists()


def test_what_the_gate_refuses_the_full_way_answers_as_before(
    consumer_api: Api, tenants: Tenants, category: Category, staff_token: str
) -> None:
    goods = listed_product(category, price=100, stock=3)
    coupon = listed_product(category, price=100, stock=0, kind=ProductKind.COUPON)
    mall.upload_coupons(coupon, "code\nGATE-1\n")
    # Staff (an email, no phone) may not redeem.
    answer = _redeem(consumer_api, _unchecked(staff_token), goods, address=None, key="s-1")
    assert [e["code"] for e in answer["data"]["redeem"]["errors"]] == ["PERMISSION_DENIED"]
    # A WeChat-only consumer: goods that ship need a phone; a coupon does not.
    wechat = _wechat_consumer()
    earn(tenants.acme, wechat, 500)
    token = access_token(wechat)
    answer = _redeem(consumer_api, _unchecked(token), goods, address=None, key="w-1")
    assert [e["code"] for e in answer["data"]["redeem"]["errors"]] == ["PHONE_REQUIRED"]
    answer = _redeem(consumer_api, _unchecked(token), coupon, address=None, key="w-2")
    assert answer["data"]["redeem"]["errors"] == [] and answer["data"]["redeem"]["balance"] == 400


@pytest.fixture
def staff_token(db: None, tenants: Tenants) -> str:
    return access_token(tenants.acme_owner)


def test_every_other_operation_checks_the_session_before_it_runs(
    consumer_api: Api, tenants: Tenants, consumer: User, category: Category
) -> None:
    earn(tenants.acme, consumer, 500)
    product = listed_product(category, price=100, stock=3)
    token = access_token(consumer)
    tokens.revoke(AuthSession.objects.get(pk=tokens.verify(token).session_id))
    for document in (
        "{ me { id } }",
        # Two redeems in one operation: no longer the one statement that checks.
        "mutation($p: ID!) { a: redeem(productId: $p, quantity: 1, idempotencyKey: 'a1')"
        " { replayed } b: redeem(productId: $p, quantity: 1, idempotencyKey: 'b1')"
        " { replayed } }".replace("'", '"'),
        "{ nope }",  # a document that fails validation
    ):
        answer = consumer_api.query(
            document,
            {"p": to_global_id("Product", product.pk)} if "$p" in document else None,
            token=_unchecked(token),
            expect_status=401,
        )
        assert answer["errors"][0]["extensions"]["code"] == "SESSION_REVOKED"
    product.refresh_from_db()
    assert product.stock == 3


# --- The gate never admits what the full check refuses ----------------------------------


VALID = {"revoked": False, "expired": False, "active": True, "email": None,
         "phone": "+8613800138000", "own": True}  # fmt: skip


def _states() -> Iterator[dict[str, Any]]:
    """Every combination of what the full way looks at (``own``: the token names a
    session of its user, not another's)."""
    values = ((False, True), (False, True), (True, False), (None, "x@example.com"),
              (None, "", "+8613800138000"), (True, False))  # fmt: skip
    for combination in itertools.product(*values):
        yield dict(zip(VALID, combination, strict=True))


def _sweep(phone: bool) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The states the gate admits, and those of them the full way would refuse, for a
    caller that needs a phone (the redeem) or not (the submit)."""
    admitted, violations = [], []
    now = timezone.now()
    for number, state in enumerate(_states()):
        own_phone = state["phone"]
        user = User.objects.create(
            email=state["email"] and f"{number}-{state['email']}",
            phone=own_phone and f"{own_phone[:-3]}{number:03d}",
            is_active=state["active"],
        )
        other = User.objects.create(phone=f"+8613900{number:06d}")
        session = AuthSession.objects.create(
            user=user if state["own"] else other,
            refresh_hash=f"gate-sweep-{number}",
            expires_at=now + timedelta(seconds=-1 if state["expired"] else 3600),
            revoked_at=now if state["revoked"] else None,
        )
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT public.accounts_session_ok(%s, %s, %s, %s)",
                [session.pk, user.pk, now, phone],
            )
            row = cursor.fetchone()
        sessions._entries.clear()
        try:
            checked, _session = tokens.check(tokens.Bearer(session.pk, user.pk))
        except AuthError:
            full = False
        else:
            # The full way's further refusals: staff; goods that ship without a phone.
            full = checked.is_consumer and (bool(checked.phone) or not phone)
        if row is not None and row[0]:
            admitted.append(state)
            if not full:
                violations.append(state)
        # One user at a time: a phone of "" is unique too.
        session.delete()
        User.objects.filter(pk__in=[user.pk, other.pk]).delete()
    return admitted, violations


WECHAT_ONLY = [{**VALID, "phone": None}, {**VALID, "phone": ""}]


@pytest.mark.parametrize(
    ("phone", "admits"),
    [
        (True, [VALID, {**VALID, "email": "x@example.com"}]),
        (False, [*WECHAT_ONLY, VALID, {**VALID, "email": "x@example.com"}]),
    ],
    ids=["redeem", "submit and claim"],
)
def test_the_gate_never_admits_what_the_full_way_refuses(
    db: None, tenants: Tenants, phone: bool, admits: list[dict[str, Any]]
) -> None:
    admitted, violations = _sweep(phone)
    assert violations == []
    # What it is for (a phone makes a consumer, an email or not; without a phone, no
    # email does): else the sweep proves nothing.
    assert admitted == admits


def test_the_sweep_fails_on_a_planted_gate(db: None, tenants: Tenants) -> None:
    """The gate without its ``is_active`` condition: the sweep reports the inactive user."""
    with open(GATE_FILE) as sql:
        planted = sql.read().replace("AND u.is_active\n", "")
    assert "u.is_active" not in planted
    with connection.cursor() as cursor:
        cursor.execute(planted)  # rolled back with the test's transaction
    _admitted, violations = _sweep(phone=True)
    inactive = {**VALID, "active": False}
    assert violations == [inactive, {**inactive, "email": "x@example.com"}]


# --- The submit (decision 0344) ----------------------------------------------------------


@pytest.fixture
def questionnaire(
    db: None, merchant_api: Api, tenants: Tenants, unique: Callable[[str], str]
) -> dict[str, Any]:
    fund(tenants.acme, 100_000, unique)
    return create(merchant_api, tenants, cap=5, points=20)


def _submit(api: Api, token: str, link: str, *, key: str = "s-1", **kwargs: Any) -> dict[str, Any]:
    share = kwargs.pop("share", None)
    variables: dict[str, Any] = {"link": link, "answers": json.dumps(GOOD), "idempotencyKey": key}
    if share is not None:
        variables["shareWithMerchant"] = share
    return api.op("SubmitResponse", variables, token=_unchecked(token), **kwargs)


@pytest.mark.parametrize("who", ["phone", "wechat"])
def test_an_unchecked_session_submits_in_one_statement(
    consumer_api: Api, questionnaire: dict[str, Any], consumer: User, who: str
) -> None:
    user = consumer if who == "phone" else _wechat_consumer()
    token = access_token(user)
    with CaptureQueriesContext(connection) as queries:
        answer = _submit(consumer_api, token, questionnaire["link"])["data"]["submitResponse"]
    assert answer["errors"] == [] and answer["balance"] == 20
    statements = [q["sql"] for q in queries.captured_queries]
    # Only the function's calls read the session, each gated. (Inside the test's
    # transaction the process never keeps the version answered, so the first call learns
    # it and a second one submits: outside, a known version's submit is one call.)
    calls = [s for s in statements if "campaigns_submit_response" in s]
    assert [s for s in statements if "accounts_" in s] == calls
    assert calls and all("accounts_session_ok" in s for s in calls)
    # A retry reads the consumer (the earlier response is theirs): the session with it.
    again = _submit(consumer_api, token, questionnaire["link"])["data"]["submitResponse"]
    assert again["errors"] == [] and again["replayed"] is True
    other = _submit(consumer_api, token, questionnaire["link"], key="s-2")
    codes = [e["code"] for e in other["data"]["submitResponse"]["errors"]]
    assert codes == ["ALREADY_RESPONDED"]


def test_the_first_answer_to_a_merchant_asks_consent_through_the_gate(
    consumer_api: Api,
    tenants: Tenants,
    questionnaire: dict[str, Any],
    consumer: User,
    settings: Any,
) -> None:
    settings.MERCHANT_CONSENT_REQUIRED = True
    token = access_token(consumer)
    asked = _submit(consumer_api, token, questionnaire["link"])["data"]["submitResponse"]
    assert [e["code"] for e in asked["errors"]] == ["MERCHANT_CONSENT_REQUIRED"]
    given = _submit(consumer_api, token, questionnaire["link"], share=True)
    assert given["data"]["submitResponse"]["errors"] == []
    with tenant_context(tenants.acme):
        assert Response.objects.filter(consumer=consumer).count() == 1


@refused_sessions
def test_a_refused_session_is_answered_401_and_submits_nothing(
    consumer_api: Api,
    tenants: Tenants,
    questionnaire: dict[str, Any],
    consumer: User,
    case: str,
    code: str,
) -> None:
    _answered_401(
        case,
        code,
        consumer,
        lambda token: _submit(consumer_api, token, questionnaire["link"], expect_status=401),
    )
    with tenant_context(tenants.acme):
        assert not Response.objects.filter(consumer=consumer).exists()


def test_what_a_mutation_refuses_before_its_gate_gives_way_to_the_full_way(
    consumer_api: Api,
    tenants: Tenants,
    questionnaire: dict[str, Any],
    consumer: User,
    staff_token: str,
    category: Category,
) -> None:
    """An argument refused before the gated statement: a refused session still gets its
    401, staff still PERMISSION_DENIED, as when the session was checked first."""
    product = listed_product(category, price=100, stock=3)
    unknown = questionnaire_link(tenants.acme.pk, "999999999")  # no such campaign
    token = access_token(consumer)
    # A live session: the refusals themselves.
    assert [
        e["code"] for e in _submit(consumer_api, token, unknown)["data"]["submitResponse"]["errors"]
    ] == ["NOT_FOUND"]
    assert [
        e["code"]
        for e in _submit(consumer_api, token, questionnaire["link"], key="")["data"][
            "submitResponse"
        ]["errors"]
    ] == ["INVALID_IDEMPOTENCY_KEY"]
    assert [
        e["code"]
        for e in _redeem(consumer_api, _unchecked(token), product, address=None, key="")["data"][
            "redeem"
        ]["errors"]
    ] == ["INVALID_IDEMPOTENCY_KEY"]
    # Staff: PERMISSION_DENIED first, as require_consumer answers before the link's lookup.
    refused = _submit(consumer_api, staff_token, unknown)["data"]["submitResponse"]["errors"]
    assert [e["code"] for e in refused] == ["PERMISSION_DENIED"]
    # A revoked session: 401, whatever came first.
    tokens.revoke(AuthSession.objects.get(pk=tokens.verify(token).session_id))
    for answer in (
        _submit(consumer_api, token, unknown, expect_status=401),
        _submit(consumer_api, token, questionnaire["link"], key="", expect_status=401),
        _redeem(consumer_api, _unchecked(token), product, address=None, key="", expect_status=401),
        # Refused by GraphQL before the mutation runs (a variable of the wrong type).
        consumer_api.op(
            "Redeem",
            {"productId": "x", "quantity": "one", "idempotencyKey": "r-2"},
            token=_unchecked(token),
            expect_status=401,
        ),
    ):
        assert [e["extensions"]["code"] for e in answer["errors"]] == ["SESSION_REVOKED"]
    with tenant_context(tenants.acme):
        assert not Response.objects.filter(consumer=consumer).exists()


def test_a_listening_merchant_gets_the_consumer_in_its_event_through_the_gate(
    consumer_api: Api, tenants: Tenants, questionnaire: dict[str, Any], consumer: User
) -> None:
    """The event's payload reads the lazy user (its masked phone): the session is read
    with it, and the payload is the one the full way writes."""
    services.create_endpoint(
        tenants.acme, url="https://hooks.example.com/loyalty", event_types=[EVENT]
    )
    events._cache.clear()
    try:
        answer = _submit(consumer_api, access_token(consumer), questionnaire["link"])
    finally:
        events._cache.clear()
    assert answer["data"]["submitResponse"]["errors"] == []
    [row] = WebhookDelivery.objects.filter(merchant=tenants.acme, event_type=EVENT)
    assert row.payload["data"]["consumer"] == payloads.consumer(tenants.acme.pk, consumer)
    assert row.payload["data"]["consumer"]["maskedPhone"] == consumer.masked_phone


# --- The claim (decision 0345) -----------------------------------------------------------


@pytest.fixture
def scan_codes(db: None, tenants: Tenants, unique: Callable[[str], str]) -> list[str]:
    fund(tenants.acme, 100_000, unique)
    return make_codes(tenants.acme, size=4, points=7)[2]


def _claim(api: Api, token: str, code: str, *, key: str = "c-1", **kwargs: Any) -> dict[str, Any]:
    variables = {"code": code, "idempotencyKey": key}
    return api.op("ClaimCode", variables, token=_unchecked(token), **kwargs)


def _listening(merchant: Any, event: str) -> None:
    services.create_endpoint(merchant, url="https://hooks.example.com/loyalty", event_types=[event])
    events._cache.clear()


@pytest.mark.parametrize("who", ["phone", "wechat"])
def test_an_unchecked_session_claims_in_one_statement(
    consumer_api: Api, tenants: Tenants, scan_codes: list[str], consumer: User, who: str
) -> None:
    """With a merchant listening to code.claimed: the event's consumer (its masked phone)
    comes from the claim's statement, not from a read of the user."""
    user = consumer if who == "phone" else _wechat_consumer()
    token = access_token(user)
    _listening(tenants.acme, EventType.CODE_CLAIMED)
    try:
        with CaptureQueriesContext(connection) as queries:
            answer = _claim(consumer_api, token, scan_codes[0])["data"]["claimCode"]
    finally:
        events._cache.clear()
    assert answer["errors"] == [] and answer["balance"] == 7
    statements = [q["sql"] for q in queries.captured_queries]
    calls = [s for s in statements if "campaigns_claim_code" in s]
    assert len(calls) == 1 and "accounts_session_ok" in calls[0]
    assert [s for s in statements if "accounts_" in s] == calls
    [row] = WebhookDelivery.objects.filter(merchant=tenants.acme, event_type="code.claimed")
    assert row.payload["data"]["consumer"] == payloads.consumer(tenants.acme.pk, user)
    assert row.payload["data"]["consumer"]["maskedPhone"] == user.masked_phone
    # A retry reads the consumer (the earlier claim is theirs): the session with it.
    again = _claim(consumer_api, token, scan_codes[0])["data"]["claimCode"]
    assert again["errors"] == [] and again["replayed"] is True and again["balance"] == 7
    taken = _claim(consumer_api, token, scan_codes[0], key="c-2")["data"]["claimCode"]
    assert [e["code"] for e in taken["errors"]] == ["ALREADY_CLAIMED"]


@refused_sessions
def test_a_refused_session_is_answered_401_and_claims_nothing(
    consumer_api: Api,
    tenants: Tenants,
    scan_codes: list[str],
    consumer: User,
    case: str,
    code: str,
) -> None:
    scans = scan_events.backlog()["queued"]
    _answered_401(
        case,
        code,
        consumer,
        lambda token: _claim(consumer_api, token, scan_codes[0], expect_status=401),
    )
    with tenant_context(tenants.acme):
        assert not Code.objects.filter(code=scan_codes[0], claimed_at__isnull=False).exists()
        assert not Claim.objects.exists()
    # No scan event names a consumer whose session may not act (the full way refuses
    # before the event, as it always did).
    assert scan_events.backlog()["queued"] == scans


def test_what_a_claim_refuses_before_its_gate_gives_way_to_the_full_way(
    consumer_api: Api,
    tenants: Tenants,
    scan_codes: list[str],
    consumer: User,
    staff_token: str,
) -> None:
    """Refusals before the claim's statement (a malformed code, the cool-down): a live
    session gets them, counted once; a revoked one gets its 401, counted never and with
    no scan event; staff PERMISSION_DENIED, as when the session was checked first."""
    token = access_token(consumer)
    malformed = scan_codes[0][:-1] + ("A" if scan_codes[0][-1] != "A" else "B")
    failures = f"scan-fail:consumer:{consumer.pk}"
    refused = _claim(consumer_api, token, malformed)["data"]["claimCode"]["errors"]
    assert [e["code"] for e in refused] in (["INVALID_CHECK_CHARACTER"], ["MALFORMED_CODE"])
    assert ratelimit.hit(failures, MAX_FAILURES_PER_CONSUMER, 600).count == 2  # once, then now
    for _ in range(MAX_FAILURES_PER_CONSUMER):
        ratelimit.hit(failures, MAX_FAILURES_PER_CONSUMER, 600)
    cooled = _claim(consumer_api, token, scan_codes[1])["data"]["claimCode"]["errors"]
    assert [e["code"] for e in cooled] == ["RATE_LIMITED"]
    staff = _claim(consumer_api, staff_token, scan_codes[1])["data"]["claimCode"]["errors"]
    assert [e["code"] for e in staff] == ["PERMISSION_DENIED"]
    tokens.revoke(AuthSession.objects.get(pk=tokens.verify(token).session_id))
    scans = scan_events.backlog()["queued"]
    for code in (malformed, scan_codes[1]):
        answer = _claim(consumer_api, token, code, expect_status=401)
        assert [e["extensions"]["code"] for e in answer["errors"]] == ["SESSION_REVOKED"]
    assert scan_events.backlog()["queued"] == scans
    with tenant_context(tenants.acme):
        assert not Claim.objects.exists()
