"""Bearer tokens (issue, authenticate, rotate, revoke) and staff password sign-in."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import signing
from django.utils import timezone
from pytest_django.fixtures import Settings

from accounts import tokens
from accounts.errors import AuthError
from accounts.models import AuthSession, User
from accounts.services import STAFF_FAILURES_PER_HOUR, staff_sign_in
from core.ratelimit import RateLimited

PASSWORD = "a-long-staff-password"


def auth_error(call, *args) -> str:
    with pytest.raises(AuthError) as exc:
        call(*args)
    return exc.value.code


@pytest.fixture
def staff(db: None, unique) -> User:
    return User.objects.create_user(f"{unique('staff')}@shop.test", PASSWORD, name="Staff")


def test_issue_then_authenticate_returns_the_user(consumer: User) -> None:
    pair = tokens.issue(consumer, user_agent="Mozilla/5.0 " + "x" * 300)
    assert pair.expires_in == 15 * 60
    assert pair.access_token != pair.refresh_token

    user, session = tokens.authenticate(pair.access_token)

    assert user.pk == consumer.pk
    assert session.pk == pair.session.pk
    assert len(session.user_agent) == 200
    # Only a digest of the refresh token is stored.
    session.refresh_from_db()
    assert pair.refresh_token not in session.refresh_hash
    assert session.expires_at > timezone.now() + timedelta(days=29)


def test_each_sign_in_is_its_own_session(consumer: User) -> None:
    first, second = tokens.issue(consumer), tokens.issue(consumer)
    assert first.session.pk != second.session.pk
    tokens.revoke(first.session)
    assert auth_error(tokens.authenticate, first.access_token) == "SESSION_REVOKED"
    assert tokens.authenticate(second.access_token)[0].pk == consumer.pk


def test_refresh_rotates_the_refresh_token(consumer: User) -> None:
    pair = tokens.issue(consumer)
    new = tokens.refresh(pair.refresh_token)

    assert new.session.pk == pair.session.pk
    assert new.refresh_token != pair.refresh_token
    assert tokens.authenticate(new.access_token)[0].pk == consumer.pk
    # The new refresh token rotates again.
    newer = tokens.refresh(new.refresh_token)
    assert tokens.authenticate(newer.access_token)[0].pk == consumer.pk


def test_reusing_a_rotated_refresh_token_revokes_the_session(consumer: User) -> None:
    pair = tokens.issue(consumer)
    new = tokens.refresh(pair.refresh_token)

    # Only a stolen copy would present the old token again: the session ends.
    assert auth_error(tokens.refresh, pair.refresh_token) == "SESSION_REVOKED"

    session = AuthSession.objects.get(pk=pair.session.pk)
    assert session.revoked_at is not None
    assert not session.is_live
    assert auth_error(tokens.authenticate, new.access_token) == "SESSION_REVOKED"
    assert auth_error(tokens.authenticate, pair.access_token) == "SESSION_REVOKED"
    assert auth_error(tokens.refresh, new.refresh_token) == "SESSION_REVOKED"


def test_revoke_signs_the_session_out(consumer: User) -> None:
    pair = tokens.issue(consumer)
    tokens.revoke(pair.session)
    assert auth_error(tokens.authenticate, pair.access_token) == "SESSION_REVOKED"
    assert auth_error(tokens.refresh, pair.refresh_token) == "SESSION_REVOKED"


def test_expired_access_token(consumer: User, settings: Settings) -> None:
    pair = tokens.issue(consumer)
    settings.ACCESS_TOKEN_TTL_SECONDS = -1
    assert auth_error(tokens.authenticate, pair.access_token) == "TOKEN_EXPIRED"
    # The session itself is still fine: a refresh gives a working token again.
    settings.ACCESS_TOKEN_TTL_SECONDS = 900
    assert tokens.authenticate(tokens.refresh(pair.refresh_token).access_token)[0] == consumer


def test_expired_session(consumer: User) -> None:
    pair = tokens.issue(consumer)
    AuthSession.objects.filter(pk=pair.session.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert auth_error(tokens.authenticate, pair.access_token) == "TOKEN_EXPIRED"
    assert auth_error(tokens.refresh, pair.refresh_token) == "TOKEN_EXPIRED"


def test_disabled_user_cannot_use_tokens(consumer: User) -> None:
    pair = tokens.issue(consumer)
    User.objects.filter(pk=consumer.pk).update(is_active=False)
    assert auth_error(tokens.authenticate, pair.access_token) == "TOKEN_EXPIRED"
    assert auth_error(tokens.refresh, pair.refresh_token) == "TOKEN_EXPIRED"


def test_tampered_tokens_are_invalid(consumer: User, staff: User) -> None:
    pair = tokens.issue(consumer)
    payload, _sep, signature = pair.access_token.rpartition(":")
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    assert auth_error(tokens.authenticate, f"{payload}:{flipped}") == "TOKEN_INVALID"
    assert auth_error(tokens.authenticate, pair.access_token[1:]) == "TOKEN_INVALID"
    assert auth_error(tokens.authenticate, "") == "TOKEN_INVALID"
    assert auth_error(tokens.authenticate, "not-a-token") == "TOKEN_INVALID"
    # A payload naming another user, signed with another salt, does not pass either.
    forged = signing.dumps({"sid": pair.session.pk, "uid": staff.pk}, salt="something-else")
    assert auth_error(tokens.authenticate, forged) == "TOKEN_INVALID"
    # Correctly signed but naming a session of someone else: refused.
    other = signing.dumps({"sid": pair.session.pk, "uid": staff.pk}, salt=tokens.ACCESS_SALT)
    assert auth_error(tokens.authenticate, other) == "SESSION_REVOKED"
    # Refresh tokens are opaque: anything unknown is invalid and revokes nothing.
    assert auth_error(tokens.refresh, pair.refresh_token + "x") == "TOKEN_INVALID"
    assert auth_error(tokens.refresh, "") == "TOKEN_INVALID"
    assert tokens.authenticate(pair.access_token)[0].pk == consumer.pk


# --- Staff sign-in ------------------------------------------------------------------


def test_staff_sign_in_with_the_right_password(staff: User) -> None:
    assert staff_sign_in(staff.get_username(), PASSWORD, "198.51.100.1").pk == staff.pk
    # Email is matched case-insensitively, surrounding spaces ignored.
    assert staff_sign_in(f"  {staff.get_username().upper()} ", PASSWORD, None).pk == staff.pk


def test_staff_sign_in_refuses_wrong_password_unknown_email_and_disabled_user(
    staff: User,
) -> None:
    codes = {
        auth_error(staff_sign_in, staff.email, "wrong-password", None),
        auth_error(staff_sign_in, "nobody@shop.test", PASSWORD, None),
        auth_error(staff_sign_in, staff.email, "", None),
    }
    assert codes == {"INVALID_CREDENTIALS"}
    User.objects.filter(pk=staff.pk).update(is_active=False)
    assert auth_error(staff_sign_in, staff.email, PASSWORD, None) == "INVALID_CREDENTIALS"


def test_password_guessing_is_bounded_per_account(staff: User) -> None:
    for _ in range(STAFF_FAILURES_PER_HOUR):
        assert auth_error(staff_sign_in, staff.email, "guess", None) == "INVALID_CREDENTIALS"
    # Past the limit even the right password is refused until the window passes.
    with pytest.raises(RateLimited) as exc:
        staff_sign_in(staff.get_username(), PASSWORD, None)
    assert exc.value.code == "RATE_LIMITED"
    assert exc.value.retry_after > 0


def test_password_guessing_is_bounded_per_address(staff: User) -> None:
    ip = "198.51.100.66"
    for i in range(STAFF_FAILURES_PER_HOUR * 5):
        assert auth_error(staff_sign_in, f"guess{i}@shop.test", "guess", ip) == (
            "INVALID_CREDENTIALS"
        )
    with pytest.raises(RateLimited):
        staff_sign_in(staff.get_username(), PASSWORD, ip)
    # The same person from another address is not locked out by that address.
    assert staff_sign_in(staff.get_username(), PASSWORD, "198.51.100.67").pk == staff.pk


def test_successful_sign_ins_do_not_count_toward_the_limit(staff: User) -> None:
    ip = "198.51.100.80"
    for _ in range(STAFF_FAILURES_PER_HOUR * 2):
        assert staff_sign_in(staff.get_username(), PASSWORD, ip).pk == staff.pk
    # Failures still count from zero: the limit is reached only after that many of them.
    for _ in range(STAFF_FAILURES_PER_HOUR - 1):
        assert auth_error(staff_sign_in, staff.email, "guess", ip) == "INVALID_CREDENTIALS"
    assert staff_sign_in(staff.get_username(), PASSWORD, ip).pk == staff.pk


def test_a_token_checked_before_still_expires(
    consumer: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    pair = tokens.issue(consumer)
    tokens.authenticate(pair.access_token)  # its signature checked and remembered
    assert pair.access_token in tokens._verified
    later = tokens.time.time() + 15 * 60 + 1
    monkeypatch.setattr(tokens.time, "time", lambda: later)
    assert auth_error(tokens.authenticate, pair.access_token) == "TOKEN_EXPIRED"


def test_a_token_one_character_off_a_checked_one_is_refused(consumer: User) -> None:
    pair = tokens.issue(consumer)
    tokens.authenticate(pair.access_token)
    last = pair.access_token[-1]
    forged = pair.access_token[:-1] + ("A" if last != "A" else "B")
    assert auth_error(tokens.authenticate, forged) == "TOKEN_INVALID"
