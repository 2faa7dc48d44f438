"""Self-service merchant sign-up: an application that the platform's operators review.

Anyone may apply (``merchantSignUp`` on the merchant API, the console's sign-up
page). An application is a pending merchant with no schema (``onboarding.apply``)
and its owner's staff account; the owner can sign in at once but sees only that
the application is under review until an operator approves it
(``tenants.lifecycle``, which provisions the schema and budget).

- Counted per IP address (every attempt, valid or not: a refused slug or email is
  information too), with the project's one rate-limit guard; fails closed without
  Redis, like every other limit.
- Every field is checked and every problem reported at once, each on its field.
- A taken slug is ``SLUG_TAKEN`` (the applicant has to choose another, so it cannot
  be hidden); nothing else about that merchant is said.
- The contact email becomes the owner's sign-in. An email that already has an
  account is ``EMAIL_TAKEN``: an anonymous form cannot prove the applicant owns that
  account, and attaching a new merchant to someone else's account, or checking a
  password here (an oracle beside sign-in), are worse than telling that the address
  is registered (docs/decisions.md).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.phones import InvalidPhone, normalize_phone
from campaigns.error_codes import QuestionnaireErrorCode
from core import ratelimit
from core.errors import DomainError, DomainErrors
from tenants import onboarding
from tenants.error_codes import MerchantErrorCode
from tenants.models import Merchant

MAX_ABOUT_LENGTH = 1000
MAX_OWNER_NAME_LENGTH = 150  # User.name
MAX_EMAIL_LENGTH = 254


class SignUpInvalid(DomainErrors):
    """Several fields at fault: each is reported (``errors``), the first is the headline."""


def _email_taken() -> DomainError:
    return DomainError(
        MerchantErrorCode.EMAIL_TAKEN,
        _("This email already has an account. Use another email, or ask us to add a merchant."),
        "contactEmail",
    )


def _language(requested: str) -> str:
    requested = (requested or "").lower()
    if requested in dict(settings.LANGUAGES):
        return requested
    return translation.get_language() or settings.LANGUAGE_CODE


def sign_up(
    *,
    name: str,
    slug: str,
    contact_email: str,
    owner_name: str,
    password: str,
    contact_phone: str = "",
    about: str = "",
    language: str = "",
    ip: str | None = None,
) -> Merchant:
    """Record an application: a pending merchant without a schema, and its owner."""
    ratelimit.guard(
        count=ratelimit.Limit(
            f"merchant-signup:ip:{ip or 'unknown'}", settings.MERCHANT_SIGNUPS_PER_IP_PER_HOUR, 3600
        )
    )
    errors: list[DomainError] = []

    def check(value: str, validate: Callable[[str], str]) -> str:
        try:
            return validate(value)
        except DomainError as exc:
            errors.append(exc)
            return value

    slug = check(slug, onboarding.validate_slug)
    name = check(name, onboarding.validate_name)
    owner_name = check(
        owner_name,
        lambda v: onboarding.validate_name(v, "ownerName", MAX_OWNER_NAME_LENGTH),
    )
    email = (contact_email or "").strip().lower()
    try:
        if len(email) > MAX_EMAIL_LENGTH:
            raise ValidationError("too long")
        validate_email(email)
    except ValidationError:
        errors.append(
            DomainError(
                MerchantErrorCode.INVALID_EMAIL, _("Enter a valid email address."), "contactEmail"
            )
        )
    else:
        if User.objects.filter(email=email).exists():
            errors.append(_email_taken())
    phone = (contact_phone or "").strip()
    if phone:
        try:
            phone = normalize_phone(phone)
        except InvalidPhone as exc:
            errors.append(DomainError(exc.code, exc.message, "contactPhone"))
    try:
        # Checked against the would-be account, so a password like the email is refused.
        validate_password(password or "", User(email=email, name=owner_name))
    except ValidationError as exc:
        errors.append(
            DomainError(MerchantErrorCode.INVALID_PASSWORD, " ".join(exc.messages), "password")
        )
    about = (about or "").strip()
    if len(about) > MAX_ABOUT_LENGTH:
        errors.append(
            DomainError(
                QuestionnaireErrorCode.TEXT_TOO_LONG,
                _("Tell us about your business in %(max)d characters or fewer.")
                % {"max": MAX_ABOUT_LENGTH},
                "about",
            )
        )
    if not any(e.field == "slug" for e in errors) and onboarding.slug_taken(slug):
        errors.append(onboarding.slug_taken_error())
    if errors:
        raise SignUpInvalid(errors)

    try:
        with transaction.atomic():
            owner = User.objects.create_user(email, password, name=owner_name)
            return onboarding.apply(
                slug=slug,
                name=name,
                owner=owner,
                contact_email=email,
                contact_phone=phone,
                about=about,
                language=_language(language),
            )
    except IntegrityError as exc:
        # Two sign-ups with one email at once: the second meets the unique index.
        if User.objects.filter(email=email).exists():
            raise _email_taken() from exc
        raise
