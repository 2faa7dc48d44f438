"""Error codes of this domain (joined into the APIs' ``ErrorCode`` enum by ``api.errors``)."""

from core.errors import ErrorCodeEnum


class WebhookErrorCode(ErrorCodeEnum):
    """Merchants' webhook endpoints."""

    INVALID_URL = "INVALID_URL", "The webhook URL must be https:// to a public host."
    INVALID_EVENT_TYPES = "INVALID_EVENT_TYPES", "Choose at least one known event type."
    TOO_MANY_ENDPOINTS = (
        "TOO_MANY_ENDPOINTS",
        "The merchant has the most webhook endpoints allowed.",
    )
