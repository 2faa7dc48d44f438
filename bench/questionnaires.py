"""Questionnaire submit throughput for one capped campaign: does the cap serialise submitters?

A questionnaire's cap is funded up front: activation reserves ``cap x points`` over 16
reserve accounts ("buckets", ``campaigns/reserves.py``, shared with scan batches) and a
submit takes its points from the consumer's own bucket (``consumer id % 16``), moving to
the next ones only when that one is empty. This script measures, in one run and on one
database:

1. **Throughput**: the ``SubmitResponse`` operation of ``graphql/operations/consumer/``
   through the full stack (gunicorn serving ``config.wsgi`` → bearer token → GraphQL →
   ``campaigns.questionnaires.services.submit`` → PostgreSQL), each request a distinct consumer
   answering the same capped campaign, beside pgbench running the same SQL transaction
   (captured from Django in-process and printed) in turns; the ratio is printed.
2. **Serialisation**: the SQL of a submit under pgbench at 1, 2, 4 and 8 clients, beside
   the same transaction with every submit taking from one reserve row (bucket 0: what
   a single cap counter would be) and beside the scan claim's SQL (``bench/claims.py``'s
   pgbench script: the same 16-bucket scheme). For each: throughput, latency and the
   share of active backends waiting for a lock, sampled from ``pg_stat_activity`` every
   50 ms (by wait event and the statement's table). The HTTP rounds are sampled too.
3. **The cap under concurrency**: a second questionnaire with a cap of ``--drain / 2``
   gets ``--drain`` submits through the full stack at once: exactly the cap is rewarded,
   every other submitter gets ``BUDGET_EXHAUSTED`` and the campaign ends itself.

The main campaign's cap is large enough for bucket 0 to carry every one-row submit:
it is never reached there (step 3 reaches a cap).

Run from the project root::

    uv run python bench/questionnaires.py [--submits 1500] [--pgbench-submits 4000]
        [--rounds 2] [--scaling 1,2,4,8] [--scaling-submits 800] [--drain 600]
        [--clients 8] [--http-clients 16] [--workers 2] [--worker-class sync]
        [--profile DIR] [--keep]

``--profile DIR`` records the gunicorn workers with py-spy (``--gil``) during the last
HTTP round and prints where their CPU goes.

Database: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/loyalty_bench_submit),
dropped and created at start, dropped at the end unless --keep. Redis: BENCH_REDIS_URL
(default redis://127.0.0.1:6379/12), flushed at start and end. Figures are printed, never
asserted (see docs/benchmarks.md); the machinery is ``bench/harness.py``'s.
"""

from __future__ import annotations

import argparse
import json
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
from claims import PGBENCH_PROTOCOL as CLAIM_PROTOCOL  # noqa: E402
from claims import PGBENCH_SCRIPT as CLAIM_SCRIPT  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/loyalty_bench_submit"
DEFAULT_REDIS = "redis://127.0.0.1:6379/12"
CACHE_PREFIX = "bench-submit"
POINTS = 10
BUCKETS = 16  # campaigns.reserves.RESERVE_BUCKETS (checked at set-up)
OPERATION = harness.ROOT / "graphql" / "operations" / "consumer" / "SubmitResponse.graphql"
WARMUP_HTTP = 200
WARMUP_PG = 400
DRAIN_SECONDS = 600
JUDGE = harness.PayloadJudge("response")
# The pgbench transactions of the serialisation runs.
CLAIM = "scan claim (16 buckets)"
AS_BUILT = "submit (16 buckets, as built)"
ONE_ROW = "submit, reserve on one row"
# Where the workers' CPU goes inside the submit (the request's parts are the harness's).
PROFILE_PARTS = harness.profile_parts(
    (
        "    submit_to (campaigns/questionnaires/services.py)",
        "submit_to (campaigns/questionnaires/services.py",
    ),
    (
        "      answers validated (validate_answers)",
        "validate_answers (campaigns/questionnaires/questions.py",
    ),
    ("      the reward from a bucket (_reward)", "_reward (campaigns/questionnaires/services.py"),
    ("        ledger.post", "post (points/ledger.py"),
    ("      ledger account lookups (_account)", "_account (points/ledger.py"),
    (
        "      the cap check after (_close_if_empty)",
        "_close_if_empty (campaigns/questionnaires/services.py",
    ),
)
QUESTIONS = [
    {
        "id": "visit",
        "type": "single_choice",
        "text": "How often do you shop with us?",
        "required": True,
        "options": [
            {"id": "weekly", "label": "Every week"},
            {"id": "monthly", "label": "Every month"},
            {"id": "rarely", "label": "Rarely"},
        ],
    },
    {"id": "stars", "type": "rating", "text": "How do you rate our store?", "required": True},
    {"id": "nps", "type": "nps", "text": "Would you recommend us?", "required": True},
    {"id": "why", "type": "short_text", "text": "Why?", "required": False},
]
ANSWERS = {"visit": "weekly", "stars": 4, "nps": 9, "why": "close to home"}


# --- Set-up (in this process, with Django) ------------------------------------------------


@dataclass
class Setup:
    schema: str
    merchant_id: int
    campaign_id: int
    questionnaire_id: int
    version_id: int
    cap: int
    link: str
    drain_campaign_id: int
    drain_link: str
    drain_cap: int
    claim_batch: int
    tokens: list[str]  # of the HTTP consumers, in id order
    first_pg_consumer: int
    first_pg_session: int
    pg_consumers: int
    sql_of_one_submit: list[str]


def pgbench_numbers(runs: list[tuple[int, int]]) -> int:
    """Numbers that runs of (transactions, clients) can use (harness.PgBench)."""
    return sum(total + clients for total, clients in runs)


def set_up(url: str, redis_url: str, args: argparse.Namespace) -> Setup:
    t0 = time.perf_counter()
    harness.start_django(url, redis_url, CACHE_PREFIX)

    from django_tenants.utils import tenant_context

    from accounts.tokens import Bearer
    from campaigns import reserves, services
    from campaigns.models import BatchStatus, CampaignStatus, Questionnaire
    from campaigns.questionnaires import services as questionnaires
    from campaigns.questionnaires.links import questionnaire_link
    from campaigns.scan import services as scan_services
    from core.db import connection
    from points.services import fund_with_money
    from tenants.onboarding import create_merchant

    assert reserves.RESERVE_BUCKETS == BUCKETS, reserves.RESERVE_BUCKETS
    http_consumers = max(WARMUP_HTTP + args.rounds * args.submits, args.drain)
    one_row = pgbench_numbers([(args.scaling_submits, c) for c in args.scaling])
    pg_consumers = one_row + pgbench_numbers(
        [(WARMUP_PG, args.clients)]
        + [(args.pgbench_submits, args.clients)] * args.rounds
        + [(args.scaling_submits, c) for c in args.scaling]
    )
    # Bucket 0 carries every one-row submit besides its 1/16 of the others.
    others = http_consumers + pg_consumers + 1
    cap = BUCKETS * (one_row + -(-others // BUCKETS) + BUCKETS)
    drain_cap = args.drain // 2
    claim_codes = pgbench_numbers(
        [(WARMUP_PG, args.clients)] + [(args.scaling_submits, c) for c in args.scaling]
    )

    merchant = create_merchant(slug="bench-submit", name="Bench Submit")
    fund_with_money(
        merchant,
        amount_minor=(cap + drain_cap + claim_codes) * POINTS,  # 100 points per yuan
        currency="CNY",
        rate="100",
        payment_reference="bench-submit",
    )
    with tenant_context(merchant):
        campaigns = []
        for name, limit in (("Bench survey", cap), ("Bench survey, drained", drain_cap)):
            campaign = questionnaires.create_questionnaire_campaign(
                name=name,
                questions=QUESTIONS,
                points_per_response=POINTS,
                max_rewarded_responses=limit,
            )
            services.set_status(merchant, campaign, CampaignStatus.ACTIVE)
            campaigns.append(campaign)
        campaign, drain = campaigns
        questionnaire = Questionnaire.objects.get(campaign=campaign)
        assert questionnaire.current_version_id is not None  # created with its first version
        scan = scan_services.create_scan_campaign(name="Bench scan")
        services.set_status(merchant, scan, CampaignStatus.ACTIVE)
        batch = scan_services.create_batch(merchant, scan, size=claim_codes, points_per_code=POINTS)
        batch.refresh_from_db()
        assert batch.status == BatchStatus.READY, batch.status
    connection.set_schema_to_public()
    # HTTP consumers first (with tokens), then pgbench's, then one for the SQL capture.
    consumers = harness.make_consumers(
        http_consumers + pg_consumers + 1, with_tokens=http_consumers, sharing_with=merchant.pk
    )
    # pgbench's consumers and the capture's are signed in too: the statement the mutation
    # sends for a bearer the server has not checked reads the session (tokens.gated,
    # decision 0344), and pgbench runs that statement.
    first_pg_session = harness.make_sessions(consumers.users[http_consumers:])
    link = questionnaire_link(merchant.pk, campaign.link_key)

    def submit_as_the_api_does() -> None:
        # A consumer's first request to a worker: its session checked by the function's
        # own call; the lazy user is never read.
        user = consumers.users[-1]
        bearer = Bearer(first_pg_session + pg_consumers, user.pk)
        questionnaires.submit_to(merchant.pk, user, campaign.pk, ANSWERS, "bench-sql", gate=bearer)

    sql = harness.captured_sql(submit_as_the_api_does)
    print(
        f"set-up: {time.perf_counter() - t0:.1f} s (migrate, merchant, questionnaires with caps "
        f"{cap:,} and {drain_cap:,}, {claim_codes:,} scan codes, "
        f"{len(consumers.users):,} consumers)",
        flush=True,
    )
    return Setup(
        schema=merchant.schema_name,
        merchant_id=merchant.pk,
        campaign_id=campaign.pk,
        questionnaire_id=questionnaire.pk,
        version_id=questionnaire.current_version_id,
        cap=cap,
        link=link,
        drain_campaign_id=drain.pk,
        drain_link=questionnaire_link(merchant.pk, drain.link_key),
        drain_cap=drain_cap,
        claim_batch=batch.pk,
        tokens=consumers.tokens,
        first_pg_consumer=consumers.first_id + http_consumers,
        first_pg_session=first_pg_session,
        pg_consumers=pg_consumers,
        sql_of_one_submit=sql,
    )


def in_process(setup: Setup, count: int) -> None:
    """``count`` submits posted as the front end posts them, each by a consumer whose token
    the server has not seen, through Django's WSGI application in this process (every
    middleware, the token check, the view), timed; then the audit."""
    from core.db import connection
    from points.audit import audit

    assert count <= len(setup.tokens), f"--in-process at most {len(setup.tokens):,}"
    post = harness.wsgi_poster()

    def submit(body: bytes, token: str) -> None:
        status, answer = post(body, token)
        assert status == "200 OK" and b'"errors":[]' in answer, answer

    requests = submit_bodies(setup, setup.link, 0, count)
    harness.time_in_process("submit", [lambda b=b, t=t: submit(b, t) for b, t in requests])
    connection.set_schema_to_public()
    problems = audit()
    print(f"audit() problems: {len(problems)}")
    if problems:
        raise SystemExit("invariants FAILED")


# --- pgbench ------------------------------------------------------------------------------

SUBMIT_SCRIPT = r"""
-- One submit, as the submitResponse mutation sends it (see bench/questionnaires.py):
-- campaigns.questionnaires.services.submit_to, one call of campaigns_submit_response
-- (campaigns/questionnaires/sql/, decision 0150) with the answers checked against the
-- version this process has seen answered. Extended protocol (core.db.rows binds on the
-- server): each variable is a parameter, so none sits inside a quoted literal, and no
-- literal holds a colon before a name (pgbench would take it for one).
-- one_row = 1: the comparison of the serialisation runs, every submit taking from bucket
-- 0 (a single cap row), in the statements the submit sent before the function (the
-- merchant, the submit's read and its bucket's lock are the app's text).
\set cid :first_consumer + :i
\if :one_row
\set bucket 0
SET search_path = public;
{find_merchant};
SET search_path = "{schema}", public;
-- The wallet's columns come last: \gset leaves its id in :id.
{read} \gset
\set wl_id :id
BEGIN;
{lock_bucket} \gset bk_
-- The posting: points_post (points/sql/points_post.sql), as ledger.post sends it.
\set debit 0 - :ppr
SELECT txn_id AS txn FROM public.points_post(
    'award', 'survey:' || '{schema}' || ':' || :campaign::text || ':' || :cid::text,
    md5(:cid::text) || md5(:bucket::text), :merchant, :cid, NULL, 'Bench survey',
    jsonb_build_object('campaign', :campaign::int), now(),
    ARRAY[:bk_id, :wl_id]::bigint[], ARRAY[:debit, :ppr]::bigint[], ARRAY[NULL, :cid]::bigint[],
    (CASE WHEN :bk_id::bigint < :wl_id::bigint THEN ARRAY[:bk_id, :wl_id]
          ELSE ARRAY[:wl_id, :bk_id] END)::bigint[],
    (CASE WHEN :bk_id::bigint < :wl_id::bigint THEN ARRAY[:debit, :ppr]
          ELSE ARRAY[:ppr, :debit] END)::bigint[],
    :wl_id, :cid, :ppr, now() + interval '365 days', NULL, NULL) \gset
INSERT INTO campaigns_response (campaign_id, version_id, consumer_id, answers, points,
                                transaction_id, idempotency_key, submitted_at)
VALUES (:campaign, :version, :cid, '{answers}'::jsonb, :ppr, :txn, 'pgbench-' || :cid::text, now())
RETURNING id;
COMMIT;
\else
-- Run only for the consumer's live session (accounts_session_ok, decision 0344: the first
-- request of a bearer the server has not checked).
\set session :first_session + :i
SELECT outcome FROM public.campaigns_submit_response(:merchant, :campaign, :cid,
    'pgbench-' || :cid::text, :version, '{answers}'::jsonb, now(), {buckets}, {consent})
    WHERE public.accounts_session_ok(:session, :cid, now(), false);
\endif
"""
SUBMIT_PROTOCOL = "extended"


def submit_script(setup: Setup) -> str:
    from campaigns.questionnaires import services

    read = harness.app_sql(
        services._READ_FOR_SUBMIT,
        [":cid", "'consumer_wallet'", ":cid", ":campaign", "'questionnaire'"],
    )
    lock_bucket = harness.app_sql(
        services._LOCK_BUCKET,
        [
            "'campaign_reserve'",
            ":merchant",
            "'survey:' || :questionnaire::text || ':' || :bucket::text",
            ":ppr",
        ],
    )
    return SUBMIT_SCRIPT.format(
        schema=setup.schema,
        buckets=BUCKETS,
        answers=json.dumps(ANSWERS),
        find_merchant=harness.find_merchant_sql(),
        read=read,
        lock_bucket=lock_bucket,
        consent=harness.consent_sql(),
    )


def submit_defines(setup: Setup, one_row: bool) -> dict[str, object]:
    return {
        "first_consumer": setup.first_pg_consumer,
        "first_session": setup.first_pg_session,
        "merchant": setup.merchant_id,
        "campaign": setup.campaign_id,
        "questionnaire": setup.questionnaire_id,
        "version": setup.version_id,
        "ppr": POINTS,
        "one_row": int(one_row),
    }


def claim_defines(setup: Setup) -> dict[str, object]:
    # Claims of the scan batch by pgbench's consumers (claims have no one-per-consumer rule).
    return {
        "first_consumer": setup.first_pg_consumer,
        "consumers": setup.pg_consumers,
        "merchant": setup.merchant_id,
        "batch_id": setup.claim_batch,
    }


# --- The full stack -----------------------------------------------------------------------


def submit_bodies(setup: Setup, link: str, start: int, count: int) -> list[harness.Request]:
    """Submits by HTTP consumers ``start`` … ``start + count - 1``, one each."""
    run = uuid.uuid4().hex[:8]
    answers = json.dumps(ANSWERS)
    return harness.graphql_requests(
        OPERATION,
        (
            (
                {"link": link, "answers": answers, "idempotencyKey": f"{run}-{j}"},
                setup.tokens[j],
            )
            for j in range(start, start + count)
        ),
    )


# --- Report -------------------------------------------------------------------------------


def scaling_table(runs: dict[str, list[harness.Round]]) -> str:
    lines = [
        "| SQL transaction (pgbench) | clients | per second | vs 1 client | p50 ms | p99 ms "
        "| lock waits | most waited for |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, rounds in runs.items():
        single = rounds[0].rate if rounds and rounds[0].clients == 1 else None
        for r in rounds:
            locks = r.locks or harness.LockWaits()
            top = ", ".join(
                f"{what} ({100 * n / max(1, locks.active):.1f}%)"
                for what, n in locks.waiting.most_common(1)
            )
            lines.append(
                f"| {name} | {r.clients} | {r.rate:,.0f} "
                f"| {f'{r.rate / single:.2f}' if single else '—'} "
                f"| {harness.percentile(r.latencies_ms, 50):.2f} "
                f"| {harness.percentile(r.latencies_ms, 99):.2f} "
                f"| {100 * locks.share:.1f}% | {top or '—'} |"
            )
    return "\n".join(lines)


# --- Main -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--submits", type=int, default=1_500, help="HTTP submits per round")
    parser.add_argument(
        "--pgbench-submits", type=int, default=4_000, help="pgbench submits per round"
    )
    parser.add_argument("--rounds", type=int, default=2, help="rounds of each, alternating")
    parser.add_argument(
        "--scaling",
        type=lambda text: [int(x) for x in text.split(",")],
        default=[1, 2, 4, 8],
        help="pgbench client counts for the serialisation runs",
    )
    parser.add_argument("--scaling-submits", type=int, default=800, help="per scaling run")
    parser.add_argument(
        "--drain", type=int, default=600, help="HTTP submits at a questionnaire capped at half"
    )
    harness.add_peer_argument(parser)
    harness.add_in_process_argument(parser)
    harness.add_common_arguments(parser)
    args = parser.parse_args(argv)
    if args.clients < 1 or args.rounds < 1 or min(args.scaling) < 1 or args.drain < 2:
        parser.error("--clients, --rounds and --scaling must be at least 1, --drain 2")

    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS)
    started = time.perf_counter()
    load_at_start = harness.load_average()
    with harness.bench_resources(url, redis_url, keep=args.keep, prefix="bench-submit") as workdir:
        setup = set_up(url, redis_url, args)
        if args.in_process:
            in_process(setup, args.in_process)
            return 0
        from django.db import connections

        connections.close_all()
        submits = harness.PgBench(
            url,
            submit_script(setup),
            workdir,
            "submit",
            per_statement=True,
            protocol=SUBMIT_PROTOCOL,
        )
        claims = harness.PgBench(
            url,
            CLAIM_SCRIPT.format(
                schema=setup.schema,
                buckets=BUCKETS,
                find_merchant=harness.find_merchant_sql(),
                consent=harness.consent_sql(),
            ),
            workdir,
            "claim",
            protocol=CLAIM_PROTOCOL,
        )
        own_bucket, one_row = submit_defines(setup, False), submit_defines(setup, True)

        def pg_round(
            bench: harness.PgBench, total: int, clients: int, defines: dict[str, object]
        ) -> harness.Round:
            return harness.sampled(url, lambda: bench.run(total, clients, defines))

        # The references run while nothing of ours does: before our server and after it.
        peers = [harness.run_peer(args.peer_seconds)] if args.peer_seconds else []
        with harness.Server(url, redis_url, args, workdir / "gunicorn.log", CACHE_PREFIX) as server:
            http = harness.HttpRounds(url, server, args.http_clients, args.max_seconds, JUDGE)

            # Warm-up: not counted (imports, caches, the first pages of the tables).
            warm = http.run(submit_bodies(setup, setup.link, 0, WARMUP_HTTP))
            print(f"warm-up {harness.describe(warm, 'submit')}", flush=True)
            pg_warm = submits.run(WARMUP_PG, args.clients, own_bucket)
            print(f"warm-up {harness.describe(pg_warm, 'submit')}", flush=True)
            claim_warm = claims.run(WARMUP_PG, args.clients, claim_defines(setup))
            print(f"warm-up {harness.describe(claim_warm, 'claim')}", flush=True)

            stack: list[harness.Round] = []
            accounts: list[dict[str, float]] = []  # the machine's CPU a submit, by part
            pg: list[harness.Round] = []
            used = WARMUP_HTTP
            for number in range(1, args.rounds + 1):
                pg.append(pg_round(submits, args.pgbench_submits, args.clients, own_bucket))
                print(f"round {number} {harness.describe(pg[-1], 'submit')}", flush=True)
                work = submit_bodies(setup, setup.link, used, args.submits)
                # pgbench's round just before left a checkpoint and autovacuum to do.
                settled = harness.settle_database()
                account = harness.machine_account(server, redis_url)
                with harness.profiling(server, args.profile if number == args.rounds else None):
                    stack.append(http.run(work))
                accounts.append(account.per(stack[-1].count))
                used += args.submits
                print(
                    f"round {number} {harness.describe(stack[-1], 'submit')}; "
                    f"{harness.describe_account(accounts[-1], 'submit')}; "
                    f"database settled before it in {settled:.1f} s",
                    flush=True,
                )

            variants = {
                CLAIM: (claims, claim_defines(setup)),
                AS_BUILT: (submits, own_bucket),
                ONE_ROW: (submits, one_row),
            }
            scaling: dict[str, list[harness.Round]] = {name: [] for name in variants}
            for clients in args.scaling:
                for name, (bench, defines) in variants.items():
                    scaling[name].append(pg_round(bench, args.scaling_submits, clients, defines))
                    print(f"{clients} clients, {name}: {harness.describe(scaling[name][-1], 'tx')}")

            drained = http.run(
                submit_bodies(setup, setup.drain_link, 0, args.drain),
                expected=frozenset({"BUDGET_EXHAUSTED"}),
                max_seconds=DRAIN_SECONDS,  # a cap half reached proves nothing
            )
            print(f"cap drain {harness.describe(drained, 'submit')}", flush=True)

        if args.peer_seconds:
            peers.append(harness.run_peer(args.peer_seconds))
        if args.profile:
            print(harness.summarise_profile(args.profile, PROFILE_PARTS), flush=True)
        http_ok = sum(r.count for r in [warm, *stack])
        pg_ok = sum(r.count for r in [pg_warm, *pg, *scaling[AS_BUILT], *scaling[ONE_ROW]])
        claim_ok = sum(r.count for r in [claim_warm, *scaling[CLAIM]])
        # + 1: the submit of the SQL capture.
        check_invariants(setup, http_ok + 1, pg_ok, claim_ok, drained)

    harness.print_sql("submit", setup.sql_of_one_submit)
    print(
        f"\ncommand: uv run python bench/questionnaires.py --submits {args.submits} "
        f"--pgbench-submits {args.pgbench_submits} --rounds {args.rounds} "
        f"--scaling {','.join(map(str, args.scaling))} --scaling-submits "
        f"{args.scaling_submits} --drain {args.drain} --clients {args.clients} "
        f"--http-clients {args.http_clients} "
        f"--peer-seconds {args.peer_seconds} {harness.server_flags(args)}"
    )
    print(harness.machine_summary(started, load_at_start))
    print()
    harness.print_comparison(stack, pg, "submit")
    print()
    print(scaling_table(scaling))
    most = {name: rounds[-1] for name, rounds in scaling.items()}
    print(
        f"\nslowest statements at {args.scaling[-1]} clients (pgbench, mean): 16 buckets: "
        f"{harness.slowest_statements([most[AS_BUILT]])}\n    one row: "
        f"{harness.slowest_statements([most[ONE_ROW]])}"
    )
    print(
        f"\nat {args.scaling[-1]} clients: submit / scan claim "
        f"{most[AS_BUILT].rate / most[CLAIM].rate:.2f}; one row / 16 buckets "
        f"{most[ONE_ROW].rate / most[AS_BUILT].rate:.2f}"
    )
    if peers:
        harness.print_against_peer(
            "submits", harness.median_rate(stack), peers, naive_target=1.5, raw_target=None
        )
    harness.print_machine_account(accounts, peers, "submit", 1.5)
    print(
        f"\ncap drain: {args.drain} submitters at a questionnaire capped at {setup.drain_cap}: "
        f"{drained.count} rewarded, refused {dict(drained.refused)}, failures "
        f"{dict(drained.failures) or 'none'}; {drained.seconds:.2f} s, p50 "
        f"{harness.percentile(drained.latencies_ms, 50):.1f} ms, p99 "
        f"{harness.percentile(drained.latencies_ms, 99):.1f} ms"
    )
    return 0


def check_invariants(
    setup: Setup, http_ok: int, pg_ok: int, claim_ok: int, drained: harness.Round
) -> None:
    from django_tenants.utils import schema_context

    from campaigns import reserves
    from campaigns.models import Campaign, CampaignStatus, Claim, Questionnaire, Response
    from core.db import connection
    from points.audit import audit
    from tenants.models import Merchant

    problems = audit()
    merchant = Merchant.objects.get(pk=setup.merchant_id)
    with schema_context(setup.schema):
        responses = Response.objects.filter(campaign_id=setup.campaign_id).count()
        submitters = (
            Response.objects.filter(campaign_id=setup.campaign_id)
            .values("consumer_id")
            .distinct()
            .count()
        )
        questionnaire = Questionnaire.objects.get(pk=setup.questionnaire_id)
        left = reserves.left(merchant, questionnaire.reserve_ref, setup.cap)
        drain_q = Questionnaire.objects.get(campaign_id=setup.drain_campaign_id)
        drain_responses = Response.objects.filter(campaign_id=setup.drain_campaign_id).count()
        drain_left = reserves.left(merchant, drain_q.reserve_ref, setup.drain_cap)
        drain_status = Campaign.objects.get(pk=setup.drain_campaign_id).status
        claims = Claim.objects.filter(batch_id=setup.claim_batch).count()
    connection.set_schema_to_public()
    exhausted = drained.refused["BUDGET_EXHAUSTED"]
    answered = len(drained.latencies_ms)
    checks = {
        f"audit() problems: {len(problems)}": not problems,
        f"responses {responses:,} = {http_ok:,} HTTP + {pg_ok:,} pgbench": (
            responses == http_ok + pg_ok
        ),
        f"one per consumer ({submitters:,} consumers)": submitters == responses,
        f"reserve left {left:,} = (cap - responses) x points": (
            left == (setup.cap - responses) * POINTS
        ),
        f"scan claims {claims:,} = {claim_ok:,} pgbench transactions": claims == claim_ok,
        f"capped questionnaire: {drain_responses} rewarded = cap {setup.drain_cap} "
        f"= HTTP successes {drained.count}": drain_responses == setup.drain_cap == drained.count,
        f"its reserve left {drain_left}, status {drain_status}, "
        f"closed at the cap: {drain_q.exhausted_at is not None}": (
            drain_left == 0
            and drain_status == CampaignStatus.ENDED
            and drain_q.exhausted_at is not None
        ),
        f"BUDGET_EXHAUSTED {exhausted} = the other {answered - setup.drain_cap} answers": (
            exhausted == answered - setup.drain_cap
        ),
    }
    harness.report_invariants(checks, problems)


if __name__ == "__main__":
    raise SystemExit(main())
