"""A burst of connections: queued and served, bounded on PostgreSQL, recovered at once.

500 distinct TCP connections are opened within one second at a fixed arrival rate
(one every 2 ms, never kept-alive sockets reused), each sending a real consumer API
query that reads the database (the mall's categories), against the production
configuration (gunicorn with ``config/gunicorn.py`` on the test database) and against
the demo (``python -m devtools.demo`` on its embedded PostgreSQL, as a newcomer runs
it). What must hold:

- no connection is reset, refused or left unanswered: every one gets an answer;
- every answer is 200 with the data, or 503 ``SERVICE_UNAVAILABLE`` carrying
  ``Retry-After`` (a request that waited past the deadline);
- within 5 s of the burst the server answers normally;
- the server then holds no more PostgreSQL connections than its pool
  (``WEB_WORKERS`` x ``WEB_THREADS``), counted in ``pg_stat_activity``.

Only 127.0.0.1; every loop is bounded in count and time.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import psycopg
import pytest

from core.db import connection
from tests.fixtures.processes import (
    child_env,
    database_url,
    demo_env,
    free_port,
    running,
    wait_for_http,
)

pytestmark = [pytest.mark.faults]

CONNECTIONS = 500
SPREAD_SECONDS = 1.0
ANSWER_TIMEOUT = 60.0  # per connection; the deadline (10 s) answers long before
RECOVERY_SECONDS = 5.0
WORKERS, THREADS = 2, 4
POOL = WORKERS * THREADS
T = TypeVar("T")
QUERY = "{ categories(first: 5) { edges { node { slug } } } }"


@dataclass(frozen=True)
class Answer:
    """One connection's fate: ``status`` 0 when it got no HTTP answer (``error`` says why)."""

    opened_at: float
    status: int
    retry_after: str | None
    body: str
    error: str = ""


def _request(port: int) -> bytes:
    body = json.dumps({"query": QUERY}).encode()
    head = (
        f"POST /graphql/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "Content-Type: application/json\r\nConnection: close\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def _parse(raw: bytes, opened_at: float) -> Answer:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {
        name.strip().lower(): value.strip()
        for name, _, value in (line.partition(":") for line in lines[1:])
    }
    return Answer(opened_at, status, headers.get("retry-after"), body.decode(errors="replace"))


async def _one(port: int, delay: float, request: bytes, start: float) -> Answer:
    await asyncio.sleep(delay)
    opened_at = time.monotonic() - start
    try:
        async with asyncio.timeout(ANSWER_TIMEOUT):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                writer.write(request)
                await writer.drain()
                raw = await reader.read()  # Connection: close, so until the server closes
            finally:
                writer.close()
    except (OSError, TimeoutError) as exc:  # reset, refused, timed out
        return Answer(opened_at, 0, None, "", f"{type(exc).__name__}: {exc}")
    if not raw:
        return Answer(opened_at, 0, None, "", "closed without an answer")
    return _parse(raw, opened_at)


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` in a thread of its own: a browser test earlier in the session may
    leave an event loop running in this one (Playwright's sync API)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def burst(port: int, spread: float = SPREAD_SECONDS) -> list[Answer]:
    """Open ``CONNECTIONS`` connections at a fixed rate over ``spread`` seconds."""
    request = _request(port)
    gap = spread / CONNECTIONS

    async def everyone() -> list[Answer]:
        start = time.monotonic()
        return await asyncio.gather(
            *(_one(port, n * gap, request, start) for n in range(CONNECTIONS))
        )

    return _run(everyone())


def check_answers(answers: list[Answer], spread: float = SPREAD_SECONDS) -> Counter[str]:
    """Every connection answered: 200 with data, or 503 with ``Retry-After``; returns counts."""
    outcomes: Counter[str] = Counter()
    bad: list[Answer] = []
    for answer in answers:
        if answer.status == 200 and '"categories"' in answer.body and '"errors"' not in answer.body:
            outcomes["200"] += 1
        elif answer.status == 503 and answer.retry_after and "SERVICE_UNAVAILABLE" in answer.body:
            outcomes["503"] += 1
        else:
            bad.append(answer)
    assert len(answers) == CONNECTIONS
    assert not bad, (len(bad), bad[:5])
    opened = max(a.opened_at for a in answers)
    # A precondition, not a figure: on a machine busy with other work the generator
    # itself falls behind; past this the test would not be measuring a burst.
    assert opened < spread + 1.5, f"the burst took {opened:.2f} s to open"
    return outcomes


def answers_normally_within(port: int, seconds: float) -> float:
    """Seconds until one plain request is answered 200; fails after ``seconds``."""
    started = time.monotonic()
    request = _request(port)

    async def one() -> Answer:
        return await _one(port, 0, request, started)

    while True:
        answer = _run(one())
        elapsed = time.monotonic() - started
        if answer.status == 200 and '"categories"' in answer.body:
            return elapsed
        assert elapsed < seconds, f"not answering normally after {elapsed:.1f} s: {answer}"
        time.sleep(0.1)


class ConnectionSampler:
    """Counts the server's PostgreSQL connections every 50 ms while the burst runs."""

    def __init__(self, conninfo: str, where: str, params: list[str]) -> None:
        self.conninfo, self.where, self.params = conninfo, where, params
        self.counts: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample)

    def count(self) -> int:
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            row = conn.execute(
                f"SELECT count(*) FROM pg_stat_activity WHERE {self.where}", self.params
            ).fetchone()
        assert row is not None
        return int(row[0])

    def _sample(self) -> None:
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            while not self._stop.is_set():
                row = conn.execute(
                    f"SELECT count(*) FROM pg_stat_activity WHERE {self.where}", self.params
                ).fetchone()
                assert row is not None
                self.counts.append(int(row[0]))
                self._stop.wait(0.05)

    def __enter__(self) -> ConnectionSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def burst_and_recover(port: int, sampler: ConnectionSampler) -> str:
    """The burst, then the checks of the module docstring; returns a line of figures."""
    started = time.monotonic()
    with sampler:
        answers = burst(port)
    took = time.monotonic() - started
    outcomes = check_answers(answers)
    recovered = answers_normally_within(port, RECOVERY_SECONDS)
    peak = max(sampler.counts, default=0)
    assert sampler.counts and peak <= POOL, sampler.counts
    held = sampler.count()
    assert held <= POOL, held
    return (
        f"{CONNECTIONS} connections in {SPREAD_SECONDS:.0f} s: {dict(outcomes)}, all answered "
        f"in {took:.1f} s; normal again after {recovered:.2f} s; PostgreSQL connections "
        f"peak {peak}, after {held} (pool {POOL})"
    )


def _libpq(url: str) -> str:
    """A Django-style ``postgres://`` URL as libpq takes it."""
    return url.replace("postgres://", "postgresql://", 1)


@contextmanager
def production_server(tmp_path: Path, **env: str) -> Iterator[tuple[int, ConnectionSampler]]:
    """gunicorn with ``config/gunicorn.py`` on the test database (``env`` overrides);
    yields its port and a sampler of its PostgreSQL connections. Its log must hold no
    traceback."""
    port = free_port()
    log = tmp_path / "gunicorn.log"
    # The server's connections carry a name of their own (libpq reads PGAPPNAME), so the
    # count leaves out this test's and any Celery worker's.
    name = f"burst-{uuid.uuid4().hex[:8]}"
    settings = {"WEB_WORKERS": str(WORKERS), "WEB_THREADS": str(THREADS), **env}
    command = [
        sys.executable, "-m", "gunicorn", "-c", "python:config.gunicorn", "config.wsgi",
        "--bind", f"127.0.0.1:{port}",
    ]  # fmt: skip
    with running(command, env=child_env(PGAPPNAME=name, **settings), log=log) as server:
        wait_for_http(f"http://127.0.0.1:{port}/console/sign-in/", server, log, timeout=60)
        conninfo = _libpq(database_url())
        where = "datname = %s AND application_name = %s"
        yield port, ConnectionSampler(conninfo, where, [connection.settings_dict["NAME"], name])
        assert server.poll() is None, log.read_text()
    text = log.read_text()
    assert "Traceback" not in text, text


@pytest.mark.timeout(180)
def test_burst_on_the_production_configuration(committed_db: None, tmp_path: Path) -> None:
    with production_server(tmp_path) as (port, sampler):
        figures = burst_and_recover(port, sampler)
    print(f"\nproduction configuration: {figures}")


@pytest.mark.timeout(180)
def test_a_request_past_the_deadline_is_refused_with_retry_after(
    committed_db: None, tmp_path: Path
) -> None:
    """One thread and a 50 ms deadline, the 500 connections opened within 50 ms: the
    queue holds far more than 50 ms of work whatever the machine's speed (a served
    request takes a millisecond or more), so most requests are refused, each a 503
    with ``Retry-After``, none reset, and the server serves normally right after with
    its one connection. (Spread over a second, a fast idle machine serves them all.)"""
    one = {"WEB_WORKERS": "1", "WEB_THREADS": "1", "REQUEST_QUEUE_DEADLINE_SECONDS": "0.05"}
    with production_server(tmp_path, **one) as (port, sampler):
        answers = burst(port, spread=0.05)
        outcomes = check_answers(answers, spread=0.05)
        assert outcomes["503"] > CONNECTIONS // 2, outcomes
        assert {a.retry_after for a in answers if a.status == 503} == {"5"}
        answers_normally_within(port, RECOVERY_SECONDS)
        assert sampler.count() <= 1
    print(f"\n50 ms deadline, one thread: {dict(outcomes)}")


@pytest.mark.timeout(300)
def test_burst_on_the_demo(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "demo.log"
    pgdata = tmp_path / "pg"
    command = [sys.executable, "-m", "devtools.demo", "--port", str(port), "--pgdata", str(pgdata)]
    with running(command, env=demo_env(), log=log, own_session=True, stop_timeout=30) as demo:
        wait_for_http(f"http://127.0.0.1:{port}/", demo, log, timeout=180)
        # postmaster.pid: line 4 the port, line 5 the socket directory.
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
        conninfo = f"postgresql://postgres@:{lines[3]}/loyalty_demo?host={lines[4]}"
        sampler = ConnectionSampler(
            conninfo, "datname = 'loyalty_demo' AND pid <> pg_backend_pid()", []
        )
        # The sampler's own connection is left out of the count by ``pid``; a second
        # connection (``count``) opens only after the sampler has closed its own.
        figures = burst_and_recover(port, sampler)
        assert demo.poll() is None
    print(f"\ndemo: {figures}")
