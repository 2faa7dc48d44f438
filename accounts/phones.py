"""Phone numbers: parsed with libphonenumber, stored as E.164."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import phonenumbers
from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext_lazy as _

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

# Called once a consumer proved a phone (signed in with its code, or bound it), after
# the transaction commits. The apps above accounts register here rather than being
# called from here (ARCHITECTURE.md, "Layout"): earning credits awards that waited for
# the phone.
PhoneProvenHook = Callable[["User"], object]
_phone_proven_hooks: dict[str, PhoneProvenHook] = {}


def on_phone_proven(name: str, hook: PhoneProvenHook) -> None:
    """Called by an app's ``ready()``; registering a name again replaces it."""
    _phone_proven_hooks[name] = hook


def phone_proven(user: User) -> None:
    """Run the registered hooks for ``user`` once the current transaction commits."""

    def run() -> None:
        for hook in _phone_proven_hooks.values():
            hook(user)

    # Robust: a failing hook is logged and left to its app's sweep; the sign-in stands.
    transaction.on_commit(run, robust=True)
