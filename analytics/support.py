"""The operators' consumer support page: one consumer on one screen.

``/admin/consumers/<id>/support/`` (staff with ``accounts.view_user``): the account with
its phone masked, the wallet and its latest movements (a code's claim is an "Earned"
line naming the merchant: claims live in merchant schemas, the ledger is their
platform-wide record), orders, sign-in sessions, consents, and the sections other apps
register (``SUPPORT_SECTIONS``: data requests, decision 0239).

It sits in ``analytics`` with the operators' other page: the highest domain app, which
may read accounts, the ledger and the mall without a cycle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from accounts.admin import staff_user
from accounts.models import AuthSession, Consent, User
from points import ledger
from points.models import Entry
from redemption.models import Order

ROWS = 20  # per section: a support call needs the latest, the admin lists have the rest


@dataclass
class Section:
    """A titled table on the page: column headings and rows of cells (already text)."""

    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    empty: str = ""


# Sections other apps add (called with the consumer, in order), e.g. the consumer's data
# requests under PIPL: ``SUPPORT_SECTIONS.append(data_requests_section)`` in the app's
# ``AppConfig.ready``. A section-maker must cost a bounded number of queries.
SUPPORT_SECTIONS: list[Callable[[User], Section]] = []


def _history(consumer: User) -> Section:
    wallet = ledger.wallet(consumer.pk)
    entries = (
        Entry.objects.filter(account=wallet)
        .select_related("transaction__merchant")
        .order_by("-id")[:ROWS]
    )
    return Section(
        title=_("Wallet: latest movements"),
        columns=[_("When"), _("What"), _("Merchant"), _("Points")],
        rows=[
            [
                e.transaction.created_at,
                e.transaction.get_kind_display(),
                e.transaction.merchant.name if e.transaction.merchant else "",
                f"{e.amount:+,}",
            ]
            for e in entries
        ],
        empty=_("No movements yet."),
    )


def _orders(consumer: User) -> Section:
    orders = Order.objects.filter(consumer=consumer).select_related("product")[:ROWS]
    return Section(
        title=_("Orders"),
        columns=[_("Placed"), _("Product"), _("Points"), _("Status")],
        rows=[
            [o.placed_at, o.product.title, f"{o.total_points:,}", o.get_status_display()]
            for o in orders
        ],
        empty=_("No orders."),
    )


def _sessions(consumer: User) -> Section:
    sessions = AuthSession.objects.filter(user=consumer).order_by("-created_at")[:ROWS]
    return Section(
        title=_("Sign-in sessions"),
        columns=[_("Started"), _("Last used"), _("Expires"), _("Signed out")],
        rows=[[s.created_at, s.refreshed_at, s.expires_at, s.revoked_at or ""] for s in sessions],
        empty=_("No sessions."),
    )


def _consents(consumer: User) -> Section:
    consents = Consent.objects.filter(user=consumer).order_by("-given_at")[:ROWS]
    return Section(
        title=_("Consents"),
        columns=[_("Given"), _("Document"), _("Version"), _("Channel")],
        rows=[
            [c.given_at, c.get_document_display(), c.version, c.get_channel_display()]
            for c in consents
        ],
        empty=_("No consents recorded."),
    )


def consumer_support(request: HttpRequest, user_id: int) -> HttpResponse:
    """The page (wrapped by ``admin.site.admin_view`` in config/urls.py: staff only)."""
    if not staff_user(request).has_perm("accounts.view_user"):
        raise PermissionDenied
    consumer = User.objects.filter(pk=user_id).first()
    if consumer is None or not consumer.is_consumer:
        raise Http404
    sections = [_history(consumer), _orders(consumer), _sessions(consumer), _consents(consumer)]
    sections += [make(consumer) for make in SUPPORT_SECTIONS]
    context = {
        **admin.site.each_context(request),
        "title": _("Consumer support"),
        "consumer": consumer,
        "balance": ledger.balance_of(ledger.wallet(consumer.pk)),
        "sections": sections,
        "data_requests_registered": bool(SUPPORT_SECTIONS),
    }
    return render(request, "admin/analytics/consumer_support.html", context)
