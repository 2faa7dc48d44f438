"""Error codes of this domain (joined into the APIs' ``ErrorCode`` enum by ``api.errors``)."""

from core.errors import ErrorCodeEnum


class EarningErrorCode(ErrorCodeEnum):
    """The merchant earning API: awards, purchases, reversals, rules."""

    CONSUMER_REQUIRED = (
        "CONSUMER_REQUIRED",
        "Name the consumer by exactly one of phone or consumerId.",
    )
    CONSUMER_NOT_FOUND = "CONSUMER_NOT_FOUND", "No consumer of this merchant has this consumerId."
    INVALID_EXTERNAL_ID = (
        "INVALID_EXTERNAL_ID",
        "An external id of 1 to 100 characters is required.",
    )
    INVALID_REASON = "INVALID_REASON", "A reason of 1 to 200 characters is required."
    EARNING_RULE_MISSING = "EARNING_RULE_MISSING", "The merchant has no earning rule for purchases."
    INVALID_EARNING_RULE = "INVALID_EARNING_RULE", "The earning rule is out of range."
    NOTHING_EARNED = "NOTHING_EARNED", "The purchase earns no points under the rule."
    DAILY_CAP_REACHED = "DAILY_CAP_REACHED", "The consumer reached today's cap of purchase points."
    INVALID_BIRTHDAY = "INVALID_BIRTHDAY", "A birthday must be a past date within 120 years."
    BIRTHDAY_ALREADY_SET = (
        "BIRTHDAY_ALREADY_SET",
        "The birthday was given already; it cannot be changed in the app.",
    )
    AWARD_SPENT = (
        "AWARD_SPENT",
        "The consumer already spent these points; the award can no longer be reversed.",
    )
