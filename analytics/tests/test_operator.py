"""The operators' analytics page in the admin and its CSV files, against the history of
conftest.py computed by hand, plus one event: **a claims at M on 03-08**, so that on
that day she is active with both merchants (M's DAU 2, N's DAU 1) but counts once on
the platform (DAU 2: a and b).

Platform, 03-01..03-21, by hand:

- DAU {01: 2, 02: 1, 03: 1, 08: 2, 15: 2}; new {01: 2, 03: 1}; returning {02: 1,
  08: 2, 15: 2}; on 03-21 WAU 2 (b, c since 03-15) and MAU 3;
- reached 3, repeat 3 (a twice on 03-01, b on 03-08, c on 03-15), redeemed 2;
- funnel: claims a 4 (2 at M on 03-01, N and M on 03-08), b 1, c 2 = 7; scans = 7 + 3
  failed = 10; redemptions 2;
- cohort of week 03-01: 3 consumers, 2 active a week later (a, b), 2 two weeks later
  (b, c).

Merchants: M reached a, b, c (repeat a and b; a and b redeemed), 5 claims, 1 answer,
8 scans; N reached c and a (no repeat; a redeemed, before N reached her), 2 claims.

Liability (every award 10 points, every spend 5, oldest lot first): M's lots hold
a 5 + 10 + 10, b 5 + 10, c 10 = 50; N's a 10, c 10 = 20. The fixture sets c's N lot to
expire in 20 days, a's N lot in 50, b's M claim lot in 80; all the others in a year.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from analytics import downloads, queries
from analytics.models import DailyActivity
from analytics.rollup import rollup
from analytics.tests.conftest import FIRST, LAST, World, d
from core.db import connection
from points import liability, services
from points.models import Lot
from tenants.models import Merchant
from tests.fixtures.api import signed_ago
from tests.fixtures.tenants import Tenants

pytestmark = pytest.mark.django_db

PAGE = "/admin/platform-analytics/"
PERIOD = {"from": FIRST.isoformat(), "to": LAST.isoformat()}


@pytest.fixture
def baseline(tenants: Tenants) -> liability.LiabilityReport:
    """The liability before the history (other tests may have committed points)."""
    return liability.report()


@pytest.fixture
def ops(baseline: liability.LiabilityReport, world: World) -> World:
    w = world
    w.claim(w.a, w.m, 8)
    soon = timezone.now()
    for lot, days in (
        (Lot.objects.get(consumer=w.c, merchant=w.n), 20),
        (Lot.objects.get(consumer=w.a, merchant=w.n), 50),
        (Lot.objects.get(consumer=w.b, merchant=w.m, remaining=10), 80),
    ):
        lot.expires_at = soon + timedelta(days=days)
        lot.save(update_fields=["expires_at"])
    rollup(FIRST, LAST)
    return w


@pytest.fixture
def operator(db: None, unique: Callable[[str], str]) -> User:
    return User.objects.create_superuser(f"{unique('op')}@platform.test", "op-password-1")


def _page(client: Client, user: User, **params: str) -> Any:
    client.force_login(user)
    return client.get(PAGE, params or PERIOD)


def _nonzero(days: list[queries.Day], name: str) -> dict[date, int]:
    return {x.day: getattr(x, name) for x in days if getattr(x, name)}


def test_platform_figures_count_a_consumer_once_and_match_the_hand_computed_ones(
    ops: World, operator: User, client: Client
) -> None:
    response = _page(client, operator)
    assert response.status_code == 200
    s = response.context["analytics"]["summary"]
    assert _nonzero(s.days, "dau") == {d(1): 2, d(2): 1, d(3): 1, d(8): 2, d(15): 2}
    # a was active with M and with N on 03-08: once on the platform.
    m = queries.summary(ops.m.pk, FIRST, LAST)
    n = queries.summary(ops.n.pk, FIRST, LAST)
    assert (m.days[7].dau, n.days[7].dau, s.days[7].dau) == (2, 1, 2)
    assert _nonzero(s.days, "new") == {d(1): 2, d(3): 1}
    assert _nonzero(s.days, "returning") == {d(2): 1, d(8): 2, d(15): 2}
    assert (s.days[-1].dau, s.days[-1].wau, s.days[-1].mau) == (0, 2, 3)
    assert (s.reached, s.repeat, s.redeemed, s.totals["new"]) == (3, 3, 2, 3)
    assert s.funnel == (10, 7, 2)
    assert [(c.week, c.size, c.retained) for c in s.cohorts] == [(d(1), 3, [2, 2])]

    table = response.context["analytics"]["merchants"]
    rows = {r.slug: r for r in table.rows}
    assert table.rows[:2] == [rows["acme"], rows["beta"]]  # most consumers reached first
    assert table.merchants == Merchant.objects.exclude(schema_name="public").count()
    acme, beta = rows["acme"], rows["beta"]
    assert (acme.reached, acme.repeat, acme.redeemed, acme.new) == (3, 2, 2, 3)
    assert (acme.scans, acme.claims, acme.answers, acme.redeems) == (8, 5, 1, 2)
    assert acme.redeemed_share == pytest.approx(2 / 3)
    assert (beta.reached, beta.repeat, beta.redeemed, beta.new) == (2, 0, 1, 2)
    assert (beta.scans, beta.claims, beta.answers, beta.redeems) == (2, 2, 0, 0)

    # What the operator reads on the page.
    html = response.content.decode()
    assert '<dd id="reached">3</dd>' in html and '<dd id="repeat">3</dd>' in html
    assert '<dd id="redeemed">2 (66.7%)</dd>' in html
    assert '<td class="n">10</td><td class="n">100.0%</td>' in html  # scans
    assert '<td class="n">7</td><td class="n">70.0%</td>' in html  # claims
    assert '<td class="n">2 (67%)</td>' in html  # cohort retention
    assert (
        '<tr data-merchant="acme"><th scope="row">Acme Tea (acme)</th><td class="n">3</td>'
        '<td class="n">2</td><td class="n">2 (66.7%)</td>' in html
    )
    assert 'src="/static/console/vendor/chart.umd.min.js"' in html  # the console's copy


def test_liability_figures_match_the_hand_computed_ones(
    ops: World, baseline: liability.LiabilityReport, operator: User, client: Client
) -> None:
    response = _page(client, operator)
    part = response.context["liability"]
    report = part["report"]
    assert report.differences == []
    assert report.outstanding - baseline.outstanding == 70
    expiring = {w: report.expiring[w] - baseline.expiring[w] for w in liability.WINDOWS}
    assert expiring == {30: 10, 60: 20, 90: 30}
    mine = {m.slug: m for m in part["merchants"]}
    assert (mine["acme"].outstanding, mine["acme"].expiring, mine["acme"].overdue) == (
        50,
        {30: 0, 60: 0, 90: 10},
        0,
    )
    assert (mine["beta"].outstanding, mine["beta"].expiring) == (20, {30: 10, 60: 20, 90: 20})
    # Issued, redeemed and expired per month: March 2021 holds the whole history.
    (march,) = [m for m in report.months if m.month == date(2021, 3, 1)]
    assert (march.opening, march.flows.issued, march.flows.redeemed, march.flows.expired) == (
        0,
        80,
        10,
        0,
    )
    assert march.closing == 70
    html = response.content.decode()
    assert f'<dd id="outstanding">{report.outstanding}</dd>' in html
    assert f'<dd id="expiring-30">{report.expiring[30]}</dd>' in html
    assert '<tr data-merchant="acme"><th scope="row">acme</th><td class="n">50</td>' in html


def test_the_page_costs_the_same_queries_whatever_the_number_of_merchants(
    ops: World, operator: User, client: Client, unique: Callable[[str], str]
) -> None:
    client.force_login(operator)
    client.get(PAGE, PERIOD)  # warm: sessions, content types
    with CaptureQueriesContext(connection) as first:
        assert client.get(PAGE, PERIOD).status_code == 200
    # Three more merchants with activity and points (rows only: the page reads no schema).
    for i in range(3):
        slug = unique("more")
        merchant = Merchant.objects.create(
            schema_name=slug.replace("-", "_"),
            slug=slug,
            name=slug,
            status="active",
            provisioned_at=timezone.now(),  # an active merchant has been provisioned
        )
        services.fund_with_money(
            merchant, amount_minor=100, currency="CNY", rate="100", payment_reference=unique("p")
        )
        services.reserve(merchant, "more", 100, idempotency_key=unique("r"))
        services.award(merchant, "more", ops.a, 10 + i, idempotency_key=unique("a"))
    # Their summary rows as a rollup would write them (these merchants have no schema
    # for the rollup to read failed scans from).
    DailyActivity.objects.bulk_create(
        DailyActivity(merchant_id=m.pk, day=d(10), dau=1, reached=1)
        for m in Merchant.objects.filter(slug__startswith="more-")
    )
    with CaptureQueriesContext(connection) as more:
        response = client.get(PAGE, PERIOD)
    assert len(response.context["analytics"]["merchants"].rows) >= 5
    assert len(more) == len(first), [q["sql"] for q in more]
    # Session and user 2, platform summary 4, merchants 1, liability 6.
    assert len(first) <= 13, [q["sql"] for q in first]


def test_the_page_is_for_staff_with_the_permissions(
    tenants: Tenants, client: Client, unique: Callable[[str], str]
) -> None:
    # Not signed in, or signed in but not staff (a merchant's owner): the admin's login.
    for user in (None, tenants.acme_owner):
        if user is not None:
            client.force_login(user)
        response = client.get(PAGE)
        assert response.status_code == 302
        assert response["Location"] == f"/admin/login/?next={PAGE}"
    # Staff without the view permissions: refused, and no link on the admin's index.
    staff = User.objects.create_user(f"{unique('staff')}@platform.test", "pw", is_staff=True)
    client.force_login(staff)
    assert client.get(PAGE).status_code == 403
    assert PAGE not in client.get("/admin/").content.decode()
    # The liability permission alone shows the liability only.
    staff.user_permissions.add(Permission.objects.get(codename="view_lot"))
    staff = User.objects.get(pk=staff.pk)  # permissions are cached on the instance
    client.force_login(staff)
    response = client.get(PAGE)
    assert response.status_code == 200
    assert "liability" in response.context and "analytics" not in response.context
    assert 'id="period-form"' not in response.content.decode()  # no period to choose
    assert PAGE in client.get("/admin/").content.decode()
    staff.user_permissions.add(Permission.objects.get(codename="view_dailyactivity"))
    client.force_login(User.objects.get(pk=staff.pk))
    response = client.get(PAGE, PERIOD)
    assert "liability" in response.context and "analytics" in response.context


def test_a_bad_period_is_explained_on_the_page(operator: User, client: Client) -> None:
    for params, message in (
        ({"from": "2021-03-02", "to": "2021-03-01"}, "Choose a period of 1 to 366 days"),
        ({"from": "2020-01-01", "to": "2021-03-01"}, "Choose a period of 1 to 366 days"),
        ({"from": "March", "to": "2021-03-01"}, "Enter both dates as YYYY-MM-DD."),
    ):
        response = _page(client, operator, **params)
        assert response.status_code == 400
        assert message in response.content.decode()
        assert "analytics" not in response.context
    # Nothing asked: the last 30 days to today.
    response = client.get(PAGE)
    period = response.context["period"]
    assert response.status_code == 200 and (period.last - period.first).days == 29


def _csv(response: Any) -> list[list[str]]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Cache-Control"] == "private, no-store"
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_the_pages_csv_links_give_the_figures_without_a_session(
    ops: World, operator: User, client: Client
) -> None:
    response = _page(client, operator)
    analytics_url = response.context["analytics"]["csv"]
    liability_url = response.context["liability"]["csv"]
    assert f'href="{analytics_url}"' in response.content.decode()

    download = Client().get(analytics_url)  # no session: the link is the authorisation
    assert (
        'filename="platform-analytics-2021-03-01-2021-03-21.csv"'
        in (download["Content-Disposition"])
    )
    rows = _csv(download)
    assert rows[0] == ["day", *queries.DAY_FIELDS]
    assert rows[8] == ["2021-03-08", "2", "3", "3", "0", "2", "6", "3", "0", "0", "0"]
    assert ["reached", "repeat", "redeemed", "redeemed_share"] in rows
    assert ["3", "3", "2", "0.6667"] in rows
    assert ["2021-03-01", "3", "2", "2"] in rows  # the cohort
    header = rows.index(["merchant", "name", *queries.MERCHANT_FIELDS])
    merchants = {row[0]: row[1:] for row in rows[header + 1 :]}
    assert merchants["acme"] == ["Acme Tea", "3", "2", "2", "0.6667", "3", "8", "5", "1", "2"]
    assert merchants["beta"] == ["Beta Bakery", "2", "0", "1", "0.5000", "2", "2", "2", "0", "0"]
    assert len(merchants) == Merchant.objects.exclude(schema_name="public").count()

    rows = _csv(Client().get(liability_url))
    assert rows[0] == liability.CSV_HEADER
    march = ["platform", "", "2021-03", "0", "80", "10", "0", "0", "0", "70", *[""] * 5]
    assert march in rows
    now = [row for row in rows if row[:3] == ["merchant", "acme", "now"]]
    assert now == [["merchant", "acme", "now", *[""] * 7, "50", "0", "0", "10", "0"]]


def test_operator_links_refuse_tampering_expiry_and_a_maker_who_lost_access(
    ops: World, operator: User, client: Client, unique: Callable[[str], str]
) -> None:
    link = downloads.PLATFORM_CSV
    good = link.path(operator.pk, "2021-03-01", "2021-03-21")
    assert client.get(good).status_code == 200
    token = good.split("/")[-2]
    tampered = good.replace(token, token[:-1] + ("A" if token[-1] != "A" else "B"))
    response = client.get(tampered)
    assert response.status_code == 403 and b"not valid" in response.content
    # A merchant link's token (another salt) is not a platform link.
    merchant_token = downloads.MERCHANT_CSV.token(ops.m.pk, "2021-03-01", "2021-03-21")
    assert client.get(f"/reports/platform-analytics/{merchant_token}/").status_code == 403
    # Past its 15 minutes: gone, with where to get a new one.
    values = (operator.pk, "2021-03-01", "2021-03-21")
    expired = client.get(f"/reports/platform-analytics/{signed_ago(link, 15 * 60 + 5, *values)}/")
    assert expired.status_code == 410
    assert b"expired. Reload the analytics page in the admin" in expired.content
    fresh = client.get(f"/reports/platform-analytics/{signed_ago(link, 15 * 60 - 5, *values)}/")
    assert fresh.status_code == 200
    # Its maker is no longer staff: the link dies with their access.
    User.objects.filter(pk=operator.pk).update(is_staff=False)
    response = client.get(good)
    assert response.status_code == 403 and b"may no longer see" in response.content
    # A staff member without the liability permission cannot make a liability link work.
    staff = User.objects.create_user(f"{unique('staff')}@platform.test", "pw", is_staff=True)
    assert client.get(downloads.LIABILITY_CSV.path(staff.pk)).status_code == 403
    # Only GET and HEAD.
    assert client.post(good).status_code == 405


def test_the_page_speaks_chinese(ops: World, operator: User, client: Client) -> None:
    client.force_login(operator)
    html = client.get(PAGE, PERIOD, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "平台数据分析与积分负债" in html and "每周留存同期群" in html
    assert "2021-03-01 至 2021-03-21" in html
