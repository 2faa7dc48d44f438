"""Fixed-window rate limits kept in the cache (Redis in production and tests).

One helper for every limit in the platform (sign-in codes, claims, guesses), so
that they all count the same way and all answer with a retry-after.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import redis
from django.core.cache import cache
from django.utils.translation import gettext_lazy as _

from core import redislink
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


# One round trip on the thread's own connection (core.redislink) for every limit of a call.
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
_GUARD = redislink.Script(_GUARD_LUA)


def guard(*, below: Sequence[Limit] = (), count: Limit | None = None) -> None:
    """``ensure_below`` each of ``below``, then ``check`` ``count``: one Redis command.

    Counts ``count`` even when a ``below`` limit refuses (an attempt is an attempt).
    Without Redis (the demo's in-process cache) it falls back to one call per limit.
    """
    link = redislink.link()
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
        replies: list[int] = link.run(_GUARD, keys, [len(windows), ttl])
    except redis.RedisError as exc:
        logger.warning("rate limiter unavailable: %s", exc)
        raise RateLimiterUnavailable() from exc
    for (limit, _cache_key, retry_after), value in zip(windows, replies, strict=False):
        if value >= limit.limit:
            raise RateLimited(retry_after)
    if count is not None and replies[-1] > count.limit:
        raise RateLimited(counted_retry)
