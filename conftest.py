"""Fixtures shared by every test: tenants created once per run, committed-data helpers.

The public schema and two merchants (``acme``, ``beta``) with staff are created once
per session and committed, so per-test transactions roll back around them. Tests
that need real concurrency use ``committed_db``: their writes commit (each thread
has its own connection) and they keep to their own freshly made rows, so nothing
has to be flushed (a flush would also delete the tenant rows).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.core import signing
from django.core.cache import cache
from django.db import connection, connections
from django.test import Client
from django_tenants.utils import tenant_context

from accounts import tokens
from accounts.models import User
from accounts.sms import MemorySmsBackend
from core.signed_links import SignedLink
from frontend.pages import operations
from tenants.models import Membership, Merchant, Role
from tenants.onboarding import create_merchant

STAFF_PASSWORD = "correct-horse-battery"


@dataclass
class Tenants:
    acme: Merchant
    beta: Merchant
    acme_owner: User
    acme_admin: User
    acme_operator: User
    acme_viewer: User
    beta_owner: User


def _staff(email: str) -> User:
    user = User.objects.filter(email=email).first()
    return user or User.objects.create_user(email, STAFF_PASSWORD, name=email.split("@")[0])


def _merchant(slug: str, name: str, owner: User) -> Merchant:
    merchant = Merchant.objects.filter(slug=slug).first()
    return merchant or create_merchant(slug=slug, name=name, owner=owner)


@pytest.fixture(scope="session")
def django_db_setup(
    request: pytest.FixtureRequest,
    django_test_environment: None,
    django_db_blocker: Any,
    django_db_keepdb: bool,
    django_db_createdb: bool,
    django_db_modify_db_settings: None,
) -> Iterator[None]:
    """pytest-django's test database set-up, always for ``default``.

    pytest-django creates only the databases that ``django_db``-marked tests ask
    for, so a run of only ``committed_db`` tests would otherwise write to the real
    database. Ours always creates the test database.
    """
    from django.test.utils import setup_databases, teardown_databases

    keepdb = django_db_keepdb and not django_db_createdb
    with django_db_blocker.unblock():
        config = setup_databases(
            verbosity=request.config.option.verbose,
            interactive=False,
            aliases={"default"},
            serialized_aliases=set(),
            keepdb=keepdb,
        )
    assert connection.settings_dict["NAME"].startswith("test_"), connection.settings_dict
    yield
    if not keepdb:
        with django_db_blocker.unblock():
            teardown_databases(config, verbosity=request.config.option.verbose)


@pytest.fixture(scope="session")
def tenants(django_db_setup: None, django_db_blocker: pytest.FixtureRequest) -> Tenants:
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        acme_owner = _staff("owner@acme.test")
        beta_owner = _staff("owner@beta.test")
        acme = _merchant("acme", "Acme Tea", acme_owner)
        beta = _merchant("beta", "Beta Bakery", beta_owner)
        roles = {}
        for role in (Role.ADMIN, Role.OPERATOR, Role.VIEWER):
            user = _staff(f"{role}@acme.test")
            Membership.objects.get_or_create(merchant=acme, user=user, defaults={"role": role})
            roles[role] = user
        connection.set_schema_to_public()
        return Tenants(
            acme=acme,
            beta=beta,
            acme_owner=acme_owner,
            acme_admin=roles[Role.ADMIN],
            acme_operator=roles[Role.OPERATOR],
            acme_viewer=roles[Role.VIEWER],
            beta_owner=beta_owner,
        )


@pytest.fixture(autouse=True)
def _public_schema_and_clean_limits() -> Iterator[None]:
    """Every test starts in the public schema with empty rate-limit counters and outbox."""
    cache.clear()
    MemorySmsBackend.outbox.clear()
    yield
    for conn in connections.all(initialized_only=True):
        if hasattr(conn, "set_schema_to_public"):
            conn.set_schema_to_public()


@pytest.fixture
def committed_db(django_db_setup: None, django_db_blocker: pytest.FixtureRequest) -> Iterator[None]:
    """Database access with real commits, for tests that run threads or processes."""
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        yield
        connection.close()


@pytest.fixture
def unique() -> Callable[[str], str]:
    """Unique names for rows that tests commit (``unique('shop')`` → ``shop-1a2b3c``)."""
    return lambda prefix: f"{prefix}-{uuid.uuid4().hex[:8]}"


_phone_counter = iter(range(10_000_000))


@pytest.fixture
def new_phone() -> Callable[[], str]:
    """A fresh valid Chinese mobile number in E.164, different on every call in a run."""
    base = uuid.uuid4().int % 1000

    def make() -> str:
        return f"+86139{base:03d}{next(_phone_counter):05d}"

    return make


# --- Concurrency ------------------------------------------------------------------


def run_in_threads(count: int, work: Callable[[int], Any]) -> list[tuple[str, Any]]:
    """``work(i)`` in ``count`` threads released together: ("ok", result) or ("error", exc).

    Each thread has its own database connection (Django's are per thread), opened
    before the barrier so that the work really overlaps, and closed at the end.
    """
    barrier = threading.Barrier(count)
    results: list[tuple[str, Any]] = [("missing", None)] * count

    def thread(i: int) -> None:
        try:
            connection.ensure_connection()
            barrier.wait(timeout=60)
            results[i] = ("ok", work(i))
        except Exception as exc:
            results[i] = ("error", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=thread, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    assert all(status in ("ok", "error") for status, _value in results)
    return results


def run_jobs(jobs: list[Callable[[], object]], threads: int = 40) -> list[str]:
    """Run many jobs ``threads`` at a time (PostgreSQL here allows 100 connections):
    "ok", or the code of the DomainError a job raised."""
    from concurrent.futures import ThreadPoolExecutor

    from core.errors import DomainError

    def run(job: Callable[[], object]) -> str:
        try:
            job()
            return "ok"
        except DomainError as exc:
            return exc.code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=min(threads, len(jobs))) as pool:
        return list(pool.map(run, jobs))


# --- Celery ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def celery_worker(django_db_setup: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real Celery worker process on this run's queue, against the test database.

    Tests using it must commit their data (``committed_db``): the worker has its
    own connection. Tasks sent while it runs go through Redis, not eagerly.
    """
    from config.celery import app
    from tenants.tasks import schema_probe

    db = connection.settings_dict
    log_path = tmp_path_factory.mktemp("celery") / "worker.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}"
        f"/{db['NAME']}",
        "CELERY_TASK_ALWAYS_EAGER": "0",
    }
    with open(log_path, "w") as log:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool",
                "solo",
                "--without-gossip",
                "--without-mingle",
                "--loglevel",
                "INFO",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parent,
        )
    app.conf.task_always_eager = False
    try:
        # Ready when it answers a task (imports, broker and database all work).
        assert schema_probe.delay().get(timeout=90) == "public", log_path.read_text()
        yield app
    finally:
        app.conf.task_always_eager = True
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()


def merchant_with_codes(
    unique: Callable[[str], str], size: int, points: int, owner: User | None = None
) -> tuple[Merchant, list[str]]:
    """A funded merchant (committed) with an active scan campaign and one ready batch."""
    from campaigns.models import CampaignStatus, Code
    from campaigns.scan.generation import generate_batch
    from campaigns.scan.services import create_batch, create_scan_campaign
    from campaigns.services import set_status
    from points import services

    merchant = create_merchant(slug=unique("claims"), name="Claims Co", owner=owner)
    services.fund_with_money(
        merchant,
        amount_minor=size * points,
        currency="CNY",
        rate="100",
        payment_reference=unique("pay"),
    )
    with tenant_context(merchant):
        campaign = create_scan_campaign(name="Concurrent caps", description="10 points a cap")
        set_status(merchant, campaign, CampaignStatus.ACTIVE)
        batch = create_batch(merchant, campaign, size=size, points_per_code=points)
        generate_batch(batch.pk)  # (or already generated by the eager task on commit)
        found = list(
            Code.objects.filter(batch_id=batch.pk).order_by("serial").values_list("code", flat=True)
        )
    assert len(found) == size
    return merchant, found


# --- Processes the tests start --------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on (for a server a test starts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, process: subprocess.Popen[Any], log: Path, timeout: float) -> None:
    """Wait until ``url`` answers; fail with the process's log if it dies or is too slow."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:  # refused, reset, timed out (URLError is an OSError)
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"{url} did not answer within {timeout:.0f} s:\n{log.read_text()}")
            time.sleep(0.2)


# --- GraphQL --------------------------------------------------------------------


class Api:
    """Posts GraphQL to one endpoint through Django's test client (the full HTTP stack)."""

    def __init__(self, client: Client, path: str, kind: str) -> None:
        self.client, self.path, self.kind = client, path, kind

    def query(
        self,
        document: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        merchant: str | None = None,
        expect_status: int | None = 200,
        **headers: str,
    ) -> dict[str, Any]:
        if token:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        if merchant:
            headers["HTTP_X_MERCHANT"] = merchant
        response = self.client.post(
            self.path,
            data=json.dumps({"query": document, "variables": variables or {}}),
            content_type="application/json",
            **headers,
        )
        if expect_status is not None:
            assert response.status_code == expect_status, response.content
        return response.json()

    def op(self, name: str, variables: dict[str, Any] | None = None, **kwargs: Any) -> dict:
        """Send the named operation from graphql/operations/<api>/<name>.graphql."""
        document = operations(self.kind, [name])[name]  # what the front ends send
        return self.query(document, variables, **kwargs)


@pytest.fixture
def consumer_api(client: Client) -> Api:
    return Api(client, "/graphql/", "consumer")


@pytest.fixture
def merchant_api(client: Client) -> Api:
    return Api(client, "/merchant/graphql/", "merchant")


def access_token(user: User) -> str:
    """A bearer token for ``user`` without going through sign-in (tested separately)."""
    return tokens.issue(user).access_token


@pytest.fixture
def consumer(db: None, new_phone: Callable[[], str]) -> User:
    user, _created = User.objects.get_or_create_consumer(new_phone())
    return user


# --- Signed download links --------------------------------------------------------


def signed_ago(link: SignedLink, seconds: int, *values: Any) -> str:
    """A token of ``link`` for ``values`` as if made ``seconds`` ago (an expired link)."""

    class Signer(signing.TimestampSigner):
        def timestamp(self) -> str:
            return signing.b62_encode(int(time.time()) - seconds)

    return Signer(salt=link.salt).sign_object(dict(zip(link.fields, values, strict=True)))
