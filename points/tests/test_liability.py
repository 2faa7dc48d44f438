"""The liability report against a ledger history computed by hand, and the ledger itself.

Two fresh merchants: M pays by scan-code claims, N by plain awards. Every event is
dated into 2021 (no other test writes there), so the month rows are exact; the
current figures are compared as the change the fixture made.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import User
from campaigns.models import CampaignStatus, Code
from campaigns.scan.claims import claim_code
from campaigns.scan.generation import generate_batch
from campaigns.scan.services import create_batch, create_scan_campaign
from campaigns.services import set_status
from core.db import connection
from points import liability, services
from points.audit import audit
from points.models import Entry, Lot, Transaction
from tenants.models import Membership, Merchant, Role
from tenants.onboarding import create_merchant
from tests.fixtures.api import Api, access_token
from tests.fixtures.tenants import Tenants

pytestmark = pytest.mark.django_db


def at(month: int, day: int) -> datetime:
    return datetime(2021, month, day, 12, tzinfo=UTC)


def backdate(txn: Transaction, when: datetime) -> None:
    """Date one posting (transaction, entries, the lot it opened) in the past.

    Ledger rows are append-only (a trigger refuses updates); a test may step around
    the trigger, inside its own transaction that rolls back, to write history.
    """
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        Transaction.objects.filter(pk=txn.pk).update(created_at=when)
        Entry.objects.filter(transaction=txn).update(created_at=when)
        Lot.objects.filter(source=txn).update(earned_at=when)
        cursor.execute("SET LOCAL session_replication_role = origin")


def expires_in(txn: Transaction, days: float) -> None:
    Lot.objects.filter(source=txn).update(expires_at=timezone.now() + timedelta(days=days))


@dataclass
class History:
    m: Merchant
    n: Merchant
    alice: User
    bob: User


def make_history(unique: Callable[[str], str], new_phone: Callable[[], str]) -> History:
    m = create_merchant(slug=unique("liab-m"), name="M Tea")
    n = create_merchant(slug=unique("liab-n"), name="N Bakery")
    for merchant in (m, n):
        services.fund_with_money(
            merchant, amount_minor=10_000, currency="CNY", rate="100", payment_reference=unique("p")
        )
    with tenant_context(m):
        campaign = create_scan_campaign(name="Caps")
        set_status(m, campaign, CampaignStatus.ACTIVE)
        batch = generate_batch(create_batch(m, campaign, size=4, points_per_code=100).pk)
        codes = list(
            Code.objects.filter(batch=batch).order_by("serial").values_list("code", flat=True)
        )
    connection.set_schema_to_public()
    services.reserve(n, "gifts", 1_000, idempotency_key=unique("r"))
    alice, bob = (User.objects.get_or_create_consumer(new_phone())[0] for _ in range(2))

    def claim(who: User, code: str) -> Transaction:
        result = claim_code(who, code, unique("claim"))
        connection.set_schema_to_public()
        assert result.claim.transaction_id is not None  # fixed points always post
        return Transaction.objects.get(pk=result.claim.transaction_id)

    def gift(who: User, points: int) -> Transaction:
        return services.award(n, "gifts", who, points, idempotency_key=unique("a"))

    def spend(who: User, points: int) -> Transaction:
        return services.spend(who, points, idempotency_key=unique("s"))

    # January: alice and bob claim a cap each (M, 100 each).
    a1 = claim(alice, codes[0])
    backdate(a1, at(1, 10))
    expires_in(a1, 20)
    b1 = claim(bob, codes[1])
    backdate(b1, at(1, 20))
    # February: N gives alice 50; alice spends 30 (all from M's lot, the soonest to
    # expire), the order is cancelled, then she spends 120 (100 from M, 20 from N).
    a2 = gift(alice, 50)
    backdate(a2, at(2, 5))
    expires_in(a2, 45)
    s1 = spend(alice, 30)
    backdate(s1, at(2, 10))
    backdate(services.reverse(s1, idempotency_key=unique("x")), at(2, 12))
    backdate(spend(alice, 120), at(2, 20))
    # March: bob claims a second cap, which is reversed; bob's January lot expires
    # (100); N gives bob 70; alice claims the last cap.
    b2 = claim(bob, codes[2])
    backdate(b2, at(3, 1))
    backdate(services.reverse(b2, idempotency_key=unique("x")), at(3, 2))
    Lot.objects.filter(source=b1).update(expires_at=timezone.now() - timedelta(minutes=1))
    (lot,) = Lot.objects.filter(source=b1)
    expiry = services.expire_lot(lot.pk)
    assert expiry is not None
    backdate(expiry, at(3, 15))
    b3 = gift(bob, 70)
    backdate(b3, at(3, 20))
    expires_in(b3, 75)
    a3 = claim(alice, codes[3])
    backdate(a3, at(3, 25))
    expires_in(a3, 10)
    return History(m, n, alice, bob)


def flows(month: liability.Month) -> tuple[int, ...]:
    f = month.flows
    return (
        month.opening,
        f.issued,
        f.redeemed,
        f.expired,
        f.award_reversals,
        f.redeem_reversals,
        month.closing,
    )


# (month, opening, issued, redeemed, expired, award rev., redeem rev., closing), by hand.
PLATFORM = [
    (date(2021, 1, 1), 0, 200, 0, 0, 0, 0, 200),
    (date(2021, 2, 1), 200, 50, 150, 0, 0, 30, 130),
    (date(2021, 3, 1), 130, 270, 0, 100, 100, 0, 200),
]
M_MONTHS = [
    (date(2021, 1, 1), 0, 200, 0, 0, 0, 0, 200),
    (date(2021, 2, 1), 200, 0, 130, 0, 0, 30, 100),
    (date(2021, 3, 1), 100, 200, 0, 100, 100, 0, 100),
]
N_MONTHS = [
    (date(2021, 2, 1), 0, 50, 20, 0, 0, 0, 30),
    (date(2021, 3, 1), 30, 70, 0, 0, 0, 0, 100),
]


def test_report_matches_the_hand_computed_figures_and_the_ledger(
    tenants: Tenants, unique: Callable[[str], str], new_phone: Callable[[], str]
) -> None:
    before = liability.report()
    h = make_history(unique, new_phone)
    after = liability.report()

    assert audit() == []
    assert after.differences == []
    # The figure of record is the ledger's: Σ wallet balances = Σ entries = Σ open lots.
    assert after.outstanding == after.wallet_entries == after.open_lots
    # alice keeps 30 of N's (45 days) and 100 of M's (10 days); bob 70 of N's (75 days).
    assert after.outstanding - before.outstanding == 200
    expiring = {d: after.expiring[d] - before.expiring[d] for d in liability.WINDOWS}
    assert expiring == {30: 100, 60: 130, 90: 200}

    rows = {r.month: r for r in after.months}
    assert [(m, *flows(rows[m])) for m, *_ in PLATFORM] == PLATFORM

    merchants = {r.merchant_id: r for r in after.merchants}
    m, n = merchants[h.m.pk], merchants[h.n.pk]
    assert (m.slug, m.outstanding, m.expiring, m.overdue) == (
        h.m.slug,
        100,
        {30: 100, 60: 100, 90: 100},
        0,
    )
    assert (n.outstanding, n.expiring) == (100, {30: 0, 60: 30, 90: 100})
    assert [(r.month, *flows(r)) for r in m.months] == M_MONTHS
    assert [(r.month, *flows(r)) for r in n.months] == N_MONTHS
    # The last closing is what consumers still hold of each merchant's points.
    assert m.months[-1].closing == m.outstanding and n.months[-1].closing == n.outstanding

    # One merchant alone gives the same figures, and --month picks one month.
    alone = liability.merchant_liability(h.m.pk)
    assert (alone.outstanding, alone.expiring, alone.months) == (
        m.outstanding,
        m.expiring,
        m.months,
    )
    feb = liability.merchant_liability(h.n.pk, month=date(2021, 2, 1)).months
    assert [(r.month, *flows(r)) for r in feb] == N_MONTHS[:1]
    jan = liability.merchant_liability(h.n.pk, month=date(2021, 1, 1)).months
    assert [flows(r) for r in jan] == [(0, 0, 0, 0, 0, 0, 0)]


def test_report_costs_a_constant_number_of_queries(tenants: Tenants) -> None:
    with CaptureQueriesContext(connection) as queries:
        liability.report()
    assert len(queries) == 6  # wallet totals, open lots, entries, lots, lot debits, slugs
    with CaptureQueriesContext(connection) as queries:
        liability.merchant_liability(tenants.acme.pk)
    assert len(queries) == 3


def test_report_lists_a_difference_with_the_ledger() -> None:
    # A wallet whose balance row disagrees with its entries (never done outside a test).
    from points import ledger
    from points.models import Account

    consumer = User.objects.get_or_create_consumer("+8613900000777")[0]
    wallet = ledger.wallet(consumer.pk)
    Account.objects.filter(pk=wallet.pk).update(balance=5)
    result = liability.report()
    assert not result.consistent
    assert any("wallet entries" in d for d in result.differences)
    assert any("open lots" in d for d in result.differences)


def test_liability_report_command_prints_text_and_csv(tenants: Tenants) -> None:
    out = StringIO()
    call_command("liability_report", stdout=out)
    assert "liability equals the ledger's balances" in out.getvalue()
    out = StringIO()
    call_command("liability_report", "--csv", "--month", "2021-02", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].split(",") == liability.CSV_HEADER
    assert lines[1].startswith("platform,,2021-02,")


def test_points_liability_query_shows_the_merchants_own_figures(
    merchant_api: Api, tenants: Tenants, unique: Callable[[str], str], new_phone: Callable[[], str]
) -> None:
    h = make_history(unique, new_phone)
    owner = User.objects.create_user(f"{unique('o')}@m.test", "pw-long-enough-1", name="o")
    Membership.objects.create(merchant=h.n, user=owner, role=Role.ADMIN)
    result = merchant_api.op(
        "PointsLiability", {"last": 1}, token=access_token(owner), merchant=h.n.slug
    )
    assert "errors" not in result, result
    data = result["data"]["pointsLiability"]
    assert data["outstanding"] == 100 and data["overdue"] == 0
    assert data["expiring"] == [
        {"days": 30, "points": 0},
        {"days": 60, "points": 30},
        {"days": 90, "points": 100},
    ]
    assert data["months"] == [
        {
            "month": "2021-03-01",
            "opening": 30,
            "issued": 70,
            "redeemed": 0,
            "expired": 0,
            "awardReversals": 0,
            "redeemReversals": 0,
            "closing": 100,
        }
    ]


def test_points_liability_needs_the_admin_role(merchant_api: Api, tenants: Tenants) -> None:
    for user, allowed in ((tenants.acme_viewer, False), (tenants.acme_operator, False)):
        result = merchant_api.op("PointsLiability", token=access_token(user), merchant="acme")
        assert result["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED", allowed
    result = merchant_api.op(
        "PointsLiability", token=access_token(tenants.acme_admin), merchant="acme"
    )
    assert "errors" not in result, result
