"""Analytics against the small history computed by hand in conftest.py (March 2021)."""

from __future__ import annotations

from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Model
from django.test.utils import CaptureQueriesContext

from analytics import queries
from analytics.models import ConsumerDay, DailyActivity, Reach, WeeklyCohort
from analytics.rollup import rollup
from analytics.tests.conftest import FIRST, LAST, World, d
from core.db import connection
from tests.fixtures.api import Api, access_token
from tests.fixtures.tenants import Tenants

pytestmark = pytest.mark.django_db


def series(summary: queries.Summary, name: str) -> dict[date, int]:
    """The non-zero values of one daily figure."""
    return {x.day: getattr(x, name) for x in summary.days if getattr(x, name)}


def test_platform_figures_match_the_hand_computed_ones(world: World) -> None:
    rollup(FIRST, LAST)
    s = queries.summary(None, FIRST, LAST)
    assert series(s, "dau") == {d(1): 2, d(2): 1, d(3): 1, d(8): 2, d(15): 2}
    assert series(s, "new") == {d(1): 2, d(3): 1}
    assert series(s, "returning") == {d(2): 1, d(8): 2, d(15): 2}
    wau = series(s, "wau")
    assert [wau.get(d(x), 0) for x in (1, 2, 3, 7, 8, 9, 10, 14, 15, 21, 22 - 1)] == [
        2, 2, 3, 3, 3, 3, 2, 2, 2, 2, 2,
    ]  # fmt: skip
    assert series(s, "mau")[d(21)] == 3 and series(s, "mau")[d(2)] == 2
    assert (s.totals["claims"], s.totals["answers"], s.totals["redeems"]) == (6, 1, 2)
    assert s.funnel == (9, 6, 2)  # 6 claims + 3 failed scans
    assert (s.reached, s.repeat, s.redeemed) == (3, 3, 2)
    assert [(c.week, c.size, c.retained) for c in s.cohorts] == [(d(1), 3, [2, 2])]


def test_merchant_figures_match_the_hand_computed_ones(world: World) -> None:
    rollup(FIRST, LAST)
    m = queries.summary(world.m.pk, FIRST, LAST)
    assert series(m, "dau") == {d(1): 2, d(8): 1, d(15): 1}
    assert series(m, "new") == {d(1): 2, d(15): 1}
    assert series(m, "returning") == {d(8): 1}
    assert series(m, "wau")[d(8)] == 1 and series(m, "mau")[d(15)] == 3
    assert series(m, "scans") == {d(1): 2, d(8): 4, d(15): 1}
    # a redeemed on 03-02 and b on 03-15, both already reached by M.
    assert series(m, "redeems") == {d(2): 1, d(15): 1}
    assert m.funnel == (7, 4, 2)
    assert (m.reached, m.repeat, m.redeemed) == (3, 2, 2)
    assert m.redeemed_share == pytest.approx(2 / 3)
    assert [(c.week, c.size, c.retained) for c in m.cohorts] == [
        (d(1), 2, [1, 0]),
        (d(15), 1, []),
    ]
    # As of 03-14 M had reached a and b only.
    earlier = queries.summary(world.m.pk, d(1), d(14))
    assert (earlier.reached, earlier.repeat, earlier.redeemed) == (2, 2, 1)

    n = queries.summary(world.n.pk, FIRST, LAST)
    assert series(n, "dau") == {d(3): 1, d(8): 1}
    # a redeemed before N reached her: one of N's consumers has redeemed, no redemption
    # happened after N reached anyone.
    assert (n.reached, n.repeat, n.redeemed, n.funnel) == (2, 0, 1, (2, 2, 0))


def _tables() -> list[list[tuple]]:
    def rows(model: type[Model], *fields: str) -> list[tuple]:
        return sorted(
            model._default_manager.filter(**{f"{fields[0]}__year": 2021}).values_list(*fields),
            key=repr,
        )

    return [
        rows(ConsumerDay, "day", "consumer_id", "merchant_id", "claims", "answers", "redeems"),
        rows(Reach, "first_day", "consumer_id", "merchant_id", "second_day", "first_redeem_day"),
        rows(
            DailyActivity,
            "day",
            "merchant_id",
            "dau",
            "wau",
            "mau",
            "new",
            "returning",
            "scans",
            "claims",
            "answers",
            "redeems",
            "reached",
            "repeat",
            "redeemed",
        ),
        rows(WeeklyCohort, "cohort_week", "merchant_id", "week", "consumers"),
    ]


def test_rollup_is_idempotent_and_incremental(world: World) -> None:
    rollup(FIRST, LAST)
    full = _tables()
    assert all(full)
    rollup(FIRST, LAST)
    assert _tables() == full
    # Day by day, as the periodic task goes (each run also redoes the day before).
    for model in (ConsumerDay, Reach, DailyActivity, WeeklyCohort):
        model.objects.all().delete()
    day = FIRST
    while day <= LAST:
        rollup(max(FIRST, day - timedelta(days=1)), day)
        day += timedelta(days=1)
    for got, want in zip(_tables(), full, strict=True):
        assert set(got) ^ set(want) == set()


def test_summary_costs_a_constant_number_of_queries(world: World) -> None:
    rollup(FIRST, LAST)
    for first, last in ((d(1), d(2)), (FIRST, LAST), (date(2020, 4, 1), LAST)):
        with CaptureQueriesContext(connection) as captured:
            queries.summary(world.m.pk, first, last)
        assert len(captured) == 4, [q["sql"] for q in captured]


def test_analytics_query_shows_the_merchants_own_figures(
    world: World, merchant_api: Api, tenants: Tenants
) -> None:
    rollup(FIRST, LAST)
    variables = {"from": "2021-03-01", "to": "2021-03-21"}
    with CaptureQueriesContext(connection) as captured:
        result = merchant_api.op(
            "Analytics", variables, token=access_token(tenants.acme_viewer), merchant="acme"
        )
    assert "errors" not in result, result
    data = result["data"]["analytics"]
    assert len(data["days"]) == 21
    assert (data["consumersReached"], data["repeatConsumers"], data["redeemedConsumers"]) == (
        3,
        2,
        2,
    )
    assert data["newConsumers"] == 3
    assert data["funnel"] == {"scans": 7, "claims": 4, "redemptions": 2}
    assert data["cohorts"] == [
        {"week": "2021-03-01", "size": 2, "retained": [1, 0]},
        {"week": "2021-03-15", "size": 1, "retained": []},
    ]
    assert data["rolledTo"] == "2021-03-21"
    analytics_sql = [q for q in captured if "analytics_" in q["sql"]]
    assert len(analytics_sql) == 4
    beta = merchant_api.op(
        "Analytics", variables, token=access_token(tenants.beta_owner), merchant="beta"
    )["data"]["analytics"]
    assert beta["consumersReached"] == 2


def test_analytics_refuses_a_long_or_reversed_period(merchant_api: Api, tenants: Tenants) -> None:
    token = access_token(tenants.acme_viewer)
    for first, last in (("2021-03-02", "2021-03-01"), ("2020-01-01", "2021-03-01")):
        result = merchant_api.op(
            "Analytics", {"from": first, "to": last}, token=token, merchant="acme"
        )
        assert result["errors"][0]["extensions"]["code"] == "INVALID_PERIOD"


def test_commands_roll_up_and_export_csv(world: World) -> None:
    out = StringIO()
    call_command("analytics_rollup", "--from", "2021-03-01", "--to", "2021-03-21", stdout=out)
    assert "2021-03-01..2021-03-21" in out.getvalue()
    out = StringIO()
    call_command(
        "analytics_report", "--from", "2021-03-01", "--to", "2021-03-21", "--csv", stdout=out
    )
    lines = out.getvalue().splitlines()
    assert lines[0] == "day," + ",".join(queries.DAY_FIELDS)
    assert lines[1] == "2021-03-01,2,2,2,2,0,2,2,1,0,0"
    out = StringIO()
    call_command(
        "analytics_report", "--from", "2021-03-01", "--to", "2021-03-21", "--merchant",
        world.m.slug, stdout=out,
    )  # fmt: skip
    assert "reached 3" in out.getvalue()


def test_periodic_task_rolls_up_from_the_first_event_then_from_the_last_day(
    world: World,
) -> None:
    from analytics.models import RollupState
    from analytics.rollup import today
    from analytics.tasks import rollup as task

    RollupState.objects.all().delete()
    first = task.delay().get()
    assert first is not None and first.startswith("2021-03-01..")
    assert RollupState.objects.get().rolled_to == today()
    assert queries.summary(world.m.pk, FIRST, LAST).reached == 3
    # The next run redoes yesterday and today only.
    second = task.delay().get()
    assert second is not None and second.startswith(f"{today() - timedelta(days=1)}..{today()}")
