"""A consumer's copy of their data and the deletion of their account, through the
consumer API over HTTP against real PostgreSQL and Redis, with rows in two merchants'
schemas and the mall; the beat task with a real
Celery worker in test_erasure_worker.py.

Planted violations these tests catch: dropping a part's registration (e.g. the mall's in
``redemption/apps.py``) fails the copy's sections check; making ``points.personal_data``
delete the wallet's entries instead of posting a forfeit fails the ledger audit; leaving
the phone in ``privacy.personal_data.erase`` fails the recycled-number test.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import AuthSession, User, WeChatIdentity
from accounts.sms import MemorySmsBackend
from campaigns.models import Claim, Response
from campaigns.questionnaires import exports as questionnaire_exports
from campaigns.scan.claims import claim_code
from campaigns.tests.test_consumer_claims import make_codes
from campaigns.tests.test_questionnaire_api import GOOD, campaign_of, create
from points import ledger, services
from points.audit import audit
from points.models import Entry, Transaction, TransactionKind
from privacy import copies, erasure
from privacy.models import DataCopy, ErasureRequest, MerchantConsent
from redemption.models import Address, Order
from redemption.tests.helpers import earn, new_address, placed_order
from tests.fixtures.api import Api, access_token, signed_ago, streamed_body
from tests.fixtures.tenants import Tenants

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _asked(settings: Any) -> None:
    settings.MERCHANT_CONSENT_REQUIRED = True


def fund(tenants: Tenants, unique: Callable[[str], str]) -> None:
    for merchant in (tenants.acme, tenants.beta):
        services.fund_with_money(
            merchant,
            amount_minor=100_000,
            currency="CNY",
            rate="100",
            payment_reference=unique("pay"),
        )


def take_part(
    tenants: Tenants, consumer_api: Api, merchant_api: Api, consumer: User
) -> dict[str, Any]:
    """Claims with acme (2) and beta (1), an answer to acme's questionnaire, an order and
    a second address in the mall: rows in two merchants' schemas and the public one."""
    _c, _b, acme_codes = make_codes(tenants.acme, size=2)
    _c, _b, beta_codes = make_codes(tenants.beta, size=1)
    for n, code in enumerate([*acme_codes, *beta_codes]):
        claim_code(consumer, code, f"claim-{n}", share_with_merchant=True)
    q = create(merchant_api, tenants)
    answered = consumer_api.op(
        "SubmitResponse",
        {
            "link": q["link"],
            "answers": json.dumps(GOOD),
            "idempotencyKey": "answer-1",
            "shareWithMerchant": True,
        },
        token=access_token(consumer),
    )["data"]["submitResponse"]
    assert answered["errors"] == [], answered
    order = placed_order(tenants.acme, consumer=consumer)
    new_address(consumer, recipient="李四")
    return {"codes": [*acme_codes, *beta_codes], "questionnaire": q, "order": order}


def fresh_code(consumer_api: Api, consumer: User, capture: Any) -> str:
    MemorySmsBackend.outbox.clear()
    cache.delete(f"otp:resend:{consumer.phone}")
    with capture(execute=True):
        sent = consumer_api.op("RequestPersonalDataCode", token=access_token(consumer))
    assert sent["data"]["requestPersonalDataCode"]["errors"] == [], sent
    [sms] = MemorySmsBackend.outbox
    assert sms.phone == consumer.phone
    found = re.search(r"\b(\d{6})\b", sms.message)
    assert found
    return found[1]


def codes_of(payload: dict) -> list[str]:
    return [error["code"] for error in payload["errors"]]


# --- The copy ---------------------------------------------------------------------------


def test_a_data_copy_holds_every_section_from_every_schema_as_json_and_csv(
    consumer_api: Api,
    merchant_api: Api,
    tenants: Tenants,
    consumer: User,
    unique: Callable[[str], str],
    client: Client,
    django_capture_on_commit_callbacks: Any,
    new_phone: Callable[[], str],
) -> None:
    fund(tenants, unique)
    made = take_part(tenants, consumer_api, merchant_api, consumer)
    token = access_token(consumer)

    # Signing in is not enough: a wrong code asks nothing.
    wrong = consumer_api.op("RequestDataCopy", {"code": "000000"}, token=token)
    assert codes_of(wrong["data"]["requestDataCopy"]) == ["OTP_INVALID"]
    assert not DataCopy.objects.filter(user=consumer).exists()

    code = fresh_code(consumer_api, consumer, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):  # the task, eagerly here
        asked = consumer_api.op("RequestDataCopy", {"code": code}, token=token)
    assert asked["data"]["requestDataCopy"]["errors"] == []
    # The code is used up.
    again = consumer_api.op("RequestDataCopy", {"code": code}, token=token)
    assert codes_of(again["data"]["requestDataCopy"]) == ["OTP_INVALID"]

    shown = consumer_api.op("PersonalData", token=token)["data"]["personalData"]
    assert shown["dataCopy"]["status"] == "READY" and shown["deletion"] is None
    url = shown["dataCopy"]["download"]["url"]
    response = client.get(urlsplit(url).path)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(streamed_body(response)))
    data = json.loads(archive.read("data.json"))
    assert set(data) == {
        "profile",
        "wechat",
        "consents",
        "merchant_consents",
        "wallet_history",
        "claims",
        "responses",
        "orders",
        "addresses",
    }
    assert set(archive.namelist()) == {"data.json", *(f"{name}.csv" for name in data)}
    assert data["profile"][0]["phone"] == consumer.phone
    assert sorted(c["code"] for c in data["claims"]) == sorted(made["codes"])
    assert {c["merchant"] for c in data["claims"]} == {tenants.acme.name, tenants.beta.name}
    assert [r["answers"] for r in data["responses"]] == [GOOD]
    assert {c["merchant"] for c in data["merchant_consents"]} == {
        tenants.acme.name,
        tenants.beta.name,
    }
    assert [o["id"] for o in data["orders"]] == [made["order"].pk]
    assert sorted(a["recipient"] for a in data["addresses"]) == ["李四", "王小明"]
    wallet = ledger.wallet(consumer.pk)
    assert sum(e["points"] for e in data["wallet_history"]) == ledger.balance_of(wallet)
    assert len(data["wallet_history"]) == Entry.objects.filter(account=wallet).count()
    # The CSV files hold the same rows (nested values as JSON in their cell).
    claims_csv = list(csv.DictReader(io.StringIO(archive.read("claims.csv").decode("utf-8-sig"))))
    assert sorted(row["code"] for row in claims_csv) == sorted(made["codes"])
    responses_csv = archive.read("responses.csv").decode("utf-8-sig")
    assert json.loads(next(csv.DictReader(io.StringIO(responses_csv)))["answers"]) == GOOD

    # Another consumer sees nothing of it.
    other, _ = User.objects.get_or_create_consumer(new_phone())
    theirs = consumer_api.op("PersonalData", token=access_token(other))["data"]["personalData"]
    assert theirs == {"dataCopy": None, "deletion": None}
    # The link is the consumer's own copy only, and short-lived.
    copy_id = DataCopy.objects.get(user=consumer).pk
    assert (
        client.get(f"/data-copies/{copies.LINK.token(consumer.pk + 1, copy_id)}/").status_code
        == 404
    )
    expired = signed_ago(copies.LINK, copies.LINK.ttl + 5, consumer.pk, copy_id)
    assert client.get(f"/data-copies/{expired}/").status_code == 410
    # Old copies' files are deleted by the beat task.
    DataCopy.objects.filter(pk=copy_id).update(ready_at=timezone.now() - timedelta(days=2))
    assert copies.expire_old() == 1
    assert client.get(urlsplit(url).path).status_code == 404


def test_a_consumer_without_a_phone_binds_one_first(consumer_api: Api, tenants: Tenants) -> None:
    user = User.objects.create(is_active=True)  # a WeChat-only consumer
    WeChatIdentity.objects.create(user=user, app_id="wxplatform", openid="o-nophone")
    sent = consumer_api.op("RequestPersonalDataCode", token=access_token(user))
    assert codes_of(sent["data"]["requestPersonalDataCode"]) == ["VERIFIED_PHONE_REQUIRED"]


# --- Deletion ---------------------------------------------------------------------------


def request_deletion(consumer_api: Api, consumer: User, capture: Any) -> dict[str, Any]:
    code = fresh_code(consumer_api, consumer, capture)
    done = consumer_api.op("RequestAccountDeletion", {"code": code}, token=access_token(consumer))[
        "data"
    ]["requestAccountDeletion"]
    assert done["errors"] == [], done
    return done


def test_a_deletion_cools_off_and_signing_in_or_the_button_cancels_it(
    consumer_api: Api, consumer: User, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    token = access_token(consumer)
    done = request_deletion(consumer_api, consumer, django_capture_on_commit_callbacks)
    erase_after = done["personalData"]["deletion"]["eraseAfter"]
    request = ErasureRequest.objects.get(user=consumer)
    assert request.erase_after - request.requested_at == timedelta(days=15)
    assert erase_after.startswith(request.erase_after.date().isoformat())
    # Signed out everywhere.
    assert not AuthSession.objects.filter(user=consumer, revoked_at__isnull=True).exists()
    refused = consumer_api.op("PersonalData", token=token, expect_status=401)
    assert refused["errors"][0]["extensions"]["code"] == "SESSION_REVOKED"

    # Not due yet: the task leaves it alone.
    assert erasure.erase_due() == 0
    # Signing in again cancels.
    code = fresh_code(consumer_api, consumer, django_capture_on_commit_callbacks)
    signed = consumer_api.op("SignInWithCode", {"phone": consumer.phone, "code": code})
    assert signed["data"]["signInWithCode"]["errors"] == []
    request.refresh_from_db()
    assert request.status == ErasureRequest.Status.CANCELLED and request.cancelled_by == "sign-in"

    # And the button: asked again, then cancelled; a second cancel is refused.
    request_deletion(consumer_api, consumer, django_capture_on_commit_callbacks)
    token = access_token(consumer)
    cancelled = consumer_api.op("CancelAccountDeletion", token=token)["data"]
    assert cancelled["cancelAccountDeletion"] == {
        "personalData": {"deletion": None},
        "errors": [],
    }
    refused = consumer_api.op("CancelAccountDeletion", token=token)["data"]
    assert codes_of(refused["cancelAccountDeletion"]) == ["DELETION_NOT_REQUESTED"]
    assert ErasureRequest.objects.filter(user=consumer).count() == 2


def test_an_erasure_keeps_the_ledger_balanced_and_merchants_counts_and_hides_the_consumer(
    consumer_api: Api,
    merchant_api: Api,
    tenants: Tenants,
    consumer: User,
    unique: Callable[[str], str],
    django_capture_on_commit_callbacks: Any,
    new_phone: Callable[[], str],
) -> None:
    fund(tenants, unique)
    made = take_part(tenants, consumer_api, merchant_api, consumer)
    phone = consumer.phone
    wallet = ledger.wallet(consumer.pk)
    balance = ledger.balance_of(wallet)
    assert balance > 0
    entries = Entry.objects.count()
    with tenant_context(tenants.acme):
        claims_before = Claim.objects.count()
        responses_before = Response.objects.count()

    request_deletion(consumer_api, consumer, django_capture_on_commit_callbacks)
    ErasureRequest.objects.filter(user=consumer).update(
        erase_after=timezone.now() - timedelta(minutes=1)
    )
    assert erasure.erase_due() == 1
    assert erasure.erase_due() == 0  # done once

    request = ErasureRequest.objects.get(user=consumer)
    assert request.status == ErasureRequest.Status.DONE
    assert request.forfeited_points == balance
    consumer.refresh_from_db()
    assert (consumer.phone, consumer.name, consumer.is_active) == (None, "", False)
    assert not WeChatIdentity.objects.filter(user=consumer).exists()
    assert not Address.objects.filter(consumer=consumer).exists()
    order = Order.objects.get(pk=made["order"].pk)
    assert order.address is not None
    assert (order.address["recipient"], order.address["phone"], order.address["street"]) == (
        "-",
        "",
        "",
    )
    assert order.address["region"] == "上海市 浦东新区"
    assert not MerchantConsent.objects.filter(user=consumer, withdrawn_at__isnull=True).exists()

    # The points left through one ledger transaction; nothing was deleted.
    assert ledger.balance_of(wallet) == 0
    forfeit = Transaction.objects.get(consumer=consumer, kind=TransactionKind.FORFEIT)
    assert forfeit.entries.get(account=wallet).amount == -balance
    assert Entry.objects.count() == entries + 2
    assert audit() == []
    # Merchants' counts are unchanged; their export no longer shows the consumer.
    with tenant_context(tenants.acme):
        assert Claim.objects.count() == claims_before
        assert Response.objects.count() == responses_before
        buffer = io.BytesIO()
        questionnaire_exports.write_csv(campaign_of(tenants, made["questionnaire"]), buffer)
    exported = list(csv.reader(io.StringIO(buffer.getvalue().decode("utf-8-sig"))))
    assert [row[1] for row in exported[1:]] == [""]

    # The number's next owner gets a new, empty account.
    cache.delete(f"otp:resend:{phone}")
    MemorySmsBackend.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        consumer_api.op("RequestSignInCode", {"phone": phone})
    code = re.search(r"\b(\d{6})\b", MemorySmsBackend.outbox[-1].message)
    assert code
    signed = consumer_api.op("SignInWithCode", {"phone": phone, "code": code[1]})
    newcomer = signed["data"]["signInWithCode"]
    assert newcomer["errors"] == []
    fresh = User.objects.get(phone=phone)
    assert fresh.pk != consumer.pk
    assert ledger.balance_of(ledger.wallet(fresh.pk)) == 0


def test_a_dormant_accounts_number_signed_in_again_makes_a_new_account(
    consumer_api: Api,
    tenants: Tenants,
    consumer: User,
    unique: Callable[[str], str],
    django_capture_on_commit_callbacks: Any,
    settings: Any,
) -> None:
    fund(tenants, unique)

    earn(tenants.acme, consumer, 50)
    phone = consumer.phone

    def sign_in() -> dict:
        cache.delete(f"otp:resend:{phone}")
        MemorySmsBackend.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            consumer_api.op("RequestSignInCode", {"phone": phone})
        code = re.search(r"\b(\d{6})\b", MemorySmsBackend.outbox[-1].message)
        assert code
        return consumer_api.op("SignInWithCode", {"phone": phone, "code": code[1]})["data"][
            "signInWithCode"
        ]

    # Seen recently: the same account.
    access_token(consumer)  # a session, as a signed-in phone has
    assert sign_in()["errors"] == []
    assert User.objects.get(phone=phone).pk == consumer.pk
    # Unused past the dormancy period: the number goes to a new account.
    long_ago = timezone.now() - timedelta(days=settings.PHONE_DORMANT_DAYS + 1)
    AuthSession.objects.filter(user=consumer).update(refreshed_at=long_ago)
    User.objects.filter(pk=consumer.pk).update(date_joined=long_ago)
    assert sign_in()["errors"] == []
    newcomer = User.objects.get(phone=phone)
    assert newcomer.pk != consumer.pk
    assert ledger.balance_of(ledger.wallet(newcomer.pk)) == 0
    consumer.refresh_from_db()
    assert consumer.phone is None and consumer.is_active  # kept, with its points
    assert ledger.balance_of(ledger.wallet(consumer.pk)) == 50
