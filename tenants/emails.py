"""Emails to merchants' people (invitations, decisions on applications).

Sent through Django's email backend (console in development, locmem in tests, SMTP
in production) once the change they announce has committed: an email never
announces something that rolled back, and a mail failure never undoes the change.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.core.mail import send_mail
from django.db import transaction

logger = logging.getLogger(__name__)


def send_on_commit(recipients: Iterable[str], subject: str, body: str) -> None:
    """Send one email to ``recipients`` (blanks and repeats dropped) after the commit."""
    to = list(dict.fromkeys(address.strip().lower() for address in recipients if address))
    if not to:
        return

    def send() -> None:
        try:
            send_mail(subject, body, None, to)
        except Exception:  # committed already: log it, an operator can resend by hand
            logger.exception("could not send %r to %s", subject, ", ".join(to))

    transaction.on_commit(send)
