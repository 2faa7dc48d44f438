"""Checked sign-in sessions kept in the process, for as long as Redis reports every change.

Every API request checks its access token's session: not revoked, not expired, its user
active. That was one statement per request, the second most expensive part of a scan
claim after the claim itself (docs/benchmarks.md, "Scan claims"). The session and user
rows change rarely (sign-out, a stolen refresh token, an operator deactivating a user)
and are read on every request, so each process keeps the rows it read, and drops them
the moment any process says they changed:

- A change is announced on the Redis channel ``CHANNEL`` (``changed``) when its
  transaction commits, and dropped in the announcing process at once.
- A thread per process listens on that channel. Entries are kept only while it is
  subscribed: when the subscription breaks (Redis restarted, the network), the process
  forgets everything and reads the database on every request until it is subscribed
  again. A revocation is therefore never missed, only slower to apply.
- A row read while a change was being announced is not kept (``generation``): the read
  may predate the change's commit.
- Entries expire after ``AUTH_SESSION_CACHE_SECONDS`` anyway (a change made behind the
  application's back, in ``psql``, lasts at most that long).

The cached rows are the request's copies: a request that changes its user changes its
own copy, never the entry.

Without Redis (the demo's in-process cache) nothing is kept: every request reads the rows.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from typing import TYPE_CHECKING, TypeVar

import redis
from django.conf import settings
from django.db import transaction
from django.db.models import Model
from django.db.models.base import ModelState

from core.cache import redis_client

if TYPE_CHECKING:
    from accounts.models import AuthSession

logger = logging.getLogger(__name__)
M = TypeVar("M", bound=Model)

CHANNEL = "accounts.sessions.changed"
# Entries are only dropped when read after expiring or when changed: past this many, the
# expired ones are swept (and all of them if none had expired).
MAX_ENTRIES = 50_000
RETRY_SECONDS = 1.0


class SessionCache:
    def __init__(self) -> None:
        self._entries: dict[int, tuple[float, AuthSession]] = {}
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self._pid = 0  # the process whose listener is started (a fork starts its own)
        # Bumped by every change heard: a read that spans a change is not kept.
        self.generation = 0

    # --- reading -------------------------------------------------------------------

    def get(self, session_id: int, user_id: int) -> AuthSession | None:
        """A copy of the kept session (with its user), or None."""
        self._ensure_listening()
        if not self._subscribed.is_set():
            return None
        found = self._entries.get(session_id)
        if found is None or found[0] < time.monotonic():
            return None
        session = found[1]
        if session.user_id != user_id:
            return None
        mine = _clone(session)
        mine.user = _clone(session.user)
        return mine

    def put(self, session: AuthSession, generation: int) -> None:
        """Keep ``session`` read while ``generation`` was current, unless a change came since."""
        if not self._subscribed.is_set() or settings.AUTH_SESSION_CACHE_SECONDS <= 0:
            return
        expires = time.monotonic() + settings.AUTH_SESSION_CACHE_SECONDS
        kept = _clone(session)
        kept.user = _clone(session.user)
        with self._lock:
            if generation == self.generation and self._subscribed.is_set():
                if len(self._entries) >= MAX_ENTRIES:
                    self._sweep()
                self._entries[session.pk] = (expires, kept)

    def _sweep(self) -> None:
        """Drop the expired entries, or every entry if none had expired (lock held)."""
        now = time.monotonic()
        for session_id in [sid for sid, (exp, _s) in self._entries.items() if exp < now]:
            del self._entries[session_id]
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()

    def wait_until_listening(self, seconds: float) -> bool:
        """Start listening if not yet, and wait until subscribed (tests; a warm-up)."""
        self._ensure_listening()
        return self._subscribed.wait(seconds)

    # --- changes -------------------------------------------------------------------

    def changed(self, *, session_id: int | None = None, user_id: int | None = None) -> None:
        """A session or a user changed: drop it here now, and everywhere once committed.

        Dropping before the commit too keeps this process (and a test's transaction,
        which never commits) from answering with the old row.
        """
        message = f"s:{session_id}" if session_id is not None else f"u:{user_id}"
        self._drop(message)
        transaction.on_commit(lambda: self._announce(message))

    def _announce(self, message: str) -> None:
        self._drop(message)
        client = redis_client()
        if client is None:
            return
        try:
            client.publish(CHANNEL, message)
        except redis.RedisError:
            # No one can hear it, and no one keeps entries while unsubscribed.
            logger.warning("could not announce a session change: %s", message)

    def _drop(self, message: str) -> None:
        kind, _sep, value = message.partition(":")
        with self._lock:
            self.generation += 1
            if kind == "s":
                self._entries.pop(int(value), None)
            else:
                user_id = int(value)
                for session_id in [
                    sid for sid, (_exp, s) in self._entries.items() if s.user_id == user_id
                ]:
                    del self._entries[session_id]

    def _forget_all(self) -> None:
        with self._lock:
            self.generation += 1
            self._entries.clear()

    # --- the listening thread ------------------------------------------------------

    def _ensure_listening(self) -> None:
        if self._pid:  # started in this process (a fork resets it: _forked)
            return
        pid = os.getpid()
        with self._lock:
            if self._pid == pid:
                return
            # A forked worker inherits the parent's entries but not its thread.
            self._entries.clear()
            self._subscribed.clear()
            self._pid = pid
            if redis_client() is not None:
                threading.Thread(target=self._listen, name="session-cache", daemon=True).start()

    def _listen(self) -> None:
        while True:
            client = redis_client()
            if client is None:
                return
            pubsub = client.pubsub()
            try:
                pubsub.subscribe(CHANNEL)
                # Keep nothing before Redis confirms the subscription.
                deadline = time.monotonic() + 5 * RETRY_SECONDS
                while (reply := pubsub.get_message(timeout=RETRY_SECONDS)) is None or (
                    reply.get("type") != "subscribe"
                ):
                    if time.monotonic() > deadline:
                        raise redis.TimeoutError("no subscription confirmed")
                self._forget_all()
                self._subscribed.set()
                for message in pubsub.listen():
                    if message.get("type") == "message":
                        data = message["data"]
                        self._drop(data.decode() if isinstance(data, bytes) else str(data))
            except (redis.RedisError, OSError, ValueError) as exc:
                logger.warning("session cache unsubscribed: %s", exc)
            finally:
                self._subscribed.clear()
                self._forget_all()
                with contextlib.suppress(redis.RedisError, OSError):
                    pubsub.close()
            time.sleep(RETRY_SECONDS)


def _clone(row: M) -> M:
    """A copy of a model instance's fields with a state of its own (no cached relations).

    ``copy.copy`` of a model instance goes through pickling's ``__reduce_ex__``: a fifth
    of the token check's time when every request copied two rows.
    """
    model = type(row)
    clone = model.__new__(model)
    clone.__dict__.update(row.__dict__)
    state = clone._state = ModelState()
    state.adding = False
    state.db = row._state.db
    return clone


sessions = SessionCache()


def _forked() -> None:
    # The child inherits the parent's entries but not its listening thread (nor any
    # other thread that might have held the lock at the fork).
    sessions._lock = threading.Lock()
    sessions._pid = 0
    sessions._entries.clear()
    sessions._subscribed.clear()


os.register_at_fork(after_in_child=_forked)
