"""The merchant's statement: one line per business movement, not per posting.

A ledger transaction is one business movement (a batch paid for, a claim, a top-up).
Its postings on the merchant's own accounts are what the merchant sees, but a batch
of 2,000 codes reserves its points over 16 bucket accounts (campaigns/reserves.py):
shown per posting it is 17 lines. Here each transaction is one line carrying the net
change of the budget and of the campaign reserves, and its postings on the merchant's
accounts for whoever opens it (never the consumer's wallet side of an award).

``movements`` is the page query: the sums are grouped in SQL by transaction, so a page
is one query, plus one for the postings of all its lines (``postings_prefetch``).
``csv_lines`` streams the same lines as CSV, a chunk of rows at a time.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Prefetch, Q, QuerySet, Sum

from points.models import AccountKind, Entry, Transaction, TransactionKind

# The kinds a merchant's accounts take part in; the statement's kind filter offers these.
STATEMENT_KINDS = (
    TransactionKind.FUND_MONEY,
    TransactionKind.FUND_GOODS,
    TransactionKind.TRANSFER,
    TransactionKind.RESERVE,
    TransactionKind.RELEASE,
    TransactionKind.AWARD,
    TransactionKind.MERCHANT_AWARD,
    TransactionKind.REVERSAL,
)
CSV_CHUNK = 2000


@dataclass(frozen=True)
class StatementFilter:
    """Which movements: ``since`` inclusive, ``until`` exclusive; ``campaign_id`` is a
    campaign of the merchant's schema (the transactions name it in their metadata)."""

    since: datetime | None = None
    until: datetime | None = None
    kind: str | None = None
    campaign_id: int | None = None


def link_values(which: StatementFilter) -> tuple[str, str, str, int]:
    """The filter as a signed link carries it (points/downloads.py): "" and 0 for none."""
    return (
        which.since.isoformat() if which.since else "",
        which.until.isoformat() if which.until else "",
        which.kind or "",
        which.campaign_id or 0,
    )


def from_link_values(since: str, until: str, kind: str, campaign: int) -> StatementFilter:
    """The filter a signed link names (its values were made by ``link_values``)."""
    return StatementFilter(
        since=datetime.fromisoformat(since) if since else None,
        until=datetime.fromisoformat(until) if until else None,
        kind=kind or None,
        campaign_id=campaign or None,
    )


def movements(merchant_id: int, which: StatementFilter | None = None) -> QuerySet[Transaction]:
    """The merchant's movements, newest first, each annotated with ``budget_change``
    and ``reserve_change`` (null when the movement did not touch that side).

    A transaction that names the merchant but moves none of its accounts (a consumer's
    points expiring) is not on the statement: it has neither sum.
    """
    which = which or StatementFilter()
    own = Q(entries__account__merchant_id=merchant_id)
    found = Transaction.objects.filter(merchant_id=merchant_id)
    if which.since is not None:
        found = found.filter(created_at__gte=which.since)
    if which.until is not None:
        found = found.filter(created_at__lt=which.until)
    if which.kind is not None:
        found = found.filter(kind=which.kind)
    if which.campaign_id is not None:
        found = found.filter(metadata__campaign=which.campaign_id)
    return (
        found.annotate(
            budget_change=Sum(
                "entries__amount",
                filter=own & Q(entries__account__kind=AccountKind.MERCHANT_BUDGET),
            ),
            reserve_change=Sum(
                "entries__amount",
                filter=own & Q(entries__account__kind=AccountKind.CAMPAIGN_RESERVE),
            ),
        )
        .filter(Q(budget_change__isnull=False) | Q(reserve_change__isnull=False))
        .order_by("-id")
    )


def postings_prefetch(merchant_id: int) -> Prefetch[str]:
    """The postings of a page of movements on the merchant's own accounts, in one
    query, as each movement's ``postings`` list."""
    return Prefetch(
        "entries",
        queryset=Entry.objects.filter(account__merchant_id=merchant_id)
        .select_related("account")
        .order_by("id"),
        to_attr="postings",
    )


def postings_of(txn: Transaction) -> QuerySet[Entry]:
    """One movement's postings on its merchant's accounts (a page prefetches them)."""
    return (
        txn.entries.filter(account__merchant_id=txn.merchant_id or 0)
        .select_related("account")
        .order_by("id")
    )


def campaign_of(txn: Transaction) -> int | None:
    """The campaign a movement was for, as its metadata names it."""
    campaign = (txn.metadata or {}).get("campaign")
    return campaign if isinstance(campaign, int) and not isinstance(campaign, bool) else None


CSV_HEADER = ("id", "created_at", "kind", "campaign", "budget_change", "reserve_change", "memo")


def csv_lines(merchant_id: int, which: StatementFilter) -> Iterator[str]:
    """The movements as CSV text, header first, a line at a time (a BOM leads, so that
    spreadsheet programs read the Chinese memos as UTF-8)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(values: tuple[object, ...]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    yield "\ufeff" + line(CSV_HEADER)
    # Named apart: the type checker's plugin does not know the annotated fields.
    fields = ("id", "created_at", "kind", "metadata", "budget_change", "reserve_change", "memo")
    rows = movements(merchant_id, which).values_list(*fields)
    for pk, created_at, kind, metadata, budget, reserve, memo in rows.iterator(CSV_CHUNK):
        campaign = (metadata or {}).get("campaign")
        yield line(
            (
                pk,
                created_at.isoformat(),
                kind,
                campaign if isinstance(campaign, int) else "",
                budget if budget is not None else "",
                reserve if reserve is not None else "",
                _safe_cell(memo),
            )
        )


def _safe_cell(text: str) -> str:
    # A memo holds a campaign name the merchant typed: a leading = + - @ would be run as
    # a formula by a spreadsheet program (CSV injection), so it is quoted as text.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
