"""Domain errors raised by merchant rules; each carries a stable code for the APIs."""

from __future__ import annotations

from core.errors import DomainError


class MerchantNotActive(DomainError):
    """The merchant cannot award points (suspended or not yet approved)."""
