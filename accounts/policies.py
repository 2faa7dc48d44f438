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


def missing_consents(user: User) -> list[str]:
    """The documents whose current version ``user`` has not agreed to (a new version
    since their last sign-in): asked again at the next sign-in (decision 0183)."""
    agreed = set(
        Consent.objects.filter(
            user=user,
            document__in=list(CURRENT_VERSIONS),
            version__in=list(CURRENT_VERSIONS.values()),
        ).values_list("document", "version")
    )
    return [doc for doc, version in CURRENT_VERSIONS.items() if (doc, version) not in agreed]


def record_consent(
    user: User,
    channel: str,
    ip: str | None = None,
    user_agent: str = "",
    documents: list[str] | None = None,
) -> list[Consent]:
    """Record ``user``'s agreement to the current version of every document (or of
    ``documents``).

    Called inside the transaction that creates the account, so that no consumer
    exists without the consent that let them in; and at a sign-in after a new version.
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
        if documents is None or document in documents
    )
