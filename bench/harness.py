"""What the benchmark scripts share: their database, Django, gunicorn, pgbench, load, figures.

``bench/`` is not a package: a script puts this folder on ``sys.path`` and imports
``harness``. The full-stack benchmarks (``claims.py``, ``questionnaires.py``,
``flash_sale.py``) all follow one pattern, built from the pieces here:

* a database of their own (:func:`bench_resources`: recreated at start, dropped at the
  end) and a Redis database of their own (flushed at start and end);
* set-up in the script's own process with Django (:func:`start_django`,
  :func:`make_consumers`, :func:`captured_sql`);
* **full stack**: gunicorn serving ``config.wsgi`` (:class:`Server`) and wrk, a C load
  generator like pgbench (``bench/wrk_graphql.lua``), posting one GraphQL operation
  with bearer tokens, each request once (:func:`graphql_requests`, :func:`load`);
* **baseline**: pgbench running the same SQL transaction (:class:`PgBench`), in turns
  with the full stack, never at once;
* CPU meters (:class:`Meter`: the machine, the load generator or pgbench, the gunicorn
  workers), row-lock waits sampled from ``pg_stat_activity`` (:class:`LockSampler`),
  nearest-rank percentiles and a Markdown table (:func:`render_table`).

Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
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
import warnings
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import unquote, urlparse, urlunparse

if TYPE_CHECKING:
    from accounts.models import User

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PROTECTED_DATABASES = {"postgres", "template0", "template1", "loyalty"}
# Redis databases the development server, the tests and Celery use: never flushed here.
PROTECTED_REDIS_DATABASES = {0, 1, 2, 3}


# --- The benchmark database and Redis (outside Django) ----------------------------------


def _admin_conninfo(url: str) -> tuple[str, str]:
    """The maintenance-database URL for ``url`` and the name of the database in ``url``."""
    parsed = urlparse(url)
    name = unquote(parsed.path.lstrip("/"))
    if not name:
        raise SystemExit(f"BENCH_DATABASE_URL has no database name: {url!r}")
    return urlunparse(parsed._replace(path="/postgres")), name


def database_name(url: str) -> str:
    return _admin_conninfo(url)[1]


def _check_name(name: str) -> None:
    # The scripts drop the database they are given: refuse anything that looks like a real one.
    if name in PROTECTED_DATABASES or "bench" not in name:
        raise SystemExit(
            f"refusing to drop and recreate database {name!r}: "
            "the benchmark database name must contain 'bench'"
        )


def recreate_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    admin, name = _admin_conninfo(url)
    _check_name(name)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    admin, name = _admin_conninfo(url)
    _check_name(name)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def flush_redis(redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    number = int(client.connection_pool.connection_kwargs.get("db", 0))
    if number in PROTECTED_REDIS_DATABASES:
        raise SystemExit(f"refusing to flush Redis database {number} (used by others)")
    client.flushdb()


@contextmanager
def bench_resources(url: str, redis_url: str, *, keep: bool, prefix: str) -> Iterator[Path]:
    """A fresh database and Redis database for the run, and a scratch directory.

    All three are cleaned up at the end, whatever happens, unless ``keep``.
    """
    recreate_database(url)
    flush_redis(redis_url)
    workdir = Path(tempfile.mkdtemp(prefix=f"{prefix}-"))
    try:
        yield workdir
    finally:
        if "django.db" in sys.modules:
            from django.db import connections

            connections.close_all()
        flush_redis(redis_url)
        if keep:
            print(f"\nkept database {database_name(url)!r} and {workdir} (--keep)")
        else:
            drop_database(url)
            shutil.rmtree(workdir, ignore_errors=True)


# --- Django, in the script's process (set-up and checks) ------------------------------------


def django_environment(url: str, redis_url: str, cache_prefix: str) -> dict[str, str]:
    return {
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "REDIS_URL": redis_url,
        "CACHE_KEY_PREFIX": cache_prefix,
        "CELERY_TASK_ALWAYS_EAGER": "1",  # set-up tasks (code generation) run in-process
    }


def start_django(url: str, redis_url: str, cache_prefix: str) -> None:
    """Django on the bench database, migrated (django-tenants' ``migrate_schemas``)."""
    os.environ.update(django_environment(url, redis_url, cache_prefix))
    import django

    django.setup()
    from django.core.management import call_command

    from core.db import connection

    call_command("migrate", interactive=False, verbosity=0)
    connection.set_schema_to_public()


@dataclass
class Consumers:
    users: list[User]  # by id: the ids are consecutive
    tokens: list[str]  # access tokens of the first ``len(tokens)`` consumers

    @property
    def first_id(self) -> int:
        return self.users[0].pk


def make_consumers(
    count: int, *, with_tokens: int | None = None, sharing_with: int | None = None
) -> Consumers:
    """``count`` consumers with consecutive ids (pgbench computes a consumer from a number),
    each with a wallet; the first ``with_tokens`` (default all) also get an access token.
    ``sharing_with``: a merchant they all consented to share their data with (PIPL,
    decision 0184), as a returning consumer has: the claim's consent check then costs what
    it costs in production, one cache read."""
    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from accounts import tokens
    from accounts.models import User
    from points.models import Account, AccountKind

    password = make_password(None)
    with transaction.atomic():
        users = User.objects.bulk_create(
            User(phone=f"+86137{n:08d}", password=password) for n in range(count)
        )
        users.sort(key=lambda user: user.pk)
        ids = [user.pk for user in users]
        assert ids == list(range(ids[0], ids[0] + count)), "consumer ids not consecutive"
        # The rows ledger.wallet() would create one by one.
        Account.objects.bulk_create(
            Account(kind=AccountKind.CONSUMER_WALLET, consumer_id=pk, materialized=True)
            for pk in ids
        )
        if sharing_with is not None:
            from privacy.consent import MERCHANT_CONSENT_VERSION
            from privacy.models import MerchantConsent

            MerchantConsent.objects.bulk_create(
                MerchantConsent(
                    user_id=pk,
                    merchant_id=sharing_with,
                    version=MERCHANT_CONSENT_VERSION,
                    channel=MerchantConsent.Channel.CLAIM,
                )
                for pk in ids
            )
        access = [tokens.issue(user).access_token for user in users[: with_tokens or count]]
    return Consumers(users, access)


def make_sessions(users: Sequence[User]) -> int:
    """A live sign-in session for each of ``users``, with consecutive ids in their order
    (pgbench computes a session from a number): the first one's id."""
    from datetime import timedelta

    from django.db import transaction
    from django.utils import timezone

    from accounts.models import AuthSession

    now = timezone.now()
    with transaction.atomic():
        sessions = AuthSession.objects.bulk_create(
            AuthSession(
                user=user,
                refresh_hash=f"bench-{user.pk}",
                expires_at=now + timedelta(days=1),
            )
            for user in users
        )
    ids = [session.pk for session in sessions]
    assert ids == list(range(ids[0], ids[0] + len(ids))), "session ids not consecutive"
    return ids[0]


def consent_sql() -> str:
    """The consent version the app gives the claim's and the submit's functions
    (``privacy.consent.required``), as a literal of the pgbench scripts that call them."""
    from privacy.consent import required

    version = required()
    return "NULL" if version is None else f"'{version}'"


def find_merchant_sql() -> str:
    """``Merchant.find``'s statement with pgbench's ``:merchant`` for its parameter: the
    scripts' merchant lookup is the app's own text, not a copy that can drift."""
    from tenants.models import FIND_MERCHANT_SQL

    return FIND_MERCHANT_SQL.replace("%s", ":merchant")


def app_sql(sql: str, values: list[str]) -> str:
    """An app statement (``core.db.rows``' text) with pgbench's variables or literals for
    its ``%s``, in order: the scripts run the app's own text, not a copy that can drift."""
    parts = sql.split("%s")
    assert len(parts) == len(values) + 1, (sql, values)
    return "".join(part + value for part, value in zip(parts, [*values, ""], strict=True))


def captured_sql(action: Callable[[], object]) -> list[str]:
    """The SQL Django sends for ``action()`` (the pgbench scripts mirror it)."""
    from django.test.utils import CaptureQueriesContext

    from core.db import connection

    with CaptureQueriesContext(connection) as captured:
        action()
    connection.set_schema_to_public()
    return [query["sql"] for query in captured.captured_queries]


def add_in_process_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--in-process",
        type=int,
        default=0,
        metavar="N",
        help="instead of the rounds: set up, time N operations in this process (no HTTP, "
        "no pgbench), and stop; CPU per operation is steadier than a rate on a busy machine",
    )


def wsgi_poster(path: str = "/graphql/") -> Callable[[bytes, str], tuple[str, bytes]]:
    """A function posting a JSON body with a bearer token to ``path`` through Django's WSGI
    application in this process, answering the status and the body: every middleware and
    the view, as gunicorn hands a request over, without the HTTP parsing and the sockets."""
    import io

    from django.core.handlers.wsgi import WSGIHandler

    app = WSGIHandler()

    def post(body: bytes, token: str) -> tuple[str, bytes]:
        answered: list[str] = []

        def start_response(status: str, headers: list[tuple[str, str]], *_exc: object) -> Any:
            answered.append(status)
            return None

        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": path,
            "SCRIPT_NAME": "",
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_AUTHORIZATION": f"Bearer {token}",
            "HTTP_HOST": "127.0.0.1",
            "wsgi.input": io.BytesIO(body),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
        }
        body = b"".join(app(environ, start_response))
        return answered[0], body

    return post


def time_in_process(unit: str, calls: Sequence[Callable[[], object]]) -> None:
    """Run each call once, one after the other, and print this process's CPU (Python:
    the service, the ORM, psycopg), the wall time and the statements sent per ``unit``.

    The first tenth warms up (imports, prepared statements, caches) and is not counted.
    PostgreSQL's own CPU is not in the figure: it is the cost of the Python side, which
    is what the full stack's workers spend.
    """
    from core.db import connection

    warm = max(1, len(calls) // 10)
    for call in calls[:warm]:
        call()
    statements = 0

    def count(execute: Callable[..., object], *args: object) -> object:
        nonlocal statements
        statements += 1
        return execute(*args)

    measured = calls[warm:]
    with connection.execute_wrapper(count):
        wall, cpu = time.perf_counter(), time.process_time()
        for call in measured:
            call()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    n = max(1, len(measured))
    print(
        f"in-process: {len(measured):,} {unit}s (after {warm:,} not counted): "
        f"**{cpu * 1000 / n:.2f} ms CPU** per {unit} (this process), "
        f"{wall * 1000 / n:.2f} ms wall, {statements / n:.1f} statements per {unit}",
        flush=True,
    )


def print_sql(title: str, statements: list[str]) -> None:
    print(
        f"\nSQL of one {title} as Django sends it (captured in-process, "
        f"{len(statements)} statements):"
    )
    for sql in statements:
        print("   ", sql[:150] + (" …" if len(sql) > 150 else ""))


# --- Figures -------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


@dataclass
class LockWaits:
    """Backends of the bench database seen by :class:`LockSampler`."""

    samples: int = 0
    active: int = 0  # active client backends summed over the samples
    waiting: Counter[str] = field(default_factory=Counter)  # "wait_event: UPDATE table"

    @property
    def share(self) -> float:
        """Share of active backends' time spent waiting for a lock."""
        return sum(self.waiting.values()) / max(1, self.active)

    def describe(self) -> str:
        per_active = 100 / max(1, self.active)
        top = ", ".join(f"{what} {n * per_active:.1f}%" for what, n in self.waiting.most_common(3))
        return (
            f"lock waits {100 * self.share:.1f}% of {self.active / max(1, self.samples):.1f} "
            f"active backends ({self.samples} samples{'; ' + top if top else ''})"
        )


@dataclass
class Round:
    system: str
    count: int  # successful operations
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)  # expected refusals (sold out)
    server_cpu_ms: float | None = None  # gunicorn workers' CPU per operation
    # Each gunicorn worker's share of their CPU in the round: how evenly they shared the load.
    worker_shares: list[float] = field(default_factory=list)
    client_cpu_ms: float = 0.0  # load generator's (or pgbench's) CPU per operation
    machine_busy: float = 0.0  # share of all cores busy during the round (all processes)
    clients: int = 0
    locks: LockWaits | None = None
    statements: list[tuple[float, str]] = field(default_factory=list)  # pgbench: (mean ms, SQL)

    @property
    def rate(self) -> float:
        return self.count / self.seconds


def _proc_stat(stat: Path) -> tuple[str, list[str]] | None:
    """A process's command and the fields after it (``/proc/PID/stat``; None once it has
    exited): ``fields[11]``, ``[12]`` its user and system CPU ticks, ``[13]``, ``[14]``
    its waited-for children's."""
    try:
        head, _, rest = stat.read_text().rpartition(")")
    except OSError:
        return None
    return head.partition("(")[2], rest.split()


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes so far (Linux /proc)."""
    total = 0
    for pid in pids:
        if (found := _proc_stat(Path(f"/proc/{pid}/stat"))) is not None:
            total += int(found[1][11]) + int(found[1][12])  # utime, stime
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
        self.workers = [cpu_seconds([pid]) for pid in self.pids]

    @staticmethod
    def _children() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    def finish(self, result: Round, client: str) -> Round:
        """Per-operation CPU of the round; ``client`` is "self" (load generator) or
        "children" (pgbench)."""
        busy, total = machine_ticks()
        result.machine_busy = (busy - self.machine[0]) / max(1, total - self.machine[1])
        used = (
            time.process_time() - self.own if client == "self" else self._children() - self.children
        )
        operations = max(1, result.count)
        result.client_cpu_ms = used * 1000 / operations
        if self.pids:
            result.server_cpu_ms = (cpu_seconds(self.pids) - self.server) * 1000 / operations
            pairs = zip(self.pids, self.workers, strict=True)
            used_by = [cpu_seconds([pid]) - was for pid, was in pairs]
            result.worker_shares = [u / max(1e-9, sum(used_by)) for u in used_by]
        return result


def cpu_seconds_named(name: str) -> float:
    """User + system CPU so far of every process whose command is ``name``
    (``postgres``), with what their exited children used: PostgreSQL's postmaster reaps
    the backends of closed connections, whose CPU then shows in its children's."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        found = _proc_stat(stat)
        if found is not None and found[0] == name:
            total += sum(int(x) for x in found[1][11:15])  # utime, stime, cutime, cstime
    return total / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """This process's CPU and its waited-for children's (wrk, run and waited for here)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + usage.ru_utime + usage.ru_stime


class MachineAccount:
    """Where the machine's CPU went between ``__init__`` and ``per``: the parts named in
    ``parts`` (each a function giving its CPU seconds so far), and the rest (the kernel's
    interrupt work, the machine's other processes).

    Issue 17 asks the claim to be twice as fast as the peer's naive line on the same two
    cores: a saturated machine serves at most ``cores / CPU a claim`` claims a second,
    so the account shows what each part of a claim costs the machine, the web server
    being one part of several (docs/benchmarks.md, "Scan claims").
    """

    def __init__(self, parts: dict[str, Callable[[], float]]) -> None:
        self.parts = parts
        self.start = {name: cpu() for name, cpu in parts.items()}
        self.machine = machine_ticks()[0]

    def per(self, operations: int) -> dict[str, float]:
        """Milliseconds of CPU an operation: each part, ``rest`` and ``machine``."""
        used = {name: cpu() - self.start[name] for name, cpu in self.parts.items()}
        machine = (machine_ticks()[0] - self.machine) / os.sysconf("SC_CLK_TCK")
        used["rest"] = machine - sum(used.values())
        used["machine"] = machine
        return {name: seconds * 1000 / max(1, operations) for name, seconds in used.items()}


def machine_account(server: Server, redis_url: str, **parts: Callable[[], float]) -> MachineAccount:
    """The account of a full-stack round: the server's workers, PostgreSQL, the bench's
    Redis, the ``parts`` a bench adds (its background workers), and wrk with this script."""
    return MachineAccount(
        {
            "server": partial(cpu_seconds, server.worker_pids()),
            "postgres": partial(cpu_seconds_named, "postgres"),
            "redis": partial(redis_cpu_seconds, redis_url),
            **parts,
            "wrk": own_cpu_seconds,  # wrk, and this script between rounds
        }
    )


def print_machine_account(
    accounts: list[dict[str, float]], peers: list[PeerLines], unit: str, naive_target: float
) -> None:
    """The median round's account, and the budget issue 17's target leaves: at
    ``naive_target`` times the naive line's rate, the cores may spend at most
    ``cores / (naive_target x naive)`` an operation on a saturated machine."""
    if not accounts:
        return
    parts = list(accounts[0])
    median = {name: statistics.median(a[name] for a in accounts) for name in parts}
    print(f"\nthe machine's CPU a {unit} (median of the rounds, ms):")
    print("| " + " | ".join(parts) + " |")
    print("|" + " ---: |" * len(parts))
    print("| " + " | ".join(f"{median[name]:.2f}" for name in parts) + " |")
    counted = [p.naive for p in peers if p.naive]
    if counted:
        cores = os.cpu_count() or 1
        rate = naive_target * statistics.median(counted)
        budget = cores * 1000 / rate
        beside = median["machine"] - median["server"]
        print(
            f"at {naive_target:g} x naive ({rate:,.0f} {unit}s/s) {cores} cores allow "
            f"{budget:.2f} ms a {unit}; what is not the web server spent {beside:.2f} ms "
            f"({100 * beside / budget:.0f}% of that budget), the web server "
            f"{median['server']:.2f} ms"
        )


def describe_account(ms: dict[str, float], unit: str) -> str:
    parts = ", ".join(f"{name} {value:.2f}" for name, value in ms.items() if name != "machine")
    return f"machine CPU {ms['machine']:.2f} ms/{unit} ({parts})"


LOCK_QUERY = """
SELECT a.wait_event_type, a.wait_event, a.query
  FROM pg_stat_activity a
 WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
   AND a.backend_type = 'client backend' AND a.state = 'active'
"""
# The table a statement writes or reads first: what a lock wait is about.
STATEMENT_TARGET = re.compile(r'\b(UPDATE|INTO|FROM)\s+"?(\w+)"?', re.IGNORECASE)


def statement_target(query: str) -> str:
    """``UPDATE points_account`` for an UPDATE of that table, else the statement's start."""
    match = STATEMENT_TARGET.search(query)
    if match is None:
        return " ".join(query.split())[:40]
    verb = {"INTO": "INSERT INTO", "FROM": "SELECT FROM"}.get(match[1].upper(), match[1].upper())
    return f"{verb} {match[2]}"


class LockSampler:
    """Samples the bench database's active backends while a round runs (``with`` block).

    A backend waiting for another transaction's row lock shows ``wait_event_type =
    'Lock'`` (``transactionid`` for the first in line, ``tuple`` for those queued behind
    it, ``advisory`` for advisory locks); the statement it runs names the table. The
    share of active backends waiting is what a hot row costs.
    """

    def __init__(self, url: str, interval: float = 0.05) -> None:
        self.url, self.interval = url, interval
        self.waits = LockWaits()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self._stop.wait(self.interval):
                rows = conn.execute(LOCK_QUERY).fetchall()
                self.waits.samples += 1
                self.waits.active += len(rows)
                for kind, event, query in rows:
                    if kind == "Lock":
                        self.waits.waiting[f"{event}: {statement_target(query)}"] += 1

    def __enter__(self) -> LockSampler:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()


def sampled(url: str, measure: Callable[[], Round]) -> Round:
    """``measure()`` with the lock waits of the bench database recorded on its round."""
    with LockSampler(url) as sampler:
        result = measure()
    result.locks = sampler.waits
    return result


def describe(r: Round, unit: str) -> str:
    fails = f", failures {dict(r.failures)}" if r.failures else ""
    refused = f", refused {dict(r.refused)}" if r.refused else ""
    server = f"server CPU {r.server_cpu_ms:.2f} ms/{unit}, " if r.server_cpu_ms is not None else ""
    locks = f"; {r.locks.describe()}" if r.locks else ""
    if len(r.worker_shares) > 1:
        shares = "/".join(f"{100 * share:.0f}" for share in r.worker_shares)
        server += f"workers' shares {shares}%, "
    return (
        f"{r.system:>10}: {r.count:>6,} {unit}s in {r.seconds:6.2f} s = {r.rate:7.0f}/s, "
        f"p50 {percentile(r.latencies_ms, 50):6.2f} ms, p99 {percentile(r.latencies_ms, 99):6.2f}"
        f" ms; {server}client CPU {r.client_cpu_ms:.2f} ms/{unit}, machine busy "
        f"{100 * r.machine_busy:.0f}%{fails}{refused}{locks}"
    )


def median_rate(rounds: list[Round]) -> float:
    return statistics.median(r.rate for r in rounds)


FULL_STACK = "full stack (gunicorn → GraphQL → PostgreSQL)"
SAME_SQL = "pgbench, same SQL transaction"


def print_comparison(
    stack: list[Round],
    pg: list[Round],
    unit: str,
    *,
    more: list[tuple[str, list[Round]]] | None = None,
    note: str = "",
) -> None:
    """The table of the full stack against pgbench (and ``more`` rows), then their ratio."""
    print(render_table([(FULL_STACK, stack), (SAME_SQL, pg), *(more or [])], unit))
    ratio = median_rate(stack) / median_rate(pg)
    print(f"\nratio full stack / pgbench (medians): **{ratio:.2f}**{note}")


# The fixed references of a claim (../shared/peer/run.sh): pgbench of the minimal claim
# ("raw"), a plain Django view and a naive graphene mutation on the same SQL. Measured in
# the same run as ours, since this machine's speed moves by a third within minutes.
PEER_RUN = ROOT.parent / "shared" / "peer" / "run.sh"
_PEER_LINE = re.compile(
    r"raw (?P<raw>[\d.]+) tps \| plain (?P<plain>[\d.]+) req/s .*\| naive (?P<naive>[\d.]+) req/s"
)


@dataclass(frozen=True)
class PeerLines:
    raw: float
    plain: float
    naive: float


def run_peer(seconds: int) -> PeerLines:
    """Run ``../shared/peer/run.sh`` once (``seconds`` per line) and read its one line."""
    if not PEER_RUN.exists():
        raise SystemExit(f"{PEER_RUN} is missing: the references need ../shared/peer")
    # run.sh keeps its server's pid file in the temporary folder and listens on a fixed
    # port: two scripts running it at once (several sessions share this machine) would stop
    # each other's server. A folder and a free port of its own, the same venv.
    private = tempfile.mkdtemp(prefix="peer-")
    env = {
        "PEER_VENV": str(Path(tempfile.gettempdir()) / "peerenv"),
        "PEER_PORT": str(free_port()),
        **os.environ,
        "TMPDIR": private,
        "SECS": str(seconds),
    }
    try:
        done = subprocess.run(
            ["bash", str(PEER_RUN)],
            env=env,
            capture_output=True,
            text=True,
            timeout=20 * seconds + 300,  # its own venv on the first run, then 3 lines
        )
    finally:
        shutil.rmtree(private, ignore_errors=True)
    found = _PEER_LINE.search(done.stdout)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"peer run failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return PeerLines(float(found["raw"]), float(found["plain"]), float(found["naive"]))


def add_peer_argument(parser: argparse.ArgumentParser) -> None:
    """``--peer-seconds``: the references of ``run_peer``, run before and after ours."""
    parser.add_argument(
        "--peer-seconds",
        type=int,
        default=10,
        help="seconds per line of ../shared/peer/run.sh, run before and after ours (0: skip)",
    )


def print_against_peer(
    name: str,
    ours: float,
    peers: list[PeerLines],
    *,
    naive_target: float = 2.0,
    raw_target: float | None = 0.45,
) -> None:
    """Our rate beside the references' medians, with issue 17's targets for ``name``
    (the claim's by default; submits and redeems have only a naive target, 1.5)."""
    each = "; ".join(f"raw {p.raw:,.0f}, plain {p.plain:,.0f}, naive {p.naive:,.0f}" for p in peers)
    print(f"\nreferences (../shared/peer/run.sh, before and after ours: {each})")
    # A line of 0 is a run whose server was not up in time (wrk answered nothing): left out.
    counted = [p for p in peers if p.raw and p.plain and p.naive]
    if len(counted) < len(peers):
        print(f"({len(peers) - len(counted)} reference run(s) with a line of 0 left out)")
    if not counted:
        print(f"no reference run answered: no ratio (ours: {ours:,.0f} {name}/s)")
        return
    raw = statistics.median(p.raw for p in counted)
    plain = statistics.median(p.plain for p in counted)
    naive = statistics.median(p.naive for p in counted)
    print(f"| line | {name}/s |")
    print("| --- | ---: |")
    print(f"| raw: pgbench of the minimal claim | {raw:,.0f} |")
    print(f"| plain Django view, same SQL | {plain:,.0f} |")
    print(f"| naive graphene mutation, same SQL | {naive:,.0f} |")
    print(f"| **ours**: full stack | {ours:,.0f} |")

    def ratio(line: float) -> str:
        # A line that served nothing (a run too short on a busy machine) has no ratio.
        return f"{ours / line:.2f}" if line else "n/a (the line measured 0)"

    raw_goal = f" (target ≥ {raw_target})" if raw_target is not None else ""
    print(
        f"\nours / naive: **{ratio(naive)}** (target ≥ {naive_target:g}); ours / raw: "
        f"**{ratio(raw)}**{raw_goal}; ours / plain: {ratio(plain)}"
        + (" (stretch: 1)" if raw_target is not None else "")
    )


def render_table(rows: list[tuple[str, list[Round]]], unit: str) -> str:
    """One line per system: rates per round and their median, latency, CPU per operation."""
    with_locks = any(r.locks for _name, rounds in rows for r in rounds)

    def row(name: str, rounds: list[Round]) -> str:
        rates = [r.rate for r in rounds]
        lat = [x for r in rounds for x in r.latencies_ms]
        server = [r.server_cpu_ms for r in rounds if r.server_cpu_ms is not None]
        server_text = f"{statistics.mean(server):.2f}" if server else "—"
        waits = [r.locks.share for r in rounds if r.locks]
        lock_text = f" {100 * statistics.mean(waits):.1f}% |" if waits else " — |"
        return (
            f"| {name} | {sum(r.count for r in rounds):,} | {statistics.median(rates):,.0f} "
            f"({', '.join(f'{x:,.0f}' for x in rates)}) | {percentile(lat, 50):.2f} "
            f"| {percentile(lat, 99):.2f} | {server_text} "
            f"| {statistics.mean(r.client_cpu_ms for r in rounds):.2f} "
            f"| {100 * statistics.mean(r.machine_busy for r in rounds):.0f}% |"
            + (lock_text if with_locks else "")
        )

    header = (
        f"| system | {unit}s | {unit}s/s median (per round) | p50 ms | p99 ms "
        f"| server CPU ms/{unit} | client CPU ms/{unit} | machine busy |"
    )
    rule = "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    if with_locks:
        header += " lock waits |"
        rule += " ---: |"
    return "\n".join([header, rule, *(row(name, rounds) for name, rounds in rows)])


def load_average() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def machine_summary(started: float, load_at_start: str) -> str:
    return (
        f"machine: {os.cpu_count()} cores, {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}; date: {datetime.now(UTC):%Y-%m-%d}; "
        f"total {time.perf_counter() - started:.0f} s; "
        f"load average at start {load_at_start}, at end {load_average()}"
    )


# --- Command line ----------------------------------------------------------------------------

PEER_PGBENCH_CLIENTS = 8
PEER_HTTP_CLIENTS = 16


def add_common_arguments(
    parser: argparse.ArgumentParser, *, worker_class: str = "production"
) -> None:
    """Load and server options every full-stack benchmark takes (``worker_class``: the
    default of ``--worker-class``)."""
    # The references' own loads (../shared/peer/run.sh): pgbench -c 8 for the raw line,
    # wrk -c16 for the plain and naive lines. Ours is loaded as its reference is, so that
    # the ratios compare one load shape (decision 0341).
    parser.add_argument(
        "--clients", type=int, default=PEER_PGBENCH_CLIENTS, help="pgbench's clients"
    )
    parser.add_argument(
        "--http-clients",
        type=int,
        default=PEER_HTTP_CLIENTS,
        help="closed loop: wrk's kept-alive connections",
    )
    parser.add_argument("--max-seconds", type=float, default=60, help="per HTTP round")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument(
        "--worker-class",
        default=worker_class,
        choices=["sync", "gthread", "production"],
        help="production: config/gunicorn.py (its threaded worker, backlog and deadline)",
    )
    parser.add_argument("--threads", type=int, default=4, help="per worker, for gthread")
    parser.add_argument("--keep", action="store_true", help="keep the database at the end")
    parser.add_argument(
        "--profile", type=Path, help="py-spy the workers in the last HTTP round into this dir"
    )


def server_flags(args: argparse.Namespace) -> str:
    flags = f"--workers {args.workers} --worker-class {args.worker_class}"
    threaded = args.worker_class in {"gthread", "production"}
    return flags + (f" --threads {args.threads}" if threaded else "")


# --- pgbench ---------------------------------------------------------------------------------


class PgBench:
    """pgbench running one SQL transaction script.

    Every transaction of every run gets a fresh number ``:i`` (the script's set-up rows
    are indexed by it: a code's serial, a consumer), unique across runs of this
    instance whatever their client counts; a run of ``total`` transactions on ``c``
    clients uses at most ``total + c`` numbers. The protocol is the app's for those
    statements (``protocol``).
    """

    NUMBERING = "\\set i :client_id + :n * :clients\n\\set n :n + 1\n"

    def __init__(
        self,
        url: str,
        script: str,
        workdir: Path,
        name: str = "pgbench",
        *,
        per_statement: bool = False,
        protocol: str = "simple",
    ) -> None:
        self.url, self.workdir, self.name = url, workdir, name
        # pgbench's mean latency of each statement (--report-per-command): where a
        # transaction waits, e.g. for a row lock. Off by default: it times every statement.
        self.per_statement = per_statement
        self.script = workdir / f"{name}.sql"
        self.script.write_text(self.NUMBERING + script)
        # As the app sends the script's statements: "simple" for the ORM's (Django binds
        # parameters client-side and sends literal SQL), "extended" for core.db.rows'
        # (parameters apart from the statement; nothing prepared).
        self.protocol = protocol
        self.used = 0  # numbers below this are taken
        self.runs = 0

    def run(
        self, total: int, clients: int, defines: dict[str, object], system: str = "pgbench"
    ) -> Round:
        per_client = max(1, total // clients)
        self.runs += 1
        prefix = self.workdir / f"{self.name}-log{self.runs}"
        parsed = urlparse(self.url)
        # Transaction k of client c is number c + (n0 + k) * clients: past every number
        # an earlier run used.
        n0 = -(-self.used // clients)
        self.used = (n0 + per_client) * clients
        command = [
            shutil.which("pgbench") or "pgbench",
            "--no-vacuum",
            f"--protocol={self.protocol}",
            f"--client={clients}",
            f"--jobs={min(clients, 2)}",
            f"--transactions={per_client}",
            f"--file={self.script}",
            "--log",
            f"--log-prefix={prefix}",
            *(["--report-per-command"] if self.per_statement else []),
            f"--define=n={n0}",
            f"--define=clients={clients}",
            *(f"--define={key}={value}" for key, value in defines.items()),
            f"--host={parsed.hostname}",
            f"--port={parsed.port or 5432}",
            f"--username={parsed.username}",
            database_name(self.url),
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
                latencies.append(int(line.split()[2]) / 1000)  # microseconds
            log.unlink()
        result = Round(system, count, count / float(tps.group(1)), latencies, clients=clients)
        if failed and int(failed.group(1)):
            result.failures["pgbench failed transactions"] = int(failed.group(1))
        if self.per_statement:
            report = done.stdout.partition("statement latencies in milliseconds")[2]
            result.statements = [
                (float(match[1]), match[2])
                for match in re.finditer(r"^\s+([\d.]+)\s+\d+\s+(\S.*)$", report, re.MULTILINE)
            ]
        return meter.finish(result, "children")


def slowest_statements(rounds: list[Round], top: int = 3) -> str:
    """The statements with the highest mean latency over the rounds (pgbench per_statement)."""
    means: dict[str, list[float]] = {}
    for r in rounds:
        for ms, sql in r.statements:
            means.setdefault(sql, []).append(ms)
    ranked = sorted(((statistics.mean(v), sql) for sql, v in means.items()), reverse=True)
    return "; ".join(f"{sql[:60]} {ms:.2f} ms" for ms, sql in ranked[:top])


# --- The full stack --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ChildProcess:
    """A process the script started (``process``), stopped at the end of a ``with`` block:
    SIGTERM (a Celery worker's warm shutdown finishes its tasks), then killed if it has
    not stopped within ``stop_seconds``."""

    process: subprocess.Popen[Any]
    stop_seconds = 30

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=self.stop_seconds)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


class Server(ChildProcess):
    """gunicorn serving config.wsgi against the bench database and Redis (``with`` block)."""

    def __init__(
        self,
        url: str,
        redis_url: str,
        args: argparse.Namespace,
        log: Path,
        cache_prefix: str,
        *,
        eager_tasks: bool = True,
        settings: dict[str, str] | None = None,
    ) -> None:
        """``eager_tasks=False``: tasks go through Redis to a :class:`CeleryWorker`, as in
        production, instead of running inside the request. ``settings``: environment
        variables of this server only (``SCAN_EVENTS=0`` for a server without events)."""
        self.port = free_port()
        env = {
            **os.environ,
            **django_environment(url, redis_url, cache_prefix),
            "DEBUG": "0",
            "LOG_LEVEL": "WARNING",
            "CELERY_TASK_ALWAYS_EAGER": "1" if eager_tasks else "0",
            **(settings or {}),
        }
        command = [sys.executable, "-m", "gunicorn"]
        if args.worker_class == "production":
            # The production configuration; these flags override only its sizes.
            command += ["-c", "python:config.gunicorn"]
        else:
            command.append(f"--worker-class={args.worker_class}")
        command += [
            "config.wsgi:application",
            f"--workers={args.workers}",
            f"--bind=127.0.0.1:{self.port}",
            "--log-level=warning",
        ]
        if args.worker_class in {"gthread", "production"}:
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
                    self.stop()
                    raise SystemExit(f"gunicorn did not start:\n{log.read_text()}") from None
                time.sleep(0.2)
        print(f"server: {self.command} (pid {self.process.pid})", flush=True)

    def worker_pids(self) -> list[int]:
        done = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(self.process.pid)], capture_output=True, text=True
        )
        return [int(pid) for pid in done.stdout.split()]


def debug_is_off(port: int) -> bool:
    """Ask the running server: with ``DEBUG`` on, Django answers an unknown URL with its
    technical 404 page."""
    answer = burst(
        port,
        [b"GET /bench-no-such-page/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"],
        0,
    )[0]
    return answer.status == 404 and "URLconf" not in answer.body


class ScanDrainer(ChildProcess):
    """``manage.py drain_scan_events``, the dedicated drainer of scan events, as production
    runs it: continuously, writing what the servers queue while they serve."""

    def __init__(self, url: str, redis_url: str, log: Path, cache_prefix: str) -> None:
        env = {**os.environ, **django_environment(url, redis_url, cache_prefix)}
        with open(log, "w") as out:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "drain_scan_events"],
                env=env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        print(f"scan events drainer: manage.py drain_scan_events (pid {self.process.pid})")

    def pids(self) -> list[int]:
        return [self.process.pid]


class CeleryWorker(ChildProcess):
    """A Celery worker as production runs it (``celery -A config worker``: prefork,
    ``concurrency`` processes) on the bench database and Redis (``with`` block); ready
    once a probe task sent through Redis came back."""

    stop_seconds = 60  # a warm shutdown finishes the tasks it holds

    def __init__(
        self, url: str, redis_url: str, log: Path, cache_prefix: str, concurrency: int
    ) -> None:
        env = {
            **os.environ,
            **django_environment(url, redis_url, cache_prefix),
            "DEBUG": "0",
            "CELERY_TASK_ALWAYS_EAGER": "0",
        }
        command = [
            sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "prefork",
            f"--concurrency={concurrency}", "--without-gossip", "--without-mingle",
            "--loglevel", "WARNING",
        ]  # fmt: skip
        self.concurrency = concurrency
        self.command = " ".join(command[2:])
        self.log = log
        with open(log, "w") as out:
            self.process = subprocess.Popen(
                command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
            )
        from config.celery import app

        try:
            # send_task goes through the broker even where this process runs tasks
            # eagerly (Celery warns that it does: expected here).
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                app.send_task("tenants.tasks.schema_probe").get(timeout=90)
        except Exception as exc:
            self.stop()
            raise SystemExit(f"celery worker did not start ({exc}):\n{log.read_text()}") from None
        print(f"celery: {self.command} (pid {self.process.pid})", flush=True)

    def pids(self) -> list[int]:
        """The main process and its pool's children (their CPU is the background work's)."""
        done = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(self.process.pid)], capture_output=True, text=True
        )
        return [self.process.pid, *(int(pid) for pid in done.stdout.split())]


def settle_database(seconds: float = 60) -> float:
    """Let PostgreSQL finish what the previous round left it before the next is timed.

    Production's PostgreSQL runs autovacuum; this machine's runs with it off (CI's
    ``conf.d/90-ci.conf``), so without a stand-in no table of the bench's database was
    ever analyzed or vacuumed: plans made on empty tables stayed (the submit's "already
    answered?" lookup scanned every response of the campaign, and grew from round to
    round), and dead row versions piled up. So: ``VACUUM (ANALYZE)``, what autovacuum
    would have done over the minutes a round stands for; then a checkpoint (the round's
    dirty pages written now, not during the next round); and, where autovacuum is on, no
    autovacuum worker still running (pgbench's thousands of updates wake one for the
    tables the next round writes). Without it, whichever round followed pgbench paid for
    pgbench. Returns the seconds waited."""
    from django.db import connection

    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
        cursor.execute("CHECKPOINT")
        while time.monotonic() - started < seconds:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'"
                " AND datname = current_database()"
            )
            if not cursor.fetchone()[0]:
                break
            time.sleep(0.2)
    return time.monotonic() - started


def redis_cpu_seconds(redis_url: str) -> float:
    """The Redis server's user + system CPU so far (``INFO cpu``): all its clients'."""
    import redis

    info = redis.Redis.from_url(redis_url).info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def queued_tasks(redis_url: str, queue: str = "celery") -> tuple[int, int]:
    """(tasks waiting in ``queue``, tasks taken by a worker and not yet acknowledged) in
    the Redis broker (kombu keeps the latter in the ``unacked`` hash)."""
    import redis

    client = redis.Redis.from_url(redis_url)
    return int(client.llen(queue)), int(client.hlen("unacked"))


class WebhookReceiver(ChildProcess):
    """A merchant's webhook endpoint on this machine: answers every POST 204 (this file
    run as ``receiver PORT``, a process of its own; ``with`` block)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.process = subprocess.Popen(
            [sys.executable, __file__, "receiver", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.process.kill()
                    raise SystemExit("the webhook receiver did not start") from None
                time.sleep(0.1)


_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)", re.IGNORECASE)


class _Receiving(asyncio.Protocol):
    """HTTP/1.1 with keep-alive, as a merchant's web server speaks it: each POST read to
    the end of its body and answered 204. The merchant's server is not the platform's:
    on this shared machine it should cost the least CPU it can (``http.server`` closed
    every connection and parsed each header block with the email package: 0.4 ms of CPU
    a delivery, the webhook sender's connection made anew for each)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport, self.buffer = transport, b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            length = _CONTENT_LENGTH.search(self.buffer, 0, head_end + 2)
            end = head_end + 4 + (int(length[1]) if length else 0)
            if len(self.buffer) < end:
                return
            self.buffer = self.buffer[end:]
            self.transport.write(b"HTTP/1.1 204 No Content\r\n\r\n")


def _receive(port: int) -> None:
    async def serve() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(_Receiving, "127.0.0.1", port, backlog=1024)
        async with server:
            await server.serve_forever()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    asyncio.run(serve())


Request = tuple[bytes, str]  # (JSON body, bearer token), prepared before timing


def graphql_requests(operation: Path, calls: Iterable[tuple[dict[str, Any], str]]) -> list[Request]:
    """The bodies posting ``operation`` (a file of graphql/operations/, named as its
    operation) with each call's variables, and each call's token."""
    document = operation.read_text()
    return [
        (
            json.dumps(
                {"query": document, "operationName": operation.stem, "variables": variables}
            ).encode(),
            token,
        )
        for variables, token in calls
    ]


@dataclass(frozen=True)
class PayloadJudge:
    """What a success is: the mutation's payload has ``success_field`` and no errors.

    wrk applies it to each answer's text (bench/wrk_graphql.lua): ``"<success_field>":{``
    present, and no ``"code":`` anywhere (every error, in a payload or at the top level,
    carries one); a failure is named by its first error code or its HTTP status.
    """

    success_field: str


WRK_SCRIPT = Path(__file__).resolve().parent / "wrk_graphql.lua"

# Every 16th request of wrk asks for its connection to be closed after the answer, and wrk
# connects again. Kept-alive for a whole round, wrk's connections stayed with whichever
# gunicorn worker accepted them first, often unevenly (one worker 3.58 s of CPU in a round,
# the other 2.11 s): the round then measured that placement, not the code (an A/A run of
# one code on two servers read ±20%). Connecting again lets the less busy worker take the
# next one. Phones do not keep one connection for thousands of requests either (0336).
RECONNECT_EVERY = 16


def wrk() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk (see bench/README.md)")
    return found


def load(
    server: Server,
    work: list[Request],
    clients: int,
    max_seconds: float,
    judge: PayloadJudge,
    *,
    expected: frozenset[str] = frozenset(),
    system: str = "full stack",
) -> Round:
    """``clients`` connections POST the requests, each once; bounded by time too.

    The load generator is wrk (C, like pgbench; one thread, keep-alive where the
    server keeps connections, each connection closed after every ``RECONNECT_EVERY``-th
    request), so that on this small machine it takes little of the
    CPU the server needs: the Python client it replaced used 0.4 ms per request.
    Error codes in ``expected`` (a sold-out refusal) count as refusals, not failures.
    """
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
        requests = Path(tmp) / "requests.tsv"
        out = Path(tmp) / "out.txt"
        with open(requests, "wb") as f:
            for body, token in work:
                f.write(token.encode() + b"\t" + body + b"\n")
        threads = 1
        command = [
            wrk(),
            f"-t{threads}",
            f"-c{max(clients, threads)}",
            f"-d{max(1, math.ceil(max_seconds))}s",
            "--timeout=30s",
            f"-s{WRK_SCRIPT}",
            f"http://127.0.0.1:{server.port}",
            "--",
            str(requests),
            str(out),
            judge.success_field,
            str(threads),
            str(RECONNECT_EVERY),
        ]
        meter = Meter(server.worker_pids())
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        # wrk runs for its whole -d: once every thread has had all its answers (the
        # script leaves a file), interrupt it, which ends the run as at the deadline.
        markers = [Path(f"{out}.done.{k}") for k in range(threads)]
        while process.poll() is None and not all(m.exists() for m in markers):
            time.sleep(0.005)
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        output, _ = process.communicate()
        if process.returncode != 0 or not out.exists():
            raise SystemExit(f"wrk failed ({process.returncode}):\n{output}")
        result = Round(system, 0, 0.0, clients=clients)
        percentiles: list[float] = []
        for line in out.read_text().splitlines():
            kind, *rest = line.split()
            if kind == "duration":
                result.seconds = int(rest[0]) / 1e6
            elif kind == "outcome":
                code, n = rest[0], int(rest[1])
                if code.startswith("HTTP_"):
                    code = code.replace("_", " ")
                if code == "ok":
                    result.count += n
                else:
                    (result.refused if code in expected else result.failures)[code] += n
            elif kind == "latency":
                percentiles.append(int(rest[0]) / 1000)
        # One latency per answer, spread over wrk's percentiles (nearest rank).
        answers = result.count + sum(result.failures.values()) + sum(result.refused.values())
        result.latencies_ms = [
            percentiles[min(len(percentiles) - 1, k * len(percentiles) // answers)]
            for k in range(answers)
        ]
    return meter.finish(result, "children")


class HttpRounds:
    """:func:`load` rounds against one server, with the bench database's lock waits."""

    def __init__(
        self, url: str, server: Server, clients: int, max_seconds: float, judge: PayloadJudge
    ) -> None:
        self.url, self.server, self.clients = url, server, clients
        self.max_seconds, self.judge = max_seconds, judge

    def run(
        self,
        work: list[Request],
        *,
        expected: frozenset[str] = frozenset(),
        max_seconds: float | None = None,
    ) -> Round:
        seconds = self.max_seconds if max_seconds is None else max_seconds
        return sampled(
            self.url,
            lambda: load(self.server, work, self.clients, seconds, self.judge, expected=expected),
        )


@dataclass(frozen=True)
class Answer:
    """One connection's answer: ``status`` 0 when none came (``error`` says why)."""

    seconds: float  # from opening the connection to the end of the answer
    status: int
    retry_after: str | None
    body: str
    error: str = ""


async def _exchange(port: int, request: bytes, delay: float, timeout: float) -> Answer:
    await asyncio.sleep(delay)
    opened = time.monotonic()
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                writer.write(request)
                await writer.drain()
                raw = await reader.read()  # Connection: close: until the server closes
            finally:
                writer.close()
    except (OSError, TimeoutError) as exc:  # reset, refused, timed out
        return Answer(time.monotonic() - opened, 0, None, "", type(exc).__name__)
    seconds = time.monotonic() - opened
    if not raw:
        return Answer(seconds, 0, None, "", "closed without an answer")
    head, _, body = raw.partition(b"\r\n\r\n")
    status, headers = _parse_head(head)
    return Answer(seconds, status, headers.get("retry-after"), body.decode(errors="replace"))


def _parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    """The status and the headers (names lower-cased) of an HTTP/1.1 answer's head."""
    lines = head.decode("latin-1").split("\r\n")
    headers = {
        name.strip().lower(): value.strip()
        for name, _, value in (line.partition(":") for line in lines[1:])
    }
    return int(lines[0].split()[1]), headers


def http_post(port: int, path: str, body: bytes, token: str, *, keep_alive: bool = False) -> bytes:
    """A whole HTTP/1.1 request: on a connection of its own (``Connection: close``) or,
    ``keep_alive``, on one that the next request reuses."""
    connection = "" if keep_alive else "Connection: close\r\n"  # HTTP/1.1 keeps by default
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        f"{connection}Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def burst(
    port: int, requests: list[bytes], spread_seconds: float, timeout: float = 120
) -> list[Answer]:
    """Each request on a distinct TCP connection, opened at a fixed rate over
    ``spread_seconds`` (not kept-alive sockets reused): arrivals, not clients."""
    gap = spread_seconds / max(1, len(requests))

    async def everyone() -> list[Answer]:
        return await asyncio.gather(
            *(_exchange(port, r, n * gap, timeout) for n, r in enumerate(requests))
        )

    return asyncio.run(everyone())


# --- Open-loop load: requests at a fixed arrival rate ---------------------------------------

# A closed loop (wrk: each connection sends its next request when the last is answered)
# stops sending exactly when the server is slow, so its percentiles leave out the queueing
# a real arrival rate meets ("coordinated omission"). Here every request has a scheduled
# send time (request k at k / rate), whatever happened to the others, and its latency runs
# from that time to the end of its answer: time it spent waiting in the generator, for a
# connection or in the server's queues, is all counted.
# The outcome of a request that got no answer (its claim may still have been made).
NO_ANSWER = "no answer: "
OPEN_LOOP_MAX_LAG_MS = 10.0  # p99 of how late a request may be sent before a round is refused
# Idle connections older than this are not reused: gunicorn closes a kept-alive connection
# after `keepalive` (5 s in config/gunicorn.py), and a request written into a connection the
# server is closing would be lost.
_REUSE_SECONDS = 4.0


def judge_answer(status: int, body: str, success_field: str) -> str:
    """``ok``, or the failure's name: as ``wrk_graphql.lua`` judges (see :class:`PayloadJudge`)."""
    if status != 200:
        return f"HTTP {status}"
    if f'"{success_field}":{{' in body and '"code":' not in body:
        return "ok"
    if body == success_field:  # a plain-text answer (WeChat's message URL: "success")
        return "ok"
    found = re.search(r'"code":\s*"([^"]+)"', body)
    return found[1] if found else body[:60]


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes, bool]:
    """One answer from a kept-alive connection: (status, headers, body, reusable)."""
    status, headers = _parse_head((await reader.readuntil(b"\r\n\r\n"))[:-4])
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        parts = []
        while size := int((await reader.readuntil(b"\r\n"))[:-2].split(b";")[0], 16):
            parts.append((await reader.readexactly(size + 2))[:-2])
        await reader.readuntil(b"\r\n")
        body = b"".join(parts)
    else:  # delimited by the server closing
        return status, headers, await reader.read(), False
    return status, headers, body, headers.get("connection", "").lower() != "close"


async def _open_loop(spec: dict[str, Any]) -> dict[str, Any]:
    """The generator itself (a process of its own: :func:`open_loop`)."""
    # It stands for clients on other machines, whom the server's load does not slow: on
    # 2 shared cores a normal process wakes 10-20 ms late, so it asks to run first when
    # it wakes (real-time FIFO, lowest priority; it mostly sleeps, its CPU is small and
    # the kernel caps real-time tasks at 95% of a core), else for a better nice value.
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
        priority = "real-time FIFO 1"
    except OSError:
        try:
            os.setpriority(os.PRIO_PROCESS, 0, -10)
            priority = "nice -10"
        except OSError:
            priority = f"nice {os.getpriority(os.PRIO_PROCESS, 0)}"
    port, rate, field_ = int(spec["port"]), float(spec["rate"]), str(spec["success_field"])
    timeout = float(spec["timeout"])
    # Prepared before the clock starts: the whole HTTP request of each line.
    requests = []
    with open(spec["requests"], "rb") as f:
        for line in f:
            # "token TAB body", or "token TAB body TAB path" for a path of its own (a
            # signed query string per request: WeChat's pushes).
            token, _, rest = line.rstrip(b"\n").partition(b"\t")
            body, _, path = rest.partition(b"\t")
            target = path.decode() or spec["path"]
            requests.append(http_post(port, target, body, token.decode(), keep_alive=True))
    loop = asyncio.get_running_loop()
    Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]
    idle: deque[tuple[Connection, float]] = deque()  # FIFO: every connection (worker) used
    for _ in range(int(spec["connections"])):
        idle.append((await asyncio.open_connection("127.0.0.1", port), loop.time()))
    n = len(requests)
    latency, lag, outcome = [0.0] * n, [0.0] * n, [""] * n
    opened = 0

    async def send(k: int, due: float) -> None:
        nonlocal opened
        connection: Connection | None = None
        while idle and connection is None:
            candidate, since = idle.popleft()
            if loop.time() - since < _REUSE_SECONDS:
                connection = candidate
            else:
                candidate[1].close()
        writer = None
        try:
            if connection is None:
                # All busy: a new arrival opens a connection of its own, as a new
                # visitor would, rather than wait for one (which would close the loop).
                connection = await asyncio.open_connection("127.0.0.1", port)
                opened += 1
            reader, writer = connection
            lag[k] = loop.time() - due
            writer.write(requests[k])
            status, _headers, body, reusable = await _read_answer(reader)
        except (OSError, asyncio.IncompleteReadError, ValueError, asyncio.CancelledError) as exc:
            # CancelledError: no answer by the round's deadline (see below).
            latency[k], outcome[k] = loop.time() - due, f"{NO_ANSWER}{type(exc).__name__}"
            if writer is not None:
                writer.close()
            return
        latency[k] = loop.time() - due
        outcome[k] = judge_answer(status, body.decode(errors="replace"), field_)
        if reusable:
            idle.append((connection, loop.time()))
        else:
            writer.close()

    cpu = time.process_time()
    start = loop.time() + 0.01
    tasks = []
    for k in range(n):
        due = start + k / rate
        if (wait := due - loop.time()) > 0:
            await asyncio.sleep(wait)
        tasks.append(loop.create_task(send(k, due)))
    # One deadline for the round rather than a timer per request (CPU): what has no
    # answer ``timeout`` seconds after the last scheduled send is cancelled and counted.
    if tasks:
        await asyncio.wait(tasks, timeout=max(0.0, start + n / rate + timeout - loop.time()))
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks)
    seconds = max(latency[k] + start + k / rate for k in range(n)) - start if n else 0.0
    cpu = time.process_time() - cpu
    for connection, _since in idle:
        connection[1].close()
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "opened": opened,
        "priority": priority,
        "latency_ms": [1000 * x for x in latency],
        "lag_ms": [1000 * x for x in lag],
        "outcome": outcome,
    }


@dataclass
class OpenLoopRound:
    """Requests sent at a fixed rate (:func:`open_loop`); latency from the scheduled time."""

    offered_rate: float
    seconds: float  # from the first scheduled send to the last answer
    latencies_ms: list[float]  # every answer's, failures too
    lag_ms: list[float]  # how late each request was written, against its schedule
    outcomes: Counter[str]
    generator_cpu_ms: float  # the generator's CPU per request (its own process, timed part)
    connections: int  # kept-alive connections opened before the clock
    opened: int  # connections opened during the round, all others being busy
    priority: str  # the generator's scheduling: real-time FIFO, else a nice value
    max_lag_ms: float
    server_cpu_ms: float = 0.0  # gunicorn workers' CPU per success
    # Per success, by process, the drain of what the round left included (the caller's).
    background_cpu_ms: dict[str, float] = field(default_factory=dict)
    machine_busy: float = 0.0

    @property
    def successes(self) -> int:
        return self.outcomes["ok"]

    @property
    def achieved_rate(self) -> float:
        return len(self.latencies_ms) / self.seconds

    @property
    def failures(self) -> Counter[str]:
        return Counter({k: v for k, v in self.outcomes.items() if k != "ok"})

    @property
    def unanswered(self) -> int:
        """Requests with no answer (reset, or none by the deadline): the server may have
        done their work."""
        return sum(n for k, n in self.outcomes.items() if k.startswith(NO_ANSWER))

    @property
    def kept_schedule(self) -> bool:
        """The generator sent on time: otherwise the offered rate was not offered."""
        return bool(self.lag_ms) and percentile(self.lag_ms, 99) <= self.max_lag_ms


def open_loop(
    server: Server,
    work: list[Request],
    rate: float,
    judge: PayloadJudge,
    *,
    connections: int = 32,
    timeout: float = 30,
    max_lag_ms: float = OPEN_LOOP_MAX_LAG_MS,
    paths: list[tuple[bytes, str, str]] | None = None,
) -> OpenLoopRound:
    """POST each request once, request k at k / ``rate`` seconds, over a pool of
    ``connections`` kept-alive connections (more are opened when all are busy).

    ``paths``: requests (body, token, path) each to a path of its own, sent after
    ``work`` (which goes to ``/graphql/``): WeChat's pushes carry a signed query string.

    The generator is this file run as a process of its own (asyncio, one thread), so
    its CPU is its own and it never waits for this process's GIL; it reports how late
    it sent each request (``lag_ms``): a round whose p99 lag exceeds ``max_lag_ms`` is
    marked not kept (:attr:`OpenLoopRound.kept_schedule`) and must not be reported.
    The caller adds the CPU of background processes (a Celery worker) once it has
    drained what the round left (:attr:`OpenLoopRound.background_cpu_ms`).
    """
    with tempfile.TemporaryDirectory(prefix="bench-open-") as tmp:
        spec_path, requests, out = (
            Path(tmp) / "spec.json",
            Path(tmp) / "requests.tsv",
            Path(tmp) / "out.json",
        )
        with open(requests, "wb") as f:
            for body, token in work:
                f.write(token.encode() + b"\t" + body + b"\n")
            for body, token, own_path in paths or ():
                f.write(token.encode() + b"\t" + body + b"\t" + own_path.encode() + b"\n")
        spec = {
            "port": server.port,
            "path": "/graphql/",
            "rate": rate,
            "requests": str(requests),
            "success_field": judge.success_field,
            "connections": connections,
            "timeout": timeout,
            "out": str(out),
        }
        spec_path.write_text(json.dumps(spec))
        meter = Meter(server.worker_pids())
        done = subprocess.run(
            [sys.executable, __file__, "open-loop", str(spec_path)],
            capture_output=True,
            text=True,
            timeout=(len(work) + len(paths or ())) / rate + 4 * timeout + 60,
        )
        if done.returncode != 0 or not out.exists():
            raise SystemExit(f"open-loop generator failed ({done.returncode}):\n{done.stderr}")
        data = json.loads(out.read_text())
    outcomes = Counter[str](data["outcome"])
    result = OpenLoopRound(
        offered_rate=rate,
        seconds=data["seconds"],
        latencies_ms=data["latency_ms"],
        lag_ms=data["lag_ms"],
        outcomes=outcomes,
        generator_cpu_ms=data["cpu_seconds"] * 1000 / max(1, len(work) + len(paths or ())),
        connections=connections,
        opened=data["opened"],
        priority=data["priority"],
        max_lag_ms=max_lag_ms,
    )
    # The server's and the machine's share, per success, from the meter.
    measured = meter.finish(Round("open loop", max(1, result.successes), result.seconds), "self")
    result.server_cpu_ms = measured.server_cpu_ms or 0.0
    result.machine_busy = measured.machine_busy
    return result


def describe_open_loop(r: OpenLoopRound, unit: str) -> str:
    """One line: offered and achieved rate, latency from the schedule, CPU per operation."""
    lag = f"send lag p99 {percentile(r.lag_ms, 99):.1f} ms, max {max(r.lag_ms):.1f} ms"
    cpu = (
        f"server CPU {r.server_cpu_ms:.2f} ms/{unit}, generator CPU {r.generator_cpu_ms:.2f} ms/req"
    )
    for name, ms in r.background_cpu_ms.items():
        cpu += f", {name} CPU {ms:.2f} ms/{unit}"
    fails = f", failures {dict(r.failures)}" if r.failures else ""
    head = f"open loop {r.offered_rate:7.1f}/s offered, {r.achieved_rate:7.1f}/s achieved"
    if not r.kept_schedule:
        return (
            f"{head}: NOT REPORTED, the generator fell behind its schedule ({lag} > "
            f"{r.max_lag_ms:.0f} ms); {cpu}"
        )
    lat = r.latencies_ms
    return (
        f"{head}: {r.successes:,} {unit}s, p50 {percentile(lat, 50):.1f} ms, p90 "
        f"{percentile(lat, 90):.1f} ms, p99 {percentile(lat, 99):.1f} ms, max {max(lat):.1f} ms; "
        f"{cpu}; {lag} ({r.priority}); connections {r.connections} + {r.opened} opened; "
        "machine busy "
        f"{100 * r.machine_busy:.0f}%{fails}"
    )


def render_open_loop_table(rounds: list[OpenLoopRound], unit: str) -> str:
    """The open-loop rounds as a Markdown table (a refused round shows no latency)."""
    names = sorted({name for r in rounds for name in r.background_cpu_ms})
    header = (
        f"| offered {unit}s/s | achieved /s | p50 ms | p90 ms | p99 ms | max ms | errors "
        f"| server CPU ms/{unit} | generator CPU ms/req | "
        + "".join(f"{name} CPU ms/{unit} | " for name in names)
        + "send lag p99 ms | machine busy |"
    )
    rule = "|" + " ---: |" * (header.count("|") - 1)
    lines = [header, rule]
    for r in rounds:
        if r.kept_schedule:
            lat = r.latencies_ms
            figures = (
                f"{percentile(lat, 50):.1f} | {percentile(lat, 90):.1f} | "
                f"{percentile(lat, 99):.1f} | {max(lat):.1f}"
            )
        else:
            figures = "not kept | — | — | —"
        lines.append(
            f"| {r.offered_rate:,.0f} | {r.achieved_rate:,.0f} | {figures} "
            f"| {sum(r.failures.values()):,} | {r.server_cpu_ms:.2f} | {r.generator_cpu_ms:.2f} | "
            + "".join(f"{r.background_cpu_ms.get(name, 0):.2f} | " for name in names)
            + f"{percentile(r.lag_ms, 99):.1f} | {100 * r.machine_busy:.0f}% |"
        )
    return "\n".join(lines)


def connections_of(url: str) -> int:
    """Client backends connected to the bench database now, this query's left out."""
    import psycopg

    conninfo, name = _admin_conninfo(url)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        ).fetchone()
    return int(row[0]) if row else 0


def report_invariants(checks: dict[str, bool], problems: list[Any]) -> None:
    """Print each check (and the ledger audit's problems); exit non-zero if one failed."""
    print("\ninvariants:")
    for text, ok in checks.items():
        print(f"    {'ok  ' if ok else 'FAIL'} {text}")
    for problem in problems[:10]:
        print("   ", problem)
    if not all(checks.values()):
        raise SystemExit("invariants FAILED")


# --- py-spy profile of the workers -----------------------------------------------------------


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


def stop_profilers(profilers: list[subprocess.Popen[bytes]]) -> None:
    for profiler in profilers:
        profiler.send_signal(signal.SIGINT)
        profiler.wait(timeout=60)


@contextmanager
def profiling(server: Server, directory: Path | None) -> Iterator[None]:
    """py-spy records the workers inside the block (nothing when ``directory`` is None)."""
    profilers = start_profilers(server, directory) if directory else []
    try:
        yield
    finally:
        stop_profilers(profilers)


# Where the workers' CPU goes: (label, a frame that marks it). Shares are inclusive, so
# nested lines overlap (an operation includes the ORM work it does).
PROFILE_REQUEST = [
    ("request in gunicorn (everything)", "handle_request (gunicorn/workers/"),
    ("  bearer token check (accounts.tokens.authenticate)", "authenticate (accounts/tokens.py"),
    ("  GraphQL view (parse/validate cache, execute)", "ApiView.execute_graphql_request"),
]
PROFILE_ANYWHERE = [
    ("anywhere: Django ORM building SQL (SQLCompiler.as_sql)", "as_sql (django/db/models/sql/"),
    ("anywhere: psycopg sending/reading (Cursor.execute)", "Cursor.execute (psycopg/cursor.py"),
    ("anywhere: django-tenants SET search_path", "_handle_search_path (django_tenants"),
    ("anywhere: new redis.Redis client per cache call", "Redis.__init__ (redis/client.py"),
]


def profile_parts(*operation: tuple[str, str]) -> list[tuple[str, str]]:
    """The request's parts, then the operation's (indented under the view), then the
    costs found anywhere."""
    return [*PROFILE_REQUEST, *operation, *PROFILE_ANYWHERE]


def summarise_profile(directory: Path, parts: list[tuple[str, str]]) -> str:
    """Inclusive share of on-CPU samples per part of the request (py-spy raw output);
    ``parts`` are (label, a frame that marks it)."""
    counts = Counter[str]()
    total = 0
    for path in directory.glob("worker-*.txt"):
        for line in path.read_text().splitlines():
            stack, _, number = line.rpartition(" ")
            if not stack or not number.isdigit():
                continue
            total += int(number)
            for label, marker in parts:
                if marker in stack:
                    counts[label] += int(number)
    lines = [f"\nprofile of the gunicorn workers (py-spy --gil, {total:,} samples):"]
    for label, _marker in parts:
        lines.append(f"  {100 * counts[label] / max(1, total):5.1f}%  {label}")
    return "\n".join(lines)


if __name__ == "__main__":
    # Processes of their own, started by this module: the open-loop generator
    # (:func:`open_loop`) and the webhook receiver (:class:`WebhookReceiver`).
    if len(sys.argv) == 3 and sys.argv[1] == "open-loop":
        _spec = json.loads(Path(sys.argv[2]).read_text())
        Path(_spec["out"]).write_text(json.dumps(asyncio.run(_open_loop(_spec))))
    elif len(sys.argv) == 3 and sys.argv[1] == "receiver":
        _receive(int(sys.argv[2]))
    else:
        raise SystemExit("usage: harness.py open-loop SPEC.json | receiver PORT")
