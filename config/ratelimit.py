"""Fixed-window rate limits kept in the cache (Redis in production and tests).

One helper for every limit in the platform (sign-in codes, claims, guesses), so
that they all count the same way and all answer with a retry-after.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from django.core.cache import cache
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
