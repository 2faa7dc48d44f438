"""A merchant's own refresh: its rows rebuilt as the full rollup builds them, no one else's."""

from __future__ import annotations

from typing import Any

import pytest
from django.db.models import Model
from django.utils import timezone

from analytics import queries
from analytics.models import ConsumerDay, DailyActivity, MerchantRollup, Reach, WeeklyCohort
from analytics.rollup import rollup, rollup_merchant
from analytics.tests.conftest import FIRST, LAST, World
from analytics.tests.test_analytics import _tables
from tests.fixtures.api import Api, access_token
from tests.fixtures.tenants import Tenants

pytestmark = pytest.mark.django_db

SUMMARIES: tuple[type[Model], ...] = (ConsumerDay, Reach, DailyActivity, WeeklyCohort)


def _forget(merchant_id: int) -> None:
    for model in SUMMARIES:
        model._default_manager.filter(merchant_id=merchant_id).delete()


def test_a_merchants_rollup_rebuilds_its_rows_as_the_full_one_and_no_others(
    world: World,
) -> None:
    rollup(FIRST, LAST)
    full = _tables()
    _forget(world.m.pk)
    _forget(world.n.pk)
    rollup_merchant(world.m.pk, FIRST, LAST)
    # M's rows are back exactly; N's stay missing (its own refresh or the periodic one).
    # (where each table's rows hold the merchant: ConsumerDay, Reach, DailyActivity, cohorts)
    column = (2, 2, 1, 1)
    without_n = [
        [row for row in table if row[i] != world.n.pk]
        for table, i in zip(full, column, strict=True)
    ]
    assert _tables() == without_n
    assert MerchantRollup.objects.filter(merchant_id=world.m.pk).exists()
    assert not MerchantRollup.objects.filter(merchant_id=world.n.pk).exists()
    rollup_merchant(world.n.pk, FIRST, LAST)
    assert _tables() == full


def test_the_summary_says_when_the_merchant_was_last_rolled_up(world: World) -> None:
    rollup(FIRST, LAST)
    periodic = queries.summary(world.m.pk, FIRST, LAST).updated_at
    assert periodic is not None
    rollup_merchant(world.m.pk, FIRST, LAST)
    own = queries.summary(world.m.pk, FIRST, LAST).updated_at
    assert own is not None and own > periodic
    # Another merchant's figures still date from the periodic run.
    assert queries.summary(world.n.pk, FIRST, LAST).updated_at == periodic


def test_refresh_queues_the_merchants_rollup_once_per_five_minutes(
    merchant_api: Api, tenants: Tenants, django_capture_on_commit_callbacks: Any
) -> None:
    token = access_token(tenants.acme_operator)
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        result = merchant_api.op("RefreshAnalytics", token=token, merchant="acme")
    assert len(callbacks) == 1
    payload = result["data"]["refreshAnalytics"]
    assert payload == {"queued": True, "errors": []}
    # Eager in tests: the task ran on commit of the request.
    rolled = MerchantRollup.objects.get(merchant=tenants.acme).rolled_at
    assert rolled >= before
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = merchant_api.op("RefreshAnalytics", token=token, merchant="acme")
    assert callbacks == []
    assert again["data"]["refreshAnalytics"]["queued"] is None
    assert [e["code"] for e in again["data"]["refreshAnalytics"]["errors"]] == ["RATE_LIMITED"]
    assert MerchantRollup.objects.get(merchant=tenants.acme).rolled_at == rolled
    # Another merchant has its own allowance.
    other = merchant_api.op(
        "RefreshAnalytics", token=access_token(tenants.beta_owner), merchant="beta"
    )
    assert other["data"]["refreshAnalytics"]["errors"] == []


def test_a_viewer_may_not_refresh(merchant_api: Api, tenants: Tenants) -> None:
    result = merchant_api.op(
        "RefreshAnalytics", token=access_token(tenants.acme_viewer), merchant="acme"
    )
    assert [e["code"] for e in result["data"]["refreshAnalytics"]["errors"]] == [
        "PERMISSION_DENIED"
    ]
    assert not MerchantRollup.objects.filter(merchant=tenants.acme).exists()
