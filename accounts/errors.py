from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core import signing

from core.errors import DomainError


class AuthError(DomainError):
    """Sign-in or token failure; ``code`` says which (OTP_INVALID, TOKEN_EXPIRED, …)."""


def load_signed(
    value: str,
    *,
    salt: str,
    max_age: int,
    expired: Callable[[], AuthError],
    invalid: Callable[[], AuthError],
) -> Any:
    """What ``signing.dumps(..., salt=salt)`` signed, or the refusal for a stale or bad value.

    The one way this app reads the short-lived signed values it hands to a page (the
    WeChat hand-over ticket, the merge token): an expired one and a forged or altered one
    are different refusals, so that the page can say "start again" or "not valid".
    """
    try:
        return signing.loads(value, salt=salt, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise expired() from exc
    except signing.BadSignature as exc:
        raise invalid() from exc
