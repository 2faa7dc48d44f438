"""A merchant's life as the platform's operators see it: approve or reject an
application, suspend, reinstate.

A merchant starts as an application (``tenants.onboarding.apply``: pending, no
schema); from then on its status moves only through ``change_status``, so that every
move is one the platform means:

- approve (pending → active) provisions the merchant (its schema, copied from the
  template, and its budget account) and activates it in one transaction, with the
  merchant's row locked: approving twice, or twice at once, provisions once, and a
  failure leaves it pending with nothing half made (``PROVISIONING_FAILED``);
- reject (pending → rejected) declines an application for good (the row stays, as
  the record of who applied; it never gets a schema);
- suspend (active → suspended): its campaigns stop awarding at once
  (``Merchant.ensure_can_award``); reinstate (suspended → active).

The applicant is emailed the decision on an application (approve or reject) once it
has committed. Each move is logged with the operator who made it.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import DatabaseError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import User
from campaigns.error_codes import CampaignErrorCode
from core.errors import DomainError
from tenants import emails, provisioning
from tenants.error_codes import OperatorErrorCode
from tenants.models import APPROVED_STATUSES, Merchant, MerchantStatus, Role

logger = logging.getLogger(__name__)

# (from, to) → the operator's verb, for messages and the admin's actions.
TRANSITIONS: dict[tuple[str, str], str] = {
    (MerchantStatus.PENDING, MerchantStatus.ACTIVE): "approve",
    (MerchantStatus.PENDING, MerchantStatus.REJECTED): "reject",
    (MerchantStatus.ACTIVE, MerchantStatus.SUSPENDED): "suspend",
    (MerchantStatus.SUSPENDED, MerchantStatus.ACTIVE): "reinstate",
}


class ProvisioningFailed(DomainError):
    """The schema or budget could not be created; the merchant stays pending."""


def change_status(
    merchant: Merchant,
    status: str,
    by: User | None = None,
    *,
    note: str = "",
    notify: bool = True,
) -> Merchant:
    """Move ``merchant`` to ``status`` if the move is allowed; idempotent when already there.

    ``note`` is the operators' reason for a decision on an application (sent to the
    applicant with it); ``notify=False`` sends no email (the operator onboarding a
    merchant by command is the one acting).
    """
    if status in APPROVED_STATUSES and merchant.provisioned_at is None:
        # Before the transaction: it may migrate the template (a no-op once checked).
        provisioning.ensure_template_schema()
    with transaction.atomic():
        current = Merchant.objects.select_for_update().get(pk=merchant.pk)
        old = current.status
        if old == status:
            return current
        if (old, status) not in TRANSITIONS:
            raise DomainError(
                CampaignErrorCode.INVALID_STATUS_CHANGE,
                _("A merchant cannot go from %(old)s to %(new)s.") % {"old": old, "new": status},
                "status",
            )
        if status in APPROVED_STATUSES:
            _provision(current)
        current.status = status
        fields = ["status"]
        if old == MerchantStatus.PENDING:
            current.reviewed_at = timezone.now()
            current.reviewed_by = by
            current.review_note = note.strip()[:1000]
            fields += ["reviewed_at", "reviewed_by", "review_note"]
        current.save(update_fields=fields)
        if notify and old == MerchantStatus.PENDING:
            _email_decision(current)
    logger.info(
        "merchant %s: %s by %s",
        current.slug,
        TRANSITIONS[old, status],
        by.email if by is not None else "system",
    )
    merchant.status = status
    merchant.provisioned_at = current.provisioned_at
    return current


def _provision(merchant: Merchant) -> None:
    try:
        # A savepoint: a failed CREATE leaves the transaction usable to report it, and
        # the exception below rolls the whole move back (the merchant stays pending).
        with transaction.atomic():
            provisioning.provision(merchant)
    except DatabaseError as exc:
        logger.exception("merchant %s: provisioning failed", merchant.slug)
        merchant.provisioned_at = None
        raise ProvisioningFailed(
            OperatorErrorCode.PROVISIONING_FAILED,
            _(
                "The merchant's schema could not be created (%(error)s); it stays pending. "
                "Fix the cause and approve it again."
            )
            % {"error": type(exc).__name__},
        ) from exc


def _recipients(merchant: Merchant) -> list[str]:
    """The applicant: the contact email and every owner's email."""
    owners = merchant.memberships.filter(role=Role.OWNER).values_list("user__email", flat=True)
    return [merchant.contact_email, *owners]


def _email_decision(merchant: Merchant) -> None:
    """The decision on an application, in the language the applicant signed up in."""
    with translation.override(merchant.language or settings.LANGUAGE_CODE):
        values = {
            "name": merchant.name,
            "slug": merchant.slug,
            "link": settings.PUBLIC_BASE_URL + reverse("console-sign-in"),
            "note": merchant.review_note,
        }
        if merchant.status == MerchantStatus.ACTIVE:
            subject = _("%(name)s is approved") % values
            body = (
                _(
                    "Good news: %(name)s (%(slug)s) is now a merchant on the loyalty platform.\n\n"
                    "Sign in to the merchant console with the email and password you chose: "
                    "%(link)s\n\nFund your budget there and create your first campaign."
                )
                % values
            )
        else:
            subject = _("Your application for %(name)s") % values
            body = _("We are sorry: we cannot approve %(name)s (%(slug)s) as a merchant.") % values
            if merchant.review_note:
                body += "\n\n" + _("Reason: %(note)s") % values
            body += "\n\n" + _("Reply to this email if you have questions.")
    emails.send_on_commit(_recipients(merchant), subject, body)
