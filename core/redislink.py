"""A thread's own connection to the cache's Redis, for the few commands on hot paths.

A command through redis-py's client goes through its pool, its retry policy, its
observability hooks and a fork check: about ten times the CPU of writing the command
and reading the reply (decision 0312). The hot paths' commands (the claim's rate-limit
guard, a cached consent check) go through this link instead: one connection per thread,
made from the cache's pool settings, dropped on any error and made again on the next
command. Calls whose answer nobody waits for go through a :class:`Gatherer`: queued, and
done by a thread of the process once a moment (decision 0335): the scan event's
:class:`Sender` in one round trip, the relay's wake (decision 0346). Without Redis (the
demo's in-process cache) there is no link and callers use the Django cache.
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import redis
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)
T = TypeVar("T")


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

    def run_many(
        self, script: Script, calls: Sequence[tuple[Sequence[str], Sequence[Any]]]
    ) -> list[Any]:
        """EVALSHA the script once per call, all in one round trip; the replies in order.
        If Redis lost the script, it is loaded and the refused calls sent again."""
        commands = [("EVALSHA", script.sha, len(keys), *keys, *args) for keys, args in calls]
        replies: list[Any] = []
        missing: list[int] = []
        try:
            self.connection.send_packed_command(self.connection.pack_commands(commands))
            for n in range(len(commands)):
                try:
                    replies.append(self.connection.read_response())
                except redis.exceptions.NoScriptError:
                    # Every reply is read before the connection is used again.
                    replies.append(None)
                    missing.append(n)
        except redis.RedisError:
            self.connection.disconnect()
            raise
        if missing:
            # Only the calls that did not run are sent again: the others ran once.
            self.command("SCRIPT", "LOAD", script.lua)
            for n, reply in zip(
                missing, self.run_many(script, [calls[n] for n in missing]), strict=True
            ):
                replies[n] = reply
        return replies


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


class Gatherer(Generic[T]):
    """Calls nobody waits for, handled by a thread of the process a moment later: one
    ``handle`` for each moment's calls instead of one for each call (decision 0335).

    A request only appends to a queue (no socket, no waiting for Redis with the GIL
    released, which under load costs a thread a switch each way); the thread wakes on the
    first call, lets ``delay`` seconds of calls gather, and hands them to ``handle`` at
    once. A process that ends normally handles what is queued (``atexit``); one killed
    outright loses at most its last ``delay`` seconds of calls, as a Redis outage would
    (the callers accept that: what they send is not the answer's record).
    """

    def __init__(self, delay: float, name: str) -> None:
        self.delay = delay
        self.name = name
        self._pid = 0
        self._queue: deque[T] = deque()
        self._wake = threading.Event()
        self._flushing = threading.Lock()

    def handle(self, calls: list[T]) -> int:
        """Do what ``calls`` ask, on the gathering thread (or a flushing one); how many
        were done. Must raise nothing: log a failure and drop its calls."""
        raise NotImplementedError

    def send(self, call: T) -> None:
        if self._pid != os.getpid():
            self._start()
        self._queue.append(call)
        self._wake.set()

    def _start(self) -> None:
        # Lazily, in each process: a forked worker has its parent's queue but not its thread.
        with self._flushing:
            if self._pid == os.getpid():
                return
            self._queue = deque()
            self._wake = threading.Event()
            threading.Thread(target=self._run, name=self.name, daemon=True).start()
            atexit.register(self.flush)
            self._pid = os.getpid()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            time.sleep(self.delay)  # the moment's other calls join this round trip
            self._wake.clear()  # before taking the queue: a call after this wakes us again
            try:
                self.flush()
            except Exception:  # the thread must outlive any one failure
                logger.exception("%s: a send failed", self.name)

    def flush(self) -> int:
        """Handle what is queued now, from any thread (the gatherer's, a drain in the same
        process, the exit); the number of calls done."""
        with self._flushing:
            calls: list[T] = []
            while self._queue:
                calls.append(self._queue.popleft())
            return self.handle(calls) if calls else 0


Call = tuple[Sequence[str], Sequence[Any]]


class Sender(Gatherer[Call]):
    """Calls of one script whose answer nobody waits for, sent by a thread of the process
    as one pipeline a moment."""

    def __init__(self, script: Script, delay: float, name: str) -> None:
        super().__init__(delay, name)
        self.script = script

    def handle(self, calls: list[Call]) -> int:
        current = link()
        if current is None:
            logger.warning("%s: %d calls dropped, the cache is not Redis", self.name, len(calls))
            return 0
        try:
            current.run_many(self.script, calls)
        except redis.RedisError:
            logger.warning(
                "%s: %d calls not sent, Redis failed", self.name, len(calls), exc_info=True
            )
            return 0
        return len(calls)
