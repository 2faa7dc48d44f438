"""Claim throughput through the full stack beside pgbench running the same SQL transaction.

**Full stack**: gunicorn serving ``config.wsgi`` (``--workers 2``: the machine has 2 cores),
HTTP → bearer-token middleware → GraphQL (the ``ClaimCode`` operation of
``graphql/operations/consumer/``) → ``campaigns.claims.claim_code`` → PostgreSQL, with
Redis for the rate limits (real: a dedicated Redis database, flushed at start and end).
A Python load generator (``--clients`` threads, one ``http.client`` connection each,
loopback only; gunicorn's sync workers close the connection after each response, so
it reconnects) claims distinct codes, spread round-robin over ``--consumers``
consumers so that none exceeds the 120 claims a minute a consumer may make. Each
round is bounded by a count and a time (``--max-seconds``).

**Baseline**: ``pgbench`` (same number of clients; simple query protocol, because
Django 5.2 with psycopg 3 binds parameters client-side and sends literal SQL) running
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

Run from the project root::

    uv run python bench/claims.py [--claims 6000] [--pgbench-claims 16000] [--rounds 2]
                                  [--clients 8] [--consumers 1000] [--worker-class sync]
                                  [--profile DIR] [--keep]

``--profile DIR`` records the gunicorn workers with py-spy (``--gil``: on-CPU Python
only) during the last HTTP round and prints where their CPU goes.

Database: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/loyalty_bench_claims),
dropped and created at start, dropped at the end unless --keep. Redis: BENCH_REDIS_URL
(default redis://127.0.0.1:6379/14), flushed at start and end. Figures are printed,
never asserted (see docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
for path in (ROOT, BENCH):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from onboarding import drop_database, recreate_database  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/loyalty_bench_claims"
DEFAULT_REDIS = "redis://127.0.0.1:6379/14"
POINTS_PER_CODE = 10
BUCKETS = 16  # campaigns.models.RESERVE_BUCKETS (checked at set-up)
OPERATION = ROOT / "graphql" / "operations" / "consumer" / "ClaimCode.graphql"
WARMUP = 400


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


@dataclass
class Round:
    system: str
    claims: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)
    server_cpu_ms: float | None = None  # gunicorn workers' CPU per claim
    client_cpu_ms: float = 0.0  # load generator's (or pgbench's) CPU per claim
    machine_busy: float = 0.0  # share of both cores busy during the round (all processes)

    @property
    def rate(self) -> float:
        return self.claims / self.seconds


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes so far (Linux /proc)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine since boot."""
    values = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


class Meter:
    """CPU used by the machine, this process, waited-for children and given processes."""

    def __init__(self, pids: list[int] | None = None) -> None:
        self.pids = pids or []
        self.machine = machine_ticks()
        self.own = time.process_time()
        self.children = self._children()
        self.server = cpu_seconds(self.pids)

    @staticmethod
    def _children() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    def finish(self, result: Round, client: str) -> Round:
        busy, total = machine_ticks()
        result.machine_busy = (busy - self.machine[0]) / max(1, total - self.machine[1])
        used = (
            time.process_time() - self.own if client == "self" else self._children() - self.children
        )
        claims = max(1, result.claims)
        result.client_cpu_ms = used * 1000 / claims
        if self.pids:
            result.server_cpu_ms = (cpu_seconds(self.pids) - self.server) * 1000 / claims
        return result


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
    os.environ.update(
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="config.settings",
        REDIS_URL=redis_url,
        CACHE_KEY_PREFIX="bench-claims",
        CELERY_TASK_ALWAYS_EAGER="1",  # the batches are generated here, in-process
    )
    import django

    django.setup()

    import redis
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext
    from django_tenants.utils import tenant_context

    from accounts import tokens
    from accounts.models import User
    from campaigns import services
    from campaigns.claims import claim_code
    from campaigns.models import RESERVE_BUCKETS, BatchStatus, CampaignStatus, Code
    from points import ledger
    from points.services import fund_with_money
    from tenants.onboarding import create_merchant

    assert RESERVE_BUCKETS == BUCKETS, RESERVE_BUCKETS
    redis.Redis.from_url(redis_url).flushdb()
    t0 = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    connection.set_schema_to_public()
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
        campaign = services.create_scan_campaign(name="Bench caps")
        services.set_status(merchant, campaign, CampaignStatus.ACTIVE)
        http_batch = services.create_batch(
            merchant, campaign, size=http_size, points_per_code=POINTS_PER_CODE
        )
        pg_batch = services.create_batch(
            merchant, campaign, size=pg_size, points_per_code=POINTS_PER_CODE
        )
        for batch in (http_batch, pg_batch):
            batch.refresh_from_db()
            assert batch.status == BatchStatus.READY, batch.status
        codes = list(
            Code.objects.filter(batch=http_batch).order_by("serial").values_list("code", flat=True)
        )
    connection.set_schema_to_public()
    # Consumers with consecutive ids (pgbench computes a consumer's id from the claim's
    # number), each with a wallet and an access token.
    password = make_password(None)
    users = User.objects.bulk_create(
        User(phone=f"+86137{n:08d}", password=password) for n in range(args.consumers)
    )
    ids = sorted(user.pk for user in users)
    assert ids == list(range(ids[0], ids[0] + args.consumers)), "consumer ids not consecutive"
    access = []
    with transaction.atomic():
        for user in users:
            ledger.wallet(user.pk)
            access.append(tokens.issue(user).access_token)
    # The SQL of one claim, as sent by Django (the pgbench script mirrors it).
    with CaptureQueriesContext(connection) as captured:
        claim_code(users[0], codes[-1], "bench-sql")
    connection.set_schema_to_public()
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
        tokens=access,
        first_consumer=ids[0],
        sql_of_one_claim=[q["sql"] for q in captured.captured_queries],
    )


# --- pgbench ------------------------------------------------------------------------------

PGBENCH_SCRIPT = r"""
-- One claim, as campaigns.claims.claim_code sends it (see bench/claims.py).
-- Simple protocol: variables are pasted into the text, as Django's client-side binding does.
\set i :client_id + :n * :clients
\set n :n + 1
\set cid :first_consumer + :i % :consumers
SELECT id, schema_name, slug, name, status, contact_email, contact_phone, points_expiry_days,
       created_at
  FROM tenants_merchant WHERE id = :merchant ORDER BY slug LIMIT 1;
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
 WHERE code = ':code' AND claimed_at IS NULL;
\set bucket :serial % {buckets}
SELECT id, kind, merchant_id, consumer_id, ref, balance, materialized, created_at
  FROM points_account
 WHERE kind = 'campaign_reserve' AND merchant_id = :merchant AND consumer_id IS NULL
   AND ref = 'batch:' || ':batch_id:' || ':bucket' \gset bk_
SELECT id, kind, merchant_id, consumer_id, ref, balance, materialized, created_at
  FROM points_account
 WHERE kind = 'consumer_wallet' AND merchant_id IS NULL AND consumer_id = :cid
   AND ref = '' \gset wl_
INSERT INTO points_transaction (kind, idempotency_key, request_hash, merchant_id, consumer_id,
                                reverses_id, memo, metadata, created_at)
VALUES ('award', 'claim:' || ':merchant:' || ':code', md5(':code') || md5(':cid'), :merchant,
        :cid, NULL, 'Bench caps',
        '{{"code": ":code", "campaign": :campaign, "batch": :batch_id}}'::jsonb, now())
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
VALUES (':code', :campaign, :batch_id, :cid, :ppc, :txn, 'pgbench-:code', now())
RETURNING id;
COMMIT;
"""


class PgBench:
    def __init__(self, url: str, setup: Setup, clients: int, consumers: int, workdir: Path):
        self.url, self.setup, self.clients, self.consumers = url, setup, clients, consumers
        self.workdir = workdir
        self.script = workdir / "claim.sql"
        self.script.write_text(PGBENCH_SCRIPT.format(schema=setup.schema, buckets=BUCKETS))
        self.protocol = "simple"  # Django 5.2 + psycopg 3 binds client-side: literal SQL
        self.next_claim = 0  # claims of the pgbench batch already used
        self.runs = 0

    def run(self, total: int) -> Round:
        per_client = max(1, total // self.clients)
        self.runs += 1
        prefix = self.workdir / f"log{self.runs}"
        parsed = urlparse(self.url)
        # Claim number k of client c is the code of serial c + k * clients (+ an offset
        # past the serials earlier runs used): every transaction claims a fresh code.
        n0 = self.next_claim // self.clients
        self.next_claim += per_client * self.clients
        command = [
            shutil.which("pgbench") or "pgbench",
            "--no-vacuum",
            f"--protocol={self.protocol}",
            f"--client={self.clients}",
            f"--jobs={min(self.clients, 2)}",
            f"--transactions={per_client}",
            f"--file={self.script}",
            "--log",
            f"--log-prefix={prefix}",
            f"--define=n={n0}",
            f"--define=clients={self.clients}",
            f"--define=consumers={self.consumers}",
            f"--define=first_consumer={self.setup.first_consumer}",
            f"--define=merchant={self.setup.merchant_id}",
            f"--define=batch_id={self.setup.pg_batch}",
            f"--host={parsed.hostname}",
            f"--port={parsed.port or 5432}",
            f"--username={parsed.username}",
            parsed.path.lstrip("/"),
        ]
        env = {**os.environ, "PGPASSWORD": parsed.password or ""}
        meter = Meter()
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
        if done.returncode != 0:
            raise SystemExit(f"pgbench failed:\n{done.stdout}\n{done.stderr}")
        tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", done.stdout)
        processed = re.search(r"number of transactions actually processed: (\d+)", done.stdout)
        failed = re.search(r"number of failed transactions: (\d+)", done.stdout)
        assert tps and processed, done.stdout
        count = int(processed.group(1))
        latencies: list[float] = []
        for log in self.workdir.glob(f"{prefix.name}.*"):
            for line in log.read_text().splitlines():
                parts = line.split()
                latencies.append(int(parts[2]) / 1000)  # microseconds
            log.unlink()
        result = Round("pgbench", count, count / float(tps.group(1)), latencies)
        if failed and int(failed.group(1)):
            result.failures["pgbench failed transactions"] = int(failed.group(1))
        return meter.finish(result, "children")


# --- The full stack -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """gunicorn serving config.wsgi against the bench database and Redis."""

    def __init__(self, url: str, redis_url: str, args: argparse.Namespace, log: Path):
        self.port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "REDIS_URL": redis_url,
            "CACHE_KEY_PREFIX": "bench-claims",
            "CELERY_TASK_ALWAYS_EAGER": "1",
            "DEBUG": "0",
            "LOG_LEVEL": "WARNING",
        }
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            f"--workers={args.workers}",
            f"--worker-class={args.worker_class}",
            f"--bind=127.0.0.1:{self.port}",
            "--log-level=warning",
        ]
        if args.worker_class == "gthread":
            command.append(f"--threads={args.threads}")
        self.command = " ".join(command[2:])
        self.log = log
        with open(log, "w") as out:
            self.process = subprocess.Popen(
                command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"gunicorn did not start:\n{log.read_text()}") from None
                time.sleep(0.2)

    def worker_pids(self) -> list[int]:
        done = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(self.process.pid)], capture_output=True, text=True
        )
        return [int(pid) for pid in done.stdout.split()]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def claim_bodies(setup: Setup, start: int, count: int) -> list[tuple[bytes, str]]:
    """(body, token) for claims ``start`` … ``start + count - 1``; prepared before timing."""
    document = OPERATION.read_text()
    run = uuid.uuid4().hex[:8]
    out = []
    for j in range(start, start + count):
        body = {
            "query": document,
            "operationName": "ClaimCode",
            "variables": {"code": setup.codes[j], "idempotencyKey": f"{run}-{j}"},
        }
        out.append((json.dumps(body).encode(), setup.tokens[j % len(setup.tokens)]))
    return out


def load(server: Server, work: list[tuple[bytes, str]], clients: int, max_seconds: float) -> Round:
    """``clients`` threads POST the claims (each its own connection); bounded by time too."""
    port = server.port
    latencies: list[list[float]] = [[] for _ in range(clients)]
    failures: list[Counter[str]] = [Counter() for _ in range(clients)]
    successes = [0] * clients
    start_gate = threading.Barrier(clients + 1)
    deadline = 0.0

    def client(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = work[index::clients]
        start_gate.wait()
        for body, token in mine:
            if time.perf_counter() > deadline:
                break
            headers = {
                "Content-Type": "application/json",
                "Authorization": f"Bearer {token}",
            }
            t0 = time.perf_counter()
            try:
                conn.request("POST", "/graphql/", body, headers)
                response = conn.getresponse()
                payload = response.read()
            except (OSError, http.client.HTTPException) as exc:
                failures[index][type(exc).__name__] += 1
                conn.close()
                continue
            latencies[index].append((time.perf_counter() - t0) * 1000)
            if response.status != 200:
                failures[index][f"HTTP {response.status}"] += 1
                continue
            answer = json.loads(payload)
            result = (answer.get("data") or {}).get("claimCode") or {}
            errors = result.get("errors") or answer.get("errors")
            if errors or not result.get("claim"):
                code = (errors or [{}])[0].get("code") or str(errors)[:60]
                failures[index][code] += 1
            else:
                successes[index] += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    meter = Meter(server.worker_pids())
    t0 = time.perf_counter()
    deadline = t0 + max_seconds
    start_gate.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - t0
    result = Round("full stack", sum(successes), elapsed)
    for values in latencies:
        result.latencies_ms.extend(values)
    for counter in failures:
        result.failures.update(counter)
    return meter.finish(result, "self")


# --- Report -------------------------------------------------------------------------------


def describe(r: Round) -> str:
    fails = f", failures {dict(r.failures)}" if r.failures else ""
    server = f"server CPU {r.server_cpu_ms:.2f} ms/claim, " if r.server_cpu_ms is not None else ""
    return (
        f"{r.system:>10}: {r.claims:>6,} claims in {r.seconds:6.2f} s = {r.rate:7.0f}/s, "
        f"p50 {percentile(r.latencies_ms, 50):6.2f} ms, p99 {percentile(r.latencies_ms, 99):6.2f}"
        f" ms; {server}client CPU {r.client_cpu_ms:.2f} ms/claim, machine busy "
        f"{100 * r.machine_busy:.0f}%{fails}"
    )


def render_table(stack: list[Round], pg: list[Round]) -> str:
    def row(name: str, rounds: list[Round]) -> str:
        rates = [r.rate for r in rounds]
        lat = [x for r in rounds for x in r.latencies_ms]
        claims = sum(r.claims for r in rounds)
        server = [r.server_cpu_ms for r in rounds if r.server_cpu_ms is not None]
        server_text = f"{statistics.mean(server):.2f}" if server else "—"
        return (
            f"| {name} | {claims:,} | {statistics.median(rates):,.0f} "
            f"({', '.join(f'{x:,.0f}' for x in rates)}) | {percentile(lat, 50):.2f} "
            f"| {percentile(lat, 99):.2f} | {server_text} "
            f"| {statistics.mean(r.client_cpu_ms for r in rounds):.2f} "
            f"| {100 * statistics.mean(r.machine_busy for r in rounds):.0f}% |"
        )

    ratio = statistics.median(r.rate for r in stack) / statistics.median(r.rate for r in pg)
    return "\n".join(
        [
            "| system | claims | claims/s median (per round) | p50 ms | p99 ms "
            "| server CPU ms/claim | client CPU ms/claim | machine busy |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
            row("full stack (gunicorn → GraphQL → PostgreSQL)", stack),
            row("pgbench, same SQL transaction", pg),
            "",
            f"ratio full stack / pgbench (medians): **{ratio:.2f}** (target ≥ 0.30)",
        ]
    )


# --- Main -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--claims", type=int, default=6_000, help="HTTP claims per round")
    parser.add_argument(
        "--pgbench-claims", type=int, default=16_000, help="pgbench claims per round"
    )
    parser.add_argument("--rounds", type=int, default=2, help="rounds of each, alternating")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (both)")
    parser.add_argument("--consumers", type=int, default=1_000)
    parser.add_argument("--max-seconds", type=float, default=60, help="per HTTP round")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--worker-class", default="sync", choices=["sync", "gthread"])
    parser.add_argument("--threads", type=int, default=4, help="per worker, for gthread")
    parser.add_argument("--profile", type=Path, help="record py-spy of the workers to this dir")
    parser.add_argument("--keep", action="store_true", help="keep the database at the end")
    args = parser.parse_args(argv)
    # 120 claims a minute per consumer: stay under it with room to spare.
    if args.consumers < 1 or args.clients < 1 or args.rounds < 1:
        parser.error("--consumers, --clients and --rounds must be at least 1")

    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS)
    started = time.perf_counter()
    load_at_start = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    recreate_database(url)
    workdir = Path(tempfile.mkdtemp(prefix="bench-claims-"))
    server: Server | None = None
    try:
        setup = set_up(url, redis_url, args)
        from django.db import connections

        connections.close_all()
        pgbench = PgBench(url, setup, args.clients, args.consumers, workdir)
        server = Server(url, redis_url, args, workdir / "gunicorn.log")
        print(f"server: {server.command} (pid {server.process.pid})", flush=True)

        # Warm-up: both systems, not counted (imports, prepared statements, caches).
        warm = load(server, claim_bodies(setup, 0, WARMUP), args.clients, 60)
        print(f"warm-up {describe(warm)}", flush=True)
        pg_warm = pgbench.run(WARMUP)
        print(f"warm-up {describe(pg_warm)}", flush=True)

        stack: list[Round] = []
        pg: list[Round] = []
        used = WARMUP
        profilers: list[subprocess.Popen[bytes]] = []
        for number in range(1, args.rounds + 1):
            pg.append(pgbench.run(args.pgbench_claims))
            print(f"round {number} {describe(pg[-1])}", flush=True)
            work = claim_bodies(setup, used, args.claims)
            used += args.claims
            if args.profile and number == args.rounds:
                profilers = start_profilers(server, args.profile)
            stack.append(load(server, work, args.clients, args.max_seconds))
            print(f"round {number} {describe(stack[-1])}", flush=True)
        for profiler in profilers:
            profiler.send_signal(signal.SIGINT)
            profiler.wait(timeout=60)
        server.stop()
        if args.profile:
            print(summarise_profile(args.profile), flush=True)

        http_ok = sum(r.claims for r in [warm, *stack])
        pg_ok = sum(r.claims for r in [pg_warm, *pg])
        check_invariants(setup, http_ok + 1, pg_ok)  # + 1: the claim of the SQL capture
    finally:
        if server is not None:
            server.stop()
        if "django.db" in sys.modules:
            from django.db import connections

            connections.close_all()
        import redis

        redis.Redis.from_url(redis_url).flushdb()
        if args.keep:
            print(f"\nkept database {urlparse(url).path.lstrip('/')!r} and {workdir} (--keep)")
        else:
            drop_database(url)
            shutil.rmtree(workdir, ignore_errors=True)

    print("\nSQL of one claim as Django sends it (captured in-process):")
    for sql in setup.sql_of_one_claim:
        print("   ", sql[:150] + (" …" if len(sql) > 150 else ""))
    print(
        f"\ncommand: uv run python bench/claims.py --claims {args.claims} "
        f"--pgbench-claims {args.pgbench_claims} --rounds {args.rounds} "
        f"--clients {args.clients} --consumers {args.consumers} --workers {args.workers} "
        f"--worker-class {args.worker_class}"
        + (f" --threads {args.threads}" if args.worker_class == "gthread" else "")
    )
    print(
        f"machine: {os.cpu_count()} cores, {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}; date: {datetime.now(UTC):%Y-%m-%d}; "
        f"total {time.perf_counter() - started:.0f} s; "
        f"load average at start {load_at_start}, at end "
        f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print()
    print(render_table(stack, pg))
    return 0


def start_profilers(server: Server, out: Path) -> list[subprocess.Popen[bytes]]:
    out.mkdir(parents=True, exist_ok=True)
    py_spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path.home() / ".local/bin"))
    if py_spy is None:
        print("py-spy not found: no profile", flush=True)
        return []
    return [
        subprocess.Popen(
            [
                py_spy,
                "record",
                "--pid",
                str(pid),
                "--gil",  # only samples holding the GIL: where the workers' CPU goes
                "--format",
                "raw",
                "--rate",
                "100",
                "--output",
                str(out / f"worker-{pid}.txt"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for pid in server.worker_pids()
    ]


# Where the workers' CPU goes: (label, a frame that marks it). Shares are inclusive, so
# nested lines overlap (the claim includes the ORM work it does).
PROFILE_PARTS = [
    ("request in gunicorn (everything)", "SyncWorker.handle_request"),
    ("  bearer token check (accounts.tokens.authenticate)", "authenticate (accounts/tokens.py"),
    ("  GraphQL view (parse/validate cache, execute)", "ApiView.execute_graphql_request"),
    ("    claim_code (campaigns/claims.py)", "claim_code (campaigns/claims.py"),
    ("      rate limits in Redis (config/ratelimit.py)", "(config/ratelimit.py"),
    ("      the claim transaction (_claim)", "_claim (campaigns/claims.py"),
    ("        ledger.post", "post (points/ledger.py"),
    ("        ledger account lookups (_account)", "_account (points/ledger.py"),
    ("anywhere: Django ORM building SQL (SQLCompiler.as_sql)", "as_sql (django/db/models/sql/"),
    ("anywhere: psycopg sending/reading (Cursor.execute)", "Cursor.execute (psycopg/cursor.py"),
    ("anywhere: django-tenants SET search_path", "_handle_search_path (django_tenants"),
    ("anywhere: new redis.Redis client per cache call", "Redis.__init__ (redis/client.py"),
]


def summarise_profile(directory: Path) -> str:
    """Inclusive share of on-CPU samples per part of the request (py-spy raw output)."""
    counts = Counter[str]()
    total = 0
    for path in directory.glob("worker-*.txt"):
        for line in path.read_text().splitlines():
            stack, _, number = line.rpartition(" ")
            if not stack or not number.isdigit():
                continue
            total += int(number)
            for label, marker in PROFILE_PARTS:
                if marker in stack:
                    counts[label] += int(number)
    lines = [f"\nprofile of the gunicorn workers (py-spy --gil, {total:,} samples):"]
    for label, _marker in PROFILE_PARTS:
        lines.append(f"  {100 * counts[label] / max(1, total):5.1f}%  {label}")
    return "\n".join(lines)


def check_invariants(setup: Setup, http_ok: int, pg_ok: int) -> None:
    from django.db import connection
    from django_tenants.utils import schema_context

    from campaigns.models import Claim, Code
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
