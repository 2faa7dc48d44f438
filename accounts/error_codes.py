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
