"""Bearer tokens: short-lived signed access tokens and rotating refresh tokens.

A small module on Django's own signing (HMAC-SHA256 with SECRET_KEY, timestamped)
rather than a JWT library: the tokens are only read by this server. An access
token names its ``AuthSession``; the session row is loaded with the user on every
request (one query), so revoking a session ends its access tokens at once.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.error_codes import AccountErrorCode
from accounts.errors import AuthError
from accounts.models import AuthSession, User
from accounts.session_cache import sessions
from core.db import rows

ACCESS_SALT = "accounts.tokens.access"


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    session: AuthSession


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _access_token(session: AuthSession) -> str:
    return signing.dumps({"sid": session.pk, "uid": session.user_id}, salt=ACCESS_SALT)


def issue(user: User, user_agent: str = "") -> TokenPair:
    refresh = secrets.token_urlsafe(32)
    now = timezone.now()
    session = AuthSession.objects.create(
        user=user,
        refresh_hash=_hash(refresh),
        created_at=now,
        refreshed_at=now,
        expires_at=now + timedelta(seconds=settings.REFRESH_TOKEN_TTL_SECONDS),
        user_agent=user_agent[:200],
    )
    return TokenPair(_access_token(session), refresh, settings.ACCESS_TOKEN_TTL_SECONDS, session)


def refresh(refresh_token: str) -> TokenPair:
    """Rotate a refresh token. Reusing an old one revokes its session (theft)."""
    digest = _hash(refresh_token or "")
    with transaction.atomic():
        session = (
            AuthSession.objects.select_for_update()
            .select_related("user")
            .filter(refresh_hash=digest)
            .first()
        )
        if session is None:
            theft = AuthSession.objects.filter(
                previous_refresh_hash=digest, revoked_at__isnull=True
            )
            for session_id in theft.values_list("pk", flat=True):
                sessions.changed(session_id=session_id)
            stolen = theft.update(revoked_at=timezone.now())
        else:
            if session.revoked_at is not None:
                raise AuthError(AccountErrorCode.SESSION_REVOKED, _("This session was signed out."))
            if session.expires_at <= timezone.now() or not session.user.is_active:
                raise AuthError(AccountErrorCode.TOKEN_EXPIRED, _("Your sign-in has expired."))
            new_refresh = secrets.token_urlsafe(32)
            session.previous_refresh_hash = session.refresh_hash
            session.refresh_hash = _hash(new_refresh)
            session.refreshed_at = timezone.now()
            session.save(update_fields=["previous_refresh_hash", "refresh_hash", "refreshed_at"])
    if session is None:
        # Raised only now: inside the atomic block it would roll the revocation back.
        if stolen:
            raise AuthError(AccountErrorCode.SESSION_REVOKED, _("This session was signed out."))
        raise AuthError(AccountErrorCode.TOKEN_INVALID, _("This sign-in is not valid."))
    return TokenPair(
        _access_token(session), new_refresh, settings.ACCESS_TOKEN_TTL_SECONDS, session
    )


# Tokens whose signature this process checked, with when each expires: checking one
# (deriving the key, the HMAC, decoding) was a twentieth of a claim's CPU, for the same
# answer every time the same phone sends the same token. The very same string is the
# very same token; its expiry is still checked on every use. Bounded: emptied when full.
_verified: dict[str, tuple[float, dict[str, Any]]] = {}
VERIFIED_MAX = 20_000


def _payload(access_token: str) -> dict[str, Any]:
    found = _verified.get(access_token)
    if found is not None:
        expires_at, payload = found
        if time.time() >= expires_at:
            raise AuthError(AccountErrorCode.TOKEN_EXPIRED, _("Your sign-in has expired."))
        return payload
    max_age = settings.ACCESS_TOKEN_TTL_SECONDS
    try:
        payload = signing.loads(access_token, salt=ACCESS_SALT, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise AuthError(AccountErrorCode.TOKEN_EXPIRED, _("Your sign-in has expired.")) from exc
    except signing.BadSignature as exc:
        raise AuthError(AccountErrorCode.TOKEN_INVALID, _("This sign-in is not valid.")) from exc
    if not isinstance(payload, dict):
        raise AuthError(AccountErrorCode.TOKEN_INVALID, _("This sign-in is not valid."))
    # signing.dumps: "<payload>:<timestamp, base 62>:<signature>".
    issued_at = signing.b62_decode(access_token.rsplit(":", 2)[1])
    if len(_verified) >= VERIFIED_MAX:
        _verified.clear()
    _verified[access_token] = (issued_at + max_age, payload)
    return payload


def authenticate(access_token: str) -> tuple[User, AuthSession]:
    payload = _payload(access_token)
    session = _checked_session(payload.get("sid"), payload.get("uid"))
    if session is None or session.revoked_at is not None:
        raise AuthError(AccountErrorCode.SESSION_REVOKED, _("This session was signed out."))
    if session.expires_at <= timezone.now() or not session.user.is_active:
        raise AuthError(AccountErrorCode.TOKEN_EXPIRED, _("Your sign-in has expired."))
    return session.user, session


# Every API request runs this lookup, so it is written once (core.db.rows) instead of
# being built by the ORM per request; the user's password hash is not read.
_SESSION = rows.columns(AuthSession)
_USER = rows.columns(User, only={f.attname for f in User._meta.concrete_fields} - {"password"})
_SESSION_WITH_USER = (
    f"SELECT {_SESSION.select('s')}, {_USER.select('u')}"
    f" FROM {rows.public_table(AuthSession)} s JOIN {rows.public_table(User)} u"
    " ON u.id = s.user_id"
    " WHERE s.id = %s AND s.user_id = %s"
)


def _checked_session(session_id: object, user_id: object) -> AuthSession | None:
    """The token's session with its user: kept in the process while every change to
    them is heard (``accounts.session_cache``), else read."""
    if not isinstance(session_id, int) or not isinstance(user_id, int):
        return None
    session = sessions.get(session_id, user_id)
    if session is None:
        generation = sessions.generation
        session = _session_with_user(session_id, user_id)
        if session is not None:
            sessions.put(session, generation)
    return session


def _session_with_user(session_id: object, user_id: object) -> AuthSession | None:
    if not isinstance(session_id, int) or not isinstance(user_id, int):
        return None
    row = rows.fetch_one(_SESSION_WITH_USER, [session_id, user_id], any_path=True)
    if row is None:
        return None
    session = _SESSION.build(row[: len(_SESSION)])
    session.user = _USER.build(row[len(_SESSION) :])
    return session


def revoke(session: AuthSession) -> None:
    AuthSession.objects.filter(pk=session.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    sessions.changed(session_id=session.pk)
