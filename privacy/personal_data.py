"""The account's own part of a data copy and erasure: profile, identities, consents."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from accounts.models import AuthSession, Consent, PhoneChallenge, User, WeChatIdentity
from accounts.session_cache import sessions
from privacy.models import MerchantConsent


def copy(consumer_id: int) -> dict[str, list[dict[str, Any]]]:
    user = User.objects.get(pk=consumer_id)
    return {
        "profile": [
            {
                "id": user.pk,
                "phone": user.phone or "",
                "name": user.name,
                "joined_at": user.date_joined.isoformat(),
            }
        ],
        "wechat": [
            {"app_id": i.app_id, "openid": i.openid, "since": i.created_at.isoformat()}
            for i in WeChatIdentity.objects.filter(user=user).order_by("created_at")
        ],
        "consents": [
            {
                "document": c.document,
                "version": c.version,
                "given_at": c.given_at.isoformat(),
                "channel": c.channel,
            }
            for c in Consent.objects.filter(user=user).order_by("given_at", "id")
        ],
        "merchant_consents": [
            {
                "merchant": c.merchant.name,
                "version": c.version,
                "given_at": c.given_at.isoformat(),
                "withdrawn_at": c.withdrawn_at.isoformat() if c.withdrawn_at else "",
            }
            for c in MerchantConsent.objects.filter(user=user)
            .select_related("merchant")
            .order_by("given_at", "id")
        ],
    }


def erase(consumer_id: int) -> None:
    """Last of the parts: the user row keeps only its id (the ledger and merchants' rows
    name it); phone, name, WeChat identities and sign-in traces go; sessions end."""
    user = User.objects.select_for_update().get(pk=consumer_id)
    now = timezone.now()
    if user.phone:
        PhoneChallenge.objects.filter(phone=user.phone).delete()
    WeChatIdentity.objects.filter(user=user).delete()
    Consent.objects.filter(user=user).update(ip=None, user_agent="")
    MerchantConsent.objects.filter(user=user, withdrawn_at__isnull=True).update(withdrawn_at=now)
    MerchantConsent.objects.filter(user=user).update(ip=None, user_agent="")
    revoke_sessions(user)
    user.phone = None
    user.email = None
    user.name = ""
    user.is_active = False
    user.set_unusable_password()
    user.save(update_fields=["phone", "email", "name", "is_active", "password"])
    sessions.changed(user_id=user.pk)


def revoke_sessions(user: User) -> int:
    live = AuthSession.objects.filter(user=user, revoked_at__isnull=True)
    for session_id in live.values_list("pk", flat=True):
        sessions.changed(session_id=session_id)
    return live.update(revoked_at=timezone.now())
