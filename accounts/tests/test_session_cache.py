"""The checked sessions a process keeps (accounts/session_cache.py), against real Redis.

Another process is played by a second ``SessionCache`` with its own listening thread
and Redis connection: what it hears comes over Redis's channel, as between gunicorn
workers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from accounts import tokens
from accounts.errors import AuthError
from accounts.models import AuthSession, User
from accounts.session_cache import CHANNEL, SessionCache, sessions
from core.cache import redis_client

pytestmark = pytest.mark.django_db


def _wait(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not within the time allowed"
        time.sleep(0.01)


@pytest.fixture
def other() -> Iterator[SessionCache]:
    """Another process's cache, subscribed."""
    cache = SessionCache()
    cache._ensure_listening()
    _wait(cache._subscribed.is_set)
    yield cache


def _read(cache: SessionCache, pair: tokens.TokenPair) -> AuthSession:
    """What authenticate does in that process: keep what it read."""
    generation = cache.generation
    session = tokens._session_with_user(pair.session.pk, pair.session.user_id)
    assert session is not None
    cache.put(session, generation)
    return session


def test_a_checked_session_is_kept_and_handed_out_as_a_copy(
    consumer: User, other: SessionCache
) -> None:
    pair = tokens.issue(consumer)
    _read(other, pair)
    first = other.get(pair.session.pk, consumer.pk)
    second = other.get(pair.session.pk, consumer.pk)
    assert first is not None and second is not None
    assert first.user.pk == consumer.pk
    first.user.name = "changed by one request"
    assert second.user.name != "changed by one request"
    # A token naming another user never gets the session.
    assert other.get(pair.session.pk, consumer.pk + 1) is None


def test_a_sign_out_reaches_every_process(
    consumer: User, other: SessionCache, django_capture_on_commit_callbacks
) -> None:
    pair = tokens.issue(consumer)
    _read(other, pair)
    assert other.get(pair.session.pk, consumer.pk) is not None
    with django_capture_on_commit_callbacks(execute=True):
        tokens.revoke(pair.session)
    _wait(lambda: other.get(pair.session.pk, consumer.pk) is None)
    with pytest.raises(AuthError) as refused:
        tokens.authenticate(pair.access_token)
    assert refused.value.code == "SESSION_REVOKED"


def test_a_deactivated_user_is_refused_at_once(
    consumer: User, other: SessionCache, django_capture_on_commit_callbacks
) -> None:
    pair = tokens.issue(consumer)
    tokens.authenticate(pair.access_token)  # kept by this process
    _read(other, pair)
    with django_capture_on_commit_callbacks(execute=True):
        consumer.is_active = False
        consumer.save(update_fields=["is_active"])
    with pytest.raises(AuthError) as refused:
        tokens.authenticate(pair.access_token)
    assert refused.value.code == "TOKEN_EXPIRED"
    _wait(lambda: other.get(pair.session.pk, consumer.pk) is None)


def test_a_read_that_spans_a_change_is_not_kept(consumer: User, other: SessionCache) -> None:
    pair = tokens.issue(consumer)
    generation = other.generation
    session = tokens._session_with_user(pair.session.pk, consumer.pk)
    assert session is not None
    redis_client().publish(CHANNEL, f"s:{pair.session.pk}")
    _wait(lambda: other.generation != generation)
    other.put(session, generation)
    assert other.get(pair.session.pk, consumer.pk) is None


def test_nothing_is_kept_while_unsubscribed(consumer: User, other: SessionCache) -> None:
    pair = tokens.issue(consumer)
    _read(other, pair)
    assert other.get(pair.session.pk, consumer.pk) is not None
    # Redis drops the subscriber (a restart, a network cut): the process must forget
    # everything, since it would not hear a revocation now.
    client = redis_client()
    client.client_kill_filter(_type="pubsub")
    _wait(lambda: other.get(pair.session.pk, consumer.pk) is None)
    # Subscribed again, it keeps sessions again.
    _wait(other._subscribed.is_set)
    _read(other, pair)
    assert other.get(pair.session.pk, consumer.pk) is not None


def test_this_process_keeps_what_it_checked(consumer: User) -> None:
    pair = tokens.issue(consumer)
    tokens.authenticate(pair.access_token)
    _wait(sessions._subscribed.is_set)
    tokens.authenticate(pair.access_token)
    assert sessions.get(pair.session.pk, consumer.pk) is not None


def test_the_cache_stays_bounded(
    consumer: User, other: SessionCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("accounts.session_cache.MAX_ENTRIES", 3)
    pairs = [tokens.issue(consumer) for _n in range(5)]
    for pair in pairs:
        _read(other, pair)
        assert len(other._entries) <= 3
    # The last one read is kept.
    assert other.get(pairs[-1].session.pk, consumer.pk) is not None
