"""A merchant's life as the platform's operators see it: approve, suspend, reinstate.

Onboarding creates the merchant (``tenants.onboarding``); from then on its status
moves only through ``change_status``, so that every move is one the platform means:
a pending merchant is approved once, an active one can be suspended (its campaigns
stop awarding at once: ``Merchant.ensure_can_award``), and a suspended one can be
reinstated. Each move is logged with the operator who made it.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from config.errors import DomainError
from tenants.models import Merchant, MerchantStatus

logger = logging.getLogger(__name__)

# (from, to) → the operator's verb, for messages and the admin's actions.
TRANSITIONS: dict[tuple[str, str], str] = {
    (MerchantStatus.PENDING, MerchantStatus.ACTIVE): "approve",
    (MerchantStatus.ACTIVE, MerchantStatus.SUSPENDED): "suspend",
    (MerchantStatus.SUSPENDED, MerchantStatus.ACTIVE): "reinstate",
}


def change_status(merchant: Merchant, status: str, by: User | None = None) -> Merchant:
    """Move ``merchant`` to ``status`` if the move is allowed; idempotent when already there."""
    with transaction.atomic():
        current = Merchant.objects.select_for_update().get(pk=merchant.pk)
        old = current.status
        if old == status:
            return current
        if (old, status) not in TRANSITIONS:
            raise DomainError(
                "INVALID_STATUS_CHANGE",
                _("A merchant cannot go from %(old)s to %(new)s.") % {"old": old, "new": status},
                "status",
            )
        current.status = status
        current.save(update_fields=["status"])
    logger.info(
        "merchant %s: %s by %s",
        current.slug,
        TRANSITIONS[old, status],
        by.email if by is not None else "system",
    )
    merchant.status = status
    return current
