"""Claiming a printer's code whose label has a hidden code (刮开涂层, decision 0314).

A guessable imported file is accepted only with hidden codes (decision 0291); its codes'
routing rows say so, and ``claimCode`` and ``scanPreview`` then need the label's secret:
refused with a code and nothing written without it or with a wrong one (wrong ones limited
per code and per client), claimed once with it. Our own codes' claim is unchanged: the
same one SQL statement (checked below) and the same Redis commands
(tests/test_claim_redis.py).

Real PostgreSQL and Redis, through the consumer API with the page's own operations.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from accounts.models import User
from campaigns.models import Claim, Code
from campaigns.scan import claims, hidden, routing
from campaigns.scan.claims import claim_code
from campaigns.tests.test_code_imports import csv_of, printer_codes, run
from campaigns.tests.test_consumer_claims import _embedded, make_codes
from campaigns.tests.test_hidden_codes import hidden_batch
from points import ledger
from points.models import Transaction, TransactionKind
from tenants.models import CodeRoute, Merchant, route_key
from tests.fixtures.api import Api, access_token
from tests.fixtures.tenants import Tenants, fund, hidden_import

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme(tenants: Tenants, unique: Callable[[str], str]) -> Merchant:
    fund(tenants.acme, 100_000, unique)
    return tenants.acme


def wrong(secret: str) -> str:
    return f"{(int(secret) + 1) % 10**hidden.DIGITS:0{hidden.DIGITS}d}"


def claim(
    api: Api, consumer: User, code: str, key: str, hidden_code: str | None = None, **kwargs: Any
) -> dict[str, Any]:
    variables = {"code": code, "idempotencyKey": key}
    if hidden_code is not None:
        variables["hiddenCode"] = hidden_code
    result = api.op("ClaimCode", variables, token=access_token(consumer), **kwargs)
    assert "errors" not in result, result
    return result["data"]["claimCode"]


def refusal(payload: dict[str, Any]) -> tuple[str | None, str]:
    assert payload["claim"] is None and payload["balance"] is None, payload
    (error,) = payload["errors"]
    return error["field"], error["code"]


def nothing_claimed(merchant: Merchant, code: str, consumer: User) -> bool:
    with tenant_context(merchant):
        untouched = Code.objects.filter(code=code, claimed_at__isnull=True).exists()
        no_claim = not Claim.objects.filter(code_id=code).exists()
    no_award = not Transaction.objects.filter(
        kind=TransactionKind.AWARD, merchant_id=merchant.pk
    ).exists()
    return untouched and no_claim and no_award and wallet(consumer) == 0


def wallet(consumer: User) -> int:
    return ledger.balance_of(ledger.wallet(consumer.pk))


# --- The flag ------------------------------------------------------------------------------


def test_the_import_routes_codes_of_a_batch_with_hidden_codes_as_needing_them(
    acme: Merchant,
) -> None:
    guessable = hidden_import(acme, size=50, points=3)
    assert all(routing.route(code).needs_hidden_code for code in list(guessable)[:5])
    with tenant_context(acme):
        # A random printer file without hidden codes: routed, claimed with the code alone.
        campaign, _batch, _codes = make_codes(acme, size=1)
        plain = printer_codes(300, width=20)
        assert run(campaign, csv_of(plain)).batch is not None
        # Our own codes, even of a batch with hidden codes, have no routing row (0314).
        own = hidden_batch(acme, size=1).codes.get().code
    assert not routing.route(plain[0]).needs_hidden_code
    assert not routing.route(own).needs_hidden_code


def test_the_migration_marks_routes_imported_before_the_flag(acme: Merchant) -> None:
    """campaigns/0020 marks the routes of batches that had hidden codes before their rows
    carried the flag, in the merchant's schema, and no other merchant's or batch's."""
    labels = list(hidden_import(acme, size=3, points=2))
    with tenant_context(acme):
        campaign, _batch, _codes = make_codes(acme, size=1)
        plain = printer_codes(300, width=20)
        assert run(campaign, csv_of(plain)).batch is not None
    keys = [route_key(code) for code in [*labels, plain[0]]]
    CodeRoute.objects.filter(key__in=keys).update(needs_hidden_code=False)
    migration = importlib.import_module("campaigns.migrations.0020_imported_hidden_routes")
    with tenant_context(acme), connection.cursor() as cursor:
        cursor.execute(migration.Migration.operations[0].sql)
    flags = dict(CodeRoute.objects.filter(key__in=keys).values_list("key", "needs_hidden_code"))
    assert [flags[key] for key in keys] == [True, True, True, False]


# --- The claim ------------------------------------------------------------------------------


def test_a_guessed_neighbour_is_not_claimed_without_its_hidden_code(
    consumer_api: Api, acme: Merchant, consumer: User
) -> None:
    secrets_by_code = hidden_import(acme, size=20, points=9)
    code, secret = list(secrets_by_code.items())[7]
    neighbour = f"{code[:-6]}{int(code[-6:]) + 1:06d}"  # what a guesser tries next
    assert neighbour in secrets_by_code
    phone = {"REMOTE_ADDR": "203.0.113.70"}

    assert refusal(claim(consumer_api, consumer, neighbour, "k-0", **phone)) == (
        "hiddenCode",
        "HIDDEN_CODE_REQUIRED",
    )
    assert refusal(claim(consumer_api, consumer, code, "k-1", **phone)) == (
        "hiddenCode",
        "HIDDEN_CODE_REQUIRED",
    )
    assert refusal(claim(consumer_api, consumer, code, "k-2", wrong(secret), **phone)) == (
        "hiddenCode",
        "HIDDEN_CODE_WRONG",
    )
    # Another label's secret is no key to this one (digests are bound to their code).
    other_secret = secrets_by_code[neighbour]
    if other_secret != secret:
        assert refusal(claim(consumer_api, consumer, code, "k-3", other_secret, **phone))[1] == (
            "HIDDEN_CODE_WRONG"
        )
    assert nothing_claimed(acme, code, consumer)

    # Typed as a buyer types it: spaces and a hyphen do not matter.
    typed = f"{secret[:4]} -{secret[4:]}"
    first = claim(consumer_api, consumer, code, "k-4", typed, **phone)
    assert first["errors"] == [] and first["claim"]["points"] == 9 and first["balance"] == 9
    again = claim(consumer_api, consumer, code, "k-4", secret, **phone)
    assert again["replayed"] is True and again["balance"] == 9
    assert refusal(claim(consumer_api, consumer, code, "k-5", secret, **phone))[1] == (
        "ALREADY_CLAIMED"
    )
    with tenant_context(acme):
        assert Claim.objects.filter(code_id=code).count() == 1
    assert wallet(consumer) == 9
    assert Transaction.objects.filter(kind=TransactionKind.AWARD, merchant_id=acme.pk).count() == 1


def test_wrong_hidden_codes_are_limited_per_code(
    consumer_api: Api, acme: Merchant, consumer: User, new_phone: Callable[[], str]
) -> None:
    (code, secret), (other, other_secret) = list(hidden_import(acme, size=2, points=4).items())
    for n in range(hidden.MAX_WRONG_PER_CODE):
        guess = claim(consumer_api, consumer, code, f"g-{n}", wrong(secret), REMOTE_ADDR="10.9.0.1")
        assert refusal(guess)[1] == "HIDDEN_CODE_WRONG"
    # The label's code is locked for the day, for everyone, the right secret too...
    buyer, _created = User.objects.get_or_create_consumer(new_phone())
    locked = claim(consumer_api, buyer, code, "b-1", secret, REMOTE_ADDR="10.9.0.2")
    assert refusal(locked)[1] == "RATE_LIMITED" and re.search(
        r"\d+", locked["errors"][0]["message"]
    )
    assert nothing_claimed(acme, code, buyer)
    # ...and no other label is.
    fine = claim(consumer_api, buyer, other, "b-2", other_secret, REMOTE_ADDR="10.9.0.2")
    assert fine["errors"] == [] and fine["balance"] == 4


def test_wrong_hidden_codes_are_limited_per_client(
    consumer_api: Api, acme: Merchant, consumer: User
) -> None:
    labels = list(hidden_import(acme, size=6, points=4).items())
    guesser = {"REMOTE_ADDR": "10.9.1.1"}
    per_code = hidden.MAX_WRONG_PER_CODE - 1  # stay under each code's own limit
    guesses = 0
    for code, secret in labels[:-1]:
        for _ in range(per_code):
            if guesses == hidden.MAX_WRONG_PER_IP:
                break
            payload = claim(consumer_api, consumer, code, f"w-{guesses}", wrong(secret), **guesser)
            assert refusal(payload)[1] == "HIDDEN_CODE_WRONG"
            guesses += 1
    assert guesses == hidden.MAX_WRONG_PER_IP
    last, last_secret = labels[-1]
    assert refusal(claim(consumer_api, consumer, last, "w-last", last_secret, **guesser))[1] == (
        "RATE_LIMITED"
    )
    # From another network the same consumer's right code claims.
    right = claim(consumer_api, consumer, last, "w-right", last_secret, REMOTE_ADDR="10.9.1.2")
    assert right["errors"] == [] and right["balance"] == 4


# --- The preview -----------------------------------------------------------------------------


def test_the_preview_describes_the_code_only_with_its_hidden_code(
    consumer_api: Api, acme: Merchant
) -> None:
    code, secret = next(iter(hidden_import(acme, size=3, points=6).items()))
    ip = {"REMOTE_ADDR": "10.9.2.1"}

    def errors(hidden_code: str | None) -> list[str]:
        variables = (
            {"code": code} if hidden_code is None else {"code": code, "hiddenCode": hidden_code}
        )
        answer = consumer_api.op("ScanPreview", variables, **ip)
        assert answer["data"] is None
        return [error["extensions"]["code"] for error in answer["errors"]]

    assert errors(None) == ["HIDDEN_CODE_REQUIRED"]
    assert errors(wrong(secret)) == ["HIDDEN_CODE_WRONG"]
    shown = consumer_api.op("ScanPreview", {"code": code, "hiddenCode": secret}, **ip)
    assert shown["data"]["scanPreview"]["status"] == "CLAIMABLE"
    assert shown["data"]["scanPreview"]["points"] == 6
    assert shown["data"]["scanPreview"]["campaignName"] == "Printer caps"


def test_the_scan_page_has_the_field_only_for_such_codes(client: Client, acme: Merchant) -> None:
    code = next(iter(hidden_import(acme, size=1, points=6)))
    with tenant_context(acme):
        own = hidden_batch(acme, size=1).codes.get().code
    asked = client.get(f"/s/{code}?lang=zh-hans").content.decode()
    assert 'id="hidden-code-form"' in asked and "刮开涂层" in asked
    assert _embedded(asked, "page-config")["hidden"] is True
    plain = client.get(f"/s/{own}?lang=zh-hans").content.decode()
    assert 'id="hidden-code-form"' not in plain
    assert "hidden" not in _embedded(plain, "page-config")


# --- Our own codes pay nothing -------------------------------------------------------------


def test_our_own_codes_claim_with_the_one_statement_as_before(
    acme: Merchant, consumer: User
) -> None:
    """Fails if the hidden-code check reads anything for a code of ours: a routing lookup,
    the batch's flag, the hidden-code table (planted: ``route`` querying CodeRoute for
    every code gave two statements here)."""
    _campaign, _batch, found = make_codes(acme, size=2)
    claim_code(consumer, found[0], "own-warm")  # the wallet exists: the steady state
    with CaptureQueriesContext(connection) as captured:
        result = claim_code(consumer, found[1], "own-1", ip="203.0.113.80", hidden_code="1234")
    assert result.claim.points == 7
    # The test's transaction wraps the claim in a savepoint; in autocommit there is none.
    statements = [
        query["sql"]
        for query in captured.captured_queries
        if not query["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))
    ]
    assert [sql.split("(")[0] for sql in statements] == [claims.CLAIM_SQL.split("(")[0]]
