"""Error codes of this domain (joined into the APIs' ``ErrorCode`` enum by ``api.errors``)."""

from core.errors import ErrorCodeEnum


class LedgerErrorCode(ErrorCodeEnum):
    """The points ledger: funding, transfers, reversals."""

    INVALID_AMOUNT = "INVALID_AMOUNT", "The amount is not a positive whole number in range."
    INVALID_CURRENCY = "INVALID_CURRENCY", "Unsupported currency."
    INVALID_RATE = "INVALID_RATE", "Invalid conversion rate."
    INVALID_REFERENCE = "INVALID_REFERENCE", "A reference is required."
    INVALID_ACCOUNT = "INVALID_ACCOUNT", "These accounts cannot take part in this operation."
    INSUFFICIENT_BUDGET = "INSUFFICIENT_BUDGET", "The merchant's budget is too small."
    INSUFFICIENT_POINTS = "INSUFFICIENT_POINTS", "The wallet has too few points."
    INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS", "The account has too few points."
    UNBALANCED = "UNBALANCED", "A transaction must balance."
    ALREADY_REVERSED = "ALREADY_REVERSED", "The transaction was already reversed."
    NOT_REVERSIBLE = "NOT_REVERSIBLE", "The transaction cannot be reversed."
