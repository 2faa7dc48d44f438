"""A thread's own connection to the cache's Redis, for the few commands on hot paths.

A command through redis-py's client goes through its pool, its retry policy, its
observability hooks and a fork check: about ten times the CPU of writing the command
and reading the reply (decision 0312). The claim sends three (the rate-limit guard, the
consent check, the scan event), so they go through this link instead: one connection per
thread, made from the cache's pool settings, dropped on any error and made again on the
next command. Without Redis (the demo's in-process cache) there is no link and callers
use the Django cache.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache


@dataclass(frozen=True)
class Script:
    """A Lua script sent by its SHA1, loaded on the first NOSCRIPT."""

    lua: str
    sha: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sha", hashlib.sha1(self.lua.encode()).hexdigest())


@dataclass
class Link:
    backend: RedisCache  # the thread's cache backend it serves (settings may change it)
    pid: int  # a forked worker must not share its parent's socket
    # redis-py leaves Connection's methods untyped: used as Any rather than ignore each.
    connection: Any
    make_key: Callable[[str], str]

    def command(self, *args: Any) -> Any:
        """Send one command and read its reply; redis.RedisError when Redis fails."""
        try:
            self.connection.send_command(*args)
            return self.connection.read_response()
        except redis.RedisError:
            self.connection.disconnect()  # the next command connects again
            raise

    def run(self, script: Script, keys: Sequence[str], args: Sequence[Any]) -> Any:
        """EVALSHA the script, loading it first if Redis does not have it (it restarted,
        or its scripts were flushed)."""
        try:
            return self.command("EVALSHA", script.sha, len(keys), *keys, *args)
        except redis.exceptions.NoScriptError:
            self.command("SCRIPT", "LOAD", script.lua)
            return self.command("EVALSHA", script.sha, len(keys), *keys, *args)


_links = threading.local()


def link() -> Link | None:
    """The thread's link to the cache's Redis, or None when the cache is not Redis."""
    current = caches["default"]
    found: Link | None = getattr(_links, "link", None)
    if found is not None and found.backend is current and found.pid == os.getpid():
        return found
    if not isinstance(current, RedisCache):
        return None
    pool = current._cache.get_client(write=True).connection_pool
    connection = pool.connection_class(**pool.connection_kwargs)
    found = Link(current, os.getpid(), connection, current.make_key)
    _links.link = found
    return found
