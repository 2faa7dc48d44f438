"""Error codes of this domain (joined into the APIs' ``ErrorCode`` enum by ``api.errors``)."""

from core.errors import ErrorCodeEnum


class PrivacyErrorCode(ErrorCodeEnum):
    """Consumers' personal-data rights (PIPL)."""

    MERCHANT_CONSENT_REQUIRED = (
        "MERCHANT_CONSENT_REQUIRED",
        "Taking part in this merchant's campaign shares the consumer's data with the merchant: "
        "send the consumer's agreement (shareWithMerchant: true) with the same call.",
    )
    MERCHANT_CONSENT_NOT_GIVEN = (
        "MERCHANT_CONSENT_NOT_GIVEN",
        "The consumer has no consent to withdraw for this merchant.",
    )
    VERIFIED_PHONE_REQUIRED = (
        "VERIFIED_PHONE_REQUIRED",
        "The account has no phone to send a one-time code to: bind one first.",
    )
    DELETION_ALREADY_REQUESTED = (
        "DELETION_ALREADY_REQUESTED",
        "The account's deletion is already requested (cooling off).",
    )
    DELETION_NOT_REQUESTED = (
        "DELETION_NOT_REQUESTED",
        "There is no pending deletion of this account to cancel.",
    )
