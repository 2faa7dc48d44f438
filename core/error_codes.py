"""Error codes of this domain (joined into the APIs' ``ErrorCode`` enum by ``api.errors``)."""

from core.errors import ErrorCodeEnum


class CoreErrorCode(ErrorCodeEnum):
    """Codes any domain may answer: lookup, sign-in, permissions, limits, idempotency."""

    GRAPHQL_VALIDATION_FAILED = (
        "GRAPHQL_VALIDATION_FAILED",
        "The request is not a valid operation for this API.",
    )
    NOT_FOUND = "NOT_FOUND", "The object does not exist or is not visible to you."
    UNAUTHENTICATED = "UNAUTHENTICATED", "Sign in first."
    PERMISSION_DENIED = "PERMISSION_DENIED", "Your role does not allow this."
    RATE_LIMITED = "RATE_LIMITED", "Too many attempts; retry later."
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE", "A service we depend on is briefly unavailable."
    INVALID_IDEMPOTENCY_KEY = (
        "INVALID_IDEMPOTENCY_KEY",
        "An idempotency key of 1 to 200 characters is required.",
    )
    IDEMPOTENCY_CONFLICT = (
        "IDEMPOTENCY_CONFLICT",
        "The idempotency key was used for a different request.",
    )
    INVALID_INPUT = (
        "INVALID_INPUT",
        "An argument's value is not allowed: wrong type, out of its documented range, "
        "a refused character or too long.",
    )
