"""The merchant console's dashboard: points, earnings per day, active consumers, top campaigns.

"Earnings" are the two ways a consumer earns a merchant's points: a scan-code claim
and a rewarded questionnaire response. Both live in the merchant's schema, so every
query here is tenant-local (run inside the merchant's schema).

Points totals come from the ledger (public schema, the merchant's campaign reserve
accounts), because it is the one place that knows every reserve, award and release
of both campaign kinds:

- **reserved**: Σ reserve postings into the campaign reserves;
- **awarded**: Σ awards paid out of them;
- **returned**: Σ releases back to the budget (voided batches, ended campaigns).

The dashboard costs a constant number of queries whatever the merchant's size:
one for the points, one per series, one for active consumers, two for the top
campaigns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import BigIntegerField, Count, Manager, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from campaigns.models import Campaign, Claim, Response
from points.models import AccountKind, Entry, TransactionKind

MAX_TOP = 20


@dataclass(frozen=True)
class PointsTotals:
    reserved: int = 0
    awarded: int = 0
    returned: int = 0


@dataclass(frozen=True)
class Day:
    day: date
    claims: int
    responses: int


@dataclass(frozen=True)
class TopCampaign:
    campaign: Campaign
    points: int
    earnings: int


def points_totals(merchant_id: int) -> PointsTotals:
    """Reserved, awarded and returned points over all the merchant's campaigns: one query."""
    rows = dict(
        Entry.objects.filter(
            account__merchant_id=merchant_id,
            account__kind=AccountKind.CAMPAIGN_RESERVE,
            transaction__kind__in=(
                TransactionKind.RESERVE,
                TransactionKind.AWARD,
                TransactionKind.RELEASE,
            ),
        )
        .order_by()
        .values("transaction__kind")
        .annotate(total=Sum("amount"))
        .values_list("transaction__kind", "total")
    )
    # Reserves add to the reserve accounts; awards and releases take from them.
    return PointsTotals(
        reserved=int(rows.get(TransactionKind.RESERVE) or 0),
        awarded=-int(rows.get(TransactionKind.AWARD) or 0),
        returned=-int(rows.get(TransactionKind.RELEASE) or 0),
    )


def _first_day(days: int, zone: ZoneInfo) -> datetime:
    today = timezone.now().astimezone(zone).date()
    return datetime.combine(today - timedelta(days=days - 1), datetime.min.time(), tzinfo=zone)


def earnings_per_day(days: int, zone: ZoneInfo) -> list[Day]:
    """Claims and responses on each of the last ``days`` days, oldest first: two queries."""
    start = _first_day(days, zone)

    def per_day(rows_of: Manager[Claim] | Manager[Response], field: str) -> dict[date, int]:
        rows = (
            rows_of.filter(**{f"{field}__gte": start})
            .annotate(day=TruncDate(field, tzinfo=zone))
            .order_by()
            .values("day")
            .annotate(n=Count("pk"))
            .values_list("day", "n")
        )
        return dict(rows)

    claims = per_day(Claim.objects, "claimed_at")
    responses = per_day(Response.objects, "submitted_at")
    first = start.date()
    return [
        Day(day, claims.get(day, 0), responses.get(day, 0))
        for day in (first + timedelta(days=n) for n in range(days))
    ]


def active_consumers(days: int, zone: ZoneInfo) -> int:
    """Distinct consumers who claimed a code or answered a questionnaire lately: one query."""
    start = _first_day(days, zone)
    claimers = Claim.objects.filter(claimed_at__gte=start).values("consumer_id")
    responders = Response.objects.filter(submitted_at__gte=start).values("consumer_id")
    # UNION (not UNION ALL) removes duplicates in the database.
    return claimers.union(responders).count()


def top_campaigns(limit: int) -> list[TopCampaign]:
    """Campaigns by points awarded (claims and responses), then newest: one query."""

    def per_campaign(model: type[Claim] | type[Response], value: Sum | Count) -> Coalesce:
        rows = (
            model.objects.filter(campaign=OuterRef("pk"))
            .order_by()
            .values("campaign")
            .annotate(value=value)
            .values("value")
        )
        return Coalesce(Subquery(rows, output_field=BigIntegerField()), Value(0))

    campaigns = Campaign.objects.annotate(
        points=per_campaign(Claim, Sum("points")) + per_campaign(Response, Sum("points")),
        earnings=per_campaign(Claim, Count("pk")) + per_campaign(Response, Count("pk")),
    ).order_by("-points", "-created_at", "-id")[: max(1, min(limit, MAX_TOP))]
    return [TopCampaign(campaign=c, points=c.points, earnings=c.earnings) for c in campaigns]
