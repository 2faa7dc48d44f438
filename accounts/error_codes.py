"""Error codes of this domain (joined into the APIs' ``ErrorCode`` enum by ``api.errors``)."""

from core.errors import ErrorCodeEnum


class AccountErrorCode(ErrorCodeEnum):
    """Sign-in and tokens."""

    INVALID_PHONE = "INVALID_PHONE", "Not a valid mobile phone number."
    OTP_INVALID = "OTP_INVALID", "Wrong or unknown sign-in code."
    OTP_EXPIRED = "OTP_EXPIRED", "The sign-in code has expired."
    OTP_TOO_MANY_ATTEMPTS = "OTP_TOO_MANY_ATTEMPTS", "Too many wrong codes; request a new one."
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS", "Email or password is incorrect."
    ACCOUNT_DISABLED = "ACCOUNT_DISABLED", "The account is disabled."
    TOKEN_INVALID = "TOKEN_INVALID", "The token is not valid."
    TOKEN_EXPIRED = "TOKEN_EXPIRED", "The token has expired."
    SESSION_REVOKED = "SESSION_REVOKED", "The session was signed out."
    WECHAT_TICKET_INVALID = "WECHAT_TICKET_INVALID", "The WeChat sign-in ticket is not valid."
    WECHAT_TICKET_EXPIRED = "WECHAT_TICKET_EXPIRED", "The WeChat sign-in ticket has expired."
    WECHAT_TICKET_USED = "WECHAT_TICKET_USED", "The WeChat sign-in ticket was already used."
    PHONE_ALREADY_BOUND = "PHONE_ALREADY_BOUND", "The account already has a phone number."
    WECHAT_ALREADY_BOUND = "WECHAT_ALREADY_BOUND", "The account is bound to another WeChat user."
    ACCOUNT_MERGE_REQUIRED = (
        "ACCOUNT_MERGE_REQUIRED",
        "The phone or WeChat user belongs to another account that holds points or orders: "
        "confirm the merge with confirmAccountMerge.",
    )
    ACCOUNTS_CANNOT_MERGE = (
        "ACCOUNTS_CANNOT_MERGE",
        "The two accounts have different phones, or different WeChat users.",
    )
    MERGE_TOKEN_INVALID = "MERGE_TOKEN_INVALID", "The merge token is not valid (or was used)."
    MERGE_TOKEN_EXPIRED = "MERGE_TOKEN_EXPIRED", "The merge token has expired."
    ACCOUNT_MERGED = "ACCOUNT_MERGED", "The account was merged into another; sign in again."
    CONSENT_REQUIRED = (
        "CONSENT_REQUIRED",
        "Agree to the user agreement and the privacy policy to create an account.",
    )
    WECHAT_STATE_INVALID = (
        "WECHAT_STATE_INVALID",
        "The WeChat sign-in did not start in this browser, or took too long.",
    )
    WECHAT_CODE_INVALID = (
        "WECHAT_CODE_INVALID",
        "WeChat refused the sign-in code (already used or expired).",
    )
    WECHAT_UNAVAILABLE = "WECHAT_UNAVAILABLE", "WeChat could not be reached."
