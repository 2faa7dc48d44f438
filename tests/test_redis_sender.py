"""core.redislink.Sender: calls nobody waits for, sent by a thread of the process in one
round trip a moment (decision 0335). Each call reaches Redis exactly once: from many
threads, after Redis lost its scripts, after a failed send, and across a fork."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from core import redislink

pytestmark = pytest.mark.django_db

# Appends its argument to the stream named by its key: the count of entries is the count
# of calls that ran.
APPEND = redislink.Script("return redis.call('XADD', KEYS[1], '*', 'n', ARGV[1])")


@pytest.fixture
def stream(unique: Callable[[str], str]) -> Iterator[tuple[redislink.Link, str]]:
    link = redislink.link()
    assert link is not None, "these tests need the Redis cache"
    key = link.make_key(unique("sender-test"))
    yield link, key
    link.command("DEL", key)


def entries(link: redislink.Link, key: str) -> list[str]:
    # The link reads raw replies: each entry is [id, [field, value, ...]].
    return [fields[1].decode() for _id, fields in link.command("XRANGE", key, "-", "+")]


def wait_for(link: redislink.Link, key: str, count: int, seconds: float = 5) -> None:
    deadline = time.monotonic() + seconds
    while int(link.command("XLEN", key)) < count:
        assert time.monotonic() < deadline, f"{link.command('XLEN', key)} of {count} arrived"
        time.sleep(0.01)


def test_calls_from_many_threads_arrive_once_each_in_few_round_trips(
    stream: tuple[redislink.Link, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    link, key = stream
    link.command("SCRIPT", "LOAD", APPEND.lua)  # the steady state: Redis has the script
    sender = redislink.Sender(APPEND, 0.05, "test-sender")
    round_trips: list[int] = []
    original = redislink.Link.run_many

    def run_many(self: redislink.Link, script: redislink.Script, calls: Any) -> list[Any]:
        round_trips.append(len(calls))
        return original(self, script, calls)

    monkeypatch.setattr(redislink.Link, "run_many", run_many)

    def send(thread: int) -> None:
        for n in range(50):
            sender.send(([key], [f"{thread}-{n}"]))

    threads = [threading.Thread(target=send, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wait_for(link, key, 400)  # sent by the sender's thread: nobody flushed
    time.sleep(0.2)  # and nothing more comes
    assert sorted(entries(link, key)) == sorted(f"{t}-{n}" for t in range(8) for n in range(50))
    assert sum(round_trips) == 400
    assert len(round_trips) < 40  # a moment's calls share a round trip


def test_after_redis_lost_its_scripts_each_call_runs_once(
    stream: tuple[redislink.Link, str],
) -> None:
    link, key = stream
    sender = redislink.Sender(APPEND, 60, "test-sender")  # flushed by hand only
    for n in range(5):
        sender.send(([key], [str(n)]))
    link.command("SCRIPT", "FLUSH")
    assert sender.flush() == 5
    assert entries(link, key) == ["0", "1", "2", "3", "4"]


def test_a_failed_send_is_dropped_and_the_thread_goes_on(
    stream: tuple[redislink.Link, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    link, key = stream
    sender = redislink.Sender(APPEND, 0.02, "test-sender")
    original = redislink.Link.run_many
    failures = [redis.ConnectionError("Redis went away")]

    def run_many(self: redislink.Link, script: redislink.Script, calls: Any) -> list[Any]:
        if failures:
            raise failures.pop()
        return original(self, script, calls)

    monkeypatch.setattr(redislink.Link, "run_many", run_many)
    sender.send(([key], ["lost"]))
    deadline = time.monotonic() + 5
    while failures:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    sender.send(([key], ["sent"]))
    wait_for(link, key, 1)
    time.sleep(0.1)
    assert entries(link, key) == ["sent"]


def test_a_forked_process_sends_its_own_calls_not_its_parents(
    stream: tuple[redislink.Link, str],
) -> None:
    link, key = stream
    sender = redislink.Sender(APPEND, 0.05, "test-sender")
    sender.send(([key], ["parent-before-fork"]))  # the thread started, the call not yet sent
    child = os.fork()
    if child == 0:  # pragma: no cover - the child's exit code is the assertion
        try:
            sender.send(([key], ["child"]))
            # The child's own thread sends it: the parent's queue was not inherited.
            deadline = time.monotonic() + 5
            while sender.flush() == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            os._exit(0)
        except BaseException:
            os._exit(1)
    _pid, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    sender.flush()
    wait_for(link, key, 2)
    time.sleep(0.1)
    assert sorted(entries(link, key)) == ["child", "parent-before-fork"]


def test_a_forked_process_makes_its_own_link(stream: tuple[redislink.Link, str]) -> None:
    """A forked worker must not write on its parent's socket (their replies would mix):
    ``link()`` makes the child a link of its own, and the parent keeps its own."""
    parent, key = stream
    parent.command("PING")  # connected before the fork
    child = os.fork()
    if child == 0:  # pragma: no cover - the child's exit code is the assertion
        try:
            own = redislink.link()
            ok = own is not None and own is not parent and own.connection is not parent.connection
            own_reply = own.command("XADD", key, "*", "n", "child") if own is not None else None
            os._exit(0 if ok and own_reply else 1)
        except BaseException:
            os._exit(1)
    _pid, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert redislink.link() is parent  # the parent keeps its own
    assert entries(parent, key) == ["child"]
