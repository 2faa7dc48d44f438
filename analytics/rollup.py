"""Rolling activity up from the ledger into the summary tables (analytics/models.py).

**Source of events: the public ledger.** Every activity that counts leaves one
``points_transaction`` carrying the consumer, the merchant and the time:

- **claimed**: an ``award`` with a ``code`` in its metadata (a scan-code claim);
- **answered**: any other ``award`` (a rewarded questionnaire response);
- **awarded**: a ``merchant_award`` that reached a consumer (the merchant's own systems
  through the earning API: purchases, awards, welcome and birthday bonuses; an award
  held for a phone counts when it is credited, decision 0282);
- **redeemed**: a ``redeem`` (a mall order; it has no merchant).

That is one indexed table (``created_at``) for every merchant, instead of one claim
and one response table per merchant schema. A consumer is **active** on a day when
they did any of the three; with a merchant when they claimed or answered one of its
campaigns. Reversals and expiries are not activity. Failed scans, which pay nothing,
come from each merchant schema's ``ScanFailure`` counts (one statement for all of
them), for the funnel: **scans** = claims + failed scans.

Days are calendar days in ``TIME_ZONE``; weeks start on Monday.

**Incremental and idempotent.** ``rollup(first, last)`` rebuilds every summary row of
the days ``first``..``last`` (and of the weeks they fall in) from the sources, in one
transaction: re-running it changes nothing. The periodic task rolls up from the last
day it completed (at least yesterday, for events committed just after midnight) to
today. Running totals (reached, repeat, redeemed) carry on from the last row before
``first``: a consumer's first and second active day and first redemption can only
move within the days being rebuilt, since the ledger is append-only.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from analytics.models import DailyActivity, MerchantRollup, RollupState
from core.db import connection
from core.db.locks import advisory_xact_lock

logger = logging.getLogger(__name__)

CD = "analytics_consumerday"
REACH = "analytics_reach"


def _zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def today() -> date:
    return timezone.now().astimezone(_zone()).date()


def _bounds(first: date, last: date) -> tuple[datetime, datetime]:
    zone = _zone()
    return (
        datetime.combine(first, time(), tzinfo=zone),
        datetime.combine(last + timedelta(days=1), time(), tzinfo=zone),
    )


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


@dataclass(frozen=True)
class RollupResult:
    first: date
    last: date
    seconds: float


def _execute(
    sql: str, params: Mapping[str, Any] | Sequence[Any] | None = None
) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows: list[tuple[Any, ...]] = cursor.fetchall() if cursor.description else []
        return rows


def _only(column: str, merchant: int | None) -> str:
    """The condition that keeps one merchant's rows (``%(m)s``), or none for all."""
    return f" AND {column} = %(m)s" if merchant is not None else ""


def _consumer_days(first: date, last: date, merchant: int | None = None) -> None:
    """Rebuild ConsumerDay for the days, and the Reach of every consumer they touch
    (with ``merchant``: only that merchant's rows, the platform's are left as they are)."""
    start, end = _bounds(first, last)
    p = {
        "first": first,
        "last": last,
        "start": start,
        "end": end,
        "tz": settings.TIME_ZONE,
        "m": merchant,
    }
    _execute(
        f"DELETE FROM {CD} WHERE day BETWEEN %(first)s AND %(last)s"
        + _only("merchant_id", merchant),
        p,
    )
    day = "(t.created_at AT TIME ZONE %(tz)s)::date"
    claim = "t.kind = 'award' AND (t.metadata ->> 'code') IS NOT NULL"
    answer = "t.kind = 'award' AND (t.metadata ->> 'code') IS NULL"
    award = "t.kind = 'merchant_award'"
    platform = f"""
        UNION ALL
        SELECT {day}, t.consumer_id, NULL,
               COUNT(*) FILTER (WHERE {claim}),
               COUNT(*) FILTER (WHERE {answer}),
               COUNT(*) FILTER (WHERE t.kind = 'redeem'),
               COUNT(*) FILTER (WHERE {award})
        FROM points_transaction t
        WHERE t.kind IN ('award', 'redeem', 'merchant_award') AND t.consumer_id IS NOT NULL
          AND t.created_at >= %(start)s AND t.created_at < %(end)s
        GROUP BY 1, 2"""
    _execute(
        f"""INSERT INTO {CD} (day, consumer_id, merchant_id, claims, answers, redeems, awards)
        SELECT {day}, t.consumer_id, t.merchant_id,
               COUNT(*) FILTER (WHERE {claim}), COUNT(*) FILTER (WHERE {answer}), 0,
               COUNT(*) FILTER (WHERE {award})
        FROM points_transaction t
        WHERE t.kind IN ('award', 'merchant_award')
          AND t.consumer_id IS NOT NULL AND t.merchant_id IS NOT NULL
          AND t.created_at >= %(start)s AND t.created_at < %(end)s{_only("t.merchant_id", merchant)}
        GROUP BY 1, 2, 3{platform if merchant is None else ""}""",
        p,
    )
    # The consumers active in the days: the ledger is append-only, so they include
    # everyone whose rows were just deleted.
    touched = (
        f"SELECT DISTINCT consumer_id FROM {CD} WHERE day BETWEEN %(first)s AND %(last)s"
        f"{_only('merchant_id', merchant)}"
    )
    _execute(
        f"DELETE FROM {REACH} WHERE consumer_id IN ({touched}){_only('merchant_id', merchant)}",
        p,
    )
    _execute(
        f"""INSERT INTO {REACH} (consumer_id, merchant_id, first_day, second_day,
                                  first_redeem_day)
        SELECT consumer_id, merchant_id, MIN(day), MIN(day) FILTER (WHERE running >= 2),
               MIN(day) FILTER (WHERE redeems > 0)
        FROM (SELECT cd.consumer_id, cd.merchant_id, cd.day, cd.redeems,
                     SUM(cd.claims + cd.answers + cd.redeems + cd.awards)
                         OVER (PARTITION BY cd.consumer_id, cd.merchant_id ORDER BY cd.day)
                         AS running
              FROM {CD} cd
              WHERE cd.consumer_id IN ({touched}){_only("cd.merchant_id", merchant)}
             ) AS history
        GROUP BY consumer_id, merchant_id""",
        p,
    )


def _scans(first: date, last: date, merchant: int | None = None) -> dict[tuple[int, date], int]:
    """Failed scans per merchant and day, from every merchant schema: one statement.

    Only schemas that exist: a merchant that is an application has none yet.
    """
    from tenants.models import Merchant

    provisioned = Merchant.objects.provisioned().exclude(schema_name="public")
    if merchant is not None:
        provisioned = provisioned.filter(pk=merchant)
    schemas = list(provisioned.values_list("pk", "schema_name"))
    result: dict[tuple[int, date], int] = {}
    for offset in range(0, len(schemas), 500):
        parts = [
            f"SELECT {int(pk)} AS merchant_id, day, SUM(count) AS n FROM "
            f"{connection.ops.quote_name(schema)}.campaigns_scanfailure "
            f"WHERE day BETWEEN %(first)s AND %(last)s GROUP BY day"
            for pk, schema in schemas[offset : offset + 500]
        ]
        sql = " UNION ALL ".join(parts)
        for merchant_id, day, n in _execute(sql, {"first": first, "last": last}):
            result[merchant_id, day] = int(n)
    return result


def _daily(first: date, last: date, merchant: int | None = None) -> None:
    """Rebuild DailyActivity for the days: five statements and one insert."""
    p = {"first": first, "last": last, "m": merchant}
    cd_only, r_only = _only("cd.merchant_id", merchant), _only("r.merchant_id", merchant)
    rows: dict[tuple[int | None, date], dict[str, int]] = defaultdict(dict)
    same = (
        "r.consumer_id = cd.consumer_id "
        "AND COALESCE(r.merchant_id, 0) = COALESCE(cd.merchant_id, 0)"
    )
    for owner, day, dau, new, returning, claims, answers, redeems, awards in _execute(
        f"""SELECT cd.merchant_id, cd.day, COUNT(*),
                   COUNT(*) FILTER (WHERE r.first_day = cd.day),
                   COUNT(*) FILTER (WHERE r.first_day < cd.day),
                   SUM(cd.claims), SUM(cd.answers), SUM(cd.redeems), SUM(cd.awards)
            FROM {CD} cd JOIN {REACH} r ON {same}
            WHERE cd.day BETWEEN %(first)s AND %(last)s{cd_only} GROUP BY 1, 2""",
        p,
    ):
        rows[owner, day].update(
            dau=dau,
            new=new,
            returning=returning,
            claims=int(claims),
            answers=int(answers),
            redeems=int(redeems),
            awards=int(awards),
        )
    for owner, day, wau, mau in _execute(
        f"""SELECT cd.merchant_id, d.day::date,
                   COUNT(DISTINCT cd.consumer_id) FILTER (WHERE cd.day > d.day::date - 7),
                   COUNT(DISTINCT cd.consumer_id)
            FROM generate_series(%(first)s::date, %(last)s::date, interval '1 day') AS d(day)
            JOIN {CD} cd ON cd.day > d.day::date - 30 AND cd.day <= d.day::date{cd_only}
            GROUP BY 1, 2""",
        p,
    ):
        rows[owner, day].update(wau=wau, mau=mau)
    # A merchant's redemptions: those of consumers it had reached by that day.
    for owner, day, redeems in _execute(
        f"""SELECT r.merchant_id, cd.day, SUM(cd.redeems)
            FROM {CD} cd JOIN {REACH} r
              ON r.consumer_id = cd.consumer_id AND r.merchant_id IS NOT NULL
             AND r.first_day <= cd.day
            WHERE cd.merchant_id IS NULL AND cd.redeems > 0
              AND cd.day BETWEEN %(first)s AND %(last)s{r_only}
            GROUP BY 1, 2""",
        p,
    ):
        rows[owner, day]["redeems"] = int(redeems)
    for (owner, day), n in _scans(first, last, merchant).items():
        rows[owner, day]["failed_scans"] = n
        if merchant is None:
            rows[None, day]["failed_scans"] = rows[None, day].get("failed_scans", 0) + n

    # Running totals: the last row before `first`, plus what each day added.
    base: dict[int | None, tuple[int, int, int]] = {
        m: (reached, repeat, redeemed)
        for m, reached, repeat, redeemed in _execute(
            """SELECT DISTINCT ON (merchant_id) merchant_id, reached, repeat, redeemed
               FROM analytics_dailyactivity WHERE day < %(first)s"""
            + _only("merchant_id", merchant)
            + " ORDER BY merchant_id, day DESC",
            p,
        )
    }
    added: dict[tuple[int | None, date], list[int]] = defaultdict(lambda: [0, 0, 0])
    for owner, day, measure, n in _execute(
        f"""SELECT merchant_id, first_day, 0, COUNT(*) FROM {REACH} r
            WHERE first_day BETWEEN %(first)s AND %(last)s{r_only} GROUP BY 1, 2
            UNION ALL
            SELECT merchant_id, second_day, 1, COUNT(*) FROM {REACH} r
            WHERE second_day BETWEEN %(first)s AND %(last)s{r_only} GROUP BY 1, 2
            UNION ALL
            SELECT r.merchant_id, GREATEST(r.first_day, p.first_redeem_day), 2, COUNT(*)
            FROM {REACH} r JOIN {REACH} p
              ON p.consumer_id = r.consumer_id AND p.merchant_id IS NULL
            WHERE p.first_redeem_day IS NOT NULL
              AND GREATEST(r.first_day, p.first_redeem_day) BETWEEN %(first)s AND %(last)s{r_only}
            GROUP BY 1, 2""",
        p,
    ):
        added[owner, day][measure] += n

    merchants = set(base) | {m for m, _d in rows} | {m for m, _d in added}
    objects = []
    for owner in merchants:
        totals = list(base.get(owner, (0, 0, 0)))
        day = first
        while day <= last:
            for i, n in enumerate(added.get((owner, day), (0, 0, 0))):
                totals[i] += n
            values = rows.get((owner, day), {})
            if not values and not any(totals):
                # Nothing yet: no row, the same whichever days a run rebuilds.
                day += timedelta(days=1)
                continue
            objects.append(
                DailyActivity(
                    merchant_id=owner,
                    day=day,
                    dau=values.get("dau", 0),
                    wau=values.get("wau", 0),
                    mau=values.get("mau", 0),
                    new=values.get("new", 0),
                    returning=values.get("returning", 0),
                    claims=values.get("claims", 0),
                    answers=values.get("answers", 0),
                    redeems=values.get("redeems", 0),
                    awards=values.get("awards", 0),
                    scans=values.get("claims", 0) + values.get("failed_scans", 0),
                    reached=totals[0],
                    repeat=totals[1],
                    redeemed=totals[2],
                )
            )
            day += timedelta(days=1)
    rebuilt = DailyActivity.objects.filter(day__gte=first, day__lte=last)
    if merchant is not None:
        rebuilt = rebuilt.filter(merchant_id=merchant)
    rebuilt.delete()
    DailyActivity.objects.bulk_create(objects, batch_size=5000)


def _cohorts(first: date, last: date, merchant: int | None = None) -> None:
    """Rebuild the cohort cells of the activity weeks the days fall in."""
    p = {
        "w0": _monday(first),
        "w1": _monday(last),
        "end": _monday(last) + timedelta(days=6),
        "m": merchant,
    }
    _execute(
        "DELETE FROM analytics_weeklycohort WHERE cohort_week + week * 7 BETWEEN %(w0)s AND %(w1)s"
        + _only("merchant_id", merchant),
        p,
    )
    _execute(
        f"""INSERT INTO analytics_weeklycohort (merchant_id, cohort_week, week, consumers)
        SELECT r.merchant_id, date_trunc('week', r.first_day)::date,
               (date_trunc('week', cd.day)::date - date_trunc('week', r.first_day)::date) / 7,
               COUNT(DISTINCT cd.consumer_id)
        FROM {CD} cd JOIN {REACH} r
          ON r.consumer_id = cd.consumer_id
         AND COALESCE(r.merchant_id, 0) = COALESCE(cd.merchant_id, 0)
        WHERE cd.day BETWEEN %(w0)s AND %(end)s{_only("r.merchant_id", merchant)}
        GROUP BY 1, 2, 3""",
        p,
    )


def rollup(first: date, last: date) -> RollupResult:
    """Rebuild every summary of the days ``first``..``last`` (inclusive)."""
    if first > last:
        raise ValueError("first must not be after last")
    started = timezone.now()
    with transaction.atomic():
        # One rollup at a time: a second waits, then rebuilds the same rows again.
        advisory_xact_lock("analytics.rollup")
        _consumer_days(first, last)
        _daily(first, last)
        _cohorts(first, last)
        state = RollupState.objects.select_for_update().first()
        if state is None:
            RollupState.objects.create(rolled_to=last, updated_at=timezone.now())
        else:
            # Complete up to `last` only if nothing was skipped since the last run.
            if first <= state.rolled_to + timedelta(days=1):
                state.rolled_to = max(state.rolled_to, last)
            state.updated_at = timezone.now()
            state.save()
    seconds = (timezone.now() - started).total_seconds()
    logger.info("analytics rollup %s..%s in %.1f s", first, last, seconds)
    return RollupResult(first, last, seconds)


def rollup_merchant(merchant_id: int, first: date, last: date) -> RollupResult:
    """Rebuild one merchant's summaries of the days ``first``..``last``, and record when
    (``MerchantRollup``): what the console's "refresh" asks for. The platform's own rows
    and every other merchant's are left to the periodic rollup; a merchant's
    redemptions count those in the platform rows as last rolled up."""
    if first > last:
        raise ValueError("first must not be after last")
    started = timezone.now()
    with transaction.atomic():
        # The same lock as the full rollup: the two never rebuild the same rows at once.
        advisory_xact_lock("analytics.rollup")
        _consumer_days(first, last, merchant_id)
        _daily(first, last, merchant_id)
        _cohorts(first, last, merchant_id)
        MerchantRollup.objects.update_or_create(
            merchant_id=merchant_id, defaults={"rolled_at": timezone.now()}
        )
    seconds = (timezone.now() - started).total_seconds()
    logger.info(
        "analytics rollup of merchant %s %s..%s in %.1f s", merchant_id, first, last, seconds
    )
    return RollupResult(first, last, seconds)


def first_event_day() -> date | None:
    row = _execute(
        "SELECT MIN(created_at) FROM points_transaction WHERE kind IN ('award', 'redeem')"
    )
    return row[0][0].astimezone(_zone()).date() if row and row[0][0] else None


def pending_range() -> tuple[date, date] | None:
    """What the periodic task should rebuild: from the last day done (or the first
    event ever) up to today, at least yesterday and today."""
    last = today()
    state = RollupState.objects.first()
    if state is not None:
        return min(state.rolled_to, last - timedelta(days=1)), last
    first = first_event_day()
    return (min(first, last - timedelta(days=1)), last) if first else None
