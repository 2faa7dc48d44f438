"""A prize claim beside a fixed-points claim, in one run, through the whole Django stack.

Both kinds are claimed in the same process, on the same database, in alternating rounds
(fixed, prize, fixed, prize, …) so that a busy machine slows both alike: the front end's
own operations (``ClaimCode`` for a fixed-points code, ``ClaimPrizeCode`` with a nonce for
a prize code) with a bearer token, through every middleware, the GraphQL view, the claim
service and PostgreSQL, called in-process (WSGI, no sockets; as bench/inprocess.py).

Per kind it prints: the Python CPU per claim (one thread; the steadiest figure on 2 shared
cores), the wall time per claim (one thread), the statements sent per claim, and the
claims/s with ``--threads`` threads claiming at once (the prize claims of one campaign
take turns on its draw log's head, decision 0213; the fixed ones on nothing). The target
(issue 23): a prize claim within 10% of a fixed-points claim.

Run from the project root::

    uv run python bench/prize_claims.py [--claims 2000] [--rounds 3] [--threads 8] [--keep]

Database: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/loyalty_bench_prizes),
Redis BENCH_REDIS_URL (default redis://127.0.0.1:6379/11); dropped and flushed at the end
unless --keep. Figures are printed, never asserted (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import harness  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/loyalty_bench_prizes"
DEFAULT_REDIS = "redis://127.0.0.1:6379/11"
OPERATIONS = harness.ROOT / "graphql" / "operations" / "consumer"
WARMUP = 200


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--claims", type=int, default=2000, help="per kind and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--consumers", type=int, default=400)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS)
    started, load_at_start = time.perf_counter(), harness.load_average()
    with harness.bench_resources(url, redis_url, keep=args.keep, prefix="bench-prizes"):
        os.environ["DEBUG"] = "0"
        harness.start_django(url, redis_url, "bench-prizes")
        run(args)
    print(harness.machine_summary(started, load_at_start))


def run(args: argparse.Namespace) -> None:
    from django.db import connections
    from django_tenants.utils import tenant_context

    from campaigns import services
    from campaigns.models import CampaignStatus, Code
    from campaigns.models.prizes import TierTerms
    from campaigns.prizes.services import set_prize_table
    from campaigns.scan import services as scan_services
    from points.services import fund_with_money
    from tenants.onboarding import create_merchant

    # Each round: one thread's claims, then the threads' claims, per kind.
    per_kind = (WARMUP + 2 * args.claims * args.rounds) + 16
    merchant = create_merchant(slug="bench-prizes", name="Bench prizes")
    fund_with_money(
        merchant,
        amount_minor=per_kind * 10 * 3,
        currency="CNY",
        rate="100",
        payment_reference="bench-prizes",
    )
    tiers = [
        TierTerms("一等奖", 100, 1, 10),
        TierTerms("二等奖", 10, 99, 500),
        TierTerms("三等奖", 1, 900, None),
        TierTerms("谢谢参与", 0, 9000, None),
    ]
    codes: dict[str, list[str]] = {}
    with tenant_context(merchant):
        fixed = scan_services.create_scan_campaign(name="Fixed caps")
        services.set_status(merchant, fixed, CampaignStatus.ACTIVE)
        fixed_batch = scan_services.create_batch(merchant, fixed, size=per_kind, points_per_code=10)
        prize = scan_services.create_scan_campaign(name="Prize caps")
        set_prize_table(prize, tiers)
        services.set_status(merchant, prize, CampaignStatus.ACTIVE)
        prize_batch = scan_services.create_batch(
            merchant, prize, size=per_kind, points_per_code=None
        )
        for kind, batch in (("fixed", fixed_batch), ("prize", prize_batch)):
            codes[kind] = list(
                Code.objects.filter(batch=batch).order_by("serial").values_list("code", flat=True)
            )
    consumers = harness.make_consumers(args.consumers, sharing_with=merchant.pk)
    documents = {
        "fixed": (OPERATIONS / "ClaimCode.graphql").read_text(),
        "prize": (OPERATIONS / "ClaimPrizeCode.graphql").read_text(),
    }
    names = {"fixed": "ClaimCode", "prize": "ClaimPrizeCode"}
    post = harness.wsgi_poster()
    tokens = consumers.tokens

    def body(kind: str, code: str) -> bytes:
        variables: dict[str, Any] = {"code": code, "idempotencyKey": uuid.uuid4().hex}
        if kind == "prize":
            variables["nonce"] = secrets.token_hex(16)
        return json.dumps(
            {"query": documents[kind], "operationName": names[kind], "variables": variables}
        ).encode()

    def call(payload: bytes, token: str) -> bool:
        _status, answer = post(payload, token)
        return b'"claim":{' in answer and b'"code":' not in answer

    cursor = {"fixed": 0, "prize": 0}
    lock = threading.Lock()

    def take(kind: str, n: int) -> list[tuple[bytes, str]]:
        with lock:
            start = cursor[kind]
            cursor[kind] += n
        return [
            (body(kind, code), tokens[(start + i) % len(tokens)])
            for i, code in enumerate(codes[kind][start : start + n])
        ]

    for kind in ("fixed", "prize"):
        for payload, token in take(kind, WARMUP // 2):
            call(payload, token)

    from core.db import connection

    single: dict[str, list[tuple[float, float, float]]] = {"fixed": [], "prize": []}
    threaded: dict[str, list[float]] = {"fixed": [], "prize": []}
    failures = {"fixed": 0, "prize": 0}
    for round_no in range(1, args.rounds + 1):
        for kind in ("fixed", "prize"):
            requests = take(kind, args.claims)
            statements = 0

            def count(execute: Callable[..., object], *a: object) -> object:
                nonlocal statements
                statements += 1
                return execute(*a)

            with connection.execute_wrapper(count):
                wall, cpu = time.perf_counter(), time.process_time()
                for payload, token in requests:
                    if not call(payload, token):
                        failures[kind] += 1
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            n = len(requests)
            single[kind].append((cpu * 1000 / n, wall * 1000 / n, statements / n))

            requests = take(kind, args.claims)
            share = [requests[i :: args.threads] for i in range(args.threads)]
            barrier = threading.Barrier(args.threads + 1)

            def work(
                mine: list[tuple[bytes, str]],
                kind: str = kind,
                barrier: threading.Barrier = barrier,
            ) -> None:
                barrier.wait()
                for payload, token in mine:
                    if not call(payload, token):
                        failures[kind] += 1
                connections.close_all()

            threads = [threading.Thread(target=work, args=(mine,)) for mine in share]
            for thread in threads:
                thread.start()
            barrier.wait()
            t0 = time.perf_counter()
            for thread in threads:
                thread.join()
            threaded[kind].append(len(requests) / (time.perf_counter() - t0))
            cpu_ms, wall_ms, per = single[kind][-1]
            print(
                f"round {round_no} {kind:5}: 1 thread {cpu_ms:.2f} ms CPU, {wall_ms:.2f} ms "
                f"wall, {per:.1f} statements a claim; {args.threads} threads "
                f"{threaded[kind][-1]:,.0f} claims/s",
                flush=True,
            )

    def median(values: list[float]) -> float:
        return statistics.median(values)

    print(f"\nmedians over {args.rounds} rounds of {args.claims:,} claims per kind and mode:")
    rows = []
    for kind in ("fixed", "prize"):
        cpu = median([c for c, _w, _s in single[kind]])
        wall = median([w for _c, w, _s in single[kind]])
        per = median([s for _c, _w, s in single[kind]])
        rate = median(threaded[kind])
        rows.append((cpu, wall, rate))
        print(
            f"  {kind:5}  CPU {cpu:.2f} ms/claim  wall {wall:.2f} ms/claim  "
            f"{per:.1f} statements  {args.threads} threads {rate:,.0f} claims/s  "
            f"failures {failures[kind]}"
        )
    (fc, fw, fr), (pc, pw, pr) = rows
    print(
        f"  prize / fixed: CPU {pc / fc:.3f}, wall {pw / fw:.3f}, "
        f"throughput {pr / fr:.3f} (target: within 10%, i.e. 0.90-1.10)"
    )
    with tenant_context(merchant):
        from campaigns.models import PrizeTable
        from campaigns.prizes import verify

        table = PrizeTable.objects.get(campaign=prize)
        report = verify.verify(verify.published(table))
        print(f"  draw log: {report.draws:,} entries, chain intact: {report.ok}")


if __name__ == "__main__":
    main()
