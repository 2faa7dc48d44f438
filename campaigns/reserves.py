"""Campaign money in the ledger: a reserve split over ``RESERVE_BUCKETS`` accounts.

A code batch and a questionnaire both set aside ``units x points`` when they are
funded. The reserve is split over 16 accounts, bucket ``k`` funding a fixed share of
the units, so the rewards paid one by one (a claim, a response) each update one of 16
rows instead of all queueing on one. Releasing locks the buckets before reading
them, so a reward in flight either committed first or finds its bucket empty.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from django.utils.translation import gettext as _

from core.db import connection
from points import ledger
from points.ledger import Posting
from points.models import Account, AccountKind, Transaction, TransactionKind
from tenants.models import Merchant

RESERVE_BUCKETS = 16

RefFor = Callable[[int], str]


def bucket_sizes(units: int) -> dict[int, int]:
    """How many units each bucket funds (bucket = unit number % N); empty buckets omitted."""
    whole, extra = divmod(units, RESERVE_BUCKETS)
    sizes = {b: whole + (1 if b < extra else 0) for b in range(RESERVE_BUCKETS)}
    return {b: n for b, n in sizes.items() if n}


def refs(ref_for: RefFor, units: int) -> list[str]:
    return [ref_for(b) for b in bucket_sizes(units)]


def reserve(
    merchant: Merchant,
    ref_for: RefFor,
    units: int,
    points: int,
    *,
    idempotency_key: str,
    memo: str,
    metadata: dict[str, Any],
) -> Transaction:
    """Move ``units x points`` from the budget into the buckets (INSUFFICIENT_BUDGET if short)."""
    sizes = bucket_sizes(units)
    postings = [Posting(ledger.merchant_budget(merchant.pk), -units * points)]
    postings += [
        Posting(ledger.campaign_reserve(merchant.pk, ref_for(b)), n * points)
        for b, n in sizes.items()
    ]
    return ledger.post(
        TransactionKind.RESERVE,
        idempotency_key,
        postings,
        merchant_id=merchant.pk,
        memo=memo,
        metadata=metadata,
    )


def release(
    merchant: Merchant,
    ref_for: RefFor,
    units: int,
    *,
    idempotency_key: str,
    memo: str,
    metadata: dict[str, Any],
) -> int:
    """Return whatever the buckets still hold to the budget; returns the points released."""
    buckets = list(
        Account.objects.select_for_update()
        .filter(
            merchant_id=merchant.pk, kind=AccountKind.CAMPAIGN_RESERVE, ref__in=refs(ref_for, units)
        )
        .order_by("pk")
    )
    left = {account.pk: account.balance for account in buckets if account.balance}
    released = sum(left.values())
    if released:
        postings = [Posting(a, -left[a.pk]) for a in buckets if a.pk in left]
        postings.append(Posting(ledger.merchant_budget(merchant.pk), released))
        ledger.post(
            TransactionKind.RELEASE,
            idempotency_key,
            postings,
            merchant_id=merchant.pk,
            memo=memo,
            metadata=metadata,
        )
    return released


def left(merchant: Merchant, ref_for: RefFor, units: int) -> int:
    """Points still in the buckets."""
    return sum(
        Account.objects.filter(
            merchant_id=merchant.pk,
            kind=AccountKind.CAMPAIGN_RESERVE,
            ref__in=refs(ref_for, units),
        ).values_list("balance", flat=True)
    )


# --- A capped campaign's reserve, set aside once ------------------------------------


class CappedFunding(Protocol):
    """A campaign kind that pays at most a cap of rewards from a reserve set aside at its
    first activation and released when it ends (a questionnaire, a follow campaign)."""

    pk: Any
    reserved: bool
    released_points: int

    def reserve_ref(self, bucket: int) -> str: ...

    def save(self, *, update_fields: list[str]) -> None: ...


class NamedCampaign(Protocol):
    """What the ledger's memo and metadata need of a campaign (campaigns.models imports
    this module, so it cannot import the model back)."""

    pk: Any
    name: str


def reserve_once(
    merchant: Merchant,
    campaign: NamedCampaign,
    funding: CappedFunding,
    *,
    cap: int,
    points: int,
    key_prefix: str,
    ref_for: RefFor | None = None,
) -> None:
    """Reserve ``cap x points`` for ``funding`` (locked by the caller) unless it already
    has (INSUFFICIENT_BUDGET if short). ``key_prefix`` names the kind in the ledger's
    idempotency key (``survey``, ``follow``): fixed, since keys already posted use it.
    ``ref_for`` names the accounts when not ``funding.reserve_ref`` (a prize
    questionnaire's one account)."""
    if funding.reserved:
        return
    reserve(
        merchant,
        ref_for or funding.reserve_ref,
        cap,
        points,
        idempotency_key=f"{key_prefix}-reserve:{connection.schema_name}:{funding.pk}",
        memo=_("Rewards for %(campaign)s") % {"campaign": campaign.name},
        metadata={"campaign": campaign.pk},
    )
    funding.reserved = True
    funding.save(update_fields=["reserved"])


def release_once(
    merchant: Merchant,
    campaign: NamedCampaign,
    funding: CappedFunding,
    *,
    cap: int,
    key_prefix: str,
    ref_for: RefFor | None = None,
) -> int:
    """Return what is left of ``funding``'s reserve (the campaign ended); the points."""
    if not funding.reserved:
        return 0
    released = release(
        merchant,
        ref_for or funding.reserve_ref,
        cap,
        idempotency_key=f"{key_prefix}-release:{connection.schema_name}:{funding.pk}",
        memo=_("Campaign ended"),
        metadata={"campaign": campaign.pk},
    )
    funding.released_points = released
    funding.save(update_fields=["released_points"])
    return released
