"""Bearer tokens: short-lived signed access tokens and rotating refresh tokens.

A small module on Django's own signing (HMAC-SHA256 with SECRET_KEY, timestamped)
rather than a JWT library: the tokens are only read by this server. An access
token names its ``AuthSession``; the session row is loaded with the user on every
request (one query), so revoking a session ends its access tokens at once.

A request of the consumer API whose session this process has not checked lately is
*deferred* (``defer``): ``request.user`` and ``request.auth_session`` are checked the
first time anything reads them, and an operation whose one statement checks the session
itself (``gated``: the flash sale's redeem, a questionnaire's submit) spares the read. The
bearer's first request to a process, every buyer's redeem in a flash sale, then costs one
round trip instead of two (decisions 0343, 0344). Whatever the operation answers, the view
checks a session that no gate admitted (``Bearer.admitted``) before the answer leaves.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _

from accounts.error_codes import AccountErrorCode
from accounts.errors import AuthError
from accounts.models import AuthSession, User
from accounts.session_cache import sessions
from core.db import rows

if TYPE_CHECKING:
    from django.http import HttpRequest

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


@dataclass
class Bearer:
    """What a genuine, unexpired access token names, before its session is checked."""

    session_id: int
    user_id: int
    # Set by the service whose gated statement (``gated``) answered: that statement
    # checked the session, and nothing needs to check it again in this request.
    admitted: bool = False

    def gate_arguments(self, now: datetime, *, phone: bool) -> list[int | datetime | bool]:
        """The arguments of ``GATE``, in its order, for a statement run at ``now`` that
        needs a consumer with a phone (``phone``) or any consumer."""
        return [self.session_id, self.user_id, now, phone]


def verify(access_token: str) -> Bearer:
    """The token's session and user, from its signature alone (no statement)."""
    payload = _payload(access_token)
    session_id, user_id = payload.get("sid"), payload.get("uid")
    if type(session_id) is not int or type(user_id) is not int:
        raise AuthError(AccountErrorCode.SESSION_REVOKED, _("This session was signed out."))
    return Bearer(session_id, user_id)


def authenticate(access_token: str) -> tuple[User, AuthSession]:
    return check(verify(access_token))


def check(bearer: Bearer, session: AuthSession | None = None) -> tuple[User, AuthSession]:
    """The bearer's user and live session (``session``: already read), or the refusal."""
    if session is None:
        session = _checked_session(bearer.session_id, bearer.user_id)
    if session is None or session.revoked_at is not None:
        raise AuthError(AccountErrorCode.SESSION_REVOKED, _("This session was signed out."))
    if session.expires_at <= timezone.now() or not session.user.is_active:
        raise AuthError(AccountErrorCode.TOKEN_EXPIRED, _("Your sign-in has expired."))
    return session.user, session


# --- Deferred checks (decision 0343) ---------------------------------------------------


def defer(request: HttpRequest, bearer: Bearer) -> None:
    """Authenticate ``request`` as ``bearer``, checking the session when first needed.

    The checked session of this process's cache is taken at once (no statement). Else
    ``request.user`` and ``request.auth_session`` check it when first read: a refusal is
    raised there and kept in ``request.auth_failure``, which the API view answers 401.
    """
    cached = sessions.get(bearer.session_id, bearer.user_id)
    if cached is not None:
        request.user, request.auth_session = check(bearer, cached)  # type: ignore[attr-defined]  # ours on Django's request
        return
    request.bearer = bearer  # type: ignore[attr-defined]  # ours on Django's request
    request.user = SimpleLazyObject(lambda: settle(request)[0])  # type: ignore[assignment]  # a lazy User, as Django's AuthenticationMiddleware sets
    request.auth_session = SimpleLazyObject(lambda: settle(request)[1])  # type: ignore[attr-defined]  # ours on Django's request


def unsettled(request: HttpRequest) -> Bearer | None:
    """The bearer whose session nothing has checked yet in this request, else None."""
    if hasattr(request, "_settled") or hasattr(request, "auth_failure"):
        return None
    bearer: Bearer | None = getattr(request, "bearer", None)
    return None if bearer is None or bearer.admitted else bearer


def settle(request: HttpRequest) -> tuple[User, AuthSession]:
    """Check a deferred request's session now (once), raising its refusal."""
    settled: tuple[User, AuthSession] | None = getattr(request, "_settled", None)
    if settled is not None:
        return settled
    failure: AuthError | None = getattr(request, "auth_failure", None)
    if failure is not None:
        raise failure
    bearer: Bearer | None = getattr(request, "bearer", None)
    if bearer is None:
        raise RuntimeError("settle() of a request that was not deferred")
    try:
        settled = check(bearer)
    except AuthError as exc:
        request.auth_failure = exc  # type: ignore[attr-defined]  # ours on Django's request
        raise
    request._settled = settled  # type: ignore[attr-defined]  # ours on Django's request
    return settled


# Appended to a statement ``SELECT * FROM public.<function>(…)``: a condition on nothing
# the function returns, so PostgreSQL evaluates it once, first, and runs the function only
# when it holds (a plan's "One-Time Filter"). Its arguments: ``Bearer.gate_arguments``.
GATE = " WHERE public.accounts_session_ok(%s, %s, %s, %s)"


class GateRefused(Exception):
    """A gated call did not run (``fetch_one``), or could not answer without the checked
    consumer: the caller takes the full way, which checks the session and the consumer
    first and answers as ever."""


def user_id(user: User, gate: Bearer | None) -> int:
    """The id of the request's user: a deferred one's (``gate``) without reading it."""
    return gate.user_id if gate is not None else user.pk


def gated(sql: str) -> str:
    """``sql`` run only for a live session of an active consumer (with a phone if asked).

    Narrower than ``check`` on purpose (accounts/sql/accounts_session_ok.sql): a bearer it
    refuses takes the full way, which refuses it or lets it through as before.
    """
    if not sql.startswith("SELECT * FROM public.") or " WHERE " in sql:
        raise ValueError(f"not a bare function call: {sql}")
    return sql + GATE


def fetch_one(
    sql: str, params: list[Any], gate: Bearer | None, now: datetime, *, phone: bool
) -> tuple[Any, ...] | None:
    """The one row of ``sql``, a bare function call, run for ``gate`` only if its session
    may act (``gated``; ``phone``: the function needs a consumer with a phone), or as it is
    when there is no gate. ``GateRefused``: the gate refused and nothing ran. When the
    function ran (it answered, or a constraint refused what it wrote), the gate is
    admitted."""
    if gate is None:
        return rows.fetch_one(sql, params, any_path=True)
    try:
        row = rows.fetch_one(
            gated(sql), [*params, *gate.gate_arguments(now, phone=phone)], any_path=True
        )
    except IntegrityError:
        gate.admitted = True  # only the function writes, and it runs only once admitted
        raise
    if row is None:
        raise GateRefused
    gate.admitted = True
    return row


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


def _checked_session(session_id: int, user_id: int) -> AuthSession | None:
    """The token's session with its user: kept in the process while every change to
    them is heard (``accounts.session_cache``), else read."""
    session = sessions.get(session_id, user_id)
    if session is None:
        generation = sessions.generation
        session = _session_with_user(session_id, user_id)
        if session is not None:
            sessions.put(session, generation)
    return session


def _session_with_user(session_id: int, user_id: int) -> AuthSession | None:
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
