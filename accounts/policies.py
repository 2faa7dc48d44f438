"""Our consumer documents and their current versions: the one place they are named.

A consumer agrees to both before their account is created (``accounts.Consent``):
inside WeChat with the "同意并领取" tap, by phone with the sign-in tap, whose card
says so. Changing a document's text means raising its version here; the consents
already given keep the version they were given for.
"""

from __future__ import annotations

from django.utils import timezone

from accounts.models import Consent, User

# Bumped together with the text of the page that shows the document
# (frontend/consumer/templates/consumer/terms.html, privacy.html).
CURRENT_VERSIONS: dict[str, str] = {
    Consent.Document.TERMS: "2026-12-05",
    Consent.Document.PRIVACY: "2026-12-05",
}


def record_consent(
    user: User, channel: str, ip: str | None = None, user_agent: str = ""
) -> list[Consent]:
    """Record ``user``'s agreement to the current version of every document.

    Called inside the transaction that creates the account, so that no consumer
    exists without the consent that let them in.
    """
    now = timezone.now()
    return Consent.objects.bulk_create(
        Consent(
            user=user,
            document=document,
            version=version,
            given_at=now,
            channel=channel,
            ip=ip or None,
            user_agent=user_agent[:200],
        )
        for document, version in CURRENT_VERSIONS.items()
    )
