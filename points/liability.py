"""Points liability: what the platform owes consumers, by merchant, and how it moved.

Definitions (all in points; finance reads them beside ``manage.py ledger_check``):

- **outstanding** (platform-wide): ``Σ balance`` of the consumer wallets, the ledger's
  own materialised balances. The report also sums the wallets' *entries* and the open
  lots' ``remaining``; the three must agree (they are ``ledger_check``'s invariants)
  and any difference is listed in ``differences``, never hidden.
- **outstanding by merchant**: ``Σ remaining`` of the open lots the merchant's
  campaigns paid (a lot carries the merchant it came from; spending takes from lots,
  so what a consumer spent is no longer any merchant's liability). Points with no
  merchant (none today) are shown under ``merchant_id = None``.
- **expiring within N days** (30/60/90, cumulative): ``Σ remaining`` of open lots with
  ``expires_at < now + N days``. Lots already past their date but not yet expired by
  the periodic task are included and also shown as ``overdue``.
- **per month** (calendar months in ``TIME_ZONE``), wallet movements by transaction
  kind: **issued** (awards), **redeemed** (mall spends), **expired**, **award
  reversals** (points taken back) and **redeem reversals** (points given back, e.g. a
  cancelled order). Platform-wide figures come from the wallets' ledger entries; per
  merchant they come from the lots (``points``) and what each transaction took from
  them (``LotDebit``), which is how a mall spend is attributed to the merchants whose
  points it used. ``opening + issued - redeemed - expired - award_reversals +
  redeem_reversals = closing``; the last closing equals the outstanding balance.

Everything is aggregated in SQL over the public ledger: a constant number of queries
whatever the number of merchants or consumers.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.error_codes import CampaignErrorCode
from core.db import connection
from core.errors import DomainError
from points.models import AccountKind, TransactionKind

WINDOWS = (30, 60, 90)
# The most months a merchant's report shows at once.
MAX_MONTHS = 36
WALLET = AccountKind.CONSUMER_WALLET.value


@dataclass(frozen=True)
class Flows:
    """Wallet movements over a period, each as a positive number of points."""

    issued: int = 0
    redeemed: int = 0
    expired: int = 0
    award_reversals: int = 0
    redeem_reversals: int = 0
    # Wallet movements of any other transaction kind (none should exist): shown, not lost.
    other: int = 0

    @property
    def net(self) -> int:
        return (
            self.issued
            - self.redeemed
            - self.expired
            - self.award_reversals
            + self.redeem_reversals
            + self.other
        )

    def __add__(self, other: Flows) -> Flows:
        return Flows(*(getattr(self, f) + getattr(other, f) for f in self.__dataclass_fields__))


@dataclass(frozen=True)
class Month:
    month: date  # the first day of the month
    opening: int
    flows: Flows
    closing: int


@dataclass(frozen=True)
class MerchantLiability:
    merchant_id: int | None
    slug: str
    outstanding: int
    expiring: dict[int, int]  # window in days → points
    overdue: int
    months: list[Month] = field(default_factory=list)

    def last_months(self, count: int | None) -> list[Month]:
        """The last ``count`` months with movements (1 to ``MAX_MONTHS``), oldest first."""
        # An explicit null (``last: null``) overrides the argument's default: refuse it
        # like any other value out of range, not with a TypeError.
        if not isinstance(count, int) or not 1 <= count <= MAX_MONTHS:
            raise DomainError(
                CampaignErrorCode.INVALID_PERIOD,
                _("Choose 1 to %(max)s.") % {"max": MAX_MONTHS},
                "last",
            )
        return self.months[-count:]


@dataclass(frozen=True)
class LiabilityReport:
    as_of: datetime
    outstanding: int  # Σ wallet balances: the figure of record
    wallet_entries: int  # Σ wallet entries (must equal outstanding)
    open_lots: int  # Σ remaining of open lots (must equal outstanding)
    expiring: dict[int, int]
    overdue: int
    months: list[Month]
    merchants: list[MerchantLiability]
    differences: list[str]

    @property
    def consistent(self) -> bool:
        return not self.differences


# --- Queries -----------------------------------------------------------------------


def _fetch(sql: str, params: Iterable[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        rows: list[tuple[Any, ...]] = cursor.fetchall()
        return rows


def _zone() -> str:
    return settings.TIME_ZONE


def _open_lots(now: datetime, merchant_id: int | None) -> dict[int | None, tuple[int, ...]]:
    """Per merchant: outstanding, overdue, then expiring within each window. One query."""
    windows = ", ".join(
        "COALESCE(SUM(remaining) FILTER (WHERE expires_at < %s), 0)" for _ in WINDOWS
    )
    where = "" if merchant_id is None else "AND merchant_id = %s"
    sql = (
        f"SELECT merchant_id, COALESCE(SUM(remaining), 0), "
        f"COALESCE(SUM(remaining) FILTER (WHERE expires_at <= %s), 0), {windows} "
        f"FROM points_lot WHERE remaining > 0 {where} GROUP BY merchant_id"
    )
    params: list[object] = [now, *(now + timedelta(days=d) for d in WINDOWS)]
    if merchant_id is not None:
        params.append(merchant_id)
    return {row[0]: tuple(int(v) for v in row[1:]) for row in _fetch(sql, params)}


def _wallet_totals() -> tuple[int, int]:
    """Σ wallet balances and Σ wallet entries. One query."""
    sql = (
        "SELECT COALESCE(SUM(a.balance), 0), "
        "COALESCE((SELECT SUM(e.amount) FROM points_entry e JOIN points_account w "
        "ON w.id = e.account_id WHERE w.kind = %s), 0) "
        "FROM points_account a WHERE a.kind = %s"
    )
    balances, entries = _fetch(sql, [WALLET, WALLET])[0]
    return int(balances), int(entries)


def _platform_flows() -> dict[date, Flows]:
    """Wallet entries per month and kind. One query."""
    sql = (
        "SELECT (date_trunc('month', e.created_at AT TIME ZONE %s))::date, t.kind, "
        "COALESCE(SUM(e.amount) FILTER (WHERE e.amount > 0), 0), "
        "COALESCE(-SUM(e.amount) FILTER (WHERE e.amount < 0), 0) "
        "FROM points_entry e JOIN points_account a ON a.id = e.account_id "
        "JOIN points_transaction t ON t.id = e.transaction_id "
        "WHERE a.kind = %s GROUP BY 1, 2"
    )
    months: dict[date, Flows] = defaultdict(Flows)
    for month, kind, credit, debit in _fetch(sql, [_zone(), WALLET]):
        credit, debit = int(credit), int(debit)
        # A merchant's own award (earning API) issues points to wallets as a claim does.
        if kind in (TransactionKind.AWARD, TransactionKind.MERCHANT_AWARD) and not debit:
            flows = Flows(issued=credit)
        elif kind == TransactionKind.REDEEM and not credit:
            flows = Flows(redeemed=debit)
        elif kind == TransactionKind.EXPIRE and not credit:
            flows = Flows(expired=debit)
        elif kind == TransactionKind.REVERSAL:
            flows = Flows(award_reversals=debit, redeem_reversals=credit)
        else:
            flows = Flows(other=credit - debit)
        months[month] += flows
    return dict(months)


def _merchant_flows(merchant_id: int | None) -> dict[int | None, dict[date, Flows]]:
    """Per merchant and month, from lots and what was taken from them. Two queries."""
    where_lot = "" if merchant_id is None else "WHERE l.merchant_id = %s"
    params: list[object] = [_zone()] + ([] if merchant_id is None else [merchant_id])
    result: dict[int | None, dict[date, Flows]] = defaultdict(lambda: defaultdict(Flows))
    issued_sql = (
        "SELECT l.merchant_id, (date_trunc('month', l.earned_at AT TIME ZONE %s))::date, "
        f"SUM(l.points) FROM points_lot l {where_lot} GROUP BY 1, 2"
    )
    for merchant, month, points in _fetch(issued_sql, params):
        result[merchant][month] += Flows(issued=int(points))
    taken_sql = (
        "SELECT l.merchant_id, (date_trunc('month', t.created_at AT TIME ZONE %s))::date, "
        "t.kind, COALESCE(SUM(d.points) FILTER (WHERE d.points > 0), 0), "
        "COALESCE(-SUM(d.points) FILTER (WHERE d.points < 0), 0) "
        "FROM points_lotdebit d JOIN points_lot l ON l.id = d.lot_id "
        f"JOIN points_transaction t ON t.id = d.transaction_id {where_lot} GROUP BY 1, 2, 3"
    )
    for merchant, month, kind, taken, restored in _fetch(taken_sql, params):
        taken, restored = int(taken), int(restored)
        if kind == TransactionKind.REDEEM and not restored:
            flows = Flows(redeemed=taken)
        elif kind == TransactionKind.EXPIRE and not restored:
            flows = Flows(expired=taken)
        elif kind == TransactionKind.REVERSAL:
            flows = Flows(award_reversals=taken, redeem_reversals=restored)
        else:
            flows = Flows(other=restored - taken)
        result[merchant][month] += flows
    return {m: dict(months) for m, months in result.items()}


def _months(flows: dict[date, Flows], month: date | None) -> list[Month]:
    """Opening and closing balances carried through every month with movements."""
    rows: list[Month] = []
    balance = 0
    for start in sorted(flows):
        opening, balance = balance, balance + flows[start].net
        rows.append(Month(start, opening, flows[start], balance))
    if month is None:
        return rows
    # A month without movements still has a balance: the last closing before it.
    before = [r for r in rows if r.month < month]
    carried = before[-1].closing if before else 0
    found = [r for r in rows if r.month == month]
    return found or [Month(month, carried, Flows(), carried)]


def _slugs(ids: Iterable[int | None]) -> dict[int, str]:
    from tenants.models import Merchant

    wanted = [i for i in ids if i is not None]
    return dict(Merchant.objects.filter(pk__in=wanted).values_list("pk", "slug"))


# --- Reports -----------------------------------------------------------------------


def merchant_liability(
    merchant_id: int, *, now: datetime | None = None, month: date | None = None
) -> MerchantLiability:
    """One merchant's figures (its lots only): three queries."""
    now = now or timezone.now()
    lots = _open_lots(now, merchant_id).get(merchant_id, (0, 0, *(0 for _ in WINDOWS)))
    flows = _merchant_flows(merchant_id).get(merchant_id, {})
    return MerchantLiability(
        merchant_id=merchant_id,
        slug="",
        outstanding=lots[0],
        overdue=lots[1],
        expiring=dict(zip(WINDOWS, lots[2:], strict=True)),
        months=_months(flows, month),
    )


def report(*, now: datetime | None = None, month: date | None = None) -> LiabilityReport:
    """The platform-wide report with every merchant's share and the reconciliation."""
    now = now or timezone.now()
    balances, entries = _wallet_totals()
    lots = _open_lots(now, None)
    platform_flows = _platform_flows()
    by_merchant = _merchant_flows(None)
    slugs = _slugs(set(lots) | set(by_merchant))

    open_total = sum(v[0] for v in lots.values())
    differences: list[str] = []
    if entries != balances:
        differences.append(f"wallet entries {entries} != wallet balances {balances}")
    if open_total != balances:
        differences.append(f"open lots {open_total} != wallet balances {balances}")
    # The merchants' monthly flows, summed, must equal the platform's from the entries.
    summed: dict[date, Flows] = defaultdict(Flows)
    for months in by_merchant.values():
        for start, flows in months.items():
            summed[start] += flows
    for start in sorted(set(summed) | set(platform_flows)):
        mine, theirs = platform_flows.get(start, Flows()), summed.get(start, Flows())
        if mine != theirs:
            differences.append(f"{start:%Y-%m}: wallet entries {mine} != lots {theirs}")
        if mine.other:
            differences.append(f"{start:%Y-%m}: {mine.other} points moved by other kinds")

    merchants = []
    for merchant_id in sorted(set(lots) | set(by_merchant), key=lambda m: (m is None, m or 0)):
        row = lots.get(merchant_id, (0, 0, *(0 for _ in WINDOWS)))
        merchants.append(
            MerchantLiability(
                merchant_id=merchant_id,
                slug=slugs.get(merchant_id, "") if merchant_id else "(none)",
                outstanding=row[0],
                overdue=row[1],
                expiring=dict(zip(WINDOWS, row[2:], strict=True)),
                months=_months(by_merchant.get(merchant_id, {}), month),
            )
        )
    return LiabilityReport(
        as_of=now,
        outstanding=balances,
        wallet_entries=entries,
        open_lots=open_total,
        expiring={d: sum(v[2 + i] for v in lots.values()) for i, d in enumerate(WINDOWS)},
        overdue=sum(v[1] for v in lots.values()),
        months=_months(platform_flows, month),
        merchants=merchants,
        differences=differences,
    )


# --- Output ------------------------------------------------------------------------

CSV_HEADER = [
    "scope",
    "merchant",
    "month",
    "opening",
    "issued",
    "redeemed",
    "expired",
    "award_reversals",
    "redeem_reversals",
    "closing",
    "outstanding",
    *(f"expiring_{d}d" for d in WINDOWS),
    "overdue",
]


def to_csv(result: LiabilityReport) -> str:
    """One row per month for the platform and each merchant, then the current figures."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    blank = ["" for _ in range(2 + len(WINDOWS))]

    def month_row(scope: str, slug: str, m: Month) -> list[object]:
        f = m.flows
        return [
            scope,
            slug,
            f"{m.month:%Y-%m}",
            m.opening,
            f.issued,
            f.redeemed,
            f.expired,
            f.award_reversals,
            f.redeem_reversals,
            m.closing,
            *blank,
        ]

    current = [""] * 7  # opening … closing do not apply to "now"
    for m in result.months:
        writer.writerow(month_row("platform", "", m))
    writer.writerow(
        [
            "platform",
            "",
            "now",
            *current,
            result.outstanding,
            *(result.expiring[d] for d in WINDOWS),
            result.overdue,
        ]
    )
    for merchant in result.merchants:
        for m in merchant.months:
            writer.writerow(month_row("merchant", merchant.slug, m))
        writer.writerow(
            [
                "merchant",
                merchant.slug,
                "now",
                *current,
                merchant.outstanding,
                *(merchant.expiring[d] for d in WINDOWS),
                merchant.overdue,
            ]
        )
    return out.getvalue()


__all__ = [
    "WINDOWS",
    "Flows",
    "LiabilityReport",
    "MerchantLiability",
    "Month",
    "merchant_liability",
    "report",
    "to_csv",
]
