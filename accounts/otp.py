"""One-time sign-in codes for consumers.

Rules: 6 digits, valid 5 minutes, burnt after 5 wrong tries, one code alive per
phone (a new one invalidates the old), resend throttled per phone and per IP.
The code is stored only as an HMAC. Throttles live in Redis and fail closed: with
the counter store down no code is sent and none is checked.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import secrets
import time
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import policies
from accounts.error_codes import AccountErrorCode
from accounts.errors import AuthError
from accounts.models import AuthSession, Consent, PhoneChallenge, User
from accounts.phones import normalize_phone, phone_proven
from accounts.session_cache import sessions
from accounts.signals import signed_in
from accounts.sms import send_sms
from core import ratelimit

logger = logging.getLogger(__name__)


def _digest(phone: str, code: str) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"otp:{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def _start_resend_interval(phone: str) -> None:
    """Allow one code per phone per ``OTP_RESEND_INTERVAL_SECONDS``, counted from the last.

    A key set only if absent, expiring with the interval: unlike a fixed-window
    counter, it cannot let a second code through a moment later just because a
    window edge fell in between. Fails closed, as the other throttles do.
    """
    interval = settings.OTP_RESEND_INTERVAL_SECONDS
    key = f"otp:resend:{phone}"
    now = time.time()
    try:
        if cache.add(key, now, timeout=interval):
            return
        sent_at = cache.get(key)
    except Exception as exc:  # any cache/Redis failure
        raise ratelimit.RateLimiterUnavailable() from exc
    elapsed = now - sent_at if isinstance(sent_at, (int, float)) else 0
    raise ratelimit.RateLimited(max(1, math.ceil(interval - elapsed)))


def request_code(raw_phone: str, ip: str | None) -> PhoneChallenge:
    """Send a fresh code to ``raw_phone``. Raises InvalidPhone or RateLimited."""
    phone = normalize_phone(raw_phone)
    # Cheapest refusal first: one code per phone per interval, then hourly caps.
    _start_resend_interval(phone)
    ratelimit.check(f"otp:phone:{phone}", settings.OTP_MAX_PER_PHONE_PER_HOUR, 3600)
    if ip:
        ratelimit.check(f"otp:ip:{ip}", settings.OTP_MAX_PER_IP_PER_HOUR, 3600)

    code = f"{secrets.randbelow(10**6):06d}"
    now = timezone.now()
    with transaction.atomic():
        PhoneChallenge.objects.filter(
            phone=phone, used_at__isnull=True, invalidated_at__isnull=True
        ).update(invalidated_at=now)
        challenge = PhoneChallenge.objects.create(
            phone=phone,
            code_hash=_digest(phone, code),
            created_at=now,
            expires_at=now + timedelta(seconds=settings.OTP_TTL_SECONDS),
            requested_ip=ip,
        )
        minutes = max(1, settings.OTP_TTL_SECONDS // 60)
        message = _("Your sign-in code is %(code)s. It expires in %(m)d minutes.") % {
            "code": code,
            "m": minutes,
        }
        # Sent only once the challenge is committed, so a code that arrives always works.
        transaction.on_commit(lambda: send_sms(phone, message))
    return challenge


def verify_code(raw_phone: str, code: str, ip: str | None = None, user_agent: str = "") -> User:
    """Check ``code`` for ``raw_phone`` and return the consumer (created on first sign-in).

    A consumer's first sign-in records their consent to our documents: the sign-in
    card says that signing in agrees to them (``accounts.policies``).
    """
    phone = check_code(raw_phone, code)
    with transaction.atomic():
        release_dormant_number(phone)
        user, created = User.objects.get_or_create_consumer(phone)
        if created:
            policies.record_consent(user, Consent.Channel.PHONE, ip, user_agent)
        elif missing := policies.missing_consents(user):
            # A new version since the last sign-in: the sign-in card shows the current
            # documents and says that signing in agrees to them (decision 0183).
            policies.record_consent(user, Consent.Channel.PHONE, ip, user_agent, missing)
    if not user.is_active:
        raise AuthError(AccountErrorCode.ACCOUNT_DISABLED, _("This account is disabled."))
    signed_in.send(sender=User, user=user)
    phone_proven(user)
    return user


def release_dormant_number(phone: str) -> User | None:
    """Detach ``phone`` from an account unused for ``PHONE_DORMANT_DAYS`` (decision 0187).

    Carriers give a number that was given up to someone else: whoever proves it now may
    be a new owner, who must never inherit the old account or its points. The sign-in
    then creates a new account; the old one keeps its points and history and stays
    reachable through its WeChat user, or through the operators. Returns the old account.
    """
    owner = User.objects.select_for_update().filter(phone=phone).first()
    if owner is None:
        return None
    last_seen = (
        AuthSession.objects.filter(user=owner).aggregate(last=Max("refreshed_at"))["last"]
        or owner.date_joined
    )
    if last_seen >= timezone.now() - timedelta(days=settings.PHONE_DORMANT_DAYS):
        return None
    owner.phone = None
    owner.save(update_fields=["phone"])
    sessions.changed(user_id=owner.pk)
    logger.info("phone of dormant account %s released (last seen %s)", owner.pk, last_seen)
    return owner


def check_code(raw_phone: str, code: str) -> str:
    """Check ``code`` for ``raw_phone`` and use it up: the phone is proven (E.164 returned).

    For a sign-in (``verify_code``) and for binding a phone to an account already signed
    in (``accounts.merge.bind_phone``). A wrong try is counted in its own committed
    transaction, so it counts even though this call then fails.
    """
    phone = normalize_phone(raw_phone)
    code = (code or "").strip()
    # Also bounded by the counter store so that guessing across many fresh codes is capped.
    ratelimit.check(f"otp:verify:{phone}", settings.OTP_MAX_ATTEMPTS * 4, 3600)
    with transaction.atomic():
        challenge = (
            PhoneChallenge.objects.select_for_update()
            .filter(phone=phone, used_at__isnull=True)
            .order_by("-created_at")
            .first()
        )
        if challenge is None or challenge.invalidated_at is not None:
            if challenge is not None and challenge.attempts >= settings.OTP_MAX_ATTEMPTS:
                raise AuthError(
                    AccountErrorCode.OTP_TOO_MANY_ATTEMPTS,
                    _("Too many wrong codes. Request a new code."),
                    field="code",
                )
            raise AuthError(
                AccountErrorCode.OTP_INVALID,
                _("This code is not valid. Request a new code."),
                "code",
            )
        now = timezone.now()
        if challenge.expires_at <= now:
            raise AuthError(
                AccountErrorCode.OTP_EXPIRED, _("This code has expired. Request a new one."), "code"
            )
        if not (len(code) == 6 and code.isdigit()) or not hmac.compare_digest(
            challenge.code_hash, _digest(phone, code)
        ):
            challenge.attempts += 1
            fields = ["attempts"]
            if challenge.attempts >= settings.OTP_MAX_ATTEMPTS:
                challenge.invalidated_at = now
                fields.append("invalidated_at")
            challenge.save(update_fields=fields)
            left = settings.OTP_MAX_ATTEMPTS - challenge.attempts
            wrong = AuthError(
                AccountErrorCode.OTP_TOO_MANY_ATTEMPTS
                if left <= 0
                else AccountErrorCode.OTP_INVALID,
                _("Too many wrong codes. Request a new code.")
                if left <= 0
                else _("Wrong code. %(n)d tries left.") % {"n": left},
                field="code",
            )
        else:
            challenge.used_at = now
            challenge.save(update_fields=["used_at"])
            return phone
    # Outside the atomic block: the counted attempt is committed before we fail.
    raise wrong
