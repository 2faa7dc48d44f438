"""Deleting a consumer's account: requested, cooled off, then erased by the beat task.

1. ``request_deletion``: after a fresh one-time code (``privacy.fresh_code``); the
   account is signed out everywhere, and ``erase_after`` is ``ERASURE_COOLING_OFF_DAYS``
   away (decision 0186).
2. Until then it is cancelled by signing in again (``accounts.signals.signed_in``), by
   the cancel button (``cancel_deletion``) or by an operator in the admin.
3. ``erase_due`` (beat, ``privacy.tasks.erase_due_accounts``) carries out each due
   request in a transaction of its own: the user row locked, then every app's part in
   order (``privacy.parts``: points forfeits the wallet with one ledger transaction, the
   mall pseudonymises orders and deletes addresses, the account's own part comes last
   and erases phone, name, WeChat identities, consents' traces, sessions).
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from privacy import fresh_code, parts
from privacy.error_codes import PrivacyErrorCode
from privacy.errors import PrivacyError
from privacy.models import ErasureRequest
from privacy.personal_data import revoke_sessions

logger = logging.getLogger(__name__)


def pending(consumer: User) -> ErasureRequest | None:
    return ErasureRequest.objects.filter(
        user=consumer, status=ErasureRequest.Status.PENDING
    ).first()


def request_deletion(consumer: User, code: str) -> ErasureRequest:
    fresh_code.check(consumer, code)
    now = timezone.now()
    try:
        with transaction.atomic():
            request = ErasureRequest.objects.create(
                user=consumer,
                requested_at=now,
                erase_after=now + timedelta(days=settings.ERASURE_COOLING_OFF_DAYS),
            )
            # Signed out everywhere: signing in again is how the consumer cancels.
            revoke_sessions(consumer)
    except IntegrityError as exc:
        raise PrivacyError(
            PrivacyErrorCode.DELETION_ALREADY_REQUESTED,
            _("Your account's deletion is already requested."),
        ) from exc
    return request


def cancel_deletion(consumer: User, by: str) -> ErasureRequest:
    """Cancel the pending deletion (``by``: ``consumer``, ``sign-in`` or an operator)."""
    with transaction.atomic():
        request = (
            ErasureRequest.objects.select_for_update()
            .filter(user=consumer, status=ErasureRequest.Status.PENDING)
            .first()
        )
        if request is None:
            raise PrivacyError(
                PrivacyErrorCode.DELETION_NOT_REQUESTED,
                _("Your account is not being deleted."),
            )
        request.status = ErasureRequest.Status.CANCELLED
        request.cancelled_at = timezone.now()
        request.cancelled_by = by[:32]
        request.save(update_fields=["status", "cancelled_at", "cancelled_by"])
    return request


def cancel_on_sign_in(user: User, **kwargs: object) -> None:
    """``accounts.signals.signed_in`` receiver: a sign-in during the cooling-off cancels."""
    if pending(user) is not None:
        # Cancelled or carried out a moment ago: nothing left to cancel.
        with contextlib.suppress(PrivacyError):
            cancel_deletion(user, "sign-in")


def erase(request_id: int, now: datetime | None = None) -> ErasureRequest | None:
    """Carry out one due request; None if it is no longer pending or not yet due."""
    now = now or timezone.now()
    with transaction.atomic():
        request = (
            ErasureRequest.objects.select_for_update()
            .filter(pk=request_id, status=ErasureRequest.Status.PENDING, erase_after__lte=now)
            .first()
        )
        if request is None:
            return None
        # Locked before any part moves, as a merge locks its users first.
        User.objects.select_for_update().filter(pk=request.user_id).exists()
        erased = {part.name: part.erase(request.user_id) for part in parts.parts()}
        forfeited = erased.get("points")
        request.status = ErasureRequest.Status.DONE
        request.done_at = now
        # The points part answers what it forfeited, shown to operators in the admin.
        request.forfeited_points = forfeited if isinstance(forfeited, int) else 0
        request.save(update_fields=["status", "done_at", "forfeited_points"])
    logger.info("erased account %s (request %s)", request.user_id, request.pk)
    return request


def erase_due(now: datetime | None = None, limit: int = 500) -> int:
    now = now or timezone.now()
    due = (
        ErasureRequest.objects.filter(status=ErasureRequest.Status.PENDING, erase_after__lte=now)
        .order_by("erase_after")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(1 for pk in list(due) if erase(pk, now) is not None)
