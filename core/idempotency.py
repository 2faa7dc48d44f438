"""The idempotency key that every write moving points or stock carries.

A retried request with the same key returns the first result; the same key for a
different request is refused. The key's column is unique where the write is stored
(ledger transactions, claims, questionnaire responses, orders); this module holds the
rules that every one of them shares, so a key is valid or not in one place.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext as _

from core.error_codes import CoreErrorCode
from core.errors import DomainError

MAX_KEY_LENGTH = 200  # the max_length of every idempotency_key column
FIELD = "idempotencyKey"


def check_key(key: str, error: type[DomainError] = DomainError) -> None:
    """Refuse a missing or over-long key with ``INVALID_IDEMPOTENCY_KEY``.

    ``error`` is the caller's domain error class, so that callers which catch their
    own domain's errors (e.g. ``LedgerError``) see this refusal as before.
    """
    if not key or len(key) > MAX_KEY_LENGTH:
        raise error(
            CoreErrorCode.INVALID_IDEMPOTENCY_KEY,
            _("An idempotency key of 1 to 200 characters is required."),
            FIELD,
        )


def conflict(
    error: type[DomainError] = DomainError,
    message: str | Promise | None = None,
    field: str = FIELD,
) -> DomainError:
    """The refusal of a key already used for a different request (``IDEMPOTENCY_CONFLICT``)."""
    return error(
        CoreErrorCode.IDEMPOTENCY_CONFLICT,
        message or _("This idempotency key was already used for a different request."),
        field,
    )
