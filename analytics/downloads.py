"""Analytics and liability as CSV files, from signed, expiring links (core.signed_links).

Three kinds of link, each with its own salt (a token of one kind is worthless as
another):

- ``MERCHANT_CSV`` names a merchant and a period. The merchant API's ``analyticsCsv``
  mints it for a member of that merchant (the console's "Download CSV"); the file is
  what ``analytics`` shows, for the merchant the token names and no other. The
  merchant id is inside the signed token, so it cannot be changed to another's.
- ``PLATFORM_CSV`` names the operator who asked for it and a period: the platform's
  figures and every merchant's line, from the admin's analytics page.
- ``LIABILITY_CSV`` names the operator: the points liability report.

An operator's link works only while that operator may still see the figures (active
staff with the permission): a link handed on outlives neither its 15 minutes nor its
maker's access. The figures are read when the file is downloaded.
"""

from __future__ import annotations

from datetime import date

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from analytics import queries
from analytics.rollup import today
from core.signed_links import SignedLink, csv_attachment, refusal
from points import liability
from tenants.models import Merchant

# Django's own "view" permissions on the tables the figures come from: operators are
# given them (or are superusers) in the admin, like any other admin page.
ANALYTICS_PERMISSION = "analytics.view_dailyactivity"
LIABILITY_PERMISSION = "points.view_lot"

FROM_THE_ADMIN = gettext_lazy(
    "This download link has expired. Reload the analytics page in the admin for a new one."
)

MERCHANT_CSV = SignedLink(
    salt="analytics.csv.merchant", url_name="analytics-csv", fields={"m": int, "f": str, "t": str}
)
PLATFORM_CSV = SignedLink(
    salt="analytics.csv.platform",
    url_name="platform-analytics-csv",
    fields={"u": int, "f": str, "t": str},
    expired_message=FROM_THE_ADMIN,
)
LIABILITY_CSV = SignedLink(
    salt="points.liability.csv",
    url_name="liability-csv",
    fields={"u": int},
    expired_message=FROM_THE_ADMIN,
)


def can_see_analytics(user: object) -> bool:
    return _operator(user, ANALYTICS_PERMISSION)


def can_see_liability(user: object) -> bool:
    return _operator(user, LIABILITY_PERMISSION)


def _operator(user: object, permission: str) -> bool:
    return isinstance(user, User) and user.is_active and user.is_staff and user.has_perm(permission)


def _period(first: str, last: str) -> tuple[date, date] | None:
    try:
        return date.fromisoformat(first), date.fromisoformat(last)
    except ValueError:
        return None


def _not_valid() -> HttpResponse:
    return refusal(403, _("This download link is not valid."))


def _no_longer_allowed() -> HttpResponse:
    return refusal(403, _("Whoever made this download link may no longer see these figures."))


@MERCHANT_CSV.view
def merchant_csv(request: HttpRequest, merchant_id: int, first: str, last: str) -> HttpResponse:
    """One merchant's analytics for the period the token names."""
    period = _period(first, last)
    if period is None:
        return _not_valid()
    merchant = Merchant.objects.filter(pk=merchant_id).first()
    if merchant is None:
        return refusal(404, _("This merchant no longer exists."))
    summary = queries.summary(merchant.pk, *period)
    return csv_attachment(
        queries.to_csv(summary), f"analytics-{merchant.slug}-{period[0]}-{period[1]}.csv"
    )


@PLATFORM_CSV.view
def platform_csv(request: HttpRequest, user_id: int, first: str, last: str) -> HttpResponse:
    """The platform's analytics and every merchant's line, for the period."""
    period = _period(first, last)
    if period is None:
        return _not_valid()
    if not can_see_analytics(User.objects.filter(pk=user_id).first()):
        return _no_longer_allowed()
    summary = queries.summary(None, *period)
    table = queries.merchant_table(*period)
    return csv_attachment(
        queries.to_csv(summary, table), f"platform-analytics-{period[0]}-{period[1]}.csv"
    )


@LIABILITY_CSV.view
def liability_csv(request: HttpRequest, user_id: int) -> HttpResponse:
    """The points liability report as it stands now (points/liability.py)."""
    if not can_see_liability(User.objects.filter(pk=user_id).first()):
        return _no_longer_allowed()
    return csv_attachment(liability.to_csv(liability.report()), f"points-liability-{today()}.csv")
