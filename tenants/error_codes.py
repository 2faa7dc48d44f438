"""Error codes of this domain (joined into the APIs' ``ErrorCode`` enum by ``api.errors``)."""

from core.errors import ErrorCodeEnum


class MerchantErrorCode(ErrorCodeEnum):
    """Merchants, staff and onboarding."""

    MERCHANT_REQUIRED = "MERCHANT_REQUIRED", "Name the merchant (X-Merchant header)."
    MERCHANT_NOT_FOUND = "MERCHANT_NOT_FOUND", "No merchant you belong to has this slug or domain."
    MERCHANT_SUSPENDED = "MERCHANT_SUSPENDED", "The merchant is suspended."
    MERCHANT_NOT_ACTIVE = "MERCHANT_NOT_ACTIVE", "The merchant is not active yet."
    INVALID_SLUG = "INVALID_SLUG", "Not a valid merchant slug."
    SLUG_TAKEN = "SLUG_TAKEN", "A merchant with this slug exists."
    DOMAIN_TAKEN = "DOMAIN_TAKEN", "This domain belongs to another merchant."
    INVALID_NAME = "INVALID_NAME", "A name is required."
    INVALID_EXPIRY = "INVALID_EXPIRY", "Points expiry is out of range."
    INVALID_EMAIL = "INVALID_EMAIL", "Not a valid email address."
    INVALID_ROLE = "INVALID_ROLE", "Not a valid role."
    ALREADY_MEMBER = "ALREADY_MEMBER", "This person is already on the staff."
    LAST_OWNER = "LAST_OWNER", "A merchant must keep at least one owner."
    INVALID_PASSWORD = "INVALID_PASSWORD", "The password is too weak."
    EMAIL_TAKEN = "EMAIL_TAKEN", "This email already has an account (merchant sign-up)."
    LOGO_NOT_AN_IMAGE = "LOGO_NOT_AN_IMAGE", "The logo is not a PNG or JPEG image (by content)."
    LOGO_TOO_LARGE = "LOGO_TOO_LARGE", "The logo file is over 512 KB."
    LOGO_BAD_DIMENSIONS = (
        "LOGO_BAD_DIMENSIONS",
        "The logo's width and height must each be 64 to 2048 pixels.",
    )


class ApiKeyErrorCode(ErrorCodeEnum):
    """Merchants' API keys."""

    INVALID_SCOPE = "INVALID_SCOPE", "Unknown API key scope, or none given."
    SCOPE_MISSING = (
        "SCOPE_MISSING",
        "The API key lacks the scope this needs (the message names it).",
    )
    API_KEY_REVOKED = "API_KEY_REVOKED", "The API key was revoked (HTTP 401)."
    API_KEY_EXPIRED = "API_KEY_EXPIRED", "The API key has expired (HTTP 401)."


class OfficialAccountErrorCode(ErrorCodeEnum):
    """Merchants' WeChat official accounts authorised to our third-party platform."""

    OFFICIAL_ACCOUNT_PLATFORM_NOT_CONFIGURED = (
        "OFFICIAL_ACCOUNT_PLATFORM_NOT_CONFIGURED",
        "The platform's WeChat third-party platform is not configured.",
    )
    OFFICIAL_ACCOUNT_WECHAT_UNAVAILABLE = (
        "OFFICIAL_ACCOUNT_WECHAT_UNAVAILABLE",
        "WeChat could not be reached or refused the call; try again later.",
    )
    OFFICIAL_ACCOUNT_AUTHORIZATION_INVALID = (
        "OFFICIAL_ACCOUNT_AUTHORIZATION_INVALID",
        "The authorisation came back expired, used or not for this merchant: start again.",
    )
    OFFICIAL_ACCOUNT_NOT_AUTHORIZED = (
        "OFFICIAL_ACCOUNT_NOT_AUTHORIZED",
        "The merchant has no official account authorised to the platform.",
    )
    OFFICIAL_ACCOUNT_NOT_VERIFIED_SERVICE = (
        "OFFICIAL_ACCOUNT_NOT_VERIFIED_SERVICE",
        "This needs a verified service account (WeChat answered 48001).",
    )
    OFFICIAL_ACCOUNT_OAUTH_INVALID = (
        "OFFICIAL_ACCOUNT_OAUTH_INVALID",
        "The WeChat sign-in came back forged, expired, used or for someone else.",
    )


class OperatorErrorCode(ErrorCodeEnum):
    """Failures of the operators' actions in the admin (``tenants.lifecycle``).

    Not part of the API: no mutation raises them, so ``api.errors`` does not join them
    into ``ErrorCode`` (the admin shows the message).
    """

    PROVISIONING_FAILED = (
        "PROVISIONING_FAILED",
        "The merchant's schema or budget could not be created; it stays pending.",
    )
