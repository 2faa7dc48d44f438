"""Consumer API: sign in by phone, read the wallet."""

from __future__ import annotations

import re

import pytest

from accounts.models import User
from accounts.sms import MemorySmsBackend
from points import ledger, services
from tests.fixtures.api import Api, access_token
from tests.fixtures.tenants import Tenants

pytestmark = pytest.mark.django_db


def _code_in(message: str) -> str:
    match = re.search(r"\b(\d{6})\b", message)
    assert match, message
    return match.group(1)


def _sign_in(consumer_api: Api, phone: str, capture) -> dict:
    with capture(execute=True):
        sent = consumer_api.op("RequestSignInCode", {"phone": phone})["data"]["requestSignInCode"]
    assert sent["errors"] == []
    assert sent["expiresIn"] == 300
    code = _code_in(MemorySmsBackend.outbox[-1].message)
    return consumer_api.op("SignInWithCode", {"phone": phone, "code": code})["data"][
        "signInWithCode"
    ]


def test_sign_in_with_phone_creates_consumer_and_tokens_work(
    consumer_api: Api, django_capture_on_commit_callbacks, new_phone
) -> None:
    phone = new_phone()
    result = _sign_in(consumer_api, phone, django_capture_on_commit_callbacks)
    assert result["errors"] == []
    assert result["consumer"]["phone"] == phone
    assert User.objects.filter(phone=phone).count() == 1

    token = result["tokens"]["accessToken"]
    me = consumer_api.op("Me", token=token)["data"]["me"]
    assert me["phone"] == phone

    refreshed = consumer_api.op("RefreshToken", {"refreshToken": result["tokens"]["refreshToken"]})[
        "data"
    ]["refreshToken"]
    assert refreshed["errors"] == []
    new_token = refreshed["tokens"]["accessToken"]
    assert consumer_api.op("Me", token=new_token)["data"]["me"]["phone"] == phone

    out = consumer_api.op("SignOut", token=new_token)["data"]["signOut"]
    assert out == {"ok": True, "errors": []}
    revoked = consumer_api.op("Me", token=new_token, expect_status=401)
    assert revoked["errors"][0]["extensions"]["code"] == "SESSION_REVOKED"


def test_phone_in_national_format_is_stored_as_e164(
    consumer_api: Api, django_capture_on_commit_callbacks
) -> None:
    result = _sign_in(consumer_api, "139 0000 1234", django_capture_on_commit_callbacks)
    assert result["consumer"]["phone"] == "+8613900001234"


@pytest.mark.parametrize("phone", ["", "12345", "not a phone", "+861012345678", "9" * 40])
def test_malformed_phone_is_refused_and_sends_nothing(consumer_api: Api, phone: str) -> None:
    result = consumer_api.op("RequestSignInCode", {"phone": phone})["data"]["requestSignInCode"]
    assert [e["code"] for e in result["errors"]] == ["INVALID_PHONE"]
    assert result["errors"][0]["field"] == "phone"
    assert MemorySmsBackend.outbox == []


def test_wrong_code_then_sixth_try_is_refused(
    consumer_api: Api, django_capture_on_commit_callbacks, new_phone
) -> None:
    phone = new_phone()
    with django_capture_on_commit_callbacks(execute=True):
        consumer_api.op("RequestSignInCode", {"phone": phone})
    sent = MemorySmsBackend.last_to(phone)
    assert sent is not None
    code = _code_in(sent.message)
    wrong = "000000" if code != "000000" else "111111"
    codes = []
    for _ in range(5):
        result = consumer_api.op("SignInWithCode", {"phone": phone, "code": wrong})
        codes.append(result["data"]["signInWithCode"]["errors"][0]["code"])
    assert codes == ["OTP_INVALID"] * 4 + ["OTP_TOO_MANY_ATTEMPTS"]
    sixth = consumer_api.op("SignInWithCode", {"phone": phone, "code": code})
    assert sixth["data"]["signInWithCode"]["errors"][0]["code"] == "OTP_TOO_MANY_ATTEMPTS"
    assert sixth["data"]["signInWithCode"]["tokens"] is None
    assert not User.objects.filter(phone=phone).exists()


def test_resend_is_throttled_with_retry_after(
    consumer_api: Api, django_capture_on_commit_callbacks, new_phone
) -> None:
    phone = new_phone()
    with django_capture_on_commit_callbacks(execute=True):
        first = consumer_api.op("RequestSignInCode", {"phone": phone})
        second = consumer_api.op("RequestSignInCode", {"phone": phone})
    assert first["data"]["requestSignInCode"]["errors"] == []
    error = second["data"]["requestSignInCode"]["errors"][0]
    assert error["code"] == "RATE_LIMITED"
    assert "seconds" in error["message"]
    assert len([m for m in MemorySmsBackend.outbox if m.phone == phone]) == 1


def test_wallet_requires_sign_in(consumer_api: Api) -> None:
    result = consumer_api.op("Wallet")
    assert result["data"] is None
    assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_wallet_balance_expiring_points_and_history(
    consumer_api: Api, tenants: Tenants, consumer: User, unique
) -> None:
    merchant = tenants.acme
    services.fund_with_money(
        merchant, amount_minor=10_000, currency="CNY", rate="10", payment_reference=unique("pay")
    )
    ref = unique("campaign")
    services.reserve(merchant, ref, 500, idempotency_key=unique("reserve"))
    services.award(merchant, ref, consumer, 120, idempotency_key=unique("award"), memo="Scan")
    services.award(merchant, ref, consumer, 80, idempotency_key=unique("award"), memo="Survey")
    services.spend(consumer, 50, idempotency_key=unique("spend"), memo="Mug")
    # One lot expiring within 30 days: 120 - 50 taken (oldest first) = 70 left in it.
    lot = ledger.wallet(consumer.pk).lots.order_by("id").first()
    assert lot is not None
    from datetime import timedelta

    from django.utils import timezone

    type(lot).objects.filter(pk=lot.pk).update(expires_at=timezone.now() + timedelta(days=10))

    wallet = consumer_api.op("Wallet", token=access_token(consumer))["data"]["wallet"]
    assert wallet["balance"] == 150
    assert wallet["expiringSoon"] == 70
    nodes = [edge["node"] for edge in wallet["history"]["edges"]]
    assert [(n["kind"], n["amount"], n["memo"]) for n in nodes] == [
        ("REDEEM", -50, "Mug"),
        ("AWARD", 80, "Survey"),
        ("AWARD", 120, "Scan"),
    ]
    assert nodes[1]["merchantName"] == "Acme Tea"
