"""Fixed-window rate limits kept in the cache (Redis in production and tests).

One helper for every limit in the platform (sign-in codes, claims, guesses), so
that they all count the same way and all answer with a retry-after.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import redis
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.utils.translation import gettext_lazy as _

from config.errors import DomainError

logger = logging.getLogger(__name__)


class RateLimited(DomainError):
    def __init__(self, retry_after: int, message: str | None = None) -> None:
        super().__init__(
            "RATE_LIMITED",
            message or _("Too many attempts. Try again in %(s)d seconds.") % {"s": retry_after},
        )
        self.retry_after = retry_after


class RateLimiterUnavailable(DomainError):
    """The counter store is down. Callers that guard secrets fail closed on this."""

    def __init__(self) -> None:
        super().__init__(
            "SERVICE_UNAVAILABLE", _("This service is briefly unavailable. Please retry.")
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


# One long-lived client per Redis cache backend. Django's RedisCache builds a new
# ``redis.Redis`` on every call (its constructor copies some 170 response callbacks):
# on the claim path that was a tenth of the CPU, for four commands.
_clients: weakref.WeakKeyDictionary[object, redis.Redis] = weakref.WeakKeyDictionary()


def _redis_client() -> redis.Redis | None:
    current = caches["default"]
    if not isinstance(current, RedisCache):
        return None
    backend = current._cache  # Django's RedisCacheClient (its pools live there)
    client = _clients.get(backend)
    if client is None:
        client = redis.Redis(connection_pool=backend._get_connection_pool(write=True))
        _clients[backend] = client
    return client


def guard(*, below: Sequence[Limit] = (), count: Limit | None = None) -> None:
    """``ensure_below`` each of ``below``, then ``check`` ``count``: one Redis round trip.

    Counts ``count`` even when a ``below`` limit refuses (an attempt is an attempt).
    Without Redis (the demo's in-process cache) it falls back to one call per limit.
    """
    client = _redis_client()
    if client is None:
        for limit in below:
            ensure_below(limit.key, limit.limit, limit.window_seconds)
        if count is not None:
            check(count.key, count.limit, count.window_seconds)
        return
    windows = [(limit, *_bucket(limit.key, limit.window_seconds)) for limit in below]
    try:
        with client.pipeline(transaction=True) as pipe:
            for _limit, cache_key, _retry in windows:
                pipe.get(cache.make_key(cache_key))
            if count is not None:
                counted_key, counted_retry = _bucket(count.key, count.window_seconds)
                # Same layout as the cache API's add + incr (plain integers), so that
                # ``hit`` and ``ensure_below`` read and write the same counters.
                pipe.set(cache.make_key(counted_key), 0, ex=count.window_seconds + 1, nx=True)
                pipe.incr(cache.make_key(counted_key))
            replies = pipe.execute()
    except redis.RedisError as exc:
        logger.warning("rate limiter unavailable: %s", exc)
        raise RateLimiterUnavailable() from exc
    for (limit, _cache_key, retry_after), value in zip(windows, replies, strict=False):
        if value is not None and int(value) >= limit.limit:
            raise RateLimited(retry_after)
    if count is not None and replies[-1] > count.limit:
        raise RateLimited(counted_retry)
