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
