"""What the dashboards read: a few statements over the summary tables, whatever the volume.

``summary(merchant_id, first, last)`` (``merchant_id=None``: the platform) costs four
queries: the days, the running totals as of ``last``, the cohorts, the rollup's state.
``merchant_table(first, last)`` lists every merchant's figures side by side for the
operators, in one query whatever the number of merchants.

- **days**: per day DAU, WAU (7 days to the day), MAU (30 days), new (first active
  that day) and returning (active before), scans, claims, answers, redemptions, and
  awards by the merchant's own systems (earning API);
- **totals**: consumers reached (ever active with the merchant, up to ``last``),
  repeat consumers (two activity events or more), consumers who redeemed and their
  share of those reached; plus the period's sums of new consumers and events;
- **funnel**: scans → claims → redemptions in the period (events: distinct consumers
  do not add up over days; the per-consumer view is ``redeemed_share``);
- **cohorts**: weekly cohorts (week first active) that start in the period, with the
  consumers active again each week after.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connections
from django.db.models import Subquery
from django.utils.translation import gettext as _

from analytics.models import DailyActivity, MerchantRollup, RollupState, WeeklyCohort
from campaigns.error_codes import CampaignErrorCode
from core.db import replica
from core.errors import DomainError

MAX_DAYS = 366
DAY_FIELDS = (
    "dau",
    "wau",
    "mau",
    "new",
    "returning",
    "scans",
    "claims",
    "answers",
    "redeems",
    "awards",
)


@dataclass(frozen=True)
class Day:
    day: date
    dau: int = 0
    wau: int = 0
    mau: int = 0
    new: int = 0
    returning: int = 0
    scans: int = 0
    claims: int = 0
    answers: int = 0
    redeems: int = 0
    awards: int = 0


@dataclass(frozen=True)
class Cohort:
    week: date
    size: int
    retained: list[int]  # consumers active again 1, 2, … weeks later (up to `last`)


class RedeemedShare:
    """Of the consumers a merchant (or the platform) reached, the share who redeemed."""

    reached: int
    redeemed: int

    @property
    def redeemed_share(self) -> float:
        return self.redeemed / self.reached if self.reached else 0.0

    @property
    def redeemed_percent(self) -> float:
        return 100 * self.redeemed_share


@dataclass(frozen=True)
class Summary(RedeemedShare):
    first: date
    last: date
    days: list[Day]
    reached: int
    repeat: int
    redeemed: int
    cohorts: list[Cohort]
    updated_at: datetime | None
    rolled_to: date | None
    totals: dict[str, int] = field(default_factory=dict)

    @property
    def funnel(self) -> tuple[int, int, int]:
        return (self.totals["scans"], self.totals["claims"], self.totals["redeems"])


def check_period(first: date, last: date) -> None:
    if last < first or (last - first).days >= MAX_DAYS:
        raise DomainError(
            CampaignErrorCode.INVALID_PERIOD,
            _("Choose a period of 1 to %(max)d days, the end after the start.") % {"max": MAX_DAYS},
            "to",
        )


def summary(merchant_id: int | None, first: date, last: date) -> Summary:
    check_period(first, last)
    # Rollups, written only by the rollup task: the replica serves them when caught up
    # (dashboards and their CSV files alike).
    return replica.read(lambda db: _summary(db, merchant_id, first, last))


def _summary(db: str, merchant_id: int | None, first: date, last: date) -> Summary:
    scope = {"merchant_id": merchant_id} if merchant_id else {"merchant__isnull": True}
    rows = {
        r["day"]: r
        for r in DailyActivity.objects.using(db)
        .filter(**scope, day__gte=first, day__lte=last)
        .values("day", *DAY_FIELDS)
    }
    days = []
    day = first
    while day <= last:
        row = rows.get(day)
        days.append(Day(day, *(row[f] for f in DAY_FIELDS)) if row else Day(day))
        day += timedelta(days=1)
    # Running totals as of `last`: the latest row up to it (rows exist from the first
    # activity on, for every day rolled up).
    latest = (
        DailyActivity.objects.using(db)
        .filter(**scope, day__lte=last)
        .order_by("-day")
        .values_list("reached", "repeat", "redeemed")
        .first()
    ) or (0, 0, 0)
    cells: dict[date, dict[int, int]] = defaultdict(dict)
    for week, offset, consumers in (
        WeeklyCohort.objects.using(db)
        .filter(
            **scope,
            cohort_week__gte=first - timedelta(days=first.weekday()),
            cohort_week__lte=last,
        )
        .values_list("cohort_week", "week", "consumers")
    ):
        cells[week][offset] = consumers
    cohorts = [
        Cohort(
            week=week,
            size=cells[week].get(0, 0),
            retained=[cells[week].get(n, 0) for n in range(1, (last - week).days // 7 + 1)],
        )
        for week in sorted(cells)
    ]
    # A merchant's own refresh (analytics.refresh) may be newer than the periodic run:
    # read in the same query, so a summary stays at four.
    own = MerchantRollup.objects.using(db).filter(merchant_id=merchant_id or 0)
    state = RollupState.objects.using(db).annotate(
        own=Subquery(own.values("rolled_at")[:1])
    ).values_list("updated_at", "rolled_to", "own").first() or (
        # Never rolled up for everyone yet (a new platform): only the merchant's own.
        None,
        None,
        own.values_list("rolled_at", flat=True).first(),
    )
    updated_at = max((t for t in (state[0], state[2]) if t is not None), default=None)
    totals = {
        f: sum(getattr(d, f) for d in days)
        for f in ("new", "scans", "claims", "answers", "redeems", "awards")
    }
    return Summary(
        first=first,
        last=last,
        days=days,
        reached=latest[0],
        repeat=latest[1],
        redeemed=latest[2],
        cohorts=cohorts,
        updated_at=updated_at,
        rolled_to=state[1],
        totals=totals,
    )


@dataclass(frozen=True)
class MerchantFigures(RedeemedShare):
    """One merchant's line in the operators' table: totals as of ``last``, events in
    the period (rows of the platform's own summary, ``DailyActivity``)."""

    merchant_id: int
    slug: str
    name: str
    reached: int
    repeat: int
    redeemed: int
    new: int
    scans: int
    claims: int
    answers: int
    redeems: int


@dataclass(frozen=True)
class MerchantTable:
    rows: list[MerchantFigures]
    merchants: int  # all merchants, however many rows were asked for


MERCHANT_FIELDS = (
    "reached",
    "repeat",
    "redeemed",
    "redeemed_share",
    "new",
    "scans",
    "claims",
    "answers",
    "redeems",
)


def merchant_table(first: date, last: date, limit: int | None = None) -> MerchantTable:
    """Every merchant, most consumers reached first (``limit``: only the first rows).

    One statement: per merchant, its latest summary row up to ``last`` (the running
    totals) and the sums of its rows in the period, each found through the
    ``(merchant, day)`` unique index, so the cost grows with the number of merchants,
    not with the history. Merchants with no activity yet are listed with zeros.
    """
    check_period(first, last)
    if limit is not None and limit < 1:
        raise ValueError("limit must be positive")
    sums = ", ".join(f"SUM(a.{f}) AS {f}" for f in ("new", "scans", "claims", "answers", "redeems"))
    sql = f"""
        SELECT m.id, m.slug, m.name,
               COALESCE(t.reached, 0), COALESCE(t.repeat, 0), COALESCE(t.redeemed, 0),
               COALESCE(p.new, 0), COALESCE(p.scans, 0), COALESCE(p.claims, 0),
               COALESCE(p.answers, 0), COALESCE(p.redeems, 0),
               COUNT(*) OVER ()
        FROM tenants_merchant m
        LEFT JOIN LATERAL (
            SELECT a.reached, a.repeat, a.redeemed FROM analytics_dailyactivity a
            WHERE a.merchant_id = m.id AND a.day <= %(last)s
            ORDER BY a.day DESC LIMIT 1
        ) t ON TRUE
        LEFT JOIN LATERAL (
            SELECT {sums} FROM analytics_dailyactivity a
            WHERE a.merchant_id = m.id AND a.day BETWEEN %(first)s AND %(last)s
        ) p ON TRUE
        WHERE m.schema_name <> 'public'
        ORDER BY 4 DESC, m.slug
        LIMIT %(limit)s"""

    def fetch(db: str) -> list[tuple[Any, ...]]:
        with connections[db].cursor() as cursor:
            cursor.execute(sql, {"first": first, "last": last, "limit": limit})
            return cursor.fetchall()

    # Rollups and merchants' names: from the replica when caught up, as ``summary``.
    found = replica.read(fetch)
    rows = [
        MerchantFigures(pk, slug, name, *(int(v) for v in values[:-1]))
        for pk, slug, name, *values in found
    ]
    return MerchantTable(rows=rows, merchants=int(found[0][-1]) if found else 0)


def to_csv(result: Summary, merchants: MerchantTable | None = None) -> str:
    """The days, then the totals and the cohorts (and the merchants), as one CSV."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["day", *DAY_FIELDS])
    for d in result.days:
        writer.writerow([d.day.isoformat(), *(getattr(d, f) for f in DAY_FIELDS)])
    writer.writerow([])
    writer.writerow(["reached", "repeat", "redeemed", "redeemed_share"])
    writer.writerow(
        [result.reached, result.repeat, result.redeemed, f"{result.redeemed_share:.4f}"]
    )
    writer.writerow([])
    writer.writerow(["cohort_week", "size", "retained_by_week"])
    for c in result.cohorts:
        writer.writerow([c.week.isoformat(), c.size, *c.retained])
    if merchants is not None:
        writer.writerow([])
        writer.writerow(["merchant", "name", *MERCHANT_FIELDS])
        for m in merchants.rows:
            values = [getattr(m, f) for f in MERCHANT_FIELDS]
            values[MERCHANT_FIELDS.index("redeemed_share")] = f"{m.redeemed_share:.4f}"
            writer.writerow([m.slug, m.name, *values])
    return out.getvalue()
