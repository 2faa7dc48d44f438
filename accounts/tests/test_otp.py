"""One-time sign-in codes: phone checks, delivery, verification, expiry and throttles.

Codes are read from the in-memory SMS outbox, as a person reads their phone. The
SMS goes out on commit, so every test that requests a code runs the commit hooks.
Throttles use the real Redis cache (emptied before each test).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks, Settings

from accounts import otp
from accounts.errors import AuthError
from accounts.models import PhoneChallenge, User
from accounts.phones import InvalidPhone, normalize_phone
from accounts.sms import MemorySmsBackend
from core.ratelimit import RateLimited, RateLimiterUnavailable

IP = "203.0.113.7"


@pytest.fixture
def phone(new_phone: Callable[[], str]) -> str:
    return new_phone()


@pytest.fixture
def send_code(
    db: None, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> Callable[..., tuple[PhoneChallenge, str]]:
    """Request a code as the API does (commit hooks run) and read it from the SMS."""

    def send(raw_phone: str, ip: str | None = IP) -> tuple[PhoneChallenge, str]:
        sent_before = len(MemorySmsBackend.outbox)
        with django_capture_on_commit_callbacks(execute=True):
            challenge = otp.request_code(raw_phone, ip)
        assert len(MemorySmsBackend.outbox) == sent_before + 1
        sms = MemorySmsBackend.outbox[-1]
        assert sms.phone == challenge.phone
        match = re.search(r"\b(\d{6})\b", sms.message)
        assert match, sms.message
        return challenge, match.group(1)

    return send


def wrong_code(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


# --- Phone numbers ------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "12345",
        "abc",
        "+861012345678",  # a Beijing landline: codes go by SMS
        "010 1234 5678",  # the same landline, national format
        "+8613800",  # too short
        "1" * 40,  # too long
        "+8699912345678",  # no such Chinese number range
    ],
)
def test_malformed_phone_is_refused_and_nothing_is_sent(
    db: None, raw: str, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(InvalidPhone) as exc:
        otp.request_code(raw, IP)
    assert exc.value.code == "INVALID_PHONE"
    assert exc.value.field == "phone"
    with pytest.raises(InvalidPhone):
        otp.verify_code(raw, "123456")
    assert PhoneChallenge.objects.count() == 0
    assert MemorySmsBackend.outbox == []


def test_phone_is_normalised_to_e164(phone: str) -> None:
    national = f"{phone[3:6]} {phone[6:10]} {phone[10:]}"
    assert normalize_phone(national) == phone
    assert normalize_phone(f"+86 {national}") == phone
    assert normalize_phone(f"0086{phone[3:]}") == phone


# --- Sending and verifying -------------------------------------------------------------


def test_request_code_sends_the_sms_only_on_commit(
    db: None, phone: str, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    national = f"{phone[3:6]} {phone[6:10]} {phone[10:]}"
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        challenge = otp.request_code(national, IP)
        assert MemorySmsBackend.outbox == []  # nothing leaves before the commit
    assert len(callbacks) == 1
    assert [sms.phone for sms in MemorySmsBackend.outbox] == [phone]
    match = re.search(r"\b(\d{6})\b", MemorySmsBackend.outbox[0].message)
    assert match is not None
    code = match.group(1)
    challenge.refresh_from_db()
    assert challenge.phone == phone
    assert challenge.requested_ip == IP
    assert challenge.attempts == 0
    assert challenge.used_at is None and challenge.invalidated_at is None
    # Stored as an HMAC only; lives OTP_TTL_SECONDS (5 minutes).
    assert challenge.code_hash == otp._digest(phone, code) != code
    assert challenge.expires_at - challenge.created_at == timedelta(minutes=5)


def test_right_code_signs_in_and_creates_the_consumer_once(send_code, phone: str) -> None:
    challenge, code = send_code(phone)
    assert not User.objects.filter(phone=phone).exists()

    user = otp.verify_code(f"{phone[3:6]} {phone[6:10]} {phone[10:]}", f" {code} ")

    assert user.phone == phone
    assert user.email is None
    assert not user.has_usable_password()
    challenge.refresh_from_db()
    assert challenge.used_at is not None

    # Signing in again later (the resend interval has passed) finds the same consumer.
    cache.clear()
    _challenge, code2 = send_code(phone)
    assert otp.verify_code(phone, code2).pk == user.pk
    assert User.objects.filter(phone=phone).count() == 1


def test_wrong_code_counts_a_try_and_says_how_many_are_left(send_code, phone: str) -> None:
    challenge, code = send_code(phone)
    with pytest.raises(AuthError) as exc:
        otp.verify_code(phone, wrong_code(code))
    assert exc.value.code == "OTP_INVALID"
    assert exc.value.field == "code"
    assert "4" in exc.value.message
    challenge.refresh_from_db()
    assert challenge.attempts == 1  # committed although the call failed
    assert challenge.invalidated_at is None

    with pytest.raises(AuthError) as exc:
        otp.verify_code(phone, "12ab56")  # malformed codes count too
    assert exc.value.code == "OTP_INVALID"
    assert "3" in exc.value.message
    challenge.refresh_from_db()
    assert challenge.attempts == 2

    assert otp.verify_code(phone, code).phone == phone


def test_fifth_wrong_try_burns_the_code(send_code, phone: str) -> None:
    challenge, code = send_code(phone)
    for left in (4, 3, 2, 1):
        with pytest.raises(AuthError) as exc:
            otp.verify_code(phone, wrong_code(code))
        assert exc.value.code == "OTP_INVALID"
        assert str(left) in exc.value.message
    with pytest.raises(AuthError) as exc:
        otp.verify_code(phone, wrong_code(code))
    assert exc.value.code == "OTP_TOO_MANY_ATTEMPTS"

    # Now even the right code fails, and no consumer was created.
    with pytest.raises(AuthError) as exc:
        otp.verify_code(phone, code)
    assert exc.value.code == "OTP_TOO_MANY_ATTEMPTS"
    challenge.refresh_from_db()
    assert challenge.attempts == 5
    assert challenge.invalidated_at is not None
    assert challenge.used_at is None
    assert not User.objects.filter(phone=phone).exists()


def test_expired_code_is_refused(send_code, phone: str) -> None:
    challenge, code = send_code(phone)
    PhoneChallenge.objects.filter(pk=challenge.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    with pytest.raises(AuthError) as exc:
        otp.verify_code(phone, code)
    assert exc.value.code == "OTP_EXPIRED"
    assert not User.objects.filter(phone=phone).exists()
    challenge.refresh_from_db()
    assert challenge.used_at is None


def test_code_is_single_use(send_code, phone: str) -> None:
    _challenge, code = send_code(phone)
    otp.verify_code(phone, code)
    with pytest.raises(AuthError) as exc:
        otp.verify_code(phone, code)
    assert exc.value.code == "OTP_INVALID"


def test_no_code_requested_is_invalid(db: None, phone: str) -> None:
    with pytest.raises(AuthError) as exc:
        otp.verify_code(phone, "123456")
    assert exc.value.code == "OTP_INVALID"


def test_code_for_another_phone_does_not_work(send_code, new_phone) -> None:
    phone_a, phone_b = new_phone(), new_phone()
    _challenge, code_a = send_code(phone_a)
    send_code(phone_b)
    with pytest.raises(AuthError) as exc:
        otp.verify_code(phone_b, code_a)
    assert exc.value.code == "OTP_INVALID"


def test_a_new_code_invalidates_the_old_one(send_code, phone: str) -> None:
    old, old_code = send_code(phone)
    cache.clear()  # the resend interval has passed
    new, new_code = send_code(phone)
    old.refresh_from_db()
    assert old.invalidated_at is not None
    new.refresh_from_db()
    assert new.invalidated_at is None
    if old_code != new_code:  # one chance in a million that they are the same
        with pytest.raises(AuthError) as exc:
            otp.verify_code(phone, old_code)
        assert exc.value.code == "OTP_INVALID"
    assert otp.verify_code(phone, new_code).phone == phone


# --- Throttles -----------------------------------------------------------------------


def test_resend_within_the_interval_is_rate_limited(send_code, phone: str) -> None:
    send_code(phone)
    with pytest.raises(RateLimited) as exc:
        otp.request_code(phone, IP)
    assert exc.value.code == "RATE_LIMITED"
    assert 0 < exc.value.retry_after <= 60
    assert len(MemorySmsBackend.outbox) == 1
    assert PhoneChallenge.objects.filter(phone=phone).count() == 1


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """A wall clock the test moves by hand, starting half a second before a minute ends."""
    now = [(time.time() // 60 + 1) * 60 - 0.5]
    monkeypatch.setattr(time, "time", lambda: now[0])
    yield now


def test_resend_interval_holds_across_a_clock_minute(
    send_code, phone: str, clock: list[float]
) -> None:
    """60 s between codes means 60 s from the last code, not "once per clock minute"."""
    send_code(phone)
    clock[0] += 1.0  # one second later, in the next clock minute
    with pytest.raises(RateLimited) as exc:
        otp.request_code(phone, IP)
    assert 58 <= exc.value.retry_after <= 60
    clock[0] += 30.0
    with pytest.raises(RateLimited) as exc:
        otp.request_code(phone, IP)
    assert 28 <= exc.value.retry_after <= 30
    assert len(MemorySmsBackend.outbox) == 1


def test_resend_allowed_once_the_interval_has_passed(
    send_code, phone: str, settings: Settings
) -> None:
    settings.OTP_RESEND_INTERVAL_SECONDS = 1
    first, _code = send_code(phone)
    with pytest.raises(RateLimited):
        otp.request_code(phone, IP)
    time.sleep(1.1)
    second, _code = send_code(phone)
    assert second.pk != first.pk


def test_per_ip_cap(send_code, new_phone, settings: Settings) -> None:
    assert settings.OTP_MAX_PER_IP_PER_HOUR == 20
    for _ in range(20):
        send_code(new_phone())
    with pytest.raises(RateLimited) as exc:
        otp.request_code(new_phone(), IP)
    assert exc.value.code == "RATE_LIMITED"
    assert exc.value.retry_after > 0
    assert len(MemorySmsBackend.outbox) == 20
    # Another address is not affected.
    send_code(new_phone(), ip="198.51.100.9")


def test_verification_attempts_per_phone_are_capped(send_code, phone: str) -> None:
    """Guessing across many fresh codes is bounded too (20 checks per hour per phone)."""
    _challenge, code = send_code(phone)
    for _ in range(20):
        with pytest.raises(AuthError):
            otp.verify_code(phone, wrong_code(code))
    with pytest.raises(RateLimited) as exc:
        otp.verify_code(phone, code)
    assert exc.value.retry_after > 0
    assert not User.objects.filter(phone=phone).exists()


def test_throttles_fail_closed_without_redis(
    db: None,
    phone: str,
    settings: Settings,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "core.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
        }
    }
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RateLimiterUnavailable):
        otp.request_code(phone, IP)
    assert MemorySmsBackend.outbox == []
    assert PhoneChallenge.objects.count() == 0
    with pytest.raises(RateLimiterUnavailable) as exc:
        otp.verify_code(phone, "123456")
    assert exc.value.code == "SERVICE_UNAVAILABLE"
