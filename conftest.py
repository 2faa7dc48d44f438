"""Fixtures shared by every test: tenants created once per run, committed-data helpers.

The public schema and two merchants (``acme``, ``beta``) with staff are created once
per session and committed, so per-test transactions roll back around them. Tests
that need real concurrency use ``committed_db``: their writes commit (each thread
has its own connection) and they keep to their own freshly made rows, so nothing
has to be flushed (a flush would also delete the tenant rows).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.db import connection, connections

from accounts.models import User
from accounts.sms import MemorySmsBackend
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
def committed_db(
    django_db_setup: None, django_db_blocker: pytest.FixtureRequest
) -> Iterator[None]:
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
