"""Fixed-window rate limits kept in the cache (Redis in production and tests).

One helper for every limit in the platform (sign-in codes, claims, guesses), so
that they all count the same way and all answer with a retry-after.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import redis
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.utils.translation import gettext_lazy as _

from core.error_codes import CoreErrorCode
from core.errors import DomainError

logger = logging.getLogger(__name__)


class RateLimited(DomainError):
    def __init__(self, retry_after: int, message: str | None = None) -> None:
        super().__init__(
            CoreErrorCode.RATE_LIMITED,
            message or _("Too many attempts. Try again in %(s)d seconds.") % {"s": retry_after},
        )
        self.retry_after = retry_after


class RateLimiterUnavailable(DomainError):
    """The counter store is down. Callers that guard secrets fail closed on this."""

    def __init__(self) -> None:
        super().__init__(
            CoreErrorCode.SERVICE_UNAVAILABLE,
            _("This service is briefly unavailable. Please retry."),
        )


@dataclass(frozen=True)
class Window:
    count: int
    limit: int
    retry_after: int

    @property
    def exceeded(self) -> bool:
        return self.count > self.limit


def _bucket(key: str, window_seconds: int) -> tuple[str, int]:
    now = time.time()
    retry_after = max(1, int(window_seconds - (now % window_seconds)))
    return f"rl:{key}:{int(now // window_seconds)}", retry_after


def _increment(cache_key: str, timeout: int) -> int:
    for _attempt in range(3):
        cache.add(cache_key, 0, timeout=timeout)
        try:
            return cache.incr(cache_key)
        except ValueError:
            # The key expired (or was flushed) between add and incr: add it again.
            continue
    raise RuntimeError(f"could not count {cache_key}")


def hit(key: str, limit: int, window_seconds: int) -> Window:
    """Count one event under ``key`` in the current window and report the tally."""
    cache_key, retry_after = _bucket(key, window_seconds)
    try:
        count = _increment(cache_key, window_seconds + 1)
    except Exception as exc:  # any cache/Redis failure: let the caller decide
        logger.warning("rate limiter unavailable: %s", exc)
        raise RateLimiterUnavailable() from exc
    return Window(count=count, limit=limit, retry_after=retry_after)


def ensure_below(key: str, limit: int, window_seconds: int) -> None:
    """Raise ``RateLimited`` if ``limit`` events were already counted, counting nothing.

    For limits on failures only: check with this first, ``hit`` after a failure.
    """
    cache_key, retry_after = _bucket(key, window_seconds)
    try:
        count = cache.get(cache_key, 0)
    except Exception as exc:
        logger.warning("rate limiter unavailable: %s", exc)
        raise RateLimiterUnavailable() from exc
    if count >= limit:
        raise RateLimited(retry_after)


def check(key: str, limit: int, window_seconds: int) -> None:
    """Count one event and raise ``RateLimited`` once ``limit`` is exceeded."""
    window = hit(key, limit, window_seconds)
    if window.exceeded:
        raise RateLimited(window.retry_after)


@dataclass(frozen=True)
class Limit:
    key: str
    limit: int
    window_seconds: int


# Django's RedisCache builds a new ``redis.Redis`` on every call (its constructor copies
# some 170 response callbacks), and a client's command goes through its pool, its
# retry policy and a fork check: on the claim path that was most of the guard's CPU
# for one round trip. So ``guard`` keeps, per thread, one connection of its own to
# the cache's Redis and sends its one command on it (``_Link``).


@dataclass
class _Link:
    backend: RedisCache  # the thread's cache backend it serves (settings may change it)
    pid: int  # a forked worker must not share its parent's socket
    connection: redis.Connection
    make_key: Callable[[str], str]


_links = threading.local()


def _link() -> _Link | None:
    """The thread's connection for ``guard``, or None without Redis."""
    current = caches["default"]
    link: _Link | None = getattr(_links, "link", None)
    if link is not None and link.backend is current and link.pid == os.getpid():
        return link
    if not isinstance(current, RedisCache):
        return None
    pool = current._cache.get_client(write=True).connection_pool
    connection = pool.connection_class(**pool.connection_kwargs)
    link = _Link(current, os.getpid(), connection, current.make_key)
    _links.link = link
    return link


def _run_guard(link: _Link, keys: list[str], args: list[int]) -> list[int]:
    command = ("EVALSHA", _GUARD_SHA, len(keys), *keys, *args)
    # redis-py leaves Connection's methods untyped: use it as Any rather than ignore each.
    connection: Any = link.connection
    try:
        connection.send_command(*command)
        try:
            replies: list[int] = connection.read_response()
        except redis.exceptions.NoScriptError:
            # Redis restarted (or its scripts were flushed) since we loaded it.
            connection.send_command("SCRIPT", "LOAD", _GUARD_LUA)
            connection.read_response()
            connection.send_command(*command)
            replies = connection.read_response()
    except redis.RedisError:
        connection.disconnect()  # the next call connects again
        raise
    return replies


_GUARD_LUA = """
local n = tonumber(ARGV[1])
local out = {}
for i = 1, n do
  out[i] = tonumber(redis.call('GET', KEYS[i]) or '0')
end
if tonumber(ARGV[2]) > 0 then
  redis.call('SET', KEYS[n + 1], 0, 'EX', ARGV[2], 'NX')
  out[n + 1] = redis.call('INCR', KEYS[n + 1])
end
return out
"""
_GUARD_SHA = hashlib.sha1(_GUARD_LUA.encode()).hexdigest()


def guard(*, below: Sequence[Limit] = (), count: Limit | None = None) -> None:
    """``ensure_below`` each of ``below``, then ``check`` ``count``: one Redis command.

    Counts ``count`` even when a ``below`` limit refuses (an attempt is an attempt).
    Without Redis (the demo's in-process cache) it falls back to one call per limit.
    """
    link = _link()
    if link is None:
        for limit in below:
            ensure_below(limit.key, limit.limit, limit.window_seconds)
        if count is not None:
            check(count.key, count.limit, count.window_seconds)
        return
    windows = [(limit, *_bucket(limit.key, limit.window_seconds)) for limit in below]
    keys = [link.make_key(cache_key) for _limit, cache_key, _retry in windows]
    ttl = 0
    if count is not None:
        counted_key, counted_retry = _bucket(count.key, count.window_seconds)
        keys.append(link.make_key(counted_key))
        ttl = count.window_seconds + 1
    try:
        replies = _run_guard(link, keys, [len(windows), ttl])
    except redis.RedisError as exc:
        logger.warning("rate limiter unavailable: %s", exc)
        raise RateLimiterUnavailable() from exc
    for (limit, _cache_key, retry_after), value in zip(windows, replies, strict=False):
        if value >= limit.limit:
            raise RateLimited(retry_after)
    if count is not None and replies[-1] > count.limit:
        raise RateLimited(counted_retry)
