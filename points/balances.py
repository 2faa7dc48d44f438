"""What accounts hold, as the APIs show it: a consumer's wallet and a merchant's budget.

Reads only; every movement goes through ``points.ledger``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Sum
from django.utils import timezone

from points import ledger
from points.models import Account, AccountKind, Lot

# The longest horizon asked for points expiring soon: ten years (no lot lives longer).
MAX_EXPIRY_HORIZON_DAYS = 3650


def wallet_balance(consumer_id: int) -> int:
    """The consumer's points, from every merchant, in one balance."""
    return ledger.balance_of(ledger.wallet(consumer_id))


def expiring_within(account: Account, days: int) -> int:
    """Points of the account's open lots that expire within ``days`` unless spent.

    ``days`` is clamped to 0..ten years, so that any number a client sends is a horizon.
    """
    horizon = timezone.now() + timedelta(days=max(0, min(days, MAX_EXPIRY_HORIZON_DAYS)))
    open_lots = Lot.objects.filter(account=account, remaining__gt=0, expires_at__lte=horizon)
    return open_lots.aggregate(s=Sum("remaining"))["s"] or 0


def next_expiry(account: Account) -> datetime | None:
    """When the account's next open lot expires, if it has any."""
    return (
        Lot.objects.filter(account=account, remaining__gt=0)
        .order_by("expires_at")
        .values_list("expires_at", flat=True)
        .first()
    )


@dataclass(frozen=True)
class Budget:
    available: int  # free to spend on campaigns
    reserved: int  # set aside in campaign reserves, not yet awarded


def budget_of(merchant_id: int) -> Budget:
    """The merchant's budget and the sum of its campaign reserves: one query."""
    totals = dict(
        Account.objects.filter(merchant_id=merchant_id)
        .values("kind")
        .annotate(total=Sum("balance"))
        .values_list("kind", "total")
    )
    return Budget(
        available=totals.get(AccountKind.MERCHANT_BUDGET, 0),
        reserved=totals.get(AccountKind.CAMPAIGN_RESERVE, 0),
    )
