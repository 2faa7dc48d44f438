"""Claim throughput and latency through the full stack, in the production configuration.

**Full stack**, as production runs it (printed at the start, checked where it can be):
gunicorn in ``config/gunicorn.py`` (``--worker-class production``: threaded workers with
keep-alive, ``--workers 2 --threads 4``), ``DEBUG`` off, HTTP → bearer-token middleware →
GraphQL (the front end's ``ClaimCode`` operation of ``graphql/operations/consumer/``) →
``campaigns.scan.claims.claim_code`` → PostgreSQL, with Redis for the rate limits (real: a
dedicated Redis database, flushed at start and end) and the webhooks outbox on
(``--webhooks on``, the default): the merchant has an endpoint for ``code.claimed`` (a
receiver on 127.0.0.1), so every claim writes a delivery in its own statement and wakes the
relay through Redis on a real Celery worker (``--celery-concurrency``), which the run drains: each
round starts from an empty backlog and ends once its deliveries are sent; the backlog is
printed at the end and must be empty.
``--webhooks off``: the merchant's endpoint listens to another event, as most merchants'
claims have no listener (the claim then asks only the process's cached subscriptions).

**Closed loop**: wrk (``--http-clients`` kept-alive connections, 16 as the references'
wrk, loopback only) claims distinct
codes, spread round-robin over ``--consumers`` consumers so that none exceeds the 120
claims a minute a consumer may make; each round bounded by a count and a time
(``--max-seconds``). Its claims/s is the throughput; its latency hides queueing (each
connection waits for its answer before sending again).

**Open loop** (decision 0143): then one round per rate of ``--rates`` (default 50%, 75%,
90% of the closed-loop median; or claims/s), ``--open-seconds`` each, by
``harness.open_loop``: each claim sent at its scheduled time over a pool of kept-alive
connections, its latency from that time. Printed per rate: offered and achieved rate,
p50/p90/p99/max, errors, the server's, the Celery worker's and the generator's CPU per
claim, and the generator's send lag; a round where the generator fell behind (p99 lag
over ``--max-lag-ms``) is not reported and the script exits 1.

**Baseline**: ``pgbench`` (``--clients``, 8 as the raw reference's pgbench; extended
query protocol, because the claim's statements go through ``core.db.rows``'
server-binding cursor, which sends the parameters apart from the statement, unprepared)
running
what the claim sends, on a second batch of the same campaign: the one call of
``campaigns_claim_code`` (decision 0137), in autocommit; with ``--webhooks on``, the
same call with the outbox's endpoint and event, as the app sends it (decision 0329; to an
inactive endpoint: never sent).
The script prints Django's SQL of one claim, captured in-process, to compare. What
pgbench leaves out is what the stack adds: HTTP, the token check, the Redis rate
limits, GraphQL and the ORM (django-tenants sets the search path once per schema
change, ``TENANT_LIMIT_SET_CALLS``, as pgbench does once per transaction).

The two run in turns (``--rounds``), never at once, in one run on one database.

**Scan events on and off** (issue 20): a second server with ``SCAN_EVENTS=0`` takes turns
with the first in each round, in alternating order; before every HTTP round the database
settles (a checkpoint, no autovacuum running: :func:`harness.settle_database`). The figures
are the median over rounds of each round's on-against-off ratio, and the mean of the two
orders' mean ratios (a round's second turn runs slower whichever it is); more rounds, less
noise.

**Fixed references** (issue 17): ``../shared/peer/run.sh`` runs before our server starts and
after it stops (``--peer-seconds`` per line, 0 to skip): pgbench of the minimal claim
("raw"), a plain Django view and a naive graphene mutation on the same SQL. The script prints
our claims/s beside their medians: against our own pgbench line a heavy transaction looks
good; against these it cannot.

Run from the project root::

    uv run python bench/claims.py [--claims 6000] [--pgbench-claims 16000] [--rounds 2]
                                  [--clients 8] [--http-clients 16] [--consumers 1000]
                                  [--peer-seconds 10]
                                  [--rates 50%,75%,90%] [--open-seconds 20]
                                  [--connections 32] [--max-lag-ms 10]
                                  [--celery-concurrency 2] [--drain-seconds 120]
                                  [--worker-class production] [--profile DIR] [--keep]

``--profile DIR`` records the gunicorn workers with py-spy (``--gil``: on-CPU Python
only) during the last HTTP round (the last open-loop one, if any) and prints where their
CPU goes.

Database: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/loyalty_bench_claims),
dropped and created at start, dropped at the end unless --keep. Redis: BENCH_REDIS_URL
(default redis://127.0.0.1:6379/14; also the Celery broker), flushed at start and end.
Figures are printed, never asserted (see docs/benchmarks.md). The machinery (database,
gunicorn, Celery worker, webhook receiver, load generators, pgbench, CPU meters, tables)
is ``bench/harness.py``'s.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import harness  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/loyalty_bench_claims"
DEFAULT_REDIS = "redis://127.0.0.1:6379/14"
CACHE_PREFIX = "bench-claims"
POINTS_PER_CODE = 10
BUCKETS = 16  # campaigns.reserves.RESERVE_BUCKETS (checked at set-up)
OPERATION = harness.ROOT / "graphql" / "operations" / "consumer" / "ClaimCode.graphql"
WARMUP = 400
JUDGE = harness.PayloadJudge("claim")


# --- Set-up (in this process, with Django) ------------------------------------------------


@dataclass
class Setup:
    schema: str
    merchant_id: int
    campaign_id: int
    http_batch: int
    pg_batch: int
    codes: list[str]  # the HTTP batch's codes, by serial
    tokens: list[str]  # one access token per consumer
    first_consumer: int
    sql_of_one_claim: list[str]
    endpoint_id: int  # the live webhook endpoint: the app's deliveries
    pg_endpoint_id: int  # an inactive one: pgbench's deliveries, never sent


def set_up(url: str, redis_url: str, args: argparse.Namespace, hook_url: str) -> Setup:
    t0 = time.perf_counter()
    # The receiver is on this machine: plain http to 127.0.0.1 is refused otherwise (in
    # this process only: the endpoint is created here, the worker only sends).
    os.environ["WEBHOOK_ALLOW_HTTP_HOSTS"] = "127.0.0.1"
    harness.start_django(url, redis_url, CACHE_PREFIX)

    from django_tenants.utils import tenant_context

    from campaigns import services
    from campaigns.models import BatchStatus, CampaignStatus, Code
    from campaigns.reserves import RESERVE_BUCKETS
    from campaigns.scan import services as scan_services
    from campaigns.scan.claims import claim_code
    from core.db import connection
    from points.services import fund_with_money
    from tenants.onboarding import create_merchant
    from webhooks.models import EventType, WebhookEndpoint
    from webhooks.services import create_endpoint

    assert RESERVE_BUCKETS == BUCKETS, RESERVE_BUCKETS
    # Twice: the same rounds against a server with scan events and one without.
    http_size = 2 * (args.rounds * args.claims + WARMUP) + 1
    pg_size = args.rounds * args.pgbench_claims + WARMUP + args.clients
    merchant = create_merchant(slug="bench-claims", name="Bench Claims")
    fund_with_money(
        merchant,
        amount_minor=(http_size + pg_size) * POINTS_PER_CODE,  # 100 points per yuan
        currency="CNY",
        rate="100",
        payment_reference="bench-claims",
    )
    with tenant_context(merchant):
        campaign = scan_services.create_scan_campaign(name="Bench caps")
        services.set_status(merchant, campaign, CampaignStatus.ACTIVE)
        http_batch = scan_services.create_batch(
            merchant, campaign, size=http_size, points_per_code=POINTS_PER_CODE
        )
        pg_batch = scan_services.create_batch(
            merchant, campaign, size=pg_size, points_per_code=POINTS_PER_CODE
        )
        for batch in (http_batch, pg_batch):
            batch.refresh_from_db()
            assert batch.status == BatchStatus.READY, batch.status
        codes = list(
            Code.objects.filter(batch=http_batch).order_by("serial").values_list("code", flat=True)
        )
    connection.set_schema_to_public()
    # The outbox on: the merchant listens to its claims, so each claim writes a delivery
    # in its transaction and queues its send (webhooks.events.record).
    # --webhooks off: the merchant's endpoint listens to another event, as most merchants'
    # claims have no listener; the claim then only asks the process's cached subscriptions.
    listened = EventType.CODE_CLAIMED if args.webhooks == "on" else EventType.ORDER_PLACED
    endpoint = create_endpoint(merchant, url=hook_url, event_types=[listened])
    pg_endpoint = create_endpoint(merchant, url=hook_url, event_types=[listened], is_active=False)
    assert WebhookEndpoint.objects.filter(merchant=merchant, is_active=True).count() == 1
    consumers = harness.make_consumers(args.consumers, sharing_with=merchant.pk)
    user = consumers.users[0]
    sql = harness.captured_sql(lambda: claim_code(user, codes[-1], "bench-sql"))
    print(
        f"set-up: {time.perf_counter() - t0:.1f} s (migrate, merchant, {http_size:,} + "
        f"{pg_size:,} codes generated in-process, {args.consumers:,} consumers)",
        flush=True,
    )
    return Setup(
        schema=merchant.schema_name,
        merchant_id=merchant.pk,
        campaign_id=campaign.pk,
        http_batch=http_batch.pk,
        pg_batch=pg_batch.pk,
        codes=codes[:-1],
        tokens=consumers.tokens,
        first_consumer=consumers.first_id,
        sql_of_one_claim=sql,
        endpoint_id=endpoint.endpoint.pk,
        pg_endpoint_id=pg_endpoint.endpoint.pk,
    )


def open_loop_codes(setup: Setup, count: int) -> tuple[int, list[str]]:
    """A batch of ``count`` codes of the campaign for the open-loop rounds, made once
    their rates are known (in this process; the budget is topped up for it)."""
    from django_tenants.utils import tenant_context

    from campaigns.models import BatchStatus, Campaign, Code
    from campaigns.scan import services as scan_services
    from core.db import connection
    from points.services import fund_with_money
    from tenants.models import Merchant

    merchant = Merchant.objects.get(pk=setup.merchant_id)
    fund_with_money(
        merchant,
        amount_minor=count * POINTS_PER_CODE,
        currency="CNY",
        rate="100",
        payment_reference=f"bench-claims-open-loop-{uuid.uuid4().hex}",  # one per batch
    )
    with tenant_context(merchant):
        campaign = Campaign.objects.get(pk=setup.campaign_id)
        batch = scan_services.create_batch(
            merchant, campaign, size=count, points_per_code=POINTS_PER_CODE
        )
        batch.refresh_from_db()
        assert batch.status == BatchStatus.READY, batch.status
        codes = list(
            Code.objects.filter(batch=batch).order_by("serial").values_list("code", flat=True)
        )
    connection.set_schema_to_public()
    return batch.pk, codes


# --- pgbench ------------------------------------------------------------------------------

PGBENCH_SCRIPT = r"""
-- One claim, as campaigns.scan.claims.claim_code sends it (see bench/claims.py): the one
-- call of campaigns/scan/sql/campaigns_claim_code.sql, in autocommit. Extended protocol:
-- pgbench sends each variable as a parameter ($1, …) apart from the statement, as
-- core.db.rows' server-binding cursor does. Claim number i takes the code of serial i of
-- the pgbench batch (a subquery: the app is sent the code by the phone).
\set cid :first_consumer + :i % :consumers
SELECT * FROM public.campaigns_claim_code(
    :merchant,
    (SELECT code FROM "{schema}".campaigns_code WHERE batch_id = :batch_id AND serial = :i),
    :cid, 'pgbench-' || :i, now(), {buckets}, NULL::bigint[], NULL::jsonb, {consent});
"""
# --webhooks on: the same call writes the outbox row too (decision 0329), on pgbench's own
# endpoint (inactive: never sent, so out of the backlog the run drains), with the event's
# envelope as the app sends it (the function adds the consumer's masked phone, decision 0345).
PGBENCH_SCRIPT_WITH_OUTBOX = r"""
\set cid :first_consumer + :i % :consumers
SELECT * FROM public.campaigns_claim_code(
    :merchant,
    (SELECT code FROM "{schema}".campaigns_code WHERE batch_id = :batch_id AND serial = :i),
    :cid, 'pgbench-' || :i, now(), {buckets}, ARRAY[:pg_endpoint]::bigint[],
    jsonb_build_object('id', gen_random_uuid(), 'type', 'code.claimed', 'createdAt', now(),
                       'data', jsonb_build_object('code', 'pgbench-' || :i, 'claimedAt', now(),
                                                  'consumer', jsonb_build_object(
                                                      'consumerRef', :cid::text))), {consent});
"""
# The app sends these statements through core.db.rows' server-binding cursor.
PGBENCH_PROTOCOL = "extended"


def pgbench_defines(setup: Setup, consumers: int) -> dict[str, object]:
    # Claim number i takes the code of serial i of the pgbench batch.
    return {
        "first_consumer": setup.first_consumer,
        "consumers": consumers,
        "merchant": setup.merchant_id,
        "batch_id": setup.pg_batch,
        "pg_endpoint": setup.pg_endpoint_id,
    }


# --- The full stack -----------------------------------------------------------------------


def claim_bodies(
    setup: Setup, start: int, count: int, codes: list[str] | None = None
) -> list[harness.Request]:
    """Claims ``start`` … ``start + count - 1`` of ``codes`` (the HTTP batch's by default),
    each a distinct code, consumers round-robin."""
    run = uuid.uuid4().hex[:8]
    codes = setup.codes if codes is None else codes
    return harness.graphql_requests(
        OPERATION,
        (
            (
                {"code": codes[j], "idempotencyKey": f"{run}-{j}"},
                setup.tokens[j % len(setup.tokens)],
            )
            for j in range(start, start + count)
        ),
    )


def parse_rates(text: str) -> list[tuple[float, bool]]:
    """``50%,75%,300``: (value, relative) pairs; a percentage is of the closed-loop median."""
    rates = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        relative = part.endswith("%")
        value = float(part.rstrip("%")) / (100 if relative else 1)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"a rate must be positive: {part!r}")
        rates.append((value, relative))
    return rates


HELD = "relays held for later (nothing to send)"


def drain(setup: Setup, redis_url: str, seconds: float) -> dict[str, int]:
    """Wait until the background work the claims left is done: no task queued or being
    run in the broker, no delivery of the live endpoint pending or failed; the backlog
    then (or at the deadline)."""
    from django.db.models import Count

    from campaigns.scan import events as scan_events
    from webhooks.models import DeliveryStatus, WebhookDelivery

    # The servers send each moment's scan events a moment later (decision 0335).
    time.sleep(4 * scan_events.SEND_DELAY_SECONDS)
    deadline = time.monotonic() + seconds
    while True:
        queued, unacked = harness.queued_tasks(redis_url)
        statuses = dict(
            WebhookDelivery.objects.filter(endpoint_id=setup.endpoint_id)
            .values("status")
            .annotate(n=Count("id"))
            .values_list("status", "n")
        )
        scans = scan_events.backlog()
        backlog = {
            "tasks queued": queued,
            "tasks unacknowledged": unacked,
            **{f"deliveries {s}": statuses.get(s, 0) for s in DeliveryStatus.values},
            "scan events queued": scans["queued"],
            "scan events pending": scans["pending"],
        }
        deliveries = statuses.get("pending", 0) + statuses.get("failed", 0)
        if not deliveries:
            # With every delivery sent, a relay held for later is no work left: two relays
            # that ran at once each saw the other's lease and queued a relay for its end
            # (webhooks.delivery.next_retry_in), 2 minutes on, in case that worker died.
            backlog[HELD] = backlog.pop("tasks unacknowledged")
            unacked = 0
        waiting = queued + unacked + deliveries + scans["queued"] + scans["pending"]
        if waiting == 0:
            return backlog
        if time.monotonic() > deadline:
            print(f"the backlog did not empty within {seconds:g} s: {backlog}", flush=True)
            return backlog
        time.sleep(0.5)


# --- Main -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--claims", type=int, default=6_000, help="HTTP claims per round")
    parser.add_argument(
        "--pgbench-claims", type=int, default=16_000, help="pgbench claims per round"
    )
    parser.add_argument("--rounds", type=int, default=2, help="rounds of each, alternating")
    parser.add_argument("--consumers", type=int, default=1_000)
    parser.add_argument(
        "--peer-seconds",
        type=int,
        default=10,
        help="seconds per line of ../shared/peer/run.sh, run before and after ours (0: skip)",
    )
    parser.add_argument(
        "--rates",
        type=parse_rates,
        default=parse_rates("50%,75%,90%"),
        help="open-loop arrival rates, claims/s or %% of the closed-loop median (default "
        "50%%,75%%,90%%; empty: no open-loop round)",
    )
    parser.add_argument(
        "--open-seconds", type=float, default=20, help="length of each open-loop round"
    )
    parser.add_argument(
        "--events-rounds",
        type=int,
        default=4,
        help="scan events' cost: pairs of open-loop rounds at one fixed rate, the server with "
        "events and the one without taking turns (0: none)",
    )
    parser.add_argument(
        "--events-rate",
        type=parse_rates,
        default=parse_rates("50%"),
        help="their rate, claims/s or %% of the closed-loop median (default 50%%)",
    )
    parser.add_argument(
        "--connections", type=int, default=32, help="open loop: kept-alive connections at start"
    )
    parser.add_argument(
        "--max-lag-ms",
        type=float,
        default=harness.OPEN_LOOP_MAX_LAG_MS,
        help="open loop: a round whose p99 send lag exceeds this is not reported",
    )
    parser.add_argument(
        "--webhooks",
        choices=["on", "off"],
        default="on",
        help="on: the merchant's endpoint listens to code.claimed, so every claim writes an "
        "outbox row and a delivery is sent (drained in the run); off: its endpoint listens "
        "to another event, as for most merchants",
    )
    parser.add_argument(
        "--celery-concurrency",
        type=int,
        default=2,
        help="the Celery worker's processes (production's default: the cores)",
    )
    parser.add_argument(
        "--drain-seconds", type=float, default=120, help="longest wait for the backlog to empty"
    )
    harness.add_common_arguments(parser)
    args = parser.parse_args(argv)
    # 120 claims a minute per consumer: stay under it with room to spare.
    if args.consumers < 1 or args.clients < 1 or args.rounds < 1:
        parser.error("--consumers, --clients and --rounds must be at least 1")

    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS)
    started = time.perf_counter()
    load_at_start = harness.load_average()
    print_settings(args)
    with (
        harness.bench_resources(url, redis_url, keep=args.keep, prefix="bench-claims") as workdir,
        harness.WebhookReceiver() as receiver,
    ):
        setup = set_up(url, redis_url, args, receiver.url)
        from django.db import connections

        connections.close_all()
        pgbench = harness.PgBench(
            url,
            (PGBENCH_SCRIPT_WITH_OUTBOX if args.webhooks == "on" else PGBENCH_SCRIPT).format(
                schema=setup.schema,
                buckets=BUCKETS,
                points=POINTS_PER_CODE,
                consent=harness.consent_sql(),
            ),
            workdir,
            protocol=PGBENCH_PROTOCOL,
        )
        defines = pgbench_defines(setup, args.consumers)
        # The references run while nothing of ours does: before our server and after it.
        peers = [harness.run_peer(args.peer_seconds)] if args.peer_seconds else []
        with (
            harness.CeleryWorker(
                url, redis_url, workdir / "celery.log", CACHE_PREFIX, args.celery_concurrency
            ) as worker,
            harness.ScanDrainer(url, redis_url, workdir / "drainer.log", CACHE_PREFIX) as drainer,
            harness.Server(
                url, redis_url, args, workdir / "gunicorn.log", CACHE_PREFIX, eager_tasks=False
            ) as server,
            # The same server without scan events, taking turns with the first: their ratio
            # is what recording every scan costs a claim (decision 0201).
            harness.Server(
                url,
                redis_url,
                args,
                workdir / "gunicorn-no-events.log",
                CACHE_PREFIX,
                eager_tasks=False,
                settings={"SCAN_EVENTS": "0"},
            ) as server_off,
        ):
            # Warm-up: both systems, not counted (imports, prepared statements, caches).
            warm = harness.load(
                server, claim_bodies(setup, 0, WARMUP), args.http_clients, 60, JUDGE
            )
            print(f"warm-up {harness.describe(warm, 'claim')}", flush=True)
            off_codes: list[str] = []
            warm_off = harness.load(
                server_off, claim_bodies(setup, WARMUP, WARMUP), args.http_clients, 60, JUDGE
            )
            off_codes += setup.codes[WARMUP : 2 * WARMUP]
            print(f"warm-up without scan events {harness.describe(warm_off, 'claim')}", flush=True)
            drainer_cpu = harness.cpu_seconds(drainer.pids())
            print_checks(server, setup, redis_url, receiver.url)
            pg_warm = pgbench.run(WARMUP, args.clients, defines)
            print(f"warm-up {harness.describe(pg_warm, 'claim')}", flush=True)

            stack: list[harness.Round] = []
            stack_off: list[harness.Round] = []
            # Where the machine's CPU went a claim, each events-on round with its drain.
            accounts: list[dict[str, float]] = []
            pg: list[harness.Round] = []
            used = 2 * WARMUP
            for number in range(1, args.rounds + 1):
                pg.append(pgbench.run(args.pgbench_claims, args.clients, defines))
                print(f"round {number} {harness.describe(pg[-1], 'claim')}", flush=True)
                # Events on and off take turns, in alternating order round by round. The
                # drainer keeps writing events while the claims run (it is not waited for
                # before the round ends; the drain after it only empties the backlog).
                turns = [True, False] if number % 2 else [False, True]
                for events_on in turns:
                    work = claim_bodies(setup, used, args.claims)
                    if not events_on:
                        off_codes += setup.codes[used : used + args.claims]
                    used += args.claims
                    profiled = number == args.rounds and not args.rates and events_on
                    drain(setup, redis_url, args.drain_seconds)
                    settled = harness.settle_database()
                    target = server if events_on else server_off
                    account = harness.machine_account(
                        target,
                        redis_url,
                        celery=partial(harness.cpu_seconds, worker.pids()),
                        drainer=partial(harness.cpu_seconds, drainer.pids()),
                        receiver=partial(harness.cpu_seconds, [receiver.process.pid]),
                    )
                    with harness.profiling(server, args.profile if profiled else None):
                        done = harness.load(
                            target, work, args.http_clients, args.max_seconds, JUDGE
                        )
                    (stack if events_on else stack_off).append(done)
                    queued = harness_scan_backlog()
                    drain(setup, redis_url, args.drain_seconds)
                    spent = account.per(done.count)
                    if events_on:
                        accounts.append(spent)
                    print(
                        f"round {number} {'events on ' if events_on else 'events off'} "
                        f"{harness.describe(done, 'claim')}; celery CPU "
                        f"{spent['celery']:.2f} ms/claim (its drain included); "
                        f"scan events not yet written when the round ended: {queued:,}; "
                        f"database settled before it in {settled:.1f} s; "
                        f"{harness.describe_account(spent, 'claim')}",
                        flush=True,
                    )

            open_rounds, open_batch = open_loop_rounds(
                args, setup, redis_url, server, worker, stack
            )
            events_cost, events_batch = events_cost_rounds(
                args, setup, redis_url, (server, server_off), stack
            )
            if events_cost is not None:
                open_rounds_on = [*open_rounds, *events_cost.on]
                off_codes += events_cost.off_codes
            else:
                open_rounds_on = open_rounds
            open_all = [*open_rounds_on, *(events_cost.off if events_cost else [])]
            backlog = drain(setup, redis_url, args.drain_seconds)
            drainer_ms = (harness.cpu_seconds(drainer.pids()) - drainer_cpu) * 1000
        if args.peer_seconds:
            peers.append(harness.run_peer(args.peer_seconds))
        if args.profile:
            print(harness.summarise_profile(args.profile, PROFILE_PARTS), flush=True)

        print(
            "\nbacklog at the end (broker and outbox): "
            + ", ".join(f"{what} {n:,}" for what, n in backlog.items())
        )
        http_ok = sum(r.count for r in [warm, warm_off, *stack, *stack_off])
        open_ok = sum(r.successes for r in open_all)
        pg_ok = sum(r.count for r in [pg_warm, *pg])
        # A closed-loop round cut at --max-seconds leaves up to --http-clients claims in flight,
        # which the server may still make; so may open-loop requests with no answer.
        in_flight = (
            sum(args.http_clients for r in [*stack, *stack_off] if answers(r) < args.claims),
            sum(r.unanswered for r in open_all),
        )
        # + 1: the claim of the SQL capture.
        open_batches = [b for b in (open_batch, events_batch) if b is not None]
        check_invariants(
            setup, http_ok + 1, open_batches, open_ok, pg_ok, backlog, in_flight, args.webhooks
        )
        on_answers = sum(reached_the_claim(r.count, r.refused, r.failures) for r in [warm, *stack])
        on_answers += sum(reached_the_claim(r.successes, {}, r.failures) for r in open_rounds_on)
        events_written = check_scan_events(setup, on_answers, off_codes, in_flight)

    harness.print_sql("claim", setup.sql_of_one_claim)
    rates = ",".join(f"{v * 100:g}%" if rel else f"{v:g}" for v, rel in args.rates) or "''"
    events_rate = ",".join(f"{v * 100:g}%" if rel else f"{v:g}" for v, rel in args.events_rate)
    print(
        f"\ncommand: uv run python bench/claims.py --claims {args.claims} "
        f"--pgbench-claims {args.pgbench_claims} --rounds {args.rounds} "
        f"--clients {args.clients} --http-clients {args.http_clients} --consumers {args.consumers} "
        f"--peer-seconds {args.peer_seconds} --rates {rates} "
        f"--open-seconds {args.open_seconds:g} --connections {args.connections} "
        f"--events-rounds {args.events_rounds} --events-rate {events_rate} "
        f"--celery-concurrency {args.celery_concurrency} --webhooks {args.webhooks} "
        f"{harness.server_flags(args)}"
    )
    print(harness.machine_summary(started, load_at_start))
    print()
    harness.print_comparison(stack, pg, "claim", note=" (target ≥ 0.30)")
    on_rate, off_rate = harness.median_rate(stack), harness.median_rate(stack_off)
    # Each round's two turns ran back to back, so their ratio cancels what drifts between
    # rounds (the machine, the tables' growth); its median is the figure, the spread its noise.
    pairs = [
        100 * (on.rate - off.rate) / off.rate for on, off in zip(stack, stack_off, strict=True)
    ]
    paired = sorted(pairs)
    # A round's second turn ran slower whichever it was (by up to 10%: the first one's
    # rows and drain before it), so the pairs of the two orders lean opposite ways; the
    # mean of the two orders' means cancels that lean (the rounds alternate: odd ones on
    # first).
    on_first, off_first = pairs[0::2], pairs[1::2]
    balanced = (
        f"; by order: on first {statistics.mean(on_first):+.1f}%, off first "
        f"{statistics.mean(off_first):+.1f}%, their mean "
        f"**{(statistics.mean(on_first) + statistics.mean(off_first)) / 2:+.1f}%**"
        if off_first
        else ""
    )
    print(
        f"\nscan events (closed loop, rounds taking turns): on {on_rate:,.0f} claims/s, off "
        f"{off_rate:,.0f} claims/s: on is {100 * (on_rate - off_rate) / off_rate:+.1f}%; "
        f"round by round (on against off in the same round) "
        f"{', '.join(f'{p:+.1f}%' for p in paired)}: median "
        f"**{statistics.median(paired):+.1f}%**{balanced} (target within ±5%); the drainer "
        f"ran during the rounds: {drainer_ms / max(1, events_written):.3f} ms CPU per event "
        f"written ({events_written:,} events)"
    )
    if open_rounds:
        print(
            f"\nopen loop (fixed arrival rate, latency from each claim's scheduled time; "
            f"closed-loop wrk above: {harness.median_rate(stack):,.0f} claims/s, p99 "
            f"{harness.percentile([x for r in stack for x in r.latencies_ms], 99):.1f} ms):"
        )
        print(harness.render_open_loop_table(open_rounds, "claim"))
    if peers:
        harness.print_against_peer("claims", harness.median_rate(stack), peers)
    harness.print_machine_account(accounts, peers, "claim", 2.0)
    if events_cost is not None:
        print(render_events_cost(events_cost))
    if any(not r.kept_schedule for r in open_all):
        print("\nsome open-loop rounds are not reported: the generator fell behind its schedule")
        return 1
    return 0


def print_settings(args: argparse.Namespace) -> None:
    """What runs, before anything does (:func:`print_checks` confirms it after the warm-up)."""
    threads = f", threads {args.threads}" if args.worker_class in {"gthread", "production"} else ""
    rates = (
        ", ".join(
            f"{v * 100:g}% of the closed-loop median" if rel else f"{v:g}/s"
            for v, rel in args.rates
        )
        or "none"
    )
    print(
        "settings:\n"
        f"  server: gunicorn, worker class {args.worker_class}"
        f"{' (config/gunicorn.py)' if args.worker_class == 'production' else ''}, "
        f"workers {args.workers}{threads}; DEBUG off\n"
        f"  operation: {OPERATION.relative_to(harness.ROOT)}, bearer token checked per "
        "request, rate limits on (Redis)\n"
        + (
            "  webhooks on (--webhooks on): the merchant has an endpoint for code.claimed; "
            if args.webhooks == "on"
            else "  webhooks off (--webhooks off): the merchant's endpoint listens to "
            "order.placed, not to claims; "
        )
        + f"tasks through "
        f"Redis to a Celery worker (prefork, --celery-concurrency {args.celery_concurrency}), "
        f"drained within each round (at most {args.drain_seconds:g} s)\n"
        f"  closed loop: wrk, {args.http_clients} connections; pgbench, {args.clients} "
        f"clients; rounds: {args.rounds} x "
        f"{args.claims:,} claims (each at most {args.max_seconds:g} s)\n"
        f"  open loop: rates {rates}; {args.open_seconds:g} s each, {args.connections} "
        f"kept-alive connections to start, refused above a p99 send lag of "
        f"{args.max_lag_ms:g} ms\n",
        flush=True,
    )


def print_checks(server: harness.Server, setup: Setup, redis_url: str, hook_url: str) -> None:
    """The settings as the warm-up shows them: asked of the server, counted in Redis and
    in the outbox."""
    import redis

    from webhooks.models import WebhookDelivery

    counters = len(redis.Redis.from_url(redis_url).keys("*scan:consumer:*"))
    deliveries = WebhookDelivery.objects.filter(endpoint_id=setup.endpoint_id).count()
    print(
        f"checked after the warm-up: DEBUG {'off' if harness.debug_is_off(server.port) else 'ON'}"
        f" (asked the server); {counters} per-consumer claim counters in Redis (rate limits); "
        f"{deliveries} webhook deliveries to {hook_url} (outbox)",
        flush=True,
    )


def open_loop_rounds(
    args: argparse.Namespace,
    setup: Setup,
    redis_url: str,
    server: harness.Server,
    worker: harness.CeleryWorker,
    stack: list[harness.Round],
) -> tuple[list[harness.OpenLoopRound], int | None]:
    """One open-loop round per rate of ``--rates`` (percentages of the closed-loop median),
    on a batch of codes of their own; the rounds and that batch."""
    if not args.rates:
        return [], None
    closed = harness.median_rate(stack)
    rates = [value * closed if relative else value for value, relative in args.rates]
    sizes = [math.ceil(rate * args.open_seconds) for rate in rates]
    batch, codes = open_loop_codes(setup, sum(sizes))
    rounds = []
    used = 0
    for number, (rate, size) in enumerate(zip(rates, sizes, strict=True), 1):
        work = claim_bodies(setup, used, size, codes)
        used += size
        # Each round starts from an empty backlog and owns the drain of what it leaves.
        drain(setup, redis_url, args.drain_seconds)
        celery_cpu = harness.cpu_seconds(worker.pids())
        with harness.profiling(server, args.profile if number == len(rates) else None):
            result = harness.open_loop(
                server, work, rate, JUDGE, connections=args.connections, max_lag_ms=args.max_lag_ms
            )
        drain(setup, redis_url, args.drain_seconds)
        celery_cpu = harness.cpu_seconds(worker.pids()) - celery_cpu
        result.background_cpu_ms["celery"] = celery_cpu * 1000 / max(1, result.successes)
        rounds.append(result)
        print(harness.describe_open_loop(result, "claim"), flush=True)
    return rounds, batch


@dataclass
class EventsCost:
    """Open-loop rounds at one fixed rate on the servers with and without scan events."""

    rate: float
    on: list[harness.OpenLoopRound] = field(default_factory=list)
    off: list[harness.OpenLoopRound] = field(default_factory=list)
    off_codes: list[str] = field(default_factory=list)


def events_cost_rounds(
    args: argparse.Namespace,
    setup: Setup,
    redis_url: str,
    servers: tuple[harness.Server, harness.Server],
    stack: list[harness.Round],
) -> tuple[EventsCost | None, int | None]:
    """What recording scans costs a consumer at one fixed arrival rate, where both servers
    serve the same claims a second: latency and the workers' CPU a claim, in pairs of
    alternating order (decision 0335)."""
    if not args.events_rounds:
        return None, None
    (value, relative), *_ = args.events_rate
    rate = value * harness.median_rate(stack) if relative else value
    size = math.ceil(rate * args.open_seconds)
    batch, codes = open_loop_codes(setup, 2 * args.events_rounds * size)
    cost = EventsCost(rate)
    used = 0
    for number in range(args.events_rounds):
        for events_on in (True, False) if number % 2 == 0 else (False, True):
            work = claim_bodies(setup, used, size, codes)
            if not events_on:
                cost.off_codes += codes[used : used + size]
            used += size
            drain(setup, redis_url, args.drain_seconds)
            harness.settle_database()
            result = harness.open_loop(
                servers[0] if events_on else servers[1],
                work,
                rate,
                JUDGE,
                connections=args.connections,
                max_lag_ms=args.max_lag_ms,
            )
            (cost.on if events_on else cost.off).append(result)
            print(
                f"events {'on ' if events_on else 'off'} "
                f"{harness.describe_open_loop(result, 'claim')}",
                flush=True,
            )
    return cost, batch


def render_events_cost(cost: EventsCost) -> str:
    """The fixed-rate pairs as a table, and the medians on and off."""
    lines = [
        f"\nscan events at a fixed rate ({cost.rate:,.0f} claims/s offered, open loop, the two "
        "servers taking turns):",
        "| pair | on: p50 / p99 ms | off: p50 / p99 ms | on: server CPU ms/claim "
        "| off: server CPU ms/claim |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for n, (on, off) in enumerate(zip(cost.on, cost.off, strict=True), 1):
        lines.append(
            f"| {n} | {harness.percentile(on.latencies_ms, 50):.1f} / "
            f"{harness.percentile(on.latencies_ms, 99):.1f} "
            f"| {harness.percentile(off.latencies_ms, 50):.1f} / "
            f"{harness.percentile(off.latencies_ms, 99):.1f} "
            f"| {on.server_cpu_ms:.2f} | {off.server_cpu_ms:.2f} |"
        )

    def median(rounds: list[harness.OpenLoopRound], what: Callable[[Any], float]) -> float:
        return statistics.median(what(r) for r in rounds)

    def p99(r: harness.OpenLoopRound) -> float:
        return harness.percentile(r.latencies_ms, 99)

    lines.append(
        f"medians: p99 on {median(cost.on, p99):.1f} ms, off {median(cost.off, p99):.1f} ms; "
        f"server CPU a claim on {median(cost.on, lambda r: r.server_cpu_ms):.2f} ms, off "
        f"{median(cost.off, lambda r: r.server_cpu_ms):.2f} ms"
    )
    return "\n".join(lines)


# Where the workers' CPU goes inside the claim (the request's parts are the harness's).
PROFILE_PARTS = harness.profile_parts(
    ("    claim_code (campaigns/scan/claims.py)", "claim_code (campaigns/scan/claims.py"),
    ("      rate limits in Redis (core/ratelimit.py)", "(core/ratelimit.py"),
    ("      the claim transaction (_claim)", "_claim (campaigns/scan/claims.py"),
    ("        ledger.post", "post (points/ledger.py"),
    ("        ledger account lookups (_account)", "_account (points/ledger.py"),
)


def harness_scan_backlog() -> int:
    from campaigns.scan import events as scan_events

    found = scan_events.backlog()
    return found["queued"] + found["pending"]


def check_scan_events(
    setup: Setup, on_answers: int, off_codes: list[str], in_flight: tuple[int, int]
) -> int:
    """Exactly one event per claim answered by the server with events; none from the other;
    the rollups' claims equal the events' claims. The events written."""
    from django.db.models import Sum
    from django_tenants.utils import schema_context

    from campaigns.models import ScanDay, ScanEvent
    from core.db import connection

    with schema_context(setup.schema):
        written = ScanEvent.objects.count()
        from_off = ScanEvent.objects.filter(code__in=off_codes).count()
        claimed = ScanEvent.objects.filter(outcome="claimed").count()
        rolled = ScanDay.objects.aggregate(n=Sum("claims"))["n"] or 0
        distinct = ScanEvent.objects.values("id").distinct().count()
    connection.set_schema_to_public()
    unseen = sum(in_flight)
    harness.report_invariants(
        {
            f"scan events written {written:,} = claims answered by the server with events "
            f"{on_answers:,}" + (f" (+ at most {unseen:,} unanswered)" if unseen else ""): (
                on_answers <= written <= on_answers + unseen
            ),
            f"scan events from the server without events: {from_off:,}": from_off == 0,
            f"rollups' claims {rolled:,} = events of claims {claimed:,}": rolled == claimed,
            f"event ids distinct {distinct:,} = events {written:,}": distinct == written,
        },
        [],
    )
    return written


def reached_the_claim(ok: int, refused: Mapping[str, int], failures: Mapping[str, int]) -> int:
    """Answers from the claim mutation (each records one scan event): successes and coded
    refusals, not HTTP errors (a burst refused before the view) nor requests unanswered."""
    coded = sum(
        n
        for k, n in failures.items()
        if not k.startswith("HTTP ") and not k.startswith(harness.NO_ANSWER)
    )
    return ok + sum(refused.values()) + coded


def answers(r: harness.Round) -> int:
    return r.count + sum(r.failures.values()) + sum(r.refused.values())


def check_invariants(
    setup: Setup,
    http_ok: int,
    open_batches: list[int],
    open_ok: int,
    pg_ok: int,
    backlog: dict[str, int],
    in_flight: tuple[int, int],
    webhooks: str,
) -> None:
    """The ledger's audit; every claim counted once; every claim of ours sent once to the
    merchant's endpoint; nothing left waiting. ``in_flight``: the claims that may have
    been made unseen (closed loop, open loop)."""
    from django_tenants.utils import schema_context

    from campaigns.models import Claim, Code
    from core.db import connection
    from points.audit import audit
    from webhooks.models import WebhookDelivery

    problems = audit()
    with schema_context(setup.schema):
        claims = Claim.objects.count()
        claimed = {
            batch: Code.objects.filter(batch_id=batch, claimed_at__isnull=False).count()
            for batch in (setup.http_batch, setup.pg_batch, *open_batches)
        }
    connection.set_schema_to_public()
    sent = WebhookDelivery.objects.filter(endpoint_id=setup.endpoint_id, status="succeeded").count()
    pg_deliveries = WebhookDelivery.objects.filter(endpoint_id=setup.pg_endpoint_id).count()
    http_claimed = claimed[setup.http_batch]
    open_claimed = sum(claimed[batch] for batch in open_batches)
    over_http = http_claimed + open_claimed
    waiting = {k: n for k, n in backlog.items() if n and k not in {"deliveries succeeded", HELD}}

    def within(ok: int, unseen: int) -> str:
        return f"{ok:,}" + (f" (+ at most {unseen:,} unanswered)" if unseen else "")

    harness.report_invariants(
        {
            f"audit(): {len(problems)} problems": not problems,
            f"claims {claims:,} = codes claimed in the batches {sum(claimed.values()):,}": (
                claims == sum(claimed.values())
            ),
            f"closed loop: codes claimed {http_claimed:,} = HTTP successes "
            f"{within(http_ok, in_flight[0])}": http_ok <= http_claimed <= http_ok + in_flight[0],
            f"open loop: codes claimed {open_claimed:,} = HTTP successes "
            f"{within(open_ok, in_flight[1])}": open_ok <= open_claimed <= open_ok + in_flight[1],
            f"pgbench: codes claimed {claimed[setup.pg_batch]:,} = transactions {pg_ok:,}": (
                claimed[setup.pg_batch] == pg_ok
            ),
            f"webhook deliveries sent {sent:,} = claims over HTTP {over_http:,}"
            f" (--webhooks {webhooks})": sent == (over_http if webhooks == "on" else 0),
            f"pgbench's deliveries (never sent) {pg_deliveries:,} = {pg_ok:,}"
            f" (--webhooks {webhooks})": pg_deliveries == (pg_ok if webhooks == "on" else 0),
            f"backlog empty at the end: {waiting or 'nothing waiting'}": not waiting,
        },
        problems,
    )


if __name__ == "__main__":
    raise SystemExit(main())
