from __future__ import annotations

from core.errors import DomainError


class AuthError(DomainError):
    """Sign-in or token failure; ``code`` says which (OTP_INVALID, TOKEN_EXPIRED, …)."""
