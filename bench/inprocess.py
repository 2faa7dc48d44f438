"""The claim's server cost without an HTTP server: the WSGI application called in-process.

Throughput on 2 shared cores moves by a third from one minute to the next; the Python
CPU a claim costs in-process (``time.process_time`` over N requests, one thread) moves
by a few percent, so it is how each lever of issue 17 was weighed before the full-stack
run (docs/benchmarks.md, "Scan claims"). The requests are the front end's own
``ClaimCode`` operation with a bearer token, through every middleware and the view,
exactly as gunicorn would hand them over; only the HTTP parsing and the sockets are
left out. PostgreSQL's own CPU is not in the figure (it runs in other processes).

Run from the project root::

    uv run python bench/inprocess.py [--claims 3000] [--webhooks off] [--profile FILE] [--keep]

``--webhooks on``: the merchant has an endpoint listening to ``code.claimed``, so each
claim writes its outbox row; the relay's wake flag is held for the run, as it stands
under load while a relay is queued or running (decision 0328), so the figure is the
claim's own cost (the relay's is the Celery worker's, measured by bench/claims.py).

``--profile FILE`` writes cProfile's statistics of the measured claims and prints the
top functions by own time. Database: BENCH_DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/loyalty_bench_inprocess), Redis BENCH_REDIS_URL
(default redis://127.0.0.1:6379/12); dropped and flushed at the end unless --keep.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import os
import pstats
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import harness  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/loyalty_bench_inprocess"
DEFAULT_REDIS = "redis://127.0.0.1:6379/12"
OPERATION = harness.ROOT / "graphql" / "operations" / "consumer" / "ClaimCode.graphql"
WARMUP = 300


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--claims", type=int, default=3000)
    parser.add_argument("--consumers", type=int, default=200)
    parser.add_argument("--webhooks", choices=("on", "off"), default="off")
    parser.add_argument("--events", choices=("on", "off"), default="on")
    parser.add_argument("--profile", type=Path)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS)
    with harness.bench_resources(url, redis_url, keep=args.keep, prefix="bench-inprocess"):
        os.environ["DEBUG"] = "0"
        os.environ["SCAN_EVENTS"] = "1" if args.events == "on" else "0"
        os.environ["WEBHOOK_ALLOW_HTTP_HOSTS"] = "127.0.0.1"
        harness.start_django(url, redis_url, "bench-inprocess")
        from django_tenants.utils import tenant_context

        from campaigns import services
        from campaigns.models import CampaignStatus, Code
        from campaigns.scan import events as scan_events
        from campaigns.scan import services as scan_services
        from points.services import fund_with_money
        from tenants.onboarding import create_merchant

        size = args.claims + WARMUP
        merchant = create_merchant(slug="bench-inprocess", name="Bench in-process")
        fund_with_money(
            merchant,
            amount_minor=size * 10,
            currency="CNY",
            rate="100",
            payment_reference="bench-inprocess",
        )
        with tenant_context(merchant):
            campaign = scan_services.create_scan_campaign(name="Bench caps")
            services.set_status(merchant, campaign, CampaignStatus.ACTIVE)
            batch = scan_services.create_batch(merchant, campaign, size=size, points_per_code=10)
            codes = list(
                Code.objects.filter(batch=batch).order_by("serial").values_list("code", flat=True)
            )
        consumers = harness.make_consumers(args.consumers, sharing_with=merchant.pk)
        if args.webhooks == "on":
            from django.core.cache import cache

            from webhooks import delivery
            from webhooks.models import EventType
            from webhooks.services import create_endpoint

            # Port 9 (discard): nothing is sent, no relay runs while the flag is held.
            create_endpoint(
                merchant, url="http://127.0.0.1:9/hook", event_types=[EventType.CODE_CLAIMED]
            )
            cache.set(delivery.WAKE_KEY, 1, timeout=24 * 3600)
        document = OPERATION.read_text()
        environs = []
        for n, code in enumerate(codes):
            body = json.dumps(
                {
                    "query": document,
                    "operationName": "ClaimCode",
                    "variables": {"code": code, "idempotencyKey": uuid.uuid4().hex},
                }
            ).encode()
            environs.append((body, consumers.tokens[n % len(consumers.tokens)]))
        post = harness.wsgi_poster()
        statuses: dict[str, int] = {}

        def call(body: bytes, token: str) -> bytes:
            status, answer = post(body, token)
            statuses[status] = statuses.get(status, 0) + 1
            return answer

        from config.celery import app

        # Set-up tasks ran eagerly; the claims take production's way, where a commit's
        # tasks go through the broker (the relay's wake: a thread's, decision 0346).
        app.conf.task_always_eager = False
        for body, token in environs[:WARMUP]:
            call(body, token)
        measured = environs[WARMUP:]
        profiler = cProfile.Profile(time.process_time) if args.profile else None
        failures = 0
        # Drain what the warm-up queued, so that the drain below writes the measured scans.
        scan_events.drain_all(reclaim_idle_ms=0)
        backend = backend_pid()
        collections = GarbageCollections()
        before = Usage.now(backend, redis_url)
        t0 = time.perf_counter()
        collections.start()
        if profiler:
            profiler.enable()
        for body, token in measured:
            answer = call(body, token)
            if b'"claim":{' not in answer or b'"code":' in answer:
                failures += 1
        if profiler:
            profiler.disable()
        collections.stop()
        wall = time.perf_counter() - t0
        claims = Usage.now(backend, redis_url) - before
        n = len(measured)
        print(
            f"{n:,} claims in-process: {claims.python / n * 1000:.3f} ms of "
            f"Python CPU a claim, {wall / n * 1000:.3f} ms wall; PostgreSQL "
            f"{claims.postgres / n * 1000:.3f} ms, Redis {claims.redis / n * 1000:.3f} ms, WAL "
            f"{claims.wal / n:,.0f} bytes a claim; "
            f"failures {failures}; statuses {statuses}; webhooks {args.webhooks}, "
            f"scan events {args.events}"
        )
        print(
            f"garbage collections: {collections.counts} (generations 0, 1, 2), "
            f"{collections.seconds / n * 1000:.3f} ms of CPU a claim"
        )
        if args.events == "on":
            # What the drainer then pays for them, in this process and its backend.
            before = Usage.now(backend, redis_url)
            written = scan_events.drain_all(reclaim_idle_ms=0)
            drain = Usage.now(backend, redis_url) - before
            cpu = drain.python + drain.postgres + drain.redis
            print(
                f"drained {written:,} scan events: {cpu / max(1, written) * 1000:.3f} ms of "
                "CPU an event (Python, PostgreSQL and Redis), "
                f"{drain.wal / max(1, written):,.0f} bytes of WAL an event"
            )
        if args.webhooks == "on":
            from webhooks.models import WebhookDelivery

            print(f"outbox rows: {WebhookDelivery.objects.count():,} for {size:,} claims")
        if profiler and args.profile:
            profiler.dump_stats(args.profile)
            stats = pstats.Stats(profiler)
            stats.sort_stats("tottime").print_stats(35)


class GarbageCollections:
    """The cyclic garbage collector's runs while started: how many of each generation,
    and the CPU they took (part of the Python CPU above)."""

    def __init__(self) -> None:
        self.counts = [0, 0, 0]
        self.seconds = 0.0
        self._began = 0.0

    def start(self) -> None:
        gc.callbacks.append(self._callback)

    def stop(self) -> None:
        gc.callbacks.remove(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._began = time.process_time()
        else:
            self.counts[info["generation"]] += 1
            self.seconds += time.process_time() - self._began


@dataclass(frozen=True)
class Usage:
    """CPU seconds of this process, its PostgreSQL backend and Redis, and the WAL bytes
    PostgreSQL has logged, so far; subtract two to get what happened between them."""

    python: float
    postgres: float
    redis: float
    wal: int

    @classmethod
    def now(cls, backend: int, redis_url: str) -> Usage:
        return cls(
            time.process_time(),
            harness.cpu_seconds([backend]),
            harness.redis_cpu_seconds(redis_url),
            wal_position(),
        )

    def __sub__(self, earlier: Usage) -> Usage:
        return Usage(
            self.python - earlier.python,
            self.postgres - earlier.postgres,
            self.redis - earlier.redis,
            self.wal - earlier.wal,
        )


def wal_position() -> int:
    """PostgreSQL's WAL insert position, bytes (what every writer has logged so far)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_insert_lsn() - '0/0'::pg_lsn")
        return int(cursor.fetchone()[0])


def backend_pid() -> int:
    """This process's PostgreSQL backend (the statements of every claim run there)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


if __name__ == "__main__":
    main()
