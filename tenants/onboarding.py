"""Creating a merchant: its application (row, owner), then its schema and budget.

A merchant is first an application (``apply``: a pending row, no schema), from the
self-service sign-up (``tenants.signup``) or an operator; approving it
(``tenants.lifecycle``) provisions it (``tenants.provisioning``: schema, copied from
the template, and budget account) and activates it in one transaction.
``create_merchant`` does both at once for the command line and the demo, so this
module stands on ``tenants.lifecycle``, which stands on ``tenants.provisioning``.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.models import User
from campaigns.error_codes import CampaignErrorCode
from core.errors import DomainError
from tenants.error_codes import MerchantErrorCode
from tenants.lifecycle import change_status
from tenants.models import APPROVED_STATUSES, Domain, Membership, Merchant, MerchantStatus, Role
from tenants.provisioning import ensure_template_schema, schema_exists, schema_for

SLUG_RE = re.compile(r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$")
MAX_NAME_LENGTH = 200  # Merchant.name
RESERVED_SLUGS = {"public", "admin", "api", "www", "static", "media", "template", "platform"}


class OnboardingError(DomainError):
    pass


def validate_slug(slug: str) -> str:
    """The slug, stripped, if it can name a merchant (and its schema); else ``INVALID_SLUG``."""
    # Not lowercased: a slug is an identifier the caller chose, and "Acme" is refused
    # rather than silently becoming "acme" (the message asks for lowercase).
    slug = (slug or "").strip()
    if not SLUG_RE.match(slug) or slug in RESERVED_SLUGS or "--" in slug:
        raise OnboardingError(
            MerchantErrorCode.INVALID_SLUG,
            _("Use 3 to 40 lowercase letters, digits and single hyphens, starting with a letter."),
            "slug",
        )
    return slug


def validate_name(name: str, field: str = "name", max_length: int = MAX_NAME_LENGTH) -> str:
    name = (name or "").strip()
    if not name or len(name) > max_length:
        raise OnboardingError(
            MerchantErrorCode.INVALID_NAME,
            _("Enter a name of 1 to %(max)d characters.") % {"max": max_length},
            field,
        )
    return name


def validate_details(*, slug: str, name: str, points_expiry_days: int = 365) -> str:
    """The slug, stripped, if it, the name and the expiry are acceptable; else the error."""
    slug = validate_slug(slug)
    validate_name(name)
    if not 1 <= int(points_expiry_days) <= 3650:
        raise OnboardingError(
            MerchantErrorCode.INVALID_EXPIRY,
            _("Points expiry must be 1 to 3650 days."),
            "pointsExpiryDays",
        )
    return slug


def slug_taken(slug: str) -> bool:
    """A merchant has the slug, or its schema name exists (a deleted merchant's schema,
    which deletion keeps: approving the slug again could only fail)."""
    return Merchant.objects.filter(slug=slug).exists() or schema_exists(schema_for(slug))


def apply(
    *,
    slug: str,
    name: str,
    owner: User | None = None,
    contact_email: str = "",
    points_expiry_days: int = 365,
    domain: str | None = None,
    **extra: Any,
) -> Merchant:
    """Record a merchant's application: its row (pending), owner and domain; no schema.

    The schema name is reserved now (``m_<slug>``) and created by
    ``tenants.provisioning.provision`` when an operator approves (``tenants.lifecycle``).
    A slug whose schema already exists (a deleted merchant's, which deletion keeps) is
    taken as well: approving it could only fail.
    """
    slug = validate_details(slug=slug, name=name, points_expiry_days=points_expiry_days)
    if schema_exists(schema_for(slug)):
        raise slug_taken_error()
    try:
        with transaction.atomic():
            merchant = Merchant.objects.create(
                schema_name=schema_for(slug),
                slug=slug,
                name=name.strip(),
                contact_email=contact_email,
                status=MerchantStatus.PENDING,
                points_expiry_days=points_expiry_days,
                **extra,
            )
            if owner is not None:
                Membership.objects.create(merchant=merchant, user=owner, role=Role.OWNER)
            if domain:
                Domain.objects.create(tenant=merchant, domain=domain.lower(), is_primary=True)
    except (IntegrityError, ValidationError) as exc:
        # django-tenants' save() refuses a taken schema name with a ValidationError of its
        # own; a concurrent onboarding of the same slug meets the unique index instead.
        if Merchant.objects.filter(slug=slug).exists():
            raise slug_taken_error() from exc
        if domain and Domain.objects.filter(domain=domain.lower()).exists():
            raise OnboardingError(
                MerchantErrorCode.DOMAIN_TAKEN,
                _("This domain already belongs to a merchant."),
                "domain",
            ) from exc
        raise
    return merchant


def slug_taken_error() -> OnboardingError:
    return OnboardingError(
        MerchantErrorCode.SLUG_TAKEN, _("A merchant with this slug already exists."), "slug"
    )


def create_merchant(
    *,
    slug: str,
    name: str,
    owner: User | None = None,
    contact_email: str = "",
    status: str = MerchantStatus.ACTIVE,
    points_expiry_days: int = 365,
    domain: str | None = None,
    **extra: Any,
) -> Merchant:
    """Onboard a merchant from the operators' side (command line, demo, tests).

    An application approved at once: ``apply`` then the approval
    (``tenants.lifecycle.change_status``, which provisions the schema and budget), in
    one transaction, so the row, schema, owner and budget commit together or not at
    all. ``status=pending`` stops after the application (no schema, as a sign-up);
    ``suspended`` approves, then suspends. No email is sent: the operator is the one
    acting.
    """
    if status not in (MerchantStatus.PENDING, *APPROVED_STATUSES):
        raise OnboardingError(
            CampaignErrorCode.INVALID_STATUS_CHANGE,
            _("A new merchant is pending, active or suspended."),
            "status",
        )
    validate_details(slug=slug, name=name, points_expiry_days=points_expiry_days)
    if status != MerchantStatus.PENDING:
        ensure_template_schema()  # before the transaction: it may migrate the template
    with transaction.atomic():
        merchant = apply(
            slug=slug,
            name=name,
            owner=owner,
            contact_email=contact_email,
            points_expiry_days=points_expiry_days,
            domain=domain,
            **extra,
        )
        if status != MerchantStatus.PENDING:
            merchant = change_status(merchant, MerchantStatus.ACTIVE, notify=False)
        if status == MerchantStatus.SUSPENDED:
            merchant = change_status(merchant, MerchantStatus.SUSPENDED, notify=False)
    return merchant
