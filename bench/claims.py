"""Claim throughput through the full stack beside pgbench running the same SQL transaction.

**Full stack**: gunicorn serving ``config.wsgi`` (``--workers 2``: the machine has 2 cores),
HTTP → bearer-token middleware → GraphQL (the ``ClaimCode`` operation of
``graphql/operations/consumer/``) → ``campaigns.scan.claims.claim_code`` → PostgreSQL, with
Redis for the rate limits (real: a dedicated Redis database, flushed at start and end).
wrk (``--clients`` connections, loopback only; gunicorn's sync workers close the
connection after each response, so it reconnects) claims distinct codes, spread
round-robin over ``--consumers`` consumers so that none exceeds the 120 claims a
minute a consumer may make. Each round is bounded by a count and a time
(``--max-seconds``).

**Baseline**: ``pgbench`` (same number of clients; extended query protocol, because the
claim's statements go through ``core.db.rows``' server-binding cursor, which sends the
parameters apart from the statement, unprepared) running
the statements the claim sends, in the same order and in one transaction, on a second
batch of the same campaign: merchant lookup; then in the transaction: code + batch +
campaign, the conditional ``UPDATE`` of the code, the reserve bucket and wallet
account lookups, the ledger transaction insert (``ON CONFLICT`` on the idempotency
key), the two conditional balance updates (``RETURNING`` the new balance), the two
entries, the lot, the claim.
The script prints Django's SQL of one claim, captured in-process, to compare. What
pgbench leaves out is what the stack adds: HTTP, the token check, the Redis rate
limits, GraphQL and the ORM (django-tenants sets the search path once per schema
change, ``TENANT_LIMIT_SET_CALLS``, as pgbench does once per transaction).

The two run in turns (``--rounds``), never at once, in one run on one database.

**Fixed references** (issue 17): ``../shared/peer/run.sh`` runs before our server starts and
after it stops (``--peer-seconds`` per line, 0 to skip): pgbench of the minimal claim
("raw"), a plain Django view and a naive graphene mutation on the same SQL. The script prints
our claims/s beside their medians: against our own pgbench line a heavy transaction looks
good; against these it cannot.

Run from the project root::

    uv run python bench/claims.py [--claims 6000] [--pgbench-claims 16000] [--rounds 2]
                                  [--clients 8] [--consumers 1000] [--worker-class sync]
                                  [--peer-seconds 10] [--profile DIR] [--keep]

``--profile DIR`` records the gunicorn workers with py-spy (``--gil``: on-CPU Python
only) during the last HTTP round and prints where their CPU goes.

Database: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/loyalty_bench_claims),
dropped and created at start, dropped at the end unless --keep. Redis: BENCH_REDIS_URL
(default redis://127.0.0.1:6379/14), flushed at start and end. Figures are printed,
never asserted (see docs/benchmarks.md). The machinery (database, gunicorn, load generator,
pgbench, CPU meters, table) is ``bench/harness.py``'s.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

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
    http_batch: int
    pg_batch: int
    codes: list[str]  # the HTTP batch's codes, by serial
    tokens: list[str]  # one access token per consumer
    first_consumer: int
    sql_of_one_claim: list[str]


def set_up(url: str, redis_url: str, args: argparse.Namespace) -> Setup:
    t0 = time.perf_counter()
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

    assert RESERVE_BUCKETS == BUCKETS, RESERVE_BUCKETS
    http_size = args.rounds * args.claims + WARMUP + 1
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
    consumers = harness.make_consumers(args.consumers)
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
        http_batch=http_batch.pk,
        pg_batch=pg_batch.pk,
        codes=codes[:-1],
        tokens=consumers.tokens,
        first_consumer=consumers.first_id,
        sql_of_one_claim=sql,
    )


# --- pgbench ------------------------------------------------------------------------------

PGBENCH_SCRIPT = r"""
-- One claim, as campaigns.scan.claims.claim_code sends it (see bench/claims.py).
-- Extended protocol: pgbench sends each variable as a parameter ($1, …) apart from the
-- statement, as core.db.rows' server-binding cursor does; so no variable sits inside a
-- quoted literal (it would not be replaced there).
\set cid :first_consumer + :i % :consumers
{find_merchant};
BEGIN;
SET search_path = "{schema}", public;
SELECT c.code AS code, c.batch_id AS batch, c.serial AS serial, c.claimed_by_id AS claimed_by,
       b.campaign_id AS campaign, b.points_per_code AS ppc, b.status AS batch_status,
       p.kind, p.name, p.description, p.image, p.starts_at, p.ends_at, p.status,
       p.max_claims_per_day, p.max_claims_per_consumer
  FROM campaigns_code c
  JOIN campaigns_codebatch b ON b.id = c.batch_id
  JOIN campaigns_campaign p ON p.id = b.campaign_id
 WHERE c.batch_id = :batch_id AND c.serial = :i \gset
UPDATE campaigns_code SET claimed_by_id = :cid, claimed_at = now()
 WHERE code = :code AND claimed_at IS NULL;
\set bucket :serial % {buckets}
SELECT id, kind, merchant_id, consumer_id, ref, balance, materialized, created_at
  FROM points_account
 WHERE kind = 'campaign_reserve' AND merchant_id = :merchant AND consumer_id IS NULL
   AND ref = 'batch:' || :batch_id || ':' || :bucket \gset bk_
SELECT id, kind, merchant_id, consumer_id, ref, balance, materialized, created_at
  FROM points_account
 WHERE kind = 'consumer_wallet' AND merchant_id IS NULL AND consumer_id = :cid
   AND ref = '' \gset wl_
INSERT INTO points_transaction (kind, idempotency_key, request_hash, merchant_id, consumer_id,
                                reverses_id, memo, metadata, created_at)
VALUES ('award', 'claim:' || :merchant || ':' || :code, md5(:code::text) || md5(:cid::text),
        :merchant, :cid, NULL, 'Bench caps',
        jsonb_build_object('code', :code::text, 'campaign', :campaign::int,
                           'batch', :batch_id::int), now())
ON CONFLICT (idempotency_key) DO NOTHING RETURNING id AS txn \gset
\set debit 0 - :ppc
UPDATE points_account SET balance = balance + :debit WHERE id = :bk_id AND balance + :debit >= 0
RETURNING balance;
UPDATE points_account SET balance = balance + :ppc WHERE id = :wl_id AND balance + :ppc >= 0
RETURNING balance;
INSERT INTO points_entry (transaction_id, account_id, amount, consumer_id, created_at)
VALUES (:txn, :bk_id, :debit, NULL, now()), (:txn, :wl_id, :ppc, :cid, now()) RETURNING id;
INSERT INTO points_lot (account_id, consumer_id, merchant_id, source_id, points, remaining,
                        earned_at, expires_at)
VALUES (:wl_id, :cid, :merchant, :txn, :ppc, :ppc, now(), now() + interval '365 days')
RETURNING id;
INSERT INTO campaigns_claim (code_id, campaign_id, batch_id, consumer_id, points,
                             transaction_id, idempotency_key, claimed_at)
VALUES (:code, :campaign, :batch_id, :cid, :ppc, :txn, 'pgbench-' || :code, now())
RETURNING id;
COMMIT;
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
    }


# --- The full stack -----------------------------------------------------------------------


def claim_bodies(setup: Setup, start: int, count: int) -> list[harness.Request]:
    """Claims ``start`` … ``start + count - 1``, each a distinct code, consumers round-robin."""
    run = uuid.uuid4().hex[:8]
    return harness.graphql_requests(
        OPERATION,
        (
            (
                {"code": setup.codes[j], "idempotencyKey": f"{run}-{j}"},
                setup.tokens[j % len(setup.tokens)],
            )
            for j in range(start, start + count)
        ),
    )


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
    harness.add_common_arguments(parser)
    args = parser.parse_args(argv)
    # 120 claims a minute per consumer: stay under it with room to spare.
    if args.consumers < 1 or args.clients < 1 or args.rounds < 1:
        parser.error("--consumers, --clients and --rounds must be at least 1")

    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS)
    started = time.perf_counter()
    load_at_start = harness.load_average()
    with harness.bench_resources(url, redis_url, keep=args.keep, prefix="bench-claims") as workdir:
        setup = set_up(url, redis_url, args)
        from django.db import connections

        connections.close_all()
        pgbench = harness.PgBench(
            url,
            PGBENCH_SCRIPT.format(
                schema=setup.schema, buckets=BUCKETS, find_merchant=harness.find_merchant_sql()
            ),
            workdir,
            protocol=PGBENCH_PROTOCOL,
        )
        defines = pgbench_defines(setup, args.consumers)
        # The references run while nothing of ours does: before our server and after it.
        peers = [harness.run_peer(args.peer_seconds)] if args.peer_seconds else []
        with harness.Server(url, redis_url, args, workdir / "gunicorn.log", CACHE_PREFIX) as server:
            # Warm-up: both systems, not counted (imports, prepared statements, caches).
            warm = harness.load(server, claim_bodies(setup, 0, WARMUP), args.clients, 60, JUDGE)
            print(f"warm-up {harness.describe(warm, 'claim')}", flush=True)
            pg_warm = pgbench.run(WARMUP, args.clients, defines)
            print(f"warm-up {harness.describe(pg_warm, 'claim')}", flush=True)

            stack: list[harness.Round] = []
            pg: list[harness.Round] = []
            used = WARMUP
            for number in range(1, args.rounds + 1):
                pg.append(pgbench.run(args.pgbench_claims, args.clients, defines))
                print(f"round {number} {harness.describe(pg[-1], 'claim')}", flush=True)
                work = claim_bodies(setup, used, args.claims)
                used += args.claims
                with harness.profiling(server, args.profile if number == args.rounds else None):
                    stack.append(harness.load(server, work, args.clients, args.max_seconds, JUDGE))
                print(f"round {number} {harness.describe(stack[-1], 'claim')}", flush=True)
        if args.peer_seconds:
            peers.append(harness.run_peer(args.peer_seconds))
        if args.profile:
            print(harness.summarise_profile(args.profile, PROFILE_PARTS), flush=True)

        http_ok = sum(r.count for r in [warm, *stack])
        pg_ok = sum(r.count for r in [pg_warm, *pg])
        check_invariants(setup, http_ok + 1, pg_ok)  # + 1: the claim of the SQL capture

    harness.print_sql("claim", setup.sql_of_one_claim)
    print(
        f"\ncommand: uv run python bench/claims.py --claims {args.claims} "
        f"--pgbench-claims {args.pgbench_claims} --rounds {args.rounds} "
        f"--clients {args.clients} --consumers {args.consumers} "
        f"--peer-seconds {args.peer_seconds} {harness.server_flags(args)}"
    )
    print(harness.machine_summary(started, load_at_start))
    print()
    harness.print_comparison(stack, pg, "claim", note=" (target ≥ 0.30)")
    if peers:
        harness.print_against_peer("claims", harness.median_rate(stack), peers)
    return 0


# Where the workers' CPU goes inside the claim (the request's parts are the harness's).
PROFILE_PARTS = harness.profile_parts(
    ("    claim_code (campaigns/scan/claims.py)", "claim_code (campaigns/scan/claims.py"),
    ("      rate limits in Redis (core/ratelimit.py)", "(core/ratelimit.py"),
    ("      the claim transaction (_claim)", "_claim (campaigns/scan/claims.py"),
    ("        ledger.post", "post (points/ledger.py"),
    ("        ledger account lookups (_account)", "_account (points/ledger.py"),
)


def check_invariants(setup: Setup, http_ok: int, pg_ok: int) -> None:
    from django_tenants.utils import schema_context

    from campaigns.models import Claim, Code
    from core.db import connection
    from points.audit import audit

    problems = audit()
    with schema_context(setup.schema):
        claims = Claim.objects.count()
        claimed_http = Code.objects.filter(
            batch_id=setup.http_batch, claimed_at__isnull=False
        ).count()
        claimed_pg = Code.objects.filter(batch_id=setup.pg_batch, claimed_at__isnull=False).count()
    connection.set_schema_to_public()
    print(
        f"\ninvariants: audit() problems: {len(problems)}; claims {claims:,} = "
        f"{http_ok:,} HTTP successes + {pg_ok:,} pgbench transactions: "
        f"{claims == http_ok + pg_ok}; codes claimed {claimed_http:,} (HTTP batch) = "
        f"{claimed_http == http_ok}, {claimed_pg:,} (pgbench batch) = {claimed_pg == pg_ok}"
    )
    for problem in problems[:10]:
        print("   ", problem)
    if problems or claims != http_ok + pg_ok or claimed_http != http_ok or claimed_pg != pg_ok:
        raise SystemExit("invariants FAILED")


if __name__ == "__main__":
    raise SystemExit(main())
