"""Sign in with WeChat: the hand-over ticket traded for the consumer behind the OpenID.

The OAuth callback (``frontend.consumer.wechat``) learnt the visitor's OpenID under our
service account and put a ticket (``accounts.wechat``) in the page's address. Here:

- a known OpenID (a ``WeChatIdentity`` under our app) is that consumer: the ticket is
  used up and the caller issues tokens;
- an unknown one needs consent first: without it the answer is ``CONSENT_REQUIRED``
  and the ticket is only read, not used up, so the page can ask and send it again;
- with consent, the consumer, their identity and their consent rows are created in
  one transaction.
"""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts import policies
from accounts.error_codes import AccountErrorCode
from accounts.errors import AuthError
from accounts.models import Consent, User, WeChatIdentity
from accounts.signals import signed_in
from accounts.wechat import WeChatProfile, read_ticket, use_ticket
from core import ratelimit
from core.db import violated_constraint


def _known(profile: WeChatProfile) -> User | None:
    identity = (
        WeChatIdentity.objects.select_related("user")
        .filter(app_id=profile.app_id, openid=profile.openid)
        .first()
    )
    return identity.user if identity is not None else None


def _active(user: User) -> User:
    if not user.is_active:
        raise AuthError(AccountErrorCode.ACCOUNT_DISABLED, _("This account is disabled."))
    return user


def _consent_required() -> AuthError:
    return AuthError(
        AccountErrorCode.CONSENT_REQUIRED,
        _("Agree to the user agreement and the privacy policy to continue."),
        "acceptPolicies",
    )


def sign_in_with_wechat(
    ticket: str, accept_policies: bool, ip: str | None = None, user_agent: str = ""
) -> User:
    """The consumer a WeChat sign-in ticket names, created (with consent) on first use."""
    if ip:
        ratelimit.check(f"wechat-signin:ip:{ip}", settings.WECHAT_SIGNINS_PER_IP_PER_HOUR, 3600)
    profile = read_ticket(ticket)
    if profile.app_id != settings.WECHAT_APP_ID:
        # A ticket of another app (a merchant's OAuth): its OpenID is not a sign-in.
        raise AuthError(
            AccountErrorCode.WECHAT_TICKET_INVALID,
            _("The WeChat sign-in is not valid. Please open the page again."),
            "ticket",
        )
    user = _known(profile)
    if user is not None:
        missing = policies.missing_consents(user)
        if missing and not accept_policies:
            # A new version of a document since the last sign-in: asked again, as at
            # the first one; the ticket stays valid for the tap that agrees (0183).
            raise _consent_required()
        use_ticket(ticket)
        if missing:
            policies.record_consent(user, Consent.Channel.WECHAT, ip, user_agent, missing)
        signed_in.send(sender=User, user=_active(user))
        return user
    if not accept_policies:
        # Not used up: the page asks for consent and sends the same ticket again.
        raise _consent_required()
    use_ticket(ticket)
    try:
        with transaction.atomic():
            user = User(is_active=True)
            user.set_unusable_password()
            user.save()
            WeChatIdentity.objects.create(
                user=user, app_id=profile.app_id, openid=profile.openid, unionid=profile.unionid
            )
            policies.record_consent(user, Consent.Channel.WECHAT, ip, user_agent)
    except IntegrityError as exc:
        # The same person consented in two tabs at once: the other tab created the
        # account (and recorded the consent); this one signs in to it.
        if violated_constraint(exc) != "wechat_identity_openid":
            raise
        existing = _known(profile)
        if existing is None:
            raise
        return _active(existing)
    return user
