"""The hand-computed history that the analytics tests share, dated into March 2021.

Weeks start on Monday 1 March 2021. M is acme, N is beta; no other test writes 2021.

| day        | a                  | b               | c          |
| ---------- | ------------------ | --------------- | ---------- |
| Mon 03-01  | 2 claims at M      | answers at M    |            |
| Tue 03-02  | redeems            |                 |            |
| Wed 03-03  |                    |                 | claim at N |
| Mon 03-08  | claim at N         | claim at M      |            |
| Mon 03-15  |                    | redeems         | claim at M |

and 3 failed scans at M on 03-08. Every award is 10 points, every redemption 5.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from django_tenants.utils import tenant_context

from accounts.models import User
from campaigns.models import ScanFailure
from core.db import connection
from points import services
from points.models import Transaction
from points.tests.test_liability import backdate
from tenants.models import Merchant
from tests.fixtures.tenants import Tenants

FIRST, LAST = date(2021, 3, 1), date(2021, 3, 21)


def d(day: int) -> date:
    return date(2021, 3, day)


@dataclass
class World:
    m: Merchant
    n: Merchant
    a: User
    b: User
    c: User
    unique: Callable[[str], str]

    def at(self, day: int, txn: Transaction) -> Transaction:
        backdate(txn, datetime(2021, 3, day, 10, tzinfo=UTC))
        return txn

    def claim(self, who: User, merchant: Merchant, day: int) -> Transaction:
        # A scan-code claim is an award naming its code (campaigns/scan/claims.py).
        code = self.unique("code")
        txn = services.award(
            merchant, "an", who, 10, idempotency_key=self.unique("c"), metadata={"code": code}
        )
        return self.at(day, txn)

    def answer(self, who: User, merchant: Merchant, day: int) -> Transaction:
        txn = services.award(merchant, "an", who, 10, idempotency_key=self.unique("q"))
        return self.at(day, txn)

    def redeem(self, who: User, day: int) -> Transaction:
        return self.at(day, services.spend(who, 5, idempotency_key=self.unique("s")))


@pytest.fixture
def world(tenants: Tenants, unique: Callable[[str], str], new_phone: Callable[[], str]) -> World:
    m, n = tenants.acme, tenants.beta
    for merchant in (m, n):
        services.fund_with_money(
            merchant, amount_minor=1_000, currency="CNY", rate="100", payment_reference=unique("p")
        )
        services.reserve(merchant, "an", 1_000, idempotency_key=unique("r"))
    a, b, c = (User.objects.get_or_create_consumer(new_phone())[0] for _ in range(3))
    w = World(m, n, a, b, c, unique)
    w.claim(a, m, 1)
    w.claim(a, m, 1)
    w.answer(b, m, 1)
    w.redeem(a, 2)
    w.claim(c, n, 3)
    w.claim(a, n, 8)
    w.claim(b, m, 8)
    w.redeem(b, 15)
    w.claim(c, m, 15)
    with tenant_context(m):
        ScanFailure.objects.create(day=d(8), reason="UNKNOWN_CODE", count=3)
    connection.set_schema_to_public()
    return w
