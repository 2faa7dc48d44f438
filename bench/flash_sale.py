"""Flash-sale throughput through the full stack beside pgbench running the same SQL transaction.

A flash sale: many consumers redeem one product with limited stock at once, at most
one each (``per_consumer_limit`` = 1, the usual rule), paying with points earned from a
merchant. Every redeem ends by taking the stock from the one product row
(``UPDATE … SET stock = stock - 1 WHERE stock >= 1``), which it then holds until its
commit: the one row every buyer needs.

**Full stack**: gunicorn serving ``config.wsgi`` → bearer token → GraphQL (the ``Redeem``
operation of ``graphql/operations/consumer/``) → ``redemption.services.redeem`` →
PostgreSQL; ``--http-clients`` connections (16, as the references' wrk), each request a
distinct consumer with a delivery address. **Baseline**: pgbench running the statements
the redeem sends (captured from Django in-process and printed), in the same order and
one transaction, on the same product, with ``--clients`` clients (8, as the raw
reference's pgbench): previous order by key; product; address;
then in the transaction: the per-consumer advisory lock and the count of earlier
orders, the wallet and mall accounts, two savepoints around the ledger transaction,
the wallet's conditional debit, the two entries, the lot taken (a cursor ``FOR
UPDATE``) and its debit row, the order, the stock; after the commit the new balance
as the mutation reads it. The two run in turns (``--rounds``), never at once, while
the stock lasts; lock waits are sampled from ``pg_stat_activity`` during each round.

**What the one row costs**: in each round pgbench also runs the same transaction with
the same clients, each on a product of its own (``--clients`` more products): no row
shared between buyers. The ratio of the two pgbench rates is the price of selling one
product's stock from one row.

**Sell-out**: then ``--sellout`` more consumers (and any a round did not reach before
``--max-seconds``) redeem at once through the full stack while a quarter of
``--sellout`` is left in stock (and the units the unreached ones would have bought):
the stock must run out exactly, every other buyer getting ``OUT_OF_STOCK``.

Invariants after the run: orders = HTTP successes + pgbench transactions; stock sold =
units ordered, product by product;
no negative stock or wallet; at most one order per consumer; every buyer's wallet
paid exactly the price; ``points.audit.audit()`` finds no problem.

Run from the project root::

    uv run python bench/flash_sale.py [--redeems 1200] [--pgbench-redeems 4000]
        [--rounds 2] [--sellout 800] [--clients 8] [--http-clients 16] [--workers 2]
        [--profile DIR] [--keep]

``--profile DIR`` records the gunicorn workers with py-spy (``--gil``) during the last
HTTP round and prints where their CPU goes.

Database: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/loyalty_bench_flash),
dropped and created at start, dropped at the end unless --keep. Redis: BENCH_REDIS_URL
(default redis://127.0.0.1:6379/13), flushed at start and end. Figures are printed,
never asserted (see docs/benchmarks.md); the machinery is ``bench/harness.py``'s.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import harness  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/loyalty_bench_flash"
DEFAULT_REDIS = "redis://127.0.0.1:6379/13"
CACHE_PREFIX = "bench-flash"
PRICE = 100
TITLE = "限时抢购 蓝牙耳机 Flash sale earphones"
OPERATION = harness.ROOT / "graphql" / "operations" / "consumer" / "Redeem.graphql"
WARMUP_HTTP = 200
WARMUP_PG = 400
SELLOUT_SECONDS = 600
FUNDING_CHUNK = 1_000  # wallets credited per ledger transaction at set-up
JUDGE = harness.PayloadJudge("order")
# Where the workers' CPU goes inside the redeem (the request's parts are the harness's).
PROFILE_PARTS = harness.profile_parts(
    ("    redeem (redemption/services.py)", "redeem (redemption/services.py"),
    ("      its answer worded (_answer)", "_answer (redemption/services.py"),
)
ADDRESS = {
    "recipient": "王小明",
    "phone": "13800138000",
    "region": "上海市 浦东新区",
    "street": "世纪大道 100 号 8 楼",
    "postal_code": "200120",
}


# --- Set-up (in this process, with Django) ------------------------------------------------


@dataclass
class Setup:
    product_id: int
    product_gid: str
    stock: int
    first_spread_product: int  # one product per pgbench client, consecutive ids
    spread_products: int
    spread_stock: int
    consumers: int
    http_consumers: int
    tokens: list[str]
    address_gids: list[str]  # of the HTTP consumers
    first_pg_consumer: int
    first_pg_session: int  # the pgbench consumers' sessions, consecutive ids
    first_pg_address: int
    mall_account: int
    sql_of_one_redeem: list[str]


def pgbench_transactions(total: int, clients: int) -> int:
    return max(1, total // clients) * clients  # what harness.PgBench runs


def set_up(url: str, redis_url: str, args: argparse.Namespace) -> Setup:
    t0 = time.perf_counter()
    harness.start_django(url, redis_url, CACHE_PREFIX)

    from datetime import timedelta

    from django.db import transaction
    from django.utils import timezone
    from graphql_relay import to_global_id

    from accounts.tokens import Bearer
    from core.db import connection
    from points import ledger
    from points.ledger import Posting
    from points.models import Account, AccountKind, Lot, Transaction, TransactionKind
    from points.services import fund_with_money
    from redemption import services as mall
    from redemption.models import Address, Category, Product, ProductKind, ProductStatus
    from tenants.onboarding import create_merchant

    http_consumers = WARMUP_HTTP + args.rounds * args.redeems + args.sellout
    pg_runs = [(WARMUP_PG, args.clients)] + [(args.pgbench_redeems, args.clients)] * args.rounds
    spread_runs = [(args.pgbench_redeems, args.clients)] * args.rounds
    # Numbers pgbench may use (harness.PgBench).
    pg_consumers = sum(total + clients for total, clients in [*pg_runs, *spread_runs])
    consumers = harness.make_consumers(
        http_consumers + pg_consumers + 1, with_tokens=http_consumers
    )
    count = len(consumers.users)
    # pgbench's consumers and the capture's buyer are signed in too: the statement the
    # mutation sends for a bearer the server has not checked reads the session
    # (tokens.gated, decision 0343), and pgbench runs that statement.
    first_pg_session = harness.make_sessions(consumers.users[http_consumers:])

    # Every consumer earned the price of one unit from a merchant's campaign.
    merchant = create_merchant(slug="bench-flash", name="Bench Flash")
    fund_with_money(
        merchant,
        amount_minor=count * PRICE,  # 100 points per yuan
        currency="CNY",
        rate="100",
        payment_reference="bench-flash",
    )
    budget = ledger.merchant_budget(merchant.pk)
    expires = timezone.now() + timedelta(days=365)
    wallets = {a.consumer_id: a for a in Account.objects.filter(kind=AccountKind.CONSUMER_WALLET)}
    lots: list[Lot] = []

    def open_lot_later(txn: Transaction, wallet: Account, points: int) -> None:
        # The lot ledger.post would open, inserted with the others of its chunk.
        assert wallet.consumer_id is not None  # a wallet names its consumer
        lots.append(
            Lot(
                account=wallet,
                consumer_id=wallet.consumer_id,
                merchant_id=merchant.pk,
                source=txn,
                points=points,
                remaining=points,
                earned_at=txn.created_at,
                expires_at=expires,
            )
        )

    for start in range(0, count, FUNDING_CHUNK):
        chunk = consumers.users[start : start + FUNDING_CHUNK]
        with transaction.atomic():
            ledger.post(
                TransactionKind.AWARD,
                f"bench-flash-award:{start}",
                [Posting(budget, -len(chunk) * PRICE)]
                + [Posting(wallets[user.pk], PRICE) for user in chunk],
                merchant_id=merchant.pk,
                memo="Bench flash: points earned",
                wallet_hook=open_lot_later,
            )
            Lot.objects.bulk_create(lots)
        lots.clear()
    with transaction.atomic():
        addresses = Address.objects.bulk_create(
            Address(consumer=user, **ADDRESS) for user in consumers.users
        )
    address_ids = sorted(a.pk for a in addresses)
    assert address_ids == list(range(address_ids[0], address_ids[0] + count)), "addresses"

    # The stock: everything the rounds may sell, the capture's unit, and a quarter of the
    # sell-out's buyers.
    stock = (
        WARMUP_HTTP
        + args.rounds * args.redeems
        + sum(pgbench_transactions(total, clients) for total, clients in pg_runs)
        + 1
        + args.sellout // 4
    )
    category = Category.objects.create(slug="flash", name="限时抢购 Flash sales")
    product = mall.save_product(
        Product(
            title=TITLE,
            category=category,
            kind=ProductKind.PHYSICAL,
            points_price=PRICE,
            stock=stock,
            per_consumer_limit=1,
            status=ProductStatus.LISTED,
        )
    )
    # One product per pgbench client, each with what that client will redeem and a margin.
    spread_stock = 2 * sum(pgbench_transactions(*run) for run in spread_runs) // args.clients
    spread = [
        mall.save_product(
            Product(
                title=f"{TITLE} {n}",
                category=category,
                kind=ProductKind.PHYSICAL,
                points_price=PRICE,
                stock=spread_stock,
                per_consumer_limit=1,
                status=ProductStatus.LISTED,
            )
        ).pk
        for n in range(args.clients)
    ]
    assert spread == list(range(spread[0], spread[0] + args.clients)), "product ids"
    buyer = consumers.users[-1]
    # The mall's account exists from the first redeem on: not part of a redeem's SQL.
    mall_account = ledger.platform_account(AccountKind.MALL).pk

    def redeem_as_the_api_does() -> None:
        # A buyer's first request to a worker: its session checked by the redeem's own
        # statement (decision 0343). The mutation's balance comes with the redeem.
        bearer = Bearer(first_pg_session + count - 1 - http_consumers, buyer.pk)
        mall.redeem(
            buyer,
            product.pk,
            1,
            idempotency_key="bench-sql",
            address_id=address_ids[-1],
            gate=bearer,
        )

    sql = harness.captured_sql(redeem_as_the_api_does)
    connection.set_schema_to_public()
    print(
        f"set-up: {time.perf_counter() - t0:.1f} s (migrate, {count:,} consumers with "
        f"{PRICE} points and an address each, one product with {stock:,} in stock)",
        flush=True,
    )
    return Setup(
        product_id=product.pk,
        product_gid=to_global_id("Product", product.pk),
        stock=stock,
        first_spread_product=spread[0],
        spread_products=len(spread),
        spread_stock=spread_stock,
        consumers=count,
        http_consumers=http_consumers,
        tokens=consumers.tokens,
        address_gids=[to_global_id("Address", pk) for pk in address_ids[:http_consumers]],
        first_pg_consumer=consumers.first_id + http_consumers,
        first_pg_session=first_pg_session,
        first_pg_address=address_ids[http_consumers],
        mall_account=mall_account,
        sql_of_one_redeem=sql,
    )


def in_process(setup: Setup, count: int) -> None:
    """``count`` redeems posted as the front end posts them, each by a consumer whose token
    the server has not seen (a flash sale's buyer), through Django's WSGI application in
    this process (every middleware, the token check, the view), timed; then the audit and
    the stock."""
    from points.audit import audit
    from redemption.models import Product

    assert count <= setup.http_consumers, f"--in-process at most {setup.http_consumers:,}"
    stock = Product.objects.get(pk=setup.product_id).stock
    post = harness.wsgi_poster()

    def redeem(body: bytes, token: str) -> None:
        status, answer = post(body, token)
        assert status == "200 OK" and b'"errors":[]' in answer, answer

    requests = redeem_bodies(setup, range(count))
    harness.time_in_process("redeem", [lambda b=b, t=t: redeem(b, t) for b, t in requests])
    problems = audit()
    sold = stock - Product.objects.get(pk=setup.product_id).stock
    print(f"audit() problems: {len(problems)}; stock sold {sold:,} = redeems: {sold == count}")
    if problems or sold != count:
        raise SystemExit("invariants FAILED")


# --- pgbench ------------------------------------------------------------------------------

PGBENCH_SCRIPT = r"""
-- One redeem, as the redeem mutation sends it (see bench/flash_sale.py): one call of
-- redemption_redeem (redemption/sql/, decision 0151), in autocommit, run only for the
-- buyer's live session (accounts_session_ok, decision 0343: the first request of a
-- bearer the server has not checked, every buyer of a flash sale). Extended protocol
-- (core.db.rows binds on the server): each variable is a parameter, so none sits inside a
-- quoted literal, and no literal holds a colon before a name (pgbench would take it for one).
-- products = 1: the flash sale's product; else one product per client.
\set product :first_product + :client_id % :products
\set cid :first_consumer + :i
\set addr :first_address + :i
\set session :first_session + :i
-- Any answer but 'redeemed' (sold out), or a refused session: no row, \gset fails and
-- pgbench aborts the client.
SELECT balance FROM public.redemption_redeem(:cid, :product, 1, :addr, 'pgbench-' || :i::text,
    now()) WHERE outcome = 'redeemed'
    AND public.accounts_session_ok(:session, :cid, now(), true) \gset
"""
PGBENCH_PROTOCOL = "extended"


def pgbench_script() -> str:
    return PGBENCH_SCRIPT


def pgbench_defines(setup: Setup, clients: int | None = None) -> dict[str, object]:
    """The flash sale's product, or with ``clients`` one product per client."""
    return {
        "first_consumer": setup.first_pg_consumer,
        "first_address": setup.first_pg_address,
        "first_session": setup.first_pg_session,
        "first_product": setup.first_spread_product if clients else setup.product_id,
        "products": clients or 1,
        "price": PRICE,
        "mall": setup.mall_account,
    }


# --- The full stack -----------------------------------------------------------------------


def redeem_bodies(setup: Setup, buyers: Iterable[int]) -> list[harness.Request]:
    """One redeem by each of these HTTP consumers (indexes into the tokens)."""
    run = uuid.uuid4().hex[:8]
    return harness.graphql_requests(
        OPERATION,
        (
            (
                {
                    "productId": setup.product_gid,
                    "quantity": 1,
                    "addressId": setup.address_gids[j],
                    "idempotencyKey": f"{run}-{j}",
                },
                setup.tokens[j],
            )
            for j in buyers
        ),
    )


# --- Main -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--redeems", type=int, default=1_200, help="HTTP redeems per round")
    parser.add_argument(
        "--pgbench-redeems", type=int, default=4_000, help="pgbench redeems per round"
    )
    parser.add_argument("--rounds", type=int, default=2, help="rounds of each, alternating")
    parser.add_argument(
        "--sellout", type=int, default=800, help="HTTP buyers at the end, for 1/4 as many units"
    )
    parser.add_argument(
        "--bursts",
        type=lambda text: [int(n) for n in text.split(",")],
        help="instead of the rounds: flash sales of these many buyers (e.g. 50,500), each "
        "arriving within one second on a connection of its own, for a fifth as many units",
    )
    harness.add_peer_argument(parser)
    harness.add_in_process_argument(parser)
    harness.add_common_arguments(parser)
    args = parser.parse_args(argv)
    if args.bursts:
        return bursts(args)
    if args.clients < 1 or args.rounds < 1 or args.sellout < 4:
        parser.error("--clients and --rounds must be at least 1, --sellout at least 4")

    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS)
    started = time.perf_counter()
    load_at_start = harness.load_average()
    with harness.bench_resources(url, redis_url, keep=args.keep, prefix="bench-flash") as workdir:
        setup = set_up(url, redis_url, args)
        if args.in_process:
            in_process(setup, args.in_process)
            return 0
        from django.db import connections

        connections.close_all()
        pgbench = harness.PgBench(
            url,
            pgbench_script(),
            workdir,
            "redeem",
            per_statement=True,
            protocol=PGBENCH_PROTOCOL,
        )
        defines = pgbench_defines(setup)
        # The references run while nothing of ours does: before our server and after it.
        peers = [harness.run_peer(args.peer_seconds)] if args.peer_seconds else []
        with harness.Server(url, redis_url, args, workdir / "gunicorn.log", CACHE_PREFIX) as server:
            http = harness.HttpRounds(url, server, args.http_clients, args.max_seconds, JUDGE)

            # Warm-up: not counted (imports, caches, the first pages of the tables).
            warm = http.run(redeem_bodies(setup, range(WARMUP_HTTP)))
            print(f"warm-up {harness.describe(warm, 'redeem')}", flush=True)
            pg_warm = pgbench.run(WARMUP_PG, args.clients, defines)
            print(f"warm-up {harness.describe(pg_warm, 'redeem')}", flush=True)

            stack: list[harness.Round] = []
            accounts: list[dict[str, float]] = []  # the machine's CPU a redeem, by part
            pg: list[harness.Round] = []
            spread: list[harness.Round] = []  # the same transaction, no row shared between buyers
            used = WARMUP_HTTP
            for number in range(1, args.rounds + 1):
                pg.append(
                    harness.sampled(
                        url, lambda: pgbench.run(args.pgbench_redeems, args.clients, defines)
                    )
                )
                print(f"round {number} {harness.describe(pg[-1], 'redeem')}", flush=True)
                spread.append(
                    harness.sampled(
                        url,
                        lambda: pgbench.run(
                            args.pgbench_redeems,
                            args.clients,
                            pgbench_defines(setup, args.clients),
                            system="pgbench, one product per client",
                        ),
                    )
                )
                print(f"round {number} {harness.describe(spread[-1], 'redeem')}", flush=True)
                # The pgbench rounds just before left a checkpoint and autovacuum to do.
                settled = harness.settle_database()
                account = harness.machine_account(server, redis_url)
                with harness.profiling(server, args.profile if number == args.rounds else None):
                    stack.append(http.run(redeem_bodies(setup, range(used, used + args.redeems))))
                accounts.append(account.per(stack[-1].count))
                used += args.redeems
                print(
                    f"round {number} {harness.describe(stack[-1], 'redeem')}; "
                    f"{harness.describe_account(accounts[-1], 'redeem')}; "
                    f"database settled before it in {settled:.1f} s",
                    flush=True,
                )

            # Every HTTP consumer still without an order buys at once: the --sellout ones and
            # any a round left out (stopped at --max-seconds), whose units are left too.
            left_before, buyers = unserved(setup)
            sellout = http.run(
                redeem_bodies(setup, buyers),
                expected=frozenset({"OUT_OF_STOCK"}),
                max_seconds=SELLOUT_SECONDS,  # a sale stopped half way proves nothing
            )
            print(f"sell-out {harness.describe(sellout, 'redeem')}", flush=True)

        if args.peer_seconds:
            peers.append(harness.run_peer(args.peer_seconds))
        if args.profile:
            print(harness.summarise_profile(args.profile, PROFILE_PARTS), flush=True)
        http_ok = sum(r.count for r in [warm, *stack, sellout])
        pg_ok = sum(r.count for r in [pg_warm, *pg])
        spread_ok = sum(r.count for r in spread)
        # + 1: the redeem of the SQL capture.
        check_invariants(setup, http_ok + 1, pg_ok, spread_ok, left_before, sellout)

    harness.print_sql("redeem", setup.sql_of_one_redeem)
    print(
        f"\ncommand: uv run python bench/flash_sale.py --redeems {args.redeems} "
        f"--pgbench-redeems {args.pgbench_redeems} --rounds {args.rounds} "
        f"--sellout {args.sellout} --clients {args.clients} --http-clients {args.http_clients} "
        f"--peer-seconds {args.peer_seconds} {harness.server_flags(args)}"
    )
    print(harness.machine_summary(started, load_at_start))
    print()
    harness.print_comparison(
        stack,
        pg,
        "redeem",
        more=[("pgbench, same SQL, one product per client (no shared row)", spread)],
    )
    print(
        f"\nthe one product row: pgbench on one product / one product per client (medians): "
        f"{harness.median_rate(pg) / harness.median_rate(spread):.2f}"
    )
    print(f"slowest statements (pgbench, mean): one product: {harness.slowest_statements(pg)}")
    print(f"    one product per client: {harness.slowest_statements(spread)}")
    answered = sellout.count + sum(sellout.refused.values())
    print(
        f"\nsell-out: {len(sellout.latencies_ms):,} buyers for {left_before:,} units left: "
        f"{sellout.count:,} orders, refused {dict(sellout.refused)}, failures "
        f"{dict(sellout.failures) or 'none'}; {answered / sellout.seconds:,.0f} answers/s, "
        f"p50 {harness.percentile(sellout.latencies_ms, 50):.1f} ms, "
        f"p99 {harness.percentile(sellout.latencies_ms, 99):.1f} ms"
    )
    if peers:
        harness.print_against_peer(
            "redeems", harness.median_rate(stack), peers, naive_target=1.5, raw_target=None
        )
    harness.print_machine_account(accounts, peers, "redeem", 1.5)
    return 0


# --- Bursts ---------------------------------------------------------------------------------

BURST_SPREAD_SECONDS = 1.0
BURST_WARMUP = 160  # buyers before the bursts, so every thread has served (set-up made 200 spare)
BURST_RETRIES = 5  # a buyer refused with 503 comes back after Retry-After, this many times


def _burst_outcome(answer: harness.Answer) -> str:
    """``order``, ``OUT_OF_STOCK``, ``503`` (with Retry-After) or what went wrong."""
    if answer.status == 0:
        return f"no answer ({answer.error})"
    if answer.status == 503:
        return "503" if answer.retry_after else "503 without Retry-After"
    if answer.status == 200 and '"order":{' in answer.body and '"code":' not in answer.body:
        return "order"
    if answer.status == 200 and '"OUT_OF_STOCK"' in answer.body:
        return "OUT_OF_STOCK"
    return f"HTTP {answer.status} {answer.body[:120]}"


def bursts(args: argparse.Namespace) -> int:
    """Flash sales of ``args.bursts`` buyers each, every buyer arriving within one second on
    a TCP connection of its own, for a fifth as many units (500 buyers, 100 units: the
    issue's sale). Buyers refused with 503 retry with the same key after ``Retry-After``.
    Prints, per burst: the answers, p50/p99 of the first attempt, resets, what the retries
    did, and the server's PostgreSQL connections at their peak and afterwards."""
    from django.db import connections

    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS)
    started = time.perf_counter()
    load_at_start = harness.load_average()
    sizes = list(args.bursts)
    lines: list[str] = []
    with harness.bench_resources(url, redis_url, keep=args.keep, prefix="bench-flash") as _work:
        sized = argparse.Namespace(**{**vars(args), "rounds": 0, "redeems": 0})
        sized.sellout = sum(sizes)
        setup = set_up(url, redis_url, sized)
        from redemption.models import Order, Product

        connections.close_all()
        threaded = args.worker_class in {"gthread", "production"}
        pool = args.workers * (args.threads if threaded else 1)  # one connection per thread
        with harness.Server(url, redis_url, args, _work / "gunicorn.log", CACHE_PREFIX) as server:
            # Warm-up, not counted: the workers' first requests load the schema and fill
            # the validation cache (seconds on a cold worker).
            warm = redeem_bodies(setup, range(BURST_WARMUP))
            harness.burst(
                server.port,
                [harness.http_post(server.port, "/graphql/", b, t) for b, t in warm],
                BURST_SPREAD_SECONDS,
            )
            first = BURST_WARMUP
            for size in sizes:
                units = max(1, size // 5)
                Product.objects.filter(pk=setup.product_id).update(stock=units)
                orders_before = Order.objects.filter(product_id=setup.product_id).count()
                connections.close_all()
                buyers = redeem_bodies(setup, range(first, first + size))
                first += size
                requests = [
                    harness.http_post(server.port, "/graphql/", body, token)
                    for body, token in buyers
                ]
                peak = [0]
                stop = threading.Event()

                def sample(peak: list[int] = peak, stop: threading.Event = stop) -> None:
                    while not stop.is_set():
                        peak[0] = max(peak[0], harness.connections_of(url))
                        stop.wait(0.05)

                sampler = threading.Thread(target=sample)
                sampler.start()
                t0 = time.monotonic()
                answers = harness.burst(server.port, requests, BURST_SPREAD_SECONDS)
                took = time.monotonic() - t0
                stop.set()
                sampler.join()
                outcomes = Counter(_burst_outcome(a) for a in answers)
                latencies = [a.seconds * 1000 for a in answers if a.status]
                # Refused buyers come back after Retry-After with the same request (same key).
                pending = [r for r, a in zip(requests, answers, strict=True) if a.status == 503]
                retried = Counter[str]()
                for _ in range(BURST_RETRIES):
                    if not pending:
                        break
                    time.sleep(max(int(a.retry_after or 1) for a in answers if a.status == 503))
                    again = harness.burst(server.port, pending, BURST_SPREAD_SECONDS)
                    retried.update(_burst_outcome(a) for a in again)
                    pending = [r for r, a in zip(pending, again, strict=True) if a.status == 503]
                time.sleep(1)
                held = harness.connections_of(url)
                made = Order.objects.filter(product_id=setup.product_id).count() - orders_before
                left = Product.objects.values_list("stock", flat=True).get(pk=setup.product_id)
                connections.close_all()
                resets = sum(n for o, n in outcomes.items() if o.startswith("no answer"))
                lines.append(
                    f"{size} buyers in {BURST_SPREAD_SECONDS:.0f} s for {units} units: "
                    f"{dict(outcomes)}; all answered in {took:.1f} s; p50 "
                    f"{harness.percentile(latencies, 50):.0f} ms, p99 "
                    f"{harness.percentile(latencies, 99):.0f} ms; resets/no answer {resets}; "
                    f"retries after Retry-After {dict(retried) or 'none needed'}, still "
                    f"refused {len(pending)}; orders {made}, stock left {left}; PostgreSQL "
                    f"connections peak {peak[0]}, after {held} (pool {pool})"
                )
                print(lines[-1], flush=True)
                assert made == units and left == 0, (made, left)
        from points.audit import audit

        problems = audit()
        connections.close_all()
    print(
        f"\ncommand: uv run python bench/flash_sale.py --bursts {','.join(map(str, sizes))} "
        f"{harness.server_flags(args)}"
    )
    print(harness.machine_summary(started, load_at_start))
    print(f"audit() problems: {len(problems)}")
    print("\n".join(lines))
    return 1 if problems else 0


def unserved(setup: Setup) -> tuple[int, list[int]]:
    """The flash sale's stock left, and the HTTP consumers (indexes) with no order yet."""
    from django.db import connections

    from redemption.models import Order, Product

    left = Product.objects.values_list("stock", flat=True).get(pk=setup.product_id)
    first = setup.first_pg_consumer - setup.http_consumers  # the first HTTP consumer's id
    served = set(
        Order.objects.filter(
            consumer_id__gte=first, consumer_id__lt=setup.first_pg_consumer
        ).values_list("consumer_id", flat=True)
    )
    connections.close_all()  # no idle connection of ours during the rounds
    return left, [j for j in range(setup.http_consumers) if first + j not in served]


def check_invariants(
    setup: Setup, http_ok: int, pg_ok: int, spread_ok: int, left_before: int, sellout: harness.Round
) -> None:
    from django.db.models import Count, Max, Min, Sum

    from points.audit import audit
    from points.models import Account, AccountKind
    from redemption.models import Order, Product

    problems = audit()
    at_start = {setup.product_id: setup.stock} | {
        setup.first_spread_product + n: setup.spread_stock for n in range(setup.spread_products)
    }
    stock = dict(Product.objects.filter(pk__in=at_start).values_list("pk", "stock"))
    ordered = dict(
        Order.objects.filter(product_id__in=at_start)
        .values("product_id")
        .annotate(units=Sum("quantity"))
        .values_list("product_id", "units")
    )
    orders = Order.objects.aggregate(n=Count("id"), buyers=Count("consumer_id", distinct=True))
    flash_orders = Order.objects.filter(product_id=setup.product_id).count()
    wallets = Account.objects.filter(kind=AccountKind.CONSUMER_WALLET).aggregate(
        total=Sum("balance"), lowest=Min("balance"), highest=Max("balance")
    )
    paid = setup.consumers * PRICE - wallets["total"]
    lowest, highest = wallets["lowest"], wallets["highest"]
    sold = {pk: at_start[pk] - stock[pk] for pk in at_start}
    answered = len(sellout.latencies_ms)
    checks = {
        f"audit() problems: {len(problems)}": not problems,
        f"flash sale orders {flash_orders:,} = {http_ok:,} HTTP successes + {pg_ok:,} pgbench "
        "transactions": flash_orders == http_ok + pg_ok,
        f"other products' orders {orders['n'] - flash_orders:,} = {spread_ok:,} pgbench "
        "transactions": orders["n"] - flash_orders == spread_ok,
        f"stock sold = units ordered, each of {len(at_start)} products (flash sale: "
        f"{sold[setup.product_id]:,})": all(sold[pk] == ordered.get(pk, 0) for pk in at_start),
        f"no negative stock (flash sale left: {stock[setup.product_id]})": min(stock.values()) >= 0,
        f"one order per buyer ({orders['buyers']:,} buyers)": orders["buyers"] == orders["n"],
        f"wallets paid {paid:,} = orders x price; lowest {lowest}, highest {highest}": (
            paid == orders["n"] * PRICE and 0 <= lowest <= highest <= PRICE
        ),
        f"sold out: {sellout.count} orders for {left_before} units left, "
        f"{sellout.refused['OUT_OF_STOCK']} OUT_OF_STOCK for the other buyers": (
            sellout.count == left_before
            and stock[setup.product_id] == 0
            and sellout.refused["OUT_OF_STOCK"] == answered - sellout.count
        ),
    }
    harness.report_invariants(checks, problems)


if __name__ == "__main__":
    raise SystemExit(main())
