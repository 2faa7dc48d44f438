"""The cache backend: Django's Redis cache with one ``redis.Redis`` client per server.

Django's ``RedisCacheClient.get_client`` builds a new ``redis.Redis`` around the shared
connection pool on every cache call. redis-py 8's constructor copies its ~170 response
callbacks into a case-insensitive dict, which cost 0.7 ms of CPU per call on these
machines: two cache calls (the consent check and the scan-event push) were a third of
a claim's Python time (issue 17, docs/benchmarks.md "The claim's regression"). A client
holds no per-call state (its pool hands out connections and is fork-aware), so one per
server per process is what redis-py itself recommends.
"""

from __future__ import annotations

from typing import Any

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient


class RedisCacheClient(DjangoRedisCacheClient):
    def __init__(self, servers: list[str], **options: Any) -> None:
        super().__init__(servers, **options)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        # Django's own attributes, which django-stubs leaves out of the class.
        django: Any = self
        index = django._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            pools = django._pools
            if index not in pools:
                pools[index] = django._pool_class.from_url(
                    django._servers[index], **django._pool_options
                )
            client = self._clients[index] = django._client(connection_pool=pools[index])
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient


def redis_client() -> Any:
    """The default cache's ``redis.Redis`` (one per process and server), or None when the
    cache is not Redis (the demo's in-process cache)."""
    current = caches["default"]
    if not isinstance(current, DjangoRedisCache):
        return None
    return current._cache.get_client(write=True)
