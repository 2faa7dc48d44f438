from __future__ import annotations

from core.errors import DomainError


class LedgerError(DomainError):
    """A refused ledger operation: INVALID_AMOUNT, INSUFFICIENT_BUDGET, INSUFFICIENT_POINTS,
    INSUFFICIENT_FUNDS, IDEMPOTENCY_CONFLICT, ALREADY_REVERSED, NOT_REVERSIBLE, …"""
