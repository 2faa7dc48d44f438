"""The hand-over between WeChat's OAuth callback and our page: a short-lived, single-use ticket.

The callback (a server view) learns the visitor's OpenID, but our pages hold their
tokens in the page, not in cookies; so the callback puts a ticket in the page's address
(its fragment, which never reaches a server log) and the page's script trades it, once,
through the consumer API: to sign in (``signInWithWeChat``) or to bind WeChat to the
account already signed in. The ticket is signed (it cannot be forged or altered), dies
after ``TICKET_SECONDS``, and is used up by the first call that acts on it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.core import signing
from django.core.cache import cache
from django.utils.translation import gettext as _

from accounts.error_codes import AccountErrorCode
from accounts.errors import AuthError, load_signed
from core.wechat.oauth import OAuthResult

TICKET_SECONDS = 10 * 60
_SALT = "accounts.wechat.ticket"


@dataclass(frozen=True)
class WeChatProfile:
    """Who WeChat says the visitor is: an OpenID under ``app_id``."""

    app_id: str
    openid: str
    unionid: str = ""


def issue_ticket(result: OAuthResult) -> str:
    payload = {
        "a": result.app_id,
        "o": result.openid,
        "u": result.unionid,
        "n": secrets.token_urlsafe(12),
    }
    return signing.dumps(payload, salt=_SALT)


def _payload(ticket: str) -> dict[str, str]:
    payload = load_signed(
        ticket,
        salt=_SALT,
        max_age=TICKET_SECONDS,
        expired=lambda: AuthError(
            AccountErrorCode.WECHAT_TICKET_EXPIRED,
            _("The WeChat sign-in took too long. Please open the page again."),
            "ticket",
        ),
        invalid=lambda: AuthError(
            AccountErrorCode.WECHAT_TICKET_INVALID,
            _("The WeChat sign-in is not valid. Please open the page again."),
            "ticket",
        ),
    )
    return dict(payload)


def read_ticket(ticket: str) -> WeChatProfile:
    """The profile a ticket carries, checked but not used up (to decide what to ask)."""
    payload = _payload(ticket)
    return WeChatProfile(payload["a"], payload["o"], payload["u"])


def use_ticket(ticket: str) -> WeChatProfile:
    """The profile a ticket carries, used up: a second use is refused (WECHAT_TICKET_USED).

    Call it inside the transaction that acts on the ticket only if that transaction
    cannot fail afterwards for a reason the visitor can fix: a used ticket is not given back.
    """
    payload = _payload(ticket)
    if not cache.add(f"wechat-ticket:{payload['n']}", 1, TICKET_SECONDS):
        raise AuthError(
            AccountErrorCode.WECHAT_TICKET_USED,
            _("This WeChat sign-in was already used. Please open the page again."),
            "ticket",
        )
    return WeChatProfile(payload["a"], payload["o"], payload["u"])
