"""A fresh one-time code to the signed-in consumer's own phone, before a copy or a deletion.

Signing in is not enough to take a copy of everything or to delete the account: a
borrowed or stolen phone that is still signed in could. The code goes to the phone on
the account (the consumer never types the number); a consumer without one binds one
first (decision 0185).
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from accounts import otp
from accounts.models import PhoneChallenge, User
from privacy.error_codes import PrivacyErrorCode
from privacy.errors import PrivacyError


def _phone(consumer: User) -> str:
    if not consumer.phone:
        raise PrivacyError(
            PrivacyErrorCode.VERIFIED_PHONE_REQUIRED,
            _("Bind your phone number first: a one-time code is sent to it."),
        )
    return consumer.phone


def send(consumer: User, ip: str | None) -> PhoneChallenge:
    return otp.request_code(_phone(consumer), ip)


def check(consumer: User, code: str) -> None:
    """Use up ``code`` for the consumer's phone, or raise the code's refusal."""
    otp.check_code(_phone(consumer), code)
