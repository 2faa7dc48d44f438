"""The deletion's beat task through Redis and a real worker process (committed rows)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import User
from points import ledger
from points.audit import audit
from privacy.models import ErasureRequest
from privacy.tasks import erase_due_accounts
from redemption.tests.helpers import earn
from tests.fixtures.tenants import Tenants

pytestmark = pytest.mark.celery_worker


def test_the_beat_task_erases_due_accounts_in_a_real_worker(
    celery_worker: object,
    committed_db: None,
    tenants: Tenants,
    new_phone: Callable[[], str],
    unique: Callable[[str], str],
) -> None:
    consumer, _ = User.objects.get_or_create_consumer(new_phone())
    earn(tenants.acme, consumer, 30)
    request = ErasureRequest.objects.create(
        user=consumer, erase_after=timezone.now() - timedelta(seconds=1)
    )
    assert erase_due_accounts.delay().get(timeout=60) >= 1
    request.refresh_from_db()
    assert request.status == ErasureRequest.Status.DONE and request.forfeited_points == 30
    consumer.refresh_from_db()
    assert consumer.phone is None and not consumer.is_active
    assert ledger.balance_of(ledger.wallet(consumer.pk)) == 0
    assert audit() == []
