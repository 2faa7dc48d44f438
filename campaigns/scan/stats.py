"""Claim statistics of campaigns and code batches, for the merchant's charts.

Definitions (per campaign, or per batch):

- **codes issued**: codes written, ``Σ CodeBatch.generated`` (a generating batch
  counts what it has written so far; a voided batch keeps the codes it had);
- **codes claimed**: ``Claim`` rows; **claim rate** = claimed / issued (0 when none);
- **unique consumers**: distinct consumers with a claim; **repeat consumers**:
  consumers with two claims or more;
- **points reserved**: ``Σ size x points per code``, exactly what the batches'
  reserve postings took from the budget (a batch reserves all its points when it is
  created, or does not exist);
- **points awarded**: ``Σ Claim.points``; **points returned**: ``Σ released_points``
  (what voiding a batch or ending its campaign gave back);
- **points outstanding**: reserved - awarded - returned, still held in reserve;
- **claims per day / per hour**: claims in each bucket of the last ``days`` days or
  ``hours`` hours, every bucket listed (zeros included), oldest first, bucketed by
  ``date_trunc`` in the requested time zone.

Everything is aggregated in SQL. A ``StatsLoader`` serves one page of campaigns or
batches: the first stat asked for loads it for every item of the page at once, so
a page of N items costs the same few queries as a page of one (2 for the totals,
1 per time series and window). Run inside the merchant's schema.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db import connection
from django.db.models import BigIntegerField, Count, F, Model, Sum
from django.db.models.functions import Cast, Coalesce, Trunc
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.error_codes import CampaignErrorCode
from campaigns.models import Claim, CodeBatch, ScanFailure
from core.errors import DomainError

Scope = Literal["campaign", "batch"]
# The column of Claim / CodeBatch that names the campaign or batch, per scope.
_CLAIM_KEY = {"campaign": "campaign_id", "batch": "batch_id"}
_BATCH_KEY = {"campaign": "campaign_id", "batch": "id"}

MAX_DAYS = 90
MAX_HOURS = 168
# Failed scans listed at most (days x reasons; claims count 4 reasons).
MAX_FAILURE_ROWS = 1000


@dataclass(frozen=True)
class Totals:
    codes_issued: int = 0
    codes_claimed: int = 0
    unique_consumers: int = 0
    repeat_consumers: int = 0
    points_reserved: int = 0
    points_awarded: int = 0
    points_returned: int = 0

    @property
    def claim_rate(self) -> float:
        return self.codes_claimed / self.codes_issued if self.codes_issued else 0.0

    @property
    def points_outstanding(self) -> int:
        return self.points_reserved - self.points_awarded - self.points_returned


@dataclass(frozen=True)
class Bucket:
    bucket: datetime
    claims: int


class StatsError(DomainError):
    pass


def time_zone(name: str | None) -> ZoneInfo:
    """The IANA time zone ``name`` (default: the server's ``TIME_ZONE``)."""
    try:
        return ZoneInfo(name or settings.TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise StatsError(
            CampaignErrorCode.INVALID_TIME_ZONE,
            _("Not a known time zone (e.g. Asia/Shanghai)."),
            "timeZone",
        ) from exc


def check_window(value: int | None, maximum: int, field: str) -> int:
    # An explicit null (``days: null``) overrides the argument's default: refuse it
    # like any other value out of range, not with a TypeError.
    if not isinstance(value, int) or not 1 <= value <= maximum:
        raise StatsError(
            CampaignErrorCode.INVALID_PERIOD, _("Choose 1 to %(max)s.") % {"max": maximum}, field
        )
    return value


# --- The queries (one each, for any number of campaigns or batches) ------------------


def totals(scope: Scope, ids: Sequence[int]) -> dict[int, Totals]:
    """Totals for each campaign or batch in ``ids``: two queries."""
    if not ids:
        return {}
    batch_key = _BATCH_KEY[scope]
    batch_rows = (
        CodeBatch.objects.filter(**{f"{batch_key}__in": ids})
        .order_by()
        .values(batch_key)
        .annotate(
            issued=Sum("generated"),
            # A prize batch reserved its own sum (CodeBatch.prize_reserve).
            reserved=Sum(
                Coalesce("prize_reserve", Cast("size", BigIntegerField()) * F("points_per_code"))
            ),
            returned=Sum("released_points"),
        )
        .values_list(batch_key, "issued", "reserved", "returned")
    )
    batches = {key: (int(i or 0), int(r or 0), int(ret or 0)) for key, i, r, ret in batch_rows}
    claim_key = _CLAIM_KEY[scope]
    # Per consumer first, then per campaign/batch: claims, points, consumers, repeaters.
    sql = (
        f"SELECT key, SUM(n), SUM(points), COUNT(*), COUNT(*) FILTER (WHERE n >= 2) "
        f"FROM (SELECT {claim_key} AS key, consumer_id, COUNT(*) AS n, SUM(points) AS points "
        f"FROM {Claim._meta.db_table} WHERE {claim_key} = ANY(%s::bigint[]) "
        f"GROUP BY {claim_key}, consumer_id) AS per_consumer GROUP BY key"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(ids)])
        claims = {row[0]: tuple(int(v or 0) for v in row[1:]) for row in cursor.fetchall()}
    result = {}
    for key in ids:
        issued, reserved, returned = batches.get(key, (0, 0, 0))
        claimed, awarded, unique, repeat = claims.get(key, (0, 0, 0, 0))
        result[key] = Totals(
            codes_issued=issued,
            codes_claimed=claimed,
            unique_consumers=unique,
            repeat_consumers=repeat,
            points_reserved=reserved,
            points_awarded=awarded,
            points_returned=returned,
        )
    return result


def _buckets(kind: Literal["day", "hour"], count: int, zone: ZoneInfo) -> list[datetime]:
    """The starts of the last ``count`` buckets (the current one included), oldest first."""
    now = timezone.now().astimezone(zone)
    if kind == "day":
        today = now.date()
        return [
            datetime.combine(today - timedelta(days=back), time(), tzinfo=zone)
            for back in range(count - 1, -1, -1)
        ]
    # Step back in absolute time: an hour is an hour even across a DST change.
    current = now.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
    return [(current - timedelta(hours=back)).astimezone(zone) for back in range(count - 1, -1, -1)]


def claims_series(
    scope: Scope, ids: Sequence[int], kind: Literal["day", "hour"], count: int, zone: ZoneInfo
) -> dict[int, list[Bucket]]:
    """Claims per day or hour of each campaign or batch in ``ids``: one query."""
    starts = _buckets(kind, count, zone)
    if not ids:
        return {}
    claim_key = _CLAIM_KEY[scope]
    rows = (
        Claim.objects.filter(**{f"{claim_key}__in": ids}, claimed_at__gte=starts[0])
        .annotate(bucket=Trunc("claimed_at", kind, tzinfo=zone))
        .order_by()
        .values(claim_key, "bucket")
        .annotate(claims=Count("pk"))
        .values_list(claim_key, "bucket", "claims")
    )
    counts: dict[tuple[int, datetime], int] = {(key, bucket): n for key, bucket, n in rows}
    return {key: [Bucket(start, counts.get((key, start), 0)) for start in starts] for key in ids}


def failures_per_day(days: int) -> list[ScanFailure]:
    """Failed scans per day and reason over the last ``days`` days (today included),
    newest day first: one query, ``MAX_FAILURE_ROWS`` rows at most."""
    days = check_window(days, MAX_DAYS, "days")
    since = timezone.localdate() - timedelta(days=days - 1)
    failures = ScanFailure.objects.filter(day__gte=since).order_by("-day", "reason")
    return list(failures[:MAX_FAILURE_ROWS])


# --- One page of items, loaded together -----------------------------------------------


class StatsLoader:
    """Stats for one page of campaigns or batches, each kind loaded once for all of them."""

    def __init__(self, scope: Scope, ids: Iterable[int]) -> None:
        self.scope = scope
        self.ids = list(dict.fromkeys(ids))
        self._totals: dict[int, Totals] | None = None
        self._series: dict[tuple[str, int, str], dict[int, list[Bucket]]] = {}

    def totals(self, key: int) -> Totals:
        if self._totals is None:
            self._totals = totals(self.scope, self.ids)
        return self._totals.get(key, Totals())

    def series(
        self, key: int, kind: Literal["day", "hour"], count: int, zone: ZoneInfo
    ) -> list[Bucket]:
        memo = (kind, count, zone.key)
        if memo not in self._series:
            self._series[memo] = claims_series(self.scope, self.ids, kind, count, zone)
        return self._series[memo][key]


# A page's loader rides on its rows (campaigns, batches) for the rest of the request: an
# attribute of the instance, not a field of the model, so it is read and set by name.
_LOADER = "_stats_loader"


def loader_for(obj: Model, scope: Scope) -> StatsLoader:
    """The loader shared by ``obj``'s page, or a loader of its own."""
    loader: StatsLoader | None = getattr(obj, _LOADER, None)
    if loader is None:
        loader = StatsLoader(scope, [obj.pk])
        setattr(obj, _LOADER, loader)
    return loader


def share_loader(objects: Sequence[Model], scope: Scope) -> None:
    """Give the items of one page that have no loader yet one shared loader."""
    fresh = [obj for obj in objects if getattr(obj, _LOADER, None) is None]
    if fresh:
        loader = StatsLoader(scope, [obj.pk for obj in fresh])
        for obj in fresh:
            setattr(obj, _LOADER, loader)
