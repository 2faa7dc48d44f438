"""Awards by the merchant's own systems (earning API) in the rollups (decision 0282).

Dated 5 April 2021 (a Monday): the shared history of conftest.py is March 2021.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest

from accounts.models import User
from analytics import queries
from analytics.models import ConsumerDay
from analytics.rollup import rollup
from earning import services as earning
from points import services
from points.models import Transaction, TransactionKind
from points.tests.test_liability import backdate
from tests.fixtures.tenants import Tenants

pytestmark = pytest.mark.django_db

DAY = date(2021, 4, 5)


def test_a_merchant_award_is_activity_and_counted_once_it_reaches_a_consumer(
    tenants: Tenants, unique: Callable[[str], str], new_phone: Callable[[], str]
) -> None:
    merchant = tenants.acme
    services.fund_with_money(
        merchant, amount_minor=1_000, currency="CNY", rate="100", payment_reference=unique("p")
    )
    phone, later = new_phone(), new_phone()
    consumer = User.objects.get_or_create_consumer(phone)[0]
    for to in (phone, later):  # a registered phone, and one held for sign-up
        result = earning.award_points(
            merchant,
            phone=to,
            consumer_id=None,
            points=10,
            reason="Review",
            external_id=unique("x"),
            idempotency_key=unique("k"),
        )
        backdate(result.award.transaction, datetime(2021, 4, 5, 10, tzinfo=UTC))

    rollup(DAY, DAY)

    # The held award is no one's activity yet.
    (row,) = ConsumerDay.objects.filter(day=DAY, merchant=merchant)
    assert (row.consumer_id, row.awards, row.claims, row.answers) == (consumer.pk, 1, 0, 0)
    summary = queries.summary(merchant.pk, DAY, DAY)
    (day,) = summary.days
    assert (day.awards, day.dau, day.new) == (1, 1, 1)
    assert summary.totals["awards"] == 1 and summary.reached == 1
    assert queries.summary(None, DAY, DAY).days[0].awards == 1

    # The phone signs up: its credit (hold -> wallet) is the award reaching a consumer.
    newcomer = User.objects.get_or_create_consumer(later)[0]
    assert earning.credit_pending(newcomer) == 1
    credit = Transaction.objects.get(
        kind=TransactionKind.MERCHANT_AWARD, consumer_id=newcomer.pk, merchant_id=merchant.pk
    )
    backdate(credit, datetime(2021, 4, 5, 11, tzinfo=UTC))
    rollup(DAY, DAY)
    summary = queries.summary(merchant.pk, DAY, DAY)
    assert (summary.days[0].awards, summary.days[0].dau, summary.reached) == (2, 2, 2)
