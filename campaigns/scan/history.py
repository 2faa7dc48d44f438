"""The merchant's view of scans: suspicious codes, newest first, and one code's history.

Both read the current schema (``require_membership`` has switched to the merchant's).
A code's history reads its latest events through the (code, id) index: newest first,
bounded, whatever the table's size.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.models import Code, CodeScans, ScanDay, ScanEvent
from campaigns.scan import events, stats
from campaigns.scan.codes import parse
from core.error_codes import CoreErrorCode
from core.errors import DomainError

MAX_HISTORY = 200
MAX_DAYS = 90


@dataclass(frozen=True)
class History:
    code: str
    product_name: str | None
    sku: str | None
    summary: CodeScans | None
    events: list[ScanEvent]


def suspicious_codes() -> QuerySet[CodeScans]:
    return CodeScans.objects.filter(suspected_at__isnull=False).order_by("-suspected_at", "code")


def code_history(raw_code: str, last: int) -> History:
    """The latest ``last`` scans of one of the merchant's codes; ``NOT_FOUND`` otherwise."""
    code = parse(raw_code).code
    row = Code.objects.select_related("batch__campaign").filter(code=code).first()
    summary = CodeScans.objects.filter(code=code).first()
    if row is None and summary is None:
        raise DomainError(CoreErrorCode.NOT_FOUND, _("No such code."), "code")
    events = list(ScanEvent.objects.filter(code=code).order_by("-id")[:last])
    return History(
        code=code,
        product_name=(row.batch.name or row.batch.campaign.name) if row else None,
        sku=row.batch.sku if row else None,
        summary=summary,
        events=events,
    )


@dataclass(frozen=True)
class ScanDayTotals:
    day: object  # a date
    scans: int
    lookups: int
    crawlers: int
    claims: int


def scans_per_day(days: int) -> list[ScanDayTotals]:
    """The last ``days`` days (the consumers' calendar), newest first, from the rollups:
    one row per day and batch, so a week reads a few hundred rows at most."""
    days = stats.check_window(days, MAX_DAYS, "days")
    first = events.local_day(timezone.now()) - timedelta(days=days - 1)
    found = (
        ScanDay.objects.filter(day__gte=first)
        .values("day")
        .annotate(
            scans_=Sum("scans"),
            lookups_=Sum("lookups"),
            crawlers_=Sum("crawlers"),
            claims_=Sum("claims"),
        )
        .order_by("-day")
    )
    return [
        ScanDayTotals(r["day"], r["scans_"], r["lookups_"], r["crawlers_"], r["claims_"])
        for r in found
    ]
