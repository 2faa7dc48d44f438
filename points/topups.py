"""The budget's money equivalent, and a merchant asking the platform for a top-up.

**Price.** A merchant buys points with money at a rate the operator records with the
payment (``Funding.rate``, points per major unit; the admin's top-up form offers 100
per yuan). The budget's money equivalent is at the rate of the merchant's latest money
top-up: what its points cost it. None before its first money top-up (goods credit has
an agreed value, not a price).

**Requests.** ``request_top_up`` records a ``TopUpRequest`` (it moves no points: the
operator records the payment with the merchant's top-up form, which posts the ledger
transaction) and emails the operators who may record top-ups, once the request commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from core.error_codes import CoreErrorCode
from core.errors import DomainError
from core.text import TextKind, clean_text
from points.models import Funding, FundingSource, TopUpRequest, TopUpStatus
from points.services import CURRENCY_EXPONENT
from tenants import emails
from tenants.models import Merchant

# What operators need to record a top-up: the merchant admin's change permission
# (tenants/admin.py, MerchantAdmin.top_up_view).
OPERATOR_PERMISSION = "tenants.change_merchant"
NOTE_MAX_LENGTH = 200
MAX_REQUEST_MINOR = 10_000_000_00  # ¥10 million: larger sums are a contract, not a click


@dataclass(frozen=True)
class Price:
    rate: Decimal  # points per major unit
    currency: str

    def money_minor(self, points: int) -> int:
        """The money ``points`` cost at this price, in minor units (rounded down)."""
        minor = Decimal(points) * (10 ** CURRENCY_EXPONENT.get(self.currency, 2)) / self.rate
        return int(minor.to_integral_value(rounding=ROUND_DOWN))


def price_of(merchant_id: int) -> Price | None:
    """The rate of the merchant's latest money top-up (one query)."""
    latest = (
        Funding.objects.filter(merchant_id=merchant_id, source=FundingSource.MONEY)
        .order_by("-id")
        .values_list("rate", "currency")
        .first()
    )
    return Price(rate=latest[0], currency=latest[1]) if latest else None


def request_top_up(
    merchant: Merchant, user: User, amount_minor: int, note: str = ""
) -> TopUpRequest:
    """Record the request (CNY) and tell the operators after the commit."""
    if isinstance(amount_minor, bool) or not 1 <= amount_minor <= MAX_REQUEST_MINOR:
        raise DomainError(
            CoreErrorCode.INVALID_INPUT,
            _("Enter an amount from ¥0.01 to ¥10,000,000."),
            "amountMinor",
        )
    note = clean_text(note or "", TextKind.SINGLE_LINE, NOTE_MAX_LENGTH, field="note")
    with transaction.atomic():
        request = TopUpRequest.objects.create(
            merchant=merchant, requested_by=user, amount_minor=amount_minor, note=note
        )
    _tell_operators(request, merchant, user)
    return request


def mark_handled(requests: list[TopUpRequest], status: str) -> int:
    """Close open requests as topped up or declined; returns how many changed."""
    ids = [r.pk for r in requests if r.status == TopUpStatus.OPEN]
    return TopUpRequest.objects.filter(pk__in=ids, status=TopUpStatus.OPEN).update(
        status=status, handled_at=timezone.now()
    )


def _tell_operators(request: TopUpRequest, merchant: Merchant, user: User) -> None:
    staff = User.objects.filter(is_active=True, is_staff=True).exclude(email="")
    recipients = [u.email for u in staff if u.email and u.has_perm(OPERATOR_PERMISSION)]
    yuan = Decimal(request.amount_minor) / 100
    subject = _("Top-up requested: %(merchant)s, ¥%(amount)s") % {
        "merchant": merchant.name,
        "amount": f"{yuan:,.2f}",
    }
    body = _(
        "%(merchant)s (%(slug)s) asks for a top-up of ¥%(amount)s.\n"
        "Asked by: %(user)s\nNote: %(note)s\n\n"
        "Record the payment with the merchant's top-up form: %(link)s"
    ) % {
        "merchant": merchant.name,
        "slug": merchant.slug,
        "amount": f"{yuan:,.2f}",
        "user": user.get_username(),
        "note": request.note or "—",
        "link": reverse("admin:tenants_merchant_top_up", args=[merchant.pk]),
    }
    emails.send_on_commit(recipients, subject, body)
