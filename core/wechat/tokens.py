"""WeChat's access tokens and tickets: cached with their expiry, fetched by one process.

Every token WeChat issues (our service account's ``access_token``, the component's
``component_access_token``, each authoriser's ``authorizer_access_token``, the
``jsapi_ticket``) lasts about two hours, has a daily quota, and is invalidated by the
next fetch of the same kind. So each is kept in the shared cache until shortly before
it expires, and only one process fetches a new one at a time (single flight): the
others wait for its result instead of fetching their own, which would spend the quota
and invalidate the one just fetched. An ``invalid credential`` answer (40001, 42001)
means the cached token died early (fetched elsewhere, revoked): ``call`` forgets it,
fetches once more and retries once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache

from core.wechat import WeChatError

T = TypeVar("T")

# Refresh this long before WeChat's stated expiry, so a token is never used in its
# last seconds (a request in flight would reach WeChat after it died).
EARLY_SECONDS = 300
# How long the fetching process may hold the flight; a waiter gives up after it.
FLIGHT_SECONDS = 10
POLL_SECONDS = 0.05

Fetch = Callable[[], tuple[str, int]]
"""Fetch a new token from WeChat: returns the token and its lifetime in seconds."""


def _key(name: str) -> str:
    return f"wechat:token:{name}"


def get(name: str, fetch: Fetch) -> str:
    """The cached token ``name``, fetched with ``fetch`` when missing (one process at once)."""
    key = _key(name)
    token = cache.get(key)
    if token is not None:
        return str(token)
    deadline = time.monotonic() + FLIGHT_SECONDS
    while True:
        if cache.add(f"{key}:flight", 1, FLIGHT_SECONDS):
            try:
                # Another process may have finished its flight between our read and add.
                token = cache.get(key)
                if token is not None:
                    return str(token)
                token, lifetime = fetch()
                put(name, token, lifetime)
                return token
            finally:
                cache.delete(f"{key}:flight")
        time.sleep(POLL_SECONDS)
        token = cache.get(key)
        if token is not None:
            return str(token)
        if time.monotonic() > deadline:
            raise WeChatError(WeChatError.UNREACHABLE, f"timed out waiting for {name}")


def forget(name: str, token: str | None = None) -> None:
    """Drop the cached token ``name`` (WeChat said it is no longer valid).

    With ``token``, only if it is still the cached one: another process may already
    have fetched its successor, which must not be thrown away (and fetched a third time).
    """
    key = _key(name)
    if token is None or cache.get(key) == token:
        cache.delete(key)


def call(name: str, fetch: Fetch, request: Callable[[str], T]) -> T:
    """``request(token)`` with the cached token; on ``invalid credential``, once more anew."""
    token = get(name, fetch)
    try:
        return request(token)
    except WeChatError as error:
        if not error.is_invalid_credential:
            raise
        forget(name, token)
        return request(get(name, fetch))


def put(name: str, token: str, lifetime: int) -> None:
    """Keep a token WeChat handed over unasked (``api_query_auth`` gives an authoriser's)."""
    cache.set(_key(name), token, max(lifetime - EARLY_SECONDS, 1))
