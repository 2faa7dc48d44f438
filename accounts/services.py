"""Staff sign-in (email + password)."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.utils.translation import gettext as _

from accounts.error_codes import AccountErrorCode
from accounts.errors import AuthError
from accounts.models import User
from core import ratelimit

STAFF_FAILURES_PER_HOUR = 10


def staff_sign_in(email: str, password: str, ip: str | None) -> User:
    email = (email or "").strip().lower()
    # Only failures count, per account and per address: password guessing is bounded
    # while a staff member who signs in often is never locked out.
    limits = [(f"staff-login:email:{email}", STAFF_FAILURES_PER_HOUR)]
    if ip:
        limits.append((f"staff-login:ip:{ip}", STAFF_FAILURES_PER_HOUR * 5))
    for key, limit in limits:
        ratelimit.ensure_below(key, limit, 3600)
    user = authenticate(email=email, password=password)
    if user is None or not isinstance(user, User) or not user.is_active:
        for key, limit in limits:
            ratelimit.hit(key, limit, 3600)
        raise AuthError(
            AccountErrorCode.INVALID_CREDENTIALS, _("Email or password is incorrect."), "email"
        )
    return user
