"""Tasks through Redis and a real worker process: tenancy is carried, lots expire."""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery.result import EagerResult
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import User
from core.db import connection
from points import ledger, services
from points.audit import audit
from points.models import Lot, Transaction, TransactionKind
from points.tasks import expire_lots
from tenants.tasks import schema_probe
from tests.fixtures.tenants import Tenants

pytestmark = pytest.mark.celery_worker


def test_task_runs_in_the_schema_it_was_sent_from(
    celery_worker: object, committed_db: None, tenants: Tenants
) -> None:
    with tenant_context(tenants.acme):
        result = schema_probe.delay()
        # Through the broker to the worker process, not run in this process.
        assert not isinstance(result, EagerResult)
        assert result.get(timeout=30) == "m_acme"
    with tenant_context(tenants.beta):
        assert schema_probe.delay().get(timeout=30) == "m_beta"
    connection.set_schema_to_public()
    assert schema_probe.delay().get(timeout=30) == "public"


def test_worker_expires_lots_past_their_date(
    celery_worker: object, committed_db: None, tenants: Tenants, new_phone, unique
) -> None:
    merchant = tenants.acme
    consumer, _ = User.objects.get_or_create_consumer(new_phone())
    services.fund_with_money(
        merchant, amount_minor=1_000, currency="CNY", rate="10", payment_reference=unique("pay")
    )
    ref = unique("campaign")
    services.reserve(merchant, ref, 100, idempotency_key=unique("reserve"))
    services.award(merchant, ref, consumer, 60, idempotency_key=unique("award"))
    services.award(merchant, ref, consumer, 40, idempotency_key=unique("award"))
    old = Lot.objects.filter(consumer=consumer).order_by("id").first()
    assert old is not None
    Lot.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(minutes=1))

    assert expire_lots.delay().get(timeout=60) >= 1

    wallet = ledger.wallet(consumer.pk)
    assert ledger.balance_of(wallet) == 40
    expiry = Transaction.objects.get(consumer=consumer, kind=TransactionKind.EXPIRE)
    assert expiry.entries.get(account=wallet).amount == -60
    # A second run finds nothing left to expire for this consumer.
    expire_lots.delay().get(timeout=60)
    assert Transaction.objects.filter(consumer=consumer, kind=TransactionKind.EXPIRE).count() == 1
    assert audit() == []
