"""Phone numbers: parsed with libphonenumber, stored as E.164."""

from __future__ import annotations

from typing import TYPE_CHECKING

import phonenumbers
from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from accounts import signals
from accounts.error_codes import AccountErrorCode
from core.errors import DomainError

if TYPE_CHECKING:
    from accounts.models import User


class InvalidPhone(DomainError):
    def __init__(self) -> None:
        super().__init__(
            AccountErrorCode.INVALID_PHONE, _("Enter a valid mobile phone number."), field="phone"
        )


def normalize_phone(raw: str) -> str:
    """``'138 0013 8000'`` → ``'+8613800138000'``; raise ``InvalidPhone`` otherwise."""
    if not raw or len(raw) > 32:
        raise InvalidPhone()
    try:
        number = phonenumbers.parse(raw, settings.PHONE_DEFAULT_REGION)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone() from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone()
    if phonenumbers.number_type(number) not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        # Codes go by SMS, so a landline can never sign in.
        raise InvalidPhone()
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# --- A phone proven by its owner -----------------------------------------------------


def phone_proven(user: User) -> None:
    """Send ``accounts.signals.phone_proven`` for ``user`` once the current transaction
    commits. The apps above accounts receive it rather than being called from here
    (ARCHITECTURE.md, "Layout"), as they receive ``signed_in``."""

    def send() -> None:
        signals.phone_proven.send(sender=type(user), user=user)

    # Robust: a failing receiver is logged and left to its app's sweep; the sign-in stands.
    transaction.on_commit(send, robust=True)
