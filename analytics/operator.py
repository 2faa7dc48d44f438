"""The operators' analytics page in the Django admin (``/admin/platform-analytics/``).

Platform-wide activity (DAU/WAU/MAU, new vs returning, weekly cohorts, the funnel),
every merchant's reach, and the points liability, for a period chosen in the page.
The activity figures come from the rollup's summary tables: the platform's own rows
(``merchant`` null), in which a consumer active with two merchants on one day counts
once, and one line per merchant (``queries.merchant_table``). The liability is
``points.liability.report``, read from the ledger and reconciled with it. Each part
costs a fixed number of queries, whatever the number of merchants, consumers or days.

Staff only (the admin's own login); the analytics part needs Django's view permission
on the daily summaries, the liability part the one on lots (superusers have both).
The CSV buttons are signed links naming the operator (analytics/downloads.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from accounts.admin import staff_user
from analytics import queries
from analytics.downloads import (
    LIABILITY_CSV,
    PLATFORM_CSV,
    can_see_analytics,
    can_see_liability,
)
from analytics.rollup import today
from core.errors import DomainError
from points import liability

DEFAULT_DAYS = 30
TABLE_ROWS = 50  # merchants shown in each table; the CSV has them all
CHART_MONTHS = 12


@dataclass(frozen=True)
class Period:
    first: date
    last: date
    error: str = ""


def _period(request: HttpRequest) -> Period:
    """``?from=&to=`` (ISO dates), by default the last 30 days to today."""
    last = today()
    default = Period(last - timedelta(days=DEFAULT_DAYS - 1), last)
    raw_first, raw_last = request.GET.get("from"), request.GET.get("to")
    if not raw_first and not raw_last:
        return default
    try:
        first = date.fromisoformat(raw_first or "")
        last = date.fromisoformat(raw_last or "")
    except ValueError:
        return Period(default.first, default.last, _("Enter both dates as YYYY-MM-DD."))
    try:
        queries.check_period(first, last)
    except DomainError as exc:
        return Period(first, last, exc.message)
    return Period(first, last)


def _analytics(period: Period, user_id: int) -> dict[str, Any]:
    summary = queries.summary(None, period.first, period.last)
    table = queries.merchant_table(period.first, period.last, limit=TABLE_ROWS)
    scans, claims, redeems = summary.funnel
    return {
        "summary": summary,
        "merchants": table,
        "funnel": [
            (_("Scans"), scans, 100.0),
            (_("Claims"), claims, 100 * claims / scans if scans else 0.0),
            (_("Redemptions"), redeems, 100 * redeems / scans if scans else 0.0),
        ],
        "cohorts": [
            (c, [(n, 100 * n / c.size if c.size else 0.0) for n in c.retained])
            for c in summary.cohorts
        ],
        "csv": PLATFORM_CSV.path(user_id, period.first.isoformat(), period.last.isoformat()),
        "chart": {
            "days": [d.day.isoformat() for d in summary.days],
            "dau": [d.dau for d in summary.days],
            "wau": [d.wau for d in summary.days],
            "mau": [d.mau for d in summary.days],
            "new": [d.new for d in summary.days],
            "returning": [d.returning for d in summary.days],
            "funnel": [scans, claims, redeems],
        },
    }


def _liability(user_id: int) -> dict[str, Any]:
    report = liability.report()
    months = report.months[-CHART_MONTHS:]
    merchants = sorted(report.merchants, key=lambda m: (-m.outstanding, m.slug))
    return {
        "report": report,
        "expiring": [(days, report.expiring[days]) for days in liability.WINDOWS],
        "months": months,
        "merchants": merchants[:TABLE_ROWS],
        "merchant_count": len(merchants),
        "csv": LIABILITY_CSV.path(user_id),
        "chart": {
            "months": [f"{m.month:%Y-%m}" for m in months],
            "issued": [m.flows.issued for m in months],
            "redeemed": [m.flows.redeemed for m in months],
            "expired": [m.flows.expired for m in months],
        },
    }


def platform_analytics(request: HttpRequest) -> HttpResponse:
    """The page (wrapped by ``admin.site.admin_view`` in config/urls.py: staff only)."""
    user = staff_user(request)
    see_analytics, see_liability = can_see_analytics(user), can_see_liability(user)
    if not (see_analytics or see_liability):
        raise PermissionDenied
    # The period concerns the activity figures only; the liability is as of now.
    period = _period(request) if see_analytics else None
    context: dict[str, Any] = {
        **admin.site.each_context(request),
        "title": _("Platform analytics and points liability"),
        "period": period,
        "windows": liability.WINDOWS,
        "table_rows": TABLE_ROWS,
    }
    chart: dict[str, Any] = {
        "labels": {
            "dau": _("Active that day"),
            "wau": _("Active in 7 days"),
            "mau": _("Active in 30 days"),
            "new": _("New"),
            "returning": _("Returning"),
            "funnel": [_("Scans"), _("Claims"), _("Redemptions")],
            "issued": _("Issued"),
            "redeemed": _("Redeemed"),
            "expired": _("Expired"),
        }
    }
    if period is not None and not period.error:
        context["analytics"] = _analytics(period, user.pk)
        chart.update(context["analytics"]["chart"])
    if see_liability:
        context["liability"] = _liability(user.pk)
        chart.update(context["liability"]["chart"])
    context["chart"] = chart
    return render(
        request,
        "admin/analytics/platform.html",
        context,
        status=400 if period is not None and period.error else 200,
    )
