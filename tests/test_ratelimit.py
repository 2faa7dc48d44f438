"""``core.ratelimit.guard``: several limits checked and one counted in one Redis round trip."""

from __future__ import annotations

import pytest
from pytest_django.fixtures import Settings

from core import ratelimit, redislink
from core.ratelimit import Limit, RateLimited, RateLimiterUnavailable


def test_guard_counts_and_refuses_past_the_limit() -> None:
    counted = Limit("test:count", 3, 60)
    for _ in range(3):
        ratelimit.guard(count=counted)
    with pytest.raises(RateLimited) as exc:
        ratelimit.guard(count=counted)
    assert 0 < exc.value.retry_after <= 60


def test_guard_reads_the_counters_hit_writes() -> None:
    failures = Limit("test:failures", 2, 600)
    ratelimit.guard(below=[failures], count=Limit("test:attempts", 100, 60))
    ratelimit.hit(failures.key, failures.limit, failures.window_seconds)
    ratelimit.guard(below=[failures])  # one failure: still below two
    ratelimit.hit(failures.key, failures.limit, failures.window_seconds)
    with pytest.raises(RateLimited):
        ratelimit.guard(below=[Limit("test:other", 2, 600), failures])
    # And ``check`` (the cache API) continues the count ``guard`` started.
    ratelimit.check("test:attempts", 100, 60)
    assert ratelimit.hit("test:attempts", 100, 60).count == 3


def test_guard_uses_one_command(monkeypatch: pytest.MonkeyPatch) -> None:
    below = [Limit("test:a", 5, 60), Limit("test:b", 5, 60)]
    count = Limit("test:c", 5, 60)
    ratelimit.guard(below=below, count=count)
    link = redislink.link()
    assert link is not None
    sent: list[object] = []
    original = link.connection.send_command

    def send_command(*args: object, **kwargs: object) -> None:
        sent.append(args[0])
        original(*args, **kwargs)

    monkeypatch.setattr(link.connection, "send_command", send_command)
    ratelimit.guard(below=below, count=count)
    assert sent == ["EVALSHA"]  # two reads, set-if-absent and increment, in one script


def test_guard_loads_its_script_again_after_redis_forgot_it() -> None:
    link = redislink.link()
    assert link is not None
    counted = Limit("test:flushed", 5, 60)
    ratelimit.guard(count=counted)
    link.connection.send_command("SCRIPT", "FLUSH")
    link.connection.read_response()
    ratelimit.guard(count=counted)  # NOSCRIPT, loaded, sent again
    assert ratelimit.hit(counted.key, counted.limit, counted.window_seconds).count == 3


def test_guard_fails_closed_without_redis(settings: Settings) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "core.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
        }
    }
    with pytest.raises(RateLimiterUnavailable):
        ratelimit.guard(below=[Limit("test:a", 5, 60)], count=Limit("test:b", 5, 60))


def test_guard_without_redis_uses_the_cache_api(settings: Settings) -> None:
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    counted = Limit("test:local", 1, 60)
    ratelimit.guard(count=counted)
    with pytest.raises(RateLimited):
        ratelimit.guard(count=counted)
